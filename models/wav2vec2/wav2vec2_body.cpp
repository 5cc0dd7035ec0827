#include "models/wav2vec2/wav2vec2_body.h"

#include <torch/csrc/autograd/custom_function.h>
#include <torch/torch.h>

#include <random>

#include "models/modules/norm.h"
#include "models/wav2vec2/wav2vec2_mask.h"

namespace trellis {

namespace {

// fairseq's GradMultiply: identity forward, gradient x scale backward.
struct GradMultiply : torch::autograd::Function<GradMultiply> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                            double scale) {
    ctx->saved_data["scale"] = scale;
    return x.clone();
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    return {grads[0] * ctx->saved_data["scale"].toDouble(), at::Tensor()};
  }
};

// rows: per-row masks -> (rows, width) bool
at::Tensor to_tensor(const std::vector<std::vector<bool>>& rows, int64_t width) {
  at::Tensor t = at::zeros({static_cast<int64_t>(rows.size()), width}, at::kBool);
  auto a = t.accessor<bool, 2>();
  for (size_t b = 0; b < rows.size(); ++b)
    for (int64_t i = 0; i < width; ++i) a[static_cast<int64_t>(b)][i] = rows[b][i];
  return t;
}

}  // namespace

// x: (B, T, D); time: (B, T) bool; channel: (B, D) bool -> (B, T, D)
at::Tensor apply_feature_masks(const at::Tensor& x, const at::Tensor& mask_emb,
                               const at::Tensor& time, const at::Tensor& channel) {
  at::Tensor y = x;
  if (time.defined()) {
    at::Tensor m = time.to(x.device()).unsqueeze(-1);  // (B, T, 1)
    y = at::where(m, mask_emb.to(x.dtype()).view({1, 1, -1}), y);
  }
  if (channel.defined()) y = y.masked_fill(channel.to(x.device()).unsqueeze(1), 0.0);
  return y;
}

Wav2Vec2BodyImpl::Wav2Vec2BodyImpl(const Wav2Vec2Options& o) : options_(o) {
  o.validate();
  feature_extractor_ = register_module(
      "feature_extractor",
      FeatureExtractor(o.conv_layers(), o.extractor_mode == "layer_norm", o.conv_bias));
  const int64_t c = feature_extractor_->output_dim(), d = o.encoder_embed_dim;
  layer_norm_ =
      register_module("layer_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c})));
  post_extract_proj_ = register_module("post_extract_proj", torch::nn::Linear(c, d));
  {
    at::NoGradGuard no_grad;
    post_extract_proj_->weight.normal_(0.0, 0.02);
    post_extract_proj_->bias.zero_();
  }
  mask_emb_ = register_parameter("mask_emb", at::rand({d}));
  dropout_input_ = register_module("dropout_input", FastDropout(o.dropout_input));
  encoder_ = register_module("encoder", Wav2Vec2Encoder(o));
  if (o.extractor_frozen())
    for (auto& p : feature_extractor_->parameters()) p.set_requires_grad(false);
}

std::pair<at::Tensor, at::Tensor> Wav2Vec2BodyImpl::draw_masks(const at::Tensor& x,
                                                               const at::Tensor& lengths) {
  // One draw from torch's generator seeds the span sampler: masks follow --seed and resume.
  std::mt19937_64 rng(
      static_cast<uint64_t>(at::randint(1LL << 62, {1}, at::kLong).item<int64_t>()));
  const int64_t b = x.size(0), t = x.size(1), d = x.size(2);
  std::vector<int64_t> valid(static_cast<size_t>(b), t);
  if (lengths.defined())
    for (int64_t i = 0; i < b; ++i) valid[static_cast<size_t>(i)] = lengths[i].item<int64_t>();
  at::Tensor time, channel;
  if (options_.mask_prob > 0) {
    MaskSpans s{options_.mask_prob, options_.mask_length, 2, true};
    time = to_tensor(compute_mask_indices(valid, t, s, rng), t);
  }
  if (options_.mask_channel_prob > 0) {
    MaskSpans s{options_.mask_channel_prob, options_.mask_channel_length, 0, false};
    channel = to_tensor(compute_mask_indices(std::vector<int64_t>(b, d), d, s, rng), d);
  }
  return {time, channel};
}

// wav: (B, S); lengths: (B) or undefined -> Wav2Vec2Output with x (B, T, D) before masking
Wav2Vec2Output Wav2Vec2BodyImpl::extract(const at::Tensor& wav, const at::Tensor& lengths) {
  Wav2Vec2Output out;
  if (options_.extractor_frozen()) {
    at::NoGradGuard no_grad;
    out.features = feature_extractor_->forward(wav);
  } else {
    out.features = feature_extractor_->forward(wav);
    if (options_.feature_grad_mult != 1.0 && is_training())
      out.features = GradMultiply::apply(out.features, options_.feature_grad_mult);
  }
  const int64_t b = out.features.size(0), t = out.features.size(1);
  out.unmasked_features = layer_norm(layer_norm_, out.features);  // (B, T, C)
  at::Tensor x = post_extract_proj_->forward(out.unmasked_features);  // (B, T, D)
  out.x = dropout_input_->forward(x);
  if (lengths.defined()) {
    out.lengths = feature_extractor_->output_lengths(lengths.cpu()).clamp_max(t);
    out.padding_mask = at::arange(t, at::kLong).unsqueeze(0).ge(out.lengths.unsqueeze(1));
    out.padding_mask = out.padding_mask.to(x.device());
  } else {
    out.lengths = at::full({b}, t, at::kLong);
    out.padding_mask = at::zeros({b, t}, x.options().dtype(at::kBool));
  }
  return out;
}

// out.x: (B, T, D); time: (B, T) bool or undefined; lengths: the input's (B) or undefined
void Wav2Vec2BodyImpl::encode_masked(Wav2Vec2Output& out, const at::Tensor& time,
                                     const at::Tensor& lengths, bool return_all_hiddens) {
  at::Tensor x = out.x;
  if (time.defined()) x = apply_feature_masks(x, mask_emb_, time, at::Tensor());
  // No mask when no frame is padded (fairseq's Wav2Vec2Model drops an all-false padding mask):
  // masking nothing would only cost a copy of the input and of every layer's attention scores.
  const bool padded = lengths.defined() && out.padding_mask.any().item<bool>();
  at::Tensor pad = padded ? out.padding_mask : at::Tensor();
  out.x = encoder_->forward(x, pad, return_all_hiddens ? &out.hiddens : nullptr);
}

// wav: (B, S); lengths: (B) or undefined -> Wav2Vec2Output
Wav2Vec2Output Wav2Vec2BodyImpl::forward(const at::Tensor& wav, const at::Tensor& lengths,
                                         bool mask, bool return_all_hiddens) {
  Wav2Vec2Output out = extract(wav, lengths);
  if (mask && is_training() && options_.apply_mask) {
    auto [time, channel] = draw_masks(out.x, out.lengths);
    out.x = apply_feature_masks(out.x, mask_emb_, time, channel);
  }
  encode_masked(out, at::Tensor(), lengths, return_all_hiddens);
  return out;
}

}  // namespace trellis
