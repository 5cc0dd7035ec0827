// wav2vec2 speed on random waveforms, median ms over --steps after --warmup.
// --mode finetune (default): wav2vec2_ctc inference (eval, no grad) and a fine-tuning step
//   (frozen extractor, CTC loss, AdamW); bench/ref_wav2vec2.py times torchaudio's wav2vec2_model
//   with the same flags, bench/run_wav2vec2.sh runs both.
// --mode pretrain: one wav2vec 2.0 pretraining update of --arch wav2vec2_base (the preset's
//   dropouts 0.1, mask 0.65 x 10, feature gradient x 0.1, 2 x 320 codewords, final_dim 256, 100
//   negatives; the size flags below override it; --layerdrop, default 0, so that both sides run
//   every layer) with the wav2vec criterion (--loss-weights [0.1, 10]) and fairseq's Adam
//   ((0.9, 0.98), eps 1e-6, weight decay 0.01); bench/ref_wav2vec2_pretrain.py does the same
//   step in torchaudio + torch, bench/run_wav2vec2_pretrain.sh runs both.
// --bf16 1: the forward passes (and the loss) under CPU autocast to bfloat16, as `train --bf16`
//   (Trainer's CpuAutocast; weights and optimizer state stay float32, the CTC log-softmax in
//   float32 as criteria/ctc.cpp does); the torchaudio references have no such flag (fp32).
// --profile FILE (finetune only): a chrome trace of the measured fine-tuning updates (LibTorch's
//   legacy autograd profiler) with the scopes trellis::forward (model and CTC loss),
//   trellis::backward and trellis::optimizer_step, as Trainer::train_step records them; inference
//   is not run. bench/ref_wav2vec2.py --profile writes the reference's, bench/run_wav2vec2_profile.sh
//   runs both and bench/profile_train_step.py's table by category.
//   bench_wav2vec2 [--mode finetune|pretrain] [--bf16 0|1] --layers 12 --dim 768 --heads 12 --ffn 3072
//                  --conv-dim 512 --batch 4 --seconds 10 --vocab 32 --steps 5 --warmup 1
//                  --threads 2 [--layerdrop 0]
#include <ATen/autocast_mode.h>
#include <ATen/record_function.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/registry.h"
#include "criteria/wav2vec.h"
#include "models/wav2vec2/wav2vec2_ctc.h"
#include "models/wav2vec2/wav2vec2_pretraining.h"
#include "optim/adam.h"
#include "optim/adamw.h"

using Clock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// CPU autocast to bfloat16 while alive, when `on` (the same calls as Trainer's CpuAutocast in
// core/train/trainer.cpp, which `train --bf16` uses).
class Bf16Autocast {
 public:
  explicit Bf16Autocast(bool on) : on_(on) {
    if (!on_) return;
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::increment_nesting();
  }
  ~Bf16Autocast() {
    if (!on_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_cpu_enabled(false);
  }
  Bf16Autocast(const Bf16Autocast&) = delete;
  Bf16Autocast& operator=(const Bf16Autocast&) = delete;

 private:
  bool on_;
};

const char* precision(bool bf16) {
  return bf16 ? "bf16 (CPU autocast, fp32 weights and optimizer state)" : "fp32";
}

// One pretraining update per step: forward (mask, quantizer, negatives, logits), the wav2vec
// criterion, backward, Adam. Prints the RESULT line bench/run_wav2vec2_pretrain.sh reads.
int pretrain(std::map<std::string, std::string>& a) {
  auto num = [&](const char* k) { return std::stol(a[k]); };
  trellis::AnyOptions any = trellis::arch_registry().make_options("wav2vec2_base");
  auto& o = any.as<trellis::Wav2Vec2PretrainingOptions>();
  const std::string c = a["conv-dim"];
  o.conv_feature_layers = "[(" + c + ", 10, 5)] + [(" + c + ", 3, 2)] * 4 + [(" + c + ", 2, 2)] * 2";
  o.encoder_layers = num("layers");
  o.encoder_embed_dim = num("dim");
  o.encoder_attention_heads = num("heads");
  o.encoder_ffn_embed_dim = num("ffn");
  o.layerdrop = std::stod(a["layerdrop"]);
  trellis::ModelContext ctx;
  trellis::Wav2Vec2PretrainingModel model(o, ctx);
  trellis::Wav2vecCriterionOptions co;
  co.loss_weights = {0.1, 10.0};
  trellis::Wav2vecCriterion criterion(co, trellis::CriterionContext{});
  const int64_t b = num("batch"), s = static_cast<int64_t>(std::stod(a["seconds"]) * 16000);
  at::Tensor wav = torch::randn({b, s});
  const bool bf16 = num("bf16") != 0;
  std::printf("trellis bench_wav2vec2 --mode pretrain: %ld params, batch %ld x %.1f s, %d threads, "
              "%s\n",
              model.num_parameters(), b, s / 16000.0, at::get_num_threads(), precision(bf16));
  trellis::AdamOptions ao;
  ao.adam_betas = {0.9, 0.98};
  ao.adam_eps = 1e-6;
  ao.weight_decay = 0.01;
  trellis::OptimizerContext octx;
  octx.lr = 5e-4;
  std::vector<at::Tensor> params;
  for (auto& p : model.parameters()) params.push_back(p);
  trellis::Adam opt(ao, params, octx);
  model.train();
  criterion.train(true);
  std::vector<double> steps, fwd;
  double masked = 0, acc = 0, bits = 0;
  for (long i = 0; i < num("warmup") + num("steps"); ++i) {
    auto t0 = Clock::now();
    model.zero_grad();
    model.set_num_updates(i);
    trellis::LossOutput out;
    {
      Bf16Autocast autocast(bf16);
      trellis::NetOutput net;
      net.outputs = model.contrastive_forward(wav, at::Tensor());
      trellis::CriterionTargets targets;
      targets.nsentences = b;
      out = criterion.forward(net, targets);
    }
    const double t_fwd = ms_since(t0);
    out.loss.backward();
    opt.step();
    if (i >= num("warmup")) {
      steps.push_back(ms_since(t0));
      fwd.push_back(t_fwd);
    }
    masked = out.sample_size;
    acc = out.stats.at("correct") / out.stats.at("count");
    bits = out.stats.at("loss") / masked / std::log(2.0);
  }
  std::printf("last step: %.0f masked frames, loss %.3f bits, accuracy %.3f\n", masked, bits,
              acc);
  std::printf("RESULT: forward+loss %.0f ms, pretraining step %.0f ms/update\n", median(fwd),
              median(steps));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> a = {
      {"layers", "12"}, {"dim", "768"}, {"heads", "12"}, {"ffn", "3072"}, {"conv-dim", "512"},
      {"batch", "4"},   {"seconds", "10"}, {"vocab", "32"}, {"steps", "5"}, {"warmup", "1"},
      {"threads", "2"}, {"seed", "1"},    {"mode", "finetune"}, {"layerdrop", "0"},
      {"bf16", "0"},    {"profile", ""}};
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0 || !a.count(k.substr(2))) {
      std::fprintf(stderr, "bench_wav2vec2: unknown flag %s\n", argv[i]);
      return 2;
    }
    a[k.substr(2)] = argv[i + 1];
  }
  auto num = [&](const char* k) { return std::stol(a[k]); };
  at::set_num_threads(static_cast<int>(num("threads")));
  torch::manual_seed(num("seed"));
  if (a["mode"] == "pretrain") return pretrain(a);
  if (a["mode"] != "finetune") {
    std::fprintf(stderr, "bench_wav2vec2: --mode finetune or pretrain, got %s\n", a["mode"].c_str());
    return 2;
  }
  trellis::Wav2Vec2Options o;
  const std::string c = a["conv-dim"];
  o.conv_feature_layers = "[(" + c + ", 10, 5)] + [(" + c + ", 3, 2)] * 4 + [(" + c + ", 2, 2)] * 2";
  o.encoder_layers = num("layers");
  o.encoder_embed_dim = num("dim");
  o.encoder_attention_heads = num("heads");
  o.encoder_ffn_embed_dim = num("ffn");
  o.dropout = o.attention_dropout = o.activation_dropout = 0.0;
  o.layerdrop = 0.0;
  o.apply_mask = false;  // torchaudio's model has no masking
  trellis::ModelContext ctx;
  ctx.tgt_vocab_size = num("vocab");
  trellis::Wav2Vec2CtcModel model(o, ctx);
  const int64_t b = num("batch"), s = static_cast<int64_t>(std::stod(a["seconds"]) * 16000);
  at::Tensor wav = torch::randn({b, s});
  at::Tensor lengths = torch::full({b}, s, torch::kLong);
  const int64_t tgt_len = std::max<int64_t>(1, s / 16000 * 12);  // ~12 letters per second
  at::Tensor targets = torch::randint(1, num("vocab"), {b, tgt_len});
  const bool bf16 = num("bf16") != 0;
  std::printf("trellis bench_wav2vec2: %ld params, batch %ld x %.1f s, %d threads, %s\n",
              model.num_parameters(), b, s / 16000.0, at::get_num_threads(), precision(bf16));

  std::vector<double> infer, train;
  const bool profiling = !a["profile"].empty();
  if (!profiling) {
    model.eval();
    torch::NoGradGuard no_grad;
    for (long i = 0; i < num("warmup") + num("steps"); ++i) {
      auto t0 = Clock::now();
      Bf16Autocast autocast(bf16);
      model.encode(wav, lengths);
      if (i >= num("warmup")) infer.push_back(ms_since(t0));
    }
  }
  std::vector<at::Tensor> params;
  for (auto& p : model.parameters())
    if (p.requires_grad()) params.push_back(p);
  trellis::AdamWOptions ao;
  trellis::OptimizerContext octx;
  octx.lr = 1e-5;
  trellis::AdamW opt(ao, params, octx);
  model.train();
  std::optional<torch::autograd::profiler::RecordProfile> profile;  // --profile: measured updates
  for (long i = 0; i < num("warmup") + num("steps"); ++i) {
    if (profiling && i == num("warmup")) profile.emplace(a["profile"]);
    auto t0 = Clock::now();
    model.zero_grad();
    at::Tensor loss;
    {
      RECORD_USER_SCOPE("trellis::forward");  // scopes: bench/profile_train_step.py table
      Bf16Autocast autocast(bf16);
      auto e = model.encode(wav, lengths);
      at::Tensor lp = e.ctc_logits.to(at::kFloat).log_softmax(-1);  // a no-op cast in fp32
      loss = at::ctc_loss(lp, targets, e.ctc_lengths, torch::full({b}, tgt_len, torch::kLong), 0,
                          at::Reduction::Sum, true);
    }
    {
      RECORD_USER_SCOPE("trellis::backward");
      loss.backward();
    }
    {
      RECORD_USER_SCOPE("trellis::optimizer_step");
      opt.step();
    }
    if (i >= num("warmup")) train.push_back(ms_since(t0));
  }
  profile.reset();  // writes the trace
  if (profiling) {
    std::printf("RESULT: fine-tuning step %.0f ms/update (under the profiler; inference not run)\n",
                median(train));
    return 0;
  }
  std::printf("RESULT: inference %.0f ms/batch (RTF %.3f), fine-tuning step %.0f ms/update\n",
              median(infer), median(infer) / 1000.0 / (b * s / 16000.0), median(train));
  return 0;
}
