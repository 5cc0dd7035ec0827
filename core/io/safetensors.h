#pragma once
// A LibTorch-free reader for the safetensors format: an 8-byte little-endian header length, a
// JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}, then raw
// little-endian C-contiguous data. Used for golden fixtures and Hugging Face weights.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace trellis {

struct SafeTensor {
  std::string dtype;           // "F32", "F64", "I64", "F16", "BF16", "BOOL", ...
  std::vector<int64_t> shape;  // [] for scalars
  std::vector<uint8_t> data;   // raw bytes

  int64_t numel() const;
  // Values converted to double / int64 (from any float or integer dtype).
  std::vector<double> to_double() const;
  std::vector<int64_t> to_int64() const;
  std::vector<float> to_float() const;
};

class SafeTensorsFile {
 public:
  // Reads the whole file; throws DataError naming the file on any malformed part. Untrusted
  // input: the header length (at most 100 MB and within the file), each dtype, shape and
  // data_offsets (within the data, matching dtype x shape, no two tensors overlapping) are
  // checked before the tensor's bytes are allocated.
  explicit SafeTensorsFile(const std::string& path);

  bool contains(const std::string& name) const { return tensors_.count(name) > 0; }
  const SafeTensor& get(const std::string& name) const;  // throws DataError when missing
  std::vector<std::string> names() const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // A metadata value ("" when absent); most values are JSON text.
  std::string meta(const std::string& key) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::map<std::string, SafeTensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace trellis
