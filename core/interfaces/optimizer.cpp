#include "core/interfaces/optimizer.h"

#include <torch/torch.h>

#include <set>

namespace trellis {
namespace {

std::string shape_str(at::IntArrayRef sizes) {
  std::string out = "[";
  for (size_t i = 0; i < sizes.size(); ++i) out += (i ? ", " : "") + std::to_string(sizes[i]);
  return out + "]";
}

}  // namespace

Optimizer::Optimizer(std::vector<at::Tensor> params, double lr)
    : params_(std::move(params)), lr_(lr), state_(params_.size()) {}

// Gradients are dropped, not zeroed (fairseq's and PyTorch 2's set_to_none): the next backward
// assigns instead of adding, and a parameter the next step does not reach (a layer skipped by
// layerdrop) has no gradient, so Adam leaves it and its moments alone. Zeroed gradients would
// make Adam move it, and differently after a resume than in a straight run.
void Optimizer::zero_grad() {
  for (auto& p : params_) p.mutable_grad() = at::Tensor();
}

void Optimizer::step_with_scale(double grad_scale) {
  if (grad_scale != 1.0) {
    at::NoGradGuard no_grad;
    for (auto& p : params_)
      if (p.grad().defined()) p.mutable_grad().mul_(grad_scale);
  }
  step();
}

void Optimizer::set_momentum(double) {
  throw ConfigError("this optimizer has no momentum to set (use --no-cycle-momentum)");
}

TensorMap Optimizer::state_dict() const {
  TensorMap out;
  for (size_t i = 0; i < state_.size(); ++i) {
    for (const auto& [name, t] : state_[i]) out[fmt::format("state.{}.{}", i, name)] = t;
  }
  return out;
}

void Optimizer::load_state_dict(const TensorMap& state) {
  const std::vector<StateSpec> specs = state_names();
  std::vector<std::map<std::string, at::Tensor>> loaded(params_.size());
  for (const auto& [key, t] : state) {
    // "state.<i>.<name>"
    size_t dot = key.find('.', 6);
    TRELLIS_CHECK(key.rfind("state.", 0) == 0 && dot != std::string::npos, CheckpointError,
                  "optimizer state: unexpected key '{}' (expected state.<i>.<name>)", key);
    size_t index = 0;
    try {
      size_t used = 0;
      index = std::stoul(key.substr(6, dot - 6), &used);
      TRELLIS_CHECK(used == dot - 6, CheckpointError, "optimizer state: bad index in '{}'", key);
    } catch (const std::logic_error&) {
      throw CheckpointError(fmt::format("optimizer state: bad index in '{}'", key));
    }
    TRELLIS_CHECK(index < params_.size(), CheckpointError,
                  "optimizer state: '{}' names parameter {} but there are only {} parameters",
                  key, index, params_.size());
    const std::string name = key.substr(dot + 1);
    auto spec = std::find_if(specs.begin(), specs.end(),
                             [&](const StateSpec& s) { return s.name == name; });
    TRELLIS_CHECK(spec != specs.end(), CheckpointError,
                  "optimizer state: unknown state '{}' in key '{}'", name, key);
    TRELLIS_CHECK(t.defined(), CheckpointError, "optimizer state: '{}' is undefined", key);
    const at::Tensor& p = params_[index];
    if (spec->param_shaped) {
      TRELLIS_CHECK(t.sizes() == p.sizes(), CheckpointError,
                    "optimizer state: '{}' has shape {} but parameter {} has shape {}", key,
                    shape_str(t.sizes()), index, shape_str(p.sizes()));
      loaded[index][name] = t.detach().to(p.device(), at::kFloat, false, /*copy=*/true);
    } else {
      TRELLIS_CHECK(t.numel() == 1, CheckpointError,
                    "optimizer state: '{}' should be a scalar, has {} elements", key, t.numel());
      loaded[index][name] = t.detach().reshape({}).to(at::kCPU, t.scalar_type(), false, true);
    }
  }
  for (size_t i = 0; i < loaded.size(); ++i) {
    if (loaded[i].empty()) continue;
    for (const auto& s : specs) {
      TRELLIS_CHECK(loaded[i].count(s.name), CheckpointError,
                    "optimizer state: missing key 'state.{}.{}'", i, s.name);
    }
  }
  state_ = std::move(loaded);
}

OptimizerRegistry& optimizer_registry() {
  static OptimizerRegistry registry("optimizer", "--optimizer");
  return registry;
}

// Create the registry during start-up, so --help lists it even when nothing is registered.
static OptimizerRegistry& optimizer_registry_instance = optimizer_registry();

}  // namespace trellis
