// Optimizer steps against tests/data/goldens/optimizers (tests/golden/make_optimizer_golden.py:
// torch.optim.AdamW / torch.optim.SGD of PyTorch 1.13 and fairseq's Adam formula), state dict
// round trips and load errors. Every config listed in a fixture's metadata is run.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "core/io/safetensors.h"
#include "goldens.h"
#include "core/interfaces/optimizer.h"
#include "optim_test_utils.h"

using nlohmann::json;
using namespace trellis;

namespace {

at::Tensor to_tensor(const SafeTensor& t) {
  if (t.dtype == "I64") {
    auto v = t.to_int64();
    return torch::tensor(v, torch::kLong).reshape(t.shape).clone();
  }
  auto v = t.to_float();
  return torch::from_blob(v.data(), {static_cast<int64_t>(v.size())}, torch::kFloat)
      .clone()
      .reshape(t.shape);
}

struct Golden {
  std::vector<double> lr;
  std::vector<at::Tensor> init;
  std::vector<std::vector<at::Tensor>> grads;  // [step][param]
};

Golden read_golden(const SafeTensorsFile& f) {
  Golden g;
  g.lr = f.get("lr").to_double();
  const auto num_params = std::stoul(f.meta("num_params"));
  for (size_t i = 0; i < num_params; ++i) g.init.push_back(to_tensor(f.get(fmt::format("init.p{}", i))));
  for (size_t s = 0; s < g.lr.size(); ++s) {
    g.grads.emplace_back();
    for (size_t i = 0; i < num_params; ++i)
      g.grads[s].push_back(to_tensor(f.get(fmt::format("grad.{}.p{}", s, i))));
  }
  return g;
}

std::vector<at::Tensor> fresh_params(const std::vector<at::Tensor>& init) {
  std::vector<at::Tensor> out;
  for (const auto& t : init) out.push_back(t.clone().set_requires_grad(true));
  return out;
}

void run_step(Optimizer& opt, const Golden& g, size_t s) {
  opt.set_lr(g.lr[s]);
  for (size_t i = 0; i < opt.params().size(); ++i) {
    at::Tensor p = opt.params()[i];
    p.mutable_grad() = g.grads[s][i].clone();
  }
  opt.step();
}

bool close_f32(const at::Tensor& a, const at::Tensor& b) {
  return a.sizes() == b.sizes() && at::allclose(a.to(at::kDouble), b.to(at::kDouble), 1e-6, 1e-7);
}

}  // namespace

TEST_CASE("optimizer steps match PyTorch and fairseq", "[unit][optimizer][golden]") {
  auto files = trellis::testing::golden_files("optimizers");
  REQUIRE(!files.empty());
  int configs_checked = 0;
  for (const auto& path : files) {
    SafeTensorsFile f(path);
    const Golden g = read_golden(f);
    json configs = json::parse(f.meta("configs"));
    REQUIRE(configs.is_array());
    for (const auto& cfg : configs) {
      const std::string name = cfg.at("name").get<std::string>();
      INFO(std::filesystem::path(path).filename().string() << ": " << name);
      auto opt = trellis::testing::make_optimizer(cfg.at("optimizer").get<std::string>(),
                                                  cfg.at("options"), fresh_params(g.init), g.lr[0]);
      for (size_t s = 0; s < g.lr.size(); ++s) {
        run_step(*opt, g, s);
        for (size_t i = 0; i < g.init.size(); ++i) {
          INFO("step " << s << " param " << i);
          CHECK(close_f32(opt->params()[i], to_tensor(f.get(fmt::format("{}.step{}.p{}", name, s, i)))));
        }
      }
      // Final optimizer state: the same keys, the same values.
      TensorMap ours = opt->state_dict();
      const std::string prefix = name + ".state.";
      std::set<std::string> want_keys;
      for (const auto& key : f.names()) {
        if (key.rfind(prefix, 0) != 0) continue;
        const std::string ours_key = "state." + key.substr(prefix.size());
        want_keys.insert(ours_key);
        INFO("state " << ours_key);
        REQUIRE(ours.count(ours_key));
        at::Tensor want = to_tensor(f.get(key));
        if (ours_key.size() > 5 && ours_key.substr(ours_key.size() - 5) == ".step") {
          CHECK(ours[ours_key].item<int64_t>() == want.item<int64_t>());
        } else {
          CHECK(close_f32(ours[ours_key], want));
        }
      }
      for (const auto& [key, t] : ours) {
        INFO("extra state " << key);
        CHECK(want_keys.count(key));
      }
      ++configs_checked;
    }
  }
  WARN(fmt::format("optimizers: {} configs checked over {} steps", configs_checked, 5));
  CHECK(configs_checked >= 7);
}

TEST_CASE("optimizer state dict round trip resumes exactly", "[unit][optimizer]") {
  auto files = trellis::testing::golden_files("optimizers");
  REQUIRE(!files.empty());
  SafeTensorsFile f(files.front());
  const Golden g = read_golden(f);
  const size_t half = g.lr.size() / 2;
  for (const auto& [name, options] :
       std::vector<std::pair<std::string, json>>{
           {"adam", {{"adam_betas", {0.9, 0.98}}, {"weight_decay", 0.01}}},
           {"adamw", json::object()},
           {"sgd", {{"momentum", 0.9}, {"nesterov", true}}}}) {
    INFO(name);
    auto a = trellis::testing::make_optimizer(name, options, fresh_params(g.init), g.lr[0]);
    for (size_t s = 0; s < half; ++s) run_step(*a, g, s);
    TensorMap saved = a->state_dict();
    REQUIRE(!saved.empty());
    std::vector<at::Tensor> copies;
    for (const auto& p : a->params()) copies.push_back(p.detach().clone().set_requires_grad(true));
    auto b = trellis::testing::make_optimizer(name, options, copies, g.lr[0]);
    b->load_state_dict(saved);
    CHECK(b->state_dict().size() == saved.size());
    for (size_t s = half; s < g.lr.size(); ++s) {
      run_step(*a, g, s);
      run_step(*b, g, s);
    }
    for (size_t i = 0; i < g.init.size(); ++i) CHECK(at::equal(a->params()[i], b->params()[i]));
    // The saved tensors are copies: stepping on did not change them.
    CHECK(b->state_dict().size() == saved.size());
  }
}

TEST_CASE("optimizer load_state_dict rejects bad state, naming the key", "[unit][optimizer]") {
  std::vector<at::Tensor> params = {torch::ones({3, 2}).set_requires_grad(true),
                                    torch::ones({4}).set_requires_grad(true)};
  auto opt = trellis::testing::make_optimizer("adam", json::object(), params, 1e-3);
  for (auto& p : params) p.mutable_grad() = torch::full_like(p, 0.5);
  opt->step();
  TensorMap good = opt->state_dict();
  REQUIRE(good.count("state.0.exp_avg"));
  REQUIRE(good.count("state.1.step"));

  auto expect_error = [&](TensorMap bad, const std::string& key) {
    auto fresh = trellis::testing::make_optimizer("adam", json::object(), params, 1e-3);
    try {
      fresh->load_state_dict(bad);
      FAIL("no error for " << key);
    } catch (const CheckpointError& e) {
      CHECK_THAT(e.what(), Catch::Contains(key));
    }
  };
  TensorMap wrong_shape = good;
  wrong_shape["state.0.exp_avg"] = torch::zeros({2, 3});
  expect_error(wrong_shape, "state.0.exp_avg");
  TensorMap unknown = good;
  unknown["state.1.momentum_buffer"] = torch::zeros({4});
  expect_error(unknown, "state.1.momentum_buffer");
  TensorMap out_of_range = good;
  out_of_range["state.7.exp_avg"] = torch::zeros({4});
  expect_error(out_of_range, "state.7.exp_avg");
  TensorMap missing = good;
  missing.erase("state.1.exp_avg_sq");
  expect_error(missing, "state.1.exp_avg_sq");
}

TEST_CASE("optimizer options are validated", "[unit][optimizer]") {
  std::vector<at::Tensor> params = {torch::ones({2}).set_requires_grad(true)};
  using trellis::testing::make_optimizer;
  CHECK_THROWS_AS(make_optimizer("adam", {{"adam_betas", {0.9}}}, params, 1e-3), ConfigError);
  CHECK_THROWS_AS(make_optimizer("adam", {{"adam_betas", {0.9, 0.98, 0.1}}}, params, 1e-3),
                  ConfigError);
  CHECK_THROWS_AS(make_optimizer("adamw", {{"adam_betas", {0.9, 1.5}}}, params, 1e-3),
                  ConfigError);
  CHECK_THROWS_AS(make_optimizer("sgd", {{"nesterov", true}}, params, 1e-3), ConfigError);
  CHECK_THROWS_AS(make_optimizer("sgd", {{"momentum", -0.1}}, params, 1e-3), ConfigError);

  // fairseq's "(0.9, 0.98)" string parses into the list.
  AnyOptions o = optimizer_registry().make_options("adam");
  Fields fields = o.fields();
  fields.find("adam_betas")->set_from_string("(0.9, 0.98)", "--adam-betas");
  auto opt = optimizer_registry().create("adam", o, params, OptimizerContext{1e-3});
  REQUIRE(opt->momentum());
  CHECK(*opt->momentum() == 0.9);
  opt->set_momentum(0.85);  // OneCycle writes beta1
  CHECK(*opt->momentum() == 0.85);
  // Defaults as torch: AdamW weight decay 0.01.
  CHECK(optimizer_registry().make_options("adamw").fields().find("weight_decay")->value_string() ==
        "0.01");
}

TEST_CASE("optimizers skip parameters without gradients and keep dtype", "[unit][optimizer]") {
  std::vector<at::Tensor> params = {torch::ones({2}).set_requires_grad(true),
                                    torch::ones({3}).set_requires_grad(true)};
  auto opt = trellis::testing::make_optimizer("adam", json::object(), params, 0.1);
  params[0].mutable_grad() = torch::ones({2});
  opt->step();
  CHECK(!at::equal(params[0], torch::ones({2})));
  CHECK(at::equal(params[1], torch::ones({3})));
  CHECK(opt->state_dict().count("state.1.exp_avg") == 0);
  CHECK(params[0].requires_grad());
  // zero_grad drops gradients (set_to_none): a parameter the next backward does not reach (a
  // layer skipped by layerdrop) is then left alone by Adam, moments included, as in fairseq.
  opt->zero_grad();
  CHECK(!params[0].grad().defined());
  const at::Tensor before = params[0].clone();
  const at::Tensor exp_avg = opt->state_dict().at("state.0.exp_avg").clone();
  params[1].mutable_grad() = torch::ones({3});
  opt->step();
  CHECK(at::equal(params[0], before));
  CHECK(at::equal(opt->state_dict().at("state.0.exp_avg"), exp_avg));
  CHECK(!at::equal(params[1], torch::ones({3})));
}
