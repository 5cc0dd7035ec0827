#include "core/train_options.h"

#include "core/error.h"

namespace trellis {

void CommonOptions::validate() const {
  TRELLIS_CHECK(log_interval > 0, ConfigError, "--log-interval must be > 0 (got {})",
                log_interval);
  TRELLIS_CHECK(threads >= 0, ConfigError, "--threads must be >= 0 (got {})", threads);
}

void DatasetOptions::validate() const {
  TRELLIS_CHECK(num_workers >= 0, ConfigError, "--num-workers must be >= 0");
  TRELLIS_CHECK(!max_tokens || *max_tokens > 0, ConfigError, "--max-tokens must be > 0");
  TRELLIS_CHECK(!batch_size || *batch_size > 0, ConfigError, "--batch-size must be > 0");
  TRELLIS_CHECK(required_batch_size_multiple > 0, ConfigError,
                "--required-batch-size-multiple must be > 0");
  TRELLIS_CHECK(data_buffer_size > 0, ConfigError, "--data-buffer-size must be > 0");
}

void OptimizationOptions::validate() const {
  TRELLIS_CHECK(!update_freq.empty(), ConfigError, "--update-freq needs at least one value");
  for (auto u : update_freq)
    TRELLIS_CHECK(u > 0, ConfigError, "--update-freq values must be > 0 (got {})", u);
  TRELLIS_CHECK(!lr.empty(), ConfigError, "--lr needs at least one value");
  TRELLIS_CHECK(clip_norm >= 0, ConfigError, "--clip-norm must be >= 0");
  TRELLIS_CHECK(max_nonfinite_updates >= 0, ConfigError, "--max-nonfinite-updates must be >= 0");
}

void DistributedOptions::validate() const {
  TRELLIS_CHECK(distributed_world_size >= 1, ConfigError,
                "--distributed-world-size must be >= 1");
  TRELLIS_CHECK(distributed_rank >= 0 && distributed_rank < distributed_world_size, ConfigError,
                "--distributed-rank {} is outside [0, {})", distributed_rank,
                distributed_world_size);
  TRELLIS_CHECK(distributed_timeout > 0, ConfigError, "--distributed-timeout must be > 0");
}

}  // namespace trellis
