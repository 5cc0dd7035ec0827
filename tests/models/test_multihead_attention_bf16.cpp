// fairseq's MultiheadAttention (upstream conformer, wav2vec2, transformer decoder) under CPU
// bfloat16 autocast: the softmax runs on the bf16 scores (no float32 round trip), padded keys
// (-inf) still get zero weight, the output and the float32 gradients stay within bf16 rounding
// of the float32 module's.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "bf16_autocast.h"
#include "models/modules/multihead_attention.h"

using namespace trellis;
using trellis::test::Bf16Autocast;

namespace {

double rel_err(const at::Tensor& a, const at::Tensor& ref) {
  return (a.to(at::kFloat) - ref).norm().item<double>() / ref.norm().item<double>();
}

}  // namespace

TEST_CASE("MultiheadAttention: bf16 autocast is close to float32, padded keys get no weight",
          "[unit][conformer][bf16]") {
  torch::manual_seed(5);
  const int64_t T = 20, B = 3, D = 32;
  MultiheadAttention attn(D, 4, 0.0, true);
  attn->eval();
  auto x = torch::randn({T, B, D});
  // lengths 20, 13, 1: the last sequence attends to its first frame only
  auto steps = torch::arange(T).unsqueeze(0);
  auto pad = steps >= torch::tensor({20, 13, 1}).unsqueeze(1);  // B x T

  auto run = [&](bool bf16) {
    attn->zero_grad();
    auto xi = x.clone().requires_grad_();
    at::Tensor y;
    if (bf16) {
      Bf16Autocast autocast;
      y = attn->forward(xi, xi, xi, pad, {});
    } else {
      y = attn->forward(xi, xi, xi, pad, {});
    }
    y.to(at::kFloat).pow(2).sum().backward();
    std::vector<at::Tensor> grads{xi.grad().clone()};
    for (const auto& p : attn->parameters()) grads.push_back(p.grad().clone());
    return std::make_pair(y.detach(), grads);
  };
  auto [ref, ref_grads] = run(false);
  auto [y, grads] = run(true);
  CHECK(y.scalar_type() == at::kBFloat16);
  REQUIRE(y.sizes() == ref.sizes());
  REQUIRE(torch::isfinite(y).all().item<bool>());
  CHECK(rel_err(y, ref) < 0.02);
  REQUIRE(grads.size() == ref_grads.size());
  for (size_t i = 0; i < grads.size(); ++i) {
    INFO("gradient " << i << " (0: the input, then the parameters)");
    CHECK(grads[i].scalar_type() == at::kFloat);
    REQUIRE(torch::isfinite(grads[i]).all().item<bool>());
    // k_proj's bias adds the same q.b to a whole row of scores, which the softmax removes: its
    // gradient is zero up to rounding, compared in absolute terms against the input's
    const double scale = ref_grads[0].norm().item<double>();
    const double err = (grads[i] - ref_grads[i]).norm().item<double>();
    const double ref_norm = ref_grads[i].norm().item<double>();
    INFO("|grad - ref| " << err << ", |ref| " << ref_norm << ", |input grad| " << scale);
    CHECK(err < (ref_norm > 1e-3 * scale ? 0.03 * ref_norm : 1e-2 * scale));
  }
  // The last sequence sees only its first frame: its output is the projection of that frame's
  // value alone, for every query, in both dtypes.
  auto last = y.select(1, 2).to(at::kFloat);  // T x D
  CHECK((last - last[0]).abs().max().item<double>() == 0.0);
  CHECK(rel_err(last, ref.select(1, 2)) < 0.02);
}
