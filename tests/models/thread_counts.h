#pragma once
// Runs a computation at 1 and then at 2 compute threads (the count is restored afterwards), and
// compares the two results bit for bit: the tests that results do not depend on the threads.

#include <ATen/Parallel.h>
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <utility>

namespace trellis::test {

// f() -> {f() at 1 thread, f() at 2 threads}
template <class F>
auto at_one_and_two_threads(F f) {
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  auto one = f();
  at::set_num_threads(2);
  auto two = f();
  at::set_num_threads(threads);
  return std::make_pair(std::move(one), std::move(two));
}

// Two results of an op with an input and its parameters' gradients (fields y, gx, gw, gb) are
// equal bit for bit.
template <class Grads>
void check_bitwise_equal(const Grads& a, const Grads& b) {
  CHECK(torch::equal(a.y, b.y));
  CHECK(torch::equal(a.gx, b.gx));
  CHECK(torch::equal(a.gw, b.gw));
  CHECK(torch::equal(a.gb, b.gb));
}

}  // namespace trellis::test
