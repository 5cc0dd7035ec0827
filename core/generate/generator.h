#pragma once
// fairseq-generate for trellis (docs/generate.md): rebuilds task, vocabularies and model
// from a checkpoint alone (its stored configuration and task state; the plugins it names must
// be loadable), decodes --gen-subset of DATA_ROOT and scores it.
//
// Decoders: a model without a decoder (conformer_ctc) is decoded from its CTC head, greedily
// with --beam 1, by prefix beam search otherwise; a model with a decoder by attention beam
// search (beam_search.h). Output, per sample in batch order (<id> = the sample's index in the
// split): T-<id> reference, H-<id> score (base 2) and pieces, D-<id> score and detokenized
// text, P-<id> per-token log-probs (base 2, beam search); then
//   Generate <subset> with beam=<k>: WER: 12.34
// and the decoding speed (sentences/s, seconds of audio per second).

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "core/generate/beam_search.h"
#include "core/generate/model_loader.h"

namespace trellis {

class Config;
struct GenerationOptions;
struct LoadedLm;

// Returns the exit code. Errors are thrown (core/error.h).
int run_generation(const Config& config);

// The search of generate, set up once from its options for a loaded ensemble; `generate` and
// `transcribe` (core/transcriber.cpp) decode every batch with it.
class BatchDecoder {
 public:
  struct Output {
    std::vector<std::vector<Hypothesis>> hyps;  // per sentence, up to --nbest, best first
    at::Tensor ctc_lprobs;   // (T, B, V) float CPU, when computed (CTC models, or asked for)
    at::Tensor ctc_lengths;  // (B) int64 CPU, with ctc_lprobs
  };
  // ensemble: the loaded checkpoints (the first one's task and model set the vocabulary and
  // the search); paths: their files, for errors. ConfigError names a bad flag.
  BatchDecoder(const GenerationOptions& gen, std::vector<LoadedCheckpoint>& ensemble,
               const std::vector<std::string>& paths);
  ~BatchDecoder();
  // src_tokens: (B, T, F) float zero-padded (raw audio: (B, N)); src_lengths: (B) int64;
  // prefix: (B, P) int64 forced first tokens, or undefined. want_ctc: also return the CTC
  // log-probabilities of models with a CTC output (alignments, timestamps).
  Output decode(const at::Tensor& src_tokens, const at::Tensor& src_lengths,
                const at::Tensor& prefix = at::Tensor(), bool want_ctc = false) const;

 private:
  std::vector<Model*> models_;
  std::vector<std::string> paths_;
  int64_t beam_ = 5, nbest_ = 1, blank_ = 0;
  double beam_threshold_ = 0.0;
  BeamSearchOptions bo_;
  std::unique_ptr<LoadedLm> lm_;  // --lm-path (lm_loader.h), or null
};

}  // namespace trellis
