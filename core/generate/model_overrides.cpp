#include "core/generate/model_overrides.h"

#include <cctype>

#include "core/cli_parser.h"
#include "core/error.h"
#include "core/logging.h"

namespace trellis {
namespace {

const log::Logger logger("trellis.generate");

// A recursive-descent reader of the literal; `at` is the offset of the next character.
class Literal {
 public:
  explicit Literal(const std::string& text) : s_(text) {}

  std::vector<std::pair<std::string, std::string>> dict() {
    std::vector<std::pair<std::string, std::string>> out;
    expect('{');
    if (peek() == '}') {
      ++at_;
    } else {
      for (;;) {
        std::string key = quoted();
        expect(':');
        out.emplace_back(std::move(key), value(true));
        if (peek() == ',') {
          ++at_;
          if (peek() == '}') {  // a trailing comma, as Python allows
            ++at_;
            break;
          }
          continue;
        }
        expect('}');
        break;
      }
    }
    if (peek() != '\0') fail("text after the closing '}'");
    return out;
  }

 private:
  char peek() {
    while (at_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[at_]))) ++at_;
    return at_ < s_.size() ? s_[at_] : '\0';
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw ConfigError(fmt::format("--model-overrides {}: {} at character {} (expected a Python "
                                  "dict such as \"{{'name': value}}\")",
                                  s_, what, at_ + 1));
  }
  void expect(char c) {
    if (peek() != c) fail(fmt::format("'{}' expected", c));
    ++at_;
  }
  std::string quoted() {
    const char q = peek();
    if (q != '\'' && q != '"') fail("a quoted name or string expected");
    const size_t end = s_.find(q, at_ + 1);
    if (end == std::string::npos) fail("unterminated string");
    std::string out = s_.substr(at_ + 1, end - at_ - 1);
    at_ = end + 1;
    return out;
  }
  // one value in command-line syntax; lists (not nested) when `top`
  std::string value(bool top) {
    const char c = peek();
    if (c == '\'' || c == '"') return quoted();
    if (c == '[' && top) {
      ++at_;
      std::string out;
      if (peek() == ']') fail("an empty list has no command-line spelling");
      for (;;) {
        out += (out.empty() ? "" : ",") + value(false);
        if (peek() == ',') {
          ++at_;
          if (peek() == ']') break;
          continue;
        }
        break;
      }
      expect(']');
      return out;
    }
    size_t end = at_;
    while (end < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[end])) ||
                               s_[end] == '.' || s_[end] == '-' || s_[end] == '+' ||
                               s_[end] == '_'))
      ++end;
    const std::string word = s_.substr(at_, end - at_);
    if (word.empty()) fail("a value expected");
    at_ = end;
    if (word == "True") return "true";
    if (word == "False") return "false";
    if (word == "None") return "None";
    if (!std::isdigit(static_cast<unsigned char>(word[0])) && word[0] != '-' && word[0] != '+' &&
        word[0] != '.')
      fail(fmt::format("'{}' is not a value (strings are quoted; True, False, None, numbers)",
                       word));
    return word;
  }

  const std::string& s_;
  size_t at_ = 0;
};

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_model_overrides(const std::string& text) {
  if (text.find_first_not_of(" \t\n") == std::string::npos) return {};
  return Literal(text).dict();
}

void apply_model_overrides(Config& stored, const std::string& text, const std::string& path) {
  for (const auto& [name, value] : parse_model_overrides(text)) {
    bool found = false;
    for (const char* group : {"arch", "task"}) {
      const ConfigGroup* g = stored.find(group);
      if (g == nullptr || g->options.empty()) continue;
      Fields fields = g->options.fields();
      const Field* f = fields.find(name);
      if (f == nullptr) continue;
      f->set_from_string(value, fmt::format("--model-overrides '{}'", name));
      g->options.validate();
      logger.info("{}: --model-overrides sets {} of --{} {} to {}", path, name, group,
                  g->component, f->value_string());
      found = true;
      break;
    }
    TRELLIS_CHECK(found, ConfigError,
                  "--model-overrides: '{}' is not an option of {}'s --arch {} or --task {} (names "
                  "are the stored snake_case keys, e.g. encoder_layers)",
                  name, path, stored.component("arch"), stored.component("task"));
  }
}

}  // namespace trellis
