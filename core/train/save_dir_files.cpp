#include "core/train/save_dir_files.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace trellis {

namespace fs = std::filesystem;

void write_text_atomically(const std::string& path, const std::string& text) {
  const fs::path target(path);
  const fs::path tmp =
      target.parent_path() / (".tmp." + target.filename().string() + "." +
                              std::to_string(::getpid()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    TRELLIS_CHECK(out.good(), Error, "cannot write {}: {}", tmp.string(), std::strerror(errno));
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error(fmt::format("cannot write {}: {}", path, ec.message()));
  }
}

size_t open_whole_lines_for_append(const std::string& path, std::ofstream* out) {
  size_t cut = 0;
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (!ec && size > 0) {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t keep = bytes.find_last_of('\n') == std::string::npos
                            ? 0
                            : bytes.find_last_of('\n') + 1;
    if (keep < bytes.size()) {
      cut = bytes.size() - keep;
      fs::resize_file(path, keep, ec);
      TRELLIS_CHECK(!ec, Error, "cannot cut the unfinished last line of {}: {}", path,
                    ec.message());
    }
  }
  out->open(path, std::ios::app);
  TRELLIS_CHECK(out->is_open(), Error, "cannot open {} for appending: {}", path,
                std::strerror(errno));
  return cut;
}

}  // namespace trellis
