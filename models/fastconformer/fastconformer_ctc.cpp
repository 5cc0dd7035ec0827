#include "models/fastconformer/fastconformer_ctc.h"

#include <torch/torch.h>

#include <limits>
#include <optional>

#include "core/error.h"
#include "core/logging.h"
#include "core/strings.h"
#include "models/fastconformer/fastconformer_presets.h"
#include "models/modules/weight_file.h"

namespace trellis {

namespace {

const log::Logger logger("trellis.models.fastconformer");

std::string shape_of(const at::Tensor& t) {
  return fmt::format("[{}]", fmt::join(t.sizes(), ", "));
}

}  // namespace

size_t copy_encoder_weights(torch::nn::Module& encoder,
                            const std::map<std::string, at::Tensor>& weights,
                            const std::string& file) {
  const std::string prefix = "encoder.";
  std::map<std::string, at::Tensor> own;
  for (const auto& p : encoder.named_parameters()) own[p.key()] = p.value();
  for (const auto& b : encoder.named_buffers()) own[b.key()] = b.value();
  size_t copied = 0;
  at::NoGradGuard no_grad;
  for (const auto& [key, t] : weights) {
    if (!starts_with(key, prefix)) continue;
    auto it = own.find(key.substr(prefix.size()));
    TRELLIS_CHECK(it != own.end(), CheckpointError,
                  "{}: {} is not a weight of this Fast Conformer encoder (another layout or "
                  "size? check --arch and the size flags)",
                  file, key);
    TRELLIS_CHECK(it->second.sizes() == t.sizes(), CheckpointError,
                  "{}: {} has shape {} but the encoder's is {} (check --arch and the size flags)",
                  file, key, shape_of(t), shape_of(it->second));
    it->second.copy_(t);
    ++copied;
  }
  for (const auto& [k, t] : own) {
    TRELLIS_CHECK(weights.count(prefix + k), CheckpointError,
                  "{}: {}{} is missing (is it a Fast Conformer checkpoint of this size?)", file,
                  prefix, k);
  }
  return copied;
}

FastConformerCtcModel::FastConformerCtcModel(const FastConformerCtcOptions& o,
                                             const ModelContext& ctx)
    : options_(o) {
  const int64_t vocab = ctx.tgt_vocab_size > 0 ? ctx.tgt_vocab_size : ctx.src_vocab_size;
  TRELLIS_CHECK(vocab > 0, ConfigError, "fastconformer_ctc needs a target dictionary");
  const int64_t input_dim =
      ctx.input_feat_per_channel > 0
          ? ctx.input_feat_per_channel * std::max<int64_t>(1, ctx.input_channels)
          : o.input_feat_per_channel;
  options_.input_feat_per_channel = input_dim;
  options_.validate();
  encoder_ = register_module("encoder", FastConformerEncoder(options_, input_dim));
  auto decoder = register_module("decoder", std::make_shared<torch::nn::Module>());
  auto layers = decoder->register_module("decoder_layers", std::make_shared<torch::nn::Module>());
  head_ = layers->register_module(
      "0", torch::nn::Conv1d(torch::nn::Conv1dOptions(o.encoder_embed_dim, vocab, 1)));
  torch::NoGradGuard ng;
  torch::nn::init::xavier_uniform_(head_->weight);
}

std::pair<int64_t, int64_t> FastConformerCtcModel::max_positions() const {
  return {options_.max_source_positions, std::numeric_limits<int64_t>::max()};
}

// src_tokens: (B, T, F); src_lengths: (B) -> EncoderOut
EncoderOut FastConformerCtcModel::encode(const at::Tensor& src_tokens,
                                         const at::Tensor& src_lengths, bool return_all_hiddens) {
  EncoderOut e;
  {
    std::optional<at::NoGradGuard> frozen;
    if (is_training() && encoder_frozen()) frozen.emplace();
    e = encoder_->encode(src_tokens, src_lengths, return_all_hiddens);
  }
  // (T', B, D) -> (B, D, T') -> Conv1d -> (B, V, T') -> (T', B, V)
  e.ctc_logits = head_->forward(e.encoder_out.permute({1, 2, 0})).permute({2, 0, 1});
  e.ctc_lengths = (~e.encoder_padding_mask).sum(1).to(torch::kLong);
  return e;
}

void FastConformerCtcModel::load_pretrained() {
  const std::string path = options_.pretrained_path();
  if (path.empty()) return;
  const std::string file = resolve_weight_file(path);
  const size_t n = copy_encoder_weights(*encoder_, read_weight_file(file), file);
  logger.info("{}: loaded {} encoder tensors (CTC head newly initialized)", file, n);
}

}  // namespace trellis

TRELLIS_REGISTER(trellis::model_registry(), "fastconformer_ctc", trellis::FastConformerCtcModel,
                 trellis::FastConformerCtcOptions,
                 "NeMo Fast Conformer encoder + Conv1d CTC head (encoder-only ASR)");
TRELLIS_REGISTER_ARCH(
    "fastconformer_ctc", "fastconformer_ctc", trellis::FastConformerCtcOptions,
    [](trellis::FastConformerCtcOptions&) {},
    "Fast Conformer (NEST large layout: 512 dim, 8 heads, 17 layers) with a CTC head");
TRELLIS_REGISTER_ARCH(
    "fastconformer_ctc_small", "fastconformer_ctc", trellis::FastConformerCtcOptions,
    [](trellis::FastConformerCtcOptions& o) { trellis::apply_fastconformer_preset(o, "small"); },
    "Fast Conformer small (176 dim, 4 heads, 16 layers) with a CTC head");
TRELLIS_REGISTER_ARCH(
    "fastconformer_ctc_medium", "fastconformer_ctc", trellis::FastConformerCtcOptions,
    [](trellis::FastConformerCtcOptions& o) { trellis::apply_fastconformer_preset(o, "medium"); },
    "Fast Conformer medium (256 dim, 4 heads, 16 layers) with a CTC head");
TRELLIS_REGISTER_ARCH(
    "fastconformer_ctc_large", "fastconformer_ctc", trellis::FastConformerCtcOptions,
    [](trellis::FastConformerCtcOptions& o) { trellis::apply_fastconformer_preset(o, "large"); },
    "Fast Conformer large (512 dim, 8 heads, 17 layers) with a CTC head");
TRELLIS_REGISTER_ARCH(
    "fastconformer_ctc_xlarge", "fastconformer_ctc", trellis::FastConformerCtcOptions,
    [](trellis::FastConformerCtcOptions& o) { trellis::apply_fastconformer_preset(o, "xlarge"); },
    "Fast Conformer xlarge (1024 dim, 8 heads, 24 layers, no xscaling/bias) with a CTC head");
TRELLIS_REGISTER_ARCH(
    "fastconformer_ctc_xxlarge", "fastconformer_ctc", trellis::FastConformerCtcOptions,
    [](trellis::FastConformerCtcOptions& o) { trellis::apply_fastconformer_preset(o, "xxlarge"); },
    "Fast Conformer xxlarge (1024 dim, 8 heads, 42 layers, kernel 5, no xscaling/bias) with a "
    "CTC head");
