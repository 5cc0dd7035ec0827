#pragma once
// Token blocks of a text corpus for language modelling (fairseq's TokenBlockDataset with
// include_targets; docs/tasks.md "language_modeling"). LibTorch-free.
//
// The corpus is one token stream: every sentence's ids followed by eos. Blocks by
// --sample-break-mode:
//   none      consecutive runs of tokens_per_sample tokens (the last one shorter), across
//             sentence boundaries;
//   complete  whole sentences packed while the block stays <= tokens_per_sample (a longer
//             sentence is a block of its own);
//   eos       one sentence per block.
// A block [s, e) is target = stream[s .. e), source = [stream[s - 1] (eos when s = 0),
// stream[s .. e - 1)]: the model at position i sees source[0..i] and predicts target[i].

#include <cstdint>
#include <string>
#include <vector>

namespace trellis {

enum class SampleBreakMode { kNone, kComplete, kEos };
// "none" | "complete" | "eos"; ConfigError naming --sample-break-mode otherwise.
SampleBreakMode parse_sample_break_mode(const std::string& name);

struct TokenBlocks {
  std::vector<int32_t> stream;               // all sentences, each followed by eos
  std::vector<std::pair<int64_t, int64_t>> blocks;  // [start, end) into stream
  int32_t eos = 2;

  int64_t size() const { return static_cast<int64_t>(blocks.size()); }
  int64_t block_size(int64_t i) const {
    return blocks[static_cast<size_t>(i)].second - blocks[static_cast<size_t>(i)].first;
  }
  // source and target of block i (each block_size(i) ids).
  std::vector<int64_t> source(int64_t i) const;
  std::vector<int64_t> target(int64_t i) const;
};

// sentences: token ids without eos (an empty one is a lone eos). tokens_per_sample > 0.
TokenBlocks make_token_blocks(const std::vector<std::vector<int64_t>>& sentences,
                              int64_t tokens_per_sample, SampleBreakMode mode, int32_t eos);

}  // namespace trellis
