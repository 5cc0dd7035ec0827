#include "scoring/wer.h"

#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "core/error.h"
#include "scoring/tokenizer_13a.h"
#include "core/edit_distance.h"

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

// Unicode general category P* (what fairseq's --wer-remove-punct tests) for the ranges text
// here uses: ASCII (not the symbols $+<=>^`|~, category S), Latin-1 (¡ § « ¶ · » ¿), General
// Punctuation U+2010..U+2027 and U+2030..U+205E (but ⁄ U+2044 and ⁒ U+2052, symbols) and the
// CJK marks U+3001..U+3003, U+3008..U+3011. Anything else counts as not punctuation.
bool is_punct_char(const std::string& ch) {
  // The code point of one UTF-8 character.
  const auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(ch[i])); };
  uint32_t cp = 0;
  if (ch.size() == 1) cp = b(0);
  else if (ch.size() == 2) cp = ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
  else if (ch.size() == 3) cp = ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
  else return false;
  if (cp < 0x80)
    return std::ispunct(static_cast<int>(cp)) != 0 &&
           std::string("$+<=>^`|~").find(static_cast<char>(cp)) == std::string::npos;
  switch (cp) {
    case 0xA1: case 0xA7: case 0xAB: case 0xB6: case 0xB7: case 0xBB: case 0xBF:
      return true;
    default:
      break;
  }
  if (cp >= 0x2010 && cp <= 0x2027) return true;
  if (cp >= 0x2030 && cp <= 0x205E) return cp != 0x2044 && cp != 0x2052;
  return (cp >= 0x3001 && cp <= 0x3003) || (cp >= 0x3008 && cp <= 0x3011);
}

}  // namespace

std::vector<std::string> wer_tokens(const std::string& text, const WerOptions& o) {
  TRELLIS_CHECK(o.tokenizer == "none" || o.tokenizer == "13a" || o.tokenizer == "char",
                ConfigError, "--wer-tokenizer {}: not implemented (none, 13a and char are)",
                o.tokenizer);
  TRELLIS_CHECK(o.tokenizer != "char" || !o.char_level, ConfigError,
                "--wer-tokenizer char with --wer-char-level: both split into characters (fairseq "
                "would also score every space three times); use one of them");
  std::string prepared = text;
  if (o.tokenizer == "13a") {
    prepared = tokenize_13a(text);
  } else if (o.tokenizer == "char") {  // sacreBLEU's TokenizerChar: code points joined by spaces
    prepared.clear();
    for (const std::string& c : utf8_chars(text)) prepared += c + " ";
  }
  std::vector<std::string> words;
  std::istringstream in(prepared);
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

CerScorer::CerScorer(WerOptions options, const ScorerContext&)
    : WerScorer([&] {
        options.cer = true;
        return options;
      }()) {}

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

TRELLIS_REGISTER(trellis::scorer_registry(), "wer", trellis::WerScorer, trellis::WerOptions,
                 "word error rate of the detokenized text (fairseq's wer)");
TRELLIS_REGISTER(trellis::scorer_registry(), "cer", trellis::CerScorer, trellis::WerOptions,
                 "character error rate (spaces not counted), same options as wer");
