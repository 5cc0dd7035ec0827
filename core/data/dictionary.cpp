#include "core/data/dictionary.h"

#include <algorithm>
#include <fstream>

#include "core/error.h"

namespace trellis {

Dictionary::Dictionary(const std::vector<std::string>& extra_special_symbols) {
  bos_ = add_symbol("<s>");
  pad_ = add_symbol("<pad>");
  eos_ = add_symbol("</s>");
  unk_ = add_symbol("<unk>");
  for (const auto& s : extra_special_symbols) add_symbol(s);
  nspecial_ = size();
}

Dictionary Dictionary::load(const std::string& path) {
  Dictionary d;
  d.add_from_file(path);
  return d;
}

static std::string rstrip(const std::string& s) {
  size_t end = s.find_last_not_of(" \t\r\n\f\v");
  return end == std::string::npos ? std::string() : s.substr(0, end + 1);
}

// Python `s.rsplit(" ", 1)`: false when there is no space.
static bool rsplit_space(const std::string& s, std::string& head, std::string& tail) {
  size_t pos = s.rfind(' ');
  if (pos == std::string::npos) return false;
  head = s.substr(0, pos);
  tail = s.substr(pos + 1);
  return true;
}

static bool parse_int(const std::string& s, int64_t& out) {
  if (s.empty()) return false;
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i == s.size()) return false;
  for (size_t j = i; j < s.size(); ++j)
    if (s[j] < '0' || s[j] > '9') return false;
  try {
    out = std::stoll(s);
  } catch (...) {
    return false;
  }
  return true;
}

void Dictionary::add_from_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  TRELLIS_CHECK(in.good(), DataError, "{}: cannot open dictionary file", path);
  std::string raw;
  int64_t lineno = 0;
  while (std::getline(in, raw)) {
    ++lineno;
    std::string line = rstrip(raw), word, field;
    TRELLIS_CHECK(rsplit_space(line, word, field), DataError,
                  "{}:{}: incorrect dictionary format, expected '<token> <cnt> [flags]': \"{}\"",
                  path, lineno, line);
    bool overwrite = false;
    if (field == "#fairseq:overwrite") {
      overwrite = true;
      std::string w2;
      TRELLIS_CHECK(rsplit_space(word, w2, field), DataError,
                    "{}:{}: incorrect dictionary format, expected '<token> <cnt> [flags]': \"{}\"",
                    path, lineno, line);
      word = w2;
    }
    int64_t count = 0;
    TRELLIS_CHECK(parse_int(field, count), DataError,
                  "{}:{}: incorrect dictionary format, expected '<token> <cnt> [flags]': \"{}\"",
                  path, lineno, line);
    TRELLIS_CHECK(!contains(word) || overwrite, DataError,
                  "{}:{}: duplicate word '{}' in dictionary (add the #fairseq:overwrite flag at "
                  "the end of the line to overwrite the earlier one)",
                  path, lineno, word);
    add_symbol(word, count, overwrite);
  }
}

void Dictionary::save(const std::string& path) const {
  std::ofstream out(path, std::ios::binary);
  TRELLIS_CHECK(out.good(), DataError, "{}: cannot write dictionary file", path);
  for (size_t i = static_cast<size_t>(nspecial_); i < symbols_.size(); ++i)
    out << symbols_[i] << ' ' << counts_[i] << '\n';
  TRELLIS_CHECK(out.good(), DataError, "{}: write failed", path);
}

int64_t Dictionary::add_symbol(const std::string& word, int64_t n, bool overwrite) {
  auto it = indices_.find(word);
  if (it != indices_.end() && !overwrite) {
    counts_[static_cast<size_t>(it->second)] += n;
    return it->second;
  }
  int64_t idx = size();
  indices_[word] = idx;
  symbols_.push_back(word);
  counts_.push_back(n);
  return idx;
}

int64_t Dictionary::index(const std::string& word) const {
  auto it = indices_.find(word);
  return it == indices_.end() ? unk_ : it->second;
}

const std::string& Dictionary::symbol(int64_t idx) const {
  TRELLIS_CHECK(idx >= 0 && idx < size(), DataError, "dictionary index {} out of range (size {})",
                idx, size());
  return symbols_[static_cast<size_t>(idx)];
}

std::vector<int64_t> Dictionary::encode_impl(const std::string& line, bool append_eos, bool add) {
  std::vector<int64_t> ids;
  for (const auto& w : split_whitespace(line)) ids.push_back(add ? add_symbol(w) : index(w));
  if (append_eos) ids.push_back(eos_);
  return ids;
}

std::vector<int64_t> Dictionary::encode_line(const std::string& line, bool append_eos,
                                             bool add_if_not_exist) {
  return encode_impl(line, append_eos, add_if_not_exist);
}

std::vector<int64_t> Dictionary::encode_line(const std::string& line, bool append_eos) const {
  return const_cast<Dictionary*>(this)->encode_impl(line, append_eos, false);
}

std::string Dictionary::string(const std::vector<int64_t>& ids, const std::string& bpe_symbol,
                               bool escape_unk, const std::vector<int64_t>& ignore) const {
  std::string out;
  bool first = true;
  for (int64_t i : ids) {
    if (i == eos_ || i == bos_ || std::find(ignore.begin(), ignore.end(), i) != ignore.end())
      continue;
    if (!first) out += ' ';
    first = false;
    out += i == unk_ ? (escape_unk ? "<" + unk_word() + ">" : unk_word()) : symbol(i);
  }
  return post_process(out, bpe_symbol);
}

void Dictionary::finalize(int64_t threshold, int64_t nwords, int64_t padding_factor) {
  std::vector<size_t> order;
  for (size_t i = static_cast<size_t>(nspecial_); i < symbols_.size(); ++i) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (counts_[a] != counts_[b]) return counts_[a] > counts_[b];
    return symbols_[a] < symbols_[b];
  });
  std::vector<std::string> syms(symbols_.begin(), symbols_.begin() + nspecial_);
  std::vector<int64_t> counts(counts_.begin(), counts_.begin() + nspecial_);
  for (size_t i : order) {
    if (nwords > 0 && static_cast<int64_t>(syms.size()) >= nwords) break;
    if (counts_[i] < threshold) break;
    syms.push_back(symbols_[i]);
    counts.push_back(counts_[i]);
  }
  symbols_ = std::move(syms);
  counts_ = std::move(counts);
  indices_.clear();
  for (size_t i = 0; i < symbols_.size(); ++i) indices_[symbols_[i]] = static_cast<int64_t>(i);
  if (padding_factor > 1) {
    for (int64_t k = 0; size() % padding_factor != 0; ++k)
      add_symbol(fmt::format("madeupword{:04d}", k), 0);
  }
}

static std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
  return s;
}

std::string post_process(const std::string& sentence, const std::string& symbol) {
  if (symbol == "sentencepiece")
    return trim(replace_all(replace_all(sentence, " ", ""), "\xE2\x96\x81", " "));
  if (symbol == "letter") return trim(replace_all(replace_all(sentence, " ", ""), "|", " "));
  if (symbol.empty() || symbol == "none") return sentence;
  throw DataError(
      fmt::format("unknown post-process symbol '{}' (sentencepiece, letter, none)", symbol));
}

}  // namespace trellis
