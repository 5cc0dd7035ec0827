#pragma once
// One Fast Conformer layer, NeMo's ConformerLayer (docs/models.md, "Fast Conformer"),
// batch-major. Keys (under encoder.layers.i.): norm_feed_forward1, feed_forward1.{linear1,
// linear2}, norm_self_att, self_attn.* (fastconformer_attention.h), norm_conv, conv.*
// (fastconformer_conv.h), norm_feed_forward2, feed_forward2.*, norm_out.
//   r = x + 0.5 * Drop(FF1(LN(x)))
//   r = r + Drop(MHSA(LN(r), pos_emb, pad))
//   r = r + Drop(Conv(LN(r), pad))
//   r = r + 0.5 * Drop(FF2(LN(r)))
//   y = LN_out(r)
// FF: linear1 Linear(D, eD) -> Swish -> Dropout -> linear2 Linear(eD, D) (bias = use_bias).

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "models/fastconformer/fastconformer_attention.h"
#include "models/fastconformer/fastconformer_conv.h"
#include "models/fastconformer/fastconformer_options.h"
#include "models/modules/fast_dropout.h"

namespace trellis {

// NeMo's ConformerFeedForward: keys linear1, linear2.
class FastConformerFeedForwardImpl : public torch::nn::Module {
 public:
  FastConformerFeedForwardImpl(int64_t dim, int64_t hidden, double dropout, bool use_bias);
  // x: (B, T, D) -> (B, T, D)
  at::Tensor forward(const at::Tensor& x);

 private:
  torch::nn::Linear linear1_{nullptr}, linear2_{nullptr};
  FastDropout dropout_{nullptr};
};
TORCH_MODULE(FastConformerFeedForward);

class FastConformerLayerImpl : public torch::nn::Module {
 public:
  explicit FastConformerLayerImpl(const FastConformerOptions& o);
  // x: (B, T, D) float; pad: (B, T) bool, true = padding; pos_emb: (2T-1, D) -> (B, T, D)
  at::Tensor forward(const at::Tensor& x, const at::Tensor& pad, const at::Tensor& pos_emb);

 private:
  torch::nn::LayerNorm norm_feed_forward1_{nullptr}, norm_self_att_{nullptr}, norm_conv_{nullptr},
      norm_feed_forward2_{nullptr}, norm_out_{nullptr};
  FastConformerFeedForward feed_forward1_{nullptr}, feed_forward2_{nullptr};
  FastConformerAttention self_attn_{nullptr};
  FastConformerConv conv_{nullptr};
  FastDropout dropout_{nullptr};
};
TORCH_MODULE(FastConformerLayer);

}  // namespace trellis
