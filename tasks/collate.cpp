#include "tasks/collate.h"

#include <cstring>

#include "core/error.h"

namespace trellis {

namespace {

// rows: B token sequences -> ((B, L_max) int64 right-padded with pad, (B) int64 lengths).
// shift: row = eos + seq[:-1] (fairseq's move_eos_to_beginning for eos-terminated sequences).
std::pair<at::Tensor, at::Tensor> pad_tokens(const std::vector<const std::vector<int32_t>*>& rows,
                                             int64_t pad, int64_t eos, bool shift) {
  const auto B = static_cast<int64_t>(rows.size());
  int64_t L = 0;
  for (const auto* r : rows) L = std::max<int64_t>(L, static_cast<int64_t>(r->size()));
  at::Tensor out = torch::full({B, L}, pad, torch::kInt64);
  at::Tensor lengths = torch::empty({B}, torch::kInt64);
  auto o = out.accessor<int64_t, 2>();
  auto len = lengths.accessor<int64_t, 1>();
  for (int64_t b = 0; b < B; ++b) {
    const auto& r = *rows[static_cast<size_t>(b)];
    const auto n = static_cast<int64_t>(r.size());
    len[b] = n;
    for (int64_t j = 0; j < n; ++j) {
      o[b][j] = shift ? (j == 0 ? eos : r[static_cast<size_t>(j - 1)]) : r[static_cast<size_t>(j)];
    }
  }
  return {out, lengths};
}

}  // namespace

SpeechBatch collate_items(std::vector<CollateItem> items, bool raw_audio, int64_t pad,
                          int64_t eos, int64_t pad_to) {
  SpeechBatch batch;
  if (items.empty()) return batch;
  std::stable_sort(items.begin(), items.end(), [](const CollateItem& a, const CollateItem& b) {
    return a.frames != b.frames ? a.frames > b.frames : a.index < b.index;
  });
  const auto B = static_cast<int64_t>(items.size());
  const int64_t F = items.front().dim;
  int64_t T = items.front().frames;
  if (pad_to > 0 && !raw_audio && T % pad_to != 0) T += pad_to - T % pad_to;

  batch.src_tokens =
      raw_audio ? torch::zeros({B, T}, torch::kFloat32) : torch::zeros({B, T, F}, torch::kFloat32);
  batch.src_lengths = torch::empty({B}, torch::kInt64);
  float* src = batch.src_tokens.data_ptr<float>();
  auto src_len = batch.src_lengths.accessor<int64_t, 1>();
  std::vector<const std::vector<int32_t>*> targets, transcripts;
  bool all_transcripts = true;
  for (int64_t b = 0; b < B; ++b) {
    CollateItem& it = items[static_cast<size_t>(b)];
    TRELLIS_CHECK(it.dim == F, DataError,
                  "sample '{}': feature dimension {} differs from {} of "
                  "sample '{}' in the same batch",
                  it.id, it.dim, F, items.front().id);
    TRELLIS_CHECK(it.target != nullptr, Error, "collate: sample '{}' has no target", it.id);
    std::memcpy(src + b * T * F, it.source.data(),
                static_cast<size_t>(it.frames * F) * sizeof(float));
    src_len[b] = it.frames;
    batch.src_frames += it.frames;
    batch.indices.push_back(it.index);
    batch.ids.push_back(std::move(it.id));
    targets.push_back(it.target);
    all_transcripts = all_transcripts && it.transcript != nullptr && !it.transcript->empty();
    transcripts.push_back(it.transcript);
  }
  batch.padded_frames = B * T;
  std::tie(batch.target, batch.target_lengths) = pad_tokens(targets, pad, eos, false);
  batch.prev_output_tokens = pad_tokens(targets, pad, eos, true).first;
  batch.ntokens = batch.target_lengths.sum().item<int64_t>();
  if (all_transcripts) {
    std::tie(batch.transcript, batch.transcript_lengths) = pad_tokens(transcripts, pad, eos, false);
  }
  return batch;
}

}  // namespace trellis
