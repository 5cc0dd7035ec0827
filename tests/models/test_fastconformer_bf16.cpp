// The Fast Conformer encoder (NEST, fastconformer_ctc) under CPU bfloat16 autocast, as
// `train --bf16` runs it (docs/training.md, "bf16 on the CPU"): LibTorch 1.13's layer_norm takes
// no bf16 input with float32 weights, so the layer norms go through models/modules/norm.h; the
// output stays close to the float32 encoder's and the backward pass gives float32 gradients.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "models/fastconformer/fastconformer_encoder.h"
#include "bf16_autocast.h"

using namespace trellis;
using trellis::test::Bf16Autocast;

TEST_CASE("Fast Conformer: runs under CPU bfloat16 autocast, close to float32",
          "[unit][fastconformer][bf16]") {
  for (const std::string norm : {"batch_norm", "layer_norm"}) {
    INFO("conv_norm_type " << norm);
    torch::manual_seed(3);
    FastConformerOptions o;
    o.input_feat_per_channel = 16;
    o.encoder_embed_dim = 32;
    o.encoder_layers = 2;
    o.encoder_attention_heads = 4;
    o.subsampling_conv_channels = 8;
    o.conv_norm_type = norm;
    FastConformerEncoder enc(o, o.input_feat_per_channel);
    enc->eval();  // no dropout: the two passes see the same function
    auto x = torch::randn({2, 64, 16});
    auto lengths = torch::tensor({64, 48}, torch::kLong);
    at::Tensor ref = enc->forward(x, lengths).x.detach();
    at::Tensor y;
    {
      Bf16Autocast autocast;
      y = enc->forward(x, lengths).x;
    }
    REQUIRE(y.sizes() == ref.sizes());
    CHECK((y.scalar_type() == at::kFloat || y.scalar_type() == at::kBFloat16));
    const double err = (y.to(at::kFloat) - ref).abs().max().item<double>();
    INFO("max |bf16 - f32| = " << err << ", max |f32| = " << ref.abs().max().item<double>());
    CHECK(err < 0.1 * ref.abs().max().item<double>());
    y.to(at::kFloat).pow(2).mean().backward();
    for (const auto& p : enc->parameters()) {
      CHECK(p.scalar_type() == at::kFloat);
      if (p.grad().defined()) {
        CHECK(p.grad().scalar_type() == at::kFloat);
        CHECK(torch::isfinite(p.grad()).all().item<bool>());
      }
    }
  }
}
