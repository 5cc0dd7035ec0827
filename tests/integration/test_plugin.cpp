// --user-dir: the example plugin (built as a MODULE library by this build) loads through the
// CLI and its names behave like built-ins.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "core/cli_parser.h"
#include "core/plugin_loader.h"
#include "core/programs.h"
#include "criteria/criterion.h"
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
