// The multi-phase parser: layering, YAML, value syntax, errors.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "core/cli_parser.h"
#include "core/programs.h"
#include "core/registry.h"
#include "core/train_options.h"
#include "core/interfaces/model.h"

namespace {

using trellis::AnyOptions;
using trellis::ConfigError;
using trellis::parse_command_line;

// A model registered only in the test binary, with an arch preset.
struct CliTestModelOptions {
  int64_t encoder_layers = 6;
  int64_t encoder_embed_dim = 256;
  std::vector<double> adam_like = {0.9, 0.999};
  double scale = 1.0;
  bool flag_on = false;
  template <class V>
  void visit(V& v) {
    v.field("encoder_layers", encoder_layers, "layers");
    v.field("encoder_embed_dim", encoder_embed_dim, "dim");
    v.field("adam_like", adam_like, "a tuple");
    v.field("scale", scale, "a float");
    v.field("flag_on", flag_on, "a boolean");
  }
};
struct CliTestModel : trellis::Model {
  CliTestModel(const CliTestModelOptions&, const trellis::ModelContext&) {}
};
TRELLIS_REGISTER(trellis::model_registry(), "cli_test_model", CliTestModel, CliTestModelOptions,
                 "test model");
TRELLIS_REGISTER_ARCH("cli_test_model_big", "cli_test_model", CliTestModelOptions,
                      [](CliTestModelOptions& o) {
                        o.encoder_layers = 12;
                        o.encoder_embed_dim = 512;
                        o.flag_on = true;
                      },
                      "test preset");

trellis::ParseResult parse(std::vector<std::string> args) {
  return parse_command_line(trellis::train_program(), args);
}

const CliTestModelOptions& model(const trellis::ParseResult& r) {
  return r.config.get<CliTestModelOptions>("arch");
}

std::string temp_file(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / ("trellis_cli_" + name);
  std::ofstream(path) << text;
  return path.string();
}

std::string error_of(std::vector<std::string> args) {
  try {
    parse(args);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("priority: default < arch preset < YAML < command line", "[unit][cli]") {
  auto r = parse({"data", "--arch", "cli_test_model_big"});
  CHECK(model(r).encoder_layers == 12);  // preset over default
  CHECK(model(r).encoder_embed_dim == 512);
  auto yaml = temp_file("prio.yaml", "encoder_embed_dim: 384\nencoder_layers: 7\n");
  r = parse({"data", "--arch", "cli_test_model_big", "--config", yaml});
  CHECK(model(r).encoder_layers == 7);  // YAML over preset
  CHECK(model(r).encoder_embed_dim == 384);
  r = parse({"data", "--arch", "cli_test_model_big", "--config", yaml, "--encoder-layers", "3"});
  CHECK(model(r).encoder_layers == 3);  // command line over YAML
  CHECK(model(r).encoder_embed_dim == 384);
  // The selector itself may come from the YAML file.
  auto sel = temp_file("sel.yaml", "arch: cli_test_model_big\n");
  r = parse({"data", "--config", sel});
  CHECK(r.config.component("arch") == "cli_test_model_big");
  CHECK(model(r).encoder_layers == 12);
}

TEST_CASE("fairseq value syntax: tuples, lists, scientific floats, booleans", "[unit][cli]") {
  auto r = parse({"d", "-a", "cli_test_model_big", "--adam-like", "(0.9, 0.98)", "--lr", "2e-3",
                  "--update-freq", "2", "--scale=-1.5", "--no-flag-on"});
  CHECK(model(r).adam_like == std::vector<double>{0.9, 0.98});
  CHECK(model(r).scale == -1.5);
  CHECK_FALSE(model(r).flag_on);
  const auto& opt = r.config.get<trellis::OptimizationOptions>("optimization");
  CHECK(opt.lr == std::vector<double>{0.002});
  CHECK(opt.update_freq == std::vector<int64_t>{2});
  r = parse({"d", "-a", "cli_test_model_big", "--adam-like", "[0.5,0.6]", "--lr", "0.1,0.2",
             "--update-freq", "1,2,4", "--scale", "-2"});
  CHECK(model(r).adam_like == std::vector<double>{0.5, 0.6});
  CHECK(model(r).scale == -2.0);
  CHECK(r.config.get<trellis::OptimizationOptions>("optimization").lr ==
        std::vector<double>{0.1, 0.2});
  CHECK(r.config.get<trellis::OptimizationOptions>("optimization").update_freq ==
        std::vector<int64_t>{1, 2, 4});
  const auto& ds = r.config.get<trellis::DatasetOptions>("dataset");
  CHECK_FALSE(ds.max_tokens.has_value());
  r = parse({"d", "--max-tokens", "40000", "--skip-invalid-size-inputs-valid-test"});
  CHECK(*r.config.get<trellis::DatasetOptions>("dataset").max_tokens == 40000);
  CHECK(r.config.get<trellis::DatasetOptions>("dataset").skip_invalid_size_inputs_valid_test);
}

TEST_CASE("a flag given twice keeps the last value", "[unit][cli]") {
  auto r = parse({"d", "--seed", "1", "--max-update", "10", "--seed", "5", "--seed=7"});
  CHECK(r.config.get<trellis::CommonOptions>("common").seed == 7);
  CHECK(r.config.get<trellis::OptimizationOptions>("optimization").max_update == 10);
  CHECK(r.config.get<trellis::DataRootOptions>("data").data == "d");
}

TEST_CASE("unknown flags suggest the nearest valid flag", "[unit][cli]") {
  CHECK_THAT(error_of({"d", "--max-token", "100"}),
             Catch::Contains("unrecognized argument --max-token") &&
                 Catch::Contains("did you mean --max-tokens?"));
  CHECK_THAT(error_of({"d", "--sead=3"}), Catch::Contains("did you mean --seed?"));
  // A model flag is only known once --arch selects that model (fairseq's two-pass parse).
  CHECK_THAT(error_of({"d", "--encoder-layers", "3"}), Catch::Contains("--encoder-layers"));
  CHECK_THAT(error_of({"d", "extra_positional"}),
             Catch::Contains("unrecognized argument 'extra_positional'"));
}

TEST_CASE("bad values name the flag", "[unit][cli]") {
  CHECK_THAT(error_of({"d", "--max-update", "ten"}),
             Catch::Contains("--max-update") && Catch::Contains("invalid integer"));
  CHECK_THAT(error_of({"d", "--log-format", "fancy"}),
             Catch::Contains("invalid choice 'fancy'") && Catch::Contains("simple"));
  CHECK_THAT(error_of({"d", "--update-freq", "0"}), Catch::Contains("--update-freq"));
  CHECK_THAT(error_of({"d", "--lr", "1e-3x"}), Catch::Contains("--lr"));
}

TEST_CASE("unknown component names list the registered ones", "[unit][cli]") {
  auto msg = error_of({"d", "--arch", "cli_test_model_bgi"});
  CHECK_THAT(msg, Catch::Contains("unknown arch 'cli_test_model_bgi'") &&
                      Catch::Contains("did you mean 'cli_test_model_big'") &&
                      Catch::Contains("--user-dir"));
}

TEST_CASE("YAML: unknown keys, nested sections, bad syntax", "[unit][cli][yaml]") {
  auto bad = temp_file("bad_key.yaml", "max_token: 10\n");
  CHECK_THAT(error_of({"d", "--config", bad}),
             Catch::Contains("bad_key.yaml") && Catch::Contains("unknown key 'max_token'") &&
                 Catch::Contains("did you mean 'max_tokens'"));
  auto nested = temp_file("nested.yaml",
                          "common:\n  seed: 9\noptimization:\n  lr: [0.001, 0.0005]\n"
                          "max-update: 77\n");
  auto r = parse({"d", "--config", nested});
  CHECK(r.config.get<trellis::CommonOptions>("common").seed == 9);
  CHECK(r.config.get<trellis::OptimizationOptions>("optimization").lr ==
        std::vector<double>{0.001, 0.0005});
  CHECK(r.config.get<trellis::OptimizationOptions>("optimization").max_update == 77);
  auto broken = temp_file("broken.yaml", "seed: [1, 2\n");
  CHECK_THAT(error_of({"d", "--config", broken}), Catch::Contains("broken.yaml"));
  CHECK_THAT(error_of({"d", "--config", "/nonexistent/x.yaml"}),
             Catch::Contains("/nonexistent/x.yaml"));
}

TEST_CASE("dump-config output round trips through --config", "[unit][cli][yaml]") {
  auto r = parse({"/data/root", "-a", "cli_test_model_big", "--adam-like", "(0.9, 0.98)", "--lr",
                  "2e-3", "--update-freq", "2", "--save-dir", "out dir", "--train-subset",
                  "train_a,train_b", "--max-tokens", "40000", "--dump-config"});
  REQUIRE(r.exit_now);
  const std::string dump = r.output;
  CHECK_THAT(dump, Catch::Contains("adam_like: [0.9, 0.98]"));
  CHECK_THAT(dump, Catch::Contains("update_freq: [2]"));
  CHECK_THAT(dump, Catch::Contains("lr: [0.002]"));
  CHECK_THAT(dump, Catch::Contains("max_tokens: 40000"));
  CHECK_THAT(dump, Catch::Contains("batch_size: ~"));
  auto file = temp_file("roundtrip.yaml", dump);
  auto again = parse({"--config", file, "--dump-config"});
  CHECK(again.output == dump);
  CHECK(model(again).encoder_layers == 12);
  CHECK(again.config.get<trellis::CheckpointOptions>("checkpoint").save_dir == "out dir");
}

TEST_CASE("help lists registries and the selected component's options", "[unit][cli]") {
  auto r = parse({"--help"});
  REQUIRE(r.exit_now);
  CHECK_THAT(r.output, Catch::Contains("--lr-scheduler") && Catch::Contains("--max-tokens") &&
                           Catch::Contains("cli_test_model_big"));
  CHECK_THAT(r.output, !Catch::Contains("--encoder-layers"));
  r = parse({"--arch", "cli_test_model_big", "--help"});
  CHECK_THAT(r.output, Catch::Contains("arch (cli_test_model_big) options") &&
                           Catch::Contains("--encoder-layers INT") &&
                           Catch::Contains("(default: 12)"));
}
