#include "models/wav2vec2/gumbel_vector_quantizer.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace trellis {

namespace {

// probs: (N, G, V) float -> () sum over groups of exp(entropy of the mean distribution)
at::Tensor perplexity(const at::Tensor& probs) {
  at::Tensor avg = probs.mean(0);  // (G, V)
  return at::exp(-at::sum(avg * at::log(avg + 1e-7), -1)).sum();
}

}  // namespace

GumbelVectorQuantizerImpl::GumbelVectorQuantizerImpl(int64_t dim, int64_t num_vars, int64_t groups,
                                                     int64_t vq_dim, std::vector<double> temp)
    : num_vars_(num_vars), groups_(groups), vq_dim_(vq_dim) {
  TRELLIS_CHECK(num_vars > 0 && groups > 0, ConfigError,
                "--latent-vars {} and --latent-groups {} must be positive", num_vars, groups);
  TRELLIS_CHECK(vq_dim % groups == 0, ConfigError,
                "the codeword width {} (--latent-dim, else --final-dim) must be divisible by "
                "--latent-groups {}",
                vq_dim, groups);
  TRELLIS_CHECK(temp.size() == 3, ConfigError,
                "--latent-temp needs (max, min, decay), got {} values", temp.size());
  max_temp_ = temp[0];
  min_temp_ = temp[1];
  decay_ = temp[2];
  TRELLIS_CHECK(max_temp_ > 0 && min_temp_ > 0 && decay_ > 0 && decay_ <= 1, ConfigError,
                "--latent-temp ({}, {}, {}): temperatures must be positive and the decay in "
                "(0, 1]",
                max_temp_, min_temp_, decay_);
  curr_temp_ = max_temp_;
  vars = register_parameter("vars", at::rand({1, groups * num_vars, vq_dim / groups}));
  weight_proj = register_module("weight_proj", torch::nn::Linear(dim, groups * num_vars));
  at::NoGradGuard no_grad;
  weight_proj->weight.normal_(0.0, 1.0);
  weight_proj->bias.zero_();
}

void GumbelVectorQuantizerImpl::set_num_updates(int64_t num_updates) {
  curr_temp_ = std::max(max_temp_ * std::pow(decay_, static_cast<double>(num_updates)), min_temp_);
}

// x: (B, T, dim); gumbel_noise: (B*T*G, V) or undefined -> QuantizerOutput
QuantizerOutput GumbelVectorQuantizerImpl::forward(const at::Tensor& x,
                                                   const at::Tensor& gumbel_noise) {
  const int64_t b = x.size(0), t = x.size(1), n = b * t, g = groups_, v = num_vars_;
  QuantizerOutput out;
  out.num_vars = g * v;
  out.temp = curr_temp_;
  at::Tensor logits = weight_proj->forward(x.reshape({n, x.size(2)})).view({n * g, v});
  at::Tensor hard;  // (N*G, V) argmax one-hots of the logits
  {
    at::NoGradGuard no_grad;
    hard = at::zeros_like(logits).scatter_(-1, logits.argmax(-1, /*keepdim=*/true), 1.0);
    out.code_perplexity = perplexity(hard.view({n, g, v}).to(at::kFloat));
  }
  out.prob_perplexity = perplexity(at::softmax(logits.view({n, g, v}).to(at::kFloat), -1));
  at::Tensor onehot;
  if (is_training()) {
    at::Tensor l = logits.to(at::kFloat);
    at::Tensor noise = gumbel_noise;
    if (noise.defined()) {
      TRELLIS_CHECK(noise.sizes() == l.sizes(), Error,
                    "quantizer: the Gumbel noise must be ({}, {}), got {} dims", n * g, v,
                    noise.dim());
      noise = noise.to(l.device(), at::kFloat);
    } else {
      noise = -at::empty_like(l).exponential_().log();  // F.gumbel_softmax's draw
    }
    at::Tensor soft = at::softmax((l + noise) / curr_temp_, -1);
    at::Tensor index = std::get<1>(soft.max(-1, /*keepdim=*/true));
    at::Tensor y_hard = at::zeros_like(l).scatter_(-1, index, 1.0);
    onehot = (y_hard - soft.detach() + soft).to(logits.scalar_type());
  } else {
    onehot = hard;
  }
  // (N, G*V, 1) * (1, G*V, w) -> (N, G, V, w) -> sum over V -> (B, T, G*w)
  at::Tensor sel = onehot.view({n, g * v}).unsqueeze(-1) * vars;
  out.x = sel.view({n, g, v, -1}).sum(-2).view({b, t, -1});
  return out;
}

}  // namespace trellis
