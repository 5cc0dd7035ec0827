#pragma once
// Checks on the SVG documents `plot` writes, for the plot tests: a small well-formedness
// check (balanced tags, quoted attributes, escaped '&' and '<') and the polylines' points.

#include <regex>
#include <string>
#include <vector>

namespace trellis::testing {

// "" when `svg` is well-formed XML as far as these documents go (no comments, CDATA or
// DOCTYPE are written), else what is wrong and where.
inline std::string svg_problem(const std::string& svg) {
  std::vector<std::string> open;
  size_t i = 0;
  if (svg.rfind("<?xml", 0) == 0) i = svg.find("?>") + 2;
  while (i < svg.size()) {
    const size_t lt = svg.find('<', i);
    const std::string text = svg.substr(i, lt == std::string::npos ? std::string::npos : lt - i);
    for (size_t a = text.find('&'); a != std::string::npos; a = text.find('&', a + 1)) {
      static const std::regex entity("^&(amp|lt|gt|quot|apos);");
      if (!std::regex_search(text.substr(a, 8), entity))
        return "unescaped '&' at byte " + std::to_string(i + a);
    }
    if (lt == std::string::npos) break;
    const size_t gt = svg.find('>', lt);
    if (gt == std::string::npos) return "unterminated tag at byte " + std::to_string(lt);
    const std::string tag = svg.substr(lt + 1, gt - lt - 1);
    if (tag.find('<') != std::string::npos) return "'<' inside a tag at byte " + std::to_string(lt);
    size_t quotes = 0;
    for (char c : tag) quotes += c == '"';
    if (quotes % 2) return "unbalanced quotes in <" + tag + ">";
    if (tag.empty()) return "empty tag at byte " + std::to_string(lt);
    if (tag[0] == '/') {
      const std::string name = tag.substr(1);
      if (open.empty() || open.back() != name)
        return "</" + name + "> closes " + (open.empty() ? "nothing" : "<" + open.back() + ">");
      open.pop_back();
    } else if (tag.back() != '/') {
      open.push_back(tag.substr(0, tag.find_first_of(" \t\n")));
    }
    i = gt + 1;
  }
  if (!open.empty()) return "<" + open.back() + "> is never closed";
  return "";
}

struct SvgPolyline {
  std::string label;
  size_t points = 0;
};

// Every <polyline> with its data-label and its number of points.
inline std::vector<SvgPolyline> svg_polylines(const std::string& svg) {
  std::vector<SvgPolyline> out;
  static const std::regex re("<polyline[^>]*data-label=\"([^\"]*)\"[^>]*points=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator();
       ++it) {
    const std::string pts = (*it)[2];
    size_t n = pts.empty() ? 0 : 1;
    for (char c : pts) n += c == ' ';
    out.push_back({(*it)[1], n});
  }
  return out;
}

}  // namespace trellis::testing
