// Parity of the CTC compression strategies with FBK-fairseq (goldens/conformer/*ctc_compress*).
#include <catch2/catch.hpp>

#include "goldens.h"
#include "models/conformer/ctc_compress.h"
#include "models/golden_tensor.h"

using namespace trellis;
using namespace trellis::testing;

TEST_CASE("CTC compression matches FBK-fairseq fixtures", "[unit][conformer][golden]") {
  int found = 0;
  for (const auto& path : golden_files("conformer")) {
    if (path.find("ctc_compress") == std::string::npos) continue;
    SafeTensorsFile f(path);
    auto cfg = golden_meta(f, "config");
    auto x = golden(f, "x");
    auto logits = golden(f, "ctc_logits");
    auto lengths = golden(f, "lengths");
    // every "<case>.x" is a case: <strategy> or <strategy>_maxout<M>
    for (const auto& name : f.names()) {
      if (name.size() < 3 || name.compare(name.size() - 2, 2, ".x") != 0) continue;
      std::string case_name = name.substr(0, name.size() - 2);
      ++found;
      CtcCompressConfig c;
      c.fixed_ratio = cfg.value("fixed_ratio", int64_t{4});
      auto pos = case_name.find("_maxout");
      c.strategy = case_name.substr(0, pos);
      if (pos != std::string::npos) c.max_out_size = std::stoll(case_name.substr(pos + 7));
      auto [y, new_lengths] = ctc_compress(x, logits, lengths, c);
      auto want = golden(f, case_name + ".x");
      auto want_lengths = golden(f, case_name + ".lengths");
      INFO(path << " case " << case_name);
      REQUIRE(torch::equal(new_lengths, want_lengths));
      REQUIRE(y.size(0) <= want.size(0));
      double err = max_abs_diff_valid(y, want, want_lengths);
      // beyond each new length the reference holds zeros
      auto rest = want.narrow(0, y.size(0), want.size(0) - y.size(0));
      double tail = rest.numel() ? rest.abs().max().item<double>() : 0.0;
      WARN("ctc_compress " << case_name << " max abs err " << err);
      CHECK(err < 1e-6);
      CHECK(tail == 0.0);
    }
  }
  REQUIRE(found > 0);
}

TEST_CASE("CTC compression: finite-difference gradient in x (double)", "[unit][conformer]") {
  torch::manual_seed(0);
  auto x = torch::randn({6, 2, 3}, torch::kDouble);
  auto logits = torch::randn({6, 2, 4}, torch::kDouble);
  auto lengths = torch::tensor({6, 4}, torch::kLong);
  for (std::string s : {"avg", "weighted", "softmax", "fixed"}) {
    CtcCompressConfig c;
    c.strategy = s;
    c.fixed_ratio = 2;
    auto xg = x.clone().requires_grad_(true);
    auto y = ctc_compress(xg, logits, lengths, c).first;
    auto v = torch::randn(y.sizes(), torch::kDouble);
    (y * v).sum().backward();
    auto f = [&](const torch::Tensor& in) {
      return (ctc_compress(in, logits, lengths, c).first * v).sum().item<double>();
    };
    for (int k = 0; k < 5; ++k) {
      auto d = torch::randn(x.sizes(), torch::kDouble);
      double eps = 1e-6;
      double numeric = (f(x + eps * d) - f(x - eps * d)) / (2 * eps);
      double analytic = (xg.grad() * d).sum().item<double>();
      INFO(s);
      CHECK(std::abs(numeric - analytic) < 1e-6 * (1 + std::abs(analytic)));
    }
  }
}
