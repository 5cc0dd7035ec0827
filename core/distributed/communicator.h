#pragma once
// Data-parallel training on LibTorch's c10d (docs/distributed.md): which rank this process
// is (torchrun's environment or fairseq's flags), the rendezvous through a c10d TCPStore, and a
// process group (Gloo on CPU; NCCL on CUDA when LibTorch has it). Every collective waits at
// most --distributed-timeout seconds; a failure or a timeout becomes an Error naming this rank
// and the operation.
//
// Where the settings come from, first match wins:
//   1. torchrun / launcher environment: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT
//      (SLURM: SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID with MASTER_ADDR/MASTER_PORT set);
//   2. --distributed-init-method tcp://HOST:PORT with --distributed-rank and
//      --distributed-world-size (each process started by hand or by a cluster script);
//   3. --distributed-world-size N alone: `train` spawns N local workers (launcher.h), which
//      then find themselves in case 1.

#include <ATen/core/Tensor.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace trellis {

struct DistributedOptions;

struct DistributedSetup {
  int64_t rank = 0;
  int64_t world_size = 1;
  int64_t local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int port = 29500;
  std::string backend = "gloo";  // gloo | nccl
  std::chrono::seconds timeout{1800};
  std::string source;  // where the settings came from, for the log
};

// Reads an environment variable (nullopt when unset); tests pass their own.
using EnvFn = std::function<std::optional<std::string>(const std::string&)>;
std::optional<std::string> process_env(const std::string& name);

// This process's place in a multi-process run, or nullopt for a single process. `cuda`: the
// default backend is nccl on CUDA, gloo otherwise. ConfigError for inconsistent settings.
std::optional<DistributedSetup> resolve_distributed(const DistributedOptions& options, bool cuda,
                                                    const EnvFn& env = process_env);
// True when `train` must start the workers itself (case 3 above).
bool needs_spawn(const DistributedOptions& options, const EnvFn& env = process_env);

class Communicator {
 public:
  // Connects to the rendezvous (rank 0 serves it) and builds the process group.
  static std::unique_ptr<Communicator> connect(const DistributedSetup& setup);
  virtual ~Communicator();  // clears process_communicator() when it is this one

  int64_t rank() const { return setup_.rank; }
  int64_t world_size() const { return setup_.world_size; }
  const DistributedSetup& setup() const { return setup_; }

  // Sums each tensor over the ranks, in place (one collective for the list). `what` names the
  // operation in errors ("gradient all-reduce", ...).
  virtual void all_reduce_sum(std::vector<at::Tensor>& tensors, const std::string& what) = 0;
  // A collective started by an *_async call: wait() blocks until it is done (at most
  // --distributed-timeout; a failure is the same Error as the blocking call's).
  class Pending {
   public:
    virtual ~Pending() = default;
    virtual void wait() = 0;
  };
  // Starts summing one contiguous tensor over the ranks, in place, and returns at once (the
  // gradient buckets overlap the backward pass with it). The tensor must not be touched until
  // wait() returns; every rank must start the same async collectives in the same order. They
  // run on a process group of their own, so blocking collectives issued meanwhile (another
  // thread's, SyncBatchNorm's in a backward pass) never pair with them.
  virtual std::unique_ptr<Pending> all_reduce_sum_async(const at::Tensor& tensor,
                                                        const std::string& what) = 0;
  void all_reduce_sum(at::Tensor& tensor, const std::string& what);
  // Sums doubles over the ranks (packed into one float64 tensor).
  void all_reduce_sum(std::vector<double>& values, const std::string& what);
  // Copies rank `root`'s tensors to every rank, in place.
  virtual void broadcast(std::vector<at::Tensor>& tensors, int64_t root,
                         const std::string& what) = 0;
  virtual void barrier(const std::string& what) = 0;
  // Sums named values over the ranks. Every rank must hold the same names (checked first: an
  // Error lists this rank's names when they differ).
  void all_reduce_named(std::map<std::string, double>& values, const std::string& what);

 protected:
  explicit Communicator(DistributedSetup setup) : setup_(std::move(setup)) {}
  DistributedSetup setup_;
};

// The communicator this process connected last (the training run's process group), null for a
// single process: set by connect(), cleared when that communicator is destroyed. For modules
// whose training forward needs a collective (SyncBatchNorm, models/modules/sync_batch_norm.h).
Communicator* process_communicator();

}  // namespace trellis
