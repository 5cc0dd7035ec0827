#pragma once
// fairseq's wav2vec2 TransformerEncoder (docs/models.md, "Architecture"):
//   x[pad] = 0; x = x + GELU(SamePad(pos_conv(x)))
//   post-LN (layer_norm_first false): x = layer_norm(x); dropout; layers
//     layer: x = LN_attn(x + Drop(MHA(x))); x = LN_final(x + Drop(fc2(Drop_act(GELU(fc1(x))))))
//   pre-LN (true): dropout; layers; x = layer_norm(x)
//     layer: x = x + Drop(MHA(LN_attn(x))); x = x + Drop(fc2(Drop_act(GELU(fc1(LN_final(x))))))
// pos_conv: Conv1d(D, D, K, padding K/2, groups G) with weight norm over dim 2,
//   w[o, c, k] = g[0, 0, k] * v[o, c, k] / ||v[:, :, k]||; the last output frame is dropped
//   when K is even. Keys pos_conv.0.{weight_g, weight_v, bias}.
// LayerDrop skips whole layers in training with probability --layerdrop.
// Init (fairseq): Linear weights N(0, 0.02), biases 0; v ~ N(0, sqrt(4 / (K * D))), g = ||v||.

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <vector>

#include "models/modules/fast_dropout.h"
#include "models/modules/multihead_attention.h"
#include "models/wav2vec2/wav2vec2_options.h"

namespace trellis {

class Wav2Vec2LayerImpl : public torch::nn::Module {
 public:
  explicit Wav2Vec2LayerImpl(const Wav2Vec2Options& o);
  // x: (T, B, D) float; pad: (B, T) bool, true = padding, or undefined -> (T, B, D)
  at::Tensor forward(const at::Tensor& x, const at::Tensor& pad);

 private:
  bool layer_norm_first_;
  MultiheadAttention self_attn_{nullptr};
  torch::nn::LayerNorm self_attn_layer_norm_{nullptr}, final_layer_norm_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
  FastDropout dropout1_{nullptr}, dropout2_{nullptr}, dropout3_{nullptr};
};
TORCH_MODULE(Wav2Vec2Layer);

class Wav2Vec2EncoderImpl : public torch::nn::Module {
 public:
  explicit Wav2Vec2EncoderImpl(const Wav2Vec2Options& o);
  // x: (B, T, D) float; pad: (B, T) bool, true = padding, or undefined -> (T, B, D);
  // hiddens (optional) receives each layer's output (T, B, D), before a pre-LN final norm.
  at::Tensor forward(at::Tensor x, const at::Tensor& pad,
                     std::vector<at::Tensor>* hiddens = nullptr);

 private:
  // x: (B, T, D) -> (B, T, D)
  at::Tensor positional(const at::Tensor& x);

  Wav2Vec2Options options_;
  at::Tensor pos_weight_g_, pos_weight_v_, pos_bias_;
  torch::nn::LayerNorm layer_norm_{nullptr};
  FastDropout dropout_{nullptr};
  std::vector<Wav2Vec2Layer> layers_;
};
TORCH_MODULE(Wav2Vec2Encoder);

}  // namespace trellis
