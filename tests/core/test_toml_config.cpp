// --config FILE.toml (core/config_file.h): the same keys as the YAML form, tables as grouping
// only, TOML types to flag values, clear errors; and the programs whose options are one struct
// (prepare, plot, average_checkpoints: core/programs.h) through the same parser.
#include <catch2/catch.hpp>

#include <fstream>

#include "core/checkpoint_average.h"
#include "core/cli_parser.h"
#include "core/config_file.h"
#include "core/data/prepare.h"
#include "core/plot/plot_metrics.h"
#include "core/programs.h"
#include "core/train_options.h"
#include "run_command.h"

namespace {

using trellis::ConfigError;
using trellis::parse_command_line;

std::string write(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

std::string resolved(const trellis::ProgramSpec& spec, const std::vector<std::string>& args) {
  return parse_command_line(spec, args).config.to_yaml(spec.name);
}

const std::vector<std::string> kFlags = {
    "DATA",         "--task",         "speech_to_text_ctc", "--criterion",  "ctc",
    "--optimizer",  "adamw",          "--lr-scheduler",     "onecycle",     "--lr",
    "5e-05",        "--adam-betas",   "(0.9, 0.98)",        "--max-tokens", "1280000",
    "--update-freq", "2",             "--clip-norm",        "5",            "--no-epoch-checkpoints",
    "--valid-subset", "dev",          "--best-checkpoint-metric", "wer",    "--zero-infinity",
    "--max-update", "20000"};

const char* kYaml = R"(task: speech_to_text_ctc
criterion: ctc
optimizer: adamw
lr_scheduler: onecycle
optimization:
  lr: [5e-05]
  max_update: 20000
  update_freq: [2]
  clip_norm: 5
adam_betas: [0.9, 0.98]
max_tokens: 1280000
no_epoch_checkpoints: true
valid_subset: dev
best_checkpoint_metric: wer
zero_infinity: true
user_dir: []
)";

const char* kToml = R"(# the same settings, grouped by tables
task = "speech_to_text_ctc"
criterion = "ctc"
optimizer = "adamw"
lr-scheduler = "onecycle"   # dashed keys too, like the flags
user_dir = []

[optimization]
lr = [5e-05]
max_update = 20000
update_freq = [2]
clip_norm = 5.0

[optimizer_options]
adam_betas = [0.9, 0.98]

[dataset.sizes]
max_tokens = 1_280_000

[checkpoint]
no_epoch_checkpoints = true
valid_subset = "dev"
best_checkpoint_metric = "wer"
zero_infinity = true
)";

}  // namespace

TEST_CASE("TOML --config: the same settings as YAML and as flags resolve alike",
          "[unit][cli][toml]") {
  const std::string dir = trellis::testing::fresh_dir("toml_same");
  const std::string yaml = write(dir, "run.yaml", kYaml);
  const std::string toml = write(dir, "run.toml", kToml);
  const auto train = trellis::train_program();
  const std::string from_flags = resolved(train, kFlags);
  CHECK(resolved(train, {"DATA", "--config", yaml}) == from_flags);
  CHECK(resolved(train, {"DATA", "--config", toml}) == from_flags);

  const trellis::Config config = parse_command_line(train, {"DATA", "--config", toml}).config;
  CHECK(config.component("lr_scheduler") == "onecycle");
  const auto& opt = config.get<trellis::OptimizationOptions>("optimization");
  CHECK(opt.lr == std::vector<double>{5e-05});
  CHECK(opt.update_freq == std::vector<int64_t>{2});
  CHECK(opt.clip_norm == 5.0);
  CHECK(config.get<trellis::DatasetOptions>("dataset").max_tokens == 1280000);

  // The command line wins over the file; --dump-config of a TOML run reads back as YAML.
  const auto over = parse_command_line(train, {"DATA", "--config", toml, "--max-update", "7"});
  CHECK(over.config.get<trellis::OptimizationOptions>("optimization").max_update == 7);
  const auto dumped = parse_command_line(train, {"DATA", "--config", toml, "--dump-config"});
  REQUIRE(dumped.exit_now);
  const std::string back = write(dir, "dumped.yaml", dumped.output);
  CHECK(resolved(train, {"--config", back}) == from_flags);

  // Another extension: the content decides (a TOML text is no YAML mapping).
  CHECK(resolved(train, {"DATA", "--config", write(dir, "run.conf", kToml)}) == from_flags);
  CHECK(resolved(train, {"DATA", "--config", write(dir, "run.cfg", kYaml)}) == from_flags);
}

TEST_CASE("TOML --config: type errors, unknown and repeated keys name the file",
          "[unit][cli][toml]") {
  const std::string dir = trellis::testing::fresh_dir("toml_errors");
  const auto train = trellis::train_program();
  auto error_of = [&](const std::string& name, const std::string& text) {
    const std::string path = write(dir, name, text);
    try {
      parse_command_line(train, {"DATA", "--config", path});
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  // Type errors: the file, the key and the value.
  CHECK(error_of("str.toml", "max_tokens = \"many\"\n") ==
        dir + "/str.toml: max_tokens: invalid integer value 'many'");
  CHECK(error_of("float.toml", "[optimization]\nmax_update = 2e4\n") ==
        dir + "/float.toml: max_update: invalid integer value '20000.0'");
  CHECK_THAT(error_of("bool.toml", "lr = [true]\n"),
             Catch::Contains("bool.toml: lr: invalid float value 'true'"));
  CHECK_THAT(error_of("flag.toml", "cpu = 3\n"),
             Catch::Contains("flag.toml: cpu: invalid boolean value '3'"));
  CHECK_THAT(error_of("date.toml", "seed = 1979-05-27\n"),
             Catch::Contains("date.toml: line 1: seed: dates and times are not option values"));
  CHECK_THAT(error_of("nested.toml", "lr = [[0.1], [0.2]]\n"),
             Catch::Contains("nested.toml: line 1: lr: nested arrays"));
  CHECK_THAT(error_of("choice.toml", "log_format = \"fancy\"\n"),
             Catch::Contains("choice.toml: log_format: invalid choice 'fancy'"));
  // Unknown keys suggest the nearest one, as for YAML.
  CHECK(error_of("unknown.toml", "[dataset]\nmax_tokenz = 5\n") ==
        dir + "/unknown.toml: unknown key 'max_tokenz'; did you mean 'max_tokens'?");
  // Tables only group keys: one key in two tables is an error.
  CHECK(error_of("twice.toml", "[optimization]\nlr = [0.1]\n\n[optimizer]\nlr = [0.2]\n") ==
        dir + "/twice.toml: line 5: key 'lr' is given twice (line 2 in [optimization], and in "
              "[optimizer]); a table only groups keys");
  // Syntax errors name the line and column.
  CHECK_THAT(error_of("syntax.toml", "seed = 1\nlr = 0.1 0.2\n"),
             Catch::StartsWith(dir + "/syntax.toml: line 2, column"));
  CHECK(error_of("empty.toml", "# nothing\n") == "no error");
  CHECK_THROWS_WITH(parse_command_line(train, {"--config", dir + "/none.toml"}),
                    "--config: cannot read '" + dir + "/none.toml'");
  // Another extension that is neither YAML nor TOML: the YAML error.
  CHECK_THAT(error_of("bad.conf", "[x\n"), Catch::Contains("bad.conf: line"));
}

TEST_CASE("read_toml_config: keys in file order, values in flag syntax", "[unit][cli][toml]") {
  const std::string dir = trellis::testing::fresh_dir("toml_entries");
  const auto entries = trellis::read_config_file(
      write(dir, "c.toml",
            "zeta = 1\nalpha = 0.5\n[b]\nmid = \"x\"\nflag = false\nbig = 1e300\nlist = "
            "[\"a\", \"b\"]\n[a]\nneg = -inf\n"));
  std::vector<std::string> keys, values;
  for (const auto& [k, v] : entries) {
    keys.push_back(k);
    values.push_back(v.IsSequence() ? v[0].Scalar() + "," + v[1].Scalar() : v.Scalar());
  }
  CHECK(keys == std::vector<std::string>{"zeta", "alpha", "mid", "flag", "big", "list", "neg"});
  CHECK(values == std::vector<std::string>{"1", "0.5", "x", "false", "1e+300", "a,b", "-inf"});
}

TEST_CASE("prepare, plot, average_checkpoints: options declared once", "[unit][cli][toml]") {
  const std::string dir = trellis::testing::fresh_dir("toml_programs");

  SECTION("prepare: defaults are PrepareOptions' own; flags, YAML and TOML agree") {
    const auto spec = trellis::prepare_program();
    const auto defaults = parse_command_line(spec, {}).config.get<trellis::PrepareOptions>("prepare");
    CHECK(defaults.splits == trellis::PrepareOptions{}.splits);
    CHECK(defaults.seed == 1);
    CHECK(defaults.progress);
    const std::vector<std::string> flags = {
        "--input", "a.tsv,b.tsv", "--output-dir", "out", "--volume", "1,0.5", "--features",
        "raw", "--vocab-type", "char", "--splits", "train:0.9,dev:0.05,test:0.05",
        "--no-progress", "--src-text-from", "tgt"};
    const auto o = parse_command_line(spec, flags).config.get<trellis::PrepareOptions>("prepare");
    CHECK(o.inputs == std::vector<std::string>{"a.tsv", "b.tsv"});
    CHECK(o.volume == std::vector<double>{1, 0.5});
    CHECK(!o.progress);
    const std::string toml = write(
        dir, "prepare.toml",
        "input = [\"a.tsv\", \"b.tsv\"]\noutput_dir = \"out\"\nvolume = [1, 0.5]\nfeatures = "
        "\"raw\"\nvocab_type = \"char\"\nsplits = [\"train:0.9\", \"dev:0.05\", \"test:0.05\"]\n"
        "progress = false\nsrc_text_from = \"tgt\"\n");
    CHECK(resolved(spec, {"--config", toml}) == resolved(spec, flags));
    const std::string yaml = write(dir, "prepare.yaml", resolved(spec, flags));
    CHECK(resolved(spec, {"--config", yaml}) == resolved(spec, flags));
    CHECK_THROWS_WITH(parse_command_line(spec, {"--vocab-type", "word"}),
                      Catch::Contains("--vocab-type: invalid choice 'word'"));
    CHECK_THROWS_WITH(parse_command_line(spec, {"--seed", "-1"}), Catch::Contains("--seed -1"));
    CHECK_THROWS_WITH(parse_command_line(spec, {"--volume", "half"}),
                      Catch::Contains("--volume: invalid float value 'half'"));
    const std::string help = parse_command_line(spec, {"--help"}).output;
    CHECK_THAT(help, Catch::StartsWith("usage: prepare [options]") &&
                         Catch::Contains("--input-format STR") && Catch::Contains("--no-progress"));
  }
  SECTION("plot: a positional, -o, lists") {
    const auto spec = trellis::plot_program();
    const auto o = parse_command_line(spec, {"runs/a", "-o", "x.svg", "--metrics", "lr,gnorm",
                                             "--log-y", "lr", "--width", "900"})
                       .config.get<trellis::plot::PlotOptions>("plot");
    CHECK(o.input == "runs/a");
    CHECK(o.output == "x.svg");
    CHECK(o.metrics == std::vector<std::string>{"lr", "gnorm"});
    CHECK(o.log_y == std::vector<std::string>{"lr"});
    CHECK(o.width == 900);
    CHECK(o.panel_height == trellis::plot::PlotOptions{}.panel_height);
    const std::string toml = write(dir, "plot.toml",
                                   "save_dir_or_jsonl = \"runs/a\"\noutput = \"x.svg\"\nmetrics = "
                                   "[\"lr\", \"gnorm\"]\nlog_y = [\"lr\"]\nwidth = 900\n");
    CHECK(resolved(spec, {"--config", toml}) ==
          resolved(spec, {"runs/a", "--output", "x.svg", "--metrics", "lr,gnorm", "--log-y", "lr",
                          "--width", "900"}));
    CHECK_THAT(parse_command_line(spec, {"--help"}).output,
               Catch::StartsWith("usage: plot SAVE_DIR_OR_JSONL [options]") &&
                   Catch::Contains("-o, --output STR"));
    CHECK_THROWS_WITH(parse_command_line(spec, {"x", "--widht", "3"}),
                      Catch::Contains("did you mean --width?"));
  }
  SECTION("average_checkpoints: --inputs takes several values; flags that exclude") {
    const auto spec = trellis::average_checkpoints_program();
    const auto o = parse_command_line(spec, {"--inputs", "a.pt", "b.pt", "c.pt", "--output", "x.pt"})
                       .config.get<trellis::AverageCheckpointsOptions>("average_checkpoints");
    CHECK(o.inputs == std::vector<std::string>{"a.pt", "b.pt", "c.pt"});
    CHECK(o.output == "x.pt");
    CHECK(!o.num_epoch_checkpoints);
    const std::string toml = write(dir, "avg.toml",
                                   "inputs = [\"a.pt\", \"b.pt\", \"c.pt\"]\noutput = \"x.pt\"\n");
    CHECK(resolved(spec, {"--config", toml}) ==
          resolved(spec, {"--inputs", "a.pt", "b.pt", "c.pt", "--output", "x.pt"}));
    CHECK_THROWS_WITH(parse_command_line(spec, {"--inputs", "d", "--num-epoch-checkpoints", "2",
                                                "--num-update-checkpoints", "2"}),
                      Catch::Contains("excludes"));
    CHECK_THROWS_WITH(parse_command_line(spec, {"--inputs", "d", "--checkpoint-upper-bound", "3"}),
                      Catch::Contains("--checkpoint-upper-bound requires"));
    CHECK_THAT(parse_command_line(spec, {"--help"}).output,
               Catch::StartsWith("usage: average_checkpoints [options]") &&
                   Catch::Contains("--inputs STR [STR ...]"));
  }
}
