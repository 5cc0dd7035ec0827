#pragma once
// Tar archives through libarchive: NeMo's `.nemo` files (a tar, plain or gzip-compressed, of
// model_config.yaml, model_weights.ckpt and sometimes tokenizer files). Reading is one forward
// pass, so compressed archives need no seeking. LibTorch-free.
//
// Member names are normalised: a leading "./" (Python's tarfile with arcname ".") and leading
// "/" are removed, so "./model_config.yaml" is "model_config.yaml".

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

struct archive;

namespace trellis {

// "./a/b" -> "a/b", "/a" -> "a", "." -> ""
std::string normalise_tar_name(const std::string& name);

// One forward pass over the regular-file members of a tar archive in any format and any
// compression libarchive knows (plain, gzip, bzip2, xz, zstd).
class TarReader {
 public:
  // Opens the archive; DataError naming the file when it cannot be opened or is no archive.
  explicit TarReader(const std::string& path);
  ~TarReader();
  TarReader(const TarReader&) = delete;
  TarReader& operator=(const TarReader&) = delete;

  // Advances to the next regular file (directories, links are skipped); false at the end.
  // DataError naming the file on a malformed or truncated archive.
  bool next();
  const std::string& name() const { return name_; }  // normalised
  int64_t size() const { return size_; }             // bytes; -1 when the header has none
  // The current member's bytes (once per member); DataError naming file and member when its
  // data is truncated or corrupt, or longer than max_bytes (a compressed archive can expand a
  // few bytes into gigabytes: the limit is on the data read, not on the header's claim).
  std::string read_all(uint64_t max_bytes = kMaxReadAll);
  static constexpr uint64_t kMaxReadAll = uint64_t(1) << 30;
  // The same, streamed into the file `dest` (created or truncated).
  void read_to_file(const std::string& dest);
  const std::string& path() const { return path_; }

 private:
  template <class Sink>
  void read_data(Sink&& sink);

  std::string path_;
  struct archive* a_ = nullptr;
  std::string name_;
  int64_t size_ = -1;
  bool have_member_ = false;
};

// Names (normalised) of the regular-file members, in archive order.
std::vector<std::string> list_tar(const std::string& path);

enum class TarCompression { kNone, kGzip };

// Writes a POSIX (pax) tar of regular files, name -> bytes, in the order given; names are
// written as given ("./model_config.yaml" keeps NeMo's spelling). DataError naming the file.
void write_tar(const std::string& path,
               const std::vector<std::pair<std::string, std::string>>& members,
               TarCompression compression = TarCompression::kNone);

}  // namespace trellis
