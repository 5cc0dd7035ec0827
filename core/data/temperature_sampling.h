#pragma once
// Temperature resampling of several training splits (the data config's `sampling_alpha`,
// docs/tasks.md, "Several training splits"), as fairseq's SpeechToTextDatasetCreator and
// ResamplingDataset do it (https://arxiv.org/abs/1907.05019). LibTorch-free.

#include <cstdint>
#include <string>
#include <vector>

namespace trellis {

// fairseq get_size_ratios: splits are grouped by language pair; with F_p the summed manifest
// n_frames of pair p, prob_p = F_p / sum F, q_p = prob_p^alpha / sum q, ratio_p = q_p * sum F / F_p.
// pairs[i] ("src->tgt") and frames[i] describe split i; returns one ratio per split (its pair's).
// Throws ConfigError when the lists differ in length, a split has no frames or alpha <= 0.
std::vector<double> temperature_size_ratios(const std::vector<std::string>& pairs,
                                            const std::vector<int64_t>& frames, double alpha);

// fairseq ResamplingDataset.set_epoch for a split of n samples and a size ratio: ceil(n * ratio)
// indices in [0, n) drawn with numpy.random.RandomState([42, seed mod 2^32, epoch]).choice,
// with replacement iff ratio >= 1 (else a prefix of a permutation: no repeats).
std::vector<int64_t> resample_indices(int64_t n, double ratio, int64_t seed, int64_t epoch);

}  // namespace trellis
