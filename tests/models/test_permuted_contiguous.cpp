// permuted_contiguous: the values and gradients of x.permute(dims).contiguous(), contiguous both ways.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "models/modules/permuted_contiguous.h"

using namespace trellis;

TEST_CASE("permuted_contiguous: values and gradients of permute, contiguous both ways", "[unit][conformer]") {
  torch::manual_seed(0);
  const auto x = torch::randn({3, 4, 5}, torch::requires_grad());
  const auto w = torch::randn({5, 3, 4});
  const auto y = permuted_contiguous(x, {2, 0, 1});
  CHECK(y.is_contiguous());
  CHECK(torch::equal(y, x.permute({2, 0, 1})));
  // the gradient reaching x is contiguous and equals the plain permute's
  at::Tensor seen;
  x.register_hook([&](const at::Tensor& g) { seen = g; });
  (y * w).sum().backward();
  CHECK(seen.is_contiguous());
  CHECK(torch::equal(x.grad(), w.permute({1, 2, 0})));
  CHECK_THROWS(permuted_contiguous(x, {1, 0}));
  CHECK(torch::equal(permuted_contiguous(x.detach(), {1, 0, 2}), x.detach().transpose(0, 1)));
}
