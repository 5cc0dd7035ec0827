// --user-dir: the example plugin (built as a MODULE library by this build) loads through the
// CLI and its names behave like built-ins.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "core/checkpoint.h"
#include "core/cli_parser.h"
#include "core/plugin_loader.h"
#include "core/programs.h"
#include "core/interfaces/criterion.h"
#include "core/registry.h"
#include "run_command.h"

namespace fs = std::filesystem;
using trellis::testing::bin;
using trellis::testing::run_command;

namespace {
const std::string kPluginDir = std::string(TRELLIS_BINARY_DIR) + "/examples/user_plugin";
const std::string kPlugin = kPluginDir + "/libtoy_plugin.so";
}  // namespace

TEST_CASE("train --help lists a plugin's components", "[integration][plugin]") {
  REQUIRE(fs::exists(kPlugin));
  auto before = run_command(bin("train") + " --help");
  CHECK(before.exit_code == 0);
  CHECK_THAT(before.output, !Catch::Contains("toy_linear_decay"));
  auto after = run_command(bin("train") + " --user-dir " + kPluginDir + " --help");
  CHECK(after.exit_code == 0);
  CHECK_THAT(after.output,
             Catch::Contains("toy_linear_decay") && Catch::Contains("toy_weighted_l2"));
  // The plugin's options appear once its component is selected.
  auto opts = run_command(bin("train") + " --user-dir " + kPlugin +
                          " --lr-scheduler toy_linear_decay --criterion toy_weighted_l2 --help");
  CHECK_THAT(opts.output, Catch::Contains("--toy-total-updates") &&
                              Catch::Contains("--toy-weight"));
}

TEST_CASE("plugin components are parsed, validated and record their origin",
          "[integration][plugin]") {
  auto r = trellis::parse_command_line(
      trellis::train_program(),
      {"data", "--user-dir", kPluginDir, "--lr-scheduler", "toy_linear_decay",
       "--toy-total-updates", "50", "--dump-config"});
  CHECK_THAT(r.output, Catch::Contains("toy_total_updates: 50") &&
                           Catch::Contains("lr_scheduler: \"toy_linear_decay\""));
  auto* sched = trellis::RegistryBase::find_kind("lr_scheduler");
  CHECK_THAT(sched->info("toy_linear_decay").origin, Catch::Contains("libtoy_plugin.so"));
  CHECK(trellis::loaded_plugins().size() == 1);
  // Loading the same directory again is a no-op (each library once per process).
  CHECK(trellis::load_user_dir(kPluginDir).empty());
  CHECK_THROWS_WITH(trellis::parse_command_line(trellis::train_program(),
                                                {"d", "--user-dir", kPluginDir, "--lr-scheduler",
                                                 "toy_linear_decay", "--toy-total-updates", "0"}),
                    Catch::Contains("--toy-total-updates must be > 0"));
}

TEST_CASE("user-dir: errors and notices", "[integration][plugin]") {
  // A directory without libraries (FBK's examples/speech_to_text holds Python files) is fine.
  fs::path empty = fs::temp_directory_path() / "trellis_empty_user_dir";
  fs::create_directories(empty);
  std::ofstream(empty / "__init__.py") << "\n";
  auto r = run_command(bin("train") + " --user-dir " + empty.string() + " --help");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("no plugin libraries"));
  // The seed command's relative path is accepted even where it does not exist.
  r = run_command("cd / && " + bin("train") + " --user-dir examples/speech_to_text --help");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("built into trellis"));
  // A missing path is an error naming it.
  r = run_command(bin("train") + " --user-dir /nonexistent/plugins --help");
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("'/nonexistent/plugins' does not exist"));
  // A shared library that is not a trellis plugin is refused before it registers anything.
  fs::path foreign = fs::temp_directory_path() / "trellis_foreign_plugin";
  fs::create_directories(foreign);
  fs::copy_file(std::string(TRELLIS_BINARY_DIR) + "/lib/libtrellis.so", foreign / "libnot.so",
                fs::copy_options::overwrite_existing);
  r = run_command(bin("train") + " --user-dir " + foreign.string() + " --help");
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("is not a trellis plugin"));
}

TEST_CASE("the plugin template builds out of tree against an installed trellis",
          "[integration][plugin][slow]") {
  fs::path root = fs::temp_directory_path() / "trellis_outoftree_plugin";
  fs::remove_all(root);
  const std::string prefix = (root / "prefix").string(), build = (root / "build").string();
  auto install = run_command("cmake --install " + std::string(TRELLIS_BINARY_DIR) +
                             " --prefix " + prefix);
  REQUIRE(install.exit_code == 0);
  auto configure = run_command("cmake -S " + std::string(TRELLIS_SOURCE_DIR) +
                               "/examples/user_plugin -B " + build + " -DCMAKE_PREFIX_PATH=" +
                               prefix + " -DCMAKE_BUILD_TYPE=Release");
  INFO(configure.output);
  REQUIRE(configure.exit_code == 0);
  auto compile = run_command("cmake --build " + build);
  INFO(compile.output);
  REQUIRE(compile.exit_code == 0);
  auto help = run_command(prefix + "/bin/trellis-train --user-dir " + build + " --help");
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.output, Catch::Contains("loaded plugin") &&
                              Catch::Contains("toy_linear_decay"));
  fs::remove_all(root);
}

TEST_CASE("a plugin criterion computes its loss through the registry", "[integration][plugin]") {
  trellis::load_user_dir(kPlugin);
  auto* registry = trellis::RegistryBase::find_kind("criterion");
  REQUIRE(registry->contains("toy_weighted_l2"));
  trellis::AnyOptions options = registry->make_options("toy_weighted_l2");
  options.fields().find("toy_weight")->set_from_string("0.5", "test");
  auto criterion = trellis::criterion_registry().create("toy_weighted_l2", options,
                                                        trellis::CriterionContext{});
  trellis::NetOutput net;
  net.decoder_logits = torch::arange(6, torch::kFloat).reshape({2, 1, 3});
  trellis::LossOutput out = criterion->forward(net, trellis::CriterionTargets{});
  CHECK(out.loss.item<double>() == Approx(0.5 * 55.0));  // 0+1+4+9+16+25
  CHECK(out.sample_size == 2.0);
  auto stats = criterion->reduce_metrics(out.stats);
  REQUIRE(!stats.empty());
  CHECK(stats[0].value == Approx(27.5 / 2.0));
}

TEST_CASE("a plugin task with its own batch type trains and decodes with a plugin scorer",
          "[integration][plugin]") {
  // Task toy_copy, criterion toy_ctc and scorer toy_exact_match all come from the plugin; the
  // model is the built-in conformer_ctc. Nothing outside examples/user_plugin knows them.
  REQUIRE(fs::exists(kPlugin));
  const fs::path root = fs::temp_directory_path() / "trellis_plugin_task";
  fs::remove_all(root);
  fs::create_directories(root / "data");
  auto write_split = [&](const std::string& name, int lines, unsigned seed) {
    std::ofstream out(root / "data" / (name + ".txt"));
    for (int i = 0; i < lines; ++i) {
      const int len = 2 + static_cast<int>((seed + 3u * static_cast<unsigned>(i)) % 4u);
      for (int k = 0; k < len; ++k)
        out << (k ? " " : "") << (seed * 7u + static_cast<unsigned>(i * 5 + k * 3)) % 10u;
      out << "\n";
    }
  };
  write_split("train", 24, 1);
  write_split("valid", 4, 2);
  write_split("test", 3, 3);
  const std::string data = (root / "data").string(), save = (root / "save").string();
  const std::string model =
      " --arch conformer_ctc --encoder-layers 1 --encoder-embed-dim 16 --encoder-ffn-embed-dim "
      "32 --encoder-attention-heads 2 --conv-channels 16 --conformer-conv-kernel-size 3";
  auto train = run_command(bin("train") + " " + data + " --user-dir " + kPluginDir +
                           " --task toy_copy --criterion toy_ctc --optimizer adam --lr 1e-3" +
                           model +
                           " --max-tokens 200 --max-update 3 --log-format simple "
                           "--log-interval 1 --threads 1 --save-dir " + save);
  INFO(train.output);
  REQUIRE(train.exit_code == 0);
  CHECK_THAT(train.output, Catch::Contains("done training"));
  REQUIRE(fs::exists(fs::path(save) / "checkpoint_last.pt"));
  const trellis::CheckpointState last = trellis::load_checkpoint(save + "/checkpoint_last.pt");
  CHECK(last.num_updates == 3);
  CHECK(last.task == "toy_copy");
  CHECK(last.criterion == "toy_ctc");

  const std::string gen = bin("generate") + " " + data + " --user-dir " + kPluginDir +
                          " --path " + save + "/checkpoint_last.pt --gen-subset test --beam 1";
  auto scored = run_command(gen + " --scoring toy_exact_match --toy-ignore-spaces");
  INFO(scored.output);
  REQUIRE(scored.exit_code == 0);
  CHECK_THAT(scored.output, Catch::Contains("Generate test with beam=1: EXACT: ") &&
                                Catch::Contains("/3)") && Catch::Contains("T-0\t"));
  // The plugin scorer's options exist only when it is selected.
  auto other = run_command(gen + " --scoring wer --toy-ignore-spaces");
  CHECK(other.exit_code == 2);
  // No --scoring: fairseq's default, token BLEU.
  auto bleu = run_command(gen);
  INFO(bleu.output);
  REQUIRE(bleu.exit_code == 0);
  CHECK_THAT(bleu.output, Catch::Contains("Generate test with beam=1: BLEU4 = "));
  fs::remove_all(root);
}
