// read_nemo_checkpoint, select_prefix (core/nemo_checkpoint.h).

#include "core/nemo_checkpoint.h"

#include <torch/torch.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/io/tar_reader.h"
#include "core/io/torch_pickle.h"
#include "core/safetensor_tensor.h"

namespace fs = std::filesystem;

namespace trellis {
namespace {

const char kConfigMember[] = "model_config.yaml";
const char kWeightsMember[] = "model_weights.ckpt";
const char kDroppedPrefix[] = "preprocessor.featurizer.";

// A file in the temporary directory, removed when this goes.
struct TempFile {
  std::string path;
  TempFile() {
    std::string pattern = (fs::temp_directory_path() / "trellis_nemo_XXXXXX").string();
    const int fd = mkstemp(pattern.data());
    TRELLIS_CHECK(fd >= 0, DataError, "cannot create a temporary file in {}",
                  fs::temp_directory_path().string());
    close(fd);
    path = pattern;
  }
  ~TempFile() {
    std::error_code ec;
    fs::remove(path, ec);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
};

// A torch.save file starts with a zip local header (torch >= 1.6) or a pickle PROTO opcode.
bool is_torch_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  TRELLIS_CHECK(in.good(), DataError, "{}: cannot open NeMo checkpoint", path);
  unsigned char head[4] = {0, 0, 0, 0};
  in.read(reinterpret_cast<char*>(head), 4);
  if (in.gcount() == 4 && std::memcmp(head, "PK\x03\x04", 4) == 0) return true;
  return in.gcount() >= 1 && head[0] == 0x80;
}

// The state dict of a torch.save file: the root, or its "state_dict" (Lightning checkpoints).
// `where` names the file in errors ("model.nemo:model_weights.ckpt").
std::map<std::string, at::Tensor> read_state_dict(const std::string& file,
                                                  const std::string& where) {
  std::map<std::string, SafeTensor> raw;
  try {
    TorchPickleFile f(file);
    const PickleValue* wrapped = f.find("state_dict");
    const bool lightning = wrapped && wrapped->is(PickleValue::Kind::kDict);
    TRELLIS_CHECK(f.root().is(PickleValue::Kind::kDict), DataError,
                  "not a state dict: the pickle holds {}", f.root().repr(80));
    raw = lightning ? f.tensors("state_dict") : f.tensors();
  } catch (const DataError& e) {
    if (file == where) throw;
    // The pickle reader names the temporary file the member was extracted to: name the member.
    std::string msg = e.what();
    for (size_t at = msg.find(file); at != std::string::npos; at = msg.find(file, at))
      msg.replace(at, file.size(), where);
    throw DataError(msg.rfind(where, 0) == 0 ? msg : fmt::format("{}: {}", where, msg));
  }
  std::map<std::string, at::Tensor> out;
  for (const auto& [name, t] : raw) {
    if (name.rfind(kDroppedPrefix, 0) == 0) continue;
    out.emplace(name, tensor_of_safetensor(t, where + ": " + name));
  }
  TRELLIS_CHECK(!out.empty(), DataError, "{}: the state dict holds no tensors", where);
  return out;
}

}  // namespace

NemoCheckpoint read_nemo_checkpoint(const std::string& path) {
  TRELLIS_CHECK(fs::exists(path), DataError, "NeMo checkpoint {}: no such file", path);
  TRELLIS_CHECK(!fs::is_directory(path), DataError,
                "NeMo checkpoint {}: a directory (give the .nemo or model_weights.ckpt)", path);
  NemoCheckpoint out;
  out.path = path;
  if (is_torch_file(path)) {
    out.state_dict = read_state_dict(path, path);
    return out;
  }
  TempFile weights;
  bool have_config = false, have_weights = false;
  TarReader tar(path);
  while (tar.next()) {
    out.members.push_back(tar.name());
    if (tar.name() == kConfigMember && !have_config) {
      out.config_yaml = tar.read_all();
      have_config = true;
    } else if (tar.name() == kWeightsMember && !have_weights) {
      tar.read_to_file(weights.path);
      have_weights = true;
    }
  }
  TRELLIS_CHECK(have_weights, DataError,
                "{}: no member '{}' in this .nemo archive (members: {})", path, kWeightsMember,
                fmt::join(out.members, ", "));
  TRELLIS_CHECK(have_config, DataError, "{}: no member '{}' in this .nemo archive (members: {})",
                path, kConfigMember, fmt::join(out.members, ", "));
  out.state_dict = read_state_dict(weights.path, path + ":" + kWeightsMember);
  return out;
}

bool is_nemo_archive(const std::string& path) {
  return fs::is_regular_file(path) && !is_torch_file(path);
}

std::map<std::string, at::Tensor> select_prefix(const std::map<std::string, at::Tensor>& sd,
                                                const std::string& prefix) {
  std::map<std::string, at::Tensor> out;
  for (auto it = sd.lower_bound(prefix); it != sd.end() && it->first.rfind(prefix, 0) == 0; ++it)
    out.emplace_hint(out.end(), it->first.substr(prefix.size()), it->second);
  return out;
}

}  // namespace trellis
