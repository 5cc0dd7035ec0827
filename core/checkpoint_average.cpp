// Checkpoint averaging (fairseq's scripts/average_checkpoints.py): which files, and the mean.
#include "core/checkpoint_average.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <tuple>
#include <utility>

#include "core/error.h"

namespace trellis {
namespace {

namespace fs = std::filesystem;

// "a, b, c and 4 more": at most `limit` names.
std::string list_names(const std::vector<std::string>& names, size_t limit = 8) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < limit; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > limit) out += fmt::format(" and {} more", names.size() - limit);
  return out;
}

std::string shape_of(const at::Tensor& t) {
  std::string out = "[";
  for (int64_t i = 0; i < t.dim(); ++i) out += (i ? ", " : "") + std::to_string(t.size(i));
  return out + "]";
}

// The dtype a tensor is summed in: float16/bfloat16 -> float32 (fairseq upcasts fp16), integers
// and bool -> int64, float32/float64/complex unchanged.
c10::ScalarType sum_type(c10::ScalarType t) {
  if (t == c10::kHalf || t == c10::kBFloat16) return c10::kFloat;
  if (c10::isIntegralType(t, /*includeBool=*/true)) return c10::kLong;
  return t;
}

}  // namespace

void AverageCheckpointsOptions::validate() const {
  TRELLIS_CHECK(!(num_epoch_checkpoints && num_update_checkpoints), ConfigError,
                "--num-epoch-checkpoints excludes --num-update-checkpoints");
  TRELLIS_CHECK(!checkpoint_upper_bound || num_epoch_checkpoints || num_update_checkpoints,
                ConfigError,
                "--checkpoint-upper-bound requires --num-epoch-checkpoints or "
                "--num-update-checkpoints");
}

std::vector<std::string> checkpoints_to_average(const AverageCheckpointsOptions& o) {
  o.validate();
  TRELLIS_CHECK(!o.inputs.empty(), ConfigError, "--inputs is required");
  TRELLIS_CHECK(!o.output.empty(), ConfigError, "--output is required");
  const std::optional<int64_t> count =
      o.num_epoch_checkpoints ? o.num_epoch_checkpoints : o.num_update_checkpoints;
  const char* count_flag =
      o.num_epoch_checkpoints ? "--num-epoch-checkpoints" : "--num-update-checkpoints";
  std::vector<std::string> paths = o.inputs;
  if (count) {
    TRELLIS_CHECK(o.inputs.size() == 1 && fs::is_directory(o.inputs[0]), ConfigError,
                  "{} needs --inputs to be one folder (got {})", count_flag,
                  o.inputs.size() == 1 ? o.inputs[0] + ", not a folder"
                                       : std::to_string(o.inputs.size()) + " paths");
    TRELLIS_CHECK(*count > 0, ConfigError, "{} must be at least 1", count_flag);
    paths = select_checkpoints(o.inputs[0], o.num_epoch_checkpoints.value_or(0),
                               o.num_update_checkpoints.value_or(0), o.checkpoint_upper_bound);
  } else {
    for (const auto& p : o.inputs)
      TRELLIS_CHECK(!fs::is_directory(p), ConfigError,
                    "--inputs {} is a folder: add --num-epoch-checkpoints N or "
                    "--num-update-checkpoints N to average its last N checkpoints",
                    p);
  }
  TRELLIS_CHECK(!fs::is_directory(o.output), ConfigError, "--output {} is a folder", o.output);
  return paths;
}

std::vector<std::string> select_checkpoints(const std::string& dir, int64_t num_epoch_checkpoints,
                                            int64_t num_update_checkpoints,
                                            std::optional<int64_t> upper_bound) {
  TRELLIS_CHECK(num_epoch_checkpoints >= 0 && num_update_checkpoints >= 0, ConfigError,
                "the number of checkpoints to average must be positive (got "
                "--num-epoch-checkpoints {}, --num-update-checkpoints {})",
                num_epoch_checkpoints, num_update_checkpoints);
  TRELLIS_CHECK((num_epoch_checkpoints > 0) != (num_update_checkpoints > 0), ConfigError,
                "give one of --num-epoch-checkpoints and --num-update-checkpoints (got {} and {})",
                num_epoch_checkpoints, num_update_checkpoints);
  const bool by_update = num_update_checkpoints > 0;
  const int64_t n = by_update ? num_update_checkpoints : num_epoch_checkpoints;
  const std::string flag = by_update ? "--num-update-checkpoints" : "--num-epoch-checkpoints";
  const std::string kind = by_update ? "checkpoint_E_U.pt" : "checkpointE.pt";
  const std::string number = by_update ? "U" : "E";
  TRELLIS_CHECK(fs::is_directory(dir), CheckpointError, "{} {}: {} is not a folder{}", flag, n,
                dir, fs::exists(dir) ? "" : " (no such file or folder)");

  const std::regex re(by_update ? R"(checkpoint_\d+_(\d+)\.pt)" : R"(checkpoint(\d+)\.pt)");
  std::vector<std::pair<int64_t, std::string>> entries;  // (E or U, name)
  std::vector<std::string> above, others;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    std::smatch m;
    if (!e.is_regular_file() || !std::regex_match(name, m, re)) {
      others.push_back(name);
      continue;
    }
    int64_t key = 0;
    try {
      key = std::stoll(m[1].str());
    } catch (const std::out_of_range&) {
      others.push_back(name);
      continue;
    }
    if (upper_bound && key > *upper_bound)
      above.push_back(name);
    else
      entries.emplace_back(key, name);
  }
  // fairseq: sorted(entries, reverse=True)[:n], i.e. by number then name, largest first.
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a > b; });
  std::vector<std::string> found;
  for (const auto& [key, name] : entries) found.push_back(name);

  if (static_cast<int64_t>(found.size()) < n) {
    std::sort(above.begin(), above.end());
    std::sort(others.begin(), others.end());
    const std::string bound =
        upper_bound ? fmt::format(" with {} <= {}", number, *upper_bound) : std::string();
    std::string what =
        found.empty() ? std::string("none") : fmt::format("{}: {}", found.size(), list_names(found));
    if (!above.empty())
      what += fmt::format("; above --checkpoint-upper-bound: {}", list_names(above));
    if (found.empty() && above.empty())
      what += others.empty() ? std::string(" (the folder is empty)")
                             : fmt::format(" (the folder holds: {})", list_names(others));
    throw CheckpointError(fmt::format("{} {} needs {} {} files{} in {}, found {}", flag, n, n,
                                      kind, bound, dir, what));
  }
  found.resize(static_cast<size_t>(n));
  std::vector<std::string> paths;
  for (const auto& name : found) paths.push_back((fs::path(dir) / name).string());
  return paths;
}

CheckpointState average_checkpoints(const std::vector<std::string>& paths) {
  TRELLIS_CHECK(!paths.empty(), ConfigError, "no checkpoints to average");
  // Every field but `model` comes from the first input (fairseq's new_state).
  CheckpointState result = load_checkpoint(paths[0]);
  // key -> running sum, in sum_type(dtype), and the first input's dtype. The first input's
  // tensors are released: one input is in memory at a time, besides the sums.
  std::map<std::string, at::Tensor> sums;
  std::map<std::string, c10::ScalarType> dtypes;
  for (auto& [key, t] : result.model) {
    dtypes[key] = t.scalar_type();
    sums[key] = t.detach().to(torch::kCPU, sum_type(t.scalar_type()), false, /*copy=*/true);
    t = at::Tensor();
  }

  for (size_t i = 1; i < paths.size(); ++i) {
    const std::string& path = paths[i];
    const std::map<std::string, at::Tensor> model = load_checkpoint(path).model;
    std::vector<std::string> missing, unexpected;
    for (const auto& [key, t] : result.model)
      if (!model.count(key)) missing.push_back(key);
    for (const auto& [key, t] : model)
      if (!result.model.count(key)) unexpected.push_back(key);
    if (!missing.empty() || !unexpected.empty()) {
      std::string what;
      if (!missing.empty()) what += fmt::format("missing {}", list_names(missing));
      if (!unexpected.empty())
        what += fmt::format("{}unexpected {}", what.empty() ? "" : "; ", list_names(unexpected));
      throw CheckpointError(fmt::format("{}: its model parameters differ from those of {} ({}); "
                                        "only checkpoints of the same architecture can be "
                                        "averaged",
                                        path, paths[0], what));
    }
    for (const auto& [key, t] : model) {
      at::Tensor& sum = sums.at(key);
      TRELLIS_CHECK(t.sizes() == sum.sizes(), CheckpointError,
                    "{}: model parameter {} has shape {}, but {} in {}", path, key, shape_of(t),
                    shape_of(sum), paths[0]);
      TRELLIS_CHECK(t.scalar_type() == dtypes.at(key), CheckpointError,
                    "{}: model parameter {} is {}, but {} in {}", path, key,
                    c10::toString(t.scalar_type()), c10::toString(dtypes.at(key)), paths[0]);
      sum.add_(t.detach().to(torch::kCPU, sum.scalar_type()));
    }
  }

  const auto count = static_cast<int64_t>(paths.size());
  for (auto& [key, sum] : sums) {
    const at::Tensor mean =
        sum.is_floating_point() || sum.is_complex() ? sum.div_(count) : sum.div_(count, "floor");
    result.model.at(key) = mean.to(dtypes.at(key));
  }
  return result;
}

}  // namespace trellis
