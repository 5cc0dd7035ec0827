#include "core/interfaces/scorer.h"

namespace trellis {

ScorerRegistry& scorer_registry() {
  static ScorerRegistry registry("scorer", "--scoring");
  return registry;
}

static ScorerRegistry& scorer_registry_instance = scorer_registry();

}  // namespace trellis
