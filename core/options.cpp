#include "core/options.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "core/edit_distance.h"
#include "core/error.h"
#include "core/strings.h"

namespace trellis {
namespace {

bool is_none(const std::string& s) {
  std::string t = trim(s);
  return t == "None" || t == "none" || t == "null" || t == "~" || t.empty();
}

// "(0.9, 0.98)", "[0.9,0.98]", "0.9,0.98" -> {"0.9", "0.98"} (Python tuple/list literal or commas).
std::vector<std::string> split_list(const std::string& text) {
  std::string t = trim(text);
  if (t.size() >= 2 && ((t.front() == '(' && t.back() == ')') ||
                        (t.front() == '[' && t.back() == ']'))) {
    t = t.substr(1, t.size() - 2);
  }
  std::vector<std::string> out;
  if (trim(t).empty()) return out;
  size_t start = 0;
  while (true) {
    size_t comma = t.find(',', start);
    std::string item = trim(t.substr(start, comma == std::string::npos ? comma : comma - start));
    if (item.size() >= 2 && (item.front() == '\'' || item.front() == '"') &&
        item.back() == item.front()) {
      item = item.substr(1, item.size() - 2);
    }
    if (!item.empty() || comma != std::string::npos) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  // A trailing comma ("(0.9,)") leaves an empty last item: drop it, as Python does.
  if (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

int64_t parse_int(const std::string& text, const std::string& where) {
  std::string t = trim(text);
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(t.c_str(), &end, 10);
  if (t.empty() || *end != '\0' || errno == ERANGE) {
    throw ConfigError(fmt::format("{}: invalid integer value '{}'", where, text));
  }
  return v;
}

double parse_float(const std::string& text, const std::string& where) {
  std::string t = trim(text);
  if (t == "inf" || t == "Infinity") return std::numeric_limits<double>::infinity();
  if (t == "-inf" || t == "-Infinity") return -std::numeric_limits<double>::infinity();
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(t.c_str(), &end);
  if (t.empty() || *end != '\0' || errno == ERANGE) {
    throw ConfigError(fmt::format("{}: invalid float value '{}'", where, text));
  }
  return v;
}

bool parse_bool(const std::string& text, const std::string& where) {
  std::string t = trim(text);
  std::transform(t.begin(), t.end(), t.begin(), ::tolower);
  if (t == "true" || t == "1" || t == "yes" || t == "on") return true;
  if (t == "false" || t == "0" || t == "no" || t == "off") return false;
  throw ConfigError(fmt::format("{}: invalid boolean value '{}' (use true or false)", where, text));
}

std::string format_float(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{}", v);
}

template <class T, class F>
std::string join(const std::vector<T>& v, F f) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + f(v[i]);
  return out;
}

}  // namespace

std::string Field::flag() const { return to_flag(name); }

bool Field::is_list() const {
  return std::holds_alternative<std::vector<int>*>(ref) ||
         std::holds_alternative<std::vector<int64_t>*>(ref) ||
         std::holds_alternative<std::vector<double>*>(ref) ||
         std::holds_alternative<std::vector<std::string>*>(ref);
}

std::string Field::type_name() const {
  switch (ref.index()) {
    case 0: return "BOOL";
    case 1: case 2: return "INT";
    case 3: return "FLOAT";
    case 4: return "STR";
    case 5: return "INT|None";
    case 6: return "FLOAT|None";
    case 7: case 8: return "INT,...";
    case 9: return "FLOAT,...";
    default: return "STR,...";
  }
}

std::string Field::value_string() const {
  return std::visit(
      [](auto* p) -> std::string {
        using T = std::decay_t<decltype(*p)>;
        if constexpr (std::is_same_v<T, bool>) return *p ? "true" : "false";
        else if constexpr (std::is_same_v<T, int> || std::is_same_v<T, int64_t>)
          return std::to_string(*p);
        else if constexpr (std::is_same_v<T, double>) return format_float(*p);
        else if constexpr (std::is_same_v<T, std::string>) return *p;
        else if constexpr (std::is_same_v<T, std::optional<int64_t>>)
          return *p ? std::to_string(**p) : "None";
        else if constexpr (std::is_same_v<T, std::optional<double>>)
          return *p ? format_float(**p) : "None";
        else if constexpr (std::is_same_v<T, std::vector<double>>)
          return join(*p, format_float);
        else if constexpr (std::is_same_v<T, std::vector<std::string>>)
          return join(*p, [](const std::string& s) { return s; });
        else
          return join(*p, [](auto x) { return std::to_string(x); });
      },
      ref);
}

void Field::set_from_string(const std::string& text, const std::string& where) const {
  std::visit(
      [&](auto* p) {
        using T = std::decay_t<decltype(*p)>;
        if constexpr (std::is_same_v<T, bool>) {
          *p = parse_bool(text, where);
        } else if constexpr (std::is_same_v<T, int>) {
          int64_t v = parse_int(text, where);
          if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
            throw ConfigError(fmt::format("{}: value {} out of range", where, text));
          *p = static_cast<int>(v);
        } else if constexpr (std::is_same_v<T, int64_t>) {
          *p = parse_int(text, where);
        } else if constexpr (std::is_same_v<T, double>) {
          *p = parse_float(text, where);
        } else if constexpr (std::is_same_v<T, std::string>) {
          *p = text;
        } else if constexpr (std::is_same_v<T, std::optional<int64_t>>) {
          if (is_none(text)) p->reset(); else *p = parse_int(text, where);
        } else if constexpr (std::is_same_v<T, std::optional<double>>) {
          if (is_none(text)) p->reset(); else *p = parse_float(text, where);
        } else {
          using E = typename T::value_type;
          T out;
          for (const auto& item : split_list(text)) {
            if constexpr (std::is_same_v<E, double>) out.push_back(parse_float(item, where));
            else if constexpr (std::is_same_v<E, std::string>) out.push_back(item);
            else out.push_back(static_cast<E>(parse_int(item, where)));
          }
          *p = std::move(out);
        }
      },
      ref);
  if (!choice_list.empty()) {
    std::vector<std::string> values =
        is_list() ? split_list(value_string()) : std::vector<std::string>{value_string()};
    for (const auto& v : values) {
      if (std::find(choice_list.begin(), choice_list.end(), v) == choice_list.end()) {
        std::string all;
        for (const auto& c : choice_list) all += (all.empty() ? "" : ", ") + c;
        throw ConfigError(
            fmt::format("{}: invalid choice '{}' (choose from {})", where, v, all));
      }
    }
  }
}

void Field::append_from_string(const std::string& text, const std::string& where) const {
  if (!is_list()) {
    set_from_string(text, where);
    return;
  }
  std::string before = value_string();
  set_from_string(before.empty() ? text : before + "," + text, where);
}

Field* Fields::find(const std::string& name) {
  for (auto& f : fields_)
    if (f.name == name) return &f;
  return nullptr;
}

Fields AnyOptions::fields() const {
  Fields f;
  if (ptr_) visit_(ptr_.get(), f);
  return f;
}

void AnyOptions::validate() const {
  if (ptr_ && validate_) validate_(ptr_.get());
}

AnyOptions AnyOptions::clone() const {
  AnyOptions a = *this;
  if (ptr_) a.ptr_ = clone_(ptr_.get());
  return a;
}

void AnyOptions::check_type(std::type_index want, const char* want_name) const {
  if (!ptr_ || want != type_) {
    throw Error(fmt::format("options type mismatch: asked for {}, holding {}", want_name,
                            ptr_ ? type_.name() : "nothing"));
  }
}

std::string to_flag(const std::string& key) {
  std::string f = key;
  std::replace(f.begin(), f.end(), '_', '-');
  return "--" + f;
}

std::string to_key(const std::string& flag) {
  std::string k = flag;
  while (!k.empty() && k.front() == '-') k.erase(k.begin());
  std::replace(k.begin(), k.end(), '-', '_');
  return k;
}

std::string nearest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::numeric_limits<size_t>::max();
  for (const auto& c : candidates) {
    size_t d = static_cast<size_t>(edit_distance(word, c));
    // A candidate that starts with the word (a truncated flag) is a good guess too.
    if (c.size() > word.size() && c.compare(0, word.size(), word) == 0 && word.size() >= 4) {
      d = std::min(d, size_t{1});
    }
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  size_t limit = std::max<size_t>(2, word.size() / 3);
  return best_d <= limit ? best : "";
}

}  // namespace trellis
