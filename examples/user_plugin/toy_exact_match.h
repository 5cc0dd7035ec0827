#pragma once
// --scoring toy_exact_match: a scorer from a plugin. The share of sentences whose best
// hypothesis equals the reference text, in percent: "EXACT: 50.00 (1/2)".
#include <cstdint>
#include <string>

#include "core/interfaces/scorer.h"

namespace toy {

struct ToyExactMatchOptions {
  bool toy_ignore_spaces = false;
  template <class V>
  void visit(V& v) {
    v.field("toy_ignore_spaces", toy_ignore_spaces, "compare the texts without their spaces");
  }
};

class ToyExactMatch : public trellis::Scorer {
 public:
  ToyExactMatch(const ToyExactMatchOptions& options, const trellis::ScorerContext&)
      : options_(options) {}
  void add(const trellis::ScorerSample& s) override;
  double score() const override;
  std::string result_string() const override;

 private:
  ToyExactMatchOptions options_;
  int64_t correct_ = 0, total_ = 0;
};

}  // namespace toy
