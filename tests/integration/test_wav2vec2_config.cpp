// examples/wav2vec2/*.toml: the --config forms of finetune_large_pinyin.sh's train command and
// of the README's prepare command resolve to the same configurations as those commands.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/cli_parser.h"
#include "core/data/prepare.h"
#include "core/programs.h"
#include "core/train_options.h"
#include "run_command.h"

namespace {

namespace fs = std::filesystem;

const std::string kExamples = std::string(TRELLIS_SOURCE_DIR) + "/examples/wav2vec2";

// The arguments finetune_large_pinyin.sh passes to train, read with a stand-in `train`.
std::vector<std::string> script_args(const std::string& dir, const std::string& env) {
  fs::create_directories(dir + "/bin");
  fs::create_directories(dir + "/data");
  std::ofstream(dir + "/data/config_syllables.yaml") << "vocab_filename: dict_syllables.txt\n";
  {
    std::ofstream train(dir + "/bin/train");
    train << "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '" << dir
          << "/args'\n";
  }
  fs::permissions(dir + "/bin/train", fs::perms::owner_all);
  const auto r = trellis::testing::run_command(
      "TRELLIS_BIN=" + dir + "/bin DATA_ROOT=" + dir + "/data SAVE_DIR=save/zh_pinyin " +
      "W2V_PATH=/models/chinese-wav2vec2-large/pytorch_model.bin " + env + " bash " + kExamples +
      "/finetune_large_pinyin.sh");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  std::ifstream in(dir + "/args");
  std::vector<std::string> args;
  for (std::string line; std::getline(in, line);) args.push_back(line);
  return args;
}

}  // namespace

TEST_CASE("examples/wav2vec2/finetune_large_pinyin.toml is the script's train command",
          "[integration][cli][toml][wav2vec2]") {
  const std::string dir = trellis::testing::fresh_dir("w2v2_toml");
  const auto args = script_args(dir, "");
  REQUIRE(args.size() > 10);
  const std::string data = dir + "/data";
  REQUIRE(args[0] == data);

  const auto train = trellis::train_program();
  const trellis::ParseResult toml = trellis::parse_command_line(
      train, {data, "--config", kExamples + "/finetune_large_pinyin.toml", "--w2v-path",
              "/models/chinese-wav2vec2-large/pytorch_model.bin"});
  const trellis::Config& c = toml.config;
  CHECK(c.component("task") == "speech_to_text_ctc");
  CHECK(c.component("arch") == "wav2vec2_ctc_large_lv60");
  CHECK(c.component("optimizer") == "adamw");
  CHECK(c.component("lr_scheduler") == "onecycle");
  const auto& opt = c.get<trellis::OptimizationOptions>("optimization");
  CHECK(opt.update_freq == std::vector<int64_t>{2});
  CHECK(opt.clip_norm == 5.0);
  CHECK(opt.lr == std::vector<double>{5e-05});
  CHECK(opt.max_update == 20000);
  CHECK(c.get<trellis::DatasetOptions>("dataset").validate_interval_updates == 1000);
  CHECK(c.get<trellis::CheckpointOptions>("checkpoint").save_dir == "save/zh_pinyin");

  // Equal to the script's command line, and to that command's --dump-config YAML.
  const std::string from_script = trellis::parse_command_line(train, args).config.to_yaml("train");
  CHECK(c.to_yaml("train") == from_script);
  auto dump_args = args;
  dump_args.push_back("--dump-config");
  const std::string yaml = dir + "/script.yaml";
  std::ofstream(yaml) << trellis::parse_command_line(train, dump_args).output;
  CHECK(trellis::parse_command_line(train, {"--config", yaml}).config.to_yaml("train") ==
        from_script);

  // SCHEDULE=linear: the four keys the TOML file's comment names, given as flags.
  const auto linear = script_args(dir, "SCHEDULE=linear");
  CHECK(trellis::parse_command_line(
            train, {data, "--config", kExamples + "/finetune_large_pinyin.toml", "--w2v-path",
                    "/models/chinese-wav2vec2-large/pytorch_model.bin", "--lr-scheduler",
                    "polynomial_decay", "--power", "1", "--end-learning-rate", "0",
                    "--warmup-updates", "2000"})
            .config.to_yaml("train") ==
        trellis::parse_command_line(train, linear).config.to_yaml("train"));
}

TEST_CASE("examples/wav2vec2/prepare_pinyin.toml is the README's prepare command",
          "[integration][cli][toml][wav2vec2]") {
  const auto spec = trellis::prepare_program();
  const std::vector<std::string> inputs = {
      "--input", "corpora/a/pinyin.norm.tsv,corpora/b/pinyin.norm.tsv,corpora/c/pinyin.norm.tsv",
      "--volume", "1,0.5,0.25", "--output-dir", "data/zh_pinyin"};
  auto with_config = inputs;
  with_config.insert(with_config.begin(), {"--config", kExamples + "/prepare_pinyin.toml"});
  auto flags = inputs;
  flags.insert(flags.end(), {"--input-format", "tsv", "--splits", "train:0.9,dev:0.05,test:0.05",
                             "--seed", "1", "--features", "raw", "--vocab-type", "char",
                             "--num-workers", "8"});
  const auto parsed = trellis::parse_command_line(spec, with_config);
  const auto& o = parsed.config.get<trellis::PrepareOptions>("prepare");
  CHECK(o.splits == "train:0.9,dev:0.05,test:0.05");
  CHECK(o.features == "raw");
  CHECK(o.inputs.size() == 3);
  CHECK(parsed.config.to_yaml("prepare") ==
        trellis::parse_command_line(spec, flags).config.to_yaml("prepare"));
}
