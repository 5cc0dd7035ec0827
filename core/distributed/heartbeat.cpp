#include "core/distributed/heartbeat.h"

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "core/logging.h"

namespace trellis {

namespace {

using Ms = std::chrono::milliseconds;

int64_t now_ms() {
  return std::chrono::duration_cast<Ms>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string key_of(int64_t rank) { return "trellis/heartbeat/" + std::to_string(rank); }

}  // namespace

struct Heartbeat::State {
  int64_t rank = 0, world_size = 1;
  std::string where;  // host:port of the store, for messages
  Ms interval{1000};
  c10::intrusive_ptr<c10d::TCPStore> store;
  mutable std::mutex store_mutex;  // the store client is used by the thread and silent_ranks()
  std::mutex mutex;
  std::condition_variable wake;
  bool stop = false;
  std::thread thread;

  void beat() {
    const std::string text = std::to_string(now_ms());
    std::lock_guard<std::mutex> lock(store_mutex);
    store->set(key_of(rank), std::vector<uint8_t>(text.begin(), text.end()));
  }
};

Heartbeat::Heartbeat(const std::string& host, int port, int64_t rank, int64_t world_size,
                     Ms timeout)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.rank = rank;
  s.world_size = world_size;
  s.where = host + ":" + std::to_string(port);
  s.interval = std::clamp<Ms>(timeout / 10, Ms(100), Ms(10000));
  c10d::TCPStoreOptions opts;
  opts.port = static_cast<uint16_t>(port);
  opts.isServer = false;
  opts.waitWorkers = false;
  opts.timeout = std::max<Ms>(2 * s.interval, Ms(1000));  // a store that does not answer
  s.store = c10::make_intrusive<c10d::TCPStore>(host, opts);
  s.beat();
  s.thread = std::thread([&s] {
    std::unique_lock<std::mutex> lock(s.mutex);
    while (!s.wake.wait_for(lock, s.interval, [&s] { return s.stop; })) {
      lock.unlock();
      try {
        s.beat();
      } catch (const std::exception&) {  // the store is gone: the collectives will say so
      }
      lock.lock();
    }
  });
}

Heartbeat::~Heartbeat() {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->stop = true;
  }
  state_->wake.notify_all();
  state_->thread.join();
}

std::string Heartbeat::silent_ranks() const {
  const State& s = *state_;
  const Ms stale = 3 * s.interval + Ms(1000);
  std::string out;
  std::lock_guard<std::mutex> lock(s.store_mutex);
  for (int64_t r = 0; r < s.world_size; ++r) {
    if (r == s.rank) continue;
    try {
      const auto bytes = s.store->get(key_of(r));
      const int64_t age = now_ms() - std::stoll(std::string(bytes.begin(), bytes.end()));
      if (Ms(age) > stale)
        out += fmt::format("{}rank {} has given no sign of life for {:.1f} s: it is stopped "
                           "(SIGSTOP), frozen or gone",
                           out.empty() ? "" : "; ", r, static_cast<double>(age) / 1000.0);
    } catch (const std::exception&) {
      return fmt::format("the rendezvous store at {} (served by rank 0) does not answer: rank 0 "
                         "is stopped (SIGSTOP), frozen or gone",
                         s.where);
    }
  }
  return out;
}

}  // namespace trellis
