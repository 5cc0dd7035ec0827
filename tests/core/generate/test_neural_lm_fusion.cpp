// Shallow fusion of a neural LM (transformer_lm) into the three searches of generate: weight 0
// gives exactly the hypotheses and scores without an LM (CTC prefix, attention, joint CTC/
// attention); the fused scores equal the components' sums computed independently (teacher-
// forced LM log-probabilities); a toy LM fixes a constructed ambiguous CTC case; the word-level
// n-gram LM works in attention decoding; --beam-threshold prunes.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>
#include <sstream>

#include "core/generate/arpa_lm.h"
#include "core/generate/beam_search.h"
#include "core/generate/ctc_decoder.h"
#include "core/generate/neural_lm_fusion.h"
#include "core/generate/word_lm_fusion.h"
#include "core/interfaces/language_model.h"
#include "models/conformer/conformer_options.h"
#include "models/transformer_lm/transformer_lm_options.h"

using namespace trellis;

namespace {

constexpr int64_t kPad = 1, kEos = 2;

std::shared_ptr<Model> tiny_lm(int64_t vocab, uint64_t seed = 11) {
  auto opts = arch_registry().make_options("transformer_lm_gpt2_tiny");
  auto& o = opts.as<TransformerLmOptions>();
  o.decoder_embed_dim = 16;
  o.decoder_ffn_embed_dim = 32;
  o.decoder_attention_heads = 2;
  ModelContext ctx;
  ctx.tgt_vocab_size = vocab;
  ctx.pad = kPad;
  ctx.eos = kEos;
  torch::manual_seed(seed);
  auto m = std::shared_ptr<Model>(model_registry().create("transformer_lm", opts, ctx));
  m->eval();
  return m;
}

std::shared_ptr<Model> tiny_conformer(int64_t vocab, bool ctc) {
  auto opts = arch_registry().make_options("conformer");
  auto& o = opts.as<ConformerOptions>();
  o.encoder_layers = 1;
  o.decoder_layers = 1;
  o.encoder_embed_dim = o.decoder_embed_dim = 32;
  o.encoder_ffn_embed_dim = o.decoder_ffn_embed_dim = 64;
  o.encoder_attention_heads = o.decoder_attention_heads = 2;
  o.conv_channels = 32;
  o.conformer_conv_kernel_size = 5;
  ModelContext ctx;
  ctx.input_feat_per_channel = 8;
  ctx.tgt_vocab_size = vocab;
  if (ctc) {
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

// Teacher-forced ln p_lm of each unit of `units` then eos, summed: sum_i ln p(y_i | eos, y_<i).
double lm_logprob(Model& lm_model, const std::vector<int64_t>& units, bool with_eos) {
  auto* lm = dynamic_cast<LanguageModel*>(&lm_model);
  std::vector<int64_t> in{kEos};
  in.insert(in.end(), units.begin(), units.end());
  at::Tensor lp = torch::log_softmax(lm->lm_logits(torch::tensor(in).unsqueeze(0)), -1)[0];
  double s = 0;
  for (size_t i = 0; i < units.size(); ++i)
    s += lp[static_cast<int64_t>(i)][units[i]].item<double>();
  if (with_eos) s += lp[static_cast<int64_t>(units.size())][kEos].item<double>();
  return s;
}

bool same_hyps(const std::vector<std::vector<Hypothesis>>& a,
               const std::vector<std::vector<Hypothesis>>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].size() != b[i].size()) return false;
    for (size_t j = 0; j < a[i].size(); ++j)
      if (a[i][j].tokens != b[i][j].tokens || a[i][j].score != b[i][j].score ||
          a[i][j].positional_scores != b[i][j].positional_scores)
        return false;
  }
  return true;
}

}  // namespace

TEST_CASE("neural LM fusion: weight 0 is exactly decoding without an LM", "[unit][generate][lm]") {
  torch::NoGradGuard no_grad;
  const int64_t V = 12;
  auto lm_model = tiny_lm(V);
  auto* lm = dynamic_cast<LanguageModel*>(lm_model.get());
  REQUIRE(lm != nullptr);
  auto model = tiny_conformer(V, true);
  torch::manual_seed(5);
  auto enc = model->encode(torch::randn({2, 40, 8}), torch::tensor({40, 31}, torch::kLong));
  CtcScores ctc{model->normalized_probs(enc.ctc_logits, true), enc.ctc_lengths};
  for (double ctc_weight : {0.0, 0.3}) {
    INFO("ctc weight " << ctc_weight);
    BeamSearchOptions o;
    o.beam = 4;
    o.nbest = 4;
    o.max_len_b = 6;
    o.ctc_weight = ctc_weight;
    o.ctc_blank = V;
    const auto plain = beam_search({model.get()}, {enc}, 40, o, at::Tensor(), &ctc);
    NeuralLmFusion zero(lm, kEos, 0.0, 0.0, "tiny");
    o.lm = &zero;
    const auto fused = beam_search({model.get()}, {enc}, 40, o, at::Tensor(), &ctc);
    CHECK(same_hyps(plain, fused));
    CHECK(zero.calls() > 0);
  }
  // CTC prefix beam search on the CTC head's output.
  at::Tensor u = ctc.lprobs.select(1, 0);  // (T, V + 1)
  NeuralLmFusion zero(lm, kEos, 0.0, 0.0, "tiny");
  const auto plain = ctc_prefix_beam_search(u, V, 5);
  // the LM covers units 0..V-1; the blank V is never extended
  const auto fused = ctc_prefix_beam_search(u, V, 5, 30.0, &zero, 0.0);
  REQUIRE(plain.size() == fused.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    CHECK(plain[i].tokens == fused[i].tokens);
    CHECK(plain[i].score == fused[i].score);
  }
}

TEST_CASE("neural LM fusion: fused scores are the components' sums", "[unit][generate][lm]") {
  torch::NoGradGuard no_grad;
  const int64_t V = 12;
  auto lm_model = tiny_lm(V);
  auto* lm = dynamic_cast<LanguageModel*>(lm_model.get());
  auto model = tiny_conformer(V, true);
  torch::manual_seed(6);
  auto enc = model->encode(torch::randn({2, 40, 8}), torch::tensor({40, 35}, torch::kLong));
  const double alpha = 0.7, beta = 0.4;

  SECTION("attention: sum of (att + alpha lm) per token, eos included, no length penalty") {
    BeamSearchOptions o;
    o.beam = 3;
    o.nbest = 3;
    o.max_len_b = 5;
    o.lenpen = 0.0;
    NeuralLmFusion f(lm, kEos, alpha, 0.0, "tiny");
    o.lm = &f;
    const auto hyps = beam_search(*model, enc, 40, o);
    for (int64_t b = 0; b < 2; ++b) {
      auto one = model->reorder_encoder_out(enc, torch::tensor({b}));
      for (const auto& h : hyps[b]) {
        std::vector<int64_t> prev{kEos};
        prev.insert(prev.end(), h.tokens.begin(), h.tokens.end() - 1);
        at::Tensor lp = model->normalized_probs(model->decode(torch::tensor(prev).unsqueeze(0), one),
                                                true)[0];
        double att = 0;
        for (size_t i = 0; i < h.tokens.size(); ++i)
          att += lp[static_cast<int64_t>(i)][h.tokens[i]].item<double>();
        const std::vector<int64_t> units(h.tokens.begin(), h.tokens.end() - 1);
        CHECK(h.score == Approx(att + alpha * lm_logprob(*lm_model, units, true)).epsilon(1e-4));
      }
    }
  }
  SECTION("CTC prefix: log p_ctc + alpha ln p_lm(y, eos) + beta |y|") {
    // 3 frames and a beam that keeps every prefix: the prefix scores are then exact CTC
    // probabilities (a pruned beam loses alignments of dropped prefixes).
    at::Tensor clp = model->normalized_probs(enc.ctc_logits, true);
    const int64_t T = 3;
    at::Tensor u = clp.select(1, 0).slice(0, 0, T);
    NeuralLmFusion f(lm, kEos, alpha, beta, "tiny");
    const auto hyps = ctc_prefix_beam_search(u, V, 100000, 1e9, &f, 0.0);
    REQUIRE(!hyps.empty());
    for (const auto& h : hyps) {
      if (h.tokens.empty()) continue;
      std::string units;
      for (int64_t t : h.tokens) units += std::to_string(t) + " ";
      INFO("hypothesis " << units);
      auto nll = at::ctc_loss(u.unsqueeze(1).to(torch::kDouble), torch::tensor(h.tokens).unsqueeze(0),
                              {T}, {static_cast<int64_t>(h.tokens.size())}, V, at::Reduction::Sum);
      const double want = -nll.item<double>() + alpha * lm_logprob(*lm_model, h.tokens, true) +
                          beta * static_cast<double>(h.tokens.size());
      CHECK(h.score == Approx(want).epsilon(1e-4));
    }
  }
}

TEST_CASE("neural LM fusion: the LM fixes an acoustically ambiguous CTC case",
          "[unit][generate][lm]") {
  // Units: 0 blank, 1 pad, 2 eos, 3 'a', 4 'b'. An LM trained (here: 60 Adam steps) on
  // sentences "a b a b" prefers 'b' after 'a'; frame 3 is ambiguous between 'a' (0.55) and
  // 'b' (0.45), so acoustics alone say "a b a a" ... with the LM "a b a b".
  torch::NoGradGuard outer;
  const int64_t V = 5;
  auto lm_model = tiny_lm(V, 3);
  auto* lm = dynamic_cast<LanguageModel*>(lm_model.get());
  {
    torch::AutoGradMode grad(true);
    lm_model->train();
    torch::optim::Adam opt(lm_model->parameters(), torch::optim::AdamOptions(1e-2));
    at::Tensor src = torch::tensor(std::vector<int64_t>{kEos, 3, 4, 3, 4}).unsqueeze(0);
    at::Tensor tgt = torch::tensor(std::vector<int64_t>{3, 4, 3, 4, kEos}).unsqueeze(0);
    for (int i = 0; i < 60; ++i) {
      opt.zero_grad();
      auto loss = torch::nll_loss(torch::log_softmax(lm->lm_logits(src), -1).view({-1, V}),
                                  tgt.view({-1}));
      loss.backward();
      opt.step();
    }
    lm_model->eval();
  }
  auto p = [](std::vector<double> row) {
    std::vector<float> out;
    for (double v : row) out.push_back(static_cast<float>(std::log(v)));
    return out;
  };
  std::vector<float> flat;
  for (const auto& row : {p({0.01, 1e-6, 1e-6, 0.98, 0.01}), p({0.98, 1e-6, 1e-6, 0.01, 0.01}),
                          p({0.01, 1e-6, 1e-6, 0.01, 0.98}), p({0.98, 1e-6, 1e-6, 0.01, 0.01}),
                          p({0.01, 1e-6, 1e-6, 0.98, 0.01}), p({0.98, 1e-6, 1e-6, 0.01, 0.01}),
                          p({0.01, 1e-6, 1e-6, 0.54, 0.45})})
    flat.insert(flat.end(), row.begin(), row.end());
  at::Tensor lp = torch::tensor(flat).view({7, V});
  const std::vector<int64_t> abab{3, 4, 3, 4}, abaa{3, 4, 3, 3};
  CHECK(ctc_prefix_beam_search(lp, 0, 4)[0].tokens == abaa);
  NeuralLmFusion f(lm, kEos, 1.0, 0.0, "toy");
  CHECK(ctc_prefix_beam_search(lp, 0, 4, 30.0, &f, 0.0)[0].tokens == abab);
  // attention decoding reads the same LM through gains(): 'b' after "a b a" gains more.
  NeuralLmFusion g(lm, kEos, 1.0, 0.0, "toy");
  LmNodePtr n = g.start();
  for (int64_t t : {3, 4, 3}) {
    g.prepare({n});
    n = g.extend(n, t);
  }
  g.prepare({n});
  std::vector<float> gains;
  g.gains(n, kEos, &gains);
  CHECK(gains[4] > gains[3]);
}

TEST_CASE("neural LM fusion: batched incremental scoring equals the full forward",
          "[unit][generate][lm]") {
  torch::NoGradGuard no_grad;
  const int64_t V = 9;
  auto lm_model = tiny_lm(V);
  auto* lm = dynamic_cast<LanguageModel*>(lm_model.get());
  NeuralLmFusion f(lm, kEos, 1.0, 0.0, "tiny");
  // Two branches of different lengths prepared together (two length groups).
  LmNodePtr root = f.start();
  f.prepare({root});
  LmNodePtr a = f.extend(root, 3), b = f.extend(root, 5);
  f.prepare({a, b});
  LmNodePtr a2 = f.extend(a, 7), b2 = f.extend(b, 4), b3 = f.extend(b, 6);
  f.prepare({a2, b2, b3, a});
  LmNodePtr b33 = f.extend(b3, 8);
  f.prepare({b33, a2});
  CHECK(b33->score == Approx(lm_logprob(*lm_model, {5, 6, 8}, false)).epsilon(1e-5));
  CHECK(f.finish(a2) == Approx(lm_logprob(*lm_model, {3, 7}, true)).epsilon(1e-5));
  CHECK(f.finish(b33) == Approx(lm_logprob(*lm_model, {5, 6, 8}, true)).epsilon(1e-5));
  CHECK(f.calls() == 4);  // root; {a, b}; {a2, b2, b3}; {b33}: 4 lengths, a prepared once
}

TEST_CASE("LM fusion: a word-level n-gram in attention decoding scores words at completion",
          "[unit][generate][lm]") {
  // Units: 0 <s>, 1 <pad>, 2 </s>, 3 <unk>, 4 '|', 5 'a', 6 'b'.
  std::istringstream arpa(
      "\\data\\\nngram 1=5\n\n\\1-grams:\n-99\t<s>\n-0.5\t</s>\n-2\t<unk>\n-0.3\tab\n"
      "-1.0\tba\n\n\\end\\\n");
  ArpaLm arpa_lm = ArpaLm::parse(arpa, "toy.arpa");
  WordLmFusion wf;
  wf.lm = &arpa_lm;
  wf.weight = 0.5;
  wf.word_score = 0.25;
  wf.spelling = WordSpelling::from_pieces({"<s>", "<pad>", "</s>", "<unk>", "|", "a", "b"},
                                          {0, 1, 2, 3});
  WordNgramFusion f(wf);
  LmNodePtr n = f.start();
  double sum = 0;
  std::vector<float> g;
  for (int64_t u : {5, 6, 4, 6, 5}) {  // "ab|ba"
    f.gains(n, 2, &g);
    sum += g[static_cast<size_t>(u)];
    n = f.extend(n, u);
  }
  f.gains(n, 2, &g);
  sum += g[2];
  const double ln10 = std::log(10.0);
  const double want = 0.5 * ln10 * (-0.3 - 1.0 - 0.5) + 0.25 * 2;
  CHECK(sum == Approx(want).epsilon(1e-5));
  CHECK(f.finish(n) == Approx(want).epsilon(1e-6));
}

TEST_CASE("CTC prefix beam search: --beam-threshold drops prefixes far below the best",
          "[unit][generate][lm]") {
  // Two frames; 'a' (1) dominates; with threshold 1 nat only prefixes within 1 of the best stay.
  std::vector<float> flat;
  for (const auto& row : {std::vector<double>{0.05, 0.9, 0.05}, {0.3, 0.6, 0.1}})
    for (double v : row) flat.push_back(static_cast<float>(std::log(v)));
  at::Tensor lp = torch::tensor(flat).view({2, 3});
  const auto all = ctc_prefix_beam_search(lp, 0, 10, 30.0, nullptr, 0.0);
  const auto pruned = ctc_prefix_beam_search(lp, 0, 10, 30.0, nullptr, 1.0);
  REQUIRE(all.size() > pruned.size());
  CHECK(pruned.front().tokens == all.front().tokens);
  for (const auto& h : pruned) CHECK(h.score >= all.front().score - 1.0);
}
