#include "models/wav2vec2/feature_extractor.h"

#include <torch/torch.h>

#include <string>

#include "core/error.h"
#include "models/modules/gelu.h"
#include "models/modules/norm.h"

namespace trellis {

namespace {

// One block: "0" conv, "2" GroupNorm (default mode, block 0) or "2" -> "1" LayerNorm.
struct ExtractorBlock : torch::nn::Module {
  torch::nn::Conv1d conv{nullptr};
  torch::nn::GroupNorm group_norm{nullptr};
  torch::nn::LayerNorm layer_norm{nullptr};
};

}  // namespace

FeatureExtractorImpl::FeatureExtractorImpl(
    const std::vector<std::tuple<int64_t, int64_t, int64_t>>& layers, bool layer_norm_mode,
    bool conv_bias)
    : layers_(layers), layer_norm_mode_(layer_norm_mode) {
  TRELLIS_CHECK(!layers.empty(), ConfigError, "--conv-feature-layers lists no block");
  auto stack = register_module("conv_layers", std::make_shared<torch::nn::Module>());
  int64_t in = 1;
  for (size_t i = 0; i < layers.size(); ++i) {
    const auto [dim, k, s] = layers[i];
    auto block = std::make_shared<ExtractorBlock>();
    block->conv = block->register_module(
        "0", torch::nn::Conv1d(torch::nn::Conv1dOptions(in, dim, k).stride(s).bias(conv_bias)));
    torch::nn::init::kaiming_normal_(block->conv->weight);
    if (layer_norm_mode) {
      auto wrap = block->register_module("2", std::make_shared<torch::nn::Module>());
      block->layer_norm = wrap->register_module(
          "1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-5)));
    } else if (i == 0) {
      block->group_norm =
          block->register_module("2", torch::nn::GroupNorm(torch::nn::GroupNormOptions(dim, dim)));
    }
    stack->register_module(std::to_string(i), block);
    blocks_.push_back(block);
    in = dim;
  }
}

// wav: (B, S) -> (B, T, C)
at::Tensor FeatureExtractorImpl::forward(const at::Tensor& wav) {
  TRELLIS_CHECK(wav.dim() == 2, Error, "wav2vec2: the waveform batch must be (B, S), got {} dims",
                wav.dim());
  at::Tensor x = wav.unsqueeze(1);  // (B, 1, S)
  for (const auto& m : blocks_) {
    auto& b = static_cast<ExtractorBlock&>(*m);
    TRELLIS_CHECK(x.size(2) >= b.conv->options.kernel_size()->at(0), DataError,
                  "wav2vec2: an input of {} samples is too short for the feature extractor",
                  wav.size(1));
    x = b.conv->forward(x);  // (B, C, T)
    if (b.group_norm) {      // in the weights' dtype (fairseq's Fp32GroupNorm), as layer_norm()
      const auto& gn = b.group_norm;
      x = at::group_norm(x.to(gn->weight.scalar_type()), gn->options.num_groups(), gn->weight,
                         gn->bias, gn->options.eps())
              .to(x.scalar_type());
    }
    if (b.layer_norm) x = layer_norm(b.layer_norm, x.transpose(1, 2)).transpose(1, 2);
    x = trellis::gelu(x);
  }
  return x.transpose(1, 2);  // (B, T, C)
}

// lengths: (B) -> (B)
at::Tensor FeatureExtractorImpl::output_lengths(const at::Tensor& lengths) const {
  at::Tensor l = lengths.to(at::kLong);
  for (const auto& [dim, k, s] : layers_) {
    (void)dim;
    l = at::clamp_min(at::div(l - k, s, "floor") + 1, 0);
  }
  return l;
}

}  // namespace trellis
