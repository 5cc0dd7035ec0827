#include "core/train/save_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "core/error.h"
#include "core/strings.h"

namespace trellis {

namespace fs = std::filesystem;

namespace {

// "pid 123 on host h" from the lock file's text, or "an unknown process".
std::string describe_holder(int fd) {
  char buf[256] = {0};
  const ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  const std::string text = n > 0 ? trim(std::string(buf, static_cast<size_t>(n))) : "";
  return text.empty() ? "an unknown process" : text;
}

}  // namespace

SaveDirLock::SaveDirLock(const std::string& save_dir) : save_dir_(save_dir) {
  fs::create_directories(save_dir);
  const std::string path = (fs::path(save_dir) / ".trellis_lock").string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  TRELLIS_CHECK(fd_ >= 0, Error, "cannot open the lock file {}: {}", path, std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    const std::string holder = describe_holder(fd_);
    ::close(fd_);
    fd_ = -1;
    TRELLIS_CHECK(err != EWOULDBLOCK, Error,
                  "--save-dir {} is in use by another training run ({}): stop that run or "
                  "choose another --save-dir",
                  save_dir, holder);
    throw Error(fmt::format("cannot lock {}: {}", path, std::strerror(err)));
  }
  char host[256] = {0};
  ::gethostname(host, sizeof(host) - 1);
  const std::string text = fmt::format("pid {} on host {}\n", ::getpid(), host);
  if (::ftruncate(fd_, 0) == 0) {
    [[maybe_unused]] const ssize_t w = ::pwrite(fd_, text.data(), text.size(), 0);
  }
}

std::vector<std::string> SaveDirLock::remove_stale_temporaries() const {
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(save_dir_, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(".tmp.", 0) != 0 || !e.is_regular_file(ec)) continue;
    if (fs::remove(e.path(), ec)) removed.push_back(name);
  }
  return removed;
}

SaveDirLock::~SaveDirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
}

}  // namespace trellis
