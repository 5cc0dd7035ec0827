#pragma once
// One training run per --save-dir (docs/training.md, "One run per save dir"): rank 0 holds an
// advisory flock(2) on SAVE_DIR/.trellis_lock for as long as the run lives. A second `train` on
// the same folder stops at once with an error naming the folder and the process that holds it.
// The kernel drops the lock when its holder exits, however it exits (kill -9 included), so a
// stale lock file never blocks a relaunch.

#include <string>
#include <vector>

namespace trellis {

class SaveDirLock {
 public:
  // Creates save_dir if needed and takes the lock; Error when another process holds it.
  explicit SaveDirLock(const std::string& save_dir);
  ~SaveDirLock();

  // Removes the temporary files (".tmp.NAME.PID", core/checkpoint.cpp's atomic writer) that a
  // process killed mid-write left behind; safe only while the lock is held, since no other run
  // writes here then. Returns their names.
  std::vector<std::string> remove_stale_temporaries() const;
  SaveDirLock(const SaveDirLock&) = delete;
  SaveDirLock& operator=(const SaveDirLock&) = delete;

 private:
  std::string save_dir_;
  int fd_ = -1;
};

}  // namespace trellis
