// Finite-difference gradient checks in double for the custom conformer modules: FBK relative
// attention (batch-safe shift, padded batch), the FBK conv module (train mode, BatchNorm batch
// statistics, padding zeroed) and the ESPnet rel_pos / rope attention.
#include <catch2/catch.hpp>
#include <functional>

#include "models/conformer/fbk_conformer_layer.h"
#include "models/modules/espnet_attention.h"
#include "models/modules/fbk_relative_attention.h"
#include "models/modules/padding.h"

using namespace trellis;

namespace {

// Compares d/deps f(x + eps*d) (central differences) with <grad f(x), d> for random directions d,
// for the input and every parameter of `module`. f: scalar function of (x).
void check_gradients(torch::nn::Module& module, const at::Tensor& x,
                     const std::function<at::Tensor(const at::Tensor&)>& f) {
  auto xg = x.clone().requires_grad_(true);
  module.zero_grad();
  f(xg).backward();
  std::vector<std::pair<std::string, at::Tensor>> targets = {{"input", x}};
  std::vector<at::Tensor> grads = {xg.grad()};
  for (auto& p : module.named_parameters()) {
    targets.emplace_back(p.key(), p.value());
    grads.push_back(p.value().grad());
  }
  const double eps = 1e-6;
  for (size_t i = 0; i < targets.size(); ++i) {
    auto& [name, t] = targets[i];
    auto d = torch::randn(t.sizes(), t.options());
    auto eval = [&](double s) {
      torch::NoGradGuard ng;
      if (name == "input") return f(x + s * d).item<double>();
      t.add_(s * d);
      double v = f(x).item<double>();
      t.sub_(s * d);
      return v;
    };
    double numeric = (eval(eps) - eval(-eps)) / (2 * eps);
    double analytic = grads[i].defined() ? (grads[i] * d).sum().item<double>() : 0.0;
    INFO(name << ": numeric " << numeric << " analytic " << analytic);
    CHECK(std::abs(numeric - analytic) <= 1e-6 * (1.0 + std::abs(numeric)));
  }
}

}  // namespace

TEST_CASE("FBK relative attention: finite-difference gradients (double)", "[unit][conformer]") {
  torch::manual_seed(3);
  for (bool unsafe : {false, true}) {
    RelativeMultiHeadAttention attn(8, 2, 0.0, unsafe);
    attn->to(torch::kDouble);
    auto x = torch::randn({2, 5, 8}, torch::kDouble);
    auto pad = lengths_to_padding_mask(torch::tensor({5, 3}, torch::kLong), 5);
    auto pos = fbk_sinusoid_table(5, 8).to(torch::kDouble);
    auto w = torch::randn({2, 5, 8}, torch::kDouble);
    check_gradients(*attn, x, [&](const at::Tensor& in) { return (attn(in, pos, pad) * w).sum(); });
  }
}

TEST_CASE("FBK conv module: finite-difference gradients (double, train mode)",
          "[unit][conformer]") {
  torch::manual_seed(4);
  FbkConvModule conv(6, 3, 0.0);
  conv->to(torch::kDouble);
  conv->train();
  auto x = torch::randn({2, 7, 6}, torch::kDouble);
  auto pad = lengths_to_padding_mask(torch::tensor({7, 4}, torch::kLong), 7);
  auto w = torch::randn({2, 7, 6}, torch::kDouble);
  check_gradients(*conv, x, [&](const at::Tensor& in) { return (conv(in, pad) * w).sum(); });
  // padded steps never reach valid ones: outputs of utterance 1 ignore its padded inputs
  conv->eval();
  torch::NoGradGuard ng;
  auto y = conv(x, pad);
  auto x2 = x.clone();
  x2.select(0, 1).narrow(0, 4, 3).normal_();
  CHECK(torch::allclose(conv(x2, pad), y, 0, 0));
}

TEST_CASE("ESPnet rel_pos and rope attention: finite-difference gradients (double)",
          "[unit][conformer]") {
  torch::manual_seed(5);
  for (std::string kind : {"rel_pos", "rope", "abs"}) {
    EspnetAttention attn(8, 2, 0.0, kind);
    attn->to(torch::kDouble);
    auto x = torch::randn({5, 2, 8}, torch::kDouble);
    auto pad = lengths_to_padding_mask(torch::tensor({5, 3}, torch::kLong), 5);
    at::Tensor pos;
    if (kind == "rel_pos") pos = espnet_rel_positions(5, 8).to(torch::kDouble);
    auto w = torch::randn({5, 2, 8}, torch::kDouble);
    INFO(kind);
    check_gradients(*attn, x, [&](const at::Tensor& in) { return (attn(in, pad, pos) * w).sum(); });
  }
}
