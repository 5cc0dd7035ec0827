#include "core/data/speed_resample.h"

#include <soxr.h>

#include <cmath>
#include <memory>

#include "core/error.h"

namespace trellis {

std::vector<float> change_speed(const std::vector<float>& x, int rate, double factor) {
  TRELLIS_CHECK(rate > 0, DataError, "change_speed: bad sample rate {}", rate);
  TRELLIS_CHECK(std::isfinite(factor) && factor > 0, DataError,
                "change_speed: speed factor {} is not a number > 0", factor);
  if (factor == 1.0 || x.empty()) return x;
  const double in_rate = double(rate) * factor;  // the rate the samples are taken to have
  std::vector<float> out(size_t(std::llround(double(x.size()) / factor)));
  if (out.empty()) return out;
  soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
  soxr_runtime_spec_t rt = soxr_runtime_spec(1);
  soxr_error_t err = nullptr;
  std::unique_ptr<soxr, void (*)(soxr_t)> r(soxr_create(in_rate, rate, 1, &err, &io, &q, &rt),
                                            soxr_delete);
  if (err) throw DataError(fmt::format("change_speed x{} at {} Hz: {}", factor, rate, err));
  size_t in_pos = 0, odone = 0, produced = 0;
  // Feed all input, then flush (in = NULL) until the expected length is reached.
  while (produced < out.size()) {
    size_t idone = 0;
    const bool flushing = in_pos >= x.size();
    err = soxr_process(r.get(), flushing ? nullptr : x.data() + in_pos, x.size() - in_pos, &idone,
                       out.data() + produced, out.size() - produced, &odone);
    if (err) throw DataError(fmt::format("change_speed x{} at {} Hz: {}", factor, rate, err));
    in_pos += idone;
    produced += odone;
    if (flushing && odone == 0) break;
  }
  out.resize(produced);  // soxr delivers every expected sample after the flush
  return out;
}

}  // namespace trellis
