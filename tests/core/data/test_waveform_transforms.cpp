// Waveform augmentation (issue 15): speed perturbation's pitch and length, the drawn SNR of a
// noise mix, exact gain in dB, RIR convolution against a direct convolution, reproducibility by
// seed, config errors naming the key, selection by split, and the local noise/RIR set script.
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "core/data/audio_writer.h"
#include "core/data/gain_perturb.h"
#include "core/data/noise_augment.h"
#include "core/data/reverb.h"
#include "core/data/speed_perturb.h"
#include "core/data/speed_resample.h"
#include "core/data/waveform_transform.h"
#include "core/error.h"
#include "skip.h"

namespace fs = std::filesystem;
using namespace trellis;

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kRate = 16000;

fs::path temp_dir() {
  static const fs::path d = [] {
    fs::path p = fs::temp_directory_path() / ("trellis_wf_" + std::to_string(::getpid()));
    fs::create_directories(p);
    return p;
  }();
  return d;
}

std::vector<float> sine(double hz, int64_t n, double amp = 0.5, int rate = kRate) {
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) x[size_t(i)] = float(amp * std::sin(2 * kPi * hz * i / rate));
  return x;
}

std::vector<float> random_signal(int64_t n, uint64_t seed, double amp = 0.5) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<double> u(-amp, amp);
  std::vector<float> x(static_cast<size_t>(n));
  for (float& v : x) v = float(u(g));
  return x;
}

double power(const std::vector<float>& x) {
  double s = 0;
  for (float v : x) s += double(v) * v;
  return s / double(x.size());
}

// Frequency from the rising zero crossings over the middle 80% (linear interpolation).
double zero_crossing_hz(const std::vector<float>& x, int rate) {
  const size_t a = x.size() / 10, b = x.size() - x.size() / 10;
  double first = -1, last = -1;
  int count = 0;
  for (size_t i = a; i + 1 < b; ++i) {
    if (x[i] < 0 && x[i + 1] >= 0) {
      const double t = double(i) + double(-x[i]) / double(x[i + 1] - x[i]);
      if (first < 0) first = t;
      else ++count;
      last = t;
    }
  }
  REQUIRE(count > 10);
  return double(count) * rate / (last - first);
}

// Noise files (wav, 16 kHz) and a TSV list of them with relative paths.
fs::path make_noise_dir() {
  const fs::path d = temp_dir() / "noise";
  if (fs::exists(d / "list.tsv")) return d;
  fs::create_directories(d / "sub");
  write_audio_file((d / "a.wav").string(), random_signal(8000, 1, 0.3), 1, kRate, "wav_float");
  write_audio_file((d / "sub" / "b.wav").string(), sine(300, 24000, 0.2), 1, kRate, "wav_float");
  // 8 kHz: resampled to the speech's rate when read.
  write_audio_file((d / "sub" / "c.flac").string(), random_signal(4000, 2, 0.4), 1, 8000, "flac");
  std::ofstream(d / "list.tsv") << "id\taudio\tn_frames\n"
                                << "a\ta.wav\t8000\n"
                                << "b\tsub/b.wav\t24000\n";
  return d;
}

fs::path make_rir_dir() {
  const fs::path d = temp_dir() / "rir";
  if (fs::exists(d / "rir.lst")) return d;
  fs::create_directories(d);
  for (int k = 0; k < 2; ++k) {
    std::vector<float> h(size_t(1600 + 800 * k), 0.0f);
    std::mt19937_64 g(uint64_t(10 + k));
    std::uniform_real_distribution<double> u(-1, 1);
    const size_t p = size_t(40 + 30 * k);
    h[p] = 0.9f;
    for (size_t i = p + 1; i < h.size(); ++i) {
      h[i] = float(0.2 * u(g) * std::exp(-6.9 * double(i - p) / double(h.size())));
    }
    write_audio_file((d / ("r" + std::to_string(k) + ".wav")).string(), h, 1, kRate, "wav_float");
  }
  std::ofstream(d / "rir.lst") << "# impulse responses\nr0.wav\n\nr1.wav\n";
  return d;
}

// A data config beside the noise and RIR folders (relative paths resolve against it).
std::string write_config(const std::string& yaml) {
  make_noise_dir();
  make_rir_dir();
  const fs::path p = temp_dir() / "config.yaml";
  std::ofstream(p) << yaml;
  return p.string();
}

WaveformTransforms build(const std::string& yaml, const std::string& split, bool is_train) {
  const std::string path = write_config(yaml);
  return build_waveform_transforms(YAML::LoadFile(path), split, path, is_train);
}

std::string build_error(const std::string& yaml) {
  try {
    build(yaml, "train", true);
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

bool have_sox() { return std::system("sox --version >/dev/null 2>&1") == 0; }

}  // namespace

TEST_CASE("speed_perturb: 1.1 raises a sine's frequency 1.1x and shortens it to 1/1.1",
          "[unit][augment]") {
  const int64_t n = kRate;  // 1 s of 440 Hz
  const std::vector<float> x = sine(440, n);
  for (double f : {1.1, 0.9}) {
    const std::vector<float> y = change_speed(x, kRate, f);
    CHECK(std::abs(double(y.size()) - double(n) / f) <= 2.0);
    CHECK(zero_crossing_hz(y, kRate) == Approx(440.0 * f).epsilon(1e-3));
    // The amplitude survives the resampling (soxr's passband ripple is tiny).
    CHECK(std::sqrt(power(std::vector<float>(y.begin() + 1000, y.end() - 1000))) ==
          Approx(0.5 / std::sqrt(2.0)).epsilon(1e-2));
  }
  CHECK(change_speed(x, kRate, 1.0) == x);

  // Through apply(): one factor per utterance, from the rng; the length bound holds.
  SpeedPerturb sp({0.9, 1.0, 1.1});
  CHECK(sp.max_length(16000) == 17778);  // ceil(16000 / 0.9)
  std::set<size_t> lengths;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    std::vector<float> y = x;
    std::mt19937_64 rng(seed);
    sp.apply(y, kRate, rng);
    CHECK(int64_t(y.size()) <= sp.max_length(n));
    lengths.insert(y.size());
  }
  CHECK(lengths == std::set<size_t>{14545, 16000, 17778});
}

TEST_CASE("noise: the mix has the drawn SNR", "[unit][augment]") {
  const std::vector<float> s = sine(220, 12000, 0.3);
  const std::vector<float> e = random_signal(12000, 7, 0.8);
  for (double snr : {-5.0, 0.0, 7.5, 30.0}) {
    std::vector<float> y = s;
    NoiseAugment::mix(y, e, snr);
    std::vector<float> added(y.size());
    for (size_t i = 0; i < y.size(); ++i) added[i] = y[i] - s[i];
    CHECK(10 * std::log10(power(s) / power(added)) == Approx(snr).margin(0.1));
  }
  // Silent speech or silent noise: unchanged.
  std::vector<float> silent(100, 0.0f), y = silent;
  CHECK(NoiseAugment::mix(y, random_signal(100, 3), 10) == 0);
  CHECK(y == silent);
  y = s;
  CHECK(NoiseAugment::mix(y, std::vector<float>(s.size(), 0.0f), 10) == 0);
  CHECK(y == s);

  // The random path: replaying the rng gives the draw; the mix has its SNR, within the range.
  const fs::path dir = make_noise_dir();
  for (const char* source : {"", "list.tsv"}) {
    auto pool = std::make_shared<const AudioPool>((dir / source).string());
    CHECK(pool->size() == (*source ? 2u : 3u));
    for (bool babble : {false, true}) {
      NoiseAugmentOptions o;
      o.min_snr_db = 0, o.max_snr_db = 20, o.babble = babble;
      NoiseAugment na(pool, o);
      for (uint64_t seed = 0; seed < 6; ++seed) {
        std::mt19937_64 rng(seed), replay(seed);
        const NoiseAugment::Draw d = na.draw(s.size(), kRate, replay);
        REQUIRE(d.applied);
        CHECK(d.snr_db >= 0);
        CHECK(d.snr_db <= 20);
        std::vector<float> y2 = s;
        na.apply(y2, kRate, rng);
        CHECK(rng == replay);  // apply() draws exactly what draw() draws
        std::vector<float> added(s.size());
        for (size_t i = 0; i < s.size(); ++i) added[i] = y2[i] - s[i];
        CHECK(10 * std::log10(power(s) / power(added)) == Approx(d.snr_db).margin(0.1));
      }
    }
  }
  // prob 0: never; the 8 kHz flac was read at 16 kHz (twice its samples).
  NoiseAugmentOptions never;
  never.prob = 0;
  auto pool = std::make_shared<const AudioPool>(dir.string());
  NoiseAugment na(pool, never);
  std::vector<float> y3 = s;
  std::mt19937_64 rng(1);
  na.apply(y3, kRate, rng);
  CHECK(y3 == s);
  CHECK(pool->get(2, kRate)->size() == 8000u);
  CHECK(pool->get(2, 8000)->size() == 4000u);
}

TEST_CASE("gain: the change in dB is exact; volume_perturb draws a linear factor",
          "[unit][augment]") {
  const std::vector<float> x = random_signal(5000, 4);
  for (double g : {-10.0, -3.0, 0.5, 6.0}) {
    GainPerturbOptions o;
    o.lo = o.hi = g;
    std::vector<float> y = x;
    std::mt19937_64 rng(0);
    GainPerturb(o).apply(y, kRate, rng);
    CHECK(10 * std::log10(power(y) / power(x)) == Approx(g).margin(1e-4));
  }
  GainPerturb gp{GainPerturbOptions{}};
  for (uint64_t seed = 0; seed < 10; ++seed) {
    std::mt19937_64 rng(seed), replay(seed);
    const double a = gp.draw_factor(replay);
    CHECK(20 * std::log10(a) >= -10);
    CHECK(20 * std::log10(a) <= 10);
    std::vector<float> y = x;
    gp.apply(y, kRate, rng);
    CHECK(10 * std::log10(power(y) / power(x)) == Approx(20 * std::log10(a)).margin(1e-4));
  }
  const auto vp = build("waveform_transforms: {'*': [volume_perturb]}\n", "train", true);
  REQUIRE(vp.size() == 1);
  const auto& v = dynamic_cast<const GainPerturb&>(*vp[0]);
  CHECK(v.options().linear);
  CHECK(v.options().lo == 0.125);
  CHECK(v.options().hi == 2.0);
  for (uint64_t seed = 0; seed < 20; ++seed) {
    std::mt19937_64 rng(seed);
    const double a = v.draw_factor(rng);
    CHECK(a >= 0.125);
    CHECK(a <= 2.0);
  }
}

TEST_CASE("reverb: FFT convolution equals the direct convolution, aligned to the direct path",
          "[unit][augment]") {
  struct Case {
    int64_t n, m;
  };
  for (Case c : {Case{3000, 700}, Case{300, 1200}, Case{20000, 513}, Case{1, 1}}) {
    const std::vector<float> x = random_signal(c.n, uint64_t(c.n));
    const std::vector<float> h = random_signal(c.m, uint64_t(c.m) + 99);
    const int64_t shift = Reverb::peak_index(h);
    const std::vector<float> y = Reverb::convolve(x, h, shift);
    REQUIRE(int64_t(y.size()) == c.n);
    double err = 0, ref = 0;
    for (int64_t i = 0; i < c.n; ++i) {
      double d = 0;
      for (int64_t j = 0; j < c.m; ++j) {
        const int64_t k = i + shift - j;
        if (k >= 0 && k < c.n) d += double(h[size_t(j)]) * x[size_t(k)];
      }
      err = std::max(err, std::abs(d - double(y[size_t(i)])));
      ref = std::max(ref, std::abs(d));
    }
    CHECK(err <= 1e-5 * ref);
  }
  // A delayed impulse as RIR: the output is the input, not delayed.
  std::vector<float> h(300, 0.0f);
  h[123] = 1.0f;
  const std::vector<float> x = random_signal(2000, 5);
  const std::vector<float> y = Reverb::convolve(x, h, Reverb::peak_index(h));
  for (size_t i = 0; i < x.size(); ++i) REQUIRE(y[i] == Approx(x[i]).margin(1e-6));

  // Through the config: unit-energy RIRs from the relative list, the length is kept.
  const auto t = build("waveform_transforms: {_train: [reverb]}\nreverb: {manifest: rir/rir.lst}\n",
                       "train", true);
  REQUIRE(t.size() == 1);
  const auto& rv = dynamic_cast<const Reverb&>(*t[0]);
  const std::vector<float> hn = rv.normalize(random_signal(100, 6));
  CHECK(power(hn) * 100 == Approx(1.0).epsilon(1e-5));
  std::vector<float> s = sine(500, 8000);
  std::mt19937_64 rng(3);
  rv.apply(s, kRate, rng);
  CHECK(s.size() == 8000u);
  CHECK(s != sine(500, 8000));
}

TEST_CASE("waveform transforms: same seed, same output; another seed, another draw",
          "[unit][augment]") {
  const auto t = build(
      "waveform_transforms:\n"
      "  _train: [speed_perturb, gain, noise, babbleaugment, reverb]\n"
      "speed_perturb: {factors: [0.9, 1.1]}\n"
      "noise: {manifest: noise, min_snr_db: 5, max_snr_db: 15}\n"
      "babbleaugment: {samples_path: noise, rate: 1.0}\n"
      "reverb: {manifest: rir, normalize: peak}\n",
      "train", true);
  REQUIRE(t.size() == 5);
  CHECK(max_transformed_length(t, 9000) == 10000);
  const std::vector<float> x = sine(330, 9000);
  auto run = [&](uint64_t seed) {
    std::vector<float> y = x;
    std::mt19937_64 rng(seed);
    apply_waveform_transforms(t, y, kRate, rng);
    return y;
  };
  const std::vector<float> a = run(42);
  CHECK(run(42) == a);
  CHECK(run(43) != a);
  CHECK(int64_t(a.size()) <= max_transformed_length(t, 9000));

  // Several threads at once (collate does this) with a cold cache give the same results.
  const auto t2 = build(
      "waveform_transforms: {'*': [noise, reverb]}\nnoise: {manifest: noise/list.tsv}\n"
      "reverb: {manifest: rir}\n",
      "train", true);
  auto run2 = [&](uint64_t seed) {
    std::vector<float> y = x;
    std::mt19937_64 rng(seed);
    apply_waveform_transforms(t2, y, kRate, rng);
    return y;
  };
  std::vector<std::vector<float>> got(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < got.size(); ++i) threads.emplace_back([&, i] { got[i] = run2(i % 4); });
  for (auto& th : threads) th.join();
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == run2(i % 4));
}

TEST_CASE("waveform transforms: selection by split", "[unit][augment]") {
  const std::string yaml =
      "waveform_transforms:\n"
      "  _train: [gain, speed_perturb]\n"
      "  dev_other: [volume_perturb]\n"
      "gain: {min_gain_dbfs: -3, max_gain_dbfs: 3, prob: 0.5}\n";
  const auto tr = build(yaml, "train", true);
  REQUIRE(tr.size() == 2);
  CHECK(tr[0]->name() == "gain");
  CHECK(tr[1]->name() == "speed_perturb");
  CHECK(dynamic_cast<const GainPerturb&>(*tr[0]).options().prob == 0.5);
  CHECK(build(yaml, "dev", false).empty());
  const auto other = build(yaml, "dev_other", false);
  REQUIRE(other.size() == 1);
  CHECK(other[0]->name() == "volume_perturb");
  // `*` for every split without its own list; no table at all: nothing.
  CHECK(build("waveform_transforms: {'*': [gain]}\n", "dev", false).size() == 1);
  CHECK(build("waveform_transforms: {_eval: [gain]}\n", "train", true).empty());
  CHECK(build("transforms: {'*': [utterance_cmvn]}\n", "train", true).empty());
}

TEST_CASE("waveform transforms: config errors name the file and the key", "[unit][augment]") {
  const std::string cfg = (temp_dir() / "config.yaml").string();
  std::string e = build_error("waveform_transforms: {_train: [speed_perturb]}\n"
                              "speed_perturb: {factors: [0.9, -1.0]}\n");
  CHECK_THAT(e, Catch::Contains(cfg) && Catch::Contains("speed_perturb.factors"));
  e = build_error("waveform_transforms: {_train: [gain]}\ngain: {min_gain_dbfs: loud}\n");
  CHECK_THAT(e, Catch::Contains(cfg) && Catch::Contains("gain.min_gain_dbfs"));
  e = build_error("waveform_transforms: {_train: [gain]}\ngain: {max_gain: 3}\n");
  CHECK_THAT(e, Catch::Contains("gain.max_gain") && Catch::Contains("unknown option"));
  // A key that is a list is no option name: a DataError naming the file, not a yaml-cpp
  // conversion error (docs/reliability.md, fuzzing's known gaps).
  e = build_error("waveform_transforms: {_train: [gain]}\ngain: {[max_gain]: 3}\n");
  CHECK_THAT(e, Catch::Contains(cfg) && Catch::Contains("gain.'[max_gain]'") &&
                    Catch::Contains("an option name must be text (line 2"));
  e = build_error("waveform_transforms: {_train: [noise]}\nnoise: {prob: 0.5}\n");
  CHECK_THAT(e, Catch::Contains(cfg) && Catch::Contains("noise.manifest"));
  e = build_error("waveform_transforms: {_train: [noise]}\nnoise: {manifest: nowhere.lst}\n");
  CHECK_THAT(e, Catch::Contains("noise.manifest") && Catch::Contains("nowhere.lst"));
  e = build_error("waveform_transforms: {_train: [musicaugment]}\n"
                  "musicaugment: {samples_path: noise, snr_min: 10, snr_max: 5}\n");
  CHECK_THAT(e, Catch::Contains("musicaugment.snr_max"));
  e = build_error("waveform_transforms: {_train: [reverb]}\nreverb: {manifest: rir, prob: 2}\n");
  CHECK_THAT(e, Catch::Contains("reverb.prob"));
  e = build_error("waveform_transforms: {_train: [reverb]}\nreverb: [1, 2]\n");
  CHECK_THAT(e, Catch::Contains(cfg) && Catch::Contains("'reverb' options must be a mapping"));
  e = build_error("waveform_transforms: {_train: [time_stretch]}\n");
  CHECK_THAT(e, Catch::Contains(cfg) && Catch::Contains("unknown waveform transform 'time_stretch'") &&
                    Catch::Contains("speed_perturb") && Catch::Contains("backgroundnoiseaugment"));
  e = build_error("waveform_transforms: {_train: gain}\n");
  CHECK_THAT(e, Catch::Contains("waveform_transforms._train"));
  e = build_error("waveform_transforms: [gain]\n");
  CHECK_THAT(e, Catch::Contains("'waveform_transforms' must map"));
}

TEST_CASE("scripts/make_noise_rir.sh: a local noise and RIR set the transforms read",
          "[unit][augment]") {
  if (!have_sox()) trellis::testing::skip_test("sox is not installed");
  const fs::path out = temp_dir() / "nr";
  const std::string cmd = std::string(TRELLIS_SOURCE_DIR) + "/scripts/make_noise_rir.sh " +
                          out.string() + " >/dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
  const AudioPool noise((out / "noise.lst").string()), rir((out / "rir").string());
  CHECK(noise.size() == 5u);
  CHECK(rir.size() == 3u);
  for (size_t i = 0; i < noise.size(); ++i) {
    const auto n = noise.get(i, kRate);
    CHECK(n->size() == 48000u);
    CHECK(power(*n) > 1e-4);
  }
  for (size_t i = 0; i < rir.size(); ++i) {
    const auto h = rir.get(i, kRate);
    CHECK(Reverb::peak_index(*h) == 80);  // the direct path after 5 ms
  }
  const std::string cfg = (out / "config.yaml").string();
  std::ofstream(cfg) << "waveform_transforms: {_train: [backgroundnoiseaugment, reverb]}\n"
                        "backgroundnoiseaugment: {samples_path: noise, rate: 1.0}\n"
                        "reverb: {manifest: rir.lst}\n";
  const auto t = build_waveform_transforms(YAML::LoadFile(cfg), "train", cfg, true);
  REQUIRE(t.size() == 2);
  std::vector<float> s = sine(440, 16000);
  std::mt19937_64 rng(0);
  apply_waveform_transforms(t, s, kRate, rng);
  CHECK(s.size() == 16000u);
  for (float v : s) REQUIRE(std::isfinite(v));
}
