// GradReducer (core/distributed/grad_reducer.h) over c10d/Gloo on loopback, 2 ranks run as two
// threads of this process: the buckets summed during the last micro-batch's backward
// (prepare_for_backward) hold bitwise the sums of the non-overlapped path and of adding the two
// ranks' gradients by hand (2 ranks: a + b is the same float either way round), with
// --update-freq 2, a parameter one rank does not use, one used only by the first micro-batch,
// one no rank uses and a frozen one (no gradient anywhere: left undefined).
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <thread>

#include "core/distributed/communicator.h"
#include "core/distributed/grad_reducer.h"
#include "gloo_ranks.h"

using namespace trellis;

namespace {

// Parameters in "forward" order: the extras first (so they land in the last buckets, which
// start after the backward), then a chain of 4 linear layers [16 -> 16].
//   0 only_rank0     [16]      added to the input on rank 0 only
//   1 only_first_mb  [16]      added to the input in micro-batch 0 only (both ranks)
//   2 unused         [16]      never used (no gradient on any rank)
//   3 frozen         [16]      requires_grad false (no gradient on any rank)
//   4.. w_l [16, 16], b_l [16] for l = 0..3
struct Net {
  std::vector<at::Tensor> params;

  explicit Net(const std::vector<at::Tensor>& init) {
    for (const auto& t : init) params.push_back(t.clone().set_requires_grad(true));
    params[3].set_requires_grad(false);
  }
  // x: [4, 16] -> loss (scalar)
  at::Tensor loss(at::Tensor x, int rank, int micro_batch) const {
    if (rank == 0) x = x + params[0];
    if (micro_batch == 0) x = x + params[1];
    for (size_t l = 0; l < 4; ++l)
      x = torch::tanh(torch::nn::functional::linear(x, params[4 + 2 * l], params[5 + 2 * l]));
    return (x * x).sum();
  }
};

struct RankResult {
  std::vector<at::Tensor> local, overlapped, legacy;  // .grad() before / after the sums
  size_t buckets = 0, started_in_backward = 0, legacy_started_in_backward = 0;
};

at::Tensor grad_or_undefined(const at::Tensor& p) {
  return p.grad().defined() ? p.grad().clone() : at::Tensor();
}

}  // namespace

TEST_CASE("GradReducer: sums overlapped with the backward pass equal the sums after it, bitwise",
          "[unit][distributed]") {
  torch::manual_seed(7);
  std::vector<at::Tensor> init;
  for (int i = 0; i < 4; ++i) init.push_back(torch::randn({16}) * 0.1);
  for (int l = 0; l < 4; ++l) {
    init.push_back(torch::randn({16, 16}) * 0.3);
    init.push_back(torch::randn({16}) * 0.1);
  }
  at::Tensor inputs[2][2];  // [rank][micro-batch]: [4, 16]
  for (auto& r : inputs)
    for (auto& x : r) x = torch::randn({4, 16});

  RankResult res[2];
  const auto errors = trellis::testing::run_two_ranks([&](int r, Communicator& comm) {
    // 1 KiB buckets: each linear layer's weight (1 KiB) is a bucket of its own.
    Net a(init), b(init);
    GradReducer overlapped(comm, a.params, 1.0 / 1024);
    GradReducer legacy(comm, b.params, 1.0 / 1024);
    res[r].buckets = overlapped.num_buckets();
    for (int step = 0; step < 2; ++step) {  // twice: the state is reset between updates
      for (auto* net : {&a, &b})
        for (auto& p : net->params) p.mutable_grad() = at::Tensor();
      // --update-freq 2: micro-batch 0 accumulates locally, micro-batch 1's backward sums
      a.loss(inputs[r][0] * (step + 1), r, 0).backward();
      overlapped.prepare_for_backward();
      a.loss(inputs[r][1] * (step + 1), r, 1).backward();
      res[r].started_in_backward = overlapped.buckets_started_in_backward();
      overlapped.all_reduce();

      b.loss(inputs[r][0] * (step + 1), r, 0).backward();
      b.loss(inputs[r][1] * (step + 1), r, 1).backward();
      res[r].local.clear();
      for (const auto& p : b.params) res[r].local.push_back(grad_or_undefined(p));
      legacy.all_reduce();
      res[r].legacy_started_in_backward = legacy.buckets_started_in_backward();
    }
    res[r].overlapped.clear();
    res[r].legacy.clear();
    for (const auto& p : a.params) res[r].overlapped.push_back(grad_or_undefined(p));
    for (const auto& p : b.params) res[r].legacy.push_back(grad_or_undefined(p));
  });
  INFO(errors[0] << " | " << errors[1]);
  REQUIRE(errors[0].empty());
  REQUIRE(errors[1].empty());

  // rank 1 has no gradient for only_rank0; nobody for unused and frozen
  REQUIRE(res[0].local[0].defined());
  REQUIRE_FALSE(res[1].local[0].defined());
  for (int r = 0; r < 2; ++r) {
    INFO("rank " << r);
    // the 4 layers' weights and biases: the weights alone are buckets; the extras come last,
    // and the ones the backward does not reach keep their buckets (and the later ones) waiting
    CHECK(res[r].buckets >= 5);
    CHECK(res[r].started_in_backward >= 4);
    CHECK(res[r].started_in_backward < res[r].buckets);
    CHECK(res[r].legacy_started_in_backward == 0);
    for (size_t i = 0; i < init.size(); ++i) {
      INFO("parameter " << i);
      const at::Tensor& x = res[0].local[i];
      const at::Tensor& y = res[1].local[i];
      if (!x.defined() && !y.defined()) {
        CHECK_FALSE(res[r].overlapped[i].defined());
        CHECK_FALSE(res[r].legacy[i].defined());
        continue;
      }
      const at::Tensor want = !x.defined() ? y + 0.0f : !y.defined() ? x + 0.0f : x + y;
      REQUIRE(res[r].overlapped[i].defined());
      REQUIRE(res[r].legacy[i].defined());
      CHECK(torch::equal(res[r].overlapped[i], want));
      CHECK(torch::equal(res[r].legacy[i], want));
    }
  }
  CHECK_FALSE(res[0].overlapped[2].defined());
  CHECK_FALSE(res[0].overlapped[3].defined());
  // the sums differ from each rank's own gradient (the test can fail)
  CHECK_FALSE(torch::equal(res[0].overlapped[4], res[0].local[4]));
}
