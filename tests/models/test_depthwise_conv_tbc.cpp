// depthwise_conv1d_tbc against LibTorch's own depthwise Conv1d on the (B, C, T) view: values,
// the gradients of input, weight and bias, thread-count independence, bfloat16 inputs.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <tuple>

#include "models/modules/depthwise_conv_tbc.h"
#include "thread_counts.h"

using namespace trellis;

namespace {

struct Grads {
  at::Tensor y, gx, gw, gb;
};

// y = conv(x); backward of sum(y * probe); bias only when `with_bias`
Grads run(bool reference, const at::Tensor& x0, const at::Tensor& w0, const at::Tensor& b0,
          const at::Tensor& probe) {
  auto x = x0.clone().requires_grad_(true);
  auto w = w0.clone().requires_grad_(true);
  auto b = b0.defined() ? b0.clone().requires_grad_(true) : at::Tensor();
  at::Tensor y;
  if (reference) {
    const int64_t C = x.size(2), P = (w.size(2) - 1) / 2;
    y = at::conv1d(x.permute({1, 2, 0}), w, b, 1, P, 1, C).permute({2, 0, 1});
  } else {
    y = depthwise_conv1d_tbc(x, w, b);
  }
  (y * probe).sum().backward();
  return {y.detach(), x.grad(), w.grad(), b.defined() ? b.grad() : at::Tensor()};
}

}  // namespace

TEST_CASE("depthwise_conv1d_tbc: values and gradients of a depthwise Conv1d on (B, C, T)",
          "[unit][isa][conformer]") {
  torch::manual_seed(0);
  // (T, B, C, K, bias): C = 144 and 70 leave a remainder after the 64-channel blocks, T = 5 < K,
  // T * B = 130 spans three 64-row blocks of the weight gradient
  using Case = std::tuple<int64_t, int64_t, int64_t, int64_t, bool>;
  for (auto [T, B, C, K, bias] : {Case{26, 5, 144, 31, false}, Case{26, 5, 144, 31, true},
                                  Case{5, 2, 70, 31, true}, Case{1, 1, 3, 3, false},
                                  Case{40, 3, 256, 15, false}}) {
    CAPTURE(T, B, C, K, bias);
    const auto x = torch::randn({T, B, C});
    const auto w = torch::randn({C, 1, K}) * 0.2;
    const auto b = bias ? torch::randn({C}) : at::Tensor();
    const auto probe = torch::randn({T, B, C});
    const Grads ref = run(true, x, w, b, probe), got = run(false, x, w, b, probe);
    CHECK(got.y.is_contiguous());
    CHECK(torch::allclose(got.y, ref.y, 1e-5, 1e-5));
    CHECK(torch::allclose(got.gx, ref.gx, 1e-5, 1e-5));
    CHECK(torch::allclose(got.gw, ref.gw, 1e-4, 1e-4));
    CHECK(got.gw.sizes() == w.sizes());
    if (bias) CHECK(torch::allclose(got.gb, ref.gb, 1e-4, 1e-4));
  }
}

TEST_CASE("depthwise_conv1d_tbc: results do not depend on the number of threads",
          "[unit][isa][conformer]") {
  torch::manual_seed(1);
  const auto x = torch::randn({300, 8, 144});
  const auto w = torch::randn({144, 1, 31});
  const auto b = torch::randn({144});
  const auto probe = torch::randn({300, 8, 144});
  const auto [one, two] =
      trellis::test::at_one_and_two_threads([&] { return run(false, x, w, b, probe); });
  trellis::test::check_bitwise_equal(one, two);
}

TEST_CASE("depthwise_conv1d_tbc: bfloat16 input is convolved in float32, shapes are checked",
          "[unit][isa][conformer]") {
  torch::manual_seed(2);
  const auto x = torch::randn({12, 2, 20}).to(torch::kBFloat16);
  const auto w = torch::randn({20, 1, 5});
  const auto y = depthwise_conv1d_tbc(x, w, at::Tensor());
  CHECK(y.scalar_type() == torch::kFloat);
  CHECK(torch::equal(y, depthwise_conv1d_tbc(x.to(torch::kFloat), w, at::Tensor())));
  CHECK_THROWS(depthwise_conv1d_tbc(x, torch::randn({20, 1, 4}), at::Tensor()));  // K even
  CHECK_THROWS(depthwise_conv1d_tbc(x, torch::randn({21, 1, 5}), at::Tensor()));  // C differs
  CHECK_THROWS(depthwise_conv1d_tbc(x.view({24, 20}), w, at::Tensor()));
}
