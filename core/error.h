#pragma once
// Typed errors. Library code throws these; only main() turns them into exit codes
// (ConfigError -> 2, anything else -> 1). Messages name the file, line, flag or sample at fault.

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace trellis {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A bad flag, YAML key, option value or registry name. Exit code 2, like argparse.
class ConfigError : public Error {
 public:
  using Error::Error;
};

// Broken input data: manifests, audio, vocabularies.
class DataError : public Error {
 public:
  using Error::Error;
};

class CheckpointError : public Error {
 public:
  using Error::Error;
};

class PluginError : public Error {
 public:
  using Error::Error;
};

// Throws E(fmt::format(...)) when cond is false.
#define TRELLIS_CHECK(cond, E, ...)                 \
  do {                                              \
    if (!(cond)) throw E(fmt::format(__VA_ARGS__)); \
  } while (0)

}  // namespace trellis
