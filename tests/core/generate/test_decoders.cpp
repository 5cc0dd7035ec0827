// Decoders of `generate`: CTC greedy and prefix beam search on hand-worked examples; attention
// beam search against a greedy loop without incremental state (beam 1) and against the
// teacher-forced log-probabilities of its own hypotheses; WER/CER on hand-counted edits.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>
#include <set>

#include "core/generate/beam_search.h"
#include "core/generate/ctc_decoder.h"
#include "core/generate/ctc_prefix_score.h"
#include "scoring/lid_acc.h"
#include "scoring/wer.h"
#include "models/conformer/conformer_options.h"
#include "core/interfaces/model.h"

using namespace trellis;

namespace {

// Log-probabilities from a (T, V) table of probabilities.
at::Tensor log_table(std::vector<std::vector<double>> p) {
  std::vector<float> flat;
  for (const auto& row : p)
    for (double v : row) flat.push_back(static_cast<float>(std::log(v)));
  return torch::tensor(flat).view({static_cast<int64_t>(p.size()), -1});
}

std::shared_ptr<Model> tiny_conformer(int64_t vocab, bool ctc = false) {
  auto opts = arch_registry().make_options("conformer");
  auto& o = opts.as<ConformerOptions>();
  o.encoder_layers = 1;
  o.decoder_layers = 2;
  o.encoder_embed_dim = o.decoder_embed_dim = 32;
  o.encoder_ffn_embed_dim = o.decoder_ffn_embed_dim = 64;
  o.encoder_attention_heads = o.decoder_attention_heads = 2;
  o.conv_channels = 32;
  o.conformer_conv_kernel_size = 5;
  ModelContext ctx;
  ctx.input_feat_per_channel = 8;
  ctx.tgt_vocab_size = vocab;
  if (ctc) {  // a CTC head over the target units + a blank (FBK's <ctc_blank>, last)
    ctx.src_vocab_size = vocab + 1;
    ctx.blank = vocab;
    ctx.ctc_enabled = true;
    o.ctc_encoder_layer = 1;
  }
  torch::manual_seed(7);
  auto m = std::shared_ptr<Model>(model_registry().create("conformer", opts, ctx));
  m->eval();
  return m;
}

// log p(tokens) under teacher forcing, per position: tokens end with eos. (L) float.
at::Tensor teacher_forced(Model& m, const EncoderOut& enc, const std::vector<int64_t>& tokens,
                          int64_t eos) {
  std::vector<int64_t> prev{eos};
  prev.insert(prev.end(), tokens.begin(), tokens.end() - 1);
  auto lp = m.normalized_probs(m.decode(torch::tensor(prev).unsqueeze(0), enc), true)[0];
  return lp.gather(1, torch::tensor(tokens).unsqueeze(1)).squeeze(1);
}

}  // namespace

TEST_CASE("ctc decoding: greedy and prefix beam search on hand-worked examples",
          "[unit][generate]") {
  // Units: 0 = blank, 1 = a, 2 = b. Best per frame: a a blank a b -> "a a b".
  auto lp = log_table({{.1, .8, .1}, {.2, .7, .1}, {.6, .3, .1}, {.1, .5, .4}, {.1, .2, .7}});
  auto g = ctc_greedy(lp, 0);
  CHECK(g.tokens == std::vector<int64_t>{1, 1, 2});
  CHECK(g.score == Approx(std::log(.8 * .7 * .6 * .5 * .7)));

  // Two frames of p(blank) = .6, p(a) = .4. Greedy says "" (.36), but "a" has three
  // alignments (a a, a -, - a): .16 + .24 + .24 = .64.
  auto two = log_table({{.6, .4}, {.6, .4}});
  CHECK(ctc_greedy(two, 0).tokens.empty());
  auto beam = ctc_prefix_beam_search(two, 0, 2);
  REQUIRE(beam.size() == 2);
  CHECK(beam[0].tokens == std::vector<int64_t>{1});
  CHECK(beam[0].score == Approx(std::log(.64)));
  CHECK(beam[1].tokens.empty());
  CHECK(beam[1].score == Approx(std::log(.36)));

  // Three uniform frames: "a" = 6 of the 8 paths (aaa aa- a-- -aa --a -a- ...), "a a" needs
  // a - a (1/8), "" is - - - (1/8).
  auto three = log_table({{.5, .5}, {.5, .5}, {.5, .5}});
  auto b3 = ctc_prefix_beam_search(three, 0, 3);
  REQUIRE(b3.size() == 3);
  CHECK(b3[0].tokens == std::vector<int64_t>{1});
  CHECK(b3[0].score == Approx(std::log(.75)));
  CHECK(b3[1].score == Approx(std::log(.125)));
  CHECK(b3[2].score == Approx(std::log(.125)));
  // Beam 1 keeps the best prefix of each frame, which is not greedy decoding: frame 1 keeps
  // "a" (.8); frame 2: "a" = .16 (pb) + .56 (pnb); frame 3: "a" = .432 + .168 = .6; frame 4:
  // "a b" = .6 * .4 = .24 beats "a a" = .432 * .5 = .216 and "a" = .144; frame 5 keeps "a b":
  // .24 * (.1 + .7) = .192.
  auto b1 = ctc_prefix_beam_search(lp, 0, 1);
  REQUIRE(b1.size() == 1);
  CHECK(b1[0].tokens == std::vector<int64_t>{1, 2});
  CHECK(b1[0].score == Approx(std::log(.192)));
}

TEST_CASE("beam search: beam 1 equals greedy decoding without incremental state",
          "[unit][generate]") {
  torch::NoGradGuard no_grad;
  const int64_t V = 12, eos = 2, pad = 1;
  auto model = tiny_conformer(V);
  torch::manual_seed(3);
  auto src = torch::randn({2, 40, 8});
  auto lengths = torch::tensor({40, 28}, torch::kLong);
  auto enc = model->encode(src, lengths);
  BeamSearchOptions o;
  o.beam = 1;
  o.max_len_b = 8;
  o.lenpen = 1.0;
  o.pad = pad;
  o.eos = eos;
  auto hyps = beam_search(*model, enc, 40, o);
  REQUIRE(hyps.size() == 2);
  for (int64_t b = 0; b < 2; ++b) {
    INFO("sentence " << b);
    auto one = model->reorder_encoder_out(enc, torch::tensor({b}));
    std::vector<int64_t> tokens{eos};
    double score = 0;
    for (int64_t step = 0; step <= o.max_len_b; ++step) {
      auto lp = model->normalized_probs(model->decode(torch::tensor(tokens).unsqueeze(0), one),
                                        true)[0][step];
      lp[pad] = -INFINITY;
      if (step < o.min_len) lp[eos] = -INFINITY;
      int64_t tok = step == o.max_len_b ? eos : lp.argmax().item<int64_t>();
      score += lp[tok].item<double>();
      tokens.push_back(tok);
      if (tok == eos) break;
    }
    REQUIRE(hyps[b].size() == 1);
    CHECK(hyps[b][0].tokens == std::vector<int64_t>(tokens.begin() + 1, tokens.end()));
    CHECK(hyps[b][0].score ==
          Approx(score / static_cast<double>(tokens.size() - 1)).margin(1e-5));
  }
}

TEST_CASE("beam search: hypotheses' scores are their teacher-forced log-probabilities",
          "[unit][generate]") {
  torch::NoGradGuard no_grad;
  const int64_t V = 12, eos = 2;
  auto model = tiny_conformer(V);
  torch::manual_seed(5);
  auto enc = model->encode(torch::randn({3, 36, 8}), torch::tensor({36, 30, 20}, torch::kLong));
  BeamSearchOptions o;
  o.beam = 4;
  o.nbest = 4;
  o.max_len_b = 6;
  o.lenpen = 0.5;
  auto hyps = beam_search(*model, enc, 36, o);
  REQUIRE(hyps.size() == 3);
  for (int64_t b = 0; b < 3; ++b) {
    REQUIRE(hyps[b].size() == 4);
    auto one = model->reorder_encoder_out(enc, torch::tensor({b}));
    for (size_t n = 0; n < hyps[b].size(); ++n) {
      const auto& h = hyps[b][n];
      INFO("sentence " << b << " hypothesis " << n);
      CHECK(h.tokens.back() == eos);
      if (n > 0) CHECK(h.score <= hyps[b][n - 1].score);
      auto tf = teacher_forced(*model, one, h.tokens, eos);
      REQUIRE(tf.size(0) == static_cast<int64_t>(h.positional_scores.size()));
      for (int64_t i = 0; i < tf.size(0); ++i)
        CHECK(h.positional_scores[i] == Approx(tf[i].item<float>()).margin(1e-4));
      const double len = static_cast<double>(h.tokens.size());
      CHECK(h.score == Approx(tf.sum().item<double>() / std::pow(len, 0.5)).margin(1e-4));
    }
  }
}

TEST_CASE("wer scorer: corpus-level WER and CER with fairseq's normalisation",
          "[unit][generate]") {
  WerScorer wer(WerOptions{});
  wer.add_string("the cat sat", "the cat sat");     // 0 errors / 3
  wer.add_string("a b c d", "a x c");               // 1 substitution + 1 deletion / 4
  wer.add_string("hello world", "hello big world");  // 1 insertion / 2
  CHECK(wer.score() == Approx(100.0 * 3 / 9));
  CHECK(wer.result_string() == "WER: 33.33");

  WerOptions norm;
  norm.remove_punct = true;
  norm.lowercase = true;
  WerScorer n(norm);
  n.add_string("Hello , World !", "hello world");  // punctuation tokens dropped, lowercase
  CHECK(n.score() == 0.0);
  CHECK(wer_tokens("Don't stop .", norm) == std::vector<std::string>{"don't", "stop"});

  WerOptions c;
  c.cer = true;
  WerScorer cer(c);
  cer.add_string("abc de", "abd de");  // 1 substitution / 5 characters (spaces not counted)
  CHECK(cer.score() == Approx(20.0));
  CHECK(cer.result_string() == "CER: 20.00");
  WerScorer empty(WerOptions{});
  CHECK(empty.score() == 0.0);
}

TEST_CASE("ctc prefix scores: prefix and full-labelling probabilities by enumeration",
          "[unit][generate]") {
  // T = 4 frames over {blank = 0, a = 1, b = 2, eos = 3 (never emitted)}.
  torch::manual_seed(11);
  auto logits = torch::randn({4, 4});
  logits.select(1, 3).fill_(-1e9);  // each frame's probabilities still sum to 1
  auto lp = torch::log_softmax(logits, 1);
  auto lp_d = lp.to(torch::kDouble);
  // Enumerate the 4^4 paths: P(labelling starts with g) and P(labelling == g).
  auto brute = [&](const std::vector<int64_t>& g, bool exact) {
    double total = 0;
    for (int64_t code = 0; code < 256; ++code) {
      std::vector<int64_t> path, lab;
      double p = 0;
      for (int64_t t = 0, c = code; t < 4; ++t, c /= 4) {
        path.push_back(c % 4);
        p += lp_d[t][c % 4].item<double>();
      }
      for (size_t t = 0; t < path.size(); ++t)
        if (path[t] != 0 && (t == 0 || path[t] != path[t - 1])) lab.push_back(path[t]);
      const bool match = exact ? lab == g
                               : lab.size() >= g.size() && std::equal(g.begin(), g.end(), lab.begin());
      if (match) total += std::exp(p);
    }
    return std::log(total);
  };
  CtcPrefixScorer scorer(lp, 0, 3);
  auto s = scorer.initial();
  std::vector<int64_t> g;
  for (int64_t c : {1, 1, 2}) {  // a, a (a repeat needs a blank between), b
    s = scorer.extend(s, c);
    g.push_back(c);
    INFO("prefix of length " << g.size());
    CHECK(s.score == Approx(brute(g, false)).epsilon(1e-5));
    CHECK(scorer.extend(s, 3).score == Approx(brute(g, true)).epsilon(1e-5));
  }
}

TEST_CASE("beam search: with --ctc-weight 1 the score is the CTC log-likelihood",
          "[unit][generate]") {
  torch::NoGradGuard no_grad;
  const int64_t V = 12;
  auto model = tiny_conformer(V, /*ctc=*/true);
  torch::manual_seed(9);
  auto enc = model->encode(torch::randn({2, 40, 8}), torch::tensor({40, 33}, torch::kLong));
  REQUIRE(enc.ctc_logits.defined());
  BeamSearchOptions o;
  o.beam = 3;
  o.nbest = 3;
  o.max_len_b = 5;
  o.lenpen = 0.0;  // raw sums
  o.ctc_weight = 1.0;
  o.ctc_blank = V;
  CtcScores ctc{model->normalized_probs(enc.ctc_logits, true), enc.ctc_lengths};
  auto hyps = beam_search(std::vector<Model*>{model.get()}, std::vector<EncoderOut>{enc}, 40, o,
                          at::Tensor(), &ctc);
  for (int64_t b = 0; b < 2; ++b) {
    REQUIRE_FALSE(hyps[b].empty());
    for (const auto& h : hyps[b]) {
      std::vector<int64_t> units(h.tokens.begin(), h.tokens.end() - 1);  // without eos
      if (units.empty()) continue;
      // Independent reference: LibTorch's CTC loss of the same units.
      const int64_t T = enc.ctc_lengths[b].item<int64_t>();
      auto lp = ctc.lprobs.slice(0, 0, T).select(1, b).unsqueeze(1).to(torch::kDouble);
      auto nll = at::ctc_loss(lp, torch::tensor(units).unsqueeze(0), {T},
                              {static_cast<int64_t>(units.size())}, V, at::Reduction::Sum);
      CHECK(h.score == Approx(-nll.item<double>()).epsilon(1e-4));
    }
  }
}

TEST_CASE("lid_acc scorer: share of hypotheses with the reference's language tag",
          "[unit][generate]") {
  LidAccuracyScorer acc;
  CHECK(acc.score() == 0.0);
  acc.add_string("<lang:de>", "<lang:de>");
  acc.add_string("<lang:de>", "<lang:en>");
  acc.add_string("<lang:en>", "<lang:en>");
  acc.add_string("<lang:en>", "");  // an empty hypothesis has no tag
  CHECK(acc.score() == Approx(50.0));
  CHECK(acc.result_string() == "ACC: 50.00 (2/4)");
}

TEST_CASE("beam search: --no-repeat-ngram-size bans repeated n-grams", "[unit][generate]") {
  torch::NoGradGuard no_grad;
  auto model = tiny_conformer(12);
  torch::manual_seed(13);
  auto enc = model->encode(torch::randn({2, 40, 8}), torch::tensor({40, 36}, torch::kLong));
  for (int64_t n : {1, 2}) {
    BeamSearchOptions o;
    o.beam = 3;
    o.nbest = 3;
    o.max_len_b = 8;
    o.min_len = 6;  // long hypotheses over 10 producible units: repeats are likely unbanned
    o.no_repeat_ngram_size = n;
    auto hyps = beam_search(*model, enc, 40, o);
    for (const auto& sentence : hyps) {
      REQUIRE(sentence.size() == 3);
      for (const auto& h : sentence) {
        CHECK(h.tokens.size() >= 7);
        std::set<std::vector<int64_t>> seen;
        for (size_t i = 0; i + n <= h.tokens.size() - 1; ++i) {  // the eos aside
          std::vector<int64_t> gram(h.tokens.begin() + i, h.tokens.begin() + i + n);
          INFO("n = " << n << ", position " << i);
          CHECK(seen.insert(gram).second);
        }
      }
    }
  }
}
