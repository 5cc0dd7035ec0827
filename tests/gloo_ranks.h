#pragma once
// Two ranks of c10d/Gloo on loopback as two threads of the test process, each with its own
// Communicator: run_two_ranks(body) connects them on a free port (60 s timeout), runs
// body(rank, comm) on both, ends with a barrier, and returns each rank's error message ("" when
// it finished). Used by the GradReducer and SyncBatchNorm tests.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "core/distributed/communicator.h"

namespace trellis::testing {

// A TCP port on 127.0.0.1 that was free a moment ago.
inline int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

inline std::array<std::string, 2> run_two_ranks(
    const std::function<void(int rank, Communicator& comm)>& body) {
  const int port = free_loopback_port();
  std::array<std::string, 2> errors;
  auto rank_main = [&](int r) {
    try {
      DistributedSetup s;
      s.rank = r;
      s.world_size = 2;
      s.port = port;
      s.timeout = std::chrono::seconds(60);
      s.source = "test";
      auto comm = Communicator::connect(s);
      body(r, *comm);
      comm->barrier("test end");
    } catch (const std::exception& e) {
      errors[r] = e.what();
    }
  };
  std::thread t0(rank_main, 0), t1(rank_main, 1);
  t0.join();
  t1.join();
  return errors;
}

}  // namespace trellis::testing
