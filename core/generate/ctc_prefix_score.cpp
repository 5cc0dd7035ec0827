#include "core/generate/ctc_prefix_score.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "core/generate/log_math.h"

namespace trellis {
namespace {

constexpr double kNegInf = kLogZero;

}  // namespace

CtcPrefixScorer::CtcPrefixScorer(const at::Tensor& lprobs, int64_t blank, int64_t eos)
    : T_(lprobs.size(0)), V_(lprobs.size(1)), blank_(blank), eos_(eos) {
  at::Tensor lp = lprobs.to(torch::kCPU).to(torch::kFloat).contiguous();
  x_.assign(lp.data_ptr<float>(), lp.data_ptr<float>() + lp.numel());
}

CtcPrefixScorer::State CtcPrefixScorer::initial() const {
  State s;
  s.rn.assign(static_cast<size_t>(T_), kNegInf);
  s.rb.assign(static_cast<size_t>(T_), kNegInf);
  double acc = 0.0;
  for (int64_t t = 0; t < T_; ++t) s.rb[t] = acc += x(t, blank_);  // all blanks so far
  return s;
}

CtcPrefixScorer::State CtcPrefixScorer::extend(const State& s, int64_t c) const {
  State n;
  n.last = c;
  n.length = s.length + 1;
  if (c == eos_) {  // the whole labelling is the prefix
    n.score = T_ > 0 ? log_add(s.rn[T_ - 1], s.rb[T_ - 1]) : kNegInf;
    return n;
  }
  n.rn.assign(static_cast<size_t>(T_), kNegInf);
  n.rb.assign(static_cast<size_t>(T_), kNegInf);
  auto phi = [&](int64_t t) {
    return s.length > 0 && c == s.last ? s.rb[t] : log_add(s.rn[t], s.rb[t]);
  };
  if (s.length == 0 && T_ > 0) n.rn[0] = x(0, c);
  const int64_t start = std::max<int64_t>(s.length, 1);
  double psi = start - 1 < T_ ? n.rn[start - 1] : kNegInf;
  for (int64_t t = start; t < T_; ++t) {
    n.rn[t] = log_add(n.rn[t - 1], phi(t - 1)) + x(t, c);
    n.rb[t] = log_add(n.rn[t - 1], n.rb[t - 1]) + x(t, blank_);
    psi = log_add(psi, phi(t - 1) + x(t, c));
  }
  n.score = psi;
  return n;
}

}  // namespace trellis
