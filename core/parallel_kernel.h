#pragma once
// at::parallel_for for trellis's kernel files. Debian's LibTorch is built with
// AT_PARALLEL_OPENMP, where at::parallel_for is an inline OpenMP region in ATen's headers: a
// file compiled without -fopenmp gets the serial fallback and runs on one thread, silently
// (docs/building.md, "BLAS and threads"). Such files are listed with trellis_kernel_sources
// (cmake/TrellisHelpers.cmake); this check stops the build of one that is not.
#include <ATen/Config.h>
#include <ATen/Parallel.h>

#if AT_PARALLEL_OPENMP && !defined(_OPENMP)
#error "at::parallel_for needs -fopenmp here: add this file to trellis_kernel_sources"
#endif
