#pragma once
// Models (registry "model"), selected through an architecture preset (--arch, registry "arch").
// The interface grows with the conformer issue; the registries exist so that --arch parses,
// --help lists the names and plugins can add models and presets.

#include "core/registry.h"

namespace trellis {

class Model {
 public:
  virtual ~Model() = default;
};

struct ModelContext {};

using ModelRegistry = Registry<Model, const ModelContext&>;
ModelRegistry& model_registry();

}  // namespace trellis
