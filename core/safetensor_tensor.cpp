#include "core/safetensor_tensor.h"

#include <ATen/ATen.h>
#include <fmt/ranges.h>

#include <cstring>
#include <map>

#include "core/error.h"
#include "core/io/safetensors.h"

namespace trellis {

namespace {

at::ScalarType scalar_type(const std::string& dtype, const std::string& where) {
  static const std::map<std::string, at::ScalarType> types = {
      {"F32", at::kFloat}, {"F16", at::kHalf}, {"BF16", at::kBFloat16}, {"F64", at::kDouble},
      {"I64", at::kLong},  {"I32", at::kInt},  {"I16", at::kShort},     {"I8", at::kChar},
      {"U8", at::kByte},   {"BOOL", at::kBool}};
  auto it = types.find(dtype);
  TRELLIS_CHECK(it != types.end(), DataError, "{}: unsupported tensor dtype {}", where, dtype);
  return it->second;
}

}  // namespace

at::Tensor tensor_of_safetensor(const SafeTensor& t, const std::string& where) {
  at::Tensor out = at::empty(t.shape, at::TensorOptions().dtype(scalar_type(t.dtype, where)));
  TRELLIS_CHECK(static_cast<size_t>(out.nbytes()) == t.data.size(), DataError,
                "{}: {} bytes of data for shape [{}] ({} bytes)", where, t.data.size(),
                fmt::join(t.shape, ", "), out.nbytes());
  if (!t.data.empty()) std::memcpy(out.data_ptr(), t.data.data(), t.data.size());
  return out;
}

}  // namespace trellis
