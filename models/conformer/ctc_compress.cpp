#include "models/conformer/ctc_compress.h"

#include <torch/torch.h>

#include <cmath>
#include <map>
#include <vector>

#include "core/error.h"

namespace trellis {

namespace {

struct Segment {
  int64_t label;
  int64_t count;
};

// groups of r consecutive segments merged: label with the largest accumulated count, summed count
std::vector<Segment> limit_segments(const std::vector<Segment>& segs, int64_t max_out) {
  const auto n = static_cast<int64_t>(segs.size());
  if (max_out <= 0 || n <= max_out) return segs;
  const int64_t r = (n + max_out - 1) / max_out;
  std::vector<Segment> out;
  for (int64_t i = 0; i < n; i += r) {
    std::map<int64_t, int64_t> acc;
    Segment merged{-1, 0};
    int64_t best = 0;
    for (int64_t j = i; j < std::min(n, i + r); ++j) {
      int64_t c = (acc[segs[j].label] += segs[j].count);
      if (c > best) {
        best = c;
        merged.label = segs[j].label;
      }
      merged.count += segs[j].count;
    }
    out.push_back(merged);
  }
  return out;
}

}  // namespace

// x: (T, B, C); ctc_logits: (T, B, V); lengths: (B) -> ((T', B, C), (B))
std::pair<at::Tensor, at::Tensor> ctc_compress(const at::Tensor& x, const at::Tensor& ctc_logits,
                                               const at::Tensor& lengths,
                                               const CtcCompressConfig& cfg) {
  const auto& s = cfg.strategy;
  TRELLIS_CHECK(s == "avg" || s == "weighted" || s == "softmax" || s == "fixed", ConfigError,
                "unknown --ctc-compress-strategy '{}'", s);
  const int64_t T = x.size(0), B = x.size(1);
  at::Tensor weights;
  std::vector<int64_t> new_lengths(B);
  {
    torch::NoGradGuard ng;
    // B x T x V probabilities on the CPU (small), in the logits' dtype
    auto prob =
        torch::softmax(ctc_logits.detach(), -1).transpose(0, 1).to(torch::kCPU).contiguous();
    auto lens = lengths.to(torch::kCPU).to(torch::kLong);
    auto labels = prob.argmax(-1);  // B x T
    std::vector<std::vector<Segment>> segs(B);
    for (int64_t b = 0; b < B; ++b) {
      const int64_t L = lens[b].item<int64_t>();
      auto row = labels[b].contiguous();
      const int64_t* lab = row.data_ptr<int64_t>();
      for (int64_t t = 0; t < L; ++t) {
        if (segs[b].empty() || segs[b].back().label != lab[t])
          segs[b].push_back(Segment{lab[t], 0});
        segs[b].back().count++;
      }
      segs[b] = limit_segments(segs[b], cfg.max_out_size);
    }
    int64_t t_out = 0;
    if (s == "fixed") {
      t_out = (T + cfg.fixed_ratio - 1) / cfg.fixed_ratio;
    } else {
      for (const auto& v : segs) t_out = std::max<int64_t>(t_out, v.size());
    }
    auto w = torch::zeros({B, T, t_out}, prob.options().dtype(x.scalar_type()));
    using torch::indexing::Slice;
    for (int64_t b = 0; b < B; ++b) {
      if (s == "fixed") {
        const int64_t L = lens[b].item<int64_t>();
        int64_t n = 0;
        for (int64_t k = 0; k < t_out; ++k) {
          int64_t start = k * cfg.fixed_ratio, end = std::min(start + cfg.fixed_ratio, L);
          if (end > start) w.index_put_({b, Slice(start, end), k}, 1.0 / double(end - start));
          ++n;
          if (end == L) break;
        }
        new_lengths[b] = n;
        continue;
      }
      int64_t start = 0;
      for (size_t j = 0; j < segs[b].size(); ++j) {
        const auto& seg = segs[b][j];
        const int64_t end = start + seg.count;
        auto rows = Slice(start, end);
        if (s == "avg") {
          w.index_put_({b, rows, int64_t(j)}, 1.0 / double(seg.count));
        } else {
          auto p = prob.index({b, rows, seg.label});
          if (s == "softmax") p = torch::softmax(p, 0);
          w.index_put_({b, rows, int64_t(j)}, p / p.sum());
        }
        start = end;
      }
      new_lengths[b] = static_cast<int64_t>(segs[b].size());
    }
    weights = w.to(x.device());
  }
  // x: T x B x C -> B x C x T; bmm with B x T x T' -> B x C x T'
  auto out = x.permute({1, 2, 0}).bmm(weights).permute({2, 0, 1});
  auto nl = torch::tensor(new_lengths, lengths.options().dtype(torch::kLong));
  const int64_t max_len = nl.numel() ? nl.max().item<int64_t>() : 0;
  return {out.narrow(0, 0, max_len), nl.to(lengths.device())};
}

}  // namespace trellis
