#pragma once
// CPU bfloat16 autocast for the scope of one object, as `train --bf16` runs the forward pass
// (docs/training.md, "bf16 on the CPU"); restores the global autocast state even when the
// forward throws.
#include <ATen/autocast_mode.h>

namespace trellis::test {

struct Bf16Autocast {
  Bf16Autocast() {
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(true);
    at::autocast::increment_nesting();
  }
  ~Bf16Autocast() {
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_cpu_enabled(false);
  }
  Bf16Autocast(const Bf16Autocast&) = delete;
  Bf16Autocast& operator=(const Bf16Autocast&) = delete;
};

}  // namespace trellis::test
