#pragma once
// Helpers of the wav2vec2 tests: JSON files, relative errors, a safetensors writer and the
// Hugging Face state dict of the base layout written from the name table (docs/models.md, "Keys").

#include <torch/torch.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace trellis::testing {

inline nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// ||a - b|| / ||b||
inline double relative_error(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).norm().item<double>() / b.norm().item<double>();
}

// Every tensor stored as F16 (header padded to 8 bytes, as Hugging Face writes it).
inline void write_safetensors_f16(const std::string& path,
                                  const std::map<std::string, at::Tensor>& tensors) {
  nlohmann::json header;
  std::vector<at::Tensor> halves;
  int64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    at::Tensor h = t.to(at::kHalf).contiguous();
    header[name] = {{"dtype", "F16"},
                    {"shape", t.sizes().vec()},
                    {"data_offsets", {offset, offset + static_cast<int64_t>(h.nbytes())}}};
    offset += static_cast<int64_t>(h.nbytes());
    halves.push_back(h);
  }
  header["__metadata__"] = {{"format", "pt"}};
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::ofstream out(path, std::ios::binary);
  const uint64_t n = text.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out.write(text.data(), static_cast<std::streamsize>(n));
  for (const auto& h : halves)
    out.write(static_cast<const char*>(h.data_ptr()), static_cast<std::streamsize>(h.nbytes()));
}

// Wav2Vec2ForCTC of facebook/wav2vec2-base-960h's shapes (random values), vocab outputs.
inline std::map<std::string, at::Tensor> hf_base_state_dict(int64_t vocab) {
  const int64_t c = 512, d = 768, f = 3072;
  std::map<std::string, at::Tensor> sd;
  auto add = [&](const std::string& k, std::vector<int64_t> shape) {
    sd["wav2vec2." + k] = torch::randn(shape) * 0.02;
  };
  const int64_t kernels[] = {10, 3, 3, 3, 3, 2, 2};
  for (int i = 0; i < 7; ++i)
    add("feature_extractor.conv_layers." + std::to_string(i) + ".conv.weight",
        {c, i == 0 ? 1 : c, kernels[i]});
  add("feature_extractor.conv_layers.0.layer_norm.weight", {c});
  add("feature_extractor.conv_layers.0.layer_norm.bias", {c});
  add("feature_projection.layer_norm.weight", {c});
  add("feature_projection.layer_norm.bias", {c});
  add("feature_projection.projection.weight", {d, c});
  add("feature_projection.projection.bias", {d});
  add("masked_spec_embed", {d});
  add("encoder.pos_conv_embed.conv.weight_g", {1, 1, 128});
  add("encoder.pos_conv_embed.conv.weight_v", {d, d / 16, 128});
  add("encoder.pos_conv_embed.conv.bias", {d});
  add("encoder.layer_norm.weight", {d});
  add("encoder.layer_norm.bias", {d});
  for (int l = 0; l < 12; ++l) {
    const std::string p = "encoder.layers." + std::to_string(l) + ".";
    for (const char* proj : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
      add(p + "attention." + proj + ".weight", {d, d});
      add(p + "attention." + proj + ".bias", {d});
    }
    add(p + "layer_norm.weight", {d});
    add(p + "layer_norm.bias", {d});
    add(p + "feed_forward.intermediate_dense.weight", {f, d});
    add(p + "feed_forward.intermediate_dense.bias", {f});
    add(p + "feed_forward.output_dense.weight", {d, f});
    add(p + "feed_forward.output_dense.bias", {d});
    add(p + "final_layer_norm.weight", {d});
    add(p + "final_layer_norm.bias", {d});
  }
  sd["lm_head.weight"] = torch::randn({vocab, d}) * 0.02;
  sd["lm_head.bias"] = torch::zeros({vocab});
  return sd;
}

}  // namespace trellis::testing
