#include <catch2/catch.hpp>

#include "core/data/data_config.h"
#include "core/error.h"

using namespace trellis;

TEST_CASE("data config: FBK yaml, transform selection, round trip", "[unit][data_config]") {
  const char* text = R"(vocab_filename: /abs/tgt.txt
vocab_filename_src: src.txt
bpe_tokenizer: {bpe: sentencepiece, sentencepiece_model: /abs/tgt.model}
bpe_tokenizer_src: {bpe: sentencepiece, sentencepiece_model: /abs/src.model}
input_channels: 1
input_feat_per_channel: 80
sampling_alpha: 1.0
specaugment: {freq_mask_F: 27, freq_mask_N: 2, time_mask_N: 2, time_mask_T: 100, time_mask_p: 1.0, time_wrap_W: 0}
transforms:
  '*': [utterance_cmvn]
  _train: [utterance_cmvn, specaugment]
)";
  DataConfig c = DataConfig::parse(text, "cfg.yaml");
  CHECK(c.bpe_tokenizer.bpe == "sentencepiece");
  CHECK(c.bpe_tokenizer_src.sentencepiece_model == "/abs/src.model");
  CHECK(c.vocab_path("/data") == "/abs/tgt.txt");
  CHECK(c.vocab_path("/data", true) == "/data/src.txt");
  CHECK(c.transforms_for_split("train_x", true) ==
        std::vector<std::string>{"utterance_cmvn", "specaugment"});
  CHECK(c.transforms_for_split("dev", false) == std::vector<std::string>{"utterance_cmvn"});
  CHECK(c.transform_params("specaugment")["freq_mask_F"].as<int>() == 27);
  DataConfig d = DataConfig::parse(c.to_yaml(), "again.yaml");
  CHECK(d.vocab_filename_src == "src.txt");
  CHECK(d.bpe_tokenizer_src.sentencepiece_model == "/abs/src.model");
  CHECK(d.transforms == c.transforms);
  CHECK(d.transform_params("specaugment")["time_mask_T"].as<int>() == 100);
}

TEST_CASE("data config: errors name the yaml file", "[unit][data_config]") {
  auto err = [](const std::string& text) {
    try {
      DataConfig::parse(text, "bad.yaml");
    } catch (const DataError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK_THAT(err("vocab_filname: x\n"), Catch::Contains("bad.yaml: unknown key 'vocab_filname'"));
  CHECK_THAT(err("input_channels: abc\n"), Catch::Contains("bad.yaml: key 'input_channels'"));
  CHECK_THAT(err("a: [1, 2\n"), Catch::Contains("bad.yaml"));
  CHECK_THAT(err("bpe_tokenizer: sentencepiece\n"),
             Catch::Contains("bad.yaml: key 'bpe_tokenizer'"));
  CHECK(DataConfig::parse("").vocab_filename == "dict.txt");
}
