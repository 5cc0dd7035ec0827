#pragma once
// Speed perturbation (pitch and tempo together, as `sox speed FACTOR`, Kaldi's
// perturb_data_dir_speed.sh and ESPnet's --speed_perturb_factors): the audio is treated as if it
// had been recorded at rate * factor and resampled back to rate with soxr (SOXR_HQ), so it plays
// `factor` times faster and every frequency is multiplied by `factor`. Deterministic.
// Used offline by `prepare --speed-perturb` (core/data/prepare.cpp); an online waveform
// transform can call the same function.

#include <vector>

namespace trellis {

// samples: (N,) mono float at `rate` Hz; factor > 0 (1.0 returns a copy).
// -> (round(N / factor),) float at `rate` Hz. Not clipped: a resampled peak can exceed [-1, 1]
// slightly. Throws DataError for rate <= 0 or a factor that is not a finite number > 0.
std::vector<float> change_speed(const std::vector<float>& samples, int rate, double factor);

}  // namespace trellis
