#include "core/generate/beam_search.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "core/error.h"
#include "core/generate/ctc_prefix_score.h"

namespace trellis {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

struct Live {
  int64_t row;  // the prefix it extends (index into the N = B * beam rows)
  int64_t token;
  float score;  // cumulative
  float lprob;  // of this token
};

// Bans (-inf in lprobs (N, V)) every token that would end an n-gram already in the row's
// prefix. tokens: (N, L) with eos first; the prefix is tokens[:, 1 .. step].
void ban_repeated_ngrams(const at::Tensor& tokens, int64_t step, int64_t n, at::Tensor* lprobs) {
  const at::Tensor cpu = tokens.to(torch::kCPU);
  auto tok = cpu.accessor<int64_t, 2>();
  auto lp = lprobs->accessor<float, 2>();
  for (int64_t i = 0; i < tokens.size(0); ++i) {
    // The last n-1 generated tokens are tok[i][step-n+2 .. step]; an earlier n-gram starting at
    // j (1 <= j, j+n-1 <= step) with the same first n-1 tokens bans its last one.
    for (int64_t j = 1; j + n - 1 <= step; ++j) {
      bool same = true;
      for (int64_t k = 0; k < n - 1 && same; ++k) same = tok[i][j + k] == tok[i][step - n + 2 + k];
      if (same) lp[i][tok[i][j + n - 1]] = kNegInf;
    }
  }
}

// Joint scores (N, V): (1 - w) * attention + w * CTC prefix gain (+ the LM gain) on the
// pre-beam tokens of each row (the best by attention + LM), -inf elsewhere; the extended CTC
// states go to *extended. lprobs: (N, V); lm_gains: (N, V) or undefined.
at::Tensor joint_scores(const at::Tensor& lprobs, const at::Tensor& lm_gains,
                        const std::vector<CtcPrefixScorer>& scorers,
                        const std::vector<CtcPrefixScorer::State>& states, int64_t K,
                        const BeamSearchOptions& o,
                        std::map<std::pair<int64_t, int64_t>, CtcPrefixScorer::State>* extended) {
  const int64_t N = lprobs.size(0), V = lprobs.size(1);
  const int64_t pre = std::min<int64_t>(V, std::max<int64_t>(K, (3 * K + 1) / 2));
  const at::Tensor tok = std::get<1>((lm_gains.defined() ? lprobs + lm_gains : lprobs).topk(pre, 1));
  at::Tensor out = torch::full({N, V}, kNegInf);
  auto att_a = lprobs.accessor<float, 2>();
  auto tok_a = tok.accessor<int64_t, 2>();
  auto out_a = out.accessor<float, 2>();
  const float* g = lm_gains.defined() ? lm_gains.data_ptr<float>() : nullptr;  // (N, V)
  extended->clear();
  const double w = o.ctc_weight;
  for (int64_t i = 0; i < N; ++i) {
    for (int64_t j = 0; j < pre; ++j) {
      const int64_t c = tok_a[i][j];
      const float a = att_a[i][c];
      if (a == kNegInf) continue;
      CtcPrefixScorer::State next = scorers[i / K].extend(states[i], c);
      const double gain = next.score - states[i].score;
      if (!std::isfinite(gain)) continue;
      double score = (1 - w) * a + w * gain;
      if (g) score += g[i * V + c];
      out_a[i][c] = static_cast<float>(score);
      (*extended)[{i, c}] = std::move(next);
    }
  }
  return out;
}

// The LM gains of every row's node: (N, V) float.
at::Tensor lm_gains(FusedLm& lm, const std::vector<LmNodePtr>& nodes, int64_t V, int64_t eos) {
  lm.prepare(nodes);
  at::Tensor out = torch::empty({static_cast<int64_t>(nodes.size()), V}, torch::kFloat);
  std::vector<float> g;
  for (size_t i = 0; i < nodes.size(); ++i) {
    lm.gains(nodes[i], eos, &g);
    TRELLIS_CHECK(static_cast<int64_t>(g.size()) == V, ConfigError,
                  "--lm-path: the LM has {} units, the model's decoder {}", g.size(), V);
    std::copy(g.begin(), g.end(), out[static_cast<int64_t>(i)].data_ptr<float>());
  }
  return out;
}

}  // namespace

std::vector<std::vector<Hypothesis>> beam_search(Model& model, const EncoderOut& encoder,
                                                 int64_t src_len, const BeamSearchOptions& o,
                                                 const at::Tensor& prefix) {
  return beam_search(std::vector<Model*>{&model}, std::vector<EncoderOut>{encoder}, src_len, o,
                     prefix);
}

std::vector<std::vector<Hypothesis>> beam_search(const std::vector<Model*>& models,
                                                 const std::vector<EncoderOut>& encoders,
                                                 int64_t src_len, const BeamSearchOptions& o,
                                                 const at::Tensor& prefix, const CtcScores* ctc) {
  torch::NoGradGuard no_grad;
  const int64_t B = encoders.at(0).encoder_padding_mask.size(0), K = o.beam;
  const int64_t N = B * K;
  const auto device = encoders[0].encoder_out.device();
  const auto lint = torch::TensorOptions().dtype(torch::kLong).device(device);
  const size_t M = models.size();
  std::vector<EncoderOut> enc;  // each model's, repeated beam times: (T', N, D)
  for (size_t m = 0; m < M; ++m)
    enc.push_back(models[m]->reorder_encoder_out(encoders[m],
                                                 torch::arange(B, lint).repeat_interleave(K)));
  std::vector<IncrementalState> states(M);
  const int64_t max_len = std::max<int64_t>(
      1, std::min<int64_t>(static_cast<int64_t>(o.max_len_a * static_cast<double>(src_len)) +
                               o.max_len_b,
                           o.max_target_positions - 1));
  const int64_t P = prefix.defined() ? prefix.size(1) : 0;
  at::Tensor tokens = torch::full({N, max_len + 2}, o.pad, lint);  // (N, L) eos first
  tokens.select(1, 0).fill_(o.eos);
  std::vector<float> scores(static_cast<size_t>(N), 0.0f);
  std::vector<std::vector<float>> history(static_cast<size_t>(N));  // per-token log-probs
  std::vector<std::vector<Hypothesis>> finalized(static_cast<size_t>(B));
  std::vector<bool> finished(static_cast<size_t>(B), false);
  // Joint CTC/attention: a prefix scorer per sentence and a prefix state per row.
  const bool joint = o.ctc_weight > 0;
  TRELLIS_CHECK(!joint || (ctc && ctc->lprobs.defined()), ConfigError,
                "--ctc-weight {}: this model has no CTC output to score with", o.ctc_weight);
  std::vector<CtcPrefixScorer> scorers;
  std::vector<CtcPrefixScorer::State> ctc_state;
  if (joint) {
    at::Tensor lp = ctc->lprobs.to(torch::kCPU), lens = ctc->lengths.to(torch::kCPU);
    for (int64_t b = 0; b < B; ++b)
      scorers.emplace_back(lp.select(1, b).slice(0, 0, lens[b].item<int64_t>()), o.ctc_blank,
                           o.eos);
    for (int64_t i = 0; i < N; ++i) ctc_state.push_back(scorers[i / K].initial());
  }
  std::map<std::pair<int64_t, int64_t>, CtcPrefixScorer::State> extended;  // (row, token)
  std::vector<LmNodePtr> lm_nodes;  // with an LM: each row's node
  if (o.lm) lm_nodes.assign(static_cast<size_t>(N), o.lm->start());

  for (int64_t step = 0; step <= max_len; ++step) {
    std::vector<at::Tensor> per_model;
    for (size_t m = 0; m < M; ++m) {
      at::Tensor logits = models[m]->decode(tokens.slice(1, 0, step + 1), enc[m], &states[m]);
      per_model.push_back(models[m]->normalized_probs(logits, true).select(1, 0));  // (N, V)
    }
    at::Tensor lprobs =
        (M == 1 ? per_model[0]
                : torch::logsumexp(torch::stack(per_model), 0) - std::log(static_cast<double>(M)))
            .to(torch::kCPU)
            .to(torch::kFloat)
            .contiguous();  // (N, V)
    const int64_t V = lprobs.size(1);
    lprobs.select(1, o.pad).fill_(kNegInf);
    if (o.unkpen != 0) lprobs.select(1, o.unk).sub_(o.unkpen);
    if (step >= max_len) {  // end every live prefix
      at::Tensor eos = lprobs.select(1, o.eos).clone();
      lprobs.fill_(kNegInf);
      lprobs.select(1, o.eos).copy_(eos);
    } else if (step < o.min_len) {
      lprobs.select(1, o.eos).fill_(kNegInf);
    }
    if (o.no_repeat_ngram_size > 0 && step + 1 >= o.no_repeat_ngram_size)
      ban_repeated_ngrams(tokens, step, o.no_repeat_ngram_size, &lprobs);
    if (step < P) {  // forced prefix token
      at::Tensor forced = prefix.select(1, step).to(torch::kCPU).repeat_interleave(K).unsqueeze(1);
      at::Tensor keep = lprobs.gather(1, forced);
      lprobs.fill_(kNegInf);
      lprobs.scatter_(1, forced, keep);
    }
    at::Tensor gains;  // (N, V) LM gains
    if (o.lm) gains = lm_gains(*o.lm, lm_nodes, V, o.eos);
    if (joint) lprobs = joint_scores(lprobs, gains, scorers, ctc_state, K, o, &extended);
    else if (o.lm) lprobs = lprobs + gains;
    at::Tensor cand = lprobs + torch::tensor(scores).unsqueeze(1);  // (N, V)
    at::Tensor view = step == 0 ? cand.view({B, K, V}).select(1, 0) : cand.view({B, K * V});
    auto [top_scores, top_idx] = view.topk(std::min<int64_t>(2 * K, view.size(1)), 1);
    const float* lp = lprobs.data_ptr<float>();

    std::vector<Live> next;
    next.reserve(static_cast<size_t>(N));
    for (int64_t b = 0; b < B; ++b) {
      std::vector<Live> live;
      for (int64_t j = 0; j < top_idx.size(1) && !finished[b]; ++j) {
        const float s = top_scores[b][j].item<float>();
        if (s == kNegInf) break;
        const int64_t idx = top_idx[b][j].item<int64_t>();
        const int64_t row = b * K + (step == 0 ? 0 : idx / V), tok = idx % V;
        const float tok_lp = lp[row * V + tok];
        if (tok == o.eos) {
          if (j >= K) continue;  // fairseq: only eos among the first beam candidates ends one
          Hypothesis h;
          const auto* t = tokens[row].data_ptr<int64_t>();
          h.tokens.assign(t + 1, t + 1 + step);
          h.tokens.push_back(o.eos);
          h.positional_scores = history[row];
          h.positional_scores.push_back(tok_lp);
          h.score = s / std::pow(static_cast<double>(step + 1), o.lenpen);
          finalized[b].push_back(std::move(h));
          if (static_cast<int64_t>(finalized[b].size()) >= K) finished[b] = true;
        } else if (static_cast<int64_t>(live.size()) < K) {
          live.push_back({row, tok, s, tok_lp});
        }
      }
      if (live.empty()) {
        finished[b] = true;
        live.push_back({b * K, o.pad, kNegInf, 0.0f});  // rows of a finished sentence idle
      }
      while (static_cast<int64_t>(live.size()) < K) live.push_back(live.back());
      next.insert(next.end(), live.begin(), live.end());
    }
    if (std::all_of(finished.begin(), finished.end(), [](bool f) { return f; })) break;

    if (joint) {
      std::vector<CtcPrefixScorer::State> moved(static_cast<size_t>(N));
      for (int64_t i = 0; i < N; ++i) {
        auto it = extended.find({next[i].row, next[i].token});
        moved[i] = it != extended.end() ? it->second : ctc_state[next[i].row];
      }
      ctc_state = std::move(moved);
    }
    if (o.lm) {
      std::vector<LmNodePtr> moved(static_cast<size_t>(N));
      for (int64_t i = 0; i < N; ++i) {
        const LmNodePtr& from = lm_nodes[static_cast<size_t>(next[i].row)];
        moved[i] = next[i].token == o.pad ? from : o.lm->extend(from, next[i].token);
      }
      lm_nodes = std::move(moved);
    }
    std::vector<int64_t> order(static_cast<size_t>(N));
    std::vector<std::vector<float>> new_history(static_cast<size_t>(N));
    for (int64_t i = 0; i < N; ++i) {
      order[i] = next[i].row;
      scores[i] = next[i].score;
      new_history[i] = history[next[i].row];
      new_history[i].push_back(next[i].lprob);
    }
    history = std::move(new_history);
    at::Tensor new_order = torch::tensor(order, lint);
    tokens = tokens.index_select(0, new_order);
    for (int64_t i = 0; i < N; ++i) tokens[i][step + 1] = next[i].token;
    for (auto& st : states) st.reorder(new_order);
  }

  for (auto& hyps : finalized) {
    std::stable_sort(hyps.begin(), hyps.end(),
                     [](const auto& a, const auto& b) { return a.score > b.score; });
    if (static_cast<int64_t>(hyps.size()) > o.nbest) hyps.resize(static_cast<size_t>(o.nbest));
  }
  return finalized;
}

}  // namespace trellis
