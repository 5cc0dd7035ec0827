#pragma once
// Runs a computation at 1 and then at 2 compute threads (the count is restored afterwards), for
// the tests that results do not depend on the thread count.

#include <ATen/Parallel.h>

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

}  // namespace trellis::test
