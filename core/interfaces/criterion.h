#pragma once
// Criteria (--criterion): turn a model's output on a batch into a summed loss and summable stats
// (fairseq's FairseqCriterion; docs/criteria.md, "How the trainer drives them"). The built-in
// criteria are listed by `train --help` and described in docs/criteria.md and docs/ssl.md; the
// engine names none of them.
//
// Protocol, per micro-batch:
//   LossOutput out = criterion.forward(net, targets);   // loss: SUM over the batch
//   trainer: backward(out.loss); gradients are divided by the update's summed sample_size;
//   stats of every micro-batch, worker and log window are summed key by key, then
//   criterion.reduce_metrics(summed) gives what fairseq logs (loss in base 2, ppl, wer, ...).
// Stats are always sums or counts (never means), so summing them is the only aggregation.

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <vector>

#include "core/interfaces/criterion_needs.h"
#include "core/progress.h"
#include "core/registry.h"

namespace trellis {

class Dictionary;

// What a model produced on a batch (filled by the trainer from ModelOutput).
struct NetOutput {
  at::Tensor decoder_logits;  // (B, L, V_tgt) float, batch-first; undefined for CTC-only models
  at::Tensor ctc_logits;      // (T, B, V_src) float, time-major (CTC layer, before compression)
  at::Tensor ctc_lengths;     // (B) int64, valid frames of ctc_logits
  // Named outputs of models trained without text (fairseq's net_output dict). Masked token
  // prediction (core/interfaces/masked_token_model.h) fills "log_probs" (B, T', C, G),
  // "targets" (B, T', G) int64, "frame_masks" (B, T) float and "lengths" (B) int64.
  std::map<std::string, at::Tensor> outputs;
  int64_t combine_time_steps = 1;  // masked token prediction: input frames per output position
};

// The reference side of a batch (filled by the trainer from the task's batch).
struct CriterionTargets {
  at::Tensor target;              // (B, L) int64, right-padded with pad, eos last
  at::Tensor target_lengths;      // (B) int64, tokens per row including eos (and a lang tag)
  at::Tensor transcript;          // (B, S) int64 source transcript (ctc_multi_loss), pad/eos
  at::Tensor transcript_lengths;  // (B) int64, including eos
  int64_t ntokens = -1;           // fairseq's sample["ntokens"]; -1 = sum of target_lengths
  int64_t nsentences = -1;        // -1 = B
  const std::vector<std::string>* ids = nullptr;  // (B) sample ids, for messages; may be null
};

struct LossOutput {
  at::Tensor loss;                      // () float, summed over the batch, differentiable
  double sample_size = 0.0;             // the gradient denominator's share of this batch
  std::map<std::string, double> stats;  // summable: loss, nll_loss, ntokens, nsentences, ...
  // When the loss is not finite and the criterion knows why (e.g. samples for which the loss
  // is infinite by construction): which samples and the remedy. The trainer's "update
  // skipped" warning repeats it.
  std::string nonfinite_note;
};

using StatSums = std::map<std::string, double>;

// What a criterion needs besides its own options.
struct CriterionContext {
  int64_t pad = 1;    // padding index (fairseq dictionaries: 1 in source and target alike)
  int64_t eos = 2;    // end-of-sentence index (2)
  int64_t blank = 0;  // CTC blank: "<ctc_blank>" of the source dictionary (ctc_multi_loss), or
                      // the task's blank symbol (fairseq's audio tasks: "<s>" = 0)
  bool sentence_avg = false;  // --sentence-avg: sample_size = sentences instead of tokens
  // Dictionary of the CTC units, for the word-level WER of `ctc` in validation; null = no WER
  // (unit error rate only). Not owned; must outlive the criterion.
  const Dictionary* ctc_dictionary = nullptr;
  // Resolved options of the component named by --underlying-criterion (the parser's Config
  // group "underlying_criterion"); null = that criterion's defaults. Not owned.
  const AnyOptions* underlying_options = nullptr;
};

class Criterion {
 public:
  virtual ~Criterion() = default;

  // net/targets as documented on the structs -> summed loss, sample size, stats.
  virtual LossOutput forward(const NetOutput& net, const CriterionTargets& targets) = 0;
  // summed: stats summed over micro-batches/workers -> fairseq's logged values, in its order:
  // scalars (fairseq's log_scalar, priority 10) then derived values (log_derived, priority 20).
  Stats reduce_metrics(const StatSums& summed) const;
  virtual Stats reduce_scalars(const StatSums& summed) const = 0;
  virtual Stats reduce_derived(const StatSums& summed) const {
    (void)summed;
    return {};
  }

  // fairseq's criterion.train()/eval(): validation-only stats (e.g. WER) run in eval mode.
  virtual void train(bool on = true) { training_ = on; }
  void eval() { train(false); }
  bool is_training() const { return training_; }

 protected:
  bool training_ = true;
};

// The criterion registry also keeps what each criterion needs (CriterionNeeds), so that a task
// is built for its criterion before the criterion exists (the dictionaries size the model).
class CriterionRegistry : public Registry<Criterion, const CriterionContext&> {
 public:
  using NeedsFn = std::function<CriterionNeeds(const AnyOptions&)>;
  using Registry::Registry;
  void add(RegistryEntryInfo info, Factory factory, NeedsFn needs);
  // What criterion `name` with its resolved `options` needs; ConfigError for unknown names.
  CriterionNeeds needs(const std::string& name, const AnyOptions& options) const;

 private:
  std::map<std::string, NeedsFn> needs_;
};
CriterionRegistry& criterion_registry();

namespace detail {
template <class C, class O, class = void>
struct HasNeeds : std::false_type {};
template <class C, class O>
struct HasNeeds<C, O, std::void_t<decltype(C::needs(std::declval<const O&>()))>>
    : std::true_type {};
}  // namespace detail

// TRELLIS_REGISTER(criterion_registry(), ...) lands here: a criterion class declares its needs
// with `static CriterionNeeds needs(const Options&)`; without one it gets CriterionNeeds{}.
template <class Class, class Options>
int make_registrar(CriterionRegistry& r, const char* name, const char* help, const char* file,
                   int line) {
  CriterionRegistry::NeedsFn needs = [](const AnyOptions& o) {
    if constexpr (detail::HasNeeds<Class, Options>::value) return Class::needs(o.as<Options>());
    else return CriterionNeeds{};
  };
  r.add(RegistryEntryInfo{name, help, registration_origin(file, line),
                          [] { return AnyOptions::make<Options>(); }, ""},
        [](const AnyOptions& o, const CriterionContext& ctx) -> std::unique_ptr<Criterion> {
          return std::make_unique<Class>(o.as<Options>(), ctx);
        },
        std::move(needs));
  return 0;
}

// Helpers shared by the criteria --------------------------------------------------------------

// summed[key], 0 when absent.
double stat_sum(const StatSums& summed, const std::string& key);
// num / den / ln 2 (fairseq's base-2 losses); NaN when den is 0.
double base2(double num, double den);
// 100 * num / den rounded to 3 decimals (fairseq's accuracy, wer, uer); NaN when den is 0.
double percent(double num, double den);
// x: any float tensor -> the same values in float32, or float64 when x is float64.
at::Tensor at_least_float32(const at::Tensor& x);

}  // namespace trellis
