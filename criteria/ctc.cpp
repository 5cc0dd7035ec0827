#include "criteria/ctc.h"

#include <torch/torch.h>

#include <cmath>
#include <mutex>
#include <set>

#include "core/data/dictionary.h"
#include "core/edit_distance.h"
#include "core/logging.h"

namespace trellis {

namespace {

const char* kInfeasibleRemedy =
    "Train with --zero-infinity to give them 0 loss and 0 gradient, or drop them from the "
    "manifest (prepare --ctc-subsampling N lists them; --skip-invalid-size-inputs-valid-test "
    "drops only samples over --max-source-positions / --max-target-positions, not these)";

// Names each infeasible utterance once per process in a warning (it recurs every epoch);
// returns the note for LossOutput::nonfinite_note naming all of them, every time.
std::string note_infeasible(const at::Tensor& input_lengths, const at::Tensor& tokens,
                            const at::Tensor& units, int64_t pad, int64_t eos,
                            const std::vector<std::string>* ids) {
  static const log::Logger logger("trellis.criterion");
  static std::mutex mutex;
  static std::set<std::string> warned;
  std::string listed;
  for (int64_t b : infeasible_ctc_rows(input_lengths, tokens, pad, eos)) {
    const bool named = ids != nullptr && b < static_cast<int64_t>(ids->size());
    const std::string who = named ? "'" + (*ids)[b] + "'" : fmt::format("batch row {}", b);
    const std::string what = fmt::format("{} ({} target units, {} frames after subsampling)", who,
                                         units[b].item<int64_t>(),
                                         input_lengths[b].item<int64_t>());
    listed += (listed.empty() ? "" : ", ") + what;
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (named && !warned.insert((*ids)[b]).second) continue;
    }
    logger.warn("ctc: utterance {}: no CTC alignment exists (a unit needs a frame, a repeated "
                "unit two) and its loss is infinite, which makes the whole update non-finite. {}",
                what, kInfeasibleRemedy);
  }
  if (listed.empty()) return "";
  return fmt::format("CTC-infeasible (target longer than the subsampled input): {}. {}", listed,
                     kInfeasibleRemedy);
}

}  // namespace

CtcTerms ctc_loss_sum(const at::Tensor& logits, const at::Tensor& input_lengths,
                      const at::Tensor& tokens, const at::Tensor& target_lengths, int64_t pad,
                      int64_t eos, int64_t blank, bool zero_infinity,
                      const std::vector<std::string>* ids) {
  TRELLIS_CHECK(logits.dim() == 3, Error, "ctc: logits must be (T, B, V), got {} dims",
                logits.dim());
  TRELLIS_CHECK(blank >= 0 && blank < logits.size(2), Error,
                "ctc: blank index {} outside the {} output units", blank, logits.size(2));
  CtcTerms t;
  t.lprobs = at::log_softmax(at_least_float32(logits), -1);  // (T, B, V)
  t.input_lengths = input_lengths.defined() ? input_lengths.to(at::kLong).cpu()
                                            : at::full({logits.size(1)}, logits.size(0), at::kLong);
  at::Tensor mask = tokens.ne(pad).logical_and(tokens.ne(eos));  // (B, S)
  at::Tensor flat = tokens.masked_select(mask);                  // (sum units)
  t.target_lengths = mask.sum(-1).to(at::kLong).cpu();           // (B)
  if (target_lengths.defined()) {
    TRELLIS_CHECK(target_lengths.to(at::kLong).cpu().equal(t.target_lengths), DataError,
                  "ctc: target lengths disagree with the non-pad, non-eos tokens of the targets");
  }
  t.loss = at::ctc_loss(t.lprobs, flat, t.input_lengths, t.target_lengths, blank,
                        at::Reduction::Sum, zero_infinity);
  if (!zero_infinity && !std::isfinite(t.loss.item<double>())) {
    t.nonfinite_note = note_infeasible(t.input_lengths, tokens, t.target_lengths, pad, eos, ids);
  }
  return t;
}

std::vector<int64_t> infeasible_ctc_rows(const at::Tensor& input_lengths, const at::Tensor& tokens,
                                         int64_t pad, int64_t eos) {
  at::Tensor tok = tokens.to(at::kLong).cpu().contiguous();  // (B, S)
  at::Tensor len = input_lengths.to(at::kLong).cpu();        // (B)
  std::vector<int64_t> out;
  for (int64_t b = 0; b < tok.size(0); ++b) {
    const int64_t* row = tok[b].data_ptr<int64_t>();
    int64_t needed = 0, prev = -1;
    for (int64_t i = 0; i < tok.size(1); ++i) {
      if (row[i] == pad || row[i] == eos) continue;
      needed += row[i] == prev ? 2 : 1;
      prev = row[i];
    }
    if (len[b].item<int64_t>() < needed) out.push_back(b);
  }
  return out;
}

std::vector<int64_t> ctc_greedy_decode(const at::Tensor& lprobs, int64_t blank) {
  at::Tensor best = lprobs.argmax(-1).cpu();  // (T)
  std::vector<int64_t> out;
  int64_t prev = -1;
  for (int64_t i = 0; i < best.size(0); ++i) {
    int64_t u = best[i].item<int64_t>();
    if (u != prev && u != blank) out.push_back(u);
    prev = u;
  }
  return out;
}

std::map<std::string, double> ctc_error_counts(const at::Tensor& lprobs,
                                               const at::Tensor& input_lengths,
                                               const at::Tensor& tokens,
                                               const CriterionContext& ctx,
                                               const std::string& post_process) {
  at::NoGradGuard no_grad;
  at::Tensor lp = lprobs.detach().to(at::kFloat).cpu().transpose(0, 1);  // (B, T, V)
  at::Tensor ref_tokens = tokens.cpu();
  int64_t c_err = 0, c_len = 0, w_err = 0, w_len = 0;
  for (int64_t b = 0; b < lp.size(0); ++b) {
    std::vector<int64_t> ref;
    at::Tensor row = ref_tokens[b];
    for (int64_t i = 0; i < row.size(0); ++i) {
      int64_t u = row[i].item<int64_t>();
      if (u != ctx.pad && u != ctx.eos) ref.push_back(u);
    }
    auto hyp = ctc_greedy_decode(lp[b].slice(0, 0, input_lengths[b].item<int64_t>()), ctx.blank);
    c_err += edit_distance(hyp, ref);
    c_len += static_cast<int64_t>(ref.size());
    if (ctx.ctc_dictionary != nullptr) {
      const Dictionary& d = *ctx.ctc_dictionary;
      auto ref_words = split_whitespace(trellis::post_process(d.string(ref), post_process));
      auto hyp_words = split_whitespace(trellis::post_process(d.string(hyp), post_process));
      w_err += edit_distance(hyp_words, ref_words);
      w_len += static_cast<int64_t>(ref_words.size());
    }
  }
  std::map<std::string, double> out{{"c_errors", c_err}, {"c_total", c_len}};
  if (ctx.ctc_dictionary != nullptr) {
    out["w_errors"] = w_err;
    out["wv_errors"] = w_err;
    out["w_total"] = w_len;
  }
  return out;
}

void CtcOptions::validate() const {
  TRELLIS_CHECK(
      post_process == "letter" || post_process == "sentencepiece" || post_process == "none",
      ConfigError, "--post-process: letter, sentencepiece or none (got '{}')", post_process);
}

CtcCriterion::CtcCriterion(const CtcOptions& options, const CriterionContext& ctx)
    : options_(options), ctx_(ctx) {
  options_.validate();
}

LossOutput CtcCriterion::forward(const NetOutput& net, const CriterionTargets& targets) {
  TRELLIS_CHECK(net.ctc_logits.defined(), Error, "ctc: the model produced no CTC logits");
  TRELLIS_CHECK(targets.target.defined(), Error, "ctc: no target");
  CtcTerms t = ctc_loss_sum(net.ctc_logits, net.ctc_lengths, targets.target, at::Tensor(), ctx_.pad,
                            ctx_.eos, ctx_.blank, options_.zero_infinity, targets.ids);
  const int64_t B = targets.target.size(0);
  const int64_t ntokens =
      targets.ntokens >= 0 ? targets.ntokens : t.target_lengths.sum().item<int64_t>();
  LossOutput out;
  out.loss = t.loss;
  out.nonfinite_note = t.nonfinite_note;
  out.sample_size = static_cast<double>(ctx_.sentence_avg ? B : ntokens);
  out.stats = {
      {"loss", t.loss.item<double>()},
      {"ntokens", static_cast<double>(ntokens)},
      {"nsentences", static_cast<double>(targets.nsentences >= 0 ? targets.nsentences : B)},
      {"sample_size", out.sample_size}};
  if (!is_training()) {
    for (const auto& [k, v] :
         ctc_error_counts(t.lprobs, t.input_lengths, targets.target, ctx_, options_.post_process))
      out.stats[k] = v;
  }
  return out;
}

Stats CtcCriterion::reduce_scalars(const StatSums& summed) const {
  const double loss = stat_sum(summed, "loss");
  const double ntokens = stat_sum(summed, "ntokens");
  const double sample_size = stat_sum(summed, "sample_size");
  Stats stats{{"loss", base2(loss, sample_size), 3},
              {"ntokens", ntokens, -1},
              {"nsentences", stat_sum(summed, "nsentences"), -1}};
  if (sample_size != ntokens) stats.push_back({"nll_loss", base2(loss, ntokens), 3});
  return stats;
}

Stats CtcCriterion::reduce_derived(const StatSums& summed) const {
  Stats stats;
  const double c_total = stat_sum(summed, "c_total");
  if (c_total > 0) stats.push_back({"uer", percent(stat_sum(summed, "c_errors"), c_total), 3});
  const double w_total = stat_sum(summed, "w_total");
  if (w_total > 0) {
    stats.push_back({"wer", percent(stat_sum(summed, "w_errors"), w_total), 3});
    stats.push_back({"raw_wer", percent(stat_sum(summed, "wv_errors"), w_total), 3});
  }
  return stats;
}

}  // namespace trellis

TRELLIS_REGISTER(trellis::criterion_registry(), "ctc", trellis::CtcCriterion, trellis::CtcOptions,
                 "connectionist temporal classification (fairseq's ctc; WER/UER in validation)");
