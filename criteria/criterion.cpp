#include "criteria/criterion.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

namespace trellis {

CriterionRegistry& criterion_registry() {
  static CriterionRegistry registry("criterion", "--criterion");
  return registry;
}

static CriterionRegistry& criterion_registry_instance = criterion_registry();

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

template <class T>
static int64_t levenshtein(const std::vector<T>& a, const std::vector<T>& b) {
  std::vector<int64_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = static_cast<int64_t>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<int64_t>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      int64_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({sub, prev[j] + 1, cur[j - 1] + 1});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

int64_t edit_distance(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  return levenshtein(a, b);
}

int64_t edit_distance(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return levenshtein(a, b);
}

}  // namespace trellis
