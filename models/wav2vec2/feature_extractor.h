#pragma once
// fairseq's ConvFeatureExtractionModel (docs/models.md): a stack of Conv1d blocks over the
// raw waveform, no padding, GELU after each.
//   extractor_mode default:    block 0 = conv -> GroupNorm(C, C) -> GELU, others conv -> GELU
//   extractor_mode layer_norm: every block = conv -> LayerNorm(C) over channels -> GELU
// Keys are fairseq's Sequential indices: conv_layers.i.0 (conv), conv_layers.0.2 (GroupNorm),
// conv_layers.i.2.1 (LayerNorm). GroupNorm normalises over time including padding, as
// fairseq, torchaudio and Hugging Face do. Each block maps L samples to floor((L - k)/s) + 1.
// Init: conv weights kaiming_normal (fairseq).

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <tuple>
#include <vector>

namespace trellis {

class FeatureExtractorImpl : public torch::nn::Module {
 public:
  FeatureExtractorImpl(const std::vector<std::tuple<int64_t, int64_t, int64_t>>& layers,
                       bool layer_norm_mode, bool conv_bias);
  // wav: (B, S) float -> (B, T, C) float
  at::Tensor forward(const at::Tensor& wav);
  // lengths: (B) int64 samples -> (B) int64 frames (torchaudio's formula, clamped at 0)
  at::Tensor output_lengths(const at::Tensor& lengths) const;
  int64_t output_dim() const { return std::get<0>(layers_.back()); }

 private:
  std::vector<std::tuple<int64_t, int64_t, int64_t>> layers_;
  bool layer_norm_mode_;
  std::vector<std::shared_ptr<torch::nn::Module>> blocks_;
};
TORCH_MODULE(FeatureExtractor);

}  // namespace trellis
