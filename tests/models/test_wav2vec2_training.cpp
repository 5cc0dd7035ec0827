// wav2vec2 fine-tuning mechanics: span masks (statistics, same count per row), the frozen
// feature extractor, --freeze-finetune-updates, --feature-grad-mult and gradient checkpointing.
#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include "models/wav2vec2/wav2vec2_body.h"
#include "models/wav2vec2/wav2vec2_ctc.h"
#include "models/wav2vec2/wav2vec2_mask.h"
#include "optim/adamw.h"

using namespace trellis;

namespace {

Wav2Vec2Options tiny() {
  Wav2Vec2Options o;
  o.conv_feature_layers = "[(16, 10, 5)] + [(16, 3, 2)] * 2 + [(16, 2, 2)]";
  o.encoder_embed_dim = 32;
  o.encoder_ffn_embed_dim = 64;
  o.encoder_layers = 2;
  o.encoder_attention_heads = 4;
  o.conv_pos = 8;
  o.conv_pos_groups = 4;
  o.activation_dropout = 0.0;
  o.layerdrop = 0.0;
  o.mask_prob = 0.0;
  return o;
}

// CTC loss of a fixed batch: wav (2, 4000), targets of 5 units
at::Tensor ctc_loss_of(Wav2Vec2CtcModel& m) {
  torch::manual_seed(5);
  at::Tensor wav = torch::randn({2, 4000});
  EncoderOut e = m.encode(wav, torch::tensor({4000, 3000}));
  at::Tensor lp = e.ctc_logits.log_softmax(-1);
  at::Tensor tgt = torch::randint(1, 10, {2, 5});
  return at::ctc_loss(lp, tgt, e.ctc_lengths, torch::tensor({5, 5}), 0, at::Reduction::Sum);
}

std::map<std::string, at::Tensor> grads(Wav2Vec2CtcModel& m) {
  std::map<std::string, at::Tensor> g;
  for (auto& p : m.named_parameters()) g[p.key()] = p.value().grad();
  return g;
}

bool is_extractor(const std::string& k) {
  return k.find("feature_extractor.") != std::string::npos;
}
bool is_head(const std::string& k) { return k.rfind("w2v_encoder.proj.", 0) == 0; }

}  // namespace

TEST_CASE("wav2vec2 masks: spans, counts and the masked fraction", "[unit][wav2vec2]") {
  std::mt19937_64 rng(3);
  MaskSpans s{0.65, 10, 2, true};
  auto m = compute_mask_indices({500, 400, 300}, 500, s, rng);
  std::vector<int64_t> counts;
  for (size_t b = 0; b < m.size(); ++b) {
    int64_t n = 0;
    const int64_t valid = std::vector<int64_t>{500, 400, 300}[b];
    for (int64_t i = 0; i < 500; ++i) {
      n += m[b][static_cast<size_t>(i)];
      if (i >= valid) CHECK_FALSE(m[b][static_cast<size_t>(i)]);
    }
    counts.push_back(n);
  }
  CHECK(counts[0] == counts[1]);  // require_same_masks
  CHECK(counts[1] == counts[2]);
  // Without the same-count rule: about 49 % of frames masked for p 0.65, length 10 (spec 2.4),
  // in runs of at least 10 frames.
  s.same_count = false;
  double masked = 0, total = 0;
  for (int rep = 0; rep < 200; ++rep) {
    auto r = compute_mask_indices({500}, 500, s, rng)[0];
    int64_t run = 0;
    for (size_t i = 0; i <= r.size(); ++i) {
      if (i < r.size() && r[i]) {
        ++run;
        continue;
      }
      if (run > 0 && i < r.size()) CHECK(run >= 10);
      run = 0;
    }
    for (bool x : r) masked += x;
    total += 500;
  }
  CHECK(masked / total == Approx(0.49).margin(0.03));
  // Channel masks: no minimum, so probability 0 masks nothing; short rows get min_masks spans.
  MaskSpans none{0.0, 10, 0, false};
  auto c = compute_mask_indices({64, 64}, 64, none, rng);
  for (const auto& row : c)
    for (bool x : row) CHECK_FALSE(x);
  MaskSpans two{0.01, 3, 2, false};
  auto shortm = compute_mask_indices({20}, 20, two, rng)[0];
  CHECK(std::count(shortm.begin(), shortm.end(), true) >= 3);
}

TEST_CASE("wav2vec2 time masks replace frames by mask_emb, channel masks zero channels",
          "[unit][wav2vec2]") {
  at::Tensor x = torch::randn({2, 5, 4});
  at::Tensor emb = torch::tensor({1.f, 2.f, 3.f, 4.f});
  at::Tensor time = torch::zeros({2, 5}, torch::kBool);
  time[0][1] = true;
  at::Tensor channel = torch::zeros({2, 4}, torch::kBool);
  channel[1][2] = true;
  at::Tensor y = apply_feature_masks(x, emb, time, channel);
  CHECK(torch::equal(y[0][1], emb));
  CHECK(torch::equal(y[0][0], x[0][0]));
  CHECK(y.select(0, 1).select(1, 2).abs().sum().item<double>() == 0.0);
  CHECK(torch::equal(y[1].select(1, 1), x[1].select(1, 1)));
}

TEST_CASE("wav2vec2_ctc: a frozen feature extractor gets no gradient and never changes",
          "[unit][wav2vec2]") {
  ModelContext ctx;
  ctx.tgt_vocab_size = 10;
  Wav2Vec2Options o = tiny();  // --feature-grad-mult 0 (fairseq's fine-tuning default)
  torch::manual_seed(1);
  Wav2Vec2CtcModel m(o, ctx);
  m.train();
  std::vector<at::Tensor> trained;
  std::map<std::string, at::Tensor> before;
  for (auto& p : m.named_parameters()) {
    before[p.key()] = p.value().clone();
    CHECK(p.value().requires_grad() == !is_extractor(p.key()));
    if (p.value().requires_grad()) trained.push_back(p.value());
  }
  AdamWOptions ao;
  ao.weight_decay = 0.1;
  OptimizerContext octx;
  octx.lr = 1e-2;
  AdamW opt(ao, trained, octx);
  for (int step = 0; step < 3; ++step) {
    m.zero_grad();
    ctc_loss_of(m).backward();
    opt.step();
  }
  for (auto& p : m.named_parameters()) {
    INFO(p.key());
    if (is_extractor(p.key()) || p.key().find("mask_emb") != std::string::npos) {  // no masks here
      CHECK_FALSE(p.value().grad().defined());
      CHECK(torch::equal(p.value(), before[p.key()]));
    } else {
      CHECK_FALSE(torch::equal(p.value(), before[p.key()]));
    }
  }
}

TEST_CASE("wav2vec2_ctc: --freeze-finetune-updates trains only the head for N updates",
          "[unit][wav2vec2]") {
  ModelContext ctx;
  ctx.tgt_vocab_size = 10;
  Wav2Vec2Options o = tiny();
  o.feature_grad_mult = 1.0;
  o.freeze_finetune_updates = 3;
  Wav2Vec2CtcModel m(o, ctx);
  m.train();
  m.set_num_updates(2);
  CHECK(m.body_frozen());
  ctc_loss_of(m).backward();
  for (const auto& [k, g] : grads(m)) {
    INFO(k);
    CHECK(g.defined() == is_head(k));
  }
  m.zero_grad();
  m.set_num_updates(3);
  CHECK_FALSE(m.body_frozen());
  ctc_loss_of(m).backward();
  for (const auto& [k, g] : grads(m)) {
    INFO(k);
    if (k.find("mask_emb") == std::string::npos) CHECK(g.defined());
  }
}

TEST_CASE("wav2vec2_ctc: --feature-grad-mult scales the extractor's gradient only",
          "[unit][wav2vec2]") {
  ModelContext ctx;
  ctx.tgt_vocab_size = 10;
  Wav2Vec2Options o = tiny();
  o.feature_grad_mult = 1.0;
  torch::manual_seed(2);
  Wav2Vec2CtcModel full(o, ctx);
  o.feature_grad_mult = 0.25;
  Wav2Vec2CtcModel scaled(o, ctx);
  scaled.load_state_dict(full.state_dict());
  full.train();
  scaled.train();
  ctc_loss_of(full).backward();
  ctc_loss_of(scaled).backward();
  auto a = grads(full), b = grads(scaled);
  for (const auto& [k, g] : a) {
    if (!g.defined()) continue;
    INFO(k);
    const double want = is_extractor(k) ? 0.25 : 1.0;
    CHECK(torch::allclose(b[k], g * want, 1e-5, 1e-6));
  }
}

TEST_CASE("wav2vec2_ctc: gradient checkpointing gives the same loss and gradients",
          "[unit][wav2vec2]") {
  ModelContext ctx;
  ctx.tgt_vocab_size = 10;
  Wav2Vec2Options o = tiny();
  o.feature_grad_mult = 1.0;
  o.dropout = 0.1;  // the recomputation replays the dropout masks
  torch::manual_seed(4);
  Wav2Vec2CtcModel plain(o, ctx);
  o.checkpoint_activations = true;
  Wav2Vec2CtcModel ckpt(o, ctx);
  ckpt.load_state_dict(plain.state_dict());
  plain.train();
  ckpt.train();
  at::Tensor l1 = ctc_loss_of(plain), l2 = ctc_loss_of(ckpt);
  CHECK(l1.item<double>() == Approx(l2.item<double>()).epsilon(1e-6));
  l1.backward();
  l2.backward();
  auto a = grads(plain), b = grads(ckpt);
  for (const auto& [k, g] : a) {
    if (!g.defined()) continue;
    INFO(k);
    CHECK(torch::allclose(b[k], g, 1e-4, 1e-6));
  }
}

TEST_CASE("wav2vec2_ctc trains under CPU bfloat16 autocast (--bf16)", "[unit][wav2vec2]") {
  ModelContext ctx;
  ctx.tgt_vocab_size = 10;
  Wav2Vec2Options o = tiny();
  o.feature_grad_mult = 0.1;
  for (const char* mode : {"default", "layer_norm"}) {
    o.extractor_mode = mode;
    INFO(mode);
    Wav2Vec2CtcModel m(o, ctx);
    m.train();
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::increment_nesting();
    at::Tensor loss = ctc_loss_of(m);
    at::autocast::decrement_nesting();
    at::autocast::clear_cache();
    at::autocast::set_cpu_enabled(false);
    loss.backward();
    CHECK(std::isfinite(loss.item<double>()));
    for (const auto& [k, g] : grads(m)) {
      INFO(k);
      if (g.defined()) CHECK(g.isfinite().all().item<bool>());
    }
  }
}
