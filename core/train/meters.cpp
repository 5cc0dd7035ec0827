#include "core/train/meters.h"

#include <cmath>

#include "core/distributed/communicator.h"
#include "core/interfaces/criterion.h"

namespace trellis {

void MeterWindow::reset() {
  sums_.clear();
  steps_ = 0;
  ntokens_ = nsentences_ = src_frames_ = padded_frames_ = 0;
  gnorm_sum_ = 0;
  gnorm_count_ = clipped_ = 0;
  train_wall_ = 0;
  comm_seconds_ = 0;
  wait_seconds_ = 0;
  data_seconds_ = 0;
  start_ = std::chrono::steady_clock::now();
}

void MeterWindow::add(const StepRecord& r) {
  for (const auto& [k, v] : r.stats) sums_[k] += v;
  ++steps_;
  ntokens_ += r.ntokens;
  nsentences_ += r.nsentences;
  src_frames_ += r.src_frames;
  padded_frames_ += r.padded_frames;
  if (r.gnorm) {
    gnorm_sum_ += *r.gnorm;
    ++gnorm_count_;
  }
  clipped_ += r.clipped ? 1 : 0;
  train_wall_ += r.seconds;
  comm_seconds_ += r.comm_seconds;
  wait_seconds_ += r.wait_seconds;
  data_seconds_ += r.data_seconds;
}

Stats MeterWindow::report(const Criterion& criterion, const ReportExtras& extras) const {
  Stats out = criterion.reduce_metrics(sums_);
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double steps = steps_ > 0 ? static_cast<double>(steps_) : NAN;
  out.push_back({"wps", elapsed > 0 ? ntokens_ / elapsed : 0.0, 1});
  out.push_back({"ups", elapsed > 0 ? steps_ / elapsed : 0.0, 2});
  out.push_back({"wpb", ntokens_ / steps, 1});
  out.push_back({"bsz", nsentences_ / steps, 1});
  if (padded_frames_ > 0)
    out.push_back({"pad", 100.0 * (padded_frames_ - src_frames_) / padded_frames_, 1});
  out.push_back({"num_updates", static_cast<double>(extras.num_updates), -1});
  if (extras.lr) out.push_back({"lr", *extras.lr, -1});
  if (gnorm_count_ > 0) out.push_back({"gnorm", gnorm_sum_ / gnorm_count_, 3});
  if (extras.show_clip && gnorm_count_ > 0)
    out.push_back({"clip", 100.0 * clipped_ / gnorm_count_, 1});
  if (extras.loss_scale) out.push_back({"loss_scale", *extras.loss_scale, 4});
  if (gnorm_count_ > 0) out.push_back({"train_wall", train_wall_, 0});
  if ((comm_seconds_ > 0 || wait_seconds_ > 0) && train_wall_ > 0) {
    out.push_back({"comm", 100.0 * comm_seconds_ / train_wall_, 1});
    out.push_back({"wait", 100.0 * wait_seconds_ / train_wall_, 1});
  }
  if (gnorm_count_ > 0 && train_wall_ > 0)
    out.push_back({"data", 100.0 * data_seconds_ / (data_seconds_ + train_wall_), 1});
  out.push_back({"wall", extras.wall, 0});
  return out;
}

std::map<std::string, double> MeterWindow::state() const {
  std::map<std::string, double> s;
  for (const auto& [k, v] : sums_) s["stat." + k] = v;
  s["steps"] = static_cast<double>(steps_);
  s["ntokens"] = ntokens_;
  s["nsentences"] = nsentences_;
  s["src_frames"] = src_frames_;
  s["padded_frames"] = padded_frames_;
  s["gnorm_sum"] = gnorm_sum_;
  s["gnorm_count"] = static_cast<double>(gnorm_count_);
  s["clipped"] = static_cast<double>(clipped_);
  s["train_wall"] = train_wall_;
  s["data_wait"] = data_seconds_;
  return s;
}

void MeterWindow::load(const std::map<std::string, double>& state) {
  reset();
  auto get = [&](const char* k) {
    auto it = state.find(k);
    return it == state.end() ? 0.0 : it->second;
  };
  for (const auto& [k, v] : state)
    if (k.rfind("stat.", 0) == 0) sums_[k.substr(5)] = v;
  steps_ = static_cast<int64_t>(get("steps"));
  ntokens_ = get("ntokens");
  nsentences_ = get("nsentences");
  src_frames_ = get("src_frames");
  padded_frames_ = get("padded_frames");
  gnorm_sum_ = get("gnorm_sum");
  gnorm_count_ = static_cast<int64_t>(get("gnorm_count"));
  clipped_ = static_cast<int64_t>(get("clipped"));
  train_wall_ = get("train_wall");
  data_seconds_ = get("data_wait");
}

void MeterWindow::all_reduce(Communicator& comm, const std::string& what) {
  auto s = state();
  const double wall = train_wall_, data = data_seconds_;
  const auto start = start_;
  s.erase("train_wall");
  s.erase("data_wait");
  comm.all_reduce_named(s, what);
  load(s);
  train_wall_ = wall;
  data_seconds_ = data;
  start_ = start;
}

std::optional<double> find_stat(const Stats& stats, const std::string& key) {
  for (const auto& s : stats)
    if (s.key == key) return s.value;
  return std::nullopt;
}

}  // namespace trellis
