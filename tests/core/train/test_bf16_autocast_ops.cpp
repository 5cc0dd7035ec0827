// What runs in bfloat16 in one `train --bf16` update of the conformer (docs/training.md, "bf16
// on the CPU"): a RecordFunction observer notes the output dtype of every ATen op of one
// Trainer::train_step (bf16 = true, CPU autocast) of a small upstream conformer_ctc with the ctc
// criterion and Adam, per phase (forward, backward, clipping, optimizer). Matmuls and
// convolutions run in bf16 forward and backward, layer_norm and the CTC loss in float32, the
// optimizer only in float32, and the weights, their gradients and Adam's state stay float32.
// TRELLIS_BF16_AUDIT=1 prints the whole table (the source of the docs' table).
#include <ATen/autocast_mode.h>
#include <ATen/record_function.h>
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "core/interfaces/criterion.h"
#include "core/interfaces/lr_scheduler.h"
#include "core/interfaces/model.h"
#include "core/interfaces/optimizer.h"
#include "core/interfaces/task.h"
#include "core/registry.h"
#include "core/train/trainer.h"
#include "criteria/ctc.h"
#include "models/conformer/conformer_options.h"
#include "optim/adam.h"
#include "tasks/speech_batch.h"
#include "tests/forward_only_task.h"

using namespace trellis;

namespace {

// Task::forward as SpeechToTextTask's for an encoder-only CTC model.
class CtcTask : public testing::ForwardOnlyTask {
 public:
  LossOutput forward(Model& model, Criterion& criterion, const TaskBatch& any) override {
    const auto& b = batch_cast<SpeechBatch>(any);
    ModelOutput out = model.forward(b.src_tokens, b.src_lengths, b.prev_output_tokens);
    NetOutput net;
    net.ctc_logits = out.logits;  // (T', B, V)
    net.ctc_lengths = out.encoder.ctc_lengths;
    CriterionTargets t;
    t.target = b.target;
    t.target_lengths = b.target_lengths;
    t.ntokens = b.ntokens;
    t.nsentences = b.size();
    return criterion.forward(net, t);
  }
};

const char* dtype_name(at::ScalarType t) {
  switch (t) {
    case at::kBFloat16: return "bf16";
    case at::kFloat: return "f32";
    case at::kDouble: return "f64";
    case at::kLong: return "i64";
    case at::kInt: return "i32";
    case at::kBool: return "bool";
    default: return at::toString(t);
  }
}

// The dtype of the first tensor among `values` (also inside lists), "" when none. Values:
// RecordFunction's inputs() (an ArrayRef) or outputs() (a vector) of IValues.
template <class Values>
std::string first_dtype(const Values& values) {
  for (const auto& v : values) {
    if (v.isTensor() && v.toTensor().defined()) return dtype_name(v.toTensor().scalar_type());
    if (v.isTensorList())
      for (const at::Tensor& t : v.toTensorVector())
        if (t.defined()) return dtype_name(t.scalar_type());
  }
  return "";
}

// Per phase (the trainer's profiler scopes) and op: "input dtype>output dtype" -> calls.
struct Audit {
  std::mutex mu;
  std::string phase = "other";
  std::map<std::string, std::map<std::string, std::map<std::string, int>>> ops;

  // Whether `op` in `phase` ever gave an output of dtype `out`.
  bool gave(const std::string& phase_name, const std::string& op, const std::string& out) {
    auto p = ops.find(phase_name);
    if (p == ops.end()) return false;
    auto o = p->second.find(op);
    if (o == p->second.end()) return false;
    for (const auto& [k, n] : o->second)
      if (k.substr(k.find('>') + 1) == out) return true;
    return false;
  }
  bool any_output(const std::string& phase_name, const std::string& out) {
    for (const auto& [op, seen] : ops[phase_name])
      if (gave(phase_name, op, out)) return true;
    return false;
  }
};

Audit* g_audit = nullptr;

// The input dtype, read on entry (list inputs such as cat's are borrowed: gone at the exit).
struct InputDtype : at::ObserverContext {
  std::string dtype;
};

std::unique_ptr<at::ObserverContext> on_enter(const at::RecordFunction& fn) {
  if (fn.scope() == at::RecordScope::USER_SCOPE) {
    const std::string name = fn.name();
    if (name.rfind("trellis::", 0) == 0) {
      std::lock_guard<std::mutex> lock(g_audit->mu);
      g_audit->phase = name.substr(9);
    }
    return nullptr;
  }
  auto ctx = std::make_unique<InputDtype>();
  ctx->dtype = first_dtype(fn.inputs());
  return ctx;
}

void on_exit(const at::RecordFunction& fn, at::ObserverContext* ctx) {
  const std::string name = fn.name();
  std::lock_guard<std::mutex> lock(g_audit->mu);
  if (fn.scope() == at::RecordScope::USER_SCOPE) {
    if (name.rfind("trellis::", 0) == 0) g_audit->phase = "other";
    return;
  }
  if (fn.scope() != at::RecordScope::FUNCTION) return;
  const std::string out = first_dtype(fn.outputs());
  if (out.empty()) return;
  const std::string in = ctx ? static_cast<InputDtype*>(ctx)->dtype : "";
  ++g_audit->ops[g_audit->phase][name][in + ">" + out];
}

}  // namespace

TEST_CASE("bf16: one train --bf16 update of the conformer, op by op", "[unit][train][bf16]") {
  torch::manual_seed(1);
  AnyOptions mopts = arch_registry().make_options("conformer_ctc");
  auto& o = mopts.as<ConformerOptions>();
  o.conformer_variant = "upstream";
  o.pos_enc_type = "abs";
  o.encoder_layers = 2;
  o.encoder_embed_dim = 64;
  o.encoder_attention_heads = 4;
  o.encoder_ffn_embed_dim = 128;
  o.depthwise_conv_kernel_size = 15;
  o.input_feat_per_channel = 40;
  o.conv_channels = 64;
  ModelContext mctx;
  mctx.input_feat_per_channel = 40;
  mctx.tgt_vocab_size = 20;
  std::unique_ptr<Model> model =
      model_registry().create(arch_registry().info("conformer_ctc").target, mopts, mctx);
  AnyOptions copts = criterion_registry().make_options("ctc");
  copts.as<CtcOptions>().zero_infinity = true;
  auto criterion = criterion_registry().create("ctc", copts, CriterionContext{});
  auto optimizer = optimizer_registry().create("adam", optimizer_registry().make_options("adam"),
                                               model->parameters(), OptimizerContext{1e-3});
  LrSchedulerContext sctx;
  sctx.lr = {1e-3};
  auto scheduler =
      lr_scheduler_registry().create("fixed", lr_scheduler_registry().make_options("fixed"), sctx);
  TrainerOptions topts;
  topts.bf16 = true;
  topts.clip_norm = 10.0;
  CtcTask task;
  Trainer trainer(task, *model, *criterion, *optimizer, *scheduler, topts);
  trainer.set_num_updates(0);

  auto b = std::make_shared<SpeechBatch>();  // 2 utterances of 120 and 96 frames, 12 tokens
  b->src_tokens = torch::randn({2, 120, 40});
  b->src_lengths = torch::tensor({120, 96}, torch::kLong);
  b->target = torch::randint(3, 20, {2, 12}, torch::kLong);
  b->target_lengths = torch::tensor({12, 12}, torch::kLong);
  b->prev_output_tokens = b->target.clone();
  b->indices = {0, 1};
  b->ntokens = 24;
  b->src_frames = b->padded_frames = 240;

  Audit audit;
  g_audit = &audit;
  auto handle = at::addGlobalCallback(at::RecordFunctionCallback(on_enter, on_exit)
                                          .needsInputs(true)
                                          .needsOutputs(true)
                                          .scopes({at::RecordScope::FUNCTION,
                                                   at::RecordScope::USER_SCOPE}));
  StepRecord rec;
  try {
    rec = trainer.train_step({b});
  } catch (...) {
    at::removeCallback(handle);
    throw;
  }
  at::removeCallback(handle);
  g_audit = nullptr;
  CHECK_FALSE(at::autocast::is_cpu_enabled());  // the trainer's scope ended

  if (std::getenv("TRELLIS_BF16_AUDIT")) {
    for (const auto& [phase, ops] : audit.ops)
      for (const auto& [op, seen] : ops) {
        std::printf("%-15s %-45s", phase.c_str(), op.c_str());
        for (const auto& [k, n] : seen) std::printf(" %s x%d", k.c_str(), n);
        std::printf("\n");
      }
  }
  INFO("TRELLIS_BF16_AUDIT=1 prints the table");
  REQUIRE(audit.ops.count("forward"));
  REQUIRE(audit.ops.count("backward"));
  REQUIRE(audit.ops.count("optimizer_step"));
  // Matmuls and convolutions in bf16, forward and backward.
  CHECK(audit.gave("forward", "aten::linear", "bf16"));
  CHECK_FALSE(audit.gave("forward", "aten::linear", "f32"));
  CHECK(audit.gave("forward", "aten::conv1d", "bf16"));
  CHECK_FALSE(audit.gave("forward", "aten::conv1d", "f32"));
  CHECK((audit.gave("backward", "aten::mm", "bf16") || audit.gave("backward", "aten::matmul", "bf16")));
  CHECK(audit.gave("backward", "aten::convolution_backward", "bf16"));
  // The layer norms: bf16 rows normalized in float32 arithmetic by trellis's fused kernel
  // (models/modules/bf16_layer_norm.h), never ATen's bf16 layer_norm; the CTC loss in float32;
  // autocast casts weights and activations to bf16.
  CHECK_FALSE(audit.ops["forward"].count("aten::layer_norm"));
  CHECK_FALSE(audit.ops["forward"].count("aten::native_layer_norm"));
  CHECK(audit.gave("forward", "aten::ctc_loss", "f32"));
  CHECK_FALSE(audit.gave("forward", "aten::ctc_loss", "bf16"));
  CHECK(audit.ops["forward"]["aten::_to_copy"].count("f32>bf16"));
  // The optimizer and the clipping in float32 only; the weights, gradients, state stay float32.
  CHECK_FALSE(audit.any_output("optimizer_step", "bf16"));
  CHECK_FALSE(audit.any_output("clip_grad_norm", "bf16"));
  CHECK(std::isfinite(rec.stats.at("loss")));
  for (const auto& p : model->parameters()) {
    CHECK(p.scalar_type() == at::kFloat);
    if (p.grad().defined()) CHECK(p.grad().scalar_type() == at::kFloat);
  }
  const TensorMap state = optimizer->state_dict();
  CHECK(state.size() > 2);
  for (const auto& [name, t] : state)
    if (t.is_floating_point()) CHECK(t.scalar_type() == at::kFloat);
}
