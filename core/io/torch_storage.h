#pragma once
// Internal to core/data/torch_*.cpp: the storages and tensors a torch.save pickle refers to.
// TorchLoader's hooks turn persistent ids into storage handles and _rebuild_tensor* calls into
// tensor values; materialise() then fills every tensor from its storage's bytes.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/io/torch_pickle.h"

namespace trellis::pickle_detail {

struct TorchStorage {
  std::string dtype;  // SafeTensor dtype code
  size_t elem = 0;    // bytes per element
  int64_t declared = -1;  // the element count its persistent id claims (-1: none)
  std::vector<uint8_t> bytes;
  bool loaded = false;
};

class TorchLoader {
 public:
  static constexpr uint64_t kMaxExpandedBytes = uint64_t(1) << 30;

  explicit TorchLoader(const std::string& path) : path_(path) {}

  PickleHooks hooks(const std::vector<std::string>& extra_globals = {});
  TorchStorage* storage(const std::string& key);  // nullptr when no tensor refers to it
  // Fills every tensor in C order; read(key, storage) fills storage.bytes the first time a
  // tensor needs it. A storage is freed (or moved into its tensor) after its last use.
  // Before a tensor's data is allocated, its size, stride and offset are checked against its
  // storage's bytes; a view repeating elements (stride 0) may not exceed kMaxExpandedBytes.
  // -> each tensor value's SafeTensor: dtype code, shape, C-contiguous little-endian bytes
  void materialise(const std::function<void(const std::string&, TorchStorage&)>& read,
                   bool big_endian);

 private:
  struct Pending {  // a tensor whose data waits for its storage
    PickleRef node;
    std::string key;
    int64_t offset;
    std::vector<int64_t> size, stride;
  };
  PickleRef persistent_load(const PickleRef& pid);
  PickleRef call(const std::string& g, const PickleRef& args);
  PickleRef rebuild(const std::vector<PickleRef>& a);
  std::vector<int64_t> ints(const PickleValue& v, const char* what) const;
  static void strided_copy(const uint8_t* from, size_t e, const Pending& p, uint64_t numel,
                           uint8_t* to);

  std::string path_;
  std::map<std::string, TorchStorage> storages_;
  std::vector<Pending> pending_;
};

// A storage key or dict key as text: a str as is, an int in decimal.
std::string key_text(const PickleValue& k);

}  // namespace trellis::pickle_detail
