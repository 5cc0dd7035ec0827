#include "criteria/criterion.h"

namespace trellis {

CriterionRegistry& criterion_registry() {
  static CriterionRegistry registry("criterion", "--criterion");
  return registry;
}

static CriterionRegistry& criterion_registry_instance = criterion_registry();

}  // namespace trellis
