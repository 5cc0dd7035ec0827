// The one-pass Adam kernel (optim/adam_kernel.h) against the same update written with torch's
// in-place ops (the formulas of optim/adam.h and optim/adamw.h), on tensors larger than one
// work item and of odd sizes, with the gradient scale folded in; and the base class's
// step_with_scale for optimizers that do not fold it (sgd).
#include <catch2/catch.hpp>

#include <torch/torch.h>

#include <cmath>

#include "core/interfaces/optimizer.h"
#include "optim_test_utils.h"

using nlohmann::json;
using namespace trellis;

namespace {

struct Moments {
  at::Tensor m, v;
};

// One update of p in place with torch ops, as optim/adam.cpp did before the kernel.
void reference_step(at::Tensor& p, const at::Tensor& g_raw, Moments& s, int64_t t, double lr,
                    double scale, bool adamw, double wd) {
  const double b1 = 0.9, b2 = 0.98, eps = 1e-6;
  const at::Tensor g = g_raw * scale;
  const double bc1 = 1 - std::pow(b1, t), bc2 = 1 - std::pow(b2, t);
  if (adamw) p.mul_(1 - lr * wd);
  s.m.mul_(b1).add_(g, 1 - b1);
  s.v.mul_(b2).addcmul_(g, g, 1 - b2);
  if (adamw) {
    p.addcdiv_(s.m, (s.v.sqrt() / std::sqrt(bc2)).add_(eps), -lr / bc1);
  } else {
    if (wd != 0) p.add_(p, -wd * lr);
    p.addcdiv_(s.m, s.v.sqrt().add_(eps), -lr * std::sqrt(bc2) / bc1);
  }
}

}  // namespace

TEST_CASE("the one-pass Adam kernel matches torch's ops, gradient scale included",
          "[unit][isa][optimizer]") {
  for (const std::string name : {"adam", "adamw"}) {
    INFO(name);
    torch::manual_seed(7);
    const std::vector<std::vector<int64_t>> shapes = {{1}, {17}, {40000}, {3, 5}, {16385}};
    std::vector<at::Tensor> params, ref;
    for (const auto& s : shapes) {
      params.push_back(torch::randn(s).set_requires_grad(true));
      ref.push_back(params.back().detach().clone());
    }
    const double wd = 0.05;
    auto opt = trellis::testing::make_optimizer(
        name, json{{"adam_betas", "(0.9, 0.98)"}, {"adam_eps", 1e-6}, {"weight_decay", wd}},
        params, 1e-2);
    std::vector<Moments> moments;
    for (auto& r : ref) moments.push_back({torch::zeros_like(r), torch::zeros_like(r)});
    for (int64_t t = 1; t <= 4; ++t) {
      const double lr = 1e-2 * t, scale = t == 2 ? 1.0 : 0.37 / t;
      opt->set_lr(lr);
      for (size_t i = 0; i < params.size(); ++i) {
        const at::Tensor g = torch::randn(params[i].sizes()) * 10;
        params[i].mutable_grad() = g;
        reference_step(ref[i], g, moments[i], t, lr, scale, name == "adamw", wd);
      }
      opt->step_with_scale(scale);
      for (size_t i = 0; i < params.size(); ++i) {
        INFO("step " << t << " tensor " << i);
        CHECK(at::allclose(params[i].detach(), ref[i], 1e-6, 1e-7));
        CHECK(at::allclose(opt->state_dict().at(fmt::format("state.{}.exp_avg_sq", i)),
                           moments[i].v, 1e-6, 1e-12));
      }
    }
    // The kernel leaves the gradients as they were (the scale is applied on the fly).
    CHECK(params[2].grad().abs().max().item<double>() > 1.0);
  }
}

TEST_CASE("step_with_scale equals step on scaled gradients for every optimizer",
          "[unit][isa][optimizer]") {
  for (const std::string name : {"adam", "adamw", "sgd"}) {
    INFO(name);
    torch::manual_seed(3);
    const at::Tensor init = torch::randn({33, 7}), g = torch::randn({33, 7});
    std::vector<at::Tensor> a = {init.clone().set_requires_grad(true)};
    std::vector<at::Tensor> b = {init.clone().set_requires_grad(true)};
    const json options = name == "sgd" ? json{{"momentum", 0.9}} : json::object();
    auto oa = trellis::testing::make_optimizer(name, options, a, 0.1);
    auto ob = trellis::testing::make_optimizer(name, options, b, 0.1);
    for (int step = 0; step < 3; ++step) {
      a[0].mutable_grad() = g.clone();
      b[0].mutable_grad() = g * 0.125;
      oa->step_with_scale(0.125);
      ob->step();
      CHECK(at::allclose(a[0].detach(), b[0].detach(), 1e-6, 1e-7));
    }
  }
}
