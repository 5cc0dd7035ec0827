#include "core/generate/wer_scorer.h"

#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "core/error.h"
#include "core/generate/tokenizer_13a.h"
#include "criteria/criterion.h"  // edit_distance

namespace trellis {
namespace {

// The UTF-8 characters of s.
std::vector<std::string> utf8_chars(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : 4;
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

// ASCII punctuation, and U+2010..U+205E (dashes, quotes, ellipsis) and U+00A1..U+00BF signs.
bool is_punct_char(const std::string& ch) {
  if (ch.size() == 1) return std::ispunct(static_cast<unsigned char>(ch[0])) != 0;
  const auto b0 = static_cast<unsigned char>(ch[0]);
  const auto b1 = static_cast<unsigned char>(ch[1]);
  if (ch.size() == 2 && b0 == 0xC2) return b1 >= 0xA1 && b1 <= 0xBF && b1 != 0xAD;
  if (ch.size() == 3 && b0 == 0xE2 && b1 == 0x80) return true;              // U+2000..U+203F
  if (ch.size() == 3 && b0 == 0xE2 && b1 == 0x81) return static_cast<unsigned char>(ch[2]) <= 0x9E;
  return false;
}

}  // namespace

std::vector<std::string> wer_tokens(const std::string& text, const WerOptions& o) {
  TRELLIS_CHECK(o.tokenizer == "none" || o.tokenizer == "13a", ConfigError,
                "--wer-tokenizer {}: not implemented (none and 13a are)", o.tokenizer);
  std::vector<std::string> words;
  std::istringstream in(o.tokenizer == "13a" ? tokenize_13a(text) : text);
  for (std::string w; in >> w;) {
    if (o.remove_punct) {
      const auto chars = utf8_chars(w);
      if (std::all_of(chars.begin(), chars.end(), is_punct_char)) continue;
    }
    if (o.lowercase)
      std::transform(w.begin(), w.end(), w.begin(), [](unsigned char c) {
        return c < 0x80 ? static_cast<char>(std::tolower(c)) : static_cast<char>(c);
      });
    words.push_back(w);
  }
  if (!o.char_level && !o.cer) return words;
  std::vector<std::string> chars;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0 && !o.cer) chars.push_back("\xE2\x96\x81");  // "▁"
    for (auto& c : utf8_chars(words[i])) chars.push_back(std::move(c));
  }
  return chars;
}

WerScorer::WerScorer(WerOptions options) : options_(std::move(options)) {}

void WerScorer::add_string(const std::string& reference, const std::string& hypothesis) {
  const auto ref = wer_tokens(reference, options_);
  errors_ += edit_distance(ref, wer_tokens(hypothesis, options_));
  ref_length_ += static_cast<int64_t>(ref.size());
}

double WerScorer::score() const {
  return ref_length_ > 0 ? 100.0 * static_cast<double>(errors_) / static_cast<double>(ref_length_)
                         : 0.0;
}

std::string WerScorer::result_string() const {
  return fmt::format("{}: {:.2f}", options_.cer ? "CER" : "WER", score());
}

}  // namespace trellis
