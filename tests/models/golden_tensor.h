#pragma once
// Golden fixtures as ATen tensors: SafeTensor -> at::Tensor, prefixed groups of tensors (state
// dicts), metadata JSON and comparison helpers for the model parity tests.

#include <torch/nn/module.h>
#include <torch/types.h>
#include <torch/utils.h>

#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "core/io/safetensors.h"
#include "core/error.h"

namespace trellis::testing {

// t: a stored tensor -> a CPU tensor of the same dtype (F32, F64, I64, I32, BOOL) and shape
inline at::Tensor to_tensor(const SafeTensor& t) {
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
    throw Error("golden_tensor: unsupported dtype " + t.dtype);
  auto out = torch::empty(t.shape, torch::TensorOptions().dtype(st));
  TRELLIS_CHECK(static_cast<size_t>(out.nbytes()) == t.data.size(), Error,
                "golden_tensor: {} bytes for shape of {} bytes", t.data.size(), out.nbytes());
  if (!t.data.empty()) std::memcpy(out.data_ptr(), t.data.data(), t.data.size());
  return out;
}

inline at::Tensor golden(const SafeTensorsFile& f, const std::string& name) {
  return to_tensor(f.get(name));
}

// Every tensor whose name starts with `prefix`, keyed by the rest of the name.
inline std::map<std::string, at::Tensor> golden_group(const SafeTensorsFile& f,
                                                      const std::string& prefix) {
  std::map<std::string, at::Tensor> out;
  for (const auto& n : f.names()) {
    if (n.rfind(prefix, 0) == 0) out[n.substr(prefix.size())] = golden(f, n);
  }
  return out;
}

// Metadata value `key` parsed as JSON (an empty object when absent).
inline nlohmann::json golden_meta(const SafeTensorsFile& f, const std::string& key) {
  auto text = f.meta(key);
  return text.empty() ? nlohmann::json::object() : nlohmann::json::parse(text);
}

// a, b: same shape float -> max |a - b| (0 for empty tensors)
inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  if (a.numel() == 0) return 0.0;
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

// a, b: (T, B, C) time-major; lengths (B) -> max |a - b| over valid frames t < lengths[b]
inline double max_abs_diff_valid(const at::Tensor& a, const at::Tensor& b,
                                 const at::Tensor& lengths) {
  double m = 0.0;
  for (int64_t i = 0; i < a.size(1); ++i) {
    int64_t L = lengths[i].item<int64_t>();
    m = std::max(m, max_abs_diff(a.narrow(0, 0, L).select(1, i), b.narrow(0, 0, L).select(1, i)));
  }
  return m;
}

// Copies `weights` (keys relative to `module`) into its parameters and buffers; every key must
// match both ways (names and shapes). Returns the number of tensors copied.
inline size_t load_weights(torch::nn::Module& module,
                           const std::map<std::string, at::Tensor>& weights) {
  std::map<std::string, at::Tensor> own;
  for (const auto& p : module.named_parameters()) own[p.key()] = p.value();
  for (const auto& b : module.named_buffers()) own[b.key()] = b.value();
  torch::NoGradGuard ng;
  for (const auto& [k, v] : weights) {
    TRELLIS_CHECK(own.count(k), Error, "load_weights: unexpected key {}", k);
    TRELLIS_CHECK(own[k].sizes() == v.sizes(), Error, "load_weights: shape of {}", k);
    own[k].copy_(v);
  }
  for (const auto& kv : own) {
    TRELLIS_CHECK(weights.count(kv.first), Error, "load_weights: missing key {}", kv.first);
  }
  return weights.size();
}

}  // namespace trellis::testing
