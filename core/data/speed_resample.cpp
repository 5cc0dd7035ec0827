#include "core/data/speed_resample.h"

#include <cmath>

#include "core/data/audio_reader.h"
#include "core/error.h"

namespace trellis {

std::vector<float> change_speed(const std::vector<float>& x, int rate, double factor) {
  TRELLIS_CHECK(rate > 0, DataError, "change_speed: bad sample rate {}", rate);
  TRELLIS_CHECK(std::isfinite(factor) && factor > 0, DataError,
                "change_speed: speed factor {} is not a number > 0", factor);
  if (factor == 1.0 || x.empty()) return x;
  // The samples are taken to be at rate * factor: (N) -> (round(N / factor)).
  return resample_hz(x, double(rate) * factor, double(rate));
}

}  // namespace trellis
