#include "models/modules/weight_file.h"

#include <torch/torch.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/io/safetensors.h"
#include "core/io/torch_pickle.h"
#include "core/nemo_checkpoint.h"
#include "core/safetensor_tensor.h"
#include "core/error.h"

namespace fs = std::filesystem;

namespace trellis {

namespace {

void add_tensors(std::map<std::string, at::Tensor>& out,
                 const std::map<std::string, SafeTensor>& in, const std::string& file) {
  for (const auto& [name, t] : in) out[name] = tensor_from_safetensor(t, file + ": " + name);
}

std::map<std::string, at::Tensor> read_safetensors(const std::string& path) {
  SafeTensorsFile f(path);
  std::map<std::string, at::Tensor> out;
  for (const auto& n : f.names()) out[n] = tensor_from_safetensor(f.get(n), path + ": " + n);
  return out;
}

std::map<std::string, at::Tensor> read_index(const std::string& path) {
  std::ifstream in(path);
  TRELLIS_CHECK(in.good(), DataError, "cannot open {}", path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw DataError(fmt::format("{}: not valid JSON ({})", path, e.what()));
  }
  TRELLIS_CHECK(j.contains("weight_map") && j["weight_map"].is_object(), DataError,
                "{}: no \"weight_map\" object", path);
  std::set<std::string> shards;
  for (const auto& [name, file] : j["weight_map"].items()) shards.insert(file.get<std::string>());
  std::map<std::string, at::Tensor> out;
  for (const auto& s : shards) {
    auto part = read_safetensors((fs::path(path).parent_path() / s).string());
    out.insert(part.begin(), part.end());
  }
  return out;
}

// torch.save files: a state dict, or a checkpoint whose weights are under "model".
std::map<std::string, at::Tensor> read_torch_file(const std::string& path) {
  TorchPickleFile f(path);
  std::map<std::string, at::Tensor> out;
  add_tensors(out, f.find("model") != nullptr ? f.tensors("model") : f.tensors(), path);
  return out;
}

// A tar (ustar magic at 257) or gzip stream (1f 8b): NeMo's .nemo archive.
bool is_archive(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char head[263] = {0};
  in.read(head, sizeof(head));
  const auto n = in.gcount();
  if (n >= 2 && static_cast<unsigned char>(head[0]) == 0x1f &&
      static_cast<unsigned char>(head[1]) == 0x8b)
    return true;
  return n >= 262 && std::memcmp(head + 257, "ustar", 5) == 0;
}

// NeMo's .nemo: the state dict of its model_weights.ckpt; float64 (the NEST codebooks) stays
// float64, other floating types become float32.
std::map<std::string, at::Tensor> read_nemo_file(const std::string& path) {
  std::map<std::string, at::Tensor> out = read_nemo_checkpoint(path).state_dict;
  for (auto& [name, t] : out) {
    if (t.is_floating_point() && t.scalar_type() != at::kDouble) t = t.to(at::kFloat);
  }
  return out;
}

bool is_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char head[9] = {0};
  in.read(head, 9);
  return in.gcount() == 9 && head[8] == '{';
}

}  // namespace

// t -> CPU tensor of its dtype and shape, floating types as float32
at::Tensor tensor_from_safetensor(const SafeTensor& t, const std::string& where) {
  at::Tensor out = tensor_of_safetensor(t, where);
  return out.is_floating_point() ? out.to(at::kFloat) : out;
}

std::string resolve_weight_file(const std::string& path) {
  TRELLIS_CHECK(fs::exists(path), DataError, "pretrained weights {}: no such file or directory",
                path);
  if (!fs::is_directory(path)) return path;
  for (const char* name :
       {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin"}) {
    if (fs::exists(fs::path(path) / name)) return (fs::path(path) / name).string();
  }
  throw DataError(
      fmt::format("{}: a directory without model.safetensors, model.safetensors.index.json or "
                  "pytorch_model.bin",
                  path));
}

std::map<std::string, at::Tensor> read_weight_file(const std::string& path) {
  const std::string file = resolve_weight_file(path);
  const std::string ext = fs::path(file).extension().string();
  if (file.size() >= 11 && file.compare(file.size() - 11, 11, ".index.json") == 0)
    return read_index(file);
  if (ext == ".safetensors" || is_safetensors(file)) return read_safetensors(file);
  if (ext == ".nemo" || is_archive(file)) return read_nemo_file(file);
  return read_torch_file(file);
}

}  // namespace trellis
