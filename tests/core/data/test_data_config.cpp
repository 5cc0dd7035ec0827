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

TEST_CASE("data config: every member key is read, and written back when set",
          "[unit][data_config]") {
  const char* text = R"(audio_root: /audio
vocab_filename: a.txt
vocab_filename_src: b.txt
bpe_tokenizer: {bpe: sentencepiece, sentencepiece_model: m.model}
bpe_tokenizer_src: {bpe: characters}
pre_tokenizer: {tokenizer: moses}
input_channels: 2
input_feat_per_channel: 40
use_audio_input: true
sample_rate: 8000
standardize_audio: true
is_input_waveform: true
waveform_sample_rate: 22050
prepend_bos_and_append_tgt_lang_tag: true
sampling_alpha: 0.5
shuffle: true
)";
  const DataConfig c = DataConfig::parse(text, "all.yaml");
  CHECK(c.pre_tokenizer == "moses");
  CHECK(c.use_sample_rate == 8000);  // sample_rate: the other name
  CHECK(c.waveform_sample_rate == 22050);
  const std::string yaml = c.to_yaml();
  CHECK_THAT(yaml, Catch::Contains("use_sample_rate: 8000") &&
                       !Catch::Contains("\nsample_rate") && Catch::Contains("shuffle: true") &&
                       Catch::Contains("pre_tokenizer: {tokenizer: moses}"));
  const DataConfig d = DataConfig::parse(yaml, "again.yaml");
  CHECK(d.to_yaml() == yaml);
  CHECK(d.audio_root == "/audio");
  CHECK(d.bpe_tokenizer_src.bpe == "characters");
  CHECK(d.is_input_waveform);
  CHECK(d.prepend_bos_and_append_tgt_lang_tag);
  CHECK(d.shuffle);
  // The defaults of optional keys are left out: what prepare writes for raw audio.
  DataConfig raw;
  raw.bpe_tokenizer.bpe = "characters";
  raw.use_audio_input = true;
  CHECK(raw.to_yaml() ==
        "vocab_filename: dict.txt\nbpe_tokenizer: {bpe: characters}\ninput_channels: 1\n"
        "input_feat_per_channel: 80\nuse_audio_input: true\nuse_sample_rate: 16000\n"
        "sampling_alpha: 1\n");
  // An unknown key lists the known ones.
  CHECK_THROWS_WITH(DataConfig::parse("shufle: true\n", "u.yaml"),
                    Catch::StartsWith("u.yaml: unknown key 'shufle' (known: audio_root, ") &&
                        Catch::Contains("shuffle, transforms, or a transform's name)"));
}
