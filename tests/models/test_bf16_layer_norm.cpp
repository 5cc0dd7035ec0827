// bf16_layer_norm (models/modules/bf16_layer_norm.h): the float32 layer norm of the bf16 input
// rounded to bf16, its three gradients against float32 autograd through the casts, and results
// that do not depend on the thread count.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "models/modules/bf16_layer_norm.h"
#include "thread_counts.h"

using namespace trellis;

namespace {

struct Grads {
  at::Tensor y, gx, gw, gb;
};

// y = layer_norm(x) and the gradients of sum(y * probe); fused or through float32 casts
Grads run(const at::Tensor& x0, const at::Tensor& w0, const at::Tensor& b0,
          const at::Tensor& probe, bool fused) {
  auto x = x0.clone().requires_grad_();
  auto w = w0.clone().requires_grad_(), b = b0.clone().requires_grad_();
  at::Tensor y = fused ? bf16_layer_norm(x, w, b, 1e-5)
                       : torch::layer_norm(x.to(at::kFloat), {x.size(-1)}, w, b, 1e-5)
                             .to(at::kBFloat16);
  (y.to(at::kFloat) * probe).sum().backward();
  return {y.detach(), x.grad(), w.grad(), b.grad()};
}

double rel(const at::Tensor& a, const at::Tensor& ref) {
  return (a.to(at::kFloat) - ref.to(at::kFloat)).norm().item<double>() /
         ref.to(at::kFloat).norm().item<double>();
}

}  // namespace

TEST_CASE("bf16_layer_norm: the float32 layer norm of bf16 rows, and its gradients",
          "[unit][isa][bf16]") {
  for (auto shape : {std::vector<int64_t>{7, 3, 144}, {5, 256}, {2, 4, 13}, {1, 1024}}) {
    INFO("shape " << at::IntArrayRef(shape));
    torch::manual_seed(11);
    const auto x = (torch::randn(shape) * 3 + 1).to(at::kBFloat16);
    const int64_t D = shape.back();
    const auto w = torch::randn({D}), b = torch::randn({D});
    const auto probe = torch::randn(shape);
    const Grads f = run(x, w, b, probe, true), ref = run(x, w, b, probe, false);
    REQUIRE(f.y.scalar_type() == at::kBFloat16);
    REQUIRE(f.y.sizes() == x.sizes());
    // the same float32 value rounded to bf16: equal but for rounding ties (1 ulp, rare)
    const auto diff = (f.y.to(at::kFloat) - ref.y.to(at::kFloat)).abs();
    CHECK((diff <= ref.y.to(at::kFloat).abs() * (1.0 / 128) + 1e-6).all().item<bool>());
    CHECK(diff.gt(0).to(at::kFloat).mean().item<double>() < 0.01);
    CHECK(f.gx.scalar_type() == at::kBFloat16);
    CHECK(f.gw.scalar_type() == at::kFloat);
    CHECK(f.gb.scalar_type() == at::kFloat);
    CHECK(rel(f.gx, ref.gx) < 1e-2);
    CHECK(rel(f.gw, ref.gw) < 1e-4);
    CHECK(rel(f.gb, ref.gb) < 1e-5);
  }
}

TEST_CASE("bf16_layer_norm: results do not depend on the number of threads", "[unit][isa][bf16]") {
  torch::manual_seed(12);
  const auto x = torch::randn({300, 144}).to(at::kBFloat16);
  const auto w = torch::randn({144}), b = torch::randn({144});
  const auto probe = torch::randn({300, 144});
  const auto [one, two] =
      trellis::test::at_one_and_two_threads([&] { return run(x, w, b, probe, true); });
  trellis::test::check_bitwise_equal(one, two);
  CHECK_THROWS(bf16_layer_norm(torch::randn({3, 4}), w.narrow(0, 0, 4), b.narrow(0, 0, 4), 1e-5));
}
