#include "models/model.h"

namespace trellis {

ModelRegistry& model_registry() {
  static ModelRegistry registry("model", "--arch");
  return registry;
}

static ModelRegistry& model_registry_instance = model_registry();
static ArchRegistry& arch_registry_instance = arch_registry();

}  // namespace trellis
