// TarReader, list_tar, write_tar (core/io/tar_reader.h) on libarchive.

#include "core/io/tar_reader.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/error.h"

namespace trellis {
namespace {

std::string archive_message(struct archive* a) {
  const char* m = a ? archive_error_string(a) : nullptr;
  if (m) return m;
  const int err = a ? archive_errno(a) : 0;
  return err > 0 ? std::strerror(err) : "libarchive gave no reason";
}

}  // namespace

std::string normalise_tar_name(const std::string& name) {
  size_t i = 0;
  while (i < name.size()) {
    if (name[i] == '/') {
      ++i;
    } else if (name.compare(i, 2, "./") == 0) {
      i += 2;
    } else {
      break;
    }
  }
  std::string out = name.substr(i);
  if (out == ".") out.clear();
  return out;
}

TarReader::TarReader(const std::string& path) : path_(path), a_(archive_read_new()) {
  TRELLIS_CHECK(a_, DataError, "{}: cannot allocate a libarchive reader", path);
  archive_read_support_filter_all(a_);
  archive_read_support_format_tar(a_);
  archive_read_support_format_gnutar(a_);
  if (archive_read_open_filename(a_, path.c_str(), 1 << 16) != ARCHIVE_OK) {
    const std::string why = archive_message(a_);
    archive_read_free(a_);
    a_ = nullptr;
    throw DataError(fmt::format("{}: cannot open as a tar archive ({})", path, why));
  }
}

TarReader::~TarReader() {
  if (a_) archive_read_free(a_);
}

bool TarReader::next() {
  for (;;) {
    struct archive_entry* e = nullptr;
    const int r = archive_read_next_header(a_, &e);
    if (r == ARCHIVE_EOF) {
      have_member_ = false;
      return false;
    }
    TRELLIS_CHECK(r == ARCHIVE_OK || r == ARCHIVE_WARN, DataError,
                  "{}: malformed or truncated tar archive ({})", path_, archive_message(a_));
    if (archive_entry_filetype(e) != AE_IFREG) continue;
    const char* n = archive_entry_pathname(e);
    name_ = normalise_tar_name(n ? n : "");
    size_ = archive_entry_size_is_set(e) ? int64_t(archive_entry_size(e)) : -1;
    have_member_ = true;
    return true;
  }
}

template <class Sink>
void TarReader::read_data(Sink&& sink) {
  TRELLIS_CHECK(have_member_, DataError, "{}: no current tar member to read", path_);
  have_member_ = false;
  int64_t got = 0;
  for (;;) {
    const void* buf = nullptr;
    size_t n = 0;
    la_int64_t offset = 0;
    const int r = archive_read_data_block(a_, &buf, &n, &offset);
    if (r == ARCHIVE_EOF) break;
    TRELLIS_CHECK(r == ARCHIVE_OK || r == ARCHIVE_WARN, DataError,
                  "{}: member '{}': truncated or corrupt data ({})", path_, name_,
                  archive_message(a_));
    TRELLIS_CHECK(offset == got, DataError,
                  "{}: member '{}': sparse tar members are not supported", path_, name_);
    sink(static_cast<const char*>(buf), n);
    got += int64_t(n);
  }
  TRELLIS_CHECK(size_ < 0 || got == size_, DataError,
                "{}: member '{}': truncated data ({} of {} bytes)", path_, name_, got, size_);
}

std::string TarReader::read_all(uint64_t max_bytes) {
  std::string out;
  // The header's size is a claim: reserve at most 64 MiB up front, grow with the data read.
  if (size_ > 0) {
    out.reserve(size_t(std::min<uint64_t>({uint64_t(size_), max_bytes, uint64_t(64) << 20})));
  }
  read_data([&](const char* p, size_t n) {
    TRELLIS_CHECK(n <= max_bytes - out.size(), DataError,
                  "{}: member '{}' is larger than {} bytes; refused", path_, name_, max_bytes);
    out.append(p, n);
  });
  return out;
}

void TarReader::read_to_file(const std::string& dest) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(dest.c_str(), "wb"), &std::fclose);
  TRELLIS_CHECK(f, DataError, "{}: cannot write '{}' (member '{}')", path_, dest, name_);
  read_data([&](const char* p, size_t n) {
    TRELLIS_CHECK(std::fwrite(p, 1, n, f.get()) == n, DataError,
                  "{}: writing member '{}' to '{}' failed", path_, name_, dest);
  });
  TRELLIS_CHECK(std::fclose(f.release()) == 0, DataError, "{}: writing member '{}' to '{}' failed",
                path_, name_, dest);
}

std::vector<std::string> list_tar(const std::string& path) {
  TarReader r(path);
  std::vector<std::string> names;
  while (r.next()) names.push_back(r.name());
  return names;
}

void write_tar(const std::string& path,
               const std::vector<std::pair<std::string, std::string>>& members,
               TarCompression compression) {
  std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_write_new(),
                                                               &archive_write_free);
  TRELLIS_CHECK(a, DataError, "{}: cannot allocate a libarchive writer", path);
  auto ok = [&](int r, const char* what) {
    TRELLIS_CHECK(r == ARCHIVE_OK, DataError, "{}: {} failed ({})", path, what,
                  archive_message(a.get()));
  };
  ok(archive_write_set_format_pax_restricted(a.get()), "tar format");
  ok(compression == TarCompression::kGzip ? archive_write_add_filter_gzip(a.get())
                                          : archive_write_add_filter_none(a.get()),
     "compression filter");
  ok(archive_write_open_filename(a.get(), path.c_str()), "open");
  for (const auto& [name, bytes] : members) {
    std::unique_ptr<struct archive_entry, void (*)(struct archive_entry*)> e(archive_entry_new(),
                                                                             &archive_entry_free);
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_size(e.get(), la_int64_t(bytes.size()));
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    ok(archive_write_header(a.get(), e.get()), "writing a member header");
    TRELLIS_CHECK(archive_write_data(a.get(), bytes.data(), bytes.size()) ==
                      la_ssize_t(bytes.size()),
                  DataError, "{}: writing member '{}' failed ({})", path, name,
                  archive_message(a.get()));
  }
  ok(archive_write_close(a.get()), "close");
}

}  // namespace trellis
