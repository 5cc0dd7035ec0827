#pragma once
// Which worker hangs (docs/reliability.md, "A worker that hangs"): each rank publishes a
// heartbeat (the wall-clock time, every --distributed-timeout / 10, between 0.1 and 10 s) to the
// rendezvous store from a thread of its own, over its own connection. A stopped (SIGSTOP),
// frozen or vanished process stops beating, while a rank that merely waits in a collective goes
// on; so when a collective times out, the ranks whose heartbeat is stale are the ones to blame.
// The clocks of the hosts are assumed to agree within a second (NTP).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace trellis {

class Heartbeat {
 public:
  Heartbeat(const std::string& host, int port, int64_t rank, int64_t world_size,
            std::chrono::milliseconds timeout);
  ~Heartbeat();
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

  // After a collective failed: the other ranks without a recent heartbeat, in words ("rank 1
  // has given no sign of life for 5.2 s: it is stopped (SIGSTOP), frozen or gone"), or what
  // could not be read; "" when every rank beats.
  std::string silent_ranks() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace trellis
