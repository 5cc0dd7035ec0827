#include "core/data/char_vocab.h"

#include <cctype>

#include "core/data/dictionary.h"

namespace trellis {

std::vector<std::string> utf8_chars(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
    if (i + n > s.size()) n = 1;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) n = 1;
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

CharVocab::CharVocab(std::string delimiter, bool trailing_delimiter, bool lowercase)
    : delimiter_(std::move(delimiter)), trailing_(trailing_delimiter), lowercase_(lowercase) {}

std::vector<std::string> CharVocab::encode(const std::string& text) const {
  std::vector<std::string> out;
  const auto words = split_whitespace(text);
  for (size_t w = 0; w < words.size(); ++w) {
    if (w > 0) out.push_back(delimiter_);
    std::string word = words[w];
    if (lowercase_)
      for (auto& ch : word)
        if (static_cast<unsigned char>(ch) < 0x80) ch = static_cast<char>(std::tolower(ch));
    for (auto& c : utf8_chars(word)) out.push_back(std::move(c));
  }
  if (trailing_ && !out.empty()) out.push_back(delimiter_);
  return out;
}

std::string CharVocab::decode(const std::vector<std::string>& pieces) const {
  std::string s;
  for (const auto& p : pieces) s += p == delimiter_ ? " " : p;
  const auto words = split_whitespace(s);
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) out += (i ? " " : "") + words[i];
  return out;
}

Dictionary CharVocab::build_dictionary(const std::vector<std::string>& texts) const {
  Dictionary d;
  d.add_symbol(delimiter_, 0);
  for (const auto& t : texts)
    for (const auto& c : encode(t)) d.add_symbol(c);
  d.finalize(-1, -1, 1);
  return d;
}

}  // namespace trellis
