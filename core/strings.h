#pragma once
// String helpers shared by the whole tree (one copy each): splitting comma lists and
// separators, trimming, joining, prefix/suffix tests.

#include <string>
#include <vector>

namespace trellis {

// "a,,b," -> {"a", "b"}: the non-empty items between `sep`s.
inline std::vector<std::string> split_nonempty(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// "train,valid" -> {"train", "valid"} (empty items dropped).
inline std::vector<std::string> split_commas(const std::string& s) {
  return split_nonempty(s, ',');
}

// "a::b" -> {"a", "", "b"}: every item, empty ones included ("" -> {""}).
inline std::vector<std::string> split_all(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return out;
    start = end + 1;
  }
}

// Python's str.split(): the runs of non-whitespace (space, \t, \n, \r, \f, \v) of s.
inline std::vector<std::string> split_whitespace(const std::string& s) {
  std::vector<std::string> out;
  const char* ws = " \t\n\r\f\v";
  size_t i = s.find_first_not_of(ws);
  while (i != std::string::npos) {
    const size_t j = s.find_first_of(ws, i);
    out.push_back(s.substr(i, j == std::string::npos ? std::string::npos : j - i));
    i = j == std::string::npos ? j : s.find_first_not_of(ws, j);
  }
  return out;
}

// Without leading and trailing whitespace (space, \t, \n, \r, \f, \v).
inline std::string trim(const std::string& s) {
  const char* ws = " \t\n\r\f\v";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

inline std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

inline bool starts_with(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

inline bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace trellis
