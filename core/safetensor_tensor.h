#pragma once
// A SafeTensor (core/io/safetensors.h: dtype name, shape, raw little-endian bytes, as the
// safetensors and torch-pickle readers return them) as a LibTorch tensor. One place for the
// dtype table, shared by the pretrained-weights reader and the NeMo checkpoint reader.

#include <ATen/core/Tensor.h>

#include <string>

namespace trellis {

struct SafeTensor;

// t -> CPU tensor of the same dtype and shape (a copy); DataError naming `where` for an
// unknown dtype or a byte count that does not fit the shape.
at::Tensor tensor_of_safetensor(const SafeTensor& t, const std::string& where);

}  // namespace trellis
