#pragma once
// fairseq-style multi-phase command-line parsing (docs/architecture.md, "Parsing"):
//   0. --user-dir PATH (repeatable) loads plugins; --config FILE reads a YAML or TOML file
//      (core/config_file.h);
//   1. selector fields (--task --arch --criterion --optimizer --lr-scheduler, and any
//      component option that selects another component, e.g. --underlying-criterion) pick the
//      components whose option groups are added;
//   2. values are layered: struct default < arch preset < --config file < command line;
//   3. the command line is parsed strictly: an unknown flag is an error that suggests the
//      nearest valid flag (exit code 2), a flag given twice keeps the last value.
// `--help` prints every registry's names and the options of the selected components;
// `--dump-config` prints the resolved YAML (which --config reads back) and exits.

#include <string>
#include <vector>

#include "core/error.h"
#include "core/options.h"

namespace trellis {

// What a program (train, generate, ...) accepts besides the components it selects.
struct ProgramSpec {
  std::string name;         // "train"
  std::string description;  // one paragraph for --help
  std::vector<std::pair<std::string, AnyOptions>> groups;  // fixed groups, in --help order
};

// One group of resolved options: a fixed group ("common") or a selected component.
struct ConfigGroup {
  std::string name;       // "common", or the selector field: "task", "arch", "criterion", ...
  std::string kind;       // registry kind of a component group ("task", "arch", ...), else ""
  std::string component;  // the selected registry name, else ""
  AnyOptions options;
};

class Config {
 public:
  const std::vector<ConfigGroup>& groups() const { return groups_; }
  const ConfigGroup* find(const std::string& name) const;
  // The selected component of a selector ("criterion" -> "ctc"), or "" when none.
  std::string component(const std::string& name) const;
  template <class O>
  const O& get(const std::string& name) const {
    const ConfigGroup* g = find(name);
    if (g == nullptr) throw Error("no option group named '" + name + "'");
    return g->options.as<O>();
  }
  // The resolved configuration as YAML (flat keys, one comment line per group); --config reads
  // it back to the same values.
  std::string to_yaml(const std::string& program) const;

  std::vector<ConfigGroup>& mutable_groups() { return groups_; }

 private:
  std::vector<ConfigGroup> groups_;
};

struct ParseResult {
  Config config;
  bool exit_now = false;  // --help or --dump-config was handled: print `output`, exit 0
  std::string output;
};

// args excludes the program name. Throws ConfigError (bad flag, value, key, name) and
// PluginError (a --user-dir library that cannot be loaded).
ParseResult parse_command_line(const ProgramSpec& spec, const std::vector<std::string>& args);

// The --help text for the given groups (used by parse_command_line).
std::string format_help(const ProgramSpec& spec, const std::vector<ConfigGroup>& groups);

}  // namespace trellis
