#pragma once
// The training meters behind fairseq's progress lines (docs/training.md, "What is logged").
//
// A window (the log interval, the epoch, or one validation run) sums what each update adds:
// the criterion's summable stats, the batch sizes, gnorm, clipping and time. report() turns the
// sums into fairseq's values and order: the criterion's scalars and derived values, then
//   wps (target tokens / s), ups (updates / s), wpb (tokens per update), bsz (sentences per
//   update), pad (% padding frames), num_updates, lr, gnorm (mean), clip (% of clipped
//   updates), loss_scale, train_wall (s in train steps), comm (% of train_wall spent in the
//   gradient sums the backward did not hide) and wait (% spent waiting for slower ranks),
//   several processes only, data (% of train_wall + waiting spent waiting for
//   the data loader: its share of the step time), wall (s since the run started).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/progress.h"

namespace trellis {

class Communicator;
class Criterion;
using StatSums = std::map<std::string, double>;

// What one update (or one validation batch) adds to a window.
struct StepRecord {
  StatSums stats;             // the criterion's stats, summed over the micro-batches
  double ntokens = 0;         // target tokens
  double nsentences = 0;      // sentences
  double src_frames = 0;      // real source frames
  double padded_frames = 0;   // source frames including padding
  std::optional<double> gnorm;  // training only
  bool clipped = false;
  double seconds = 0;         // time spent in the step
  double comm_seconds = 0;    // of which waiting for gradient sums after the wait below
  double wait_seconds = 0;    // of which waiting for the other ranks to finish their batches
  double data_seconds = 0;    // waiting for the loader's batches before the step (not in seconds)
  bool stop_requested = false;  // a stop signal reached this rank (or any rank, distributed)
};

struct ReportExtras {
  int64_t num_updates = 0;
  std::optional<double> lr;
  bool show_clip = false;   // --clip-norm > 0
  std::optional<double> loss_scale;
  double wall = 0;          // seconds since the run started
};

class MeterWindow {
 public:
  MeterWindow() { reset(); }
  void reset();
  void add(const StepRecord& r);
  int64_t steps() const { return steps_; }
  const StatSums& sums() const { return sums_; }
  // criterion: reduces the stat sums (fairseq's reduce_metrics).
  Stats report(const Criterion& criterion, const ReportExtras& extras) const;
  // Named sums, for checkpoints (fairseq saves its meters); load() restores them.
  std::map<std::string, double> state() const;
  void load(const std::map<std::string, double>& state);
  // Sums the window over the ranks (validation); train_wall and the clock stay this rank's.
  void all_reduce(Communicator& comm, const std::string& what);

 private:
  StatSums sums_;
  int64_t steps_ = 0;
  double ntokens_ = 0, nsentences_ = 0, src_frames_ = 0, padded_frames_ = 0;
  double gnorm_sum_ = 0;
  int64_t gnorm_count_ = 0, clipped_ = 0;
  double train_wall_ = 0, comm_seconds_ = 0, wait_seconds_ = 0, data_seconds_ = 0;
  std::chrono::steady_clock::time_point start_;
};

// Looks `key` up in reported stats; nullopt when absent.
std::optional<double> find_stat(const Stats& stats, const std::string& key);

}  // namespace trellis
