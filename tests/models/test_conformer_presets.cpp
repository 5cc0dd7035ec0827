// Presets of the conformer family: registered names, parameter counts equal to the formulas of
// docs/models.md, "Parameter counts", encoder-only CTC variant.
#include <ATen/autocast_mode.h>

#include <catch2/catch.hpp>

#include "conformer_test_utils.h"
#include "models/conformer/conformer_ctc.h"

using namespace trellis;

namespace {

// FBK conformer layer, FF expansion e, kernel K
int64_t fbk_layer_params(int64_t D, int64_t e, int64_t K) {
  int64_t ff = 2 * D + (D * e * D + e * D) + (e * D * D + D);
  int64_t mhsa = 2 * D + 4 * (D * D + D) + D * D + 2 * D;
  int64_t conv = 2 * D + (2 * D * D + 2 * D) + D * K + 2 * D + (D * D + D);
  return 2 * ff + mhsa + conv + 2 * D;
}

int64_t subsampler_params(int64_t F, int64_t C, int64_t D, const std::vector<int64_t>& ks) {
  int64_t n = 0, in = F;
  for (size_t i = 0; i < ks.size(); ++i) {
    int64_t out = i + 1 < ks.size() ? C : 2 * D;
    n += out * in * ks[i] + out;
    in = out / 2;
  }
  return n;
}

// upstream layer, FFN f, kernel K, rel_pos extras
int64_t up_layer_params(int64_t D, int64_t f, int64_t K, bool rel_pos) {
  return 2 * (2 * D + D * f + f + f * D + D) + 2 * D + 4 * (D * D + D) +
         (rel_pos ? D * D + 2 * D : 0) + (2 * D + 2 * D * D + D * K + 2 * D + D * D) + 2 * D;
}

int64_t decoder_params(int64_t V, int64_t D, int64_t f, int64_t L, bool tied) {
  return V * D + L * (8 * (D * D + D) + 2 * D * f + f + D + 6 * D) + 2 * D + (tied ? 0 : V * D);
}

std::unique_ptr<Model> build(const std::string& arch, const ModelContext& ctx,
                             ConformerOptions* out = nullptr) {
  auto opts = arch_registry().make_options(arch);
  if (out) *out = opts.as<ConformerOptions>();
  return model_registry().create(arch_registry().info(arch).target, opts, ctx);
}

}  // namespace

TEST_CASE("conformer presets: parameter counts follow the spec", "[unit][conformer][slow]") {
  ModelContext ctx;
  ctx.src_vocab_size = 8001;
  ctx.tgt_vocab_size = 8000;
  ctx.ctc_enabled = true;
  for (std::string arch : {"conformer", "conformer_s", "s2t_conformer"}) {
    ConformerOptions o;
    auto model = build(arch, ctx, &o);
    const int64_t D = o.encoder_embed_dim;
    const bool up = o.conformer_variant == "upstream";
    int64_t layer =
        up ? up_layer_params(D, o.encoder_ffn_embed_dim, o.depthwise_conv_kernel_size, false)
           : fbk_layer_params(D, o.feed_forward_expansion_factor, o.conformer_conv_kernel_size);
    int64_t want = subsampler_params(80, o.conv_channels, D, o.conv_kernel_sizes) +
                   o.encoder_layers * layer + (up ? D * D + D : 0) + (D + 1) * ctx.src_vocab_size +
                   decoder_params(ctx.tgt_vocab_size, o.decoder_embed_dim, o.decoder_ffn_embed_dim,
                                  o.decoder_layers, false);
    INFO(arch);
    CHECK(model->num_parameters() == want);
    if (arch == "conformer") {  // the literal numbers of docs/models.md
      CHECK(subsampler_params(80, 1024, 512, {5, 5}) == 3033088);
      CHECK(fbk_layer_params(512, 4, 31) == 6323200);
      CHECK(model->num_parameters() == 104136704 + 1024 * 8000 + 513 * 8001);
    }
    if (arch == "s2t_conformer") {  // docs/models.md: upstream encoder 42,948,352
      CHECK(subsampler_params(80, 1024, 256, {5, 5}) == 1721856);
      CHECK(up_layer_params(256, 2048, 31, false) == 2572544);
      CHECK(up_layer_params(256, 2048, 31, true) == 2638592);
      CHECK(1721856 + 16 * 2572544 + 65792 == 42948352);
    }
  }
}

TEST_CASE("conformer presets: sizes and registered names", "[unit][conformer]") {
  for (std::string arch : {"conformer", "conformer_s", "conformer_m", "conformer_l",
                           "s2t_conformer", "conformer_ctc", "conformer_ctc_s"}) {
    REQUIRE(arch_registry().contains(arch));
  }
  auto s = arch_registry().make_options("conformer_s").as<ConformerOptions>();
  CHECK(s.encoder_embed_dim == 256);
  CHECK(s.encoder_attention_heads == 4);
  CHECK(s.decoder_embed_dim == 256);
  auto up = arch_registry().make_options("s2t_conformer").as<ConformerOptions>();
  CHECK(up.encoder_layers == 16);
  CHECK(up.decoder_attention_heads == 8);
  auto l = arch_registry().make_options("conformer_l").as<ConformerOptions>();
  CHECK(l.encoder_embed_dim == 1024);
  CHECK(l.decoder_ffn_embed_dim == 4096);
  CHECK(l.dropout == 0.2);
}

TEST_CASE("conformer options: invalid values are configuration errors", "[unit][conformer]") {
  ConformerOptions o;
  o.ctc_encoder_layer = -1;
  CHECK_THROWS_AS(o.validate(), ConfigError);
  o = ConformerOptions();
  o.ctc_encoder_layer = 13;  // more than --encoder-layers 12: an error once the CTC head exists
  ModelContext ctx;
  ctx.src_vocab_size = ctx.tgt_vocab_size = 5;
  CHECK_NOTHROW(ConformerOptions(o).validate());
  ctx.ctc_enabled = true;
  o.encoder_layers = 2;
  o.ctc_encoder_layer = 3;
  o.encoder_embed_dim = o.decoder_embed_dim = 16;
  o.encoder_attention_heads = o.decoder_attention_heads = 2;
  o.conv_channels = 8;
  CHECK_THROWS_AS(ConformerModel(o, ctx), ConfigError);
  o.conformer_variant = "upstream";
  CHECK_THROWS_AS(ConformerModel(o, ctx), ConfigError);
  CHECK(ConformerOptions().ctc_encoder_layer == 6);  // FBK's default
  o = ConformerOptions();
  o.conformer_conv_kernel_size = 30;
  CHECK_THROWS_AS(o.validate(), ConfigError);
  o = ConformerOptions();
  o.conv_expansion_factor = 4;
  CHECK_THROWS_AS(o.validate(), ConfigError);
}

namespace {

ConformerOptions tiny_options() {
  ConformerOptions o;
  o.input_feat_per_channel = 8;
  o.conv_channels = 16;
  o.encoder_embed_dim = o.decoder_embed_dim = 16;
  o.encoder_attention_heads = o.decoder_attention_heads = 2;
  o.encoder_layers = 2;
  o.decoder_layers = 1;
  o.decoder_ffn_embed_dim = 32;
  o.conformer_conv_kernel_size = 5;
  o.ctc_encoder_layer = 0;  // the last
  return o;
}

ModelContext tiny_context() {
  ModelContext ctx;
  ctx.input_feat_per_channel = 8;
  ctx.src_vocab_size = 7;
  ctx.tgt_vocab_size = 9;
  ctx.ctc_enabled = true;
  return ctx;
}

}  // namespace

TEST_CASE("conformer_ctc: encoder-only CTC logits", "[unit][conformer]") {
  auto ctx = tiny_context();
  ConformerCtcModel model(tiny_options(), ctx);
  model.eval();
  auto src = torch::randn({2, 23, 8});
  auto lengths = torch::tensor({23, 17}, torch::kLong);
  auto out = model.forward(src, lengths, at::Tensor());
  CHECK(out.logits.sizes() == std::vector<int64_t>{6, 2, ctx.tgt_vocab_size});
  CHECK(torch::equal(out.encoder.ctc_lengths, torch::tensor({6, 5}, torch::kLong)));
  CHECK_FALSE(model.has_decoder());
  CHECK(model.max_positions() == std::pair<int64_t, int64_t>{6000, 1024});
}

TEST_CASE("conformer: upstream variants run and name their weights like fairseq",
          "[unit][conformer]") {
  auto ctx = tiny_context();
  for (auto [attn, pos] : std::vector<std::pair<std::string, std::string>>{
           {"none", "abs"}, {"espnet", "abs"}, {"espnet", "rel_pos"}, {"espnet", "rope"}}) {
    auto o = tiny_options();
    o.conformer_variant = "upstream";
    o.encoder_ffn_embed_dim = 24;
    o.depthwise_conv_kernel_size = 5;
    o.attn_type = attn;
    o.pos_enc_type = pos;
    o.ctc_encoder_layer = 1;
    o.ctc_compress_strategy = "avg";
    INFO(attn << " " << pos);
    ConformerModel model(o, ctx);
    model.eval();
    auto sd = model.state_dict();
    CHECK(sd.count("encoder.linear.weight"));
    CHECK(sd.count("encoder.conformer_layers.1.ffn2.w_1.weight"));
    CHECK(sd.count("encoder.conformer_layers.0.conv_module.batch_norm.running_var"));
    CHECK(sd.count(attn == "none" ? "encoder.conformer_layers.0.self_attn.q_proj.weight"
                                  : "encoder.conformer_layers.0.self_attn.linear_q.weight"));
    if (pos == "rel_pos") CHECK(sd.count("encoder.conformer_layers.0.self_attn.pos_bias_u"));
    if (pos == "rope") CHECK(sd.count("encoder.conformer_layers.0.self_attn.rotary_emb.inv_freq"));
    auto src = torch::randn({2, 23, 8});
    auto lengths = torch::tensor({23, 17}, torch::kLong);
    auto prev = torch::tensor({{2, 4, 5}, {2, 6, 1}}, torch::kLong);
    auto out = model.forward(src, lengths, prev);
    CHECK(out.logits.sizes() == std::vector<int64_t>{2, 3, ctx.tgt_vocab_size});
    CHECK(out.encoder.encoder_out.size(0) == out.encoder.encoder_padding_mask.size(1));
    CHECK(torch::isfinite(out.logits).all().item<bool>());
  }
}

TEST_CASE("conformer: Conv2d subsampler x4 and x8", "[unit][conformer]") {
  auto ctx = tiny_context();
  for (int64_t factor : {4, 8}) {
    auto o = tiny_options();
    o.conv_version = "convtransformer";
    o.conv_out_channels = 4;
    o.conv2d_subsampling_factor = factor;
    ConformerCtcModel model(o, ctx);
    model.eval();
    auto sd = model.state_dict();
    CHECK(sd.count("encoder.subsample.conv.0.weight"));
    CHECK(sd.count("encoder.subsample.out.weight"));
    auto src = torch::randn({2, 23, 8});
    auto out = model.forward(src, torch::tensor({23, 17}, torch::kLong), at::Tensor());
    auto want = factor == 4 ? std::vector<int64_t>{6, 5} : std::vector<int64_t>{3, 3};
    CHECK(out.logits.size(0) == want[0]);
    CHECK(torch::equal(out.encoder.ctc_lengths, torch::tensor(want, torch::kLong)));
  }
}

TEST_CASE("conformer: --checkpoint-activations gives the same gradients", "[unit][conformer]") {
  auto ctx = tiny_context();
  auto grads = [&](bool ckpt) {
    auto o = tiny_options();
    o.checkpoint_activations = ckpt;
    torch::manual_seed(7);
    ConformerModel model(o, ctx);
    model.train();
    torch::manual_seed(11);
    auto src = torch::randn({2, 23, 8});
    auto lengths = torch::tensor({23, 17}, torch::kLong);
    auto prev = torch::tensor({{2, 4, 5}, {2, 6, 1}}, torch::kLong);
    auto out = model.forward(src, lengths, prev);
    (out.logits.sum() + out.encoder.ctc_logits.pow(2).sum()).backward();
    std::map<std::string, at::Tensor> g;
    for (const auto& p : model.named_parameters()) g[p.key()] = p.value().grad().clone();
    return g;
  };
  auto plain = grads(false), ckpt = grads(true);
  REQUIRE(plain.size() == ckpt.size());
  for (const auto& [k, v] : plain) {
    INFO(k);
    CHECK(torch::allclose(v, ckpt.at(k), 1e-5, 1e-6));
  }
}

TEST_CASE("conformer: incremental decoding with beam reordering equals full decoding",
          "[unit][conformer][decoder]") {
  auto ctx = tiny_context();
  auto o = tiny_options();
  o.ctc_compress_strategy = "avg";
  ConformerModel model(o, ctx);
  model.eval();
  torch::NoGradGuard ng;
  auto src = torch::randn({2, 23, 8});
  auto enc = model.encode(src, torch::tensor({23, 17}, torch::kLong));
  auto prev = torch::tensor({{2, 4, 5, 7}, {2, 6, 3, 8}}, torch::kLong);
  IncrementalState state;
  model.decode(prev.narrow(1, 0, 1), enc, &state);
  model.decode(prev.narrow(1, 0, 2), enc, &state);
  auto order = torch::tensor({1, 0, 1}, torch::kLong);
  auto enc2 = model.reorder_encoder_out(enc, order);
  state.reorder(order);
  auto prev2 = prev.index_select(0, order);
  auto step = model.decode(prev2.narrow(1, 0, 3), enc2, &state);
  auto full = model.decode(prev2.narrow(1, 0, 3), enc2);
  CHECK(torch::allclose(step.select(1, 0), full.select(1, 2), 1e-5, 1e-5));
  auto step4 = model.decode(prev2, enc2, &state);
  CHECK(torch::allclose(step4.select(1, 0), model.decode(prev2, enc2).select(1, 3), 1e-5, 1e-5));
}

TEST_CASE("conformer: runs under CPU bfloat16 autocast", "[unit][conformer]") {
  auto ctx = tiny_context();
  auto o = tiny_options();
  o.ctc_compress_strategy = "weighted";
  ConformerModel model(o, ctx);
  model.train();
  auto src = torch::randn({2, 23, 8});
  auto prev = torch::tensor({{2, 4, 5}, {2, 6, 1}}, torch::kLong);
  struct AutocastGuard {  // restores the global autocast state even when the forward throws
    AutocastGuard() {
      at::autocast::set_autocast_cpu_dtype(torch::kBFloat16);
      at::autocast::set_cpu_enabled(true);
    }
    ~AutocastGuard() {
      at::autocast::set_cpu_enabled(false);
      at::autocast::clear_cache();
    }
  };
  at::Tensor loss;
  {
    AutocastGuard guard;
    auto out = model.forward(src, torch::tensor({23, 17}, torch::kLong), prev);
    CHECK(out.logits.scalar_type() == torch::kBFloat16);
    loss = model.normalized_probs(out.logits, true).mean() +
           model.normalized_probs(out.encoder.ctc_logits, true).mean();
  }
  loss.backward();
  CHECK(torch::isfinite(loss).item<bool>());
}

TEST_CASE("conformer: state dicts round-trip under fairseq keys", "[unit][conformer]") {
  auto ctx = tiny_context();
  auto o = tiny_options();
  o.share_decoder_input_output_embed = true;
  ConformerModel a(o, ctx), b(o, ctx);
  a.eval();
  b.eval();
  auto sd = a.state_dict();
  CHECK(sd.count("encoder.conformer_layers.1.attention.attention.u_bias"));
  CHECK(sd.count("encoder.ctc_fc.weight"));
  CHECK_FALSE(sd.count("decoder.output_projection.weight"));  // it is embed_tokens.weight
  // what FBK checkpoints carry besides: ignored
  sd["encoder.conformer_layers.0.attention.positional_encoding.pe"] = torch::zeros({1, 10000, 16});
  sd["decoder.embed_positions._float_tensor"] = torch::zeros({1});
  sd["decoder.version"] = torch::tensor({3.0});
  sd["decoder.output_projection.weight"] = sd.at("decoder.embed_tokens.weight");
  b.load_state_dict(sd, /*strict=*/true);
  torch::NoGradGuard ng;
  auto src = torch::randn({2, 23, 8});
  auto lengths = torch::tensor({23, 17}, torch::kLong);
  auto prev = torch::tensor({{2, 4, 5}, {2, 6, 1}}, torch::kLong);
  CHECK(torch::equal(a.forward(src, lengths, prev).logits, b.forward(src, lengths, prev).logits));
  auto bad = a.state_dict();
  bad["encoder.not_a_key"] = torch::zeros({1});
  CHECK_THROWS_AS(b.load_state_dict(bad, true), CheckpointError);
  CHECK_NOTHROW(b.load_state_dict(bad, false));
  bad.erase("encoder.not_a_key");
  bad.erase("encoder.ctc_fc.bias");
  CHECK_THROWS_AS(b.load_state_dict(bad, true), CheckpointError);
  bad["encoder.ctc_fc.bias"] = torch::zeros({3});
  CHECK_THROWS_AS(b.load_state_dict(bad, false), CheckpointError);  // shape mismatch
}
