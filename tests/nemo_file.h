#pragma once
// Writing NeMo checkpoints in tests, without Python: a model_weights.ckpt written by LibTorch's
// torch::pickle_save (a torch.save zip that torch.load and core/io/torch_pickle read), packed
// with a model_config.yaml into a .nemo tar (plain or gzip) by core/io/tar_reader.h's write_tar.
//   write_nemo(path, "encoder:\n  d_model: 176\n", state_dict)
// gives a file read_nemo_checkpoint (core/nemo_checkpoint.h) reads back.
#include <torch/serialize.h>
#include <torch/torch.h>

#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/io/tar_reader.h"

namespace trellis::testing {

// torch.save bytes of a state dict (name -> tensor); lightning = true wraps it the way a
// PyTorch Lightning .ckpt does: {"epoch", "global_step", "state_dict", "optimizer_states"}
// (one optimizer state holding a tensor, which a reader must not mistake for a weight).
inline std::string nemo_ckpt_bytes(const std::map<std::string, at::Tensor>& sd,
                                   bool lightning = false) {
  c10::Dict<std::string, at::Tensor> weights;
  for (const auto& [name, t] : sd) weights.insert(name, t);
  c10::IValue root(weights);
  if (lightning) {
    c10::impl::GenericDict ckpt(c10::StringType::get(), c10::AnyType::get());
    ckpt.insert("epoch", int64_t(3));
    ckpt.insert("global_step", int64_t(1200));
    ckpt.insert("state_dict", weights);
    c10::Dict<std::string, at::Tensor> opt;
    opt.insert("exp_avg", torch::full({2}, 9.0));
    c10::impl::GenericList states(c10::AnyType::get());
    states.push_back(opt);
    ckpt.insert("optimizer_states", states);
    root = c10::IValue(ckpt);
  }
  const std::vector<char> bytes = torch::pickle_save(root);
  return std::string(bytes.begin(), bytes.end());
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

// A .nemo with NeMo's member names ("./model_config.yaml", "./model_weights.ckpt"), then the
// `extra` members (tokenizer files); gzip = the older NeMo releases' "w:gz" archives.
inline void write_nemo(const std::string& path, const std::string& config_yaml,
                       const std::map<std::string, at::Tensor>& sd, bool gzip = false,
                       const std::vector<std::pair<std::string, std::string>>& extra = {}) {
  std::vector<std::pair<std::string, std::string>> members = {
      {"./model_config.yaml", config_yaml}, {"./model_weights.ckpt", nemo_ckpt_bytes(sd)}};
  members.insert(members.end(), extra.begin(), extra.end());
  write_tar(path, members, gzip ? TarCompression::kGzip : TarCompression::kNone);
}

}  // namespace trellis::testing
