#include "core/train/trainer.h"

#include <ATen/autocast_mode.h>
#include <ATen/record_function.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>

#include "core/distributed/communicator.h"
#include "core/distributed/grad_reducer.h"
#include "core/error.h"
#include "core/logging.h"
#include "core/interfaces/criterion.h"
#include "core/interfaces/model.h"
#include "core/interfaces/lr_scheduler.h"
#include "core/interfaces/optimizer.h"
#include "core/interfaces/task.h"

namespace trellis {
namespace {

// "; the micro-batch ... holds utterances 'a', 'b' (and N more). NOTE" for the "update
// skipped" warning (ids: the batch's, at most 8 shown; note: the criterion's, or the usual
// causes).
std::string describe_nonfinite(const std::vector<std::string>& ids, const std::string& note) {
  if (ids.empty() && note.empty()) return "";
  std::string s = "; the micro-batch with the non-finite loss holds ";
  const size_t shown = std::min<size_t>(ids.size(), 8);
  for (size_t i = 0; i < shown; ++i) s += (i ? ", '" : "utterances '") + ids[i] + "'";
  if (ids.size() > shown) s += fmt::format(" (and {} more)", ids.size() - shown);
  if (ids.empty()) s += "samples without ids";
  return s + ". " + (note.empty() ? "A sample the loss cannot be computed for, or a diverging "
                                    "model (lower --lr, set --clip-norm)"
                                  : note);
}

const log::Logger logger("trellis.trainer");

// CPU autocast to bfloat16 for the scope's lifetime (torch.autocast("cpu", torch.bfloat16)).
class CpuAutocast {
 public:
  explicit CpuAutocast(bool on) : on_(on) {
    if (!on_) return;
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::increment_nesting();
  }
  ~CpuAutocast() {
    if (!on_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_cpu_enabled(false);
  }

 private:
  bool on_;
};

StepRecord batch_record(const TaskBatch& b) {
  StepRecord r;
  r.ntokens = static_cast<double>(b.ntokens);
  r.nsentences = static_cast<double>(b.size());
  r.src_frames = static_cast<double>(b.src_frames);
  r.padded_frames = static_cast<double>(b.padded_frames);
  return r;
}

void add_stats(StepRecord& into, const StepRecord& from) {
  for (const auto& [k, v] : from.stats) into.stats[k] += v;
  into.ntokens += from.ntokens;
  into.nsentences += from.nsentences;
  into.src_frames += from.src_frames;
  into.padded_frames += from.padded_frames;
}

}  // namespace

Trainer::Trainer(Task& task, Model& model, Criterion& criterion, Optimizer& optimizer,
                 LrScheduler& scheduler, TrainerOptions options)
    : task_(task),
      model_(model),
      criterion_(criterion),
      optimizer_(optimizer),
      scheduler_(scheduler),
      options_(options) {
  if (options_.comm != nullptr) {
    reducer_ = std::make_unique<GradReducer>(*options_.comm, optimizer_.params(),
                                             options_.bucket_cap_mb);
    logger.info("gradients summed in {} bucket(s) of at most {} MiB (the first at most 1 MiB), "
                "{} the backward pass",
                reducer_->num_buckets(), options_.bucket_cap_mb,
                options_.overlap_grad_reduce ? "overlapped with" : "after");
  }
}

Trainer::~Trainer() = default;

StepRecord Trainer::train_step(const std::vector<BatchPtr>& group, bool stop_asked) {
  const auto start = std::chrono::steady_clock::now();
  torch::manual_seed(options_.seed + static_cast<uint64_t>(num_updates_));
  model_.train();
  criterion_.train();
  optimizer_.zero_grad();

  StepRecord record;
  double sample_size = 0.0;
  bool finite_loss = true;
  std::string nonfinite_where;  // the utterances of the micro-batch, and the criterion's note
  const bool overlap = reducer_ && options_.overlap_grad_reduce;
  for (size_t index = 0; index < group.size(); ++index) {
    const BatchPtr& real = group[index];
    // The gradient buckets are summed while the last micro-batch's backward runs, on every rank
    // (each runs the same number of micro-batches), whatever its loss.
    if (overlap && index + 1 == group.size()) reducer_->prepare_for_backward();
    // An empty micro-batch: nothing to do alone; with other ranks, the dummy batch at weight 0
    // keeps the collectives (and the logged names) the same on every rank.
    const bool dummy = real == nullptr || real->empty();
    if (dummy && (options_.comm == nullptr || !dummy_)) continue;
    const TaskBatch& batch = dummy ? *dummy_ : *real;
    LossOutput out;
    {
      RECORD_USER_SCOPE("trellis::forward");  // profiler scopes: bench/profile_train_step.py
      CpuAutocast autocast(options_.bf16);
      out = task_.forward(model_, criterion_, batch);
    }
    const double loss = out.loss.item<double>();
    if (dummy || !std::isfinite(loss)) {
      for (const auto& [k, v] : out.stats) record.stats[k] += 0.0;  // the names, not the values
      if (dummy) {
        out.loss.mul(0.0).backward();
        continue;
      }
      finite_loss = false;
      nonfinite_where = describe_nonfinite(batch.ids, out.nonfinite_note);
      // With other ranks the backward and the remaining micro-batches still run (the update is
      // skipped on every rank), so collectives inside the model (SyncBatchNorm) stay paired.
      if (options_.comm == nullptr) break;
      out.loss.mul(0.0).backward();
      continue;
    }
    {
      RECORD_USER_SCOPE("trellis::backward");
      out.loss.backward();
    }
    StepRecord r = batch_record(batch);
    r.stats = out.stats;
    add_stats(record, r);
    sample_size += out.sample_size;
  }
  record.stop_requested = stop_asked;
  // First the statistics' all-reduce, which every rank enters when its own micro-batches are
  // done: the time in it is the wait for the slowest rank (wait_seconds). Then what is left of
  // the gradient sums (on their own process group, started during the backward when
  // overlapped): the communication the backward did not hide (comm_seconds).
  const auto wait_start = std::chrono::steady_clock::now();
  if (options_.comm != nullptr)
    all_reduce_record(record, &sample_size, &finite_loss, &record.stop_requested);
  const auto comm_start = std::chrono::steady_clock::now();
  if (reducer_ && (overlap || finite_loss)) {  // overlapped: finished on every rank, maybe dropped
    RECORD_USER_SCOPE("trellis::all_reduce");
    reducer_->all_reduce();
  }
  if (options_.comm != nullptr) {
    const auto end = std::chrono::steady_clock::now();
    record.wait_seconds = std::chrono::duration<double>(comm_start - wait_start).count();
    record.comm_seconds = std::chrono::duration<double>(end - comm_start).count();
  }

  bool clipped = false;
  double grad_scale = 1.0;
  const double gnorm = finite_loss ? normalize_and_clip(sample_size, &clipped, &grad_scale) : NAN;
  record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!std::isfinite(gnorm)) {
    optimizer_.zero_grad();
    ++nonfinite_in_a_row_;
    logger.warn("update {} skipped: non-finite {} ({} in a row; the limit is {}){}",
                num_updates_ + 1, finite_loss ? "gradient norm" : "loss", nonfinite_in_a_row_,
                options_.max_nonfinite_updates, nonfinite_where);
    TRELLIS_CHECK(nonfinite_in_a_row_ <= options_.max_nonfinite_updates, Error,
                  "{} updates in a row had a non-finite loss or gradient (update {}): the model "
                  "diverged. Lower --lr, raise --warmup-updates or set --clip-norm; "
                  "--max-nonfinite-updates sets the limit",
                  nonfinite_in_a_row_, num_updates_ + 1);
    record.stats.clear();
    return record;
  }
  nonfinite_in_a_row_ = 0;
  {
    RECORD_USER_SCOPE("trellis::optimizer_step");
    optimizer_.step_with_scale(grad_scale);
  }
  set_num_updates(num_updates_ + 1);
  record.gnorm = gnorm;
  record.clipped = clipped;
  return record;
}

void Trainer::all_reduce_record(StepRecord& r, double* sample_size, bool* finite, bool* stop) {
  std::map<std::string, double> v;
  for (const auto& [k, x] : r.stats) v["stat." + k] = x;
  v["sample_size"] = *sample_size;
  v["nonfinite"] = *finite ? 0.0 : 1.0;
  v["stop"] = *stop ? 1.0 : 0.0;
  v["ntokens"] = r.ntokens;
  v["nsentences"] = r.nsentences;
  v["src_frames"] = r.src_frames;
  v["padded_frames"] = r.padded_frames;
  options_.comm->all_reduce_named(v, "the all-reduce of the update's statistics");
  for (auto& [k, x] : r.stats) x = v.at("stat." + k);
  *sample_size = v.at("sample_size");
  *finite = v.at("nonfinite") == 0.0;
  *stop = v.at("stop") > 0.0;
  r.ntokens = v.at("ntokens");
  r.nsentences = v.at("nsentences");
  r.src_frames = v.at("src_frames");
  r.padded_frames = v.at("padded_frames");
}

double Trainer::normalize_and_clip(double sample_size, bool* clipped, double* grad_scale) {
  RECORD_USER_SCOPE("trellis::clip_grad_norm");
  const double denom = sample_size > 0 ? sample_size : 1.0;
  *grad_scale = 1.0 / denom;
  std::vector<at::Tensor> norms;  // fairseq: the L2 norm of the per-tensor L2 norms, in fp32
  at::NoGradGuard no_grad;
  for (const auto& p : optimizer_.params())
    if (p.grad().defined()) norms.push_back(p.grad().to(at::kFloat).norm());
  if (norms.empty()) return 0.0;
  // The norm of the gradients divided by the sample size, without writing them: the optimizer
  // applies the division and the clipping coefficient in its own pass (step_with_scale).
  const double gnorm = at::stack(norms).norm().item<double>() / denom;
  if (options_.clip_norm > 0 && std::isfinite(gnorm)) {
    const double coef = std::min(1.0, options_.clip_norm / (gnorm + 1e-6));
    *clipped = gnorm > options_.clip_norm;
    *grad_scale *= coef;
  }
  return gnorm;
}

StepRecord Trainer::valid_step(const TaskBatch& batch) {
  const auto start = std::chrono::steady_clock::now();
  model_.eval();
  criterion_.eval();
  at::NoGradGuard no_grad;
  StepRecord r = batch_record(batch);
  if (batch.empty()) return r;
  LossOutput out;
  {
    CpuAutocast autocast(options_.bf16);
    out = task_.forward(model_, criterion_, batch);
  }
  r.stats = out.stats;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

void Trainer::set_num_updates(int64_t n) {
  num_updates_ = n;
  model_.set_num_updates(n);
  apply_lr(scheduler_.step_update(n));
}

double Trainer::lr() const { return optimizer_.lr(); }

void Trainer::lr_step_begin_epoch(int64_t epoch) {
  scheduler_.step_begin_epoch(epoch);
  apply_lr(scheduler_.step_update(num_updates_));
}

void Trainer::lr_step(int64_t epoch, std::optional<double> val_loss) {
  scheduler_.step(epoch, val_loss);
  apply_lr(scheduler_.step_update(num_updates_));
}

void Trainer::apply_lr(double lr) {
  optimizer_.set_lr(lr);
  if (auto m = scheduler_.momentum()) optimizer_.set_momentum(*m);
}

}  // namespace trellis
