#include "core/interfaces/criterion.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

namespace trellis {

CriterionRegistry& criterion_registry() {
  static CriterionRegistry registry("criterion", "--criterion");
  return registry;
}

static CriterionRegistry& criterion_registry_instance = criterion_registry();

void CriterionRegistry::add(RegistryEntryInfo info, Factory factory, NeedsFn needs) {
  const std::string name = info.name;
  Registry::add(std::move(info), std::move(factory),
                [this, name, needs] { needs_[name] = needs; });
}

CriterionNeeds CriterionRegistry::needs(const std::string& name,
                                        const AnyOptions& options) const {
  this->info(name);  // ConfigError for unknown names
  return needs_.at(name)(options);
}

Stats Criterion::reduce_metrics(const StatSums& summed) const {
  Stats out = reduce_scalars(summed);
  for (auto& s : reduce_derived(summed)) out.push_back(std::move(s));
  return out;
}

double stat_sum(const StatSums& summed, const std::string& key) {
  auto it = summed.find(key);
  return it == summed.end() ? 0.0 : it->second;
}

double base2(double num, double den) {
  if (den == 0) return std::numeric_limits<double>::quiet_NaN();
  return num / den / std::log(2.0);
}

double percent(double num, double den) {
  if (den == 0) return std::numeric_limits<double>::quiet_NaN();
  return std::round(num * 100.0 / den * 1e3) / 1e3;
}

at::Tensor at_least_float32(const at::Tensor& x) {
  return x.scalar_type() == at::kDouble ? x : x.to(at::kFloat);
}

}  // namespace trellis
