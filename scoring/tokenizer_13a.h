#pragma once
// sacreBLEU's text preparation on UTF-8 text: the mteval-v13a tokenizer (sacreBLEU 2.x
// sacrebleu/tokenizers/tokenizer_13a.py and tokenizer_re.py) and the two Python string
// operations around it, str.split() (runs of Unicode whitespace) and str.lower(). Used by
// `--scoring sacrebleu` (bleu_scorer.h) and `--wer-tokenizer 13a` (wer_scorer.h).

#include <string>
#include <vector>

namespace trellis {

// mteval-v13a: drops "<skipped>" and "-\n", turns "\n" into a space, unescapes &quot; &amp;
// &lt; &gt;, splits off ASCII punctuation and symbols except ' , - . (a period or comma only
// next to a non-digit, a dash only after a digit). Tokens joined by single spaces.
std::string tokenize_13a(const std::string& line);

// Python's str.split(): the pieces between runs of Unicode whitespace (str.isspace()).
std::vector<std::string> split_unicode_whitespace(const std::string& text);

// Python's str.lower(): Unicode lowercase per code point (glibc's C.UTF-8 tables), with
// Python's two special cases (U+0130 -> "i" U+0307, word-final capital sigma -> U+03C2).
// ASCII-only if the C.UTF-8 locale is missing.
std::string unicode_lower(const std::string& text);

}  // namespace trellis
