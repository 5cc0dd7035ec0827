#pragma once
// Attention beam search with the model's decoder and its incremental state (fairseq's
// SequenceGenerator; docs/generate.md, "Decoders").
//
// Every sentence keeps `beam` live prefixes; at each step the 2*beam best extensions of all of
// them (cumulative log-prob + log p(token)) are ranked: an eos among the first `beam` finalizes
// a hypothesis with score = sum of log-probs / length^lenpen (length counts the eos), the
// others become the next live prefixes until `beam` are kept. A sentence is done with `beam`
// finalized hypotheses; at max_len = min(a * T_src + b, max target positions - 1) every live
// prefix is ended with eos. Step 0 extends only the first prefix. <pad> is never produced,
// <unk> pays --unkpen, eos is forbidden before --min-len, and --prefix-size forces the first
// tokens (language tags).

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "core/interfaces/model.h"
#include "core/generate/lm_fusion.h"

namespace trellis {

struct BeamSearchOptions {
  int64_t beam = 5;
  int64_t nbest = 1;
  double max_len_a = 0.0;
  int64_t max_len_b = 200;
  int64_t min_len = 1;
  double lenpen = 1.0;
  double unkpen = 0.0;
  int64_t pad = 1, eos = 2, unk = 3;
  int64_t max_target_positions = 1024;
  // fairseq's --no-repeat-ngram-size n: a token that would repeat an n-gram already in the
  // prefix is banned (0 = off).
  int64_t no_repeat_ngram_size = 0;
  // Joint CTC/attention (ESPnet's hybrid decoding): each extension scores
  // (1 - ctc_weight) * log p_att + ctc_weight * (CTC prefix score gain, ctc_prefix_score.h), on
  // the 1.5 * beam best tokens by attention; the CTC head must predict the target units.
  double ctc_weight = 0.0;
  int64_t ctc_blank = 0;
  // Shallow fusion (lm_fusion.h; not owned, may be null): every step adds the LM's gain of each
  // token to its score, fairseq's lprobs + lm_weight * lm_lprobs (eos included; the word-level
  // n-gram gains at units that complete a word and at eos). Joint decoding: ESPnet's
  // (1 - ctc_weight) * att + ctc_weight * ctc + lm_weight * lm, the CTC pre-beam ranking
  // tokens by att + LM. Each row carries its LM node, reordered with the beam.
  FusedLm* lm = nullptr;
};

// The CTC side of joint decoding: lprobs (T, B, V) float log-probabilities, lengths (B) int64.
struct CtcScores {
  at::Tensor lprobs;
  at::Tensor lengths;
};

struct Hypothesis {
  std::vector<int64_t> tokens;          // the output, ending with eos
  double score = 0.0;                   // normalized natural-log score
  std::vector<float> positional_scores;  // log p of each token (eos included)
};

// encoder: the batch's encoder output (B sentences); src_len: its padded source frames (T).
// prefix: (B, P) int64 forced first tokens, or undefined. Returns nbest hypotheses per sentence,
// best first.
std::vector<std::vector<Hypothesis>> beam_search(Model& model, const EncoderOut& encoder,
                                                 int64_t src_len, const BeamSearchOptions& options,
                                                 const at::Tensor& prefix = at::Tensor());
// An ensemble: models[i] with its encoder output encoders[i] (same batch); each step's
// log-probabilities are the average of the models' in probability space,
// logsumexp_i(log p_i) - log N (fairseq's EnsembleModel).
std::vector<std::vector<Hypothesis>> beam_search(const std::vector<Model*>& models,
                                                 const std::vector<EncoderOut>& encoders,
                                                 int64_t src_len, const BeamSearchOptions& options,
                                                 const at::Tensor& prefix = at::Tensor(),
                                                 const CtcScores* ctc = nullptr);

}  // namespace trellis
