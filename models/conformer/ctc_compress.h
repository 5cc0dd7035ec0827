#pragma once
// FBK CTC compression (CtcSupport.average_same_ctc_features; docs/models.md).
//
// Per utterance b, over its valid frames: labels = argmax softmax(ctc_logits); runs of equal
// consecutive labels (blank included) form segments (label, count). With max_out_size M > 0 and
// n > M segments, groups of r = ceil(n/M) consecutive segments merge into one whose label has the
// largest accumulated count (first wins) and whose count is the sum. A weight matrix
// W (B, T, T') is built without gradient; for segment j covering frames [s, s+c):
//   avg:      W[t, j] = 1/c
//   weighted: W[t, j] = P[t, l_j] / sum_seg P[., l_j]
//   softmax:  W[., j] = softmax over the segment of P[., l_j] (probabilities, not logits)
//   fixed:    ignore labels; window k averages frames [k*r, min((k+1)*r, len)), r = fixed_ratio
// x'[t', b] = sum_t W[b, t, t'] x[t, b]  (differentiable in x); new lengths = segment counts.
// T' = max new length.

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>

namespace trellis {

struct CtcCompressConfig {
  std::string strategy = "none";  // none, avg, weighted, softmax, fixed
  int64_t fixed_ratio = 4;
  int64_t max_out_size = -1;
};

// x: (T, B, C) float; ctc_logits: (T, B, V) float; lengths: (B) int64
//   -> ((T', B, C) float, zeros beyond each new length; (B) int64 new lengths)
std::pair<at::Tensor, at::Tensor> ctc_compress(const at::Tensor& x, const at::Tensor& ctc_logits,
                                               const at::Tensor& lengths,
                                               const CtcCompressConfig& cfg);

}  // namespace trellis
