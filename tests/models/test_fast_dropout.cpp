// FastDropout: identity in eval, drop rate p and 1/(1-p) scaling in training, gradient = mask.
#include <catch2/catch.hpp>

#include "models/modules/fast_dropout.h"

using namespace trellis;

TEST_CASE("FastDropout: rate, scaling, eval identity, gradient", "[unit][isa][conformer]") {
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

TEST_CASE("dropout_mask: independent draws, reproducible from the generator, thread-count free",
          "[unit][isa][conformer]") {
  const auto like = torch::empty({1000, 1001});  // odd element count: the last pair is half
  for (double p : {0.1, 0.5}) {
    torch::manual_seed(3);
    const auto m = dropout_mask(like, p);
    const auto dropped = (m == 0).to(torch::kDouble).flatten();
    const int64_t n = dropped.numel();
    // rate within 5 standard deviations
    const double sd = std::sqrt(p * (1 - p) / double(n));
    CHECK(std::abs(dropped.mean().item<double>() - p) < 5 * sd);
    // neighbours (the two halves of one hash, and consecutive hashes) are independent: both
    // dropped with probability p^2
    for (int64_t lag : {1, 2, 1001}) {
      const double both =
          (dropped.narrow(0, 0, n - lag) * dropped.narrow(0, lag, n - lag)).mean().item<double>();
      CHECK(std::abs(both - p * p) < 5 * std::sqrt(p * p * (1 - p * p) / double(n)));
    }
    CHECK(torch::allclose(m.masked_select(m != 0), torch::full({1}, 1.0 / (1.0 - p))));
    // another call draws another mask; restoring the generator restores it; threads don't matter
    const auto m2 = dropout_mask(like, p);
    CHECK_FALSE(torch::equal(m, m2));
    torch::manual_seed(3);
    const int threads = at::get_num_threads();
    at::set_num_threads(1);
    CHECK(torch::equal(dropout_mask(like, p), m));
    at::set_num_threads(threads);
  }
  CHECK(dropout_mask(torch::empty({3}, torch::kBFloat16), 0.2).scalar_type() == torch::kBFloat16);
}

TEST_CASE("dropout: fused mask and multiply = x * dropout_mask, backward = the same mask",
          "[unit][isa][conformer]") {
  for (auto dtype : {torch::kFloat, torch::kBFloat16}) {
    const auto x = torch::randn({37, 1001}).to(dtype).requires_grad_();
    const auto g = torch::randn({37, 1001}).to(dtype);
    // the product in float (the mask's 1/(1-p) is a float), rounded once to x's dtype
    const auto expect = [](const at::Tensor& v, const at::Tensor& m) {
      return (v.to(torch::kFloat) * m).to(v.scalar_type());
    };
    torch::manual_seed(11);
    const auto mask = dropout_mask(x.to(torch::kFloat), 0.25);
    torch::manual_seed(11);
    const auto y = dropout(x, 0.25);
    CHECK(torch::equal(y, expect(x.detach(), mask)));
    y.backward(g);
    CHECK(torch::equal(x.grad(), expect(g, mask)));
    // a transposed (non-contiguous) input: the mask follows the order of its contiguous copy
    const auto xt = x.detach().t();
    torch::manual_seed(12);
    const auto yt = dropout(xt, 0.25);
    torch::manual_seed(12);
    CHECK(torch::equal(yt, expect(xt.contiguous(), dropout_mask(xt.to(torch::kFloat), 0.25))));
  }
}

TEST_CASE("silu_dropout: dropout(silu(x)) and its gradient within float rounding of ATen's",
          "[unit][isa][conformer]") {
  // values across the sigmoid's range, the tails included (exp saturates, silu -> 0 or x)
  const auto x32 = torch::cat({torch::randn({40000}) * 4, torch::linspace(-100, 100, 2001)});
  const auto g32 = torch::randn_like(x32);
  for (auto dtype : {torch::kFloat, torch::kBFloat16}) {
    const auto x = x32.to(dtype).clone().requires_grad_();
    const auto g = g32.to(dtype);
    torch::manual_seed(5);
    const auto mask = dropout_mask(x.to(torch::kFloat), 0.1);
    torch::manual_seed(5);
    const auto y = silu_dropout(x, 0.1);
    y.backward(g);
    // ATen in float: silu(x) * mask; its gradient g * mask * silu'(x)
    const auto xr = x.detach().to(torch::kFloat).requires_grad_();
    const auto yr = torch::silu(xr) * mask;
    yr.backward(g.to(torch::kFloat));
    // float: a few ulp; bf16: one rounding of the float result (2^-8 relative); in the far
    // negative tail silu(x) is below 1e-30 on both sides
    const double rtol = dtype == torch::kFloat ? 1e-6 : 8e-3, atol = 1e-30;
    CHECK(torch::allclose(y.to(torch::kFloat), yr.detach(), rtol, atol));
    CHECK(torch::allclose(x.grad().to(torch::kFloat), xr.grad(), rtol, 1e-6));
  }
  // eval: plain silu
  FastDropout drop(0.3);
  drop->eval();
  CHECK(torch::equal(drop->silu_forward(x32), torch::silu(x32)));
}
