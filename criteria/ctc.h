#pragma once
// --criterion ctc (fairseq's CtcCriterion; docs/criteria.md, "ctc").

#include <string>
#include <vector>

#include "core/interfaces/criterion.h"

namespace trellis {

struct CtcOptions {
  bool zero_infinity = false;
  std::string post_process = "letter";

  template <class V>
  void visit(V& v) {
    v.field("zero_infinity", zero_infinity,
            "zero infinite CTC losses (inputs too short to align) and their gradients");
    v.field("post_process", post_process,
            "how CTC units become words for the validation WER (letter: '|' separates words)")
        .choices({"letter", "sentencepiece", "none"});
  }
  void validate() const;
};

// The CTC terms shared by `ctc` and `ctc_multi_loss`.
struct CtcTerms {
  at::Tensor loss;            // () summed CTC loss (float32, or float64 for float64 logits)
  at::Tensor lprobs;          // (T, B, V) log_softmax of the logits
  at::Tensor input_lengths;   // (B) int64
  at::Tensor target_lengths;  // (B) int64, units per row (pad and eos excluded)
  std::string nonfinite_note;  // a non-finite loss: the infeasible utterances and the remedy
};

// logits: (T, B, V) float (computed in at least float32); input_lengths: (B) int64 (undefined:
// all T); tokens: (B, S) int64, pad and eos dropped; target_lengths: (B) int64 units per row
// (undefined: counted; given: must agree with the count) -> summed CTC (at::ctc_loss, blank;
// zero_infinity: an infeasible utterance gives 0 loss and 0 gradient). Without zero_infinity,
// an infeasible utterance (fewer frames than units plus repeated neighbours) is named once in a
// warning (by `ids` when given, else by batch row) with the way out: --zero-infinity; every
// infeasible one of the batch is named in nonfinite_note each time.
CtcTerms ctc_loss_sum(const at::Tensor& logits, const at::Tensor& input_lengths,
                      const at::Tensor& tokens, const at::Tensor& target_lengths, int64_t pad,
                      int64_t eos, int64_t blank, bool zero_infinity,
                      const std::vector<std::string>* ids = nullptr);

// Rows of a batch whose CTC alignment cannot exist: input_lengths[b] < units[b] + repeats[b]
// (a repeated unit needs a blank between its copies). tokens (B, S) int64 with pad/eos skipped.
std::vector<int64_t> infeasible_ctc_rows(const at::Tensor& input_lengths, const at::Tensor& tokens,
                                         int64_t pad, int64_t eos);

// Greedy CTC decode of one utterance: lprobs (T, V) over its valid frames -> argmax per frame,
// repeats collapsed, blanks dropped.
std::vector<int64_t> ctc_greedy_decode(const at::Tensor& lprobs, int64_t blank);

// Validation error counts of a batch (fairseq's ctc criterion in eval mode):
//   c_errors = edit distance between greedy units and reference units, c_total = reference units;
//   with a dictionary, words = post_process(dict.string(units)).split(): w_errors (= wv_errors,
//   no LM here), w_total. lprobs: (T, B, V); input_lengths: (B); tokens: (B, S) pad/eos-padded.
std::map<std::string, double> ctc_error_counts(const at::Tensor& lprobs,
                                               const at::Tensor& input_lengths,
                                               const at::Tensor& tokens,
                                               const CriterionContext& ctx,
                                               const std::string& post_process);

// fairseq's CTC criterion on net.ctc_logits (T, B, V) with net.ctc_lengths (all T when
// undefined) against targets.target:
//   loss = sum_b CTC(log_softmax(logits[:len_b, b]), target_b without pad/eos), blank from ctx
//   ntokens = targets.ntokens, else the number of target units;  sample_size = B with
//   sentence_avg, else ntokens.
// Stats: loss, ntokens, nsentences, sample_size; in eval mode also c_errors, c_total, w_errors,
//   wv_errors, w_total (greedy decoding).
// reduce_metrics: loss = sum loss / sum sample_size / ln 2 (3), ntokens, nsentences,
//   [nll_loss = sum loss / sum ntokens / ln 2 (3) when sample_size != ntokens],
//   [uer = 100 c_errors / c_total (3)], [wer = 100 w_errors / w_total, raw_wer (wv) (3)].
class CtcCriterion : public Criterion {
 public:
  CtcCriterion(const CtcOptions& options, const CriterionContext& ctx);

  LossOutput forward(const NetOutput& net, const CriterionTargets& targets) override;
  Stats reduce_scalars(const StatSums& summed) const override;
  Stats reduce_derived(const StatSums& summed) const override;
  static CriterionNeeds needs(const CtcOptions&) { return {/*decoder=*/false, /*ctc=*/true}; }

 private:
  CtcOptions options_;
  CriterionContext ctx_;
};

}  // namespace trellis
