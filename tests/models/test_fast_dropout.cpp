// FastDropout: identity in eval, drop rate p and 1/(1-p) scaling in training, gradient = mask.
#include <catch2/catch.hpp>

#include "models/modules/fast_dropout.h"

using namespace trellis;

TEST_CASE("FastDropout: rate, scaling, eval identity, gradient", "[unit][conformer]") {
  torch::manual_seed(0);
  FastDropout drop(0.3);
  auto x = torch::ones({200, 500}, torch::requires_grad());
  drop->eval();
  CHECK(torch::equal(drop(x), x));
  drop->train();
  auto y = drop(x);
  double dropped = (y == 0).to(torch::kDouble).mean().item<double>();
  CHECK(std::abs(dropped - 0.3) < 0.01);
  CHECK(torch::allclose(y.masked_select(y != 0), torch::full({1}, 1.0 / 0.7)));
  y.sum().backward();
  CHECK(torch::equal(x.grad(), y.detach()));
  FastDropout none(0.0);
  none->train();
  CHECK(torch::equal(none(x), x));
}
