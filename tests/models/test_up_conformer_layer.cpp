// Parity of the upstream fairseq conformer layer variants (goldens/conformer/up_conformer_layer*):
// fairseq MHA, ESPnet abs, rel_pos (with generated relative positions) and rope.
#include <catch2/catch.hpp>

#include "goldens.h"
#include "models/conformer/up_conformer_layer.h"
#include "models/golden_tensor.h"

using namespace trellis;
using namespace trellis::testing;

TEST_CASE("Upstream conformer layer variants match fairseq fixtures", "[unit][conformer][golden]") {
  int found = 0;
  for (const auto& path : golden_files("conformer")) {
    if (path.find("up_conformer_layer") == std::string::npos) continue;
    SafeTensorsFile f(path);
    auto cfg = golden_meta(f, "config");
    auto variants = golden_meta(f, "variants");
    REQUIRE(!variants.empty());
    auto x = golden(f, "x");
    auto pad = golden(f, "encoder_padding_mask");
    auto lengths = (~pad).sum(1);
    torch::NoGradGuard ng;
    for (const auto& [name, v] : variants.items()) {
      ++found;
      INFO(path << " variant " << name);
      UpConformerLayerConfig c;
      c.embed_dim = cfg.at("D").get<int64_t>();
      c.attention_heads = cfg.at("H").get<int64_t>();
      c.ffn_embed_dim = cfg.at("ffn").get<int64_t>();
      c.depthwise_conv_kernel_size = cfg.at("K").get<int64_t>();
      c.conv_bias = cfg.value("conv_bias", false);
      c.attn_type = v.at("attn_type").is_null() ? "" : v.at("attn_type").get<std::string>();
      c.pos_enc_type = v.at("pos_enc_type").get<std::string>();
      UpConformerLayer layer(c);
      auto weights = golden_group(f, "layer.");
      for (auto& [k, t] : golden_group(f, name + ".self_attn.")) weights["self_attn." + k] = t;
      load_weights(*layer, weights);
      layer->eval();
      at::Tensor pos;
      if (c.pos_enc_type == "rel_pos") {
        pos = espnet_rel_positions(x.size(0), c.embed_dim);
        double e = max_abs_diff(pos, golden(f, name + ".pos_emb").squeeze(1));
        WARN("up_conformer_layer rel_pos positions max abs err " << e);
        CHECK(e < 1e-5);
      }
      auto y = layer->forward(x, pad, pos);
      double err = max_abs_diff_valid(y, golden(f, name + ".output"), lengths);
      WARN(path << " " << name << " max abs err " << err);
      CHECK(err < 1e-5);
    }
  }
  REQUIRE(found > 0);
}
