// --help text: registry listings and the options of the selected components.
#include <algorithm>
#include <set>

#include "core/cli_parser.h"
#include "core/registry.h"

namespace trellis {
namespace {

std::string wrap(const std::string& text, size_t indent, size_t width) {
  std::string out, line;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    std::string word = text.substr(start, end - start);
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += line + "\n" + std::string(indent, ' ');
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
    start = end + 1;
  }
  return out + line;
}

}  // namespace

std::string format_help(const ProgramSpec& spec, const std::vector<ConfigGroup>& groups) {
  // usage: NAME POSITIONAL... [options], the positionals upper-cased (data -> DATA).
  std::string usage = spec.name;
  for (const auto& g : groups) {
    Fields fields = g.options.fields();
    for (const auto& f : fields.list()) {
      if (!f.is_positional) continue;
      std::string metavar = f.name;
      std::transform(metavar.begin(), metavar.end(), metavar.begin(), ::toupper);
      usage += " " + metavar;
    }
  }
  std::string out = fmt::format("usage: {} [options]\n\n{}\n", usage,
                                wrap(spec.description, 0, 100));
  // Which registries this program selects from (its selector fields).
  std::vector<std::pair<std::string, std::string>> selectors;  // flag, kind
  for (const auto& g : groups) {
    Fields fields = g.options.fields();
    for (const auto& f : fields.list())
      if (!f.selects_kind.empty()) selectors.emplace_back(f.flag(), f.selects_kind);
  }
  if (!selectors.empty()) {
    out += "\ncomponents (choose with the flag; --user-dir PATH loads plugins with more):\n";
    for (const auto& [flag, kind] : selectors) {
      RegistryBase* r = RegistryBase::find_kind(kind);
      std::string names;
      for (const auto& n : r ? r->names() : std::vector<std::string>{})
        names += (names.empty() ? "" : ", ") + n;
      out += fmt::format("  {:<26}{}\n", flag,
                         wrap(names.empty() ? "(none registered)" : names, 28, 72));
    }
  }
  out += "\n  --config FILE             read option values from a YAML or TOML file (keys = flag "
         "names)\n";
  out += "  --dump-config             print the resolved configuration as YAML and exit\n";
  out += selectors.empty()
             ? "  -h, --help                show this help\n"
             : "  -h, --help                show this help (add selectors to see their options)\n";
  std::set<std::string> shown;
  for (const auto& g : groups) {
    Fields fields = g.options.fields();
    std::string body;
    for (const auto& f : fields.list()) {
      // Selectors are listed above with their registered names.
      if (!f.selects_kind.empty() || !shown.insert(f.name).second) continue;
      std::string name = f.is_positional ? f.name : f.flag();
      for (const auto& a : f.alias_list) name = a + ", " + name;
      if (f.takes_many) {  // --inputs STR [STR ...]
        const std::string one = f.type_name().substr(0, f.type_name().find(','));
        name += " " + one + " [" + one + " ...]";
      } else if (!f.is_bool()) {
        name += " " + f.type_name();
      }
      std::string help = f.help;
      if (!f.choice_list.empty()) {
        std::string c;
        for (const auto& x : f.choice_list) c += (c.empty() ? "" : ",") + x;
        help += " {" + c + "}";
      }
      std::string def = f.value_string();
      if (!f.is_bool() || def == "true") help += fmt::format(" (default: {})", def.empty() ? "''" : def);
      if (name.size() >= 26) {  // no room for the separating space
        body += fmt::format("  {}\n{:28}{}\n", name, "", wrap(help, 28, 72));
      } else {
        body += fmt::format("  {:<26}{}\n", name, wrap(help, 28, 72));
      }
    }
    if (body.empty()) continue;
    std::string title = g.component.empty() ? g.name : fmt::format("{} ({})", g.name, g.component);
    out += fmt::format("\n{} options:\n{}", title, body);
  }
  return out;
}

}  // namespace trellis
