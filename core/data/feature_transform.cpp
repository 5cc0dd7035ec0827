#include "core/data/feature_transform.h"

#include <filesystem>

#include "core/data/delta_deltas.h"
#include "core/data/global_cmvn.h"
#include "core/data/specaugment.h"
#include "core/data/utterance_cmvn.h"
#include "core/error.h"

namespace trellis {
namespace {

namespace fs = std::filesystem;

template <class T>
T get(const YAML::Node& params, const char* key, T fallback, const std::string& where) {
  if (!params || !params.IsMap()) return fallback;
  const YAML::Node v = params[key];
  if (!v || v.IsNull()) return fallback;
  try {
    return v.as<T>();
  } catch (const YAML::Exception&) {
    throw DataError(fmt::format("{}: bad value for {}: '{}'", where, key, YAML::Dump(v)));
  }
}

// UP resolves a relative path against the YAML's folder when it does not exist as given;
// FBK leaves it relative to the working directory. Try the config's folder first.
std::string resolve(const std::string& path, const std::string& config_path) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  fs::path beside = fs::path(config_path).parent_path() / path;
  if (!config_path.empty() && fs::exists(beside)) return beside.string();
  return path;
}

std::unique_ptr<FeatureTransform> make(const std::string& name, const YAML::Node& params,
                                       const std::string& config_path) {
  const std::string where = config_path + ": " + name;
  if (params && !params.IsNull() && !params.IsMap()) {
    throw DataError(fmt::format("{}: the '{}' options must be a mapping", config_path, name));
  }
  if (name == "utterance_cmvn") {
    UtteranceCmvnOptions o;
    o.norm_means = get(params, "norm_means", true, where);
    o.norm_vars = get(params, "norm_vars", true, where);
    return std::make_unique<UtteranceCmvn>(o);
  }
  if (name == "global_cmvn") {
    GlobalCmvnOptions o;
    o.stats_npz_path = resolve(get<std::string>(params, "stats_npz_path", "", where), config_path);
    if (o.stats_npz_path.empty()) {
      throw DataError(fmt::format("{}: global_cmvn needs global_cmvn.stats_npz_path", config_path));
    }
    if (!fs::exists(o.stats_npz_path)) {
      throw DataError(fmt::format("{}: global_cmvn.stats_npz_path '{}' not found", config_path,
                                  o.stats_npz_path));
    }
    return std::make_unique<GlobalCmvn>(o);
  }
  if (name == "specaugment") {
    SpecAugmentOptions o;
    o.time_warp_w = get(params, "time_warp_W", 0, where);
    o.freq_mask_n = get(params, "freq_mask_N", 0, where);
    o.freq_mask_f = get(params, "freq_mask_F", 0, where);
    o.time_mask_n = get(params, "time_mask_N", 0, where);
    o.time_mask_t = get(params, "time_mask_T", 0, where);
    o.time_mask_p = get(params, "time_mask_p", 0.0, where);
    if (params && params["mask_value"] && !params["mask_value"].IsNull()) {
      o.mask_value = get(params, "mask_value", 0.0f, where);
    }
    try {
      return std::make_unique<SpecAugment>(o);
    } catch (const DataError& e) {
      throw DataError(fmt::format("{}: {}", config_path, e.what()));
    }
  }
  if (name == "delta_deltas") {
    DeltaDeltasOptions o;
    o.win_length = get(params, "win_length", 5, where);
    try {
      return std::make_unique<DeltaDeltas>(o);
    } catch (const DataError& e) {
      throw DataError(fmt::format("{}: {}", config_path, e.what()));
    }
  }
  throw DataError(fmt::format(
      "{}: unknown feature transform '{}' (known: utterance_cmvn, global_cmvn, specaugment, "
      "delta_deltas)",
      config_path, name));
}

}  // namespace

std::vector<std::unique_ptr<FeatureTransform>> build_transforms(const YAML::Node& config,
                                                                const std::string& split,
                                                                const std::string& config_path,
                                                                bool is_train) {
  std::vector<std::unique_ptr<FeatureTransform>> out;
  if (!config || !config.IsMap()) return out;
  // Const lookups only: yaml-cpp's non-const operator[] and Node assignment modify the tree.
  const YAML::Node& cfg = config;
  YAML::Node table = cfg["transforms"] ? cfg["transforms"] : cfg["feature_transforms"];
  if (!table || table.IsNull()) return out;
  if (!table.IsMap()) {
    throw DataError(fmt::format("{}: 'transforms' must map split names to lists", config_path));
  }
  const YAML::Node& t = table;
  YAML::Node list;
  for (const std::string& key :
       {split, std::string(is_train ? "_train" : "_eval"), std::string("*")}) {
    if (t[key]) {
      list.reset(t[key]);
      break;
    }
  }
  if (!list || list.IsNull()) return out;
  if (!list.IsSequence()) {
    throw DataError(fmt::format("{}: transforms for '{}' must be a list", config_path, split));
  }
  for (const YAML::Node& n : list) {
    const std::string name = n.as<std::string>();
    out.push_back(make(name, cfg[name], config_path));
  }
  return out;
}

std::vector<std::unique_ptr<FeatureTransform>> build_transforms(const YAML::Node& config,
                                                                const std::string& split,
                                                                const std::string& config_path) {
  return build_transforms(config, split, config_path, split.rfind("train", 0) == 0);
}

int64_t apply_transforms(const std::vector<std::unique_ptr<FeatureTransform>>& transforms,
                         std::vector<float>& x, int64_t T, int64_t C, std::mt19937_64& rng) {
  for (const auto& t : transforms) {
    t->apply(x, T, C, rng);
    C = t->output_dim(C);
  }
  return C;
}

}  // namespace trellis
