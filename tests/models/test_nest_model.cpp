// The nest model: NeMo's state-dict keys and shapes for the presets, frozen quantizer and mask
// embedding, predict_masked's shapes and wiring (targets = quantizer(clean), masks from the
// generator, gradients only into encoder and decoder), encode(), and that a few updates on a
// tiny model lower the mlm loss on a fixed batch.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include "core/interfaces/criterion.h"
#include "core/interfaces/model.h"
#include "models/nest/nest_model.h"

using namespace trellis;

namespace {

std::unique_ptr<Model> build(const std::string& arch, const std::function<void(NestOptions&)>& edit = {}) {
  ModelContext ctx;
  ctx.input_feat_per_channel = 80;
  AnyOptions o = arch_registry().make_options(arch);
  if (edit) edit(o.as<NestOptions>());
  return model_registry().create(arch_registry().info(arch).target, o, ctx);
}

void tiny(NestOptions& o) {
  o.encoder_embed_dim = 32;
  o.encoder_attention_heads = 2;
  o.encoder_layers = 1;
  o.subsampling_conv_channels = 8;
  o.num_classes = 16;
  o.mask_prob = 0.1;
  o.block_size = 8;
  o.dropout = o.dropout_pre_encoder = o.dropout_att = 0.0;
}

MaskedTokenInput batch(int64_t B, int64_t T, const std::vector<int64_t>& lens) {
  MaskedTokenInput in;
  in.clean = torch::randn({B, T, 80});
  in.noisy = in.clean + 0.1 * torch::randn({B, T, 80});
  in.lengths = torch::tensor(lens, torch::kLong);
  for (int64_t b = 0; b < B; ++b) {
    in.clean[b].narrow(0, lens[b], T - lens[b]).zero_();
    in.noisy[b].narrow(0, lens[b], T - lens[b]).zero_();
  }
  return in;
}

}  // namespace

TEST_CASE("nest presets have NeMo's keys and shapes", "[unit][nest]") {
  for (const char* arch : {"nest", "nest_fastconformer_small", "nest_fastconformer_medium",
                           "nest_fastconformer_large"}) {
    INFO(arch);
    REQUIRE(arch_registry().contains(arch));
    auto m = build(arch);
    const int64_t D = arch_registry().make_options(arch).as<NestOptions>().encoder_embed_dim;
    auto sd = m->state_dict();
    CHECK(sd.at("decoder.decoder_layers.0.weight").sizes() == torch::IntArrayRef({8192, D, 1}));
    CHECK(sd.at("decoder.decoder_layers.0.bias").sizes() == torch::IntArrayRef({8192}));
    CHECK(sd.at("quantizer.proj.weight").sizes() == torch::IntArrayRef({16, 640}));
    CHECK(sd.at("quantizer.codebooks").sizes() == torch::IntArrayRef({1, 8192, 16}));
    CHECK(sd.at("quantizer.codebooks").scalar_type() == at::kDouble);
    CHECK(sd.at("mask_processor.mask_embedding").sizes() == torch::IntArrayRef({80}));
    CHECK(sd.count("encoder.pre_encode.conv.0.weight") == 1);
    CHECK(sd.count("encoder.layers.0.self_attn.pos_bias_u") == 1);
    for (const auto& p : m->named_parameters()) {
      const bool frozen = p.key().rfind("quantizer.", 0) == 0 ||
                          p.key().rfind("mask_processor.", 0) == 0;
      INFO(p.key());
      CHECK(p.value().requires_grad() == !frozen);
    }
    CHECK(dynamic_cast<MaskedTokenModel*>(m.get()) != nullptr);
    CHECK_FALSE(m->has_decoder());
  }
  CHECK(arch_registry().make_options("nest").as<NestOptions>().encoder_layers == 17);
  CHECK(arch_registry().make_options("nest_fastconformer_small").as<NestOptions>()
            .encoder_embed_dim == 176);
  CHECK_THROWS_AS(build("nest", [](NestOptions& o) { o.combine_time_steps = 4; }), ConfigError);
}

TEST_CASE("nest predict_masked wires quantizer, masking, encoder and decoder", "[unit][nest]") {
  torch::manual_seed(1);
  auto model = build("nest_fastconformer_small", tiny);
  auto* nest = dynamic_cast<NestModel*>(model.get());
  REQUIRE(nest != nullptr);
  MaskedTokenInput in = batch(2, 64, {64, 40});
  MaskedTokenOutput out = nest->predict_masked(in, at::make_generator<at::CPUGeneratorImpl>(9));
  CHECK(out.combine_time_steps == 8);
  CHECK(out.log_probs.sizes() == torch::IntArrayRef({2, 8, 16, 1}));
  CHECK(out.targets.sizes() == torch::IntArrayRef({2, 8, 1}));
  CHECK(out.frame_masks.sizes() == torch::IntArrayRef({2, 64}));
  CHECK(torch::equal(out.lengths, torch::tensor({8, 5}, torch::kLong)));
  CHECK(torch::equal(out.targets, nest->quantizer()->forward(in.clean).tokens));
  CHECK(torch::equal(out.frame_masks.to(at::kBool),
                     nest->mask_processor()->draw_mask(in.lengths, 64,
                                                       at::make_generator<at::CPUGeneratorImpl>(9))));
  CHECK(out.frame_masks.sum().item<double>() > 0);
  // the masked input changes the prediction, the same generator state reproduces it
  model->eval();
  auto a = nest->predict_masked(in, at::make_generator<at::CPUGeneratorImpl>(9));
  auto b = nest->predict_masked(in, at::make_generator<at::CPUGeneratorImpl>(9));
  CHECK(torch::equal(a.log_probs, b.log_probs));
  model->train();
  // gradients reach the encoder and the decoder, never the frozen parts
  a = nest->predict_masked(in, at::make_generator<at::CPUGeneratorImpl>(9));
  (-a.log_probs.gather(2, a.targets.unsqueeze(2))).sum().backward();
  for (const auto& p : model->named_parameters()) {
    INFO(p.key());
    if (!p.value().requires_grad())
      CHECK_FALSE(p.value().grad().defined());
  }
  CHECK(nest->decoder()->named_parameters()["decoder_layers.0.weight"].grad().abs().sum()
            .item<double>() > 0);
  // encode(): the encoder alone, time-major
  EncoderOut e = model->encode(in.noisy, in.lengths);
  CHECK(e.encoder_out.sizes() == torch::IntArrayRef({8, 2, 32}));
  CHECK(e.encoder_padding_mask.sizes() == torch::IntArrayRef({2, 8}));
}

TEST_CASE("nest: a few updates lower the mlm loss on a fixed batch", "[unit][nest]") {
  if (!criterion_registry().contains("mlm")) FAIL("mlm criterion not registered");
  torch::manual_seed(2);
  auto model = build("nest_fastconformer_small", [](NestOptions& o) {
    tiny(o);
    o.mask_prob = 0.3;
  });
  auto* nest = dynamic_cast<NestModel*>(model.get());
  auto crit = criterion_registry().create("mlm", criterion_registry().make_options("mlm"),
                                          CriterionContext{});
  std::vector<at::Tensor> params;
  for (const auto& p : model->parameters())
    if (p.requires_grad()) params.push_back(p);
  torch::optim::Adam opt(params, torch::optim::AdamOptions(3e-3));
  MaskedTokenInput in = batch(4, 128, {128, 128, 96, 120});
  auto loss_of = [&] {
    MaskedTokenOutput out = nest->predict_masked(in, at::make_generator<at::CPUGeneratorImpl>(5));
    NetOutput net;
    net.outputs = {{"log_probs", out.log_probs}, {"targets", out.targets},
                   {"frame_masks", out.frame_masks}, {"lengths", out.lengths}};
    net.combine_time_steps = out.combine_time_steps;
    return crit->forward(net, CriterionTargets{});
  };
  at::Tensor frozen = nest->quantizer()->codebooks.clone();
  const LossOutput first = loss_of();
  REQUIRE(first.sample_size > 0);
  const double start = first.loss.item<double>() / first.sample_size;
  double last = start;
  for (int i = 0; i < 30; ++i) {
    opt.zero_grad();
    LossOutput l = loss_of();
    (l.loss / l.sample_size).backward();
    opt.step();
    last = l.loss.item<double>() / l.sample_size;
  }
  INFO("mlm loss " << start << " -> " << last);
  CHECK(last < 0.5 * start);
  CHECK(torch::equal(frozen, nest->quantizer()->codebooks));
}
