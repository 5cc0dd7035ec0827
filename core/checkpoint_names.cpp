// Checkpoint file names and retention (fairseq's save_checkpoint; docs/training.md):
//   checkpoint{E}.pt          end of epoch, epoch % --save-interval == 0, not --no-epoch-checkpoints
//   checkpoint_{E}_{U}.pt     mid-epoch, U % --save-interval-updates == 0
//   checkpoint_best.pt        validated and the value equals or beats the best so far
//   checkpoint.best_{metric}_{value:.2f}.pt   the same, with --keep-best-checkpoints N > 0
//   checkpoint_last.pt        always, unless --no-last-checkpoints
// Retention after a save: --keep-interval-updates N keeps the N newest checkpoint_E_U.pt (by U,
// on mid-epoch saves only, as fairseq), --keep-last-epochs N the N highest checkpointE.pt,
// --keep-best-checkpoints N the N best checkpoint.best_*.pt.
#include <fmt/format.h>

#include <algorithm>
#include <regex>
#include <utility>

#include "core/checkpoint.h"

namespace trellis {
namespace {

// The names in `existing` matching `pattern`, sorted by the captured number, largest first
// (fairseq's checkpoint_paths).
std::vector<std::string> matching(const std::vector<std::string>& existing,
                                  const std::string& pattern) {
  const std::regex re(pattern);
  std::vector<std::pair<double, std::string>> found;
  for (const auto& name : existing) {
    std::smatch m;
    if (std::regex_match(name, m, re)) found.emplace_back(std::stod(m[1].str()), name);
  }
  std::stable_sort(found.begin(), found.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

std::string regex_escape(const std::string& s) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(s, special, R"(\$&)");
}

}  // namespace

std::vector<std::string> checkpoint_names(const SaveRequest& r, const CheckpointNaming& n) {
  std::vector<std::string> names;
  if (r.end_of_epoch && !n.no_epoch_checkpoints && n.save_interval > 0 &&
      r.epoch % n.save_interval == 0)
    names.push_back(fmt::format("checkpoint{}.pt", r.epoch));
  if (!r.end_of_epoch && n.save_interval_updates > 0 &&
      r.num_updates % n.save_interval_updates == 0)
    names.push_back(fmt::format("checkpoint_{}_{}.pt", r.epoch, r.num_updates));
  if (r.val && r.is_best) names.push_back("checkpoint_best.pt");
  if (r.val && r.is_best && n.keep_best_checkpoints > 0)
    names.push_back(fmt::format("checkpoint.best_{}_{:.2f}.pt", n.best_checkpoint_metric, *r.val));
  if (!n.no_last_checkpoints) names.push_back("checkpoint_last.pt");
  return names;
}

std::vector<std::string> checkpoints_to_remove(const std::vector<std::string>& existing,
                                               const SaveRequest& r, const CheckpointNaming& n) {
  std::vector<std::string> out;
  auto drop_after = [&](std::vector<std::string> names, int64_t keep) {
    for (size_t i = static_cast<size_t>(keep); i < names.size(); ++i) out.push_back(names[i]);
  };
  if (!r.end_of_epoch && n.keep_interval_updates > 0)
    drop_after(matching(existing, R"(checkpoint_\d+_(\d+)\.pt)"), n.keep_interval_updates);
  if (n.keep_last_epochs > 0)
    drop_after(matching(existing, R"(checkpoint(\d+)\.pt)"), n.keep_last_epochs);
  if (n.keep_best_checkpoints > 0) {
    auto best = matching(existing, "checkpoint\\.best_" + regex_escape(n.best_checkpoint_metric) +
                                       R"(_(\d+\.?\d*)\.pt)");
    if (!n.maximize_best_checkpoint_metric) std::reverse(best.begin(), best.end());
    drop_after(best, n.keep_best_checkpoints);
  }
  return out;
}

}  // namespace trellis
