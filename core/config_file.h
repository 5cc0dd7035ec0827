#pragma once
// The files `--config FILE` reads (core/cli_parser.h), as one flat list of key -> value in file
// order, keys named like the flags (`max_tokens` or `max-tokens` for --max-tokens):
//   YAML  flat keys, or fairseq's nested sections (common:, optimization:, ...);
//   TOML  the same keys; a [table] only groups keys (its name is not part of the key), arrays
//         are the comma lists the flags take, booleans, integers, floats and strings are the
//         flag values. A key given twice (in two tables) is an error.
// The format comes from the extension (.toml; .yaml, .yml), else from the content: YAML, or
// TOML when the text is not a YAML mapping but is valid TOML.

#include <yaml-cpp/yaml.h>

#include <string>
#include <utility>
#include <vector>

namespace trellis {

// key -> value (a scalar or a sequence of scalars; TOML values are converted to YAML nodes).
using ConfigEntries = std::vector<std::pair<std::string, YAML::Node>>;

// Throws ConfigError naming the file (and the line of a syntax error).
ConfigEntries read_config_file(const std::string& path);
ConfigEntries read_yaml_config(const std::string& path);
ConfigEntries read_toml_config(const std::string& path);

}  // namespace trellis
