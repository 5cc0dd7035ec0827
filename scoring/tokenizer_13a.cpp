#include "scoring/tokenizer_13a.h"

#include <locale.h>
#include <wctype.h>

namespace trellis {
namespace {

constexpr char32_t kInvalid = 0xFFFFFFFF;  // a byte that starts no valid UTF-8 sequence

// One code point of UTF-8 text: its value (kInvalid for a stray byte), where its bytes start
// and how many there are.
struct CodePoint {
  char32_t value;
  size_t start, size;
};

// The code points of s; stray bytes become kInvalid code points of one byte.
std::vector<CodePoint> decode_utf8(const std::string& s) {
  std::vector<CodePoint> out;
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const size_t n = b < 0x80           ? 1
                     : (b >> 5) == 0x6  ? 2
                     : (b >> 4) == 0xE  ? 3
                     : (b >> 3) == 0x1E ? 4
                                        : 0;
    bool ok = n > 0 && i + n <= s.size();
    char32_t c = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
    for (size_t k = 1; ok && k < n; ++k) {
      const auto t = static_cast<unsigned char>(s[i + k]);
      ok = (t >> 6) == 0x2;
      c = (c << 6) | (t & 0x3F);
    }
    out.push_back({ok ? c : kInvalid, i, ok ? n : 1});
    i += ok ? n : 1;
  }
  return out;
}

// Appends code point c as UTF-8.
void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// Python's str.isspace() code points.
bool is_unicode_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

// Python's str.replace(from, to): every non-overlapping occurrence, left to right.
std::string replace_all(const std::string& s, const std::string& from, const std::string& to) {
  std::string out;
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size())
    out.append(s, pos, hit - pos).append(to);
  return out.append(s, pos, std::string::npos);
}

// 13a's first rule, the class [\{-\~\[-\` -\&\(-\+\:-\@\/]: ASCII symbols and punctuation
// (and the space) except ' , - . and digits.
bool is_13a_symbol(unsigned char c) {
  return (c >= 0x7B && c <= 0x7E) || (c >= 0x5B && c <= 0x60) || (c >= 0x20 && c <= 0x26) ||
         (c >= 0x28 && c <= 0x2B) || (c >= 0x3A && c <= 0x40) || c == 0x2F;
}

// The classes [0-9] and [\.,] of 13a's other rules.
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool is_period_comma(unsigned char c) { return c == '.' || c == ','; }

// re.sub of a two-character pattern (first)(second), scanning left to right without overlap,
// as Python does: "\1 \2 " (lead_space false) or " \1 \2" (true). On UTF-8 bytes this gives
// Python's result on code points: in each rule one of the two characters is ASCII . , or -,
// and the other is only tested for being a digit, which no byte of a multibyte code point is.
template <class First, class Second>
std::string sub_pairs(const std::string& s, First first, Second second, bool lead_space) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto a = static_cast<unsigned char>(s[i]);
    if (i + 1 < s.size() && first(a) && second(static_cast<unsigned char>(s[i + 1]))) {
      if (lead_space) out += ' ';
      out += s[i];
      out += ' ';
      out += s[++i];
      if (!lead_space) out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

// glibc's C.UTF-8 character tables (null when the locale is missing).
locale_t utf8_locale() {
  static const locale_t loc = [] {
    locale_t l = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
    return l ? l : newlocale(LC_CTYPE_MASK, "C.utf8", static_cast<locale_t>(nullptr));
  }();
  return loc;
}

// Lowercase of one code point other than U+0130 and U+03A3.
char32_t lower_one(char32_t c, locale_t loc) {
  if (c < 0x80) return c >= 'A' && c <= 'Z' ? c + 32 : c;
  return loc ? static_cast<char32_t>(towlower_l(static_cast<wint_t>(c), loc)) : c;
}

// Unicode "cased" (has case), approximated by glibc's upper/lower classes and mappings.
bool is_cased(char32_t c, locale_t loc) {
  if (c == kInvalid) return false;
  const auto w = static_cast<wint_t>(c);
  return iswupper_l(w, loc) || iswlower_l(w, loc) || towlower_l(w, loc) != w ||
         towupper_l(w, loc) != w;
}

// Unicode "case-ignorable" (Python's test for word-final sigma), for the scripts that write
// Greek: apostrophes, period, colon, spacing accents, modifier letters, combining diacritics,
// Greek tonos and breathing marks, zero-width format characters.
bool is_case_ignorable(char32_t c) {
  static const char32_t ranges[][2] = {
      {0x27, 0x27},     {0x2E, 0x2E},     {0x3A, 0x3A},     {0x5E, 0x5E},     {0x60, 0x60},
      {0xA8, 0xA8},     {0xAD, 0xAD},     {0xAF, 0xAF},     {0xB4, 0xB4},     {0xB7, 0xB8},
      {0x2B0, 0x36F},   {0x374, 0x375},   {0x37A, 0x37A},   {0x384, 0x385},   {0x387, 0x387},
      {0x1FBD, 0x1FBD}, {0x1FBF, 0x1FC1}, {0x1FCD, 0x1FCF}, {0x1FDD, 0x1FDF}, {0x1FED, 0x1FEF},
      {0x1FFD, 0x1FFE}, {0x200B, 0x200F}, {0x2018, 0x2019}, {0x2024, 0x2024}, {0x2027, 0x2027}};
  for (const auto& r : ranges)
    if (c >= r[0] && c <= r[1]) return true;
  return false;
}

// Python's Final_Sigma test for the capital sigma at cps[i]: a cased letter before it and none
// after it (case-ignorable code points skipped both ways).
bool is_final_sigma(const std::vector<CodePoint>& cps, size_t i, locale_t loc) {
  size_t j = i;
  while (j > 0 && is_case_ignorable(cps[j - 1].value)) --j;
  if (j == 0 || !is_cased(cps[j - 1].value, loc)) return false;
  size_t k = i + 1;
  while (k < cps.size() && is_case_ignorable(cps[k].value)) ++k;
  return k == cps.size() || !is_cased(cps[k].value, loc);
}

}  // namespace

std::string tokenize_13a(const std::string& input) {
  std::string line = replace_all(input, "<skipped>", "");
  line = replace_all(line, "-\n", "");
  line = replace_all(line, "\n", " ");
  line = replace_all(line, "&quot;", "\"");
  line = replace_all(line, "&amp;", "&");
  line = replace_all(line, "&lt;", "<");
  line = replace_all(line, "&gt;", ">");
  std::string spaced = " ";
  for (char c : line) {
    if (is_13a_symbol(static_cast<unsigned char>(c)))
      spaced.append(1, ' ').append(1, c).append(1, ' ');
    else
      spaced += c;
  }
  spaced += ' ';
  auto not_digit = [](unsigned char c) { return !is_digit(c); };
  auto is_dash = [](unsigned char c) { return c == '-'; };
  spaced = sub_pairs(spaced, not_digit, is_period_comma, false);  // period/comma after non-digit
  spaced = sub_pairs(spaced, is_period_comma, not_digit, true);   // ... before a non-digit
  spaced = sub_pairs(spaced, is_digit, is_dash, false);           // dash after a digit
  std::string out;
  for (const auto& token : split_unicode_whitespace(spaced)) {
    if (!out.empty()) out += ' ';
    out += token;
  }
  return out;
}

std::vector<std::string> split_unicode_whitespace(const std::string& text) {
  std::vector<std::string> pieces;
  size_t begin = 0;  // start of the current piece
  for (const auto& cp : decode_utf8(text)) {
    if (!is_unicode_space(cp.value)) continue;
    if (cp.start > begin) pieces.push_back(text.substr(begin, cp.start - begin));
    begin = cp.start + cp.size;
  }
  if (text.size() > begin) pieces.push_back(text.substr(begin));
  return pieces;
}

std::string unicode_lower(const std::string& text) {
  const locale_t loc = utf8_locale();
  const auto cps = decode_utf8(text);
  std::string out;
  for (size_t i = 0; i < cps.size(); ++i) {
    const char32_t c = cps[i].value;
    if (c == kInvalid || (!loc && c >= 0x80)) {
      out.append(text, cps[i].start, cps[i].size);
    } else if (c == 0x130) {  // LATIN CAPITAL LETTER I WITH DOT ABOVE: "i" + COMBINING DOT ABOVE
      out += 'i';
      append_utf8(out, 0x307);
    } else if (c == 0x3A3) {  // GREEK CAPITAL LETTER SIGMA: final or not
      append_utf8(out, is_final_sigma(cps, i, loc) ? 0x3C2 : 0x3C3);
    } else {
      append_utf8(out, lower_one(c, loc));
    }
  }
  return out;
}

}  // namespace trellis
