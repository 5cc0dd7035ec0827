#include "core/train/train_loop.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>

#include "core/error.h"
#include "core/logging.h"
#include "core/train/run_state.h"
#include "core/train/signals.h"
#include "core/train_options.h"
#include "core/interfaces/task.h"

namespace trellis {
namespace {

const log::Logger logger("trellis.train");

// What one epoch's batches become: --update-freq micro-batches per update.
int64_t update_freq_for(const OptimizationOptions& o, int64_t epoch) {
  const size_t i = std::min(static_cast<size_t>(epoch - 1), o.update_freq.size() - 1);
  return o.update_freq[i];
}

class TrainLoop {
 public:
  explicit TrainLoop(const Config& config) : run_(config) {}

  int run() {
    RunState& r = run_;
    const auto& opt = r.optimization();
    install_stop_signals();
    int64_t max_epoch = opt.max_epoch > 0 ? opt.max_epoch : INT64_MAX;
    if (opt.max_update > 0 && r.trainer().num_updates() >= opt.max_update) {
      // fairseq would run one more update; a finished job relaunched is left as it is.
      logger.info("nothing to train: {} updates already reach --max-update {}",
                  r.trainer().num_updates(), opt.max_update);
      restore_default_signals();
      return 0;
    }
    bool stop = false;
    while (!stop && r.iterator().next_epoch_idx() <= max_epoch) {
      if (r.trainer().lr() <= opt.stop_min_lr) {
        logger.info("stopping: the learning rate ({}) reached --stop-min-lr ({})",
                    r.trainer().lr(), opt.stop_min_lr);
        break;
      }
      stop = train_epoch();  // ends with the epoch's LR step (RunState::validate_and_save)
      if (stopped_) break;
    }
    restore_default_signals();
    if (stopped_) {
      // With several processes a rank may stop because another one got the signal.
      const int sig = stop_signal() != 0 ? stop_signal() : SIGTERM;
      logger.error("stopped by signal {} after update {}; {} - run the same command to resume",
                   sig, r.trainer().num_updates(),
                   r.checkpoint_options().no_save ? "--no-save: nothing saved"
                                                  : "checkpoint_last.pt saved");
      return 128 + sig;
    }
    logger.info("done training in {:.1f} seconds", r.training_seconds());
    return 0;
  }

 private:
  // One epoch; returns true when training must stop (max-update, patience).
  bool train_epoch() {
    RunState& r = run_;
    EpochBatchIterator& itr = r.iterator();
    const int64_t epoch = itr.next_epoch();
    const bool resumed_mid_epoch = itr.iterations_in_epoch() > 0;
    r.trainer().lr_step_begin_epoch(epoch);
    TRELLIS_CHECK(itr.epoch_size() > 0, DataError,
                  "epoch {}: the training subset has no batches (every sample was dropped by the "
                  "size filter, or the split is empty); check --max-tokens, "
                  "--max-source-positions and the task's minimum and maximum sizes",
                  epoch);
    const int64_t k = update_freq_for(r.optimization(), epoch);
    const int64_t total = (itr.epoch_size() + k - 1) / k;
    int64_t group_index = (itr.iterations_in_epoch() + k - 1) / k;
    logger.info("begin training epoch {}", epoch);
    auto batches = r.prefetch_train(itr.remaining(), epoch);
    r.begin_epoch(resumed_mid_epoch);
    r.epoch_meters().reset();
    r.inner_meters().reset();
    bool stop = false;
    while (!stop && itr.has_next()) {
      std::vector<BatchPtr> group;
      const auto wait_start = std::chrono::steady_clock::now();
      for (int64_t i = 0; i < k && itr.has_next(); ++i) {
        itr.next();
        group.push_back(*batches->next());
      }
      const double waited =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - wait_start).count();
      ++group_index;
      StepRecord rec = r.trainer().train_step(group, stop_signal() != 0);
      rec.data_seconds = waited;
      r.inner_meters().add(rec);
      r.epoch_meters().add(rec);
      const int64_t updates = r.trainer().num_updates();
      if (rec.gnorm && updates % r.common().log_interval == 0) {
        r.log_progress(r.inner_meters(), "train_inner", epoch, group_index, total);
        r.inner_meters().reset();
      } else {
        r.draw_bar(r.inner_meters(), epoch, group_index, total);
      }
      const bool end_of_epoch = !itr.has_next();
      stop = r.validate_and_save(end_of_epoch);
      if (rec.stop_requested) {
        stopped_ = true;
        r.save_last_on_signal();
        return true;
      }
    }
    r.log_progress(r.epoch_meters(), "train", epoch, 0, 0);
    return stop;
  }

  RunState run_;
  bool stopped_ = false;  // by a signal (on this rank or, distributed, on any)
};

}  // namespace

int run_training(const Config& config) {
  TrainLoop loop(config);
  return loop.run();
}

}  // namespace trellis
