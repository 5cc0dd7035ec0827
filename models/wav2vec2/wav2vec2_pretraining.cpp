#include "models/wav2vec2/wav2vec2_pretraining.h"

#include <torch/torch.h>

#include <limits>
#include <random>
#include <set>

#include "core/error.h"
#include "core/logging.h"
#include "core/strings.h"
#include "models/modules/weight_file.h"
#include "models/wav2vec2/wav2vec2_import.h"
#include "models/wav2vec2/wav2vec2_mask.h"

namespace trellis {

namespace {

const log::Logger logger("trellis.models.wav2vec2");

std::string dims(const at::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes(), ", ")); }

// The body's options with --encoder-layerdrop folded in.
Wav2Vec2Options body_options(const Wav2Vec2PretrainingOptions& o) {
  o.validate();
  return static_cast<const Wav2Vec2Options&>(o);
}

// A pretraining-head key of a weight file -> this model's key ("" when not one).
std::string head_key(const std::string& key) {
  std::string k = key;
  if (starts_with(k, "wav2vec2.")) k = k.substr(9);
  if (k == "quantizer.codevectors") return "quantizer.vars";
  if (k == "quantizer.vars" || starts_with(k, "quantizer.weight_proj.") ||
      starts_with(k, "project_q.") || starts_with(k, "final_proj."))
    return k;
  if (starts_with(k, "project_hid.")) return "final_proj." + k.substr(12);
  return "";
}

}  // namespace

void Wav2Vec2PretrainingOptions::validate() const {
  Wav2Vec2Options::validate();
  TRELLIS_CHECK(num_negatives >= 0 && cross_sample_negatives >= 0 &&
                    num_negatives + cross_sample_negatives > 0,
                ConfigError,
                "--num-negatives {} and --cross-sample-negatives {}: non-negative, not both 0",
                num_negatives, cross_sample_negatives);
  TRELLIS_CHECK(logit_temp > 0, ConfigError, "--logit-temp must be positive, got {}", logit_temp);
  TRELLIS_CHECK(dropout_features >= 0 && dropout_features < 1, ConfigError,
                "--dropout-features must lie in [0, 1), got {}", dropout_features);
  TRELLIS_CHECK(final_dim >= 0 && latent_dim >= 0, ConfigError,
                "--final-dim and --latent-dim must be >= 0");
}

at::Tensor sample_negative_indices(int64_t B, int64_t M, int64_t K, int64_t X) {
  at::NoGradGuard no_grad;
  at::Tensor neg, cross;
  if (K > 0) {
    TRELLIS_CHECK(M >= 2, DataError,
                  "wav2vec 2.0 negatives: {} masked frame per utterance, at least 2 are needed "
                  "(longer audio, or a larger --mask-prob / --mask-length)",
                  M);
    at::Tensor tszs = at::arange(M, at::kLong).unsqueeze(-1).expand({M, K}).flatten();
    neg = at::randint(0, M - 1, {B, K * M}, at::kLong);
    neg.add_(neg.ge(tszs).to(at::kLong));
    neg.add_(at::arange(B, at::kLong).unsqueeze(1) * M);
  }
  if (X > 0) {
    TRELLIS_CHECK(B * M >= 2, DataError, "wav2vec 2.0 cross-sample negatives need 2 frames");
    at::Tensor tszs = at::arange(M, at::kLong).unsqueeze(-1).expand({M, X}).flatten();
    cross = at::randint(0, B * M - 1, {B, X * M}, at::kLong);
    cross.add_(cross.ge(tszs).to(at::kLong));
  }
  if (!neg.defined()) return cross;
  if (!cross.defined()) return neg;
  return at::cat({neg, cross}, 1);
}

// x: (B, M, C); y: (B, M, C); negs: (N, B, M, C) -> (1+N, B, M)
at::Tensor contrastive_logits(const at::Tensor& x, const at::Tensor& y, const at::Tensor& negs,
                              double logit_temp) {
  at::Tensor neg_is_pos = y.eq(negs).all(-1);               // (N, B, M)
  at::Tensor targets = at::cat({y.unsqueeze(0), negs}, 0);  // (1+N, B, M, C)
  at::Tensor logits = at::cosine_similarity(x.to(at::kFloat), targets.to(at::kFloat), -1);
  logits = (logits / logit_temp).to(x.scalar_type());
  if (neg_is_pos.any().item<bool>()) {
    at::Tensor inf_mask = at::cat({at::zeros_like(neg_is_pos.narrow(0, 0, 1)), neg_is_pos}, 0);
    logits = logits.masked_fill(inf_mask, -std::numeric_limits<double>::infinity());
  }
  return logits;
}

Wav2Vec2PretrainingModel::Wav2Vec2PretrainingModel(const Wav2Vec2PretrainingOptions& o,
                                                   const ModelContext& ctx)
    : Wav2Vec2Model(body_options(o), ctx), popts_(o) {
  const int64_t c = std::get<0>(o.conv_layers().back());
  quantizer_ = register_module("quantizer", GumbelVectorQuantizer(c, o.latent_vars, o.latent_groups,
                                                                  o.codeword_dim(), o.latent_temp));
  project_q_ =
      register_module("project_q", torch::nn::Linear(o.codeword_dim(), o.contrastive_dim()));
  final_proj_ =
      register_module("final_proj", torch::nn::Linear(o.encoder_embed_dim, o.contrastive_dim()));
  dropout_features_ = register_module("dropout_features", FastDropout(o.dropout_features));
}

void Wav2Vec2PretrainingModel::set_num_updates(int64_t num_updates) {
  quantizer_->set_num_updates(num_updates);
}

at::Tensor Wav2Vec2PretrainingModel::draw_time_mask(const at::Tensor& lengths, int64_t B,
                                                    int64_t T) {
  // One draw from torch's generator seeds the span sampler (as the body's fine-tuning masks).
  std::mt19937_64 rng(
      static_cast<uint64_t>(at::randint(1LL << 62, {1}, at::kLong).item<int64_t>()));
  std::vector<int64_t> valid(static_cast<size_t>(B), T);
  for (int64_t b = 0; b < B; ++b) valid[static_cast<size_t>(b)] = lengths[b].item<int64_t>();
  MaskSpans s{popts_.mask_prob, popts_.mask_length, 2, true};
  std::vector<std::vector<bool>> rows = compute_mask_indices(valid, T, s, rng);
  at::Tensor mask = at::zeros({B, T}, at::kBool);
  auto a = mask.accessor<bool, 2>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) a[b][t] = rows[static_cast<size_t>(b)][static_cast<size_t>(t)];
  return mask;
}

std::map<std::string, at::Tensor> Wav2Vec2PretrainingModel::contrastive_forward(
    const at::Tensor& source, const at::Tensor& lengths) {
  return forward_with(source, lengths, PretrainingDraws{});
}

// source: (B, S[, 1]); lengths: (B) or undefined -> the outputs of ContrastiveModel
std::map<std::string, at::Tensor> Wav2Vec2PretrainingModel::forward_with(
    const at::Tensor& source, const at::Tensor& lengths, const PretrainingDraws& draws) {
  Wav2Vec2Body& body = this->body();
  body->train(is_training());  // the body is not a registered child (Wav2Vec2Model)
  Wav2Vec2Output w = body->extract(waveform_batch(source), lengths);
  const int64_t B = w.x.size(0), T = w.x.size(1);
  at::Tensor features_pen = w.features.to(at::kFloat).pow(2).mean();
  at::Tensor time_mask =
      draws.time_mask.defined() ? draws.time_mask.to(at::kBool) : draw_time_mask(w.lengths, B, T);
  TRELLIS_CHECK(time_mask.dim() == 2 && time_mask.size(0) == B && time_mask.size(1) == T, Error,
                "wav2vec 2.0: the time mask must be ({}, {}), got {}", B, T, dims(time_mask));
  const at::Tensor counts = time_mask.sum(1);
  const int64_t M = counts[0].item<int64_t>();
  TRELLIS_CHECK(counts.eq(M).all().item<bool>() && M > 0, Error,
                "wav2vec 2.0: every utterance needs the same positive number of masked frames");
  time_mask = time_mask.to(w.x.device());
  at::Tensor unmasked = dropout_features_->forward(w.unmasked_features);  // (B, T, C)
  at::Tensor y = unmasked.index({time_mask}).view({B, M, -1});            // (B, M, C)
  body->encode_masked(w, time_mask, lengths);
  at::Tensor c = w.x.transpose(0, 1);  // (B, T, D)

  QuantizerOutput q = quantizer_->forward(y, draws.gumbel_noise);
  y = project_q_->forward(q.x);  // (B, M, F)
  const int64_t K = popts_.num_negatives, X = popts_.cross_sample_negatives;
  at::Tensor neg_idx = draws.negatives.defined() ? draws.negatives.to(at::kLong)
                                                 : sample_negative_indices(B, M, K, X);
  TRELLIS_CHECK(neg_idx.dim() == 2 && neg_idx.size(0) == B && neg_idx.size(1) == M * (K + X), Error,
                "wav2vec 2.0: negative indices must be ({}, {}), got {}", B, M * (K + X),
                dims(neg_idx));
  const int64_t F = y.size(2);
  at::Tensor negs = y.reshape({B * M, F})
                        .index_select(0, neg_idx.reshape({-1}).to(y.device()))
                        .view({B, M, K + X, F})
                        .permute({2, 0, 1, 3});                                // (K+X, B, M, F)
  at::Tensor x = final_proj_->forward(c.index({time_mask}).view({B, M, -1}));  // (B, M, F)
  at::Tensor logits = contrastive_logits(x, y, negs, popts_.logit_temp);       // (1+N, B, M)
  std::map<std::string, at::Tensor> out;
  out["logits"] = logits.transpose(0, 2).reshape({-1, logits.size(0)});  // (M*B, 1+N)
  out["features_pen"] = features_pen;
  out["prob_perplexity"] = q.prob_perplexity;
  out["code_perplexity"] = q.code_perplexity;
  out["num_vars"] = at::scalar_tensor(static_cast<double>(q.num_vars), at::kFloat);
  out["temp"] = at::scalar_tensor(q.temp, at::kFloat);
  out["time_mask"] = time_mask;
  out["negatives"] = neg_idx;
  return out;
}

void Wav2Vec2PretrainingModel::load_pretrained() {
  const Wav2Vec2Options& o = options();
  if (o.w2v_path.empty()) return;
  const std::string file = resolve_weight_file(o.w2v_path);
  std::map<std::string, at::Tensor> own;
  for (auto& p : named_parameters()) own[p.key()] = p.value();
  std::set<std::string> filled;
  std::vector<std::string> unexpected;
  at::NoGradGuard no_grad;
  for (const auto& [key, t] : read_weight_file(file)) {
    bool head = false, pretraining = false;
    std::string k = head_key(key);
    if (k.empty())
      k = wav2vec2_body_key(key, o.extractor_mode == "layer_norm", &head, &pretraining);
    auto it = own.find(k);
    if (k.empty() || head || it == own.end()) {
      unexpected.push_back(key);
      continue;
    }
    TRELLIS_CHECK(it->second.sizes() == t.sizes(), CheckpointError,
                  "{}: {} has shape {} but the model's {} is {} (check --arch and the size flags: "
                  "--encoder-embed-dim, --final-dim, --latent-vars, --latent-groups, --latent-dim)",
                  file, key, dims(t), k, dims(it->second));
    it->second.copy_(t);
    filled.insert(k);
  }
  std::vector<std::string> missing_body, missing_heads;
  for (const auto& [k, t] : own) {
    if (filled.count(k) || k == "mask_emb") continue;
    (head_key(k).empty() ? missing_body : missing_heads).push_back(k);
  }
  TRELLIS_CHECK(missing_body.empty(), CheckpointError,
                "{}: {} body weights are not in the file, e.g. {} (is it a wav2vec2 model of "
                "this layout? extractor mode {})",
                file, missing_body.size(), missing_body.empty() ? "" : missing_body.front(),
                o.extractor_mode);
  logger.info("{}: loaded {} tensors; pretraining heads {}", file, filled.size(),
              missing_heads.empty()
                  ? std::string("loaded (quantizer, project_q, final_proj)")
                  : fmt::format("newly initialized ({} tensors not in the file, e.g. {})",
                                missing_heads.size(), missing_heads.front()));
  if (!unexpected.empty())
    logger.warn("{}: {} tensors not used, e.g. {}", file, unexpected.size(), unexpected.front());
}

}  // namespace trellis

namespace trellis {
namespace {

// fairseq's Wav2Vec2Config as the LibriSpeech base config sets it (wav2vec2_base_librispeech).
void base(Wav2Vec2PretrainingOptions& o) {
  o.dropout = o.attention_dropout = 0.1;
  o.activation_dropout = 0.0;
  o.dropout_input = 0.1;
  o.dropout_features = 0.1;
  o.layerdrop = 0.05;
  o.mask_prob = 0.65;
  o.mask_length = 10;
  o.feature_grad_mult = 0.1;
  o.final_dim = 256;
  o.latent_temp = {2.0, 0.5, 0.999995};
}

// 1024 dim, 24 layers, 16 heads, final_dim 768, latent_temp (2, 0.1, 0.999995), gradient 1.0.
void large(Wav2Vec2PretrainingOptions& o) {
  base(o);
  o.encoder_embed_dim = 1024;
  o.encoder_ffn_embed_dim = 4096;
  o.encoder_layers = 24;
  o.encoder_attention_heads = 16;
  o.final_dim = 768;
  o.latent_temp = {2.0, 0.1, 0.999995};
  o.feature_grad_mult = 1.0;
}

// wav2vec2_large_librivox: layer-norm extractor with conv bias, pre-LN, no dropouts.
void large_lv60(Wav2Vec2PretrainingOptions& o) {
  large(o);
  o.extractor_mode = "layer_norm";
  o.conv_bias = true;
  o.layer_norm_first = true;
  o.dropout = o.attention_dropout = o.dropout_input = o.dropout_features = o.layerdrop = 0.0;
}

}  // namespace
}  // namespace trellis

using trellis::Wav2Vec2PretrainingOptions;

TRELLIS_REGISTER_ARCH("wav2vec2", "wav2vec2", Wav2Vec2PretrainingOptions, trellis::base,
                      "wav2vec 2.0 base with the pretraining heads (fairseq's "
                      "wav2vec2_base_librispeech: 768 dim, 12 layers, final_dim 256)");
TRELLIS_REGISTER_ARCH("wav2vec2_base", "wav2vec2", Wav2Vec2PretrainingOptions, trellis::base,
                      "wav2vec 2.0 base with the pretraining heads");
TRELLIS_REGISTER_ARCH("wav2vec2_large", "wav2vec2", Wav2Vec2PretrainingOptions, trellis::large,
                      "wav2vec 2.0 large (LibriSpeech layout: group-norm extractor, post-LN) "
                      "with the pretraining heads (final_dim 768)");
TRELLIS_REGISTER_ARCH("wav2vec2_large_lv60", "wav2vec2", Wav2Vec2PretrainingOptions,
                      trellis::large_lv60,
                      "wav2vec 2.0 large LV-60 (fairseq's wav2vec2_large_librivox: layer-norm "
                      "extractor, conv bias, pre-LN, no dropouts) with the pretraining heads");
TRELLIS_REGISTER(trellis::model_registry(), "wav2vec2", trellis::Wav2Vec2PretrainingModel,
                 trellis::Wav2Vec2PretrainingOptions,
                 "wav2vec 2.0 (fairseq's Wav2Vec2Model): the body with the quantizer, project_q "
                 "and final_proj; pretrains with --task audio_pretraining --criterion wav2vec");
