// NeMo checkpoints without Python (core/nemo_checkpoint.h, core/io/tar_reader.h): .nemo tars
// written here (tests/nemo_file.h) and one written by Python's tarfile + torch.save
// (tests/golden/make_nemo_fixture.py -> tests/data/nemo/tiny_nest.nemo).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/io/tar_reader.h"
#include "core/nemo_checkpoint.h"
#include "nemo_file.h"

namespace fs = std::filesystem;
using namespace trellis;
using Catch::Matchers::Contains;

namespace {

fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("trellis_test_nemo_" + std::to_string(getpid()));
  fs::create_directories(d);
  return d;
}

const char kYaml[] =
    "encoder:\n  _target_: nemo.collections.asr.modules.ConformerEncoder\n  d_model: 4\n";

// NeMo-named tensors of several dtypes, plus preprocessor buffers the reader drops.
std::map<std::string, at::Tensor> nest_state_dict() {
  return {
      {"encoder.pre_encode.conv.0.weight", torch::randn({4, 1, 3, 3})},
      {"encoder.pre_encode.conv.0.bias", torch::randn({4})},
      {"encoder.pre_encode.conv.6.weight", torch::randn({4, 4, 1, 1})},
      {"encoder.layers.0.self_attn.pos_bias_u", torch::randn({2, 2})},
      {"encoder.layers.0.conv.batch_norm.num_batches_tracked", torch::tensor(17, torch::kLong)},
      {"encoder.layers.1.norm_out.weight", torch::randn({4}).to(torch::kHalf)},
      {"decoder.decoder_layers.0.weight", torch::randn({8, 4, 1})},
      {"quantizer.proj.weight", torch::randn({2, 8})},
      {"quantizer.codebooks", torch::randn({1, 8, 2}, torch::kDouble)},
      {"mask_processor.mask_embedding", torch::randn({3})},
      {"preprocessor.featurizer.window", torch::ones({5})},
      {"preprocessor.featurizer.fb", torch::ones({1, 3, 2})},
  };
}

void check_same(const std::map<std::string, at::Tensor>& got,
                const std::map<std::string, at::Tensor>& written) {
  size_t kept = 0;
  for (const auto& [name, t] : written) {
    INFO(name);
    if (name.rfind("preprocessor.featurizer.", 0) == 0) {
      CHECK(got.count(name) == 0);
      continue;
    }
    ++kept;
    REQUIRE(got.count(name) == 1);
    CHECK(got.at(name).scalar_type() == t.scalar_type());
    CHECK(got.at(name).sizes() == t.sizes());
    CHECK(torch::equal(got.at(name), t));
  }
  CHECK(got.size() == kept);
}

}  // namespace

TEST_CASE("nemo: .nemo tars, plain and gzip, read back exactly", "[unit][nemo]") {
  const fs::path dir = temp_dir();
  torch::manual_seed(0);
  const auto sd = nest_state_dict();
  for (bool gzip : {false, true}) {
    INFO("gzip " << gzip);
    const std::string path = (dir / (gzip ? "m.nemo.gz" : "m.nemo")).string();
    testing::write_nemo(path, kYaml, sd, gzip, {{"./tokenizer/tokenizer.model", "spm bytes"}});
    if (gzip) {  // really compressed: gzip magic
      std::ifstream in(path, std::ios::binary);
      CHECK(in.get() == 0x1f);
      CHECK(in.get() == 0x8b);
    }
    NemoCheckpoint ck = read_nemo_checkpoint(path);
    CHECK(ck.path == path);
    CHECK(ck.config_yaml == kYaml);
    CHECK(ck.members == std::vector<std::string>{"model_config.yaml", "model_weights.ckpt",
                                                 "tokenizer/tokenizer.model"});
    check_same(ck.state_dict, sd);
  }
  fs::remove_all(dir);
}

TEST_CASE("nemo: bare model_weights.ckpt and Lightning .ckpt", "[unit][nemo]") {
  const fs::path dir = temp_dir();
  torch::manual_seed(1);
  const auto sd = nest_state_dict();
  for (bool lightning : {false, true}) {
    INFO("lightning " << lightning);
    const std::string path = (dir / (lightning ? "last.ckpt" : "model_weights.ckpt")).string();
    testing::write_bytes(path, testing::nemo_ckpt_bytes(sd, lightning));
    NemoCheckpoint ck = read_nemo_checkpoint(path);
    CHECK(ck.config_yaml.empty());
    CHECK(ck.members.empty());
    check_same(ck.state_dict, sd);  // optimizer_states.* of the Lightning file not included
  }
  fs::remove_all(dir);
}

TEST_CASE("nemo: a .nemo written by Python (tarfile w:gz, torch.save OrderedDict)",
          "[unit][nemo]") {
  const std::string path = std::string(TRELLIS_TEST_DATA) + "/nemo/tiny_nest.nemo";
  NemoCheckpoint ck = read_nemo_checkpoint(path);
  CHECK_THAT(ck.config_yaml, Contains("_target_: nemo.collections.asr.modules.ConformerEncoder"));
  CHECK_THAT(ck.config_yaml, Contains("d_model: 6"));
  CHECK(ck.members ==
        std::vector<std::string>{"model_config.yaml", "model_weights.ckpt", "tokenizer.vocab"});
  // make_nemo_fixture.py's KEYS: tensor k holds arange(n) * 0.25 + k; k = 0, 1 are dropped.
  const std::vector<std::tuple<std::string, std::vector<int64_t>, at::ScalarType>> keys = {
      {"encoder.pre_encode.conv.0.weight", {4, 1, 3, 3}, at::kFloat},
      {"encoder.pre_encode.conv.0.bias", {4}, at::kFloat},
      {"encoder.pre_encode.conv.2.weight", {4, 1, 3, 3}, at::kFloat},
      {"encoder.pre_encode.conv.3.weight", {4, 4, 1, 1}, at::kFloat},
      {"encoder.pre_encode.out.weight", {6, 8}, at::kFloat},
      {"encoder.layers.0.self_attn.linear_q.weight", {6, 6}, at::kFloat},
      {"encoder.layers.0.self_attn.pos_bias_u", {2, 3}, at::kFloat},
      {"encoder.layers.0.conv.depthwise_conv.weight", {6, 1, 3}, at::kFloat},
      {"encoder.layers.0.conv.batch_norm.running_var", {6}, at::kFloat},
      {"encoder.layers.0.conv.batch_norm.num_batches_tracked", {}, at::kLong},
      {"encoder.layers.0.norm_out.weight", {6}, at::kFloat},
      {"decoder.decoder_layers.0.weight", {5, 6, 1}, at::kFloat},
      {"quantizer.proj.weight", {2, 8}, at::kFloat},
      {"quantizer.codebooks", {1, 5, 2}, at::kDouble},
      {"mask_processor.mask_embedding", {4}, at::kFloat},
  };
  REQUIRE(ck.state_dict.size() == keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    const auto& [name, shape, dtype] = keys[i];
    INFO(name);
    REQUIRE(ck.state_dict.count(name) == 1);
    const at::Tensor& t = ck.state_dict.at(name);
    int64_t n = 1;
    for (int64_t s : shape) n *= s;
    const at::Tensor want =
        (torch::arange(n, torch::kDouble) * 0.25 + double(i + 2)).to(dtype).reshape(shape);
    CHECK(t.scalar_type() == dtype);
    CHECK(t.sizes() == want.sizes());
    CHECK(torch::equal(t, want));
  }
}

TEST_CASE("nemo: missing members and truncated archives fail naming the file", "[unit][nemo]") {
  const fs::path dir = temp_dir();
  const std::string no_weights = (dir / "no_weights.nemo").string();
  write_tar(no_weights, {{"./model_config.yaml", kYaml}, {"./tokenizer.vocab", "a\n"}});
  CHECK_THROWS_AS(read_nemo_checkpoint(no_weights), DataError);
  CHECK_THROWS_WITH(read_nemo_checkpoint(no_weights),
                    Contains(no_weights) && Contains("'model_weights.ckpt'") &&
                        Contains("model_config.yaml, tokenizer.vocab"));

  const std::string no_config = (dir / "no_config.nemo").string();
  write_tar(no_config,
            {{"./model_weights.ckpt", testing::nemo_ckpt_bytes({{"w", torch::ones({2})}})}});
  CHECK_THROWS_WITH(read_nemo_checkpoint(no_config),
                    Contains(no_config) && Contains("'model_config.yaml'"));

  // Truncated inside model_weights.ckpt's data, plain and gzip.
  torch::manual_seed(2);
  const auto sd = nest_state_dict();
  for (bool gzip : {false, true}) {
    INFO("gzip " << gzip);
    const std::string full = (dir / "full.nemo").string();
    testing::write_nemo(full, kYaml, sd, gzip);
    const auto size = fs::file_size(full);
    const std::string cut = (dir / "cut.nemo").string();
    fs::copy_file(full, cut, fs::copy_options::overwrite_existing);
    fs::resize_file(cut, size / 2);
    CHECK_THROWS_AS(read_nemo_checkpoint(cut), DataError);
    CHECK_THROWS_WITH(read_nemo_checkpoint(cut), Contains(cut));
    fs::resize_file(cut, 100);  // inside the first header
    CHECK_THROWS_WITH(read_nemo_checkpoint(cut), Contains(cut));
  }

  // Neither a tar nor a torch.save file; a missing file.
  const std::string junk = (dir / "junk.nemo").string();
  testing::write_bytes(junk, std::string(3000, 'x'));
  CHECK_THROWS_WITH(read_nemo_checkpoint(junk), Contains(junk));
  CHECK_THROWS_WITH(read_nemo_checkpoint((dir / "absent.nemo").string()),
                    Contains("absent.nemo") && Contains("no such file"));
  // A corrupt model_weights.ckpt inside a good tar names the archive and the member.
  const std::string bad_ckpt = (dir / "bad_ckpt.nemo").string();
  write_tar(bad_ckpt, {{"./model_config.yaml", kYaml}, {"./model_weights.ckpt", "PK\3\4junk"}});
  CHECK_THROWS_WITH(read_nemo_checkpoint(bad_ckpt),
                    Contains(bad_ckpt + ":model_weights.ckpt"));
  fs::remove_all(dir);
}

TEST_CASE("nemo: tar names and select_prefix", "[unit][nemo]") {
  CHECK(normalise_tar_name("./model_config.yaml") == "model_config.yaml");
  CHECK(normalise_tar_name("/abs/./x") == "abs/./x");
  CHECK(normalise_tar_name(".//a") == "a");
  CHECK(normalise_tar_name(".") == "");
  CHECK(normalise_tar_name("model_weights.ckpt") == "model_weights.ckpt");

  const std::map<std::string, at::Tensor> sd = {
      {"decoder.decoder_layers.0.weight", torch::ones({1})},
      {"encoder.layers.0.norm_out.weight", torch::ones({2})},
      {"encoder.pre_encode.conv.0.bias", torch::zeros({3})},
      {"encoderx.weight", torch::ones({4})},
      {"quantizer.codebooks", torch::ones({5})}};
  auto enc = select_prefix(sd, "encoder.");
  CHECK(enc.size() == 2);
  REQUIRE(enc.count("layers.0.norm_out.weight") == 1);
  REQUIRE(enc.count("pre_encode.conv.0.bias") == 1);
  CHECK(enc.at("pre_encode.conv.0.bias").is_same(sd.at("encoder.pre_encode.conv.0.bias")));
  CHECK(select_prefix(sd, "mask_processor.").empty());
  CHECK(select_prefix(sd, "").size() == sd.size());
}
