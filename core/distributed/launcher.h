#pragma once
// `train --distributed-world-size N` with no rank from the environment or the flags: start N
// worker processes of this very program on this machine (as fairseq's spawn does), each with
// torchrun's environment (RANK = LOCAL_RANK = i, WORLD_SIZE = N, MASTER_ADDR = 127.0.0.1,
// MASTER_PORT = a free port) and, unless --threads or OMP_NUM_THREADS says otherwise, an equal
// share of the cores.
//
// The launcher forwards SIGINT/SIGTERM to every worker (they stop together after the current
// update, rank 0 saves checkpoint_last.pt). When one worker fails, the launcher says which one
// and how, stops the others (SIGTERM, then SIGKILL after a grace period) and exits with the
// failed worker's code.

#include <cstdint>
#include <string>
#include <vector>

namespace trellis {

// argv: this program's command line (argv[0] first). threads: the --threads value (0 = share
// the cores). Returns the exit code for main.
int spawn_workers(const std::vector<std::string>& argv, int64_t world_size, int64_t threads);

}  // namespace trellis
