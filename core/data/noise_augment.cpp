#include "core/data/noise_augment.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/data/audio_reader.h"
#include "core/error.h"
#include "core/strings.h"

namespace trellis {
namespace {

namespace fs = std::filesystem;

bool is_audio_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".wav" || ext == ".flac" || ext == ".ogg" || ext == ".mp3" || ext == ".sph";
}

std::vector<std::string> list_source(const std::string& source) {
  std::vector<std::string> out;
  if (source.empty()) throw DataError("audio list: no folder or manifest given");
  if (fs::is_directory(source)) {
    for (const auto& e : fs::recursive_directory_iterator(
             source, fs::directory_options::follow_directory_symlink)) {
      if (e.is_regular_file() && is_audio_file(e.path())) out.push_back(e.path().string());
    }
    std::sort(out.begin(), out.end());
    if (out.empty()) throw DataError(fmt::format("{}: no audio files found", source));
    return out;
  }
  std::ifstream in(source);
  if (!in) throw DataError(fmt::format("{}: no such folder or manifest", source));
  const fs::path base = fs::path(source).parent_path();
  auto add = [&](const std::string& p) {
    out.push_back(fs::path(p).is_absolute() || base.empty() ? p : (base / p).string());
  };
  std::string line;
  int column = -1;  // the `audio` column of a TSV manifest
  bool first = true;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (first) {
      first = false;
      if (line.find('\t') != std::string::npos) {
        std::vector<std::string> head = split_all(line, '\t');
        auto it = std::find(head.begin(), head.end(), "audio");
        if (it == head.end()) {
          throw DataError(fmt::format("{}:1: a TSV audio list needs an 'audio' column", source));
        }
        column = int(it - head.begin());
        continue;
      }
    }
    if (column >= 0) {
      if (line.empty()) continue;
      std::vector<std::string> f = split_all(line, '\t');
      if (int(f.size()) <= column) {
        throw DataError(fmt::format("{}:{}: no 'audio' field", source, lineno));
      }
      add(f[size_t(column)]);
    } else {
      const std::string t = trim(line);
      if (t.empty() || t[0] == '#') continue;
      add(t);
    }
  }
  if (out.empty()) throw DataError(fmt::format("{}: the audio list is empty", source));
  return out;
}

}  // namespace

// ---- TransformOptions ----

TransformOptions::TransformOptions(const YAML::Node& params, std::string config_path,
                                   std::string transform)
    : params_(params), config_path_(std::move(config_path)), transform_(std::move(transform)) {
  if (params_ && !params_.IsNull() && !params_.IsMap()) {
    throw DataError(
        fmt::format("{}: the '{}' options must be a mapping", config_path_, transform_));
  }
}

bool TransformOptions::has(const char* key) const {
  if (!params_ || !params_.IsMap()) return false;
  const YAML::Node& p = params_;
  const YAML::Node v = p[key];
  return v && !v.IsNull();
}

void TransformOptions::fail(const char* key, const std::string& what) const {
  throw DataError(fmt::format("{}: {}.{}: {}", config_path_, transform_, key, what));
}

double TransformOptions::get_double(const char* key, double fallback) const {
  if (!has(key)) return fallback;
  const YAML::Node& p = params_;
  const YAML::Node v = p[key];
  try {
    if (!v.IsScalar()) throw YAML::Exception(YAML::Mark::null_mark(), "not a scalar");
    const double d = v.as<double>();
    if (!std::isfinite(d)) throw YAML::Exception(YAML::Mark::null_mark(), "not finite");
    return d;
  } catch (const YAML::Exception&) {
    fail(key, fmt::format("bad value '{}' (a number)", YAML::Dump(v)));
  }
}

std::string TransformOptions::get_string(const char* key, const std::string& fallback) const {
  if (!has(key)) return fallback;
  const YAML::Node& p = params_;
  const YAML::Node v = p[key];
  if (!v.IsScalar()) fail(key, fmt::format("bad value '{}' (a string)", YAML::Dump(v)));
  return v.as<std::string>();
}

std::vector<double> TransformOptions::get_doubles(const char* key,
                                                  const std::vector<double>& fallback) const {
  if (!has(key)) return fallback;
  const YAML::Node& p = params_;
  const YAML::Node v = p[key];
  std::vector<double> out;
  try {
    if (!v.IsSequence()) throw YAML::Exception(YAML::Mark::null_mark(), "not a list");
    for (const YAML::Node& e : v) {
      const double d = e.as<double>();
      if (!std::isfinite(d)) throw YAML::Exception(YAML::Mark::null_mark(), "not finite");
      out.push_back(d);
    }
  } catch (const YAML::Exception&) {
    fail(key, fmt::format("bad value '{}' (a list of numbers)", YAML::Dump(v)));
  }
  return out;
}

std::string TransformOptions::get_path(const char* key) const {
  const std::string path = get_string(key, "");
  if (path.empty() || fs::path(path).is_absolute() || config_path_.empty()) return path;
  const fs::path beside = fs::path(config_path_).parent_path() / path;
  if (fs::exists(beside)) return beside.string();
  return path;
}

void TransformOptions::check_known(const std::vector<std::string>& known) const {
  if (!params_ || !params_.IsMap()) return;
  for (const auto& kv : params_) {
    // A key that is a list or a mapping (`[a]: 1`, `? {a: 1}`) is no option name.
    if (!kv.first.IsScalar())
      fail(("'" + YAML::Dump(kv.first) + "'").c_str(),
           fmt::format("an option name must be text (line {}; known: {})",
                       kv.first.Mark().line + 1, join(known, ", ")));
    const std::string k = kv.first.as<std::string>();
    if (std::find(known.begin(), known.end(), k) == known.end()) {
      fail(k.c_str(), fmt::format("unknown option (known: {})", join(known, ", ")));
    }
  }
}

// ---- AudioPool ----

AudioPool::AudioPool(const std::string& source) : paths_(list_source(source)) {}

AudioPool::AudioPool(std::vector<std::string> paths) : paths_(std::move(paths)) {
  if (paths_.empty()) throw DataError("audio list: no files");
}

std::shared_ptr<const std::vector<float>> AudioPool::get(size_t i, int sample_rate) const {
  TRELLIS_CHECK(i < paths_.size(), DataError, "audio list: index {} of {}", i, paths_.size());
  const auto key = std::make_pair(i, sample_rate);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
  }
  // Read outside the lock (other threads go on); a concurrent reader of the same file gives the
  // same samples and the first one stored wins.
  Audio a = read_audio(paths_[i], sample_rate);
  if (a.samples.empty()) throw DataError(fmt::format("{}: audio has no samples", paths_[i]));
  auto data = std::make_shared<const std::vector<float>>(std::move(a.samples));
  std::lock_guard<std::mutex> lock(mutex_);
  return cache_.emplace(key, std::move(data)).first->second;
}

// ---- NoiseAugment ----

NoiseAugment::NoiseAugment(std::shared_ptr<const AudioPool> pool, const NoiseAugmentOptions& o,
                           std::string name)
    : pool_(std::move(pool)), opts_(o), name_(std::move(name)) {
  TRELLIS_CHECK(pool_ && pool_->size() > 0, DataError, "{}: no noise files", name_);
  TRELLIS_CHECK(o.max_snr_db >= o.min_snr_db, DataError, "{}: empty SNR range [{}, {}]", name_,
                o.min_snr_db, o.max_snr_db);
  TRELLIS_CHECK(o.prob >= 0 && o.prob <= 1, DataError, "{}: probability {} outside [0, 1]", name_,
                o.prob);
}

std::unique_ptr<WaveformTransform> NoiseAugment::from_config(const YAML::Node& params,
                                                             const std::string& config_path,
                                                             const std::string& name) {
  TransformOptions p(params, config_path, name);
  p.check_known({"manifest", "min_snr_db", "max_snr_db", "prob", "samples_path", "snr_min",
                 "snr_max", "rate"});
  const bool fairseq = name != "noise";
  NoiseAugmentOptions o;
  if (fairseq) o.min_snr_db = 5, o.max_snr_db = 15, o.prob = 0.25;
  o.babble = name == "babbleaugment";
  if (p.has("manifest") && p.has("samples_path")) {
    p.fail("samples_path", "give either manifest or samples_path, not both");
  }
  const char* src_key = p.has("samples_path") ? "samples_path" : "manifest";
  const std::string source = p.get_path(src_key);
  if (source.empty()) p.fail(src_key, "missing (a folder of noise audio or a list of files)");
  const char* max_key = p.has("snr_max") ? "snr_max" : "max_snr_db";
  o.min_snr_db = p.get_double(p.has("snr_min") ? "snr_min" : "min_snr_db", o.min_snr_db);
  o.max_snr_db = p.get_double(max_key, o.max_snr_db);
  if (o.max_snr_db < o.min_snr_db) {
    p.fail(max_key, fmt::format("empty SNR range [{}, {}]", o.min_snr_db, o.max_snr_db));
  }
  const char* prob_key = p.has("rate") ? "rate" : "prob";
  o.prob = p.get_double(prob_key, o.prob);
  if (o.prob < 0 || o.prob > 1) p.fail(prob_key, fmt::format("{} outside [0, 1]", o.prob));
  std::shared_ptr<const AudioPool> pool;
  try {
    pool = std::make_shared<const AudioPool>(source);
  } catch (const DataError& e) {
    p.fail(src_key, e.what());
  }
  return std::make_unique<NoiseAugment>(std::move(pool), o, name);
}

std::vector<float> NoiseAugment::draw_segment(size_t n, int sample_rate,
                                              std::mt19937_64& rng) const {
  const size_t k = std::uniform_int_distribution<size_t>(0, pool_->size() - 1)(rng);
  std::shared_ptr<const std::vector<float>> src = pool_->get(k, sample_rate);
  const size_t L = src->size();
  const size_t o = std::uniform_int_distribution<size_t>(0, L >= n ? L - n : L - 1)(rng);
  std::vector<float> e(n);
  for (size_t i = 0, j = o; i < n; ++i, ++j) {
    if (j == L) j = 0;
    e[i] = (*src)[j];
  }
  return e;
}

NoiseAugment::Draw NoiseAugment::draw(size_t n, int sample_rate, std::mt19937_64& rng) const {
  Draw d;
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  if (!(u < opts_.prob) || n == 0) return d;
  d.applied = true;
  d.snr_db = std::uniform_real_distribution<double>(opts_.min_snr_db, opts_.max_snr_db)(rng);
  if (opts_.max_snr_db == opts_.min_snr_db) d.snr_db = opts_.min_snr_db;
  if (!opts_.babble) {
    d.noise = draw_segment(n, sample_rate, rng);
    return d;
  }
  const int m = std::uniform_int_distribution<int>(3, 7)(rng);
  d.noise = draw_segment(n, sample_rate, rng);
  for (int i = 1; i < m; ++i) {
    std::vector<float> e = draw_segment(n, sample_rate, rng);
    mix(d.noise, e, double(i));
  }
  return d;
}

double NoiseAugment::mix(std::vector<float>& samples, const std::vector<float>& noise,
                         double snr_db) {
  TRELLIS_CHECK(samples.size() == noise.size(), DataError, "noise mix: {} samples, {} noise",
                samples.size(), noise.size());
  if (samples.empty()) return 0;
  double ps = 0, pe = 0;
  for (size_t i = 0; i < samples.size(); ++i) {
    ps += double(samples[i]) * samples[i];
    pe += double(noise[i]) * noise[i];
  }
  if (ps <= 0 || pe <= 0) return 0;
  const double scale = std::pow(10.0, -snr_db / 20.0) * std::sqrt(ps / pe);
  for (size_t i = 0; i < samples.size(); ++i) {
    samples[i] = float(double(samples[i]) + scale * double(noise[i]));
  }
  return scale;
}

void NoiseAugment::apply(std::vector<float>& samples, int sample_rate,
                         std::mt19937_64& rng) const {
  Draw d = draw(samples.size(), sample_rate, rng);
  if (d.applied) mix(samples, d.noise, d.snr_db);
}

}  // namespace trellis
