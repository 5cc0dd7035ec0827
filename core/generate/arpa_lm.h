#pragma once
// An n-gram language model in ARPA format (what KenLM, IRSTLM and SRILM write), any order,
// with Katz-style backoff, scored incrementally from a state.
//
// File: optional header lines, then
//   \data\            ngram 1=C1 ... ngram N=CN
//   \1-grams: ... \N-grams:   "log10p w1 .. wn [log10 backoff]" (whitespace-separated)
//   \end\   (the last line)
// Probability of w after context h = (h1 .. hk), k <= N-1:
//   log p(w | h) = log p(h1..hk w)                       if that n-gram is listed,
//                = bo(h1..hk) + log p(w | h2..hk)          otherwise (bo = 0 when unlisted);
// with log p(w) = the 1-gram entry. A word outside the 1-grams scores as <unk> (its listed
// probability, or -100 log10 when the model lists no <unk>, as KenLM substitutes).
//
// State: the context words (ids, oldest first), at most N-1 of them, cut to the longest suffix
// that can still matter (a listed n-gram of order < N, or the prefix of a listed n-gram), so two
// histories that score every continuation alike have equal states (beam recombination).

#include <cstdint>
#include <istream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace trellis {

struct LmState {
  std::vector<int32_t> words;  // context word ids, oldest first
  bool operator==(const LmState& o) const { return words == o.words; }
  bool operator!=(const LmState& o) const { return words != o.words; }
  bool operator<(const LmState& o) const { return words < o.words; }
};

class ArpaLm {
 public:
  // Reads an ARPA file; throws DataError naming `path` and the line at fault.
  static ArpaLm load(const std::string& path);
  // Reads ARPA text from `in`; `name` is the file name used in error messages.
  static ArpaLm parse(std::istream& in, const std::string& name);

  ArpaLm(ArpaLm&&) noexcept;
  ArpaLm& operator=(ArpaLm&&) noexcept;
  ~ArpaLm();

  int order() const;
  // Number of listed n-grams of order n (1 <= n <= order()).
  int64_t count(int n) const;
  // The id of `word`, or unk() when it is not in the 1-grams.
  int32_t word_id(std::string_view word) const;
  bool contains(std::string_view word) const;
  const std::string& word(int32_t id) const;
  int32_t bos() const;  // <s>
  int32_t eos() const;  // </s>
  int32_t unk() const;  // <unk> (an id of its own even when the file lists none)

  // The state at the start of a sentence (context <s>), and the empty context.
  LmState begin_sentence() const;
  LmState null_context() const;

  // log10 p(word | state); writes the state after `word` to *next when next != nullptr
  // (next may alias state).
  double score_log10(const LmState& state, int32_t word, LmState* next = nullptr) const;
  // The same in natural log.
  double score(const LmState& state, int32_t word, LmState* next = nullptr) const;

  // log10 p(words) of a sentence: from <s>, each word, then </s> when `eos` is true.
  double sentence_log10(const std::vector<std::string>& words, bool eos = true) const;

 private:
  struct Impl;
  explicit ArpaLm(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace trellis
