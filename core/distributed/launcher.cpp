#include "core/distributed/launcher.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <thread>

#include "core/error.h"
#include "core/logging.h"

namespace trellis {
namespace {

const log::Logger logger("trellis.launcher");

std::atomic<int> g_forward_signal{0};

extern "C" void remember_signal(int sig) { g_forward_signal.store(sig); }

// A TCP port that was free a moment ago (bind to port 0 and read what the kernel chose).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  TRELLIS_CHECK(fd >= 0, Error, "cannot open a socket: {}", std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  TRELLIS_CHECK(ok, Error, "cannot find a free port for the rendezvous: {}", std::strerror(errno));
  return ntohs(addr.sin_port);
}

std::string describe(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with code {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return fmt::format("was killed by signal {} ({})", WTERMSIG(status),
                       strsignal(WTERMSIG(status)));
  return "stopped";
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

int spawn_workers(const std::vector<std::string>& argv, int64_t world_size, int64_t threads) {
  const int port = free_port();
  const long cores = std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN));
  const bool share_cores = threads == 0 && std::getenv("OMP_NUM_THREADS") == nullptr;
  const long per_worker = std::max(1L, cores / static_cast<long>(world_size));
  logger.info("starting {} workers on this machine (rendezvous 127.0.0.1:{}{})", world_size, port,
              share_cores ? fmt::format(", {} threads each", per_worker) : "");

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::signal(SIGINT, remember_signal);
  std::signal(SIGTERM, remember_signal);

  std::vector<pid_t> pids;
  for (int64_t rank = 0; rank < world_size; ++rank) {
    const pid_t pid = ::fork();
    TRELLIS_CHECK(pid >= 0, Error, "cannot start worker {}: {}", rank, std::strerror(errno));
    if (pid == 0) {
      std::signal(SIGINT, SIG_DFL);
      std::signal(SIGTERM, SIG_DFL);
      setenv("RANK", std::to_string(rank).c_str(), 1);
      setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
      setenv("WORLD_SIZE", std::to_string(world_size).c_str(), 1);
      setenv("MASTER_ADDR", "127.0.0.1", 1);
      setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      if (share_cores) setenv("OMP_NUM_THREADS", std::to_string(per_worker).c_str(), 1);
      ::execv("/proc/self/exe", args.data());
      std::fprintf(stderr, "worker %ld: exec failed: %s\n", static_cast<long>(rank),
                   std::strerror(errno));
      ::_exit(127);
    }
    pids.push_back(pid);
  }

  std::vector<bool> running(pids.size(), true);
  size_t alive = pids.size();
  int result = 0, forwarded = 0;
  bool failed = false;
  std::chrono::steady_clock::time_point kill_at{};
  const auto grace = std::chrono::seconds(30);
  while (alive > 0) {
    if (const int sig = g_forward_signal.exchange(0)) {
      forwarded = sig;
      logger.info("signal {}: passing it to the workers (they stop after the current update)",
                  sig);
      for (size_t i = 0; i < pids.size(); ++i)
        if (running[i]) ::kill(pids[i], sig);
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (size_t i = 0; i < pids.size(); ++i) {
        if (pids[i] != pid || !running[i]) continue;
        running[i] = false;
        --alive;
        const int code = exit_code(status);
        if (code != 0 && !failed) {
          failed = true;
          result = code;
          if (alive > 0 && forwarded == 0) {
            logger.error("worker rank {} (pid {}) {}; stopping the other workers", i, pid,
                         describe(status));
            for (size_t j = 0; j < pids.size(); ++j)
              if (running[j]) {
                ::kill(pids[j], SIGTERM);
                ::kill(pids[j], SIGCONT);  // a stopped (SIGSTOP) worker gets it now, not later
              }
            kill_at = std::chrono::steady_clock::now() + grace;
          } else if (forwarded == 0) {
            logger.error("worker rank {} (pid {}) {}", i, pid, describe(status));
          }
        }
      }
      continue;
    }
    if (failed && std::chrono::steady_clock::now() > kill_at) {
      for (size_t j = 0; j < pids.size(); ++j)
        if (running[j]) ::kill(pids[j], SIGKILL);
      kill_at = std::chrono::steady_clock::now() + grace;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  return result;
}

}  // namespace trellis
