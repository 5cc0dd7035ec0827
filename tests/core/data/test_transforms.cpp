// Feature transforms of fairseq's config YAML: utterance/global CMVN against the fairseq goldens
// and hand values, SpecAugment reproducibility and bounds, and per-split selection.
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/data/feature_transform.h"
#include "core/data/global_cmvn.h"
#include "core/io/npy.h"
#include "core/io/safetensors.h"
#include "core/data/specaugment.h"
#include "core/data/utterance_cmvn.h"
#include "core/io/zip_archive.h"
#include "core/error.h"
#include "goldens.h"

namespace fs = std::filesystem;
using namespace trellis;

namespace {

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
  return m;
}

fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("trellis_tf_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

void write_stats(const std::string& path, const std::vector<float>& mean,
                 const std::vector<float>& std) {
  ZipWriter w(path);
  w.add("mean.npy", encode_npy_f32(mean.data(), {int64_t(mean.size())}));
  w.add("std.npy", encode_npy_f32(std.data(), {int64_t(std.size())}));
}

std::vector<float> ramp(int64_t T, int64_t C) {
  std::vector<float> x(size_t(T * C));
  for (int64_t i = 0; i < T * C; ++i) x[size_t(i)] = float(std::sin(0.37 * double(i)) * 3 + 1);
  return x;
}

}  // namespace

TEST_CASE("utterance_cmvn: hand values", "[unit][cmvn]") {
  // T=2, C=2: column 0 = {1, 3} (mean 2, std 1), column 1 = {5, 5} (std -> sqrt(1e-10)).
  std::vector<float> x = {1, 5, 3, 5};
  UtteranceCmvn().apply(x, 2, 2);
  CHECK(x[0] == Approx(-1.0f));
  CHECK(x[2] == Approx(1.0f));
  CHECK(x[1] == 0.0f);
  CHECK(x[3] == 0.0f);
  std::vector<float> y = {1, 5, 3, 5};
  UtteranceCmvn({/*norm_means=*/false, /*norm_vars=*/true}).apply(y, 2, 2);
  CHECK(y[0] == Approx(1.0f));  // std 1 from the un-centred sums
  CHECK(y[2] == Approx(3.0f));
  std::vector<float> z = {1, 5, 3, 5};
  UtteranceCmvn({true, false}).apply(z, 2, 2);
  CHECK(z == std::vector<float>{-1, 0, 1, 0});
  std::vector<float> empty;
  UtteranceCmvn().apply(empty, 0, 80);  // no-op
}

TEST_CASE("cmvn: matches fairseq's UtteranceCMVN and GlobalCMVN goldens", "[unit][cmvn][golden]") {
  auto files = trellis::testing::golden_files("fbank");
  REQUIRE_FALSE(files.empty());
  fs::path dir = temp_dir();
  for (const auto& path : files) {
    SafeTensorsFile st(path);
    if (!st.contains("global_cmvn.mean")) continue;
    std::string npz = (dir / "gcmvn.npz").string();
    write_stats(npz, st.get("global_cmvn.mean").to_float(), st.get("global_cmvn.std").to_float());
    GlobalCmvn global(GlobalCmvnOptions{npz});
    for (int i = 0; st.contains("utt" + std::to_string(i) + ".fbank"); ++i) {
      const std::string u = "utt" + std::to_string(i);
      INFO(path << " " << u);
      const SafeTensor& f = st.get(u + ".fbank");
      std::vector<float> x = f.to_float();
      UtteranceCmvn().apply(x, f.shape[0], f.shape[1]);
      CHECK(max_abs_diff(x, st.get(u + ".utterance_cmvn").to_float()) <= 1e-5);
      std::vector<float> g = f.to_float();
      global.apply(g, f.shape[0], f.shape[1]);
      CHECK(max_abs_diff(g, st.get(u + ".global_cmvn").to_float()) <= 1e-5);
    }
  }
  fs::remove_all(dir);
}

TEST_CASE("global_cmvn: numpy npz, hand values and errors", "[unit][cmvn]") {
  GlobalCmvn g({1.0f, 2.0f}, {2.0f, 4.0f});
  std::vector<float> x = {3, 2, 1, 10};
  g.apply(x, 2, 2);
  CHECK(x == std::vector<float>{1.0f, 0.0f, 0.0f, 2.0f});
  std::vector<float> wrong(6);
  CHECK_THROWS_AS(g.apply(wrong, 2, 3), DataError);
  std::string np = std::string(TRELLIS_TEST_DATA) + "/goldens/fbank_extra/gcmvn_numpy.npz";
  GlobalCmvn from_numpy(GlobalCmvnOptions{np});  // np.savez: ZIP64 extras in local headers
  CHECK(from_numpy.mean() == std::vector<float>{0, 1, 2, 3});
  CHECK(from_numpy.stddev() == std::vector<float>{1, 2, 4, 8});
  CHECK_THROWS_WITH(GlobalCmvn(GlobalCmvnOptions{"/nonexistent/stats.npz"}),
                    Catch::Contains("/nonexistent/stats.npz"));
}

TEST_CASE("specaugment: reproducible, seed-dependent, masks within bounds", "[unit][specaugment]") {
  SpecAugmentOptions o;
  o.freq_mask_n = 2;
  o.freq_mask_f = 27;
  o.time_mask_n = 2;
  o.time_mask_t = 40;
  o.time_mask_p = 1.0;
  o.mask_value = -100.0f;
  SpecAugment sa(o);
  const int64_t T = 300, F = 80;
  const std::vector<float> x = ramp(T, F);
  auto run = [&](uint64_t seed) {
    std::vector<float> y = x;
    std::mt19937_64 rng(seed);
    sa.apply(y, T, F, rng);
    return y;
  };
  CHECK(run(1) == run(1));
  int differing = 0;
  for (uint64_t s = 2; s < 12; ++s) differing += run(s) != run(1);
  CHECK(differing >= 9);
  for (uint64_t s = 0; s < 50; ++s) {
    std::vector<float> y = run(s);
    int masked_cols = 0, masked_rows = 0;
    for (int64_t c = 0; c < F; ++c) {
      bool all = true;
      for (int64_t t = 0; t < T; ++t) all = all && y[t * F + c] == -100.0f;
      masked_cols += all;
    }
    for (int64_t t = 0; t < T; ++t) {
      bool all = true;
      for (int64_t c = 0; c < F; ++c) all = all && y[t * F + c] == -100.0f;
      masked_rows += all;
    }
    CHECK(masked_cols <= 2 * 26);
    CHECK(masked_rows <= 2 * 39);
    // Every value is the input or the mask value.
    size_t other = 0;
    for (size_t i = 0; i < y.size(); ++i) other += y[i] != x[i] && y[i] != -100.0f;
    CHECK(other == 0);
  }
  // F < freq_mask_F: returned unchanged (fairseq), even time masks.
  std::vector<float> small = ramp(50, 20);
  std::mt19937_64 rng(3);
  sa.apply(small, 50, 20, rng);
  CHECK(small == ramp(50, 20));
}

TEST_CASE("specaugment: default mask value is the spectrogram mean; time warp",
          "[unit][specaugment]") {
  SpecAugmentOptions o;
  o.time_mask_n = 1;
  o.time_mask_t = 10;
  o.time_mask_p = 1.0;
  std::vector<float> x(20 * 4);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(i % 4);  // mean 1.5
  std::mt19937_64 rng(7);
  bool saw_mask = false;
  for (int k = 0; k < 20 && !saw_mask; ++k) {
    std::vector<float> y = x;
    SpecAugment(o).apply(y, 20, 4, rng);
    for (int t = 0; t < 20; ++t) saw_mask = saw_mask || (y[t * 4] == 1.5f && y[t * 4 + 3] == 1.5f);
  }
  CHECK(saw_mask);
  SpecAugmentOptions w;
  w.time_warp_w = 5;
  const std::vector<float> r = ramp(100, 8);
  std::vector<float> a = r, b = r;
  std::mt19937_64 r1(11), r2(11);
  SpecAugment(w).apply(a, 100, 8, r1);
  SpecAugment(w).apply(b, 100, 8, r2);
  CHECK(a == b);
  CHECK(a.size() == r.size());
}

TEST_CASE("build_transforms: per-split selection, options and errors", "[unit][transforms]") {
  fs::path dir = temp_dir();
  write_stats((dir / "gcmvn.npz").string(), {0, 0}, {1, 1});
  const std::string cfg_path = (dir / "config.yaml").string();
  YAML::Node cfg = YAML::Load(R"(
specaugment: {freq_mask_F: 27, freq_mask_N: 2, time_mask_N: 2, time_mask_T: 100, time_mask_p: 1.0, time_wrap_W: 0}
global_cmvn: {stats_npz_path: gcmvn.npz}
transforms:
  '*': [utterance_cmvn]
  _train: [utterance_cmvn, specaugment]
  dev_special: [global_cmvn]
)");
  auto names = [](const std::vector<std::unique_ptr<FeatureTransform>>& v) {
    std::vector<std::string> n;
    for (const auto& t : v) n.push_back(t->name());
    return n;
  };
  CHECK(names(build_transforms(cfg, "train_asr", cfg_path)) ==
        std::vector<std::string>{"utterance_cmvn", "specaugment"});
  CHECK(names(build_transforms(cfg, "dev_asr", cfg_path)) ==
        std::vector<std::string>{"utterance_cmvn"});
  CHECK(names(build_transforms(cfg, "dev_special", cfg_path)) ==
        std::vector<std::string>{"global_cmvn"});
  CHECK(names(build_transforms(cfg, "dev_asr", cfg_path, /*is_train=*/true)).size() == 2);
  auto train = build_transforms(cfg, "train", cfg_path);
  const auto* sa = dynamic_cast<const SpecAugment*>(train[1].get());
  REQUIRE(sa != nullptr);
  CHECK(sa->options().freq_mask_f == 27);
  CHECK(sa->options().time_mask_t == 100);
  CHECK(sa->options().time_warp_w == 0);  // time_wrap_W is not read, as in fairseq
  CHECK_FALSE(sa->options().mask_value.has_value());
  std::vector<float> x = ramp(120, 80);
  std::mt19937_64 rng(0);
  CHECK(apply_transforms(train, x, 120, 80, rng) == 80);

  YAML::Node bad = YAML::Load("transforms: {'*': [utterance_cmvn, warp_drive]}");
  CHECK_THROWS_WITH(build_transforms(bad, "test", "/data/config_asr.yaml"),
                    Catch::Contains("/data/config_asr.yaml") && Catch::Contains("warp_drive"));
  YAML::Node missing =
      YAML::Load("transforms: {'*': [global_cmvn]}\nglobal_cmvn: {stats_npz_path: nope.npz}");
  CHECK_THROWS_WITH(build_transforms(missing, "test", cfg_path), Catch::Contains("nope.npz"));
  CHECK(build_transforms(YAML::Load("vocab_filename: dict.txt"), "train", cfg_path).empty());
  fs::remove_all(dir);
}

TEST_CASE("delta_deltas: matches torchaudio compute_deltas (win_length 5)", "[unit][transforms]") {
  // Expected values from fairseq's DeltaDeltas (torchaudio.functional.compute_deltas twice).
  std::vector<float> x = {1, 2, 4, 0, 9, -2, 16, 5};  // (T=4, F=2)
  const std::vector<float> expect = {1,     2,     1.9f,  -1.0f, 0.65f, 0.54f, 4,      0,
                                     3.8f,  0.2f,  0.47f, 0.75f, 9,     -2,    4.2f,   1.1f,
                                     0.17f, 0.69f, 16,    5,     3.1f,  1.7f,  -0.25f, 0.36f};
  YAML::Node cfg = YAML::Load("transforms: {'*': [delta_deltas]}");
  auto t = build_transforms(cfg, "test", "config.yaml");
  REQUIRE(t.size() == 1);
  std::mt19937_64 rng(0);
  CHECK(apply_transforms(t, x, 4, 2, rng) == 6);
  REQUIRE(x.size() == expect.size());
  for (size_t i = 0; i < x.size(); ++i) CHECK(x[i] == Approx(expect[i]).margin(1e-5));
}
