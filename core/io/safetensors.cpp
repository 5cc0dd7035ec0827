#include "core/io/safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "core/error.h"
#include "core/io/half.h"

namespace trellis {
namespace {

constexpr uint64_t kMaxHeader = 100 << 20;  // the format's own limit (100 MB)

size_t dtype_size(const std::string& d, const std::string& where) {
  if (d == "F64" || d == "I64" || d == "U64") return 8;
  if (d == "F32" || d == "I32" || d == "U32") return 4;
  if (d == "F16" || d == "BF16" || d == "I16" || d == "U16") return 2;
  if (d == "I8" || d == "U8" || d == "BOOL") return 1;
  throw DataError(fmt::format("{}: unsupported safetensors dtype '{}'", where, d));
}

template <class T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

double value_at(const SafeTensor& t, int64_t i) {
  const uint8_t* p = t.data.data();
  const std::string& d = t.dtype;
  if (d == "F64") return load<double>(p + 8 * i);
  if (d == "F32") return load<float>(p + 4 * i);
  if (d == "F16") return half_to_float(load<uint16_t>(p + 2 * i));
  if (d == "BF16") return bfloat16_to_float(load<uint16_t>(p + 2 * i));
  if (d == "I64") return double(load<int64_t>(p + 8 * i));
  if (d == "U64") return double(load<uint64_t>(p + 8 * i));
  if (d == "I32") return load<int32_t>(p + 4 * i);
  if (d == "U32") return load<uint32_t>(p + 4 * i);
  if (d == "I16") return load<int16_t>(p + 2 * i);
  if (d == "U16") return load<uint16_t>(p + 2 * i);
  if (d == "I8") return load<int8_t>(p + i);
  return load<uint8_t>(p + i);  // U8, BOOL
}

}  // namespace

int64_t SafeTensor::numel() const {
  int64_t n = 1;
  for (auto s : shape) n *= s;
  return n;
}

std::vector<double> SafeTensor::to_double() const {
  std::vector<double> out(numel());
  for (int64_t i = 0; i < numel(); ++i) out[i] = value_at(*this, i);
  return out;
}

std::vector<float> SafeTensor::to_float() const {
  std::vector<float> out(numel());
  for (int64_t i = 0; i < numel(); ++i) out[i] = static_cast<float>(value_at(*this, i));
  return out;
}

std::vector<int64_t> SafeTensor::to_int64() const {
  std::vector<int64_t> out(numel());
  for (int64_t i = 0; i < numel(); ++i) {
    out[i] = dtype == "I64" ? load<int64_t>(data.data() + 8 * i)
                            : static_cast<int64_t>(value_at(*this, i));
  }
  return out;
}

SafeTensorsFile::SafeTensorsFile(const std::string& path) : path_(path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(fmt::format("{}: cannot open safetensors file", path));
  uint64_t header_len = 0;
  in.read(reinterpret_cast<char*>(&header_len), 8);
  in.seekg(0, std::ios::end);
  const uint64_t file_size = static_cast<uint64_t>(in.tellg());
  if (file_size < 8 || header_len > file_size - 8 || header_len > kMaxHeader) {
    throw DataError(fmt::format(
        "{}: not a safetensors file (header length {} in a file of {} bytes; at most {})", path,
        header_len, file_size, std::min<uint64_t>(file_size < 8 ? 0 : file_size - 8, kMaxHeader)));
  }
  std::string header(header_len, '\0');
  in.seekg(8);
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(header);
  } catch (const std::exception& e) {
    throw DataError(fmt::format("{}: malformed safetensors header: {}", path, e.what()));
  }
  TRELLIS_CHECK(j.is_object(), DataError, "{}: safetensors header is not a JSON object", path);
  const uint64_t base = 8 + header_len, data_size = file_size - base;
  struct Range {
    uint64_t begin, end;
    std::string name;
  };
  std::vector<Range> ranges;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "__metadata__") {
      TRELLIS_CHECK(it.value().is_object(), DataError,
                    "{}: safetensors __metadata__ is not a JSON object", path);
      for (auto m = it.value().begin(); m != it.value().end(); ++m) {
        metadata_[m.key()] = m.value().is_string() ? m.value().get<std::string>() : m.value().dump();
      }
      continue;
    }
    const std::string where = fmt::format("{}: tensor '{}'", path, it.key());
    try {
      SafeTensor t;
      t.dtype = it.value().at("dtype").get<std::string>();
      const size_t esize = dtype_size(t.dtype, where);
      uint64_t bytes = esize;  // shape checked before anything is allocated
      TRELLIS_CHECK(it.value().at("shape").is_array(), DataError, "{}: shape is not a list",
                    where);
      for (const auto& d : it.value().at("shape")) {
        TRELLIS_CHECK(d.is_number_integer() && d.get<int64_t>() >= 0, DataError,
                      "{}: bad shape {}", where, it.value().at("shape").dump());
        t.shape.push_back(d.get<int64_t>());
        TRELLIS_CHECK(!__builtin_mul_overflow(bytes, uint64_t(t.shape.back()), &bytes), DataError,
                      "{}: shape {} overflows", where, it.value().at("shape").dump());
      }
      auto off = it.value().at("data_offsets").get<std::vector<uint64_t>>();
      TRELLIS_CHECK(off.size() == 2 && off[0] <= off[1], DataError,
                    "{}: data_offsets must be [begin, end]", where);
      TRELLIS_CHECK(off[1] <= data_size, DataError,
                    "{}: data_offsets [{}, {}] lie past the end of the data ({} bytes)", where,
                    off[0], off[1], data_size);
      TRELLIS_CHECK(off[1] - off[0] == bytes, DataError,
                    "{}: data offsets [{}, {}] do not match dtype {} and shape [{}] ({} bytes)",
                    where, off[0], off[1], t.dtype, fmt::join(t.shape, ", "), bytes);
      ranges.push_back({off[0], off[1], it.key()});
      t.data.resize(off[1] - off[0]);
      in.seekg(static_cast<std::streamoff>(base + off[0]));
      in.read(reinterpret_cast<char*>(t.data.data()), static_cast<std::streamsize>(t.data.size()));
      tensors_.emplace(it.key(), std::move(t));
    } catch (const nlohmann::json::exception& e) {
      throw DataError(fmt::format("{}: malformed entry: {}", where, e.what()));
    }
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.begin < b.begin; });
  for (size_t k = 1; k < ranges.size(); ++k) {
    TRELLIS_CHECK(ranges[k].begin >= ranges[k - 1].end, DataError,
                  "{}: tensors '{}' and '{}' overlap (bytes [{}, {}) and [{}, {}))", path,
                  ranges[k - 1].name, ranges[k].name, ranges[k - 1].begin, ranges[k - 1].end,
                  ranges[k].begin, ranges[k].end);
  }
  if (!in) throw DataError(fmt::format("{}: truncated safetensors file", path));
}

const SafeTensor& SafeTensorsFile::get(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    throw DataError(fmt::format("{}: no tensor named '{}'", path_, name));
  }
  return it->second;
}

std::vector<std::string> SafeTensorsFile::names() const {
  std::vector<std::string> out;
  for (const auto& [n, t] : tensors_) out.push_back(n);
  return out;
}

std::string SafeTensorsFile::meta(const std::string& key) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? "" : it->second;
}

}  // namespace trellis
