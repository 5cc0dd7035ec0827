// Parity of the Conv1d subsampler with FBK-fairseq (goldens/conformer/*conv1d_subsampler*).
#include <catch2/catch.hpp>

#include "goldens.h"
#include "models/golden_tensor.h"
#include "models/modules/conv1d_subsampler.h"

using namespace trellis;
using namespace trellis::testing;

TEST_CASE("Conv1dSubsampler matches FBK-fairseq fixtures", "[unit][conformer][golden]") {
  int found = 0;
  for (const auto& path : golden_files("conformer")) {
    if (path.find("conv1d_subsampler") == std::string::npos) continue;
    ++found;
    SECTION(path) {
      SafeTensorsFile f(path);
      auto cfg = golden_meta(f, "config");
      Conv1dSubsampler sub(cfg.at("in_channels").get<int64_t>(),
                           cfg.at("mid_channels").get<int64_t>(),
                           cfg.at("out_channels").get<int64_t>(),
                           cfg.at("kernel_sizes").get<std::vector<int64_t>>(), true);
      auto weights = golden_group(f, "subsample.");
      torch::NoGradGuard ng;
      for (auto& p : sub->named_parameters()) p.value().copy_(weights.at(p.key()));
      REQUIRE(sub->named_parameters().size() == weights.size());
      sub->eval();
      auto [y, lens] = sub->forward(golden(f, "src_tokens"), golden(f, "src_lengths"));
      auto want = golden(f, "output");
      auto want_lens = golden(f, "output_lengths");
      REQUIRE(y.sizes() == want.sizes());
      REQUIRE(torch::equal(lens, want_lens));
      double err = max_abs_diff(y, want);
      INFO(path << " max abs err " << err);
      WARN("conv1d_subsampler max abs err " << err);
      CHECK(err < 1e-6);
    }
  }
  REQUIRE(found > 0);
}
