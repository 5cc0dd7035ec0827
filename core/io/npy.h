#pragma once
// NumPy `.npy` files (format versions 1.0, 2.0, 3.0): decoding to float32 and writing float32
// arrays the way `np.save` does (version 1.0, header padded to a multiple of 64 bytes).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace trellis {

struct NpyArray {
  std::vector<int64_t> shape;  // () for scalars
  std::vector<float> data;     // C order, prod(shape) values
};

// Decodes a complete .npy file held in memory. Accepts little-endian (or byte-order free)
// f2/f4/f8, i1/i2/i4/i8, u1/u2/u4/u8 and b1; values become float. Fortran order, big-endian,
// structured dtypes and truncated data throw DataError naming `where`.
// data: the file's bytes -> (shape, float data in C order)
NpyArray decode_npy(const uint8_t* data, size_t size, const std::string& where);

// Reads and decodes a .npy file; DataError names the path.
NpyArray read_npy_file(const std::string& path);

// Encodes a float32 array of the given shape (C order) as np.save would (format 1.0).
// data: prod(shape) float -> the .npy file's bytes
std::vector<uint8_t> encode_npy_f32(const float* data, const std::vector<int64_t>& shape);

}  // namespace trellis
