#pragma once
// Criteria (--criterion): turn a model's output on a batch into a loss and summable stats.
// The interface grows with the training issue; the registry exists so that --criterion parses,
// --help lists the names and plugins can add criteria.

#include "core/registry.h"

namespace trellis {

class Criterion {
 public:
  virtual ~Criterion() = default;
};

struct CriterionContext {};

using CriterionRegistry = Registry<Criterion, const CriterionContext&>;
CriterionRegistry& criterion_registry();

}  // namespace trellis
