#pragma once
// Character vocabulary with a word delimiter (wav2vec2 / fairseq letter targets):
// "hello world" -> h e l l o | w o r l d | (fairseq .ltr style, trailing delimiter optional).
// Characters are UTF-8 code points; runs of whitespace become one delimiter.

#include <cstdint>
#include <string>
#include <vector>

namespace trellis {

class Dictionary;

class CharVocab {
 public:
  explicit CharVocab(std::string delimiter = "|", bool trailing_delimiter = true,
                     bool lowercase = false);

  std::vector<std::string> encode(const std::string& text) const;
  // Joins pieces; the delimiter becomes a space; stripped.
  std::string decode(const std::vector<std::string>& pieces) const;

  // A fairseq dictionary of every character of `texts` (and the delimiter), most frequent
  // first, counts = occurrences (no padding to a multiple of 8).
  Dictionary build_dictionary(const std::vector<std::string>& texts) const;

  const std::string& delimiter() const { return delimiter_; }

 private:
  std::string delimiter_;
  bool trailing_;
  bool lowercase_;
};

// UTF-8 code points of `s` (invalid bytes are kept one by one).
std::vector<std::string> utf8_chars(const std::string& s);

}  // namespace trellis
