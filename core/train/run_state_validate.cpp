// RunState: fairseq's validate_and_save, validation of every --valid-subset (sharded and
// reduced with several processes), early stopping, and the progress lines (also appended to
// save_dir/metrics.jsonl). Building is in run_state.cpp, checkpoints in run_state_checkpoint.cpp.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/cli_parser.h"
#include "core/distributed/communicator.h"
#include "core/error.h"
#include "core/logging.h"
#include "core/train/run_state.h"
#include "core/train_options.h"
#include "core/interfaces/criterion.h"
#include "core/interfaces/model.h"
#include "core/interfaces/task.h"

namespace trellis {
namespace {

const log::Logger logger("trellis.train");

}  // namespace

void RunState::begin_epoch(bool resumed_mid_epoch) {
  if (!resumed_mid_epoch) epoch_valid_.reset();
}

bool RunState::validate_and_save(bool end_of_epoch) {
  const auto& opt = optimization();
  const auto& ck = checkpoint_options();
  const auto& data = config_.get<DatasetOptions>("dataset");
  const int64_t updates = trainer_->num_updates();
  const int64_t epoch = iterator_->epoch();
  const bool max_reached = opt.max_update > 0 && updates >= opt.max_update;
  const bool do_save =
      (end_of_epoch && epoch % ck.save_interval == 0) || max_reached ||
      (ck.save_interval_updates > 0 && updates > 0 && updates % ck.save_interval_updates == 0);
  const bool do_validate =
      ((!end_of_epoch && do_save) || (end_of_epoch && epoch % data.validate_interval == 0) ||
       max_reached ||
       (data.validate_interval_updates > 0 && updates > 0 &&
        updates % data.validate_interval_updates == 0)) &&
      !valid_splits_.empty();
  std::optional<double> val;
  if (do_validate) {
    val = validate_all().front();
    epoch_valid_ = val;
  }
  const bool early = should_stop_early(val);
  // Also when training stops here: a relaunch with a higher --max-update resumes from this
  // checkpoint as if the run had gone on.
  if (end_of_epoch) trainer_->lr_step(epoch, epoch_valid_);
  if (do_save || early) save(end_of_epoch, val);
  if (max_reached) logger.info("stopping: --max-update {} reached", opt.max_update);
  return early || max_reached;
}

bool RunState::should_stop_early(std::optional<double> value) {
  const auto& ck = checkpoint_options();
  if (!value) return false;
  if (!best_ || better(*value, *best_)) {
    best_ = value;
    patience_runs_ = 0;
    return false;
  }
  ++patience_runs_;
  if (ck.patience > 0 && patience_runs_ >= ck.patience) {
    logger.info("early stop since valid performance hasn't improved for last {} runs "
                "(best {} = {})",
                ck.patience, ck.best_checkpoint_metric, *best_);
    return true;
  }
  return false;
}

bool RunState::better(double a, double b) const {
  return checkpoint_options().maximize_best_checkpoint_metric ? a > b : a < b;
}

std::vector<double> RunState::validate_all() {
  if (comm_) {
    // Every rank validates with rank 0's BatchNorm statistics (DDP's broadcast_buffers).
    torch::NoGradGuard no_grad;
    std::vector<at::Tensor> buffers;
    for (const auto& b : model_->buffers()) buffers.push_back(b);
    comm_->broadcast(buffers, 0, "the broadcast of rank 0's buffers");
  }
  std::vector<double> out;
  for (const auto& v : valid_splits_) out.push_back(validate(v));
  return out;
}

double RunState::validate(const std::string& subset) {
  const auto& ck = checkpoint_options();
  const auto& data = config_.get<DatasetOptions>("dataset");
  MeterWindow meters;
  Task* task = task_.get();
  Prefetcher<BatchPtr> batches(
      valid_batches_.at(subset),
      [task, subset](const Batch& b) { return task->collate(subset, b, 0); },
      static_cast<int>(data.num_workers), static_cast<size_t>(data.data_buffer_size));
  while (auto b = batches.next()) {
    if ((*b)->empty() && valid_dummies_.count(subset)) {
      // The end of an uneven shard: the dummy batch gives this rank the criterion's names.
      StepRecord r = trainer_->valid_step(*valid_dummies_.at(subset));
      for (auto& [k, v] : r.stats) v = 0.0;
      r.ntokens = r.nsentences = r.src_frames = r.padded_frames = 0;
      meters.add(r);
    } else {
      meters.add(trainer_->valid_step(**b));
    }
  }
  if (comm_) meters.all_reduce(*comm_, "the all-reduce of the validation on " + subset);
  ReportExtras ex = extras();
  ex.lr.reset();
  Stats stats = meters.report(*criterion_, ex);
  stats.erase(std::remove_if(stats.begin(), stats.end(),
                             [](const Stat& s) { return s.key == "ups" || s.key == "wall"; }),
              stats.end());
  const std::string& metric = ck.best_checkpoint_metric;
  auto value = find_stat(stats, metric);
  if (!value) {
    std::string keys;
    for (const auto& s : stats) keys += (keys.empty() ? "" : ", ") + s.key;
    throw ConfigError(fmt::format("--best-checkpoint-metric {} is not among the validation "
                                  "metrics of this criterion: {}",
                                  metric, keys));
  }
  double best = best_ ? (better(*value, *best_) ? *value : *best_) : *value;
  stats.push_back({"best_" + metric, best, 3});
  log_stats(stats, subset, iterator_->epoch(), 0, 0, /*validation=*/true);
  return *value;
}

ReportExtras RunState::extras() const {
  ReportExtras ex;
  ex.num_updates = trainer_->num_updates();
  ex.lr = trainer_->lr();
  ex.show_clip = optimization().clip_norm > 0;
  ex.wall = training_seconds();
  return ex;
}

void RunState::log_progress(const MeterWindow& meters, const std::string& tag, int64_t epoch,
                            int64_t update, int64_t total) {
  if (meters.steps() == 0) return;
  log_stats(meters.report(*criterion_, extras()), tag, epoch, update, total);
}

void RunState::log_stats(const Stats& stats, const std::string& tag, int64_t epoch,
                         int64_t update, int64_t total, bool validation) {
  if (bar_drawn_) {
    std::cerr << "\n";
    bar_drawn_ = false;
  }
  const std::string line = tag == "train_inner"
                               ? progress_->inner_line(stats, epoch, update, total)
                               : progress_->summary_line(stats, epoch, tag, validation);
  if (!line.empty()) log::write(log::Level::kInfo, tag, line);
  if (metrics_jsonl_.is_open()) {
    nlohmann::ordered_json j;
    j["tag"] = tag;
    j["epoch"] = epoch;
    if (validation) j["valid"] = true;
    for (const auto& s : stats) j[s.key] = std::isfinite(s.value) ? s.value : 0.0;
    metrics_jsonl_ << j.dump() << "\n";
    metrics_jsonl_.flush();
  }
}

void RunState::draw_bar(const MeterWindow& meters, int64_t epoch, int64_t update,
                        int64_t total) {
  if (progress_->format() != "tqdm" || meters.steps() == 0 || !is_master()) return;
  std::cerr << "\r" << progress_->bar(meters.report(*criterion_, extras()), epoch, update, total)
            << std::flush;
  bar_drawn_ = true;
}

}  // namespace trellis
