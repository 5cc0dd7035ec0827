#pragma once
// fairseq Dictionary (dict.txt). Indices: <s>=0 (bos), <pad>=1, </s>=2 (eos), <unk>=3, then any
// extra special symbols, then the file's lines in order. A dict.txt line is
// `<symbol> <count>[ #fairseq:overwrite]`, split at the last space; a duplicate symbol is an
// error unless the line carries `#fairseq:overwrite` (then it gets a new index, as in fairseq).
// Loading never pads the size; finalize() (building) pads to a multiple of 8 with madeupwordNNNN.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/strings.h"  // split_whitespace, used with encode_line

namespace trellis {

class Dictionary {
 public:
  explicit Dictionary(const std::vector<std::string>& extra_special_symbols = {});

  // Reads dict.txt; throws DataError naming the file and line on a malformed or duplicate line.
  static Dictionary load(const std::string& path);
  void add_from_file(const std::string& path);
  // Writes `symbol count` lines for every non-special symbol (round-trips through load()).
  void save(const std::string& path) const;

  // Adds `word` (or adds n to its count when present and !overwrite); returns its index.
  int64_t add_symbol(const std::string& word, int64_t n = 1, bool overwrite = false);
  bool contains(const std::string& word) const { return indices_.count(word) > 0; }
  int64_t index(const std::string& word) const;  // unk() when absent
  const std::string& symbol(int64_t idx) const;  // throws DataError when out of range
  const std::string& operator[](int64_t idx) const { return symbol(idx); }
  int64_t count(int64_t idx) const { return counts_.at(static_cast<size_t>(idx)); }
  int64_t size() const { return static_cast<int64_t>(symbols_.size()); }
  int64_t nspecial() const { return nspecial_; }

  int64_t bos() const { return bos_; }
  int64_t pad() const { return pad_; }
  int64_t eos() const { return eos_; }
  int64_t unk() const { return unk_; }
  const std::string& unk_word() const { return symbols_[static_cast<size_t>(unk_)]; }

  // Whitespace-split `line` (runs collapsed) -> indices (unknown -> unk, or added when
  // add_if_not_exist), plus eos when append_eos.
  std::vector<int64_t> encode_line(const std::string& line, bool append_eos = true,
                                   bool add_if_not_exist = false);
  std::vector<int64_t> encode_line(const std::string& line, bool append_eos = true) const;

  // fairseq Dictionary.string: drops eos, bos and `ignore`, unk -> "<unk>" ("<<unk>>" when
  // escape_unk), joins with spaces, then post_process(bpe_symbol) ("sentencepiece", "letter",
  // "none" or "").
  std::string string(const std::vector<int64_t>& ids, const std::string& bpe_symbol = "",
                     bool escape_unk = false, const std::vector<int64_t>& ignore = {}) const;

  // Sorts non-special symbols by descending count (ties by symbol), keeps those with
  // count >= threshold (at most nwords symbols in all, specials included, when > 0), pads to a
  // multiple of padding_factor.
  void finalize(int64_t threshold = -1, int64_t nwords = -1, int64_t padding_factor = 8);

  static std::string lang_tag(const std::string& lang) { return "<lang:" + lang + ">"; }

 private:
  std::vector<int64_t> encode_impl(const std::string& line, bool append_eos, bool add);

  std::vector<std::string> symbols_;
  std::vector<int64_t> counts_;
  std::unordered_map<std::string, int64_t> indices_;
  int64_t bos_ = 0, pad_ = 1, eos_ = 2, unk_ = 3, nspecial_ = 4;
};

// fairseq data_utils.post_process for the symbols trellis uses: "sentencepiece" (remove spaces,
// U+2581 -> space), "letter" (remove spaces, '|' -> space), "none"/"" (unchanged); stripped.
std::string post_process(const std::string& sentence, const std::string& symbol);


}  // namespace trellis
