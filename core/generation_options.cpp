#include "core/generation_options.h"

#include "core/error.h"

namespace trellis {

void GenerationOptions::validate() const {
  TRELLIS_CHECK(beam >= 1, ConfigError, "--beam must be >= 1 (got {})", beam);
  TRELLIS_CHECK(nbest >= 1 && nbest <= beam, ConfigError, "--nbest must be in [1, --beam]");
  TRELLIS_CHECK(ctc_weight >= 0.0 && ctc_weight <= 1.0, ConfigError,
                "--ctc-weight must be in [0, 1] (got {})", ctc_weight);
}

}  // namespace trellis
