#include "core/data/waveform_transform.h"

#include <functional>
#include <map>

#include "core/data/gain_perturb.h"
#include "core/data/noise_augment.h"
#include "core/data/reverb.h"
#include "core/data/speed_perturb.h"
#include "core/error.h"
#include "core/strings.h"

namespace trellis {
namespace {

using Factory =
    std::function<std::unique_ptr<WaveformTransform>(const YAML::Node&, const std::string&)>;

// name -> the class's from_config. fairseq's three noise names mix the same way (babbleaugment:
// several files per utterance).
const std::map<std::string, Factory>& factories() {
  static const std::map<std::string, Factory> table = [] {
    std::map<std::string, Factory> t;
    t["speed_perturb"] = SpeedPerturb::from_config;
    t["gain"] = GainPerturb::from_config;
    t["volume_perturb"] = GainPerturb::from_volume_config;
    for (const char* n : {"noise", "backgroundnoiseaugment", "musicaugment", "babbleaugment"}) {
      const std::string name = n;
      t[name] = [name](const YAML::Node& p, const std::string& c) {
        return NoiseAugment::from_config(p, c, name);
      };
    }
    t["reverb"] = Reverb::from_config;
    return t;
  }();
  return table;
}

}  // namespace

WaveformTransforms build_waveform_transforms(const YAML::Node& config, const std::string& split,
                                             const std::string& config_path, bool is_train) {
  WaveformTransforms out;
  if (!config || !config.IsMap()) return out;
  // Const lookups only: yaml-cpp's non-const operator[] and Node assignment modify the tree.
  const YAML::Node& cfg = config;
  const YAML::Node table = cfg["waveform_transforms"];
  if (!table || table.IsNull()) return out;
  if (!table.IsMap()) {
    throw DataError(
        fmt::format("{}: 'waveform_transforms' must map split names to lists", config_path));
  }
  const YAML::Node& t = table;
  YAML::Node list;
  std::string chosen;
  for (const std::string& key :
       {split, std::string(is_train ? "_train" : "_eval"), std::string("*")}) {
    if (t[key]) {
      list.reset(t[key]);
      chosen = key;
      break;
    }
  }
  if (!list || list.IsNull()) return out;
  if (!list.IsSequence()) {
    throw DataError(fmt::format("{}: waveform_transforms.{} must be a list of transform names",
                                config_path, chosen));
  }
  const auto& known = factories();
  for (const YAML::Node& n : list) {
    if (!n.IsScalar()) {
      throw DataError(fmt::format("{}: waveform_transforms.{}: '{}' is not a transform name",
                                  config_path, chosen, YAML::Dump(n)));
    }
    const std::string name = n.as<std::string>();
    auto it = known.find(name);
    if (it == known.end()) {
      std::vector<std::string> names;
      for (const auto& kv : known) names.push_back(kv.first);
      throw DataError(fmt::format("{}: waveform_transforms.{}: unknown waveform transform '{}' "
                                  "(known: {})",
                                  config_path, chosen, name, join(names, ", ")));
    }
    try {
      out.push_back(it->second(cfg[name], config_path));
    } catch (const DataError& e) {
      const std::string what = e.what();
      if (what.rfind(config_path, 0) == 0) throw;
      throw DataError(fmt::format("{}: {}", config_path, what));
    }
  }
  return out;
}

void apply_waveform_transforms(const WaveformTransforms& transforms, std::vector<float>& samples,
                               int sample_rate, std::mt19937_64& rng) {
  for (const auto& t : transforms) t->apply(samples, sample_rate, rng);
}

int64_t max_transformed_length(const WaveformTransforms& transforms, int64_t n) {
  for (const auto& t : transforms) n = t->max_length(n);
  return n;
}

}  // namespace trellis
