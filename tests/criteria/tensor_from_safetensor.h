#pragma once
// Helpers for the criteria tests: fixture tensors as ATen tensors, fixture metadata as ordered
// JSON, comparisons, a central finite-difference gradient check, and criterion construction.

#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "core/io/safetensors.h"
#include "core/error.h"
#include "core/interfaces/criterion.h"

namespace trellis::testing {

// t: a stored tensor -> a CPU tensor of the same dtype (F32, F64, I64, I32, BOOL) and shape.
inline at::Tensor tensor_from_safetensor(const SafeTensor& t) {
  at::ScalarType st;
  if (t.dtype == "F32")
    st = at::kFloat;
  else if (t.dtype == "F64")
    st = at::kDouble;
  else if (t.dtype == "I64")
    st = at::kLong;
  else if (t.dtype == "I32")
    st = at::kInt;
  else if (t.dtype == "BOOL")
    st = at::kBool;
  else
    throw Error("tensor_from_safetensor: unsupported dtype " + t.dtype);
  at::Tensor out = torch::empty(t.shape, torch::TensorOptions().dtype(st));
  TRELLIS_CHECK(static_cast<size_t>(out.nbytes()) == t.data.size(), Error,
                "tensor_from_safetensor: {} bytes for a shape of {} bytes", t.data.size(),
                out.nbytes());
  if (!t.data.empty()) std::memcpy(out.data_ptr(), t.data.data(), t.data.size());
  return out;
}

inline at::Tensor fixture_tensor(const SafeTensorsFile& f, const std::string& name) {
  return tensor_from_safetensor(f.get(name));
}

// Metadata `key` as JSON keeping the key order ("inf"/"nan" strings stay strings).
inline nlohmann::ordered_json fixture_meta(const SafeTensorsFile& f, const std::string& key) {
  std::string text = f.meta(key);
  TRELLIS_CHECK(!text.empty(), Error, "{}: no metadata '{}'", f.path(), key);
  return nlohmann::ordered_json::parse(text);
}

// A metadata number, with fairseq's "inf", "-inf", "nan" strings.
inline double json_number(const nlohmann::ordered_json& v) {
  if (v.is_number()) return v.get<double>();
  std::string s = v.get<std::string>();
  if (s == "inf") return INFINITY;
  if (s == "-inf") return -INFINITY;
  if (s == "nan") return NAN;
  throw Error("not a number: " + s);
}

// a, b: same shape -> max |a - b| in double (0 for empty tensors).
inline double max_abs(const at::Tensor& a, const at::Tensor& b) {
  if (a.numel() == 0) return 0.0;
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

// x: float64 tensor; f: x -> () float64 loss. Returns max |autograd - central difference|.
inline double finite_difference_error(const at::Tensor& x,
                                      const std::function<at::Tensor(const at::Tensor&)>& f,
                                      double h = 1e-6) {
  at::Tensor xg = x.detach().clone().requires_grad_(true);
  at::Tensor grad = torch::autograd::grad({f(xg)}, {xg})[0].detach().reshape(-1);
  at::Tensor flat = x.detach().clone().reshape(-1);
  double worst = 0.0;
  for (int64_t i = 0; i < flat.numel(); ++i) {
    at::Tensor plus = flat.clone(), minus = flat.clone();
    plus[i] += h;
    minus[i] -= h;
    double fd = (f(plus.view(x.sizes())).item<double>() - f(minus.view(x.sizes())).item<double>()) /
                (2 * h);
    worst = std::max(worst, std::abs(fd - grad[i].item<double>()));
  }
  return worst;
}

// Builds registry criterion `name` from its default options, edited by `edit`.
template <class Options>
std::unique_ptr<Criterion> make_criterion(const std::string& name, const CriterionContext& ctx,
                                          const std::function<void(Options&)>& edit = {}) {
  AnyOptions o = criterion_registry().make_options(name);
  if (edit) edit(o.as<Options>());
  return criterion_registry().create(name, o, ctx);
}

// Stats -> key/value map (for lookups in tests).
inline std::map<std::string, double> stat_map(const Stats& stats) {
  std::map<std::string, double> m;
  for (const auto& s : stats) m[s.key] = s.value;
  return m;
}

// fairseq's rounding of a logged value (round(v, decimals); -1 = as is).
inline double rounded(double v, int decimals) {
  if (decimals < 0 || !std::isfinite(v)) return v;
  const double scale = std::pow(10.0, decimals);
  return std::nearbyint(v * scale) / scale;
}

// stats: what reduce_metrics gave; expected: the fixture's `reduce_metrics` metadata (fairseq's
// logged values, in its order). Same keys in the same order; values equal after rounding, to one
// unit of the last decimal (float32 sums may sit on a rounding boundary).
inline void check_reduce_metrics(const Stats& stats, const nlohmann::ordered_json& expected) {
  std::vector<std::string> keys, want_keys;
  for (const auto& s : stats) keys.push_back(s.key);
  for (const auto& [k, v] : expected.items()) want_keys.push_back(k);
  CHECK(keys == want_keys);
  for (const auto& s : stats) {
    if (!expected.contains(s.key)) continue;
    const double want = json_number(expected[s.key]);
    const double got = rounded(s.value, s.round);
    INFO("metric " << s.key << ": got " << got << " (" << s.value << "), fairseq " << want);
    if (std::isinf(want)) {
      CHECK(got == want);
    } else {
      const double tol = (s.round >= 0 ? std::pow(10.0, -s.round) : 0.0) + 1e-9;
      CHECK(std::abs(got - want) <= tol);
    }
  }
}

}  // namespace trellis::testing
