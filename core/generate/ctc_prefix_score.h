#pragma once
// CTC prefix scores for joint CTC/attention decoding (ESPnet's CTCPrefixScore; Watanabe et al.
// 2017, "Hybrid CTC/attention architecture"). For a prefix g of one utterance with CTC
// log-probabilities x (T, V), r_n(t) and r_b(t) are the log-probabilities of x[0..t] being
// aligned to g with the last frame on g's last unit or on blank. Extending g by c:
//   phi(t)   = r_b(t) if c is g's last unit, else r_n(t) (+) r_b(t)
//   r_n'(t)  = (r_n'(t-1) (+) phi(t-1)) + x[t, c]          r_n'(0) = x[0, c] when g is empty
//   r_b'(t)  = (r_n'(t-1) (+) r_b'(t-1)) + x[t, blank]
//   psi(g+c) = (+)_t phi(t-1) + x[t, c]   (log P(the labelling starts with g+c))
// ((+) is log-add). Ending with eos scores log P(the labelling is exactly g) = r_n(T-1) (+)
// r_b(T-1).

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace trellis {

class CtcPrefixScorer {
 public:
  struct State {
    std::vector<double> rn, rb;  // (T) each
    double score = 0.0;          // psi of the prefix (0 = log 1 for the empty prefix)
    int64_t last = -1;           // the prefix's last unit
    int64_t length = 0;          // units in the prefix
  };

  // lprobs: (T, V) float log-probabilities of one utterance.
  CtcPrefixScorer(const at::Tensor& lprobs, int64_t blank, int64_t eos);
  State initial() const;
  // The score psi of `state`'s prefix extended by `token`, and the extended prefix's state.
  State extend(const State& state, int64_t token) const;
  int64_t frames() const { return T_; }

 private:
  double x(int64_t t, int64_t v) const { return x_[static_cast<size_t>(t * V_ + v)]; }
  std::vector<float> x_;
  int64_t T_, V_, blank_, eos_;
};

}  // namespace trellis
