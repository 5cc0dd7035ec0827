#include "core/io/zip_archive.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>

#include "core/error.h"

namespace trellis {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEocdSig = 0x06054b50;
constexpr uint32_t kZip64EocdSig = 0x06064b50, kZip64LocatorSig = 0x07064b50;
constexpr uint64_t kMax32 = 0xffffffffull;

uint64_t le(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void put(std::vector<uint8_t>& b, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) b.push_back(uint8_t(v >> (8 * i)));
}

std::vector<uint8_t> read_at(std::ifstream& in, uint64_t offset, uint64_t n, uint64_t file_size,
                             const std::string& path) {
  if (offset > file_size || n > file_size - offset) {
    throw DataError(fmt::format("{}: truncated zip archive (need bytes {}..{}, file has {})", path,
                                offset, offset + n, file_size));
  }
  std::vector<uint8_t> b(n);
  in.seekg(std::streamoff(offset));
  in.read(reinterpret_cast<char*>(b.data()), std::streamsize(n));
  if (!in) throw DataError(fmt::format("{}: read error at byte {}", path, offset));
  return b;
}

const std::array<uint32_t, 256>& crc_table() {
  static const std::array<uint32_t, 256> t = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return t;
}

}  // namespace

uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc) {
  const auto& t = crc_table();
  crc = ~crc;
  for (size_t i = 0; i < size; ++i) crc = t[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

std::vector<ZipEntry> list_zip(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw DataError(fmt::format("{}: cannot open zip archive", path));
  const uint64_t file_size = uint64_t(in.tellg());
  // End of central directory: the last 22..65557 bytes.
  uint64_t tail_n = std::min<uint64_t>(file_size, 22 + 65535);
  std::vector<uint8_t> tail = read_at(in, file_size - tail_n, tail_n, file_size, path);
  int64_t eocd = -1;
  for (int64_t i = int64_t(tail_n) - 22; i >= 0; --i) {
    if (le(&tail[i], 4) == kEocdSig) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0)
    throw DataError(fmt::format("{}: not a zip archive (no end of central directory)", path));
  const uint8_t* e = &tail[eocd];
  uint64_t count = le(e + 10, 2), cd_size = le(e + 12, 4), cd_offset = le(e + 16, 4);
  uint64_t eocd_pos = file_size - tail_n + uint64_t(eocd);
  if (eocd_pos >= 20) {
    auto loc = read_at(in, eocd_pos - 20, 20, file_size, path);
    if (le(loc.data(), 4) == kZip64LocatorSig) {
      auto z = read_at(in, le(loc.data() + 8, 8), 56, file_size, path);
      if (le(z.data(), 4) != kZip64EocdSig) {
        throw DataError(fmt::format("{}: bad ZIP64 end of central directory", path));
      }
      count = le(z.data() + 32, 8), cd_size = le(z.data() + 40, 8),
      cd_offset = le(z.data() + 48, 8);
    }
  }
  std::vector<uint8_t> cd = read_at(in, cd_offset, cd_size, file_size, path);
  std::vector<ZipEntry> out;
  out.reserve(std::min<uint64_t>(count, cd_size / 46));  // 46 bytes per record at least
  size_t p = 0;
  for (uint64_t k = 0; k < count; ++k) {
    if (p + 46 > cd.size() || le(&cd[p], 4) != kCentralSig) {
      throw DataError(fmt::format("{}: corrupt central directory (entry {})", path, k));
    }
    const uint8_t* c = &cd[p];
    uint64_t method = le(c + 10, 2), csize = le(c + 20, 4), usize = le(c + 24, 4);
    uint64_t name_n = le(c + 28, 2), extra_n = le(c + 30, 2), comment_n = le(c + 32, 2);
    uint64_t header_offset = le(c + 42, 4);
    if (p + 46 + name_n + extra_n + comment_n > cd.size()) {
      throw DataError(fmt::format("{}: corrupt central directory (entry {})", path, k));
    }
    std::string name(reinterpret_cast<const char*>(c + 46), name_n);
    // ZIP64 extra field (id 1): the 0xffffffff fields, in the order usize, csize, offset.
    for (size_t x = 0; x + 4 <= extra_n;) {
      const uint8_t* f = c + 46 + name_n + x;
      uint64_t id = le(f, 2), n = le(f + 2, 2);
      if (x + 4 + n > extra_n) {
        throw DataError(fmt::format("{}: corrupt extra field in the central directory (entry {})",
                                    path, k));
      }
      if (id == 1) {
        size_t q = 4;
        if (usize == kMax32 && q + 8 <= n + 4) usize = le(f + q, 8), q += 8;
        if (csize == kMax32 && q + 8 <= n + 4) csize = le(f + q, 8), q += 8;
        if (header_offset == kMax32 && q + 8 <= n + 4) header_offset = le(f + q, 8), q += 8;
      }
      x += 4 + n;
    }
    p += 46 + name_n + extra_n + comment_n;
    if (!name.empty() && name.back() == '/') continue;  // directory
    if (method != 0) {
      throw DataError(fmt::format(
          "{}: entry '{}' is compressed (method {}); fairseq-style zips must be ZIP_STORED "
          "(uncompressed) so that entries can be read by byte offset",
          path, name, method));
    }
    auto local = read_at(in, header_offset, 30, file_size, path);
    if (le(local.data(), 4) != kLocalSig) {
      throw DataError(fmt::format("{}: bad local header for entry '{}'", path, name));
    }
    uint64_t data_offset = header_offset + 30 + le(&local[26], 2) + le(&local[28], 2);
    if (data_offset > file_size || csize > file_size - data_offset) {
      throw DataError(fmt::format("{}: entry '{}' ({} bytes at byte {}) runs past the end of the "
                                  "file ({} bytes)",
                                  path, name, csize, data_offset, file_size));
    }
    if (usize != csize) {
      throw DataError(fmt::format("{}: stored entry '{}' claims {} bytes but holds {}", path, name,
                                  usize, csize));
    }
    out.push_back({name, data_offset, usize});
  }
  return out;
}

std::vector<uint8_t> read_byte_range(const std::string& path, uint64_t offset, uint64_t length) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw DataError(fmt::format("{}: cannot open file", path));
  const uint64_t file_size = uint64_t(in.tellg());
  if (offset > file_size || length > file_size - offset) {
    throw DataError(fmt::format("{}:{}:{}: byte range outside the file ({} bytes)", path, offset,
                                length, file_size));
  }
  return read_at(in, offset, length, file_size, path);
}

std::map<std::string, NpyArray> read_npz(const std::string& path) {
  std::map<std::string, NpyArray> out;
  for (const ZipEntry& e : list_zip(path)) {
    std::string key = e.name;
    if (key.size() > 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
    auto bytes = read_byte_range(path, e.offset, e.size);
    out[key] = decode_npy(bytes.data(), bytes.size(), path + ":" + e.name);
  }
  return out;
}

ZipWriter::ZipWriter(const std::string& path) : path_(path) {
  file_ = std::fopen(path.c_str(), "wb");
  if (!file_) throw DataError(fmt::format("{}: cannot create zip archive", path));
}

ZipWriter::~ZipWriter() {
  try {
    close();
  } catch (...) {
  }
}

void ZipWriter::write(const void* p, size_t n) {
  if (n && std::fwrite(p, 1, n, file_) != n) {
    throw DataError(fmt::format("{}: write error at byte {}", path_, pos_));
  }
  pos_ += n;
}

ZipEntry ZipWriter::add(const std::string& name, const std::vector<uint8_t>& bytes) {
  return add(name, bytes.data(), bytes.size());
}

ZipEntry ZipWriter::add(const std::string& name, const uint8_t* data, size_t size) {
  TRELLIS_CHECK(file_, DataError, "{}: zip archive already closed", path_);
  TRELLIS_CHECK(uint64_t(size) < kMax32, DataError, "{}: entry '{}' is larger than 4 GiB", path_,
                name);
  TRELLIS_CHECK(name.size() < 0xffff, DataError, "{}: entry name too long", path_);
  Record r{name, crc32(data, size), size, pos_};
  std::vector<uint8_t> h;
  put(h, kLocalSig, 4);
  put(h, 20, 2);    // version needed
  put(h, 0, 2);     // flags
  put(h, 0, 2);     // method: stored
  put(h, 0, 2);     // time
  put(h, 0x21, 2);  // date: 1980-01-01
  put(h, r.crc, 4);
  put(h, size, 4);
  put(h, size, 4);
  put(h, name.size(), 2);
  put(h, 0, 2);  // no extra field: data at header + 30 + len(name)
  h.insert(h.end(), name.begin(), name.end());
  write(h.data(), h.size());
  ZipEntry e{name, pos_, size};
  write(data, size);
  records_.push_back(r);
  return e;
}

void ZipWriter::close() {
  if (!file_) return;
  const uint64_t cd_offset = pos_;
  for (const Record& r : records_) {
    bool big = r.header_offset >= kMax32;
    std::vector<uint8_t> h;
    put(h, kCentralSig, 4);
    put(h, big ? 45 : 20, 2);  // version made by
    put(h, big ? 45 : 20, 2);  // version needed
    put(h, 0, 2);
    put(h, 0, 2);
    put(h, 0, 2);
    put(h, 0x21, 2);
    put(h, r.crc, 4);
    put(h, r.size, 4);
    put(h, r.size, 4);
    put(h, r.name.size(), 2);
    put(h, big ? 12 : 0, 2);  // extra length
    put(h, 0, 2);             // comment
    put(h, 0, 2);             // disk
    put(h, 0, 2);             // internal attributes
    put(h, 0, 4);             // external attributes
    put(h, big ? kMax32 : r.header_offset, 4);
    h.insert(h.end(), r.name.begin(), r.name.end());
    if (big) {
      put(h, 1, 2);
      put(h, 8, 2);
      put(h, r.header_offset, 8);
    }
    write(h.data(), h.size());
  }
  const uint64_t cd_size = pos_ - cd_offset, n = records_.size();
  std::vector<uint8_t> t;
  if (n >= 0xffff || cd_offset >= kMax32 || cd_size >= kMax32) {
    const uint64_t z_offset = pos_;
    put(t, kZip64EocdSig, 4);
    put(t, 44, 8);
    put(t, 45, 2);
    put(t, 45, 2);
    put(t, 0, 4);
    put(t, 0, 4);
    put(t, n, 8);
    put(t, n, 8);
    put(t, cd_size, 8);
    put(t, cd_offset, 8);
    put(t, kZip64LocatorSig, 4);
    put(t, 0, 4);
    put(t, z_offset, 8);
    put(t, 1, 4);
  }
  put(t, kEocdSig, 4);
  put(t, 0, 4);
  put(t, std::min<uint64_t>(n, 0xffff), 2);
  put(t, std::min<uint64_t>(n, 0xffff), 2);
  put(t, std::min<uint64_t>(cd_size, kMax32), 4);
  put(t, std::min<uint64_t>(cd_offset, kMax32), 4);
  put(t, 0, 2);
  write(t.data(), t.size());
  int rc = std::fclose(file_);
  file_ = nullptr;
  TRELLIS_CHECK(rc == 0, DataError, "{}: error closing zip archive", path_);
}

}  // namespace trellis
