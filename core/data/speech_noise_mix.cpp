#include "core/data/speech_noise_mix.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/data/noise_augment.h"
#include "core/error.h"

namespace trellis {

double mix_uniform01(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

int64_t mix_uniform_int(std::mt19937_64& rng, int64_t m) {
  TRELLIS_CHECK(m >= 1, Error, "mix_uniform_int: empty range ({})", m);
  const auto k = static_cast<int64_t>(mix_uniform01(rng) * static_cast<double>(m));
  return std::min(k, m - 1);
}

void SpeechNoiseMixOptions::validate() const {
  TRELLIS_CHECK(prob >= 0 && prob <= 1, ConfigError, "--mix-prob must be in [0, 1], got {}", prob);
  TRELLIS_CHECK(noise_ratio >= 0 && noise_ratio <= 1, ConfigError,
                "--noise-ratio must be in [0, 1], got {}", noise_ratio);
  TRELLIS_CHECK(min_r_speech <= max_r_speech, ConfigError,
                "--min-r-speech {} is greater than --max-r-speech {}", min_r_speech, max_r_speech);
  TRELLIS_CHECK(min_r_noise <= max_r_noise, ConfigError,
                "--min-r-noise {} is greater than --max-r-noise {}", min_r_noise, max_r_noise);
  TRELLIS_CHECK(0 <= min_mix_rate && min_mix_rate <= max_mix_rate && max_mix_rate <= 1,
                ConfigError,
                "--min-mix-rate {} and --max-mix-rate {} must satisfy 0 <= min <= max <= 1",
                min_mix_rate, max_mix_rate);
  TRELLIS_CHECK(1 <= min_num_segments && min_num_segments <= max_num_segments, ConfigError,
                "--min-num-segments {} and --max-num-segments {} must satisfy 1 <= min <= max",
                min_num_segments, max_num_segments);
  TRELLIS_CHECK(1 <= min_num_speakers && min_num_speakers <= max_num_speakers, ConfigError,
                "--min-num-speakers {} and --max-num-speakers {} must satisfy 1 <= min <= max",
                min_num_speakers, max_num_speakers);
}

namespace {

double mean_square(const std::vector<float>& x, size_t n) {
  double e = 0;
  for (size_t t = 0; t < n; ++t) e += static_cast<double>(x[t]) * static_cast<double>(x[t]);
  return n > 0 ? e / static_cast<double>(n) : 0.0;
}

int64_t draw_count(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  return lo < hi ? lo + mix_uniform_int(rng, hi - lo + 1) : lo;
}

// mix_len split into s equal-probability parts (numpy's multinomial in distribution).
std::vector<int64_t> split_lengths(std::mt19937_64& rng, int64_t mix_len, int64_t s) {
  std::vector<int64_t> lens(static_cast<size_t>(s), 0);
  int64_t rest = mix_len;
  for (int64_t k = 0; k + 1 < s; ++k) {
    const double p = 1.0 / static_cast<double>(s - k);
    int64_t n = 0;
    for (int64_t t = 0; t < rest; ++t) n += mix_uniform01(rng) < p ? 1 : 0;
    lens[static_cast<size_t>(k)] = n;
    rest -= n;
  }
  lens.back() = rest;
  return lens;
}

}  // namespace

std::vector<UtteranceMix> mix_speech_noise(const std::vector<std::vector<float>>& audio,
                                           const SpeechNoiseMixOptions& o, const AudioPool* noise,
                                           int sample_rate, std::mt19937_64& rng,
                                           std::vector<std::vector<float>>& noisy) {
  const auto B = static_cast<int64_t>(audio.size());
  noisy = audio;
  std::vector<UtteranceMix> mixes(static_cast<size_t>(B));
  for (int64_t i = 0; i < B; ++i) {
    UtteranceMix& m = mixes[static_cast<size_t>(i)];
    const std::vector<float>& a = audio[static_cast<size_t>(i)];
    const auto n = static_cast<int64_t>(a.size());
    if (!(mix_uniform01(rng) < o.prob)) continue;
    m.selected = true;
    double r = o.min_mix_rate;
    if (o.min_mix_rate < o.max_mix_rate)
      r = o.min_mix_rate + (o.max_mix_rate - o.min_mix_rate) * mix_uniform01(rng);
    m.mix_len = std::min(n, std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(n) * r)));
    const int64_t S = draw_count(rng, o.min_num_segments, o.max_num_segments);
    const int64_t K = std::min(draw_count(rng, o.min_num_speakers, o.max_num_speakers), B - 1);
    const std::vector<int64_t> lens =
        S == 1 ? std::vector<int64_t>{m.mix_len} : split_lengths(rng, m.mix_len, S);
    m.noise_mode = mix_uniform01(rng) < o.noise_ratio || B == 1;
    const double lo_r = m.noise_mode ? o.min_r_noise : o.min_r_speech;
    const double hi_r = m.noise_mode ? o.max_r_noise : o.max_r_speech;
    m.ratio_db = lo_r + (hi_r - lo_r) * mix_uniform01(rng);

    // The segments' samples, before placement.
    std::vector<std::vector<float>> pieces(static_cast<size_t>(S));
    std::vector<int64_t> sources(static_cast<size_t>(S), -1), offsets(static_cast<size_t>(S), 0);
    if (m.noise_mode) {
      std::vector<float> clip(static_cast<size_t>(m.mix_len), 0.f);
      if (noise != nullptr && noise->size() > 0) {
        m.noise_file = mix_uniform_int(rng, static_cast<int64_t>(noise->size()));
        auto file = noise->get(static_cast<size_t>(m.noise_file), sample_rate);
        const auto L = static_cast<int64_t>(file->size());
        m.noise_offset = L > m.mix_len ? mix_uniform_int(rng, L - m.mix_len + 1) : 0;
        for (int64_t t = 0; t < m.mix_len; ++t)
          clip[static_cast<size_t>(t)] = (*file)[static_cast<size_t>((m.noise_offset + t) % L)];
      }
      int64_t at = 0;
      for (int64_t s = 0; s < S; ++s) {
        const int64_t len = lens[static_cast<size_t>(s)];
        pieces[static_cast<size_t>(s)].assign(clip.begin() + at, clip.begin() + at + len);
        offsets[static_cast<size_t>(s)] = at;
        at += len;
      }
    } else {
      std::vector<int64_t> others;
      for (int64_t j = 0; j < B; ++j)
        if (j != i) others.push_back(j);
      for (int64_t k = 0; k < K; ++k) {  // partial Fisher-Yates: others[0..K) chosen
        const int64_t pick = k + mix_uniform_int(rng, static_cast<int64_t>(others.size()) - k);
        std::swap(others[static_cast<size_t>(k)], others[static_cast<size_t>(pick)]);
      }
      int64_t c = 0;
      for (int64_t s = 0; s < S; ++s) {
        const int64_t len = lens[static_cast<size_t>(s)];
        const int64_t j = others[static_cast<size_t>(c)];
        const std::vector<float>& src = audio[static_cast<size_t>(j)];
        const auto nj = static_cast<int64_t>(src.size());
        std::vector<float>& piece = pieces[static_cast<size_t>(s)];
        piece.resize(static_cast<size_t>(len));
        int64_t start = 0;
        if (len > nj) {
          for (int64_t t = 0; t < len; ++t)
            piece[static_cast<size_t>(t)] = nj > 0 ? src[static_cast<size_t>(t % nj)] : 0.f;
        } else {
          start = nj > len ? mix_uniform_int(rng, nj - len) : 0;
          std::copy(src.begin() + start, src.begin() + start + len, piece.begin());
        }
        sources[static_cast<size_t>(s)] = j;
        offsets[static_cast<size_t>(s)] = start;
        if (++c >= K) c = mix_uniform_int(rng, K);
      }
    }

    // Placement and scaling.
    std::vector<float> e(static_cast<size_t>(n), 0.f);
    int64_t lo = 0, hi = n - m.mix_len;
    for (int64_t s = 0; s < S; ++s) {
      const int64_t len = lens[static_cast<size_t>(s)];
      int64_t start = lo;
      if (lo < hi) start = lo + mix_uniform_int(rng, hi - lo);
      const std::vector<float>& piece = pieces[static_cast<size_t>(s)];
      for (int64_t t = 0; t < len && start + t < n; ++t)
        e[static_cast<size_t>(start + t)] = piece[static_cast<size_t>(t)];
      m.segments.push_back(MixSegment{start, len, sources[static_cast<size_t>(s)],
                                      offsets[static_cast<size_t>(s)]});
      lo = start + len;
      hi += len;
    }
    const double e_audio = mean_square(a, static_cast<size_t>(n));
    const double e_noise = mean_square(e, static_cast<size_t>(n));
    m.scale = e_noise > 0 ? std::sqrt(e_audio / (std::pow(10.0, m.ratio_db / 10.0) * e_noise)) : 0;
    if (m.scale == 0) continue;
    std::vector<float>& y = noisy[static_cast<size_t>(i)];
    for (int64_t t = 0; t < n; ++t)
      y[static_cast<size_t>(t)] = static_cast<float>(
          static_cast<double>(a[static_cast<size_t>(t)]) +
          m.scale * static_cast<double>(e[static_cast<size_t>(t)]));
  }
  return mixes;
}

}  // namespace trellis
