// --arch transformer_lm: parity with fairseq's equations (goldens from
// tests/golden/make_transformer_lm_golden.py: post-norm ReLU sinusoidal, pre-norm GELU learned
// positions shared embeddings), incremental decoding equal to the full forward, a padded row
// equal to the same row alone, the presets' fairseq values.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "core/interfaces/language_model.h"
#include "goldens.h"
#include "models/golden_tensor.h"
#include "models/transformer_lm/transformer_lm_options.h"
#include "skip.h"

using namespace trellis;
using namespace trellis::testing;

namespace {

std::shared_ptr<Model> make_lm(const nlohmann::json& c) {
  auto opts = arch_registry().make_options("transformer_lm");
  auto& o = opts.as<TransformerLmOptions>();
  o.decoder_embed_dim = c["D"];
  o.decoder_ffn_embed_dim = c["F"];
  o.decoder_layers = c["layers"];
  o.decoder_attention_heads = c["heads"];
  o.max_target_positions = c["max_positions"];
  o.activation_fn = c["activation_fn"];
  o.decoder_normalize_before = c["normalize_before"];
  o.decoder_learned_pos = c["learned_pos"];
  o.share_decoder_input_output_embed = c["share"];
  ModelContext ctx;
  ctx.tgt_vocab_size = c["V"];
  auto m = std::shared_ptr<Model>(model_registry().create("transformer_lm", opts, ctx));
  m->eval();
  return m;
}

std::shared_ptr<Model> small_lm() {
  auto opts = arch_registry().make_options("transformer_lm");
  auto& o = opts.as<TransformerLmOptions>();
  o.decoder_embed_dim = 16;
  o.decoder_ffn_embed_dim = 32;
  o.decoder_layers = 2;
  o.decoder_attention_heads = 2;
  ModelContext ctx;
  ctx.tgt_vocab_size = 13;
  torch::manual_seed(4);
  auto m = std::shared_ptr<Model>(model_registry().create("transformer_lm", opts, ctx));
  m->eval();
  return m;
}

}  // namespace

TEST_CASE("transformer_lm: logits equal fairseq's equations (goldens)", "[unit][models][lm]") {
  const auto files = golden_files("transformer_lm");
  if (files.empty()) skip_test("no transformer_lm goldens under " + goldens_dir());
  torch::NoGradGuard no_grad;
  for (const auto& path : files) {
    INFO(path);
    SafeTensorsFile f(path);
    auto model = make_lm(golden_meta(f, "config"));
    model->load_state_dict(golden_group(f, "w."), /*strict=*/true);
    at::Tensor tokens = golden(f, "tokens");
    at::Tensor want = golden(f, "logits");
    at::Tensor got = dynamic_cast<LanguageModel&>(*model).lm_logits(tokens);
    at::Tensor valid = tokens.ne(1).unsqueeze(-1).expand_as(want);
    CHECK(max_abs_diff(got.masked_select(valid), want.masked_select(valid)) < 2e-5);
  }
}

TEST_CASE("transformer_lm: incremental decoding equals the full forward; padding is invisible",
          "[unit][models][lm]") {
  torch::NoGradGuard no_grad;
  auto model = small_lm();
  auto& lm = dynamic_cast<LanguageModel&>(*model);
  at::Tensor tokens = torch::tensor({{2, 5, 7, 3, 9, 4}, {2, 6, 6, 8, 11, 12}}, torch::kLong);
  at::Tensor full = lm.lm_logits(tokens);  // (2, 6, V)
  IncrementalState state;
  for (int64_t l = 1; l <= tokens.size(1); ++l) {
    at::Tensor step = lm.lm_logits(tokens.slice(1, 0, l), &state);  // (2, 1, V)
    CHECK(max_abs_diff(step.select(1, 0), full.select(1, l - 1)) < 1e-5);
  }
  // beam reordering of the cache: row 1 twice, then one more step
  state.reorder(torch::tensor({1, 1}, torch::kLong));
  at::Tensor next = torch::cat({tokens.select(0, 1).unsqueeze(0).repeat({2, 1}),
                                torch::tensor({{3}, {4}}, torch::kLong)}, 1);
  at::Tensor inc = lm.lm_logits(next, &state);
  CHECK(max_abs_diff(inc.select(1, 0), lm.lm_logits(next).select(1, 6)) < 1e-5);
  // a right-padded row's valid positions equal the row alone
  at::Tensor padded = torch::tensor({{2, 5, 7, 1, 1, 1}, {2, 6, 6, 8, 11, 12}}, torch::kLong);
  at::Tensor alone = lm.lm_logits(torch::tensor({{2, 5, 7}}, torch::kLong));
  CHECK(max_abs_diff(lm.lm_logits(padded)[0].slice(0, 0, 3), alone[0]) < 1e-5);
}

TEST_CASE("transformer_lm: presets carry fairseq's values", "[unit][models][lm]") {
  auto base = arch_registry().make_options("transformer_lm").as<TransformerLmOptions>();
  CHECK(base.decoder_embed_dim == 512);
  CHECK(base.decoder_ffn_embed_dim == 2048);
  CHECK(base.decoder_layers == 6);
  CHECK(base.decoder_attention_heads == 8);
  CHECK(base.dropout == 0.1);
  CHECK(base.attention_dropout == 0.0);
  CHECK_FALSE(base.decoder_normalize_before);
  CHECK_FALSE(base.share_decoder_input_output_embed);
  auto gpt = arch_registry().make_options("transformer_lm_gpt").as<TransformerLmOptions>();
  CHECK(gpt.decoder_embed_dim == 768);
  CHECK(gpt.decoder_layers == 12);
  CHECK(gpt.activation_fn == "gelu");
  auto tiny = arch_registry().make_options("transformer_lm_gpt2_tiny").as<TransformerLmOptions>();
  CHECK(tiny.decoder_embed_dim == 64);
  CHECK(tiny.decoder_attention_heads == 1);
}
