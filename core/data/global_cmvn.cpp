#include "core/data/global_cmvn.h"

#include "core/io/zip_archive.h"
#include "core/error.h"

namespace trellis {

GlobalCmvn::GlobalCmvn(const GlobalCmvnOptions& opts) : source_(opts.stats_npz_path) {
  TRELLIS_CHECK(!opts.stats_npz_path.empty(), DataError, "global_cmvn: stats_npz_path is not set");
  auto arrays = read_npz(opts.stats_npz_path);
  for (const char* key : {"mean", "std"}) {
    TRELLIS_CHECK(arrays.count(key), DataError, "{}: global CMVN stats have no array '{}'",
                  opts.stats_npz_path, key);
  }
  mean_ = std::move(arrays["mean"].data);
  std_ = std::move(arrays["std"].data);
  TRELLIS_CHECK(mean_.size() == std_.size() && !mean_.empty(), DataError,
                "{}: global CMVN mean ({}) and std ({}) lengths differ", opts.stats_npz_path,
                mean_.size(), std_.size());
}

GlobalCmvn::GlobalCmvn(std::vector<float> mean, std::vector<float> stddev)
    : source_("<memory>"), mean_(std::move(mean)), std_(std::move(stddev)) {
  TRELLIS_CHECK(mean_.size() == std_.size(), DataError,
                "global_cmvn: mean ({}) and std ({}) lengths differ", mean_.size(), std_.size());
}

void GlobalCmvn::apply(std::vector<float>& x, int64_t T, int64_t C) const {
  TRELLIS_CHECK(C == int64_t(mean_.size()), DataError,
                "global_cmvn ({}): features have {} dims, stats have {}", source_, C, mean_.size());
  for (int64_t t = 0; t < T; ++t) {
    float* row = x.data() + t * C;
    for (int64_t c = 0; c < C; ++c) row[c] = (row[c] - mean_[c]) / std_[c];
  }
}

}  // namespace trellis
