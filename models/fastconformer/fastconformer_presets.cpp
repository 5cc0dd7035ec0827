#include "models/fastconformer/fastconformer_presets.h"

#include "core/error.h"

namespace trellis {

const std::vector<std::string>& fastconformer_sizes() {
  static const std::vector<std::string> sizes = {"small", "medium", "large", "xlarge",
                                                 "xxlarge"};
  return sizes;
}

void apply_fastconformer_preset(FastConformerOptions& o, const std::string& size) {
  struct Row {
    const char* name;
    int64_t dim, heads, layers, kernel;
    bool scaled_biased;
  };
  static const Row rows[] = {{"small", 176, 4, 16, 9, true},
                             {"medium", 256, 4, 16, 9, true},
                             {"large", 512, 8, 17, 9, true},
                             {"xlarge", 1024, 8, 24, 9, false},
                             {"xxlarge", 1024, 8, 42, 5, false}};
  for (const auto& r : rows) {
    if (size != r.name) continue;
    o.encoder_embed_dim = r.dim;
    o.encoder_attention_heads = r.heads;
    o.encoder_layers = r.layers;
    o.conv_kernel_size = r.kernel;
    o.xscaling = r.scaled_biased;
    o.use_bias = r.scaled_biased;
    o.feed_forward_expansion_factor = 4;
    o.subsampling_conv_channels = 256;
    return;
  }
  throw ConfigError("unknown Fast Conformer size " + size +
                    " (small, medium, large, xlarge, xxlarge)");
}

}  // namespace trellis
