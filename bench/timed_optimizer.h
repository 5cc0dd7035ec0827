#pragma once
// An Optimizer for the benches that delegates to the real one and times its update: step() and
// step_with_scale() (what Trainer::train_step calls: the gradient scale goes into the inner
// optimizer's own pass, as in training). params() are the same tensors, so the trainer's
// normalisation and clipping see the real gradients.
#include <chrono>
#include <memory>
#include <vector>

#include "core/interfaces/optimizer.h"

namespace trellis::bench {

class TimedOptimizer : public Optimizer {
 public:
  explicit TimedOptimizer(std::unique_ptr<Optimizer> inner)
      : Optimizer(inner->params(), inner->lr()), inner_(std::move(inner)) {}
  double last_step_s = 0;  // seconds of the last update
  void step() override {
    timed([&] { inner_->step(); });
  }
  void step_with_scale(double grad_scale) override {
    timed([&] { inner_->step_with_scale(grad_scale); });
  }

 protected:
  std::vector<StateSpec> state_names() const override { return {}; }

 private:
  template <class F>
  void timed(F f) {
    const auto t0 = std::chrono::steady_clock::now();
    inner_->set_lr(lr());
    f();
    last_step_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  std::unique_ptr<Optimizer> inner_;
};

}  // namespace trellis::bench
