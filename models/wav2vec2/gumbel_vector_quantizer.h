#pragma once
// fairseq's GumbelVectorQuantizer (wav2vec 2.0 pretraining; docs/ssl.md, "wav2vec 2.0
// pretraining"). Keys: vars (1, G*V, vq_dim/G) (Hugging Face quantizer.codevectors),
// weight_proj.{weight,bias} (G*V, dim).
//   logits = weight_proj(x) viewed (N*G, V)                  N = B*T frames, G groups, V vars
//   train: one-hot = F.gumbel_softmax(logits, tau, hard=True): y_soft = softmax((logits + g)/tau),
//          g = -log(Exp(1)) noise; hard one-hot of argmax y_soft, straight-through gradient
//          (y_hard - y_soft.detach() + y_soft)
//   eval:  one-hot of argmax logits
//   out   = concat over groups of sum_v one-hot[v] * vars[g*V + v]      -> (B, T, vq_dim)
//   prob_perplexity = sum_g exp(-sum_v p_gv log(p_gv + 1e-7)), p = softmax(logits) averaged over
//                     the N frames (differentiable; the diversity loss uses it)
//   code_perplexity = the same with the argmax one-hots of the logits (no gradient, logging)
//   temperature after n updates: tau = max(max_temp * decay^n, min_temp)  (set_num_updates)
// Init as fairseq: vars ~ U[0, 1), weight_proj.weight ~ N(0, 1), bias 0.

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>
#include <vector>

namespace trellis {

struct QuantizerOutput {
  at::Tensor x;                // (B, T, vq_dim) float, the selected codewords
  at::Tensor prob_perplexity;  // () float32, differentiable
  at::Tensor code_perplexity;  // () float32, no gradient
  int64_t num_vars = 0;        // G * V
  double temp = 0.0;           // the temperature used (train) / current (eval)
};

class GumbelVectorQuantizerImpl : public torch::nn::Module {
 public:
  // dim: input width; temp: {max, min, decay}
  GumbelVectorQuantizerImpl(int64_t dim, int64_t num_vars, int64_t groups, int64_t vq_dim,
                            std::vector<double> temp);
  // x: (B, T, dim) float; gumbel_noise: (B*T*G, V) float added to the logits in training
  // (undefined: drawn from torch's default generator, as F.gumbel_softmax) -> QuantizerOutput
  QuantizerOutput forward(const at::Tensor& x, const at::Tensor& gumbel_noise = at::Tensor());
  // tau = max(max_temp * decay^num_updates, min_temp)
  void set_num_updates(int64_t num_updates);
  double temperature() const { return curr_temp_; }
  int64_t num_vars() const { return num_vars_; }
  int64_t groups() const { return groups_; }

  at::Tensor vars;  // (1, G*V, vq_dim/G)
  torch::nn::Linear weight_proj{nullptr};

 private:
  int64_t num_vars_, groups_, vq_dim_;
  double max_temp_, min_temp_, decay_, curr_temp_;
};
TORCH_MODULE(GumbelVectorQuantizer);

}  // namespace trellis
