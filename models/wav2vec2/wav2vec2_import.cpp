#include "models/wav2vec2/wav2vec2_import.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/strings.h"
#include "core/logging.h"
#include "models/modules/weight_file.h"

namespace fs = std::filesystem;

namespace trellis {

namespace {

std::string join_key(const std::vector<std::string>& parts, size_t from = 0) {
  std::string out;
  for (size_t i = from; i < parts.size(); ++i) out += (out.empty() ? "" : ".") + parts[i];
  return out;
}

const log::Logger logger("trellis.models.wav2vec2");

std::string shape_of(const at::Tensor& t) {
  return fmt::format("[{}]", fmt::join(t.sizes(), ", "));
}

}  // namespace

std::string wav2vec2_body_key(const std::string& key, bool layer_norm_mode, bool* head,
                              bool* pretraining) {
  *head = *pretraining = false;
  std::string k = key;
  for (const char* prefix : {"wav2vec2.", "w2v_encoder.w2v_model.", "w2v_model."})
    if (starts_with(k, prefix)) k = k.substr(std::string(prefix).size());
  for (const char* prefix : {"lm_head.", "w2v_encoder.proj."}) {
    if (starts_with(key, prefix)) {
      *head = true;
      return key.substr(std::string(prefix).size());
    }
  }
  for (const char* prefix :
       {"quantizer.", "project_q.", "project_hid.", "final_proj.", "target_glu.", "label_embs"}) {
    if (starts_with(k, prefix)) {
      *pretraining = true;
      return "";
    }
  }
  if (k == "masked_spec_embed") return "mask_emb";
  std::vector<std::string> p = split_all(k, '.');
  // weight norm: parametrizations.weight.original0/1 -> weight_g / weight_v
  for (size_t i = 0; i + 2 < p.size(); ++i) {
    if (p[i] == "parametrizations" && p[i + 1] == "weight") {
      const std::string leaf = p[i + 2] == "original0" ? "weight_g" : "weight_v";
      p.erase(p.begin() + static_cast<long>(i), p.end());
      p.push_back(leaf);
      break;
    }
  }
  if (p.size() >= 4 && p[0] == "feature_extractor" && p[1] == "conv_layers") {
    if (p[3] == "conv")
      return join_key({"feature_extractor", "conv_layers", p[2], "0", join_key(p, 4)});
    if (p[3] == "layer_norm")
      return layer_norm_mode
                 ? join_key({"feature_extractor", "conv_layers", p[2], "2", "1", join_key(p, 4)})
                 : join_key({"feature_extractor", "conv_layers", p[2], "2", join_key(p, 4)});
  }
  if (p.size() >= 2 && p[0] == "feature_projection") {
    if (p[1] == "layer_norm") return join_key({"layer_norm", join_key(p, 2)});
    if (p[1] == "projection") return join_key({"post_extract_proj", join_key(p, 2)});
  }
  if (p.size() >= 3 && p[0] == "encoder" && p[1] == "pos_conv_embed" && p[2] == "conv")
    return join_key({"encoder", "pos_conv", "0", join_key(p, 3)});
  if (p.size() >= 5 && p[0] == "encoder" && p[1] == "layers") {
    const std::string layer = join_key({"encoder", "layers", p[2]});
    if (p[3] == "attention") return join_key({layer, "self_attn", join_key(p, 4)});
    if (p[3] == "layer_norm") return join_key({layer, "self_attn_layer_norm", join_key(p, 4)});
    if (p[3] == "feed_forward" && p.size() >= 6) {
      if (p[4] == "intermediate_dense") return join_key({layer, "fc1", join_key(p, 5)});
      if (p[4] == "output_dense") return join_key({layer, "fc2", join_key(p, 5)});
    }
  }
  return join_key(p);
}

Wav2Vec2Options wav2vec2_options_from_hf_config(const std::string& config_json, Wav2Vec2Options o) {
  std::ifstream in(config_json);
  TRELLIS_CHECK(in.good(), DataError, "cannot open {}", config_json);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
    o.encoder_embed_dim = j.value("hidden_size", o.encoder_embed_dim);
    o.encoder_layers = j.value("num_hidden_layers", o.encoder_layers);
    o.encoder_attention_heads = j.value("num_attention_heads", o.encoder_attention_heads);
    o.encoder_ffn_embed_dim = j.value("intermediate_size", o.encoder_ffn_embed_dim);
    o.extractor_mode =
        j.value("feat_extract_norm", std::string("group")) == "layer" ? "layer_norm" : "default";
    o.layer_norm_first = j.value("do_stable_layer_norm", false);
    o.conv_bias = j.value("conv_bias", false);
    o.conv_pos = j.value("num_conv_pos_embeddings", o.conv_pos);
    o.conv_pos_groups = j.value("num_conv_pos_embedding_groups", o.conv_pos_groups);
    if (j.contains("conv_dim")) {
      std::vector<std::string> blocks;
      for (size_t i = 0; i < j["conv_dim"].size(); ++i)
        blocks.push_back(fmt::format("[({}, {}, {})]", j["conv_dim"][i].get<int64_t>(),
                                     j["conv_kernel"][i].get<int64_t>(),
                                     j["conv_stride"][i].get<int64_t>()));
      o.conv_feature_layers = fmt::format("{}", fmt::join(blocks, " + "));
    }
  } catch (const nlohmann::json::exception& e) {
    throw DataError(
        fmt::format("{}: not a Hugging Face wav2vec2 config ({})", config_json, e.what()));
  }
  return o;
}

namespace {

// A config.json beside the weights must describe the model being built.
void check_hf_config(const std::string& file, const Wav2Vec2Options& o) {
  const fs::path cfg = fs::path(file).parent_path() / "config.json";
  if (!fs::exists(cfg)) return;
  const Wav2Vec2Options want = wav2vec2_options_from_hf_config(cfg.string(), o);
  auto check = [&](const char* flag, const std::string& have, const std::string& need) {
    TRELLIS_CHECK(have == need, ConfigError,
                  "{} describes {} {} but the model has {} {} (set the flag, or pick the "
                  "matching --arch: wav2vec2_ctc_base, wav2vec2_ctc_large, "
                  "wav2vec2_ctc_large_lv60)",
                  cfg.string(), flag, need, flag, have);
  };
  check("--encoder-embed-dim", std::to_string(o.encoder_embed_dim),
        std::to_string(want.encoder_embed_dim));
  check("--encoder-layers", std::to_string(o.encoder_layers), std::to_string(want.encoder_layers));
  check("--encoder-attention-heads", std::to_string(o.encoder_attention_heads),
        std::to_string(want.encoder_attention_heads));
  check("--encoder-ffn-embed-dim", std::to_string(o.encoder_ffn_embed_dim),
        std::to_string(want.encoder_ffn_embed_dim));
  check("--extractor-mode", o.extractor_mode, want.extractor_mode);
  check("--layer-norm-first", o.layer_norm_first ? "true" : "false",
        want.layer_norm_first ? "true" : "false");
  check("--conv-bias", o.conv_bias ? "true" : "false", want.conv_bias ? "true" : "false");
}

}  // namespace

Wav2Vec2ImportReport load_wav2vec2_weights(Model& model, const std::string& body_prefix,
                                           const Wav2Vec2Options& o, const std::string& path,
                                           const std::string& head_prefix) {
  const std::string file = resolve_weight_file(path);
  check_hf_config(file, o);
  std::map<std::string, at::Tensor> weights = read_weight_file(file);
  std::map<std::string, at::Tensor> own;
  for (auto& p : model.named_parameters()) own[p.key()] = p.value();
  for (auto& b : model.named_buffers()) own[b.key()] = b.value();
  Wav2Vec2ImportReport r;
  std::set<std::string> filled;
  at::Tensor head_weight, head_bias;
  at::NoGradGuard no_grad;
  for (const auto& [key, t] : weights) {
    bool head = false, pretraining = false;
    const std::string k =
        wav2vec2_body_key(key, o.extractor_mode == "layer_norm", &head, &pretraining);
    if (pretraining) {
      ++r.skipped_pretraining;
      continue;
    }
    if (head) {
      (k == "weight" ? head_weight : head_bias) = t;
      continue;
    }
    auto it = own.find(body_prefix + k);
    if (k.empty() || it == own.end()) {
      r.unexpected.push_back(key);
      continue;
    }
    TRELLIS_CHECK(it->second.sizes() == t.sizes(), CheckpointError,
                  "{}: {} has shape {} but the model's {} is {}: the file is another size or "
                  "layout (check --arch: wav2vec2_ctc_base, wav2vec2_ctc_large, "
                  "wav2vec2_ctc_large_lv60, or the size flags)",
                  file, key, shape_of(t), it->first, shape_of(it->second));
    it->second.copy_(t);
    filled.insert(it->first);
    ++r.loaded;
  }
  for (const auto& [k, t] : own) {
    const bool is_head = !head_prefix.empty() && starts_with(k, head_prefix);
    if (starts_with(k, body_prefix) && !is_head && !filled.count(k)) r.missing.push_back(k);
  }
  std::vector<std::string> missing_weights;
  for (const auto& k : r.missing)
    if (k != body_prefix + "mask_emb") missing_weights.push_back(k);
  TRELLIS_CHECK(missing_weights.empty(), CheckpointError,
                "{}: {} model weights are not in the file, e.g. {} (is it a wav2vec2 model of "
                "this layout? extractor mode {})",
                file, missing_weights.size(), missing_weights.front(), o.extractor_mode);
  if (!head_prefix.empty()) {
    at::Tensor& w = own[head_prefix + "weight"];
    at::Tensor& b = own[head_prefix + "bias"];
    if (head_weight.defined() && head_weight.sizes() == w.sizes() && head_bias.defined() &&
        head_bias.sizes() == b.sizes()) {
      w.copy_(head_weight);
      b.copy_(head_bias);
      r.head_loaded = true;
      r.loaded += 2;
    }
    logger.info("{}: CTC head {}", file,
                r.head_loaded ? fmt::format("loaded ({} outputs)", w.size(0))
                : head_weight.defined()
                    ? fmt::format("newly initialized: the file has {} outputs, the task's "
                                  "dictionary {}",
                                  head_weight.size(0), w.size(0))
                    : std::string("newly initialized (the file has none)"));
  }
  logger.info("{}: loaded {} tensors{}{}", file, r.loaded,
              r.skipped_pretraining
                  ? fmt::format(", skipped {} of the pretraining heads", r.skipped_pretraining)
                  : "",
              r.missing.empty() ? "" : ", mask_emb newly initialized");
  if (!r.unexpected.empty())
    logger.warn("{}: {} tensors not used, e.g. {}", file, r.unexpected.size(),
                r.unexpected.front());
  return r;
}

}  // namespace trellis
