#include "models/wav2vec2/wav2vec2.h"

#include <torch/torch.h>

#include <cctype>
#include <limits>

#include "core/error.h"
#include "core/logging.h"
#include "models/wav2vec2/wav2vec2_import.h"

namespace trellis {

void Wav2Vec2Options::validate() const {
  TRELLIS_CHECK(encoder_embed_dim % encoder_attention_heads == 0, ConfigError,
                "--encoder-embed-dim {} must be divisible by --encoder-attention-heads {}",
                encoder_embed_dim, encoder_attention_heads);
  TRELLIS_CHECK(encoder_embed_dim % conv_pos_groups == 0, ConfigError,
                "--encoder-embed-dim {} must be divisible by --conv-pos-groups {}",
                encoder_embed_dim, conv_pos_groups);
  TRELLIS_CHECK(mask_length > 0 && mask_channel_length > 0, ConfigError,
                "--mask-length and --mask-channel-length must be positive");
  TRELLIS_CHECK(mask_prob >= 0 && mask_prob < 1 && mask_channel_prob >= 0 && mask_channel_prob < 1,
                ConfigError, "--mask-prob and --mask-channel-prob must lie in [0, 1)");
  TRELLIS_CHECK(layerdrop >= 0 && layerdrop < 1, ConfigError, "--layerdrop must lie in [0, 1)");
  TRELLIS_CHECK(feature_grad_mult >= 0, ConfigError, "--feature-grad-mult must be >= 0");
  TRELLIS_CHECK(freeze_finetune_updates >= 0, ConfigError,
                "--freeze-finetune-updates must be >= 0");
  conv_layers();
}

std::pair<int64_t, int64_t> Wav2Vec2Options::max_positions() const {
  const int64_t src =
      max_source_positions > 0 ? max_source_positions : std::numeric_limits<int64_t>::max();
  return {src, max_target_positions};
}

std::vector<std::tuple<int64_t, int64_t, int64_t>> Wav2Vec2Options::conv_layers() const {
  std::string s;
  for (char c : conv_feature_layers)
    if (!std::isspace(static_cast<unsigned char>(c))) s += c;
  auto fail = [&](const char* why) {
    throw ConfigError(
        fmt::format("--conv-feature-layers '{}': {} (expected e.g. "
                    "[(512,10,5)] + [(512,3,2)] * 4)",
                    conv_feature_layers, why));
  };
  std::vector<std::tuple<int64_t, int64_t, int64_t>> out;
  size_t i = 0;
  auto number = [&]() {
    size_t j = i;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    if (j == i) fail("a number is missing");
    const int64_t v = std::stoll(s.substr(i, j - i));
    i = j;
    return v;
  };
  auto expect = [&](char c) {
    if (i >= s.size() || s[i] != c) fail(fmt::format("'{}' expected at {}", c, i).c_str());
    ++i;
  };
  while (i < s.size()) {
    expect('[');
    std::vector<std::tuple<int64_t, int64_t, int64_t>> term;
    while (true) {
      expect('(');
      const int64_t d = number();
      expect(',');
      const int64_t k = number();
      expect(',');
      const int64_t st = number();
      expect(')');
      if (d <= 0 || k <= 0 || st <= 0) fail("dimensions, kernels and strides must be positive");
      term.emplace_back(d, k, st);
      if (i < s.size() && s[i] == ',') {
        ++i;
        continue;
      }
      break;
    }
    expect(']');
    int64_t times = 1;
    if (i < s.size() && s[i] == '*') {
      ++i;
      times = number();
    }
    for (int64_t r = 0; r < times; ++r) out.insert(out.end(), term.begin(), term.end());
    if (i < s.size()) expect('+');
  }
  if (out.empty()) fail("no block");
  return out;
}

// src: (B, S[, 1]) -> (B, S)
at::Tensor waveform_batch(const at::Tensor& src) {
  if (src.dim() == 3) {
    TRELLIS_CHECK(src.size(2) == 1, ConfigError,
                  "wav2vec2 models read raw waveforms, but the input has {} features per frame: "
                  "prepare the data with --features raw (use_audio_input: true)",
                  src.size(2));
    return src.squeeze(2);
  }
  TRELLIS_CHECK(src.dim() == 2, Error, "wav2vec2: the input must be (B, S), got {} dims",
                src.dim());
  return src;
}

Wav2Vec2Model::Wav2Vec2Model(const Wav2Vec2Options& o, const ModelContext& ctx) : options_(o) {
  (void)ctx;
  body_ = Wav2Vec2Body(o);
  // fairseq's Wav2Vec2Model keys carry no prefix: the body's parts are registered here.
  for (const auto& item : body_->named_children()) register_module(item.key(), item.value());
  for (const auto& item : body_->named_parameters(/*recurse=*/false))
    register_parameter(item.key(), item.value(), item.value().requires_grad());
}

std::pair<int64_t, int64_t> Wav2Vec2Model::max_positions() const {
  return options_.max_positions();
}

// src_tokens: (B, S[, 1]); src_lengths: (B) -> EncoderOut
EncoderOut Wav2Vec2Model::encode(const at::Tensor& src_tokens, const at::Tensor& src_lengths,
                                 bool return_all_hiddens) {
  body_->train(is_training());  // the body is not a registered child (see the constructor)
  Wav2Vec2Output w =
      body_->forward(waveform_batch(src_tokens), src_lengths, /*mask=*/true, return_all_hiddens);
  EncoderOut e;
  e.encoder_out = w.x;
  e.encoder_padding_mask = w.padding_mask;
  e.encoder_states = std::move(w.hiddens);
  return e;
}

void Wav2Vec2Model::load_pretrained() {
  if (options_.w2v_path.empty()) return;
  load_wav2vec2_weights(*this, "", options_, options_.w2v_path, "");
}

}  // namespace trellis
