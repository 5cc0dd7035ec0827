#include "core/config_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <tuple>

#include "core/error.h"
#include "core/options.h"

// toml++ (libtomlplusplus-dev), header-only in this file only.
#include <toml++/toml.h>

namespace trellis {
namespace {

// Section names a nested YAML file (fairseq's dumped configs) may group its keys under.
const std::set<std::string> kYamlSections = {
    "common", "dataset", "optimization", "checkpoint", "distributed_training", "task",
    "model", "arch", "criterion", "optimizer", "lr_scheduler", "generation", "bpe", "scoring"};

// A TOML value in the text syntax of the flags ("5e-05", "true", "20000.0").
YAML::Node toml_value(const toml::node& node, const std::string& where) {
  switch (node.type()) {
    case toml::node_type::string:
      return YAML::Node(node.as_string()->get());
    case toml::node_type::integer:
      return YAML::Node(std::to_string(node.as_integer()->get()));
    case toml::node_type::floating_point: {
      std::string text = fmt::format("{}", node.as_floating_point()->get());
      // Keep a float a float ("20000.0", not "20000"): an integer option refuses it.
      if (text.find_first_of(".en") == std::string::npos) text += ".0";
      return YAML::Node(text);
    }
    case toml::node_type::boolean:
      return YAML::Node(node.as_boolean()->get() ? "true" : "false");
    case toml::node_type::array: {
      YAML::Node seq(YAML::NodeType::Sequence);
      for (const auto& item : *node.as_array()) {
        if (item.is_array() || item.is_table())
          throw ConfigError(where + ": nested arrays and tables are not option values");
        seq.push_back(toml_value(item, where));
      }
      return seq;
    }
    default:
      throw ConfigError(where + ": dates and times are not option values");
  }
}

struct TomlEntry {
  std::string key;
  std::string table;  // "" = the top level
  toml::source_position at;
  const toml::node* value;  // (a YAML::Node would not do: its assignment writes through)
};

// Tables only group keys: their entries are collected under the plain key names.
void flatten(const toml::table& table, const std::string& table_name,
             std::vector<TomlEntry>& out) {
  for (const auto& [k, node] : table) {
    const std::string name(k.str());
    const std::string key = to_key(name);
    const toml::source_position at = node.source().begin;
    if (const toml::table* inner = node.as_table()) {
      flatten(*inner, table_name.empty() ? name : table_name + "." + name, out);
      continue;
    }
    out.push_back({key, table_name, at, &node});
  }
}

std::string table_label(const std::string& table) {
  return table.empty() ? "the top level" : "[" + table + "]";
}

}  // namespace

ConfigEntries read_yaml_config(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw ConfigError(fmt::format("--config: cannot read '{}'", path));
  } catch (const YAML::Exception& e) {
    throw ConfigError(fmt::format("{}: line {}: {}", path, e.mark.line + 1, e.msg));
  }
  ConfigEntries out;
  if (root.IsNull()) return out;
  if (!root.IsMap()) throw ConfigError(fmt::format("{}: expected a mapping of keys", path));
  try {  // a key that is a list or mapping (`? [a]: 1`) has no text (found by fuzz_config_file)
    for (const auto& kv : root) {
      std::string key = to_key(kv.first.as<std::string>());
      if (kv.second.IsMap() && kYamlSections.count(key)) {
        for (const auto& inner : kv.second) {
          out.emplace_back(to_key(inner.first.as<std::string>()), inner.second);
        }
      } else {
        out.emplace_back(key, kv.second);
      }
    }
  } catch (const YAML::Exception& e) {
    throw ConfigError(fmt::format("{}: line {}: a key that is not plain text ({})", path,
                                  e.mark.line + 1, e.msg));
  }
  return out;
}

ConfigEntries read_toml_config(const std::string& path) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    if (!std::ifstream(path).good())
      throw ConfigError(fmt::format("--config: cannot read '{}'", path));
    throw ConfigError(fmt::format("{}: line {}, column {}: {}", path, e.source().begin.line,
                                  e.source().begin.column, e.description()));
  }
  std::vector<TomlEntry> entries;
  flatten(root, "", entries);
  // toml++ keeps a table's keys sorted: back to the order of the file.
  std::stable_sort(entries.begin(), entries.end(), [](const TomlEntry& a, const TomlEntry& b) {
    return std::tie(a.at.line, a.at.column) < std::tie(b.at.line, b.at.column);
  });
  ConfigEntries out;
  std::map<std::string, const TomlEntry*> seen;
  for (const auto& e : entries) {
    auto [it, fresh] = seen.emplace(e.key, &e);
    if (!fresh) {
      throw ConfigError(fmt::format("{}: line {}: key '{}' is given twice (line {} in {}, and "
                                    "in {}); a table only groups keys",
                                    path, e.at.line, e.key, it->second->at.line,
                                    table_label(it->second->table), table_label(e.table)));
    }
    out.emplace_back(e.key,
                     toml_value(*e.value, fmt::format("{}: line {}: {}", path, e.at.line, e.key)));
  }
  return out;
}

ConfigEntries read_config_file(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  if (ext == ".toml") return read_toml_config(path);
  if (ext == ".yaml" || ext == ".yml") return read_yaml_config(path);
  // Another name: YAML, unless the text is no YAML mapping but valid TOML ("key = value").
  try {
    return read_yaml_config(path);
  } catch (const ConfigError&) {
    bool is_toml = false;
    try {
      is_toml = !toml::parse_file(path).empty();
    } catch (const toml::parse_error&) {
    }
    if (!is_toml) throw;
  }
  return read_toml_config(path);
}

}  // namespace trellis
