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

namespace trellis {

class Config;

// Returns the exit code. Errors are thrown (core/error.h).
int run_generation(const Config& config);

}  // namespace trellis
