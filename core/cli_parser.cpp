#include "core/cli_parser.h"

#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <map>
#include <set>

#include "core/config_file.h"
#include "core/plugin_loader.h"
#include "core/registry.h"

namespace trellis {
namespace {

// The values given for `names` on the command line (--flag v, --flag=v), in order.
std::vector<std::string> scan_values(const std::vector<std::string>& args,
                                     const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    for (const auto& n : names) {
      if (args[i] == n && i + 1 < args.size()) {
        out.push_back(args[i + 1]);
      } else if (args[i].rfind(n + "=", 0) == 0) {
        out.push_back(args[i].substr(n.size() + 1));
      }
    }
  }
  return out;
}

bool has_arg(const std::vector<std::string>& args, const std::string& a) {
  return std::find(args.begin(), args.end(), a) != args.end();
}

std::vector<std::string> flags_of(const Field& f) {
  std::vector<std::string> names{f.flag()};
  names.insert(names.end(), f.alias_list.begin(), f.alias_list.end());
  return names;
}

std::string yaml_text(const YAML::Node& node, const std::string& where) {
  if (node.IsNull()) return "None";
  if (node.IsScalar()) return node.Scalar();
  if (node.IsSequence()) {
    std::string s;
    for (const auto& item : node) {
      if (!item.IsScalar()) throw ConfigError(where + ": nested lists are not supported");
      s += (s.empty() ? "" : ",") + item.Scalar();
    }
    return s;
  }
  throw ConfigError(where + ": expected a value or a list, found a mapping");
}

// All fields of all groups, by key (a key may be shared by two groups of the same type).
std::map<std::string, std::vector<Field*>> index_fields(std::vector<Fields>& all) {
  std::map<std::string, std::vector<Field*>> by_key;
  for (auto& fields : all) {
    for (auto& f : fields.list()) {
      auto& slot = by_key[f.name];
      if (!slot.empty() && !slot.front()->same_type(f)) {
        throw Error(fmt::format("option '{}' is declared twice with different types", f.name));
      }
      slot.push_back(&f);
    }
  }
  return by_key;
}

void set_all(const std::vector<Field*>& fields, const std::string& text, const std::string& where,
             bool append = false) {
  for (Field* f : fields) {
    if (append) f->append_from_string(text, where);
    else f->set_from_string(text, where);
  }
}

// Resolves the selector fields: each selected component adds its option group, whose own
// selector fields are resolved in turn (e.g. ctc_multi_loss -> --underlying-criterion).
std::vector<ConfigGroup> resolve_groups(
    const ProgramSpec& spec, const std::vector<std::string>& args,
    const ConfigEntries& entries, const std::string& config_path) {
  std::vector<ConfigGroup> groups;
  for (const auto& [name, options] : spec.groups) groups.push_back({name, "", "", options.clone()});
  std::set<std::string> seen;
  for (size_t g = 0; g < groups.size(); ++g) {
    Fields fields = groups[g].options.fields();
    for (auto& f : fields.list()) {
      if (f.selects_kind.empty() || seen.count(f.name)) continue;
      seen.insert(f.name);
      std::string value = f.value_string();
      for (const auto& [key, node] : entries)
        if (key == f.name) value = yaml_text(node, config_path + ": " + key);
      auto cli = scan_values(args, flags_of(f));
      if (!cli.empty()) value = cli.back();
      f.set_from_string(value, f.flag());
      if (value.empty()) continue;
      RegistryBase* registry = RegistryBase::find_kind(f.selects_kind);
      if (registry == nullptr) {
        throw Error(fmt::format("{}: no registry of kind '{}'", f.flag(), f.selects_kind));
      }
      groups.push_back({f.name, f.selects_kind, value, registry->make_options(value)});
    }
  }
  return groups;
}

[[noreturn]] void unknown_flag(const std::string& arg, const std::vector<std::string>& flags) {
  std::string flag = arg.substr(0, arg.find('='));
  std::string near = nearest(flag, flags);
  throw ConfigError(fmt::format("unrecognized argument {}{}", flag,
                                near.empty() ? "" : fmt::format("; did you mean {}?", near)));
}

}  // namespace

const ConfigGroup* Config::find(const std::string& name) const {
  for (const auto& g : groups_)
    if (g.name == name) return &g;
  return nullptr;
}

std::string Config::component(const std::string& name) const {
  const ConfigGroup* g = find(name);
  return g ? g->component : "";
}

std::string Config::to_yaml(const std::string& program) const {
  YAML::Emitter out;
  out << YAML::Comment(fmt::format("trellis {}: resolved configuration", program));
  out << YAML::BeginMap;
  std::set<std::string> written;
  for (const auto& g : groups_) {
    out << YAML::Newline
        << YAML::Comment(g.component.empty() ? g.name : g.name + ": " + g.component);
    Fields fields = g.options.fields();
    for (const auto& f : fields.list()) {
      if (!written.insert(f.name).second) continue;
      out << YAML::Key << f.name << YAML::Value;
      std::string v = f.value_string();
      if (std::holds_alternative<std::string*>(f.ref)) {
        out << YAML::DoubleQuoted << v;
      } else if (f.is_list()) {
        out << YAML::Flow << YAML::BeginSeq;
        std::string item;
        bool strings = std::holds_alternative<std::vector<std::string>*>(f.ref);
        for (size_t i = 0, start = 0; i <= v.size() && !v.empty(); ++i) {
          if (i == v.size() || v[i] == ',') {
            item = v.substr(start, i - start);
            if (strings) out << YAML::DoubleQuoted;
            out << item;
            start = i + 1;
          }
        }
        out << YAML::EndSeq;
      } else if (v == "None") {
        out << YAML::Null;
      } else {
        out << v;
      }
    }
  }
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

ParseResult parse_command_line(const ProgramSpec& spec, const std::vector<std::string>& args) {
  // Phase 0: plugins and the --config file (YAML or TOML) come first (they add names and
  // values).
  for (const auto& dir : scan_values(args, {"--user-dir"})) load_user_dir(dir);
  ConfigEntries entries;
  auto config_files = scan_values(args, {"--config"});
  std::string config_path = config_files.empty() ? "" : config_files.back();
  if (!config_path.empty()) entries = read_config_file(config_path);
  const bool help = has_arg(args, "-h") || has_arg(args, "--help");

  // Phase 1: selected components (defaults already carry the arch preset).
  ParseResult result;
  result.config.mutable_groups() = resolve_groups(spec, args, entries, config_path);
  auto& groups = result.config.mutable_groups();
  if (help) {
    result.exit_now = true;
    result.output = format_help(spec, groups);
    return result;
  }

  // Phase 2: the --config file over defaults and presets.
  std::vector<Fields> all;
  for (auto& g : groups) all.push_back(g.options.fields());
  auto by_key = index_fields(all);
  std::vector<std::string> keys;
  for (const auto& [k, v] : by_key) keys.push_back(k);
  for (const auto& [key, node] : entries) {
    auto it = by_key.find(key);
    if (it == by_key.end()) {
      std::string near = nearest(key, keys);
      throw ConfigError(fmt::format("{}: unknown key '{}'{}", config_path, key,
                                    near.empty() ? "" : fmt::format("; did you mean '{}'?", near)));
    }
    set_all(it->second, yaml_text(node, config_path + ": " + key), config_path + ": " + key);
  }

  // Phase 3: the command line, strictly.
  CLI::App app(spec.description, spec.name);
  app.allow_extras(true);
  app.set_help_flag();
  std::vector<std::string> known_flags{"--config", "--dump-config", "--help"};
  std::string config_ignored;
  app.add_option("--config", config_ignored);
  app.add_flag("--dump-config");
  for (auto& [key, fields] : by_key) {
    const Field& f = *fields.front();
    auto targets = fields;
    std::string names;
    for (const auto& n : flags_of(f)) names += (names.empty() ? "" : ",") + n;
    if (f.is_positional && f.takes_many) {  // every remaining positional (transcribe's inputs)
      app.add_option_function<std::vector<std::string>>(
             key,
             [targets, key](const std::vector<std::string>& vs) {
               set_all(targets, "", key);
               for (const auto& v : vs) set_all(targets, v, key, /*append=*/true);
             },
             f.help)
          ->expected(0, -1);
      continue;
    }
    if (f.is_positional) {
      app.add_option_function<std::string>(
          key, [targets, key](const std::string& v) { set_all(targets, v, key); }, f.help);
      continue;
    }
    known_flags.insert(known_flags.end(), f.alias_list.begin(), f.alias_list.end());
    known_flags.push_back(f.flag());
    const std::string flag = f.flag();
    if (f.is_bool()) {
      app.add_flag_function(names, [targets, flag](int64_t) { set_all(targets, "true", flag); },
                            f.help);
      // --no-X turns off a boolean that a preset or the --config file turned on.
      std::string no_flag = "--no-" + f.flag().substr(2);
      if (key.rfind("no_", 0) != 0 && !by_key.count(to_key(no_flag))) {
        app.add_flag_function(no_flag, [targets, flag](int64_t) { set_all(targets, "false", flag); });
        known_flags.push_back(no_flag);
      }
    } else if (f.takes_many || f.is_repeatable) {
      // takes_many: --inputs a.pt b.pt, one list (argparse's nargs='+'); repeatable: --user-dir
      // given several times, one value each. Either way the values accumulate.
      app.add_option_function<std::vector<std::string>>(
             names,
             [targets, flag](const std::vector<std::string>& vs) {
               set_all(targets, "", flag);
               for (const auto& v : vs) set_all(targets, v, flag, /*append=*/true);
             },
             f.help)
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
          ->expected(1, f.takes_many ? -1 : 1);
    } else {
      app.add_option_function<std::string>(
             names, [targets, flag](const std::string& v) { set_all(targets, v, flag); }, f.help)
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    }
  }
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    throw ConfigError(e.what());
  }
  for (const auto& extra : app.remaining()) {
    if (extra.size() > 1 && extra[0] == '-') unknown_flag(extra, known_flags);
    throw ConfigError(fmt::format("unrecognized argument '{}'", extra));
  }
  for (auto& g : groups) g.options.validate();
  if (has_arg(args, "--dump-config")) {
    result.exit_now = true;
    result.output = result.config.to_yaml(spec.name);
  }
  return result;
}

}  // namespace trellis
