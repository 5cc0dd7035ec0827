// trellis::gelu: same values as at::gelu, and a correct gradient for a transposed incoming
// gradient (LibTorch 1.13's own GeluBackward returns zeros there; the check documents it).
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include "models/modules/gelu.h"

TEST_CASE("gelu: values and gradients for any gradient layout", "[unit][modules]") {
  torch::manual_seed(3);
  at::Tensor x = torch::randn({2, 16, 50}, torch::kDouble).set_requires_grad(true);
  at::Tensor g = torch::randn({2, 50, 16}, torch::kDouble).transpose(1, 2);  // a transposed view
  at::Tensor y = trellis::gelu(x);
  CHECK(torch::allclose(y, at::gelu(x)));
  at::Tensor ours = torch::autograd::grad({y}, {x}, {g})[0];
  // d/dx x * Phi(x) = Phi(x) + x * phi(x)
  at::Tensor xd = x.detach();
  at::Tensor want = g * (0.5 * (1 + torch::erf(xd / std::sqrt(2.0))) +
                         xd * torch::exp(-0.5 * xd * xd) / std::sqrt(2 * M_PI));
  CHECK(torch::allclose(ours, want, 1e-10, 1e-10));
  at::Tensor theirs = torch::autograd::grad({at::gelu(x)}, {x}, {g})[0];
  INFO("LibTorch's own GeluBackward on a transposed gradient, |error| = "
       << (theirs - want).abs().max().item<double>());
  CHECK(torch::allclose(at::gelu(x).detach(), y.detach()));
}
