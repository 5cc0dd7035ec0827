#include "core/distributed/communicator.h"

#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO  // Debian's and the wheels' LibTorch are built with Gloo
#endif
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if defined(TRELLIS_WITH_NCCL)
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <torch/torch.h>

#include <atomic>
#include <cstdlib>

#include "core/distributed/heartbeat.h"
#include "core/error.h"
#include "core/logging.h"
#include "core/train_options.h"

namespace trellis {
namespace {

const log::Logger logger("trellis.distributed");

std::atomic<Communicator*> g_process_communicator{nullptr};

int64_t parse_int(const std::string& value, const std::string& what) {
  try {
    size_t used = 0;
    const int64_t v = std::stoll(value, &used);
    if (used == value.size()) return v;
  } catch (const std::logic_error&) {
  }
  throw ConfigError(fmt::format("{} must be an integer (got '{}')", what, value));
}

// tcp://HOST:PORT -> (HOST, PORT).
std::pair<std::string, int> parse_init_method(const std::string& url) {
  const std::string prefix = "tcp://";
  const auto colon = url.rfind(':');
  TRELLIS_CHECK(url.rfind(prefix, 0) == 0 && colon != std::string::npos && colon > prefix.size(),
                ConfigError,
                "--distributed-init-method {}: expected tcp://HOST:PORT (file:// and env:// are "
                "not supported; torchrun's environment needs no flag)",
                url);
  return {url.substr(prefix.size(), colon - prefix.size()),
          static_cast<int>(parse_int(url.substr(colon + 1), "the port of --distributed-init-method"))};
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

class C10dCommunicator : public Communicator {
 public:
  C10dCommunicator(DistributedSetup setup, c10::intrusive_ptr<c10d::Store> store,
                   c10::intrusive_ptr<c10d::ProcessGroup> group,
                   c10::intrusive_ptr<c10d::ProcessGroup> async_group)
      : Communicator(std::move(setup)),
        store_(std::move(store)),
        group_(std::move(group)),
        async_group_(std::move(async_group)) {}

  // After the start-up barrier: every rank's store key exists from then on.
  void start_heartbeat() {
    heartbeat_ = std::make_unique<Heartbeat>(
        setup_.master_addr, setup_.port, setup_.rank, setup_.world_size,
        std::chrono::duration_cast<std::chrono::milliseconds>(setup_.timeout));
  }

  void all_reduce_sum(std::vector<at::Tensor>& tensors, const std::string& what) override {
    if (tensors.empty()) return;
    if (tensors.size() == 1 && tensors[0].is_contiguous()) {
      run(what, [&] { return group_->allreduce(tensors, c10d::AllreduceOptions{}); });
      return;
    }
    // One flat buffer per call (Gloo reduces one buffer per process).
    std::vector<at::Tensor> flat{torch::cat(flatten_views(tensors))};
    run(what, [&] { return group_->allreduce(flat, c10d::AllreduceOptions{}); });
    int64_t offset = 0;
    for (auto& t : tensors) {
      const int64_t n = t.numel();
      t.copy_(flat[0].narrow(0, offset, n).view_as(t));
      offset += n;
    }
  }

  std::unique_ptr<Pending> all_reduce_sum_async(const at::Tensor& tensor,
                                                const std::string& what) override {
    TRELLIS_CHECK(tensor.is_contiguous(), Error, "{}: the async all-reduce needs a contiguous "
                  "tensor", what);
    std::vector<at::Tensor> one{tensor};
    c10::intrusive_ptr<c10d::Work> work;
    try {
      work = async_group_->allreduce(one, c10d::AllreduceOptions{});
    } catch (const std::exception& e) {
      fail(what, e);
    }
    return std::make_unique<PendingWork>(*this, std::move(work), what);
  }

  void broadcast(std::vector<at::Tensor>& tensors, int64_t root,
                 const std::string& what) override {
    c10d::BroadcastOptions opts;
    opts.rootRank = root;
    for (auto& t : tensors) {
      std::vector<at::Tensor> one{t.is_contiguous() ? t : t.contiguous()};
      run(what, [&] { return group_->broadcast(one, opts); });
      if (!one[0].is_same(t)) t.copy_(one[0]);
    }
  }

  void barrier(const std::string& what) override {
    run(what, [&] { return group_->barrier(c10d::BarrierOptions{}); });
  }

 private:
  static std::vector<at::Tensor> flatten_views(const std::vector<at::Tensor>& tensors) {
    std::vector<at::Tensor> out;
    out.reserve(tensors.size());
    for (const auto& t : tensors) out.push_back(t.reshape({-1}));
    return out;
  }

  // A started collective of all_reduce_sum_async.
  class PendingWork : public Pending {
   public:
    PendingWork(C10dCommunicator& owner, c10::intrusive_ptr<c10d::Work> work, std::string what)
        : owner_(owner), work_(std::move(work)), what_(std::move(what)) {}
    void wait() override {
      if (!work_) return;
      auto work = std::move(work_);
      owner_.wait_for(*work, what_);
    }

   private:
    C10dCommunicator& owner_;
    c10::intrusive_ptr<c10d::Work> work_;
    std::string what_;
  };

  template <class F>
  void run(const std::string& what, F&& start) {
    c10::intrusive_ptr<c10d::Work> work;
    try {
      work = start();
    } catch (const std::exception& e) {
      fail(what, e);
    }
    wait_for(*work, what);
  }

  void wait_for(c10d::Work& work, const std::string& what) {
    try {
      if (!work.wait(std::chrono::duration_cast<std::chrono::milliseconds>(setup_.timeout)))
        throw Error("timed out");
    } catch (const std::exception& e) {
      fail(what, e);
    }
  }

  [[noreturn]] void fail(const std::string& what, const std::exception& e) {
    const std::string silent = heartbeat_ ? heartbeat_->silent_ranks() : "";
    const auto* c10_error = dynamic_cast<const c10::Error*>(&e);  // without its backtrace
    throw Error(fmt::format(
        "rank {} of {}: {} failed: {}. {}; collectives wait at most --distributed-timeout {} s",
        setup_.rank, setup_.world_size, what,
        c10_error ? c10_error->what_without_backtrace() : e.what(),
        silent.empty() ? "Another worker has probably stopped (its log says why)"
                       : "Why: " + silent,
        setup_.timeout.count()));
  }

  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroup> group_;
  // The async collectives' own group: they keep their order among themselves whatever blocking
  // collectives (SyncBatchNorm's, in the backward pass) run between them.
  c10::intrusive_ptr<c10d::ProcessGroup> async_group_;
  std::unique_ptr<Heartbeat> heartbeat_;
};

}  // namespace

std::optional<std::string> process_env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

bool needs_spawn(const DistributedOptions& o, const EnvFn& env) {
  return o.distributed_world_size > 1 && !env("RANK") && !env("SLURM_PROCID") &&
         o.distributed_init_method.empty();
}

std::optional<DistributedSetup> resolve_distributed(const DistributedOptions& o, bool cuda,
                                                    const EnvFn& env) {
  DistributedSetup s;
  s.timeout = std::chrono::seconds(o.distributed_timeout);
  s.backend = o.distributed_backend.empty() ? (cuda ? "nccl" : "gloo") : o.distributed_backend;
  if (env("RANK") || (env("SLURM_PROCID") && env("MASTER_ADDR"))) {
    const bool torchrun = env("RANK").has_value();
    const auto get = [&](const char* a, const char* b) -> std::optional<std::string> {
      return torchrun ? env(a) : env(b);
    };
    const auto world = get("WORLD_SIZE", "SLURM_NTASKS");
    TRELLIS_CHECK(world, ConfigError, "{} is set but {} is not", torchrun ? "RANK" : "SLURM_PROCID",
                  torchrun ? "WORLD_SIZE" : "SLURM_NTASKS");
    s.rank = parse_int(*get("RANK", "SLURM_PROCID"), torchrun ? "RANK" : "SLURM_PROCID");
    s.world_size = parse_int(*world, torchrun ? "WORLD_SIZE" : "SLURM_NTASKS");
    const auto local = get("LOCAL_RANK", "SLURM_LOCALID");
    s.local_rank = local ? parse_int(*local, "LOCAL_RANK") : s.rank;
    s.master_addr = env("MASTER_ADDR").value_or("127.0.0.1");
    const auto port = env("MASTER_PORT");
    if (port) s.port = static_cast<int>(parse_int(*port, "MASTER_PORT"));
    else if (o.distributed_port > 0) s.port = static_cast<int>(o.distributed_port);
    s.source = torchrun ? "environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT)"
                        : "SLURM environment";
    TRELLIS_CHECK(o.distributed_world_size == 1 || o.distributed_world_size == s.world_size,
                  ConfigError, "--distributed-world-size {} disagrees with the environment's {}",
                  o.distributed_world_size, s.world_size);
  } else if (!o.distributed_init_method.empty()) {
    std::tie(s.master_addr, s.port) = parse_init_method(o.distributed_init_method);
    s.rank = o.distributed_rank;
    s.world_size = o.distributed_world_size;
    s.local_rank = o.device_id;
    s.source = "--distributed-init-method " + o.distributed_init_method;
  } else {
    return std::nullopt;  // one process (or a launcher about to spawn its workers)
  }
  TRELLIS_CHECK(s.world_size >= 1 && s.rank >= 0 && s.rank < s.world_size, ConfigError,
                "rank {} is outside [0, {}) ({})", s.rank, s.world_size, s.source);
  TRELLIS_CHECK(s.port > 0 && s.port < 65536, ConfigError,
                "no rendezvous port: set MASTER_PORT or --distributed-port ({})", s.source);
  if (s.world_size == 1) return std::nullopt;
  return s;
}

Communicator::~Communicator() {
  Communicator* self = this;
  g_process_communicator.compare_exchange_strong(self, nullptr);
}

Communicator* process_communicator() { return g_process_communicator.load(); }

void Communicator::all_reduce_sum(at::Tensor& tensor, const std::string& what) {
  std::vector<at::Tensor> one{tensor};
  all_reduce_sum(one, what);
  if (!one[0].is_same(tensor)) tensor.copy_(one[0]);
}

void Communicator::all_reduce_sum(std::vector<double>& values, const std::string& what) {
  if (values.empty()) return;
  at::Tensor t = torch::tensor(values, torch::kDouble);
  all_reduce_sum(t, what);
  const double* p = t.data_ptr<double>();
  for (size_t i = 0; i < values.size(); ++i) values[i] = p[i];
}

void Communicator::all_reduce_named(std::map<std::string, double>& values,
                                    const std::string& what) {
  // The names' count and a 24-bit hash, summed: every rank holds the same names iff each sum
  // is world_size times this rank's value (exact in float64).
  uint32_t h = 2166136261u;
  for (const auto& [k, v] : values)
    for (char c : k + '\n') h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  const double mine[2] = {static_cast<double>(values.size()), static_cast<double>(h & 0xFFFFFF)};
  std::vector<double> check(mine, mine + 2);
  all_reduce_sum(check, what + " (names)");
  const double w = static_cast<double>(world_size());
  if (check[0] != w * mine[0] || check[1] != w * mine[1]) {
    std::string names;
    for (const auto& [k, v] : values) names += (names.empty() ? "" : ", ") + k;
    throw Error(fmt::format("rank {} of {}: {}: the ranks hold different values (this rank: {})",
                            rank(), world_size(), what, names));
  }
  std::vector<double> flat;
  for (const auto& [k, v] : values) flat.push_back(v);
  all_reduce_sum(flat, what);
  size_t i = 0;
  for (auto& [k, v] : values) v = flat[i++];
}

std::unique_ptr<Communicator> Communicator::connect(const DistributedSetup& s) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(s.timeout);
  logger.info("rank {} of {}: rendezvous at {}:{} ({}), backend {}", s.rank, s.world_size,
              s.master_addr, s.port, s.source, s.backend);
  c10::intrusive_ptr<c10d::Store> store;
  try {
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<uint16_t>(s.port);
    opts.isServer = s.rank == 0;
    opts.numWorkers = static_cast<size_t>(s.world_size);
    opts.waitWorkers = true;
    opts.timeout = ms;
    store = c10::make_intrusive<c10d::TCPStore>(s.master_addr, opts);
  } catch (const std::exception& e) {
    throw Error(fmt::format("rank {} of {}: the rendezvous at {}:{} failed within {} s "
                            "(--distributed-timeout): {}",
                            s.rank, s.world_size, s.master_addr, s.port, s.timeout.count(),
                            e.what()));
  }
  const auto make_group = [&](c10::intrusive_ptr<c10d::Store> store)
      -> c10::intrusive_ptr<c10d::ProcessGroup> {
    if (s.backend == "gloo") {
      auto opts = c10d::ProcessGroupGloo::Options::create(ms);
      if (auto ifname = process_env("GLOO_SOCKET_IFNAME"))
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(*ifname));
      else if (is_loopback(s.master_addr))
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      else
        opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      return c10::make_intrusive<c10d::ProcessGroupGloo>(store, static_cast<int>(s.rank),
                                                         static_cast<int>(s.world_size), opts);
    } else {
#if defined(TRELLIS_WITH_NCCL)
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = ms;
      return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, static_cast<int>(s.rank),
                                                         static_cast<int>(s.world_size), opts);
#else
      throw ConfigError("--distributed-backend nccl: this LibTorch has no CUDA/NCCL; use gloo");
#endif
    }
  };
  auto group = make_group(store);
  auto async_group = make_group(c10::make_intrusive<c10d::PrefixStore>("async", store));
  auto* c10d_comm = new C10dCommunicator(s, store, group, async_group);
  auto comm = std::unique_ptr<Communicator>(c10d_comm);
  comm->barrier("the start-up barrier");  // every rank is there (NCCL: initialises it)
  c10d_comm->start_heartbeat();
  comm->barrier("the heartbeat barrier");  // every rank's heartbeat key exists
  g_process_communicator.store(comm.get());
  return comm;
}

}  // namespace trellis
