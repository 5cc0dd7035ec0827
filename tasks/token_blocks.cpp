#include "tasks/token_blocks.h"

#include "core/error.h"

namespace trellis {

SampleBreakMode parse_sample_break_mode(const std::string& name) {
  if (name == "none") return SampleBreakMode::kNone;
  if (name == "complete") return SampleBreakMode::kComplete;
  if (name == "eos") return SampleBreakMode::kEos;
  throw ConfigError("--sample-break-mode " + name + ": expected none, complete or eos");
}

std::vector<int64_t> TokenBlocks::source(int64_t i) const {
  const auto [s, e] = blocks[static_cast<size_t>(i)];
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(e - s));
  out.push_back(s == 0 ? eos : stream[static_cast<size_t>(s - 1)]);
  for (int64_t k = s; k + 1 < e; ++k) out.push_back(stream[static_cast<size_t>(k)]);
  return out;
}

std::vector<int64_t> TokenBlocks::target(int64_t i) const {
  const auto [s, e] = blocks[static_cast<size_t>(i)];
  return std::vector<int64_t>(stream.begin() + s, stream.begin() + e);
}

TokenBlocks make_token_blocks(const std::vector<std::vector<int64_t>>& sentences,
                              int64_t tokens_per_sample, SampleBreakMode mode, int32_t eos) {
  TRELLIS_CHECK(tokens_per_sample > 0, ConfigError, "--tokens-per-sample must be > 0 (got {})",
                tokens_per_sample);
  TokenBlocks b;
  b.eos = eos;
  std::vector<int64_t> ends;  // end of each sentence (its eos included) in the stream
  for (const auto& s : sentences) {
    for (int64_t t : s) b.stream.push_back(static_cast<int32_t>(t));
    b.stream.push_back(eos);
    ends.push_back(static_cast<int64_t>(b.stream.size()));
  }
  const auto total = static_cast<int64_t>(b.stream.size());
  if (mode == SampleBreakMode::kNone) {
    for (int64_t s = 0; s < total; s += tokens_per_sample)
      b.blocks.emplace_back(s, std::min(total, s + tokens_per_sample));
  } else if (mode == SampleBreakMode::kEos) {
    int64_t start = 0;
    for (int64_t e : ends) {
      b.blocks.emplace_back(start, e);
      start = e;
    }
  } else {  // complete: close a block before a sentence that would overflow it
    int64_t start = 0, prev = 0;
    for (int64_t e : ends) {
      if (e - start > tokens_per_sample && prev > start) {
        b.blocks.emplace_back(start, prev);
        start = prev;
      }
      prev = e;
    }
    if (prev > start) b.blocks.emplace_back(start, prev);
  }
  return b;
}

}  // namespace trellis
