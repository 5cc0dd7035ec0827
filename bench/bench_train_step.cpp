// One training update of trellis's upstream (fairseq S2TConformerEncoder, --pos-enc-type abs)
// conformer_ctc model, timed through Trainer::train_step, on the batches that
// ../shared/bench/ref_train_step.py builds: utterance lengths from --lengths-tsv (or
// --utt-frames uniform:LO:HI over --pool), fairseq batch_by_size (stable ascending sort, greedy,
// --bsz-mult), batch order torch.randperm(seed), random fbank-shaped inputs and random targets of
// subsampled frames / --frames-per-token units. Criterion `ctc` (zero_infinity), optimizer `adam`
// (betas 0.9,0.98, eps 1e-8), --clip-norm. Flags and the RESULT line follow the reference;
// bench/run_train_step.sh runs both and prints the ratio.
//
//   build/bin/bench_train_step --lengths-tsv ../shared/bench/peer_epoch_nframes.tsv
//       --threads 2 --steps 40 --warmup-steps 0      (one command line)
//   --profile FILE: a chrome trace of the measured updates (LibTorch's legacy autograd profiler,
//   the format of the reference's under bench/profile_train_step.py, which compares the two by
//   category); --peak 1: first time a 2048x2048 fp32 matmul at 1 and 2 threads (GFLOP/s).
#include <ATen/CPUGeneratorImpl.h>
#include <sys/resource.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/data/batching.h"
#include "core/registry.h"
#include "core/train/trainer.h"
#include "core/interfaces/criterion.h"
#include "criteria/ctc.h"
#include "models/conformer/conformer_options.h"
#include "core/interfaces/model.h"
#include "optim/adam.h"
#include "core/interfaces/lr_scheduler.h"
#include "core/interfaces/optimizer.h"
#include "core/interfaces/task.h"
#include "bench/timed_optimizer.h"
#include "tests/forward_only_task.h"  // the data methods: nothing to serve
#include "tasks/speech_batch.h"

using namespace trellis;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The part of a Task that Trainer::train_step uses: forward() as SpeechToTextTask::forward does
// (model, then criterion on its CTC logits), timed; the data methods are unused.
class BenchTask : public testing::ForwardOnlyTask {
 public:
  double last_forward_s = 0;  // model forward + criterion of the last call
  LossOutput forward(Model& model, Criterion& criterion, const TaskBatch& any) override {
    const auto& b = batch_cast<SpeechBatch>(any);
    const auto t0 = Clock::now();
    ModelOutput out = model.forward(b.src_tokens, b.src_lengths, b.prev_output_tokens);
    NetOutput net;
    net.ctc_logits = out.logits;  // (T', B, V) float
    net.ctc_lengths = out.encoder.ctc_lengths;
    CriterionTargets t;
    t.target = b.target;
    t.target_lengths = b.target_lengths;
    t.ntokens = b.ntokens;
    t.nsentences = b.size();
    LossOutput loss = criterion.forward(net, t);
    last_forward_s = seconds_since(t0);
    return loss;
  }
};

using bench::TimedOptimizer;  // bench/timed_optimizer.h

std::vector<int64_t> read_n_frames(const std::string& path) {  // n_frames column of a manifest
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::string line, cell;
  std::getline(in, line);
  std::vector<std::string> hdr;
  for (std::stringstream ss(line); std::getline(ss, cell, '\t');) hdr.push_back(cell);
  const auto col = std::find(hdr.begin(), hdr.end(), "n_frames") - hdr.begin();
  std::vector<int64_t> out;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::stringstream ss(line);
    for (int i = 0; i <= col; ++i) std::getline(ss, cell, '\t');
    out.push_back(std::stoll(cell));
  }
  return out;
}

double median(std::vector<double> v) {  // Python's statistics.median
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string blas_libraries() {
  std::ifstream maps("/proc/self/maps");
  std::set<std::string> libs;
  for (std::string line; std::getline(maps, line);) {
    const auto path = line.substr(line.find_last_of(' ') + 1);
    std::string low = path;
    std::transform(low.begin(), low.end(), low.begin(), ::tolower);
    if (low.find("blas") != std::string::npos || low.find("mkl") != std::string::npos)
      libs.insert(path);
  }
  std::string s;
  for (const auto& l : libs) s += (s.empty() ? "" : " ") + l;
  return s;
}

// The machine's fp32 matmul peak as the reference measures it (--peak): 2048x2048 torch.mm at 1
// and 2 threads, median of 5.
void print_matmul_peak() {
  const int64_t n = 2048;
  auto x = torch::randn({n, n}), y = torch::randn({n, n});
  const int old = at::get_num_threads();
  for (int th : {1, 2}) {
    at::set_num_threads(th);
    at::mm(x, y);
    std::vector<double> ts;
    for (int r = 0; r < 5; ++r) {
      const auto t0 = Clock::now();
      at::mm(x, y);
      ts.push_back(seconds_since(t0));
    }
    std::printf("peak torch.mm 2048x2048 fp32, %d thread(s): %.1f GFLOP/s (median of 5)\n", th,
                2.0 * n * n * n / median(ts) / 1e9);
  }
  at::set_num_threads(old);
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> a = {
      {"layers", "6"},        {"dim", "256"},          {"heads", "4"},
      {"ffn", "1024"},        {"kernel", "31"},        {"vocab", "500"},
      {"input-dim", "80"},    {"conv-channels", "1024"}, {"conv-kernels", "5,5"},
      {"dropout", "0.1"},     {"max-tokens", "8000"},  {"bsz-mult", "8"},
      {"utt-frames", "uniform:300:1500"}, {"lengths-tsv", ""}, {"frames-per-token", "5"},
      {"pool", "2000"},       {"threads", "0"},        {"steps", "8"},
      {"warmup-steps", "2"},  {"lr", "1e-3"},          {"clip-norm", "10"},
      {"seed", "1"},          {"profile", ""},         {"peak", "0"},
      {"bf16", "0"}};
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0 || !a.count(k.substr(2)) || i + 1 >= argc) {
      std::fprintf(stderr, "usage: bench_train_step [--FLAG VALUE ...]; flags:");
      for (const auto& kv : a) std::fprintf(stderr, " --%s (%s)", kv.first.c_str(), kv.second.c_str());
      std::fprintf(stderr, "\n");
      return 2;
    }
    a[k.substr(2)] = argv[++i];
  }
  auto I = [&](const char* k) -> int64_t { return std::stoll(a.at(k)); };
  auto F = [&](const char* k) { return std::stod(a.at(k)); };
  const double load_start = [] { double l[1]; return getloadavg(l, 1) == 1 ? l[0] : -1; }();
  std::printf("trellis bench_train_step: libtorch %s  default threads %d (OMP_NUM_THREADS=%s)  BLAS [%s]\n",
              TORCH_VERSION, at::get_num_threads(),
              std::getenv("OMP_NUM_THREADS") ? std::getenv("OMP_NUM_THREADS") : "None",
              blas_libraries().c_str());
  if (I("peak") != 0) print_matmul_peak();
  if (I("threads") > 0) at::set_num_threads(static_cast<int>(I("threads")));
  const int64_t V = I("vocab"), fpt = I("frames-per-token");
  std::vector<int64_t> kernels;
  for (std::stringstream ss(a["conv-kernels"]); ss.good();) {
    std::string k;
    std::getline(ss, k, ',');
    kernels.push_back(std::stoll(k));
  }

  // Model: --arch conformer_ctc --conformer-variant upstream --pos-enc-type abs (fairseq MHA).
  torch::manual_seed(static_cast<uint64_t>(I("seed")));
  AnyOptions mopts = arch_registry().make_options("conformer_ctc");
  auto& o = mopts.as<ConformerOptions>();
  o.conformer_variant = "upstream";
  o.pos_enc_type = "abs";
  o.attn_type = "none";
  o.encoder_layers = I("layers");
  o.encoder_embed_dim = I("dim");
  o.encoder_attention_heads = I("heads");
  o.encoder_ffn_embed_dim = I("ffn");
  o.depthwise_conv_kernel_size = I("kernel");
  o.input_feat_per_channel = I("input-dim");
  o.conv_channels = I("conv-channels");
  o.conv_kernel_sizes = kernels;
  o.dropout = F("dropout");
  ModelContext mctx;
  mctx.input_feat_per_channel = I("input-dim");
  mctx.tgt_vocab_size = V;  // CTC head over the target dictionary; blank 0, pad 1, eos 2
  std::unique_ptr<Model> model =
      model_registry().create(arch_registry().info("conformer_ctc").target, mopts, mctx);

  // Criterion ctc, optimizer adam, fixed LR, trainer with --clip-norm.
  CriterionContext cctx;  // pad 1, eos 2, blank 0
  AnyOptions copts = criterion_registry().make_options("ctc");
  copts.as<CtcOptions>().zero_infinity = true;
  auto criterion = criterion_registry().create("ctc", copts, cctx);
  AnyOptions aopts = optimizer_registry().make_options("adam");
  aopts.as<AdamOptions>().adam_betas = {0.9, 0.98};
  aopts.as<AdamOptions>().adam_eps = 1e-8;
  TimedOptimizer optimizer(
      optimizer_registry().create("adam", aopts, model->parameters(), OptimizerContext{F("lr")}));
  LrSchedulerContext sctx;
  sctx.lr = {F("lr")};
  auto scheduler =
      lr_scheduler_registry().create("fixed", lr_scheduler_registry().make_options("fixed"), sctx);
  TrainerOptions topts;
  topts.seed = static_cast<uint64_t>(I("seed"));
  topts.clip_norm = F("clip-norm");
  topts.bf16 = I("bf16") != 0;  // CPU autocast to bfloat16, as train --bf16
  BenchTask task;
  Trainer trainer(task, *model, *criterion, optimizer, *scheduler, topts);
  trainer.set_num_updates(0);

  // Batches as the reference: lengths, stable ascending order, greedy batch_by_size, randperm.
  at::Generator gen = at::detail::createCPUGenerator(static_cast<uint64_t>(I("seed")));
  std::vector<int64_t> lengths;
  if (!a["lengths-tsv"].empty()) {
    lengths = read_n_frames(a["lengths-tsv"]);
  } else {
    int64_t lo = 0, hi = 0;
    if (std::sscanf(a["utt-frames"].c_str(), "uniform:%ld:%ld", &lo, &hi) != 2) {
      std::fprintf(stderr, "--utt-frames: only uniform:LO:HI here\n");
      return 2;
    }
    auto l = torch::randint(lo, hi + 1, {I("pool")}, gen, torch::kLong);
    lengths.assign(l.data_ptr<int64_t>(), l.data_ptr<int64_t>() + l.numel());
  }
  Batches sorted = batch_by_size_greedy(stable_argsort(lengths), lengths, I("max-tokens"), 0,
                                        I("bsz-mult"));
  auto perm = torch::randperm(static_cast<int64_t>(sorted.size()), gen, torch::kLong);
  Batches batches;
  for (int64_t i = 0; i < perm.numel(); ++i) batches.push_back(sorted[perm[i].item<int64_t>()]);
  const int64_t total_frames = std::accumulate(lengths.begin(), lengths.end(), int64_t{0});
  std::printf("model: %ldx upstream conformer D=%ld H=%ld FFN=%ld K=%ld V=%ld, %ld params "
              "(%.2fM); threads=%d; %zu batches of <= %ld padded frames (utt %s: %zu utts, %.0f "
              "real frames/batch on average; bsz mult %ld)\n",
              I("layers"), I("dim"), I("heads"), I("ffn"), I("kernel"), V, model->num_parameters(),
              model->num_parameters() / 1e6, at::get_num_threads(), batches.size(), I("max-tokens"),
              a["lengths-tsv"].empty() ? a["utt-frames"].c_str() : a["lengths-tsv"].c_str(),
              lengths.size(), double(total_frames) / double(batches.size()), I("bsz-mult"));

  struct Row { double t, fwd, opt; int64_t bsz, frames, padded; };
  std::vector<Row> rows;
  std::optional<torch::autograd::profiler::RecordProfile> profile;  // --profile: measured updates
  const int64_t steps = I("steps"), warmup = I("warmup-steps");
  for (int64_t step = 0; step < warmup + steps; ++step) {
    // One collated batch, rows by descending length as SpeechBatch has them.
    Batch idx = batches[static_cast<size_t>(step) % batches.size()];
    std::stable_sort(idx.begin(), idx.end(),
                     [&](int64_t x, int64_t y) { return lengths[x] > lengths[y]; });
    const int64_t B = static_cast<int64_t>(idx.size()), T = lengths[idx[0]];
    auto batch = std::make_shared<SpeechBatch>();
    SpeechBatch& b = *batch;
    b.indices = idx;
    b.src_tokens = torch::randn({B, T, I("input-dim")}, gen);  // (B, T, F) float, zero-padded
    b.src_lengths = torch::empty({B}, torch::kLong);            // (B) int64
    std::vector<int64_t> units(static_cast<size_t>(B));
    for (int64_t i = 0; i < B; ++i) {
      const int64_t L = lengths[idx[i]];
      b.src_tokens[i].narrow(0, L, T - L).zero_();
      b.src_lengths[i] = L;
      int64_t sub = L;  // Conv1dSubsampler output length
      for (int64_t k : kernels) sub = (sub + 2 * (k / 2) - k) / 2 + 1;
      units[i] = std::max<int64_t>(1, sub / fpt);
      b.src_frames += L;
    }
    b.padded_frames = B * T;
    // target: (B, L+1) int64 = units in [3, V) (not blank/pad/eos) + eos, right-padded with pad
    const int64_t Lmax = *std::max_element(units.begin(), units.end());
    b.target = torch::full({B, Lmax + 1}, 1, torch::kLong);
    b.target_lengths = torch::empty({B}, torch::kLong);
    for (int64_t i = 0; i < B; ++i) {
      b.target[i].narrow(0, 0, units[i]).copy_(torch::randint(3, V, {units[i]}, gen, torch::kLong));
      b.target[i][units[i]] = 2;
      b.target_lengths[i] = units[i] + 1;
      b.ntokens += units[i];
    }

    if (!a["profile"].empty() && step == warmup) profile.emplace(a["profile"]);
    const auto t0 = Clock::now();
    StepRecord rec = trainer.train_step({batch});  // forward, ctc, backward, /sample size, clip, adam
    const double t = seconds_since(t0);
    const double loss = rec.stats.count("loss") ? rec.stats.at("loss") : NAN;
    std::printf("%s %3ld: bsz %3ld maxT %5ld frames %6ld | %8.1f ms (fwd %.0f bwd+clip %.0f opt "
                "%.0f) | %8.0f frames/s | loss/frame %.3f%s\n",
                step < warmup ? "warmup" : "step", step, B, T, b.src_frames, t * 1e3,
                task.last_forward_s * 1e3, (t - task.last_forward_s - optimizer.last_step_s) * 1e3,
                optimizer.last_step_s * 1e3, double(b.src_frames) / t,
                loss / double(b.src_frames), rec.gnorm ? "" : " (skipped)");
    std::fflush(stdout);
    if (step >= warmup)
      rows.push_back({t, task.last_forward_s, optimizer.last_step_s, B, b.src_frames, B * T});
  }

  profile.reset();  // writes the trace
  std::vector<double> ms, fps, fwd, opt, rest;
  double tot_t = 0, bsz = 0;
  int64_t frames = 0, padded = 0;
  for (const Row& r : rows) {
    ms.push_back(r.t * 1e3);
    fps.push_back(double(r.frames) / r.t);
    fwd.push_back(r.fwd * 1e3);
    opt.push_back(r.opt * 1e3);
    rest.push_back((r.t - r.fwd - r.opt) * 1e3);
    tot_t += r.t;
    bsz += double(r.bsz);
    frames += r.frames;
    padded += r.padded;
  }
  if (rows.empty()) return 0;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  double load_end[1] = {-1};
  getloadavg(load_end, 1);
  std::printf("RESULT: %.0f ms/update median (min %.0f, max %.0f; fwd %.0f / bwd+clip %.0f / opt "
              "%.0f) | %.0f input frames/s median (%.0f overall = %.1f s audio/s) | mean bsz %.1f, "
              "padding %.1f%% | %zu updates, %ld frames in %.1f s | %ld params | max RSS %.0f MiB "
              "| load %.2f->%.2f\n",
              median(ms), *std::min_element(ms.begin(), ms.end()),
              *std::max_element(ms.begin(), ms.end()), median(fwd), median(rest), median(opt),
              median(fps), double(frames) / tot_t, double(frames) / tot_t / 100.0,
              bsz / double(rows.size()), 100.0 * (1.0 - double(frames) / double(padded)),
              rows.size(), frames, tot_t, model->num_parameters(), ru.ru_maxrss / 1024.0,
              load_start, load_end[0]);
  return 0;
}
