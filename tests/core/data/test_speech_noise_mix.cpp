// Speech/noise mixing of a batch (core/data/speech_noise_mix.h, NeMo's
// MultiSpeakerNoiseAugmentation): the drawn energy ratio measured on the output, segment length
// and placement, speech mode taking another row, noise mode without noise, tiling of short
// noise, several segments, reproducibility by generator and option checks.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <random>

#include "core/data/audio_writer.h"
#include "core/data/noise_augment.h"
#include "core/data/speech_noise_mix.h"
#include "core/error.h"

namespace fs = std::filesystem;
using namespace trellis;

namespace {

constexpr int kRate = 16000;

fs::path mix_temp_dir() {
  static const fs::path d = [] {
    fs::path p = fs::temp_directory_path() / ("trellis_mix_" + std::to_string(::getpid()));
    fs::create_directories(p);
    return p;
  }();
  return d;
}

// Row k: a sine of its own frequency and level, n samples.
std::vector<float> tone(int k, size_t n) {
  std::vector<float> x(n);
  for (size_t t = 0; t < n; ++t)
    x[t] = static_cast<float>((0.1 + 0.05 * k) * std::sin(0.01 * (k + 1) * static_cast<double>(t)));
  return x;
}

std::vector<std::vector<float>> batch_of(std::initializer_list<size_t> lengths) {
  std::vector<std::vector<float>> b;
  int k = 0;
  for (size_t n : lengths) b.push_back(tone(k++, n));
  return b;
}

// A pool of one noise file of n samples (pseudo-random values).
std::shared_ptr<AudioPool> noise_pool(const std::string& name, size_t n) {
  std::vector<float> x(n);
  std::mt19937 g(7);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  for (auto& v : x) v = u(g);
  const std::string path = (mix_temp_dir() / name).string();
  write_audio_file(path, x, 1, kRate, "wav_float");
  return std::make_shared<AudioPool>(std::vector<std::string>{path});
}

double mean_square(const std::vector<double>& x) {
  double e = 0;
  for (double v : x) e += v * v;
  return e / static_cast<double>(x.size());
}

std::vector<double> added(const std::vector<float>& clean, const std::vector<float>& noisy) {
  std::vector<double> d(clean.size());
  for (size_t t = 0; t < clean.size(); ++t)
    d[t] = static_cast<double>(noisy[t]) - static_cast<double>(clean[t]);
  return d;
}

SpeechNoiseMixOptions always(double noise_ratio) {
  SpeechNoiseMixOptions o;
  o.prob = 1.0;
  o.noise_ratio = noise_ratio;
  return o;
}

}  // namespace

TEST_CASE("speech_noise_mix: the inserted signal has the drawn energy ratio over the whole "
          "utterance, in one segment of int(n * rate) samples",
          "[unit][speech_noise_mix]") {
  auto pool = noise_pool("noise_long.wav", 40000);
  for (double noise_ratio : {1.0, 0.0}) {
    INFO("noise_ratio " << noise_ratio);
    auto audio = batch_of({16000, 20001, 17777});
    std::vector<std::vector<float>> noisy;
    std::mt19937_64 rng(42);
    auto mixes = mix_speech_noise(audio, always(noise_ratio), pool.get(), kRate, rng, noisy);
    REQUIRE(mixes.size() == 3);
    for (size_t i = 0; i < audio.size(); ++i) {
      INFO("row " << i);
      const UtteranceMix& m = mixes[i];
      const auto n = static_cast<int64_t>(audio[i].size());
      REQUIRE(noisy[i].size() == audio[i].size());
      CHECK(m.selected);
      CHECK(m.noise_mode == (noise_ratio == 1.0));
      CHECK(m.mix_len == n / 2);
      if (m.noise_mode) {
        CHECK(m.ratio_db >= -5.0);
        CHECK(m.ratio_db <= 20.0);
      } else {
        CHECK(m.ratio_db >= -5.0);
        CHECK(m.ratio_db <= 5.0);
      }
      REQUIRE(m.segments.size() == 1);
      const MixSegment& s = m.segments[0];
      CHECK(s.length == m.mix_len);
      CHECK(s.start >= 0);
      CHECK(s.start < n - m.mix_len);
      std::vector<double> d = added(audio[i], noisy[i]);
      // Nothing outside the segment.
      double outside = 0;
      for (int64_t t = 0; t < n; ++t)
        if (t < s.start || t >= s.start + s.length) outside += std::abs(d[static_cast<size_t>(t)]);
      CHECK(outside == 0.0);
      // Energy ratio over the whole utterance (zeros around the segment included).
      std::vector<double> a(audio[i].begin(), audio[i].end());
      const double measured = 10.0 * std::log10(mean_square(a) / mean_square(d));
      CHECK(measured == Approx(m.ratio_db).margin(0.01));
    }
  }
}

TEST_CASE("speech_noise_mix: speech mode adds a piece of another row's clean audio",
          "[unit][speech_noise_mix]") {
  auto audio = batch_of({16000, 24000, 19000, 30000});
  std::vector<std::vector<float>> noisy;
  std::mt19937_64 rng(3);
  auto mixes = mix_speech_noise(audio, always(0.0), nullptr, kRate, rng, noisy);
  for (size_t i = 0; i < audio.size(); ++i) {
    INFO("row " << i);
    const UtteranceMix& m = mixes[i];
    REQUIRE(m.selected);
    REQUIRE_FALSE(m.noise_mode);
    REQUIRE(m.segments.size() == 1);
    const MixSegment& s = m.segments[0];
    REQUIRE(s.source >= 0);
    CHECK(s.source != static_cast<int64_t>(i));
    const std::vector<float>& src = audio[static_cast<size_t>(s.source)];
    REQUIRE(s.source_offset + s.length <= static_cast<int64_t>(src.size()));
    REQUIRE(m.scale > 0);
    double worst = 0;
    for (int64_t t = 0; t < s.length; ++t) {
      const double got = static_cast<double>(noisy[i][static_cast<size_t>(s.start + t)]) -
                         audio[i][static_cast<size_t>(s.start + t)];
      const double want = m.scale * src[static_cast<size_t>(s.source_offset + t)];
      worst = std::max(worst, std::abs(got - want));
    }
    CHECK(worst < 1e-6);
  }
}

TEST_CASE("speech_noise_mix: noise mode without a noise source adds nothing; a single row is "
          "always noise mode; prob 0 mixes nothing",
          "[unit][speech_noise_mix]") {
  auto audio = batch_of({16000, 18000});
  std::vector<std::vector<float>> noisy;
  std::mt19937_64 rng(5);
  auto mixes = mix_speech_noise(audio, always(1.0), nullptr, kRate, rng, noisy);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(mixes[i].selected);
    CHECK(mixes[i].noise_mode);
    CHECK(mixes[i].scale == 0.0);
    CHECK(mixes[i].noise_file == -1);
    CHECK(noisy[i] == audio[i]);
  }
  auto one = batch_of({16000});
  mixes = mix_speech_noise(one, always(0.0), nullptr, kRate, rng, noisy);
  CHECK(mixes[0].noise_mode);
  CHECK(noisy[0] == one[0]);

  SpeechNoiseMixOptions never;
  never.prob = 0.0;
  auto pool = noise_pool("noise_p0.wav", 20000);
  mixes = mix_speech_noise(audio, never, pool.get(), kRate, rng, noisy);
  for (size_t i = 0; i < 2; ++i) {
    CHECK_FALSE(mixes[i].selected);
    CHECK(noisy[i] == audio[i]);
  }
}

TEST_CASE("speech_noise_mix: noise shorter than the segment is tiled from the drawn offset",
          "[unit][speech_noise_mix]") {
  auto pool = noise_pool("noise_short.wav", 3000);
  auto file = pool->get(0, kRate);
  auto audio = batch_of({32000});
  std::vector<std::vector<float>> noisy;
  std::mt19937_64 rng(11);
  auto mixes = mix_speech_noise(audio, always(1.0), pool.get(), kRate, rng, noisy);
  const UtteranceMix& m = mixes[0];
  REQUIRE(m.noise_file == 0);
  CHECK(m.noise_offset == 0);  // 3000 < mix_len 16000: no offset drawn
  const MixSegment& s = m.segments[0];
  double worst = 0;
  for (int64_t t = 0; t < s.length; ++t) {
    const double got = static_cast<double>(noisy[0][static_cast<size_t>(s.start + t)]) -
                       audio[0][static_cast<size_t>(s.start + t)];
    worst = std::max(worst, std::abs(got - m.scale * (*file)[static_cast<size_t>(t % 3000)]));
  }
  CHECK(worst < 1e-6);

  // A long file: a clip at the drawn offset.
  auto long_pool = noise_pool("noise_long2.wav", 50000);
  auto long_file = long_pool->get(0, kRate);
  mixes = mix_speech_noise(audio, always(1.0), long_pool.get(), kRate, rng, noisy);
  const UtteranceMix& m2 = mixes[0];
  CHECK(m2.noise_offset <= 50000 - m2.mix_len);
  const MixSegment& s2 = m2.segments[0];
  worst = 0;
  for (int64_t t = 0; t < s2.length; ++t) {
    const double got = static_cast<double>(noisy[0][static_cast<size_t>(s2.start + t)]) -
                       audio[0][static_cast<size_t>(s2.start + t)];
    worst = std::max(worst, std::abs(got - m2.scale * (*long_file)[static_cast<size_t>(
                                               m2.noise_offset + t)]));
  }
  CHECK(worst < 1e-6);
}

TEST_CASE("speech_noise_mix: several segments split mix_len, in order, without overlap",
          "[unit][speech_noise_mix]") {
  SpeechNoiseMixOptions o = always(0.5);
  o.min_mix_rate = 0.2;
  o.max_mix_rate = 0.8;
  o.min_num_segments = 2;
  o.max_num_segments = 4;
  o.max_num_speakers = 3;
  auto pool = noise_pool("noise_seg.wav", 8000);
  std::mt19937_64 rng(99);
  for (int rep = 0; rep < 20; ++rep) {
    auto audio = batch_of({16000, 17000, 22000, 25000});
    std::vector<std::vector<float>> noisy;
    auto mixes = mix_speech_noise(audio, o, pool.get(), kRate, rng, noisy);
    for (size_t i = 0; i < audio.size(); ++i) {
      const UtteranceMix& m = mixes[i];
      const auto n = static_cast<int64_t>(audio[i].size());
      CHECK(m.mix_len >= static_cast<int64_t>(0.2 * n) - 1);
      CHECK(m.mix_len <= static_cast<int64_t>(0.8 * n));
      CHECK(m.segments.size() >= 2);
      CHECK(m.segments.size() <= 4);
      int64_t total = 0, end = 0;
      for (const MixSegment& s : m.segments) {
        total += s.length;
        CHECK(s.start >= end);
        end = s.start + s.length;
        if (!m.noise_mode) CHECK(s.source != static_cast<int64_t>(i));
      }
      CHECK(total == m.mix_len);
      CHECK(end <= n);
    }
  }
}

TEST_CASE("speech_noise_mix: the same generator state mixes the same way, another one differently",
          "[unit][speech_noise_mix]") {
  auto pool = noise_pool("noise_seed.wav", 30000);
  SpeechNoiseMixOptions o;  // NeMo's NEST defaults: prob 0.5, noise_ratio 0.5
  auto audio = batch_of({16000, 20000, 24000, 18000, 21000, 23000});
  auto run = [&](uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::vector<float>> noisy;
    mix_speech_noise(audio, o, pool.get(), kRate, rng, noisy);
    return noisy;
  };
  CHECK(run(1234) == run(1234));
  CHECK(run(1234) != run(1235));
}

TEST_CASE("speech_noise_mix: option checks name the flag", "[unit][speech_noise_mix]") {
  auto bad = [](auto edit) {
    SpeechNoiseMixOptions o;
    edit(o);
    try {
      o.validate();
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK_THAT(bad([](auto& o) { o.prob = 1.5; }), Catch::Contains("--mix-prob"));
  CHECK_THAT(bad([](auto& o) { o.noise_ratio = -0.1; }), Catch::Contains("--noise-ratio"));
  CHECK_THAT(bad([](auto& o) { o.min_r_noise = 30; }), Catch::Contains("--min-r-noise"));
  CHECK_THAT(bad([](auto& o) { o.max_r_speech = -10; }), Catch::Contains("--max-r-speech"));
  CHECK_THAT(bad([](auto& o) { o.max_mix_rate = 0.2; }), Catch::Contains("--min-mix-rate"));
  CHECK_THAT(bad([](auto& o) { o.min_num_segments = 0; }), Catch::Contains("--min-num-segments"));
  CHECK_THAT(bad([](auto& o) { o.max_num_speakers = 0; }), Catch::Contains("--min-num-speakers"));
  CHECK(bad([](auto&) {}).empty());
}
