#include "core/io/npy.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <map>

#include "core/error.h"
#include "core/io/half.h"

namespace trellis {
namespace {

template <class T>
void convert(const uint8_t* p, size_t n, float* out) {
  for (size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, p + i * sizeof(T), sizeof(T));
    out[i] = static_cast<float>(v);
  }
}

// The value of `key` in the header dict, as raw text up to the next top-level ',' or '}'.
std::string dict_value(const std::string& header, const std::string& key,
                       const std::string& where) {
  size_t k = header.find("'" + key + "'");
  if (k == std::string::npos) k = header.find("\"" + key + "\"");
  if (k == std::string::npos) {
    throw DataError(fmt::format("{}: .npy header has no '{}': {}", where, key, header));
  }
  size_t colon = header.find(':', k + key.size() + 2);
  if (colon == std::string::npos) throw DataError(fmt::format("{}: bad .npy header", where));
  size_t i = colon + 1;
  while (i < header.size() && header[i] == ' ') ++i;
  size_t start = i;
  int depth = 0;
  for (; i < header.size(); ++i) {
    char c = header[i];
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
    if (depth < 0) break;
  }
  std::string v = header.substr(start, i - start);
  while (!v.empty() && v.back() == ' ') v.pop_back();
  return v;
}

std::vector<int64_t> parse_shape(const std::string& text, const std::string& where) {
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') {
    throw DataError(fmt::format("{}: bad .npy shape '{}'", where, text));
  }
  std::vector<int64_t> shape;
  std::string cur;
  for (size_t i = 1; i + 1 <= text.size(); ++i) {
    char c = i + 1 == text.size() ? ',' : text[i];
    if (c == ',') {
      size_t a = cur.find_first_not_of(' '), b = cur.find_last_not_of(' ');
      if (a != std::string::npos) {
        std::string num = cur.substr(a, b - a + 1);
        if (!num.empty() && num.back() == 'L') num.pop_back();
        try {
          size_t used = 0;
          long long v = std::stoll(num, &used);
          if (used != num.size() || v < 0) throw std::invalid_argument(num);
          shape.push_back(v);
        } catch (const std::exception&) {
          throw DataError(fmt::format("{}: bad .npy shape '{}'", where, text));
        }
      }
      cur.clear();
    } else {
      cur += c;
    }
  }
  return shape;
}

}  // namespace

NpyArray decode_npy(const uint8_t* data, size_t size, const std::string& where) {
  static const char kMagic[] = "\x93NUMPY";
  if (size < 10 || std::memcmp(data, kMagic, 6) != 0) {
    throw DataError(fmt::format("{}: not a .npy file (bad magic)", where));
  }
  int major = data[6];
  size_t header_len, header_start;
  if (major == 1) {
    header_len = data[8] | (size_t(data[9]) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) throw DataError(fmt::format("{}: truncated .npy header", where));
    header_len =
        data[8] | (size_t(data[9]) << 8) | (size_t(data[10]) << 16) | (size_t(data[11]) << 24);
    header_start = 12;
  } else {
    throw DataError(fmt::format("{}: unsupported .npy version {}.{}", where, major, data[7]));
  }
  if (header_start + header_len > size) {
    throw DataError(fmt::format("{}: truncated .npy header", where));
  }
  std::string header(reinterpret_cast<const char*>(data + header_start), header_len);
  std::string descr = dict_value(header, "descr", where);
  std::string fortran = dict_value(header, "fortran_order", where);
  std::vector<int64_t> shape = parse_shape(dict_value(header, "shape", where), where);
  if (fortran != "False") {
    throw DataError(fmt::format(
        "{}: Fortran-order .npy arrays are not supported (fortran_order={})", where, fortran));
  }
  if (descr.size() < 5 || (descr.front() != '\'' && descr.front() != '"')) {
    throw DataError(fmt::format("{}: unsupported .npy dtype {}", where, descr));
  }
  std::string d = descr.substr(1, descr.size() - 2);  // e.g. <f4
  char order = d[0];
  std::string kind = d.substr(1);
  bool one_byte = kind == "i1" || kind == "u1" || kind == "b1";
  if (order != '<' && order != '|' && !(order == '>' && one_byte)) {
    throw DataError(
        fmt::format("{}: unsupported .npy dtype '{}' (big-endian or unknown)", where, d));
  }
  static const std::map<std::string, size_t> kItem = {
      {"f2", 2}, {"f4", 4}, {"f8", 8}, {"i1", 1}, {"u1", 1}, {"b1", 1}, {"i2", 2},
      {"u2", 2}, {"i4", 4}, {"u4", 4}, {"i8", 8}, {"u8", 8}};
  auto item = kItem.find(kind);
  if (item == kItem.end()) {
    throw DataError(fmt::format("{}: unsupported .npy dtype '{}'", where, d));
  }
  // The shape is checked against the bytes present before anything is allocated.
  const size_t offset = header_start + header_len;
  size_t n = 1, bytes = 0;
  bool overflow = false;
  for (int64_t s : shape) overflow |= __builtin_mul_overflow(n, size_t(s), &n);
  overflow |= __builtin_mul_overflow(n, item->second, &bytes);
  if (overflow || bytes > size - offset) {
    throw DataError(fmt::format("{}: truncated .npy data ({} bytes for shape ({}), need {})",
                                where, size - offset, fmt::join(shape, ", "),
                                overflow ? std::string("more than 2^64") : std::to_string(bytes)));
  }
  NpyArray out;
  out.shape = shape;
  out.data.resize(n);
  const uint8_t* p = data + offset;
  float* o = out.data.data();
  if (kind == "f4") {
    convert<float>(p, n, o);
  } else if (kind == "f8") {
    convert<double>(p, n, o);
  } else if (kind == "f2") {
    for (size_t i = 0; i < n; ++i) o[i] = half_to_float(uint16_t(p[2 * i] | (p[2 * i + 1] << 8)));
  } else if (kind == "i1") {
    convert<int8_t>(p, n, o);
  } else if (kind == "u1" || kind == "b1") {
    convert<uint8_t>(p, n, o);
  } else if (kind == "i2") {
    convert<int16_t>(p, n, o);
  } else if (kind == "u2") {
    convert<uint16_t>(p, n, o);
  } else if (kind == "i4") {
    convert<int32_t>(p, n, o);
  } else if (kind == "u4") {
    convert<uint32_t>(p, n, o);
  } else if (kind == "i8") {
    convert<int64_t>(p, n, o);
  } else if (kind == "u8") {
    convert<uint64_t>(p, n, o);
  } else {
    throw DataError(fmt::format("{}: unsupported .npy dtype '{}'", where, d));
  }
  return out;
}

NpyArray read_npy_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(fmt::format("{}: cannot open .npy file", path));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  return decode_npy(bytes.data(), bytes.size(), path);
}

std::vector<uint8_t> encode_npy_f32(const float* data, const std::vector<int64_t>& shape) {
  std::string dims;
  size_t n = 1;
  for (int64_t s : shape) {
    dims += std::to_string(s) + ", ";
    n *= size_t(s);
  }
  if (shape.size() > 1) dims.resize(dims.size() - 2);  // (3, 4); a 1-D shape keeps "(3,)"
  if (shape.size() == 1) dims.resize(dims.size() - 1);
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Pad with spaces so that magic + version + length + header + '\n' is a multiple of 64.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::vector<uint8_t> out(10 + header.size() + n * 4);
  std::memcpy(out.data(), "\x93NUMPY\x01\x00", 8);
  out[8] = uint8_t(header.size() & 0xff);
  out[9] = uint8_t(header.size() >> 8);
  std::memcpy(out.data() + 10, header.data(), header.size());
  if (n) std::memcpy(out.data() + 10 + header.size(), data, n * 4);
  return out;
}

}  // namespace trellis
