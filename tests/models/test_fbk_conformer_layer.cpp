// Parity of the FBK conformer layer with FBK-fairseq (goldens/conformer/fbk_conformer_layer*):
// eval with the batch-safe and the batch-unsafe relative shift, and a training-mode forward
// without dropout (BatchNorm batch statistics and running-stat update).
#include <catch2/catch.hpp>

#include "goldens.h"
#include "models/conformer/fbk_conformer_layer.h"
#include "models/golden_tensor.h"
#include "models/modules/padding.h"

using namespace trellis;
using namespace trellis::testing;

namespace {

FbkConformerLayer make_layer(const SafeTensorsFile& f, bool unsafe, double dropout) {
  auto cfg = golden_meta(f, "config");
  FbkConformerLayerConfig c;
  c.embed_dim = cfg.at("D").get<int64_t>();
  c.attention_heads = cfg.at("heads").get<int64_t>();
  c.ff_expansion = cfg.at("ff_expansion").get<int64_t>();
  c.conv_kernel_size = cfg.at("conv_kernel").get<int64_t>();
  c.half_step_residual = cfg.at("half_step_residual").get<bool>();
  c.ff_dropout = c.attention_dropout = c.conv_dropout = dropout;
  c.batch_unsafe_relative_shift = unsafe;
  FbkConformerLayer layer(c);
  load_weights(*layer, golden_group(f, "layer."));
  return layer;
}

}  // namespace

TEST_CASE("FBK conformer layer matches FBK-fairseq fixtures", "[unit][conformer][golden]") {
  int found = 0;
  for (const auto& path : golden_files("conformer")) {
    if (path.find("fbk_conformer_layer") == std::string::npos) continue;
    ++found;
    SafeTensorsFile f(path);
    auto x = golden(f, "x");
    auto pad = golden(f, "encoder_padding_mask");
    auto lengths = (~pad).sum(1);
    torch::NoGradGuard ng;
    SECTION("eval, batch-safe shift") {
      auto layer = make_layer(f, false, 0.1);
      layer->eval();
      double err = max_abs_diff_valid(layer->forward(x, pad), golden(f, "output_eval"), lengths);
      WARN(path << " output_eval max abs err " << err);
      CHECK(err < 1e-5);
    }
    SECTION("eval, batch-unsafe shift") {
      auto layer = make_layer(f, true, 0.1);
      layer->eval();
      double err = max_abs_diff_valid(layer->forward(x, pad),
                                      golden(f, "output_eval_batch_unsafe_shift"), lengths);
      WARN(path << " output_eval_batch_unsafe_shift max abs err " << err);
      CHECK(err < 1e-5);
    }
    SECTION("train mode without dropout, BatchNorm running statistics") {
      auto layer = make_layer(f, false, 0.0);
      layer->train();
      double err =
          max_abs_diff_valid(layer->forward(x, pad), golden(f, "output_train_nodropout"), lengths);
      WARN(path << " output_train_nodropout max abs err " << err);
      CHECK(err < 1e-5);
      auto buffers = layer->named_buffers();
      for (const char* name : {"running_mean", "running_var"}) {
        std::string key = std::string("conv_module.batchnorm.") + name;
        double e = max_abs_diff(buffers[key], golden(f, "after_train_step." + key));
        WARN(key << " max abs err " << e);
        CHECK(e < 1e-6);
      }
      CHECK(
          buffers["conv_module.batchnorm.num_batches_tracked"].item<int64_t>() ==
          golden(f, "after_train_step.conv_module.batchnorm.num_batches_tracked").item<int64_t>());
    }
    SECTION("batch-safe shift: an utterance alone equals its frames in the padded batch") {
      auto layer = make_layer(f, false, 0.1);
      layer->eval();
      auto batched = layer->forward(x, pad);
      for (int64_t b = 0; b < x.size(1); ++b) {
        int64_t L = lengths[b].item<int64_t>();
        auto alone =
            layer->forward(x.narrow(0, 0, L).narrow(1, b, 1), torch::zeros({1, L}, torch::kBool));
        double e = max_abs_diff(alone.select(1, 0), batched.narrow(0, 0, L).select(1, b));
        CHECK(e < 1e-5);
      }
    }
  }
  REQUIRE(found > 0);
}
