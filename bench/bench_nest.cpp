// One NEST pretraining update (NeMo's EncDecDenoiseMaskedTokenPredModel) of the small Fast
// Conformer preset (--arch nest_fastconformer_small, --criterion mlm, --optimizer adamw, fixed LR,
// all from the registries), timed through Trainer::train_step (the code path `train` runs), with
// forward() as the masked_token_prediction task's:
// predict_masked (quantizer targets from the clean features, block masking of the noisy ones,
// encoder, 8192-way decoder), the MLM loss over the >80 %-masked positions, backward, gradient
// normalisation, AdamW (betas 0.9, 0.98, weight decay 1e-3). A fixed synthetic batch: B
// utterances of T frames each (T = --seconds * 100 rounded down to a multiple of 16, or
// --frames), 80 features, clean = N(0, 1), noisy = clean + 0.3 N(0, 1). bench/ref_nest.py times
// the same update in plain torch with the same flags; bench/run_nest.sh runs both.
//
//   build/bin/bench_nest --layers 16 --dim 176 --heads 4 --kernel 9 --batch 4 --seconds 8
//       --steps 5 --warmup-steps 1 --threads 2          (one command line; the defaults)
//   --bf16 1: the forward pass under CPU autocast to bfloat16, as `train --bf16` (TrainerOptions::bf16;
//   weights and AdamW state stay float32); bench/ref_nest.py has no such flag (fp32 reference).
//   --profile FILE: a chrome trace of the last update (LibTorch's legacy autograd profiler; the
//   reference's --profile writes the same format); bench/profile_nest.py compares the two.
#include <ATen/CPUGeneratorImpl.h>
#include <sys/resource.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/interfaces/criterion.h"
#include "core/interfaces/lr_scheduler.h"
#include "core/interfaces/masked_token_model.h"
#include "core/interfaces/model.h"
#include "core/interfaces/optimizer.h"
#include "core/interfaces/task.h"
#include "bench/timed_optimizer.h"
#include "tests/forward_only_task.h"  // the data methods: nothing to serve
#include "core/train/trainer.h"
#include "core/registry.h"
#include "models/nest/nest_model.h"
#include "optim/adamw.h"

using namespace trellis;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double cpu_seconds() {  // this process, all threads
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

double median(std::vector<double> v) {  // Python's statistics.median
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The batch of the benchmark: what the masked token prediction task collates.
struct BenchBatch : TaskBatch {
  at::Tensor clean, noisy, lengths;  // (B, T, F), (B, T, F), (B) int64
  uint64_t seed = 0;
};

// The part of a Task that Trainer::train_step uses: forward() as the masked token prediction
// task does it (predict_masked with a generator seeded from the batch, criterion on the named
// outputs), timed; the data methods are unused.
class BenchTask : public testing::ForwardOnlyTask {
 public:
  double last_forward_s = 0;
  LossOutput forward(Model& model, Criterion& criterion, const TaskBatch& any) override {
    const auto& b = batch_cast<BenchBatch>(any);
    const auto t0 = Clock::now();
    auto& mtm = dynamic_cast<MaskedTokenModel&>(model);
    MaskedTokenOutput out =
        mtm.predict_masked({b.clean, b.noisy, b.lengths}, at::make_generator<at::CPUGeneratorImpl>(b.seed));
    NetOutput net;
    net.outputs["log_probs"] = out.log_probs;
    net.outputs["targets"] = out.targets;
    net.outputs["frame_masks"] = out.frame_masks;
    net.outputs["lengths"] = out.lengths;
    net.combine_time_steps = out.combine_time_steps;
    CriterionTargets t;
    t.nsentences = b.size();
    LossOutput loss = criterion.forward(net, t);
    last_forward_s = seconds_since(t0);
    return loss;
  }
};

using bench::TimedOptimizer;  // bench/timed_optimizer.h

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> a = {
      {"layers", "16"},   {"dim", "176"},        {"heads", "4"},   {"kernel", "9"},
      {"sub-channels", "256"}, {"feat-in", "80"}, {"num-classes", "8192"}, {"batch", "4"},
      {"frames", "0"},    {"seconds", "8"},      {"steps", "5"},   {"warmup-steps", "1"},
      {"threads", "2"},   {"seed", "1"},         {"lr", "1e-3"},   {"dropout", "0.1"},
      {"dropout-att", "0.1"}, {"profile", ""}, {"bf16", "0"}};
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0 || !a.count(k.substr(2)) || i + 1 >= argc) {
      std::fprintf(stderr, "usage: bench_nest [--FLAG VALUE ...]; flags:");
      for (const auto& kv : a) std::fprintf(stderr, " --%s (%s)", kv.first.c_str(), kv.second.c_str());
      std::fprintf(stderr, "\n");
      return 2;
    }
    a[k.substr(2)] = argv[++i];
  }
  auto I = [&](const char* k) -> int64_t { return std::stoll(a.at(k)); };
  auto F = [&](const char* k) { return std::stod(a.at(k)); };
  if (I("threads") > 0) at::set_num_threads(static_cast<int>(I("threads")));
  torch::manual_seed(static_cast<uint64_t>(I("seed")));
  int64_t T = I("frames") > 0 ? I("frames") : static_cast<int64_t>(F("seconds") * 100 + 0.5);
  T -= T % 16;  // NeMo's pad_to 16
  const int64_t B = I("batch"), Fin = I("feat-in");

  // --arch nest_fastconformer_small, --criterion mlm, --optimizer adamw, --lr-scheduler fixed.
  AnyOptions mopts = arch_registry().make_options("nest_fastconformer_small");
  auto& o = mopts.as<NestOptions>();
  o.input_feat_per_channel = Fin;
  o.num_classes = I("num-classes");
  o.encoder_layers = I("layers");
  o.encoder_embed_dim = I("dim");
  o.encoder_attention_heads = I("heads");
  o.conv_kernel_size = I("kernel");
  o.subsampling_conv_channels = I("sub-channels");
  o.dropout = o.dropout_pre_encoder = F("dropout");
  o.dropout_att = F("dropout-att");
  o.dropout_emb = 0.0;
  o.validate();
  ModelContext mctx;
  mctx.input_feat_per_channel = Fin;
  std::unique_ptr<Model> model = model_registry().create(
      arch_registry().info("nest_fastconformer_small").target, mopts, mctx);
  auto criterion =
      criterion_registry().create("mlm", criterion_registry().make_options("mlm"), CriterionContext{});

  std::vector<at::Tensor> params;
  int64_t trained = 0;
  for (auto& p : model->parameters())
    if (p.requires_grad()) {
      params.push_back(p);
      trained += p.numel();
    }
  AnyOptions aopts = optimizer_registry().make_options("adamw");
  aopts.as<AdamWOptions>().adam_betas = {0.9, 0.98};
  aopts.as<AdamWOptions>().weight_decay = 1e-3;
  TimedOptimizer optimizer(
      optimizer_registry().create("adamw", aopts, params, OptimizerContext{F("lr")}));
  LrSchedulerContext sctx;
  sctx.lr = {F("lr")};
  auto scheduler =
      lr_scheduler_registry().create("fixed", lr_scheduler_registry().make_options("fixed"), sctx);
  TrainerOptions topts;
  topts.seed = static_cast<uint64_t>(I("seed"));
  topts.bf16 = I("bf16") != 0;  // CPU autocast to bfloat16, as train --bf16
  BenchTask task;
  Trainer trainer(task, *model, *criterion, optimizer, *scheduler, topts);
  trainer.set_num_updates(0);

  auto batch = std::make_shared<BenchBatch>();
  at::Generator gen = at::detail::createCPUGenerator(static_cast<uint64_t>(I("seed")));
  batch->clean = torch::randn({B, T, Fin}, gen);
  batch->noisy = batch->clean + 0.3 * torch::randn({B, T, Fin}, gen);
  batch->lengths = torch::full({B}, T, torch::kLong);
  for (int64_t i = 0; i < B; ++i) batch->indices.push_back(i);
  batch->src_frames = batch->padded_frames = B * T;
  std::printf("trellis bench_nest: libtorch %s, %ld trained params, %ldx D=%ld H=%ld K=%ld, batch "
              "%ld x %ld frames (%.2f s), %d threads, %s\n",
              TORCH_VERSION, trained, o.encoder_layers, o.encoder_embed_dim,
              o.encoder_attention_heads, o.conv_kernel_size, B, T, T / 100.0,
              at::get_num_threads(),
              topts.bf16 ? "bf16 (CPU autocast, fp32 weights and AdamW state)" : "fp32");
  std::fflush(stdout);

  std::vector<double> ms, fwd, opt, cpus;
  const int64_t steps = I("steps"), warmup = I("warmup-steps");
  for (int64_t i = 0; i < warmup + steps; ++i) {
    batch->seed = static_cast<uint64_t>(I("seed") + i);  // a new mask every update
    std::optional<torch::autograd::profiler::RecordProfile> prof;  // the last update, --profile
    if (!a["profile"].empty() && i == warmup + steps - 1) prof.emplace(a["profile"]);
    const auto t0 = Clock::now();
    const double c0 = cpu_seconds();
    StepRecord rec = trainer.train_step({batch});
    const double t = seconds_since(t0), cpu = cpu_seconds() - c0;
    prof.reset();
    std::printf("%s %ld: %.0f ms (fwd+loss %.0f, bwd %.0f, opt %.0f), loss %.3f over %.0f "
                "positions\n",
                i < warmup ? "warmup" : "step", i, t * 1e3, task.last_forward_s * 1e3,
                (t - task.last_forward_s - optimizer.last_step_s) * 1e3,
                optimizer.last_step_s * 1e3,
                rec.stats.count("loss") ? rec.stats.at("loss") / std::max(1.0, rec.stats.at("sample_size")) : NAN,
                rec.stats.count("sample_size") ? rec.stats.at("sample_size") : NAN);
    std::fflush(stdout);
    if (i >= warmup) {
      ms.push_back(t * 1e3);
      cpus.push_back(cpu * 1e3);
      fwd.push_back(task.last_forward_s * 1e3);
      opt.push_back(optimizer.last_step_s * 1e3);
    }
  }
  if (ms.empty()) return 0;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("RESULT: %.0f ms/update median (min %.0f, max %.0f) over %zu updates | fwd+loss %.0f, "
              "opt %.0f | CPU %.0f ms/update median (all threads) | max RSS %.0f MiB\n",
              median(ms), *std::min_element(ms.begin(), ms.end()),
              *std::max_element(ms.begin(), ms.end()), ms.size(), median(fwd), median(opt),
              median(cpus), ru.ru_maxrss / 1024.0);
  return 0;
}
