// Front-end throughput: Kaldi 80-bin fbank (25/10 ms, 16 kHz), wav/flac reading, and both, in
// seconds of audio per CPU-second on one thread. Reads the utterances ref_fbank.py leaves in its
// --workdir (u0000.wav, u0000.flac, ...) so both sides see the same audio; without --dir it uses
// seeded Gaussian noise. bench/run_fbank.sh runs both and prints the ratios.
//
//   build/bin/bench_fbank --dir /tmp/fbank_bench [--repeats 5]
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/data/audio_reader.h"
#include "core/data/fbank.h"

namespace fs = std::filesystem;
using namespace trellis;

namespace {

double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Median CPU and wall seconds of fn() over `repeats` runs after one warm-up run.
std::pair<double, double> timed(const std::function<void()>& fn, int repeats) {
  fn();
  std::vector<double> cpu, wall;
  for (int r = 0; r < repeats; ++r) {
    double c0 = cpu_seconds(), w0 = wall_seconds();
    fn();
    cpu.push_back(cpu_seconds() - c0);
    wall.push_back(wall_seconds() - w0);
  }
  std::sort(cpu.begin(), cpu.end());
  std::sort(wall.begin(), wall.end());
  return {cpu[cpu.size() / 2], wall[wall.size() / 2]};
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  int repeats = 5;
  double minutes = 10;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (a == "--repeats" && i + 1 < argc) {
      repeats = std::stoi(argv[++i]);
    } else if (a == "--minutes" && i + 1 < argc) {
      minutes = std::stod(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: bench_fbank [--dir DIR] [--repeats N] [--minutes M]\n");
      return 2;
    }
  }
  const int sr = 16000;
  std::vector<std::string> wavs, flacs;
  std::vector<std::vector<float>> waves;  // int16 scale, like the reference
  if (!dir.empty()) {
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      if (name.size() == 9 && name[0] == 'u' && e.path().extension() == ".wav") {
        wavs.push_back(e.path().string());
      }
    }
    std::sort(wavs.begin(), wavs.end());
    for (const auto& w : wavs) {
      flacs.push_back(w.substr(0, w.size() - 4) + ".flac");
      Audio a = read_audio(w, 0);
      for (float& v : a.samples) v *= 32768.0f;
      waves.push_back(std::move(a.samples));
    }
  } else {
    std::mt19937_64 rng(1);
    std::normal_distribution<float> g(0, 3000);
    size_t n = size_t(minutes * 60 * sr), step = size_t(10 * sr);
    for (size_t i = 0; i < n; i += step) {
      std::vector<float> c(std::min(step, n - i));
      for (float& v : c) v = std::round(std::clamp(g(rng), -32768.f, 32767.f));
      waves.push_back(std::move(c));
    }
  }
  if (waves.empty()) {
    std::fprintf(stderr, "bench_fbank: no u*.wav files in %s\n", dir.c_str());
    return 1;
  }
  size_t samples = 0;
  for (const auto& w : waves) samples += w.size();
  const double total_s = double(samples) / sr;
  FbankOptions opts;  // 80 bins, 25/10 ms, povey, dither 0: the reference's call
  Fbank fbank(opts);
  int64_t frames = 0;
  for (const auto& w : waves) frames += fbank.num_frames(w.size());
  std::printf("trellis fbank (FFTW3f, 1 thread); audio %.0f s in %zu utterances (%s)\n", total_s,
              waves.size(), dir.empty() ? "noise" : dir.c_str());

  struct Case {
    std::string name;
    std::function<void()> fn;
  };
  std::vector<Case> cases;
  volatile float sink = 0;
  cases.push_back({"fbank 80-bin (trellis::Fbank)", [&] {
                     for (const auto& w : waves)
                       sink = sink + fbank.compute(w.data(), w.size(), nullptr)[0];
                   }});
  if (!wavs.empty()) {
    cases.push_back({"read wav (libsndfile, PCM16 -> float32)", [&] {
                       for (const auto& w : wavs) sink = sink + read_audio(w, 0).samples[0];
                     }});
    cases.push_back({"read flac (libsndfile, decode -> float32)", [&] {
                       for (const auto& f : flacs) sink = sink + read_audio(f, 0).samples[0];
                     }});
    cases.push_back({"read flac + fbank", [&] {
                       for (const auto& f : flacs) {
                         Audio a = read_audio(f, 0);
                         sink = sink + compute_fbank_features(a, 80)[0];
                       }
                     }});
  }
  for (const Case& c : cases) {
    const std::string& name = c.name;
    auto [cpu, wall] = timed(c.fn, repeats);
    std::printf("%-45s: %9.0f s audio per CPU-s (CPU %.1f ms, wall %.1f ms; %.0fx real time wall",
                name.c_str(), total_s / cpu, cpu * 1e3, wall * 1e3, total_s / wall);
    if (name.find("fbank") != std::string::npos)
      std::printf("; %.0f frames/s", double(frames) / wall);
    std::printf(")\n");
  }
  return 0;
}
