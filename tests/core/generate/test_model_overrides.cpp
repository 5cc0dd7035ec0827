// --model-overrides: the Python dict literal fairseq takes, read into (name, value) pairs in
// command-line syntax; malformed literals name the character. Applying them to a checkpoint's
// configuration is tested on a real checkpoint in tests/integration/test_generate.cpp.
#include <catch2/catch.hpp>

#include "core/error.h"
#include "core/generate/model_overrides.h"

using namespace trellis;
using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST_CASE("parse_model_overrides: fairseq's dict literals", "[unit][generate]") {
  CHECK(parse_model_overrides("").empty());
  CHECK(parse_model_overrides("{}").empty());
  CHECK(parse_model_overrides(" { } ").empty());
  CHECK(parse_model_overrides("{'batch_unsafe_relative_shift': False}") ==
        Pairs{{"batch_unsafe_relative_shift", "false"}});
  CHECK(parse_model_overrides(
            "{\"dropout\": 0.2, 'encoder_layers': 12, 'ctc_compress_strategy': \"avg\", "
            "'max_source_positions': None, 'adam_betas': [0.9, 0.98], 'x': -1e-3, 'on': True,}") ==
        Pairs{{"dropout", "0.2"},
              {"encoder_layers", "12"},
              {"ctc_compress_strategy", "avg"},
              {"max_source_positions", "None"},
              {"adam_betas", "0.9,0.98"},
              {"x", "-1e-3"},
              {"on", "true"}});
  CHECK(parse_model_overrides("{'path': '/a b/c:d'}") == Pairs{{"path", "/a b/c:d"}});
}

TEST_CASE("parse_model_overrides: malformed literals name where they fail", "[unit][generate]") {
  auto message = [](const std::string& text) {
    try {
      parse_model_overrides(text);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(message("dropout=0.2").find("'{' expected at character 1") != std::string::npos);
  CHECK(message("{dropout: 0.2}").find("a quoted name or string expected at character 2") !=
        std::string::npos);
  CHECK(message("{'dropout' 0.2}").find("':' expected") != std::string::npos);
  CHECK(message("{'dropout': 0.2").find("'}' expected") != std::string::npos);
  CHECK(message("{'a': 'x}").find("unterminated string") != std::string::npos);
  CHECK(message("{'a': avg}").find("'avg' is not a value") != std::string::npos);
  CHECK(message("{'a': []}").find("an empty list") != std::string::npos);
  CHECK(message("{'a': 1} x").find("text after the closing '}'") != std::string::npos);
  CHECK(message("{'a': [[1]]}").find("a value expected") != std::string::npos);
}
