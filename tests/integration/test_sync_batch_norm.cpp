// SyncBatchNorm (models/modules/sync_batch_norm.h) over c10d/Gloo on loopback: 2 ranks, run as
// two threads of this process with a communicator each, holding 3 and 2 utterances of a batch
// give the outputs, running statistics and gradients of one BatchNorm1d over the whole batch;
// a 2-process `train` run of fastconformer_ctc synchronises its BatchNorms (process_communicator
// is set by the rendezvous), --no-syncbatchnorm does not; a non-finite loss on one rank keeps
// the collectives paired (core/train/trainer.cpp runs its backward at weight 0).
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <thread>

#include "core/checkpoint.h"
#include "core/distributed/communicator.h"
#include "gloo_ranks.h"
#include "models/fastconformer/fastconformer_conv.h"
#include "models/modules/sync_batch_norm.h"
#include "run_command.h"
#include "skip.h"
#include "train_corpus.h"

using namespace trellis;

namespace {

struct RankResult {
  at::Tensor y, x_grad, w_grad, b_grad, running_mean, running_var, tracked;
};

}  // namespace

TEST_CASE("SyncBatchNorm: 2 Gloo ranks give the statistics and gradients of 1 process",
          "[integration][distributed]") {
  torch::manual_seed(4);
  const int64_t C = 6, T = 9;
  auto x = torch::randn({5, C, T}) * 2 + 0.5;
  auto g = torch::randn({5, C, T});  // loss = sum(y * g)
  auto weight = torch::rand({C}) + 0.5, bias = torch::randn({C});
  const int64_t split[2][2] = {{0, 3}, {3, 2}};  // rank r: utterances [from, from + n)

  // one process, the whole batch
  torch::nn::BatchNorm1d ref(C);
  {
    torch::NoGradGuard ng;
    ref->weight.copy_(weight);
    ref->bias.copy_(bias);
  }
  ref->train();
  auto xr = x.clone().requires_grad_(true);
  auto yr = ref->forward(xr);
  (yr * g).sum().backward();

  RankResult res[2];
  const auto errors = trellis::testing::run_two_ranks([&](int r, Communicator& comm) {
    SyncBatchNorm1d bn(C);
    bn->set_communicator(&comm);
    {
      torch::NoGradGuard ng;
      bn->named_parameters()["weight"].copy_(weight);
      bn->named_parameters()["bias"].copy_(bias);
    }
    bn->train();
    auto xl = x.narrow(0, split[r][0], split[r][1]).clone().requires_grad_(true);
    auto y = bn->forward(xl);
    (y * g.narrow(0, split[r][0], split[r][1])).sum().backward();
    res[r].y = y.detach();
    res[r].x_grad = xl.grad();
    res[r].w_grad = bn->named_parameters()["weight"].grad();
    res[r].b_grad = bn->named_parameters()["bias"].grad();
    res[r].running_mean = bn->named_buffers()["running_mean"].clone();
    res[r].running_var = bn->named_buffers()["running_var"].clone();
    res[r].tracked = bn->named_buffers()["num_batches_tracked"].clone();
  });
  INFO(errors[0] << " | " << errors[1]);
  REQUIRE(errors[0].empty());
  REQUIRE(errors[1].empty());

  auto close = [](const at::Tensor& a, const at::Tensor& b) {
    return (a - b).abs().max().item<double>();
  };
  for (int r = 0; r < 2; ++r) {
    INFO("rank " << r);
    CHECK(close(res[r].y, yr.detach().narrow(0, split[r][0], split[r][1])) < 1e-5);
    CHECK(close(res[r].x_grad, xr.grad().narrow(0, split[r][0], split[r][1])) < 1e-5);
    CHECK(close(res[r].running_mean, ref->running_mean) < 1e-6);
    CHECK(close(res[r].running_var, ref->running_var) < 1e-5);
    CHECK(res[r].tracked.item<int64_t>() == 1);
  }
  // the gradient reducer sums the ranks' parameter gradients
  CHECK(close(res[0].w_grad + res[1].w_grad, ref->weight.grad()) < 1e-4);
  CHECK(close(res[0].b_grad + res[1].b_grad, ref->bias.grad()) < 1e-4);
  // per-process statistics differ (the test can fail)
  torch::nn::BatchNorm1d local(C);
  local->train();
  auto y0 = local->forward(x.narrow(0, 0, 3));
  CHECK(close(y0.detach(), yr.detach().narrow(0, 0, 3)) > 1e-3);
}

TEST_CASE("SyncBatchNorm: one process is BatchNorm1d, bit for bit", "[unit][fastconformer]") {
  torch::manual_seed(8);
  auto x = torch::randn({3, 4, 10});
  SyncBatchNorm1d a(4);
  torch::nn::BatchNorm1d b(4);
  for (int step = 0; step < 2; ++step) {
    a->train(step == 0);
    b->train(step == 0);
    CHECK(torch::equal(a->forward(x), b->forward(x)));
  }
  CHECK(torch::equal(a->named_buffers()["running_var"], b->running_var));
  CHECK(torch::equal(a->named_buffers()["num_batches_tracked"], b->num_batches_tracked));
  CHECK(process_communicator() == nullptr);
}

TEST_CASE("SyncBatchNorm: a 2-process fastconformer_ctc run synchronises its BatchNorms",
          "[integration][distributed]") {
  const std::string data = trellis::testing::train_corpus();
  if (data.empty()) trellis::testing::skip_test("espeak-ng or sox not installed");
  const std::string dir = trellis::testing::fresh_dir("sync_bn");
  auto command = [&](const std::string& save, const std::string& extra) {
    return fmt::format(
        "{} {} --task speech_to_text_ctc --arch fastconformer_ctc_small --criterion ctc "
        "--zero-infinity --optimizer adam --lr 2e-3 --lr-scheduler inverse_sqrt "
        "--warmup-updates 2 --max-tokens 1000 --dropout 0 --dropout-pre-encoder 0 "
        "--dropout-att 0 --log-format simple --valid-subset dev --encoder-layers 1 "
        "--encoder-embed-dim 32 --encoder-attention-heads 2 --subsampling-conv-channels 8 "
        "--threads 1 --no-epoch-checkpoints --max-update 3 --save-dir {}/{} {}",
        trellis::testing::bin("train"), data, dir, save, extra);
  };
  auto run = [&](const std::string& save, const std::string& extra) {
    auto r = trellis::testing::run_command(command(save, extra));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    return trellis::load_checkpoint(dir + "/" + save + "/checkpoint_last.pt").model;
  };
  auto sync = run("sync", "--distributed-world-size 2");
  auto local = run("local", "--distributed-world-size 2 --no-syncbatchnorm");
  auto one = run("one", "--update-freq 2");
  const std::string key = "encoder.layers.0.conv.batch_norm.running_var";
  auto diff = [&](const at::Tensor& a, const at::Tensor& b) {
    return (a - b).abs().max().item<double>();
  };
  WARN("running_var sync vs local " << diff(sync.at(key), local.at(key)) << ", head local vs one "
                                    << diff(local.at("decoder.decoder_layers.0.weight"),
                                            one.at("decoder.decoder_layers.0.weight")));
  // without sync, 2 ranks with a micro-batch each train as 1 process with 2 micro-batches
  CHECK(diff(local.at("decoder.decoder_layers.0.weight"),
             one.at("decoder.decoder_layers.0.weight")) < 1e-5);
  // with sync the statistics (hence the normalised activations and the training) differ
  CHECK(diff(sync.at(key), local.at(key)) > 1e-4);
  CHECK(diff(sync.at("decoder.decoder_layers.0.weight"),
             local.at("decoder.decoder_layers.0.weight")) > 1e-6);

  // Without --zero-infinity some utterances have no CTC alignment: a rank with an infinite loss
  // still runs its backward, so both ranks stop with the trainer's own error, not a Gloo one.
  std::string cmd = command("inf",
                            "--distributed-world-size 2 --update-freq 2 "
                            "--max-nonfinite-updates 2 --distributed-timeout 30");
  cmd.replace(cmd.find(" --zero-infinity"), std::string(" --zero-infinity").size(), "");
  auto r = trellis::testing::run_command(cmd);
  INFO(r.output);
  CHECK(r.exit_code != 0);
  CHECK(r.output.find("had a non-finite loss or gradient") != std::string::npos);
  CHECK(r.output.find("SyncBatchNorm") == std::string::npos);
  CHECK(r.output.find("gloo::") == std::string::npos);
  CHECK(r.output.find("Connection reset") == std::string::npos);
  std::filesystem::remove_all(dir);
}
