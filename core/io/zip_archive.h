#pragma once
// Uncompressed (ZIP_STORED) zip archives, the container of fairseq's `fbank80.zip` and of
// NumPy's `.npz`. Entries are addressed the fairseq way, `archive.zip:OFFSET:LENGTH`, where
// OFFSET is the byte offset of the entry's data (past its local header) in the zip file.
// ZIP64 archives (more than 65535 entries or larger than 4 GiB) are read and written.

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "core/io/npy.h"

namespace trellis {

struct ZipEntry {
  std::string name;
  uint64_t offset = 0;  // byte offset of the entry's data in the zip file
  uint64_t size = 0;    // bytes of data (stored, so compressed == uncompressed)
};

// Every file entry of a stored zip, in central-directory order (directories skipped).
// A compressed entry throws DataError (fairseq needs ZIP_STORED); so does a malformed archive.
std::vector<ZipEntry> list_zip(const std::string& path);

// `length` bytes at `offset` of `path`; DataError naming the file when the range lies outside it.
std::vector<uint8_t> read_byte_range(const std::string& path, uint64_t offset, uint64_t length);

// The arrays of a stored `.npz` (np.savez), keyed by name without ".npy".
std::map<std::string, NpyArray> read_npz(const std::string& path);

// Writes a stored zip, readable by Python's zipfile and by list_zip. Local headers carry no
// extra field, so every entry's data starts at local_header_offset + 30 + len(name), the offset
// fairseq's prep scripts assume.
class ZipWriter {
 public:
  explicit ZipWriter(const std::string& path);
  ~ZipWriter();
  ZipWriter(const ZipWriter&) = delete;
  ZipWriter& operator=(const ZipWriter&) = delete;

  // Appends one entry; returns where its data lies in the archive.
  ZipEntry add(const std::string& name, const std::vector<uint8_t>& bytes);
  ZipEntry add(const std::string& name, const uint8_t* data, size_t size);
  // Writes the central directory and closes the file (called by the destructor if needed).
  void close();

 private:
  struct Record {
    std::string name;
    uint32_t crc;
    uint64_t size;
    uint64_t header_offset;
  };
  void write(const void* p, size_t n);

  std::string path_;
  std::FILE* file_ = nullptr;
  uint64_t pos_ = 0;
  std::vector<Record> records_;
};

uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc = 0);

}  // namespace trellis
