// fastconformer_ctc (models/fastconformer/fastconformer_ctc.h): preset parameter counts equal to
// docs/models.md's table, CTC logits layout, encoder loading from a checkpoint, freezing.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "core/checkpoint.h"
#include "models/fastconformer/fastconformer_ctc.h"
#include "models/fastconformer/fastconformer_presets.h"
#include "nemo_file.h"
#include "run_command.h"

using namespace trellis;
namespace fs = std::filesystem;

namespace {

int64_t count(torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

// docs/models.md's formula: one layer with or without bias, kernel K
int64_t layer_params(int64_t D, int64_t K, bool bias) {
  const int64_t b = bias ? 1 : 0;
  return 5 * 2 * D + 2 * (4 * D * D + 4 * D * b + 4 * D * D + D * b) + 4 * (D * D + D * b) +
         D * D + 2 * D + (2 * D * D + 2 * D * b) + (D * K + D * b) + 2 * D + (D * D + D * b);
}

std::unique_ptr<Model> build(const std::string& arch, const ModelContext& ctx) {
  auto opts = arch_registry().make_options(arch);
  return model_registry().create(arch_registry().info(arch).target, opts, ctx);
}

void check_preset(const std::string& size, int64_t encoder_params, int64_t decoder_params) {
  INFO(size);
  ModelContext ctx;
  ctx.tgt_vocab_size = 8192;
  auto model = build("fastconformer_ctc_" + size, ctx);
  auto* ctc = dynamic_cast<FastConformerCtcModel*>(model.get());
  REQUIRE(ctc != nullptr);
  const auto& o = ctc->encoder()->options();
  const int64_t D = o.encoder_embed_dim;
  const int64_t formula = 139264 + (2560 * D + D) + o.encoder_layers *
                                                        layer_params(D, o.conv_kernel_size,
                                                                     o.use_bias);
  CHECK(formula == encoder_params);
  CHECK(count(*ctc->encoder()) == encoder_params);
  CHECK(model->num_parameters() == encoder_params + decoder_params);
}

}  // namespace

TEST_CASE("fastconformer_ctc presets: parameter counts of the NEST table",
          "[unit][fastconformer]") {
  check_preset("small", 12600240, 1449984);
  check_preset("medium", 26128640, 2105344);
  check_preset("large", 108762112, 4202496);
  FastConformerOptions o;
  CHECK_THROWS_AS(apply_fastconformer_preset(o, "huge"), ConfigError);
}

TEST_CASE("fastconformer_ctc presets: xlarge and xxlarge parameter counts",
          "[fastconformer][slow]") {
  check_preset("xlarge", 607306752, 8396800);
  check_preset("xxlarge", 1060543488, 8396800);
}

namespace {

FastConformerCtcOptions tiny() {
  FastConformerCtcOptions o;
  o.input_feat_per_channel = 16;
  o.encoder_embed_dim = 32;
  o.encoder_layers = 2;
  o.encoder_attention_heads = 4;
  o.subsampling_conv_channels = 8;
  return o;
}

ModelContext tiny_ctx() {
  ModelContext ctx;
  ctx.input_feat_per_channel = 16;
  ctx.tgt_vocab_size = 11;
  return ctx;
}

}  // namespace

TEST_CASE("fastconformer_ctc: NeMo keys and time-major CTC logits", "[unit][fastconformer]") {
  torch::manual_seed(1);
  FastConformerCtcModel model(tiny(), tiny_ctx());
  auto sd = model.state_dict();
  for (const char* k :
       {"encoder.pre_encode.conv.0.weight", "encoder.pre_encode.conv.6.bias",
        "encoder.pre_encode.out.weight", "encoder.layers.1.norm_feed_forward1.weight",
        "encoder.layers.0.feed_forward1.linear1.weight", "encoder.layers.0.self_attn.linear_pos.weight",
        "encoder.layers.0.self_attn.pos_bias_u", "encoder.layers.0.conv.depthwise_conv.weight",
        "encoder.layers.0.conv.batch_norm.running_var", "encoder.layers.0.norm_out.bias",
        "decoder.decoder_layers.0.weight", "decoder.decoder_layers.0.bias"})
    CHECK(sd.count(k) == 1);
  CHECK(sd.at("encoder.layers.0.self_attn.pos_bias_v").abs().sum().item<double>() == 0.0);
  CHECK(sd.at("decoder.decoder_layers.0.weight").sizes() == torch::IntArrayRef({11, 32, 1}));
  CHECK(sd.count("encoder.layers.0.self_attn.linear_pos.bias") == 0);
  model.eval();
  auto x = torch::randn({2, 40, 16});
  auto lengths = torch::tensor({40, 23}, torch::kLong);
  auto out = model.forward(x, lengths, {});
  REQUIRE(out.logits.sizes() == torch::IntArrayRef({5, 2, 11}));
  CHECK(torch::equal(out.encoder.ctc_lengths, torch::tensor({5, 3}, torch::kLong)));
  CHECK(out.encoder.encoder_out.sizes() == torch::IntArrayRef({5, 2, 32}));
  // the head is Conv1d(D, V, 1) on each frame
  auto w = sd.at("decoder.decoder_layers.0.weight").squeeze(-1);
  auto want = torch::matmul(out.encoder.encoder_out, w.t()) + sd.at("decoder.decoder_layers.0.bias");
  CHECK(torch::allclose(out.logits, want, 1e-5, 1e-5));

  auto nobias = tiny();
  nobias.use_bias = false;
  nobias.xscaling = false;
  nobias.conv_norm_type = "layer_norm";
  FastConformerCtcModel m2(nobias, tiny_ctx());
  auto sd2 = m2.state_dict();
  CHECK(sd2.count("encoder.layers.0.feed_forward1.linear1.bias") == 0);
  CHECK(sd2.count("encoder.layers.0.self_attn.linear_q.bias") == 0);
  CHECK(sd2.count("encoder.layers.0.conv.depthwise_conv.bias") == 0);
  CHECK(sd2.count("encoder.layers.0.conv.batch_norm.bias") == 1);  // LayerNorm under NeMo's key
  CHECK(sd2.count("encoder.layers.0.conv.batch_norm.running_mean") == 0);
  CHECK(sd2.count("encoder.pre_encode.conv.0.bias") == 1);  // the subsampler always has bias
}

TEST_CASE("fastconformer_ctc: --w2v-path copies the encoder of a checkpoint exactly",
          "[unit][fastconformer]") {
  const std::string dir = testing::fresh_dir("fastconformer_load");
  const std::string path = dir + "/pretrained.pt";
  torch::manual_seed(7);
  FastConformerCtcModel source(tiny(), tiny_ctx());
  CheckpointState st;
  st.arch = "nest";
  for (auto& [k, t] : source.state_dict()) {
    if (k.rfind("encoder.", 0) == 0) st.model[k] = t.clone();
  }
  st.model["decoder.decoder_layers.0.weight"] = torch::randn({8192, 32, 1});  // NEST's head
  st.model["quantizer.codebooks"] = torch::randn({1, 8192, 16}, torch::kDouble);
  st.model["mask_processor.mask_embedding"] = torch::randn({16});
  save_checkpoint(st, path);

  auto o = tiny();
  o.w2v_path = path;
  FastConformerCtcModel target(o, tiny_ctx());
  auto head_before = target.state_dict().at("decoder.decoder_layers.0.weight").clone();
  target.load_pretrained();
  auto got = target.state_dict();
  size_t n = 0;
  for (const auto& [k, t] : st.model) {
    if (k.rfind("encoder.", 0) != 0) continue;
    INFO(k);
    CHECK(torch::equal(got.at(k), t));
    ++n;
  }
  CHECK(n == got.size() - 2);
  CHECK(torch::equal(got.at("decoder.decoder_layers.0.weight"), head_before));

  // the fairseq flag name works the same; both flags must agree
  auto o2 = tiny();
  o2.load_pretrained_encoder_from = path;
  FastConformerCtcModel t2(o2, tiny_ctx());
  t2.load_pretrained();
  CHECK(torch::equal(t2.state_dict().at("encoder.layers.1.conv.pointwise_conv2.weight"),
                     st.model.at("encoder.layers.1.conv.pointwise_conv2.weight")));
  auto both = o2;
  both.w2v_path = dir + "/other.pt";
  CHECK_THROWS_AS(FastConformerCtcModel(both, tiny_ctx()), ConfigError);

  // a wrong shape names the key
  auto bad = st;
  bad.model["encoder.layers.0.conv.depthwise_conv.weight"] = torch::randn({32, 1, 5});
  save_checkpoint(bad, path);
  FastConformerCtcModel t3(o, tiny_ctx());
  CHECK_THROWS_WITH(t3.load_pretrained(),
                    Catch::Contains("encoder.layers.0.conv.depthwise_conv.weight") &&
                        Catch::Contains("shape"));
  // an unexpected encoder key names it
  bad = st;
  bad.model["encoder.layers.2.norm_out.weight"] = torch::ones({32});
  save_checkpoint(bad, path);
  CHECK_THROWS_AS(t3.load_pretrained(), CheckpointError);
  CHECK_THROWS_WITH(t3.load_pretrained(), Catch::Contains("encoder.layers.2.norm_out.weight"));
  // a missing one too
  bad = st;
  bad.model.erase("encoder.layers.1.self_attn.pos_bias_v");
  save_checkpoint(bad, path);
  CHECK_THROWS_WITH(t3.load_pretrained(), Catch::Contains("encoder.layers.1.self_attn.pos_bias_v"));
  fs::remove_all(dir);
}

TEST_CASE("fastconformer_ctc: --freeze-finetune-updates holds the encoder",
          "[unit][fastconformer]") {
  torch::manual_seed(2);
  auto o = tiny();
  o.freeze_finetune_updates = 2;
  FastConformerCtcModel model(o, tiny_ctx());
  model.train();
  auto x = torch::randn({2, 40, 16});
  auto lengths = torch::tensor({40, 30}, torch::kLong);
  auto step = [&] {
    model.zero_grad();
    model.forward(x, lengths, {}).logits.pow(2).mean().backward();
  };
  auto enc_w = model.state_dict().at("encoder.layers.0.feed_forward1.linear1.weight");
  auto head_w = model.state_dict().at("decoder.decoder_layers.0.weight");
  model.set_num_updates(1);
  CHECK(model.encoder_frozen());
  step();
  CHECK((!enc_w.grad().defined() || enc_w.grad().abs().sum().item<double>() == 0.0));
  REQUIRE(head_w.grad().defined());
  CHECK(head_w.grad().abs().sum().item<double>() > 0.0);
  model.set_num_updates(2);
  CHECK(!model.encoder_frozen());
  step();
  REQUIRE(enc_w.grad().defined());
  CHECK(enc_w.grad().abs().sum().item<double>() > 0.0);
}

TEST_CASE("fastconformer_ctc: --w2v-path reads the encoder of a NeMo .nemo file",
          "[unit][fastconformer][nemo]") {
  const std::string dir = testing::fresh_dir("fastconformer_nemo");
  torch::manual_seed(11);
  FastConformerCtcModel source(tiny(), tiny_ctx());
  std::map<std::string, at::Tensor> sd;  // a NEST model's state dict under NeMo's names
  for (auto& [k, t] : source.state_dict()) {
    if (k.rfind("encoder.", 0) == 0) sd[k] = t.clone();
  }
  sd["decoder.decoder_layers.0.weight"] = torch::randn({8192, 32, 1});
  sd["quantizer.codebooks"] = torch::randn({1, 8192, 16}, torch::kDouble);
  sd["preprocessor.featurizer.window"] = torch::ones({400});
  for (bool gzip : {false, true}) {
    INFO("gzip " << gzip);
    const std::string path = dir + (gzip ? "/nest_gz.nemo" : "/nest.nemo");
    testing::write_nemo(path, "encoder:\n  d_model: 32\n", sd, gzip);
    auto o = tiny();
    o.w2v_path = path;
    FastConformerCtcModel target(o, tiny_ctx());
    target.load_pretrained();
    auto got = target.state_dict();
    for (const auto& [k, t] : sd) {
      if (k.rfind("encoder.", 0) != 0) continue;
      INFO(k);
      CHECK(torch::equal(got.at(k), t));
    }
  }
  // a shape mismatch inside the .nemo names the key
  sd["encoder.layers.1.feed_forward1.linear1.weight"] = torch::randn({7, 32});
  testing::write_nemo(dir + "/bad.nemo", "", sd);
  auto o = tiny();
  o.w2v_path = dir + "/bad.nemo";
  FastConformerCtcModel bad(o, tiny_ctx());
  CHECK_THROWS_WITH(bad.load_pretrained(),
                    Catch::Contains("encoder.layers.1.feed_forward1.linear1.weight"));
  fs::remove_all(dir);
}
