// The NeMo front end in the speech tasks' on-the-fly feature path (data config `front_end:
// nemo_mel`): audio manifests give NeMo log-mel, dithered in training splits only, and the
// collate pads T to a multiple of pad_to. Also the data config keys.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <cmath>

#include "core/data/audio_reader.h"
#include "core/data/audio_writer.h"
#include "core/data/data_config.h"
#include "core/data/nemo_mel.h"
#include "core/error.h"
#include "speech_corpus.h"
#include "task_test_utils.h"

using namespace trellis;
using trellis::testing::make_speech_task;
using trellis::testing::SpeechCorpus;

TEST_CASE("nemo_mel front end: data config keys", "[unit][nemo_mel][data_config]") {
  DataConfig plain = DataConfig::parse("vocab_filename: dict.txt\n");
  CHECK(plain.front_end == "kaldi_fbank");
  CHECK_FALSE(plain.nemo_mel());
  CHECK(plain.to_yaml().find("front_end") == std::string::npos);

  DataConfig c = DataConfig::parse(
      "front_end: nemo_mel\ninput_feat_per_channel: 64\n"
      "nemo_mel: {window_size: 0.02, window_stride: 0.01, dither: 0.0, pad_to: 8, "
      "normalize: NA, highfreq: 7600, features: 64, window: hann}\n",
      "cfg.yaml");
  REQUIRE(c.nemo_mel());
  NemoMelOptions o = c.nemo_mel_options();
  CHECK(o.n_mels == 64);
  CHECK(o.win_length == 320);
  CHECK(o.hop_length == 160);
  CHECK(o.n_fft == 512);
  CHECK(o.dither == 0.0);
  CHECK(o.pad_to == 8);
  CHECK_FALSE(o.normalize_per_feature);
  CHECK(o.highfreq == 7600);
  // Written back with its block; reading that gives the same options.
  DataConfig again = DataConfig::parse(c.to_yaml());
  CHECK(again.nemo_mel());
  CHECK(again.nemo_mel_options().pad_to == 8);
  CHECK(again.nemo_mel_options().win_length == 320);

  // Defaults: NeMo's NEST preprocessor.
  NemoMelOptions d = DataConfig::parse("front_end: nemo_mel\n").nemo_mel_options();
  CHECK(d.win_length == 400);
  CHECK(d.hop_length == 160);
  CHECK(d.n_mels == 80);
  CHECK(d.dither == 1e-5);
  CHECK(d.pad_to == 16);
  CHECK(d.normalize_per_feature);

  auto error_of = [](const std::string& yaml) -> std::string {
    try {
      DataConfig::parse(yaml, "bad.yaml");
    } catch (const DataError& e) {
      return e.what();
    }
    return "";
  };
  using Catch::Matchers::Contains;
  CHECK_THAT(error_of("front_end: htk\n"), Contains("bad.yaml") && Contains("kaldi_fbank"));
  CHECK_THAT(error_of("front_end: nemo_mel\nuse_audio_input: true\n"), Contains("use_audio_input"));
  CHECK_THAT(error_of("nemo_mel: {dither: 0.0}\n"), Contains("front_end: nemo_mel"));
  CHECK_THAT(error_of("front_end: nemo_mel\nnemo_mel: {nfft: 512}\n"), Contains("nemo_mel.nfft"));
  CHECK_THAT(error_of("front_end: nemo_mel\nnemo_mel: {window: hamming}\n"), Contains("hann"));
  CHECK_THAT(error_of("front_end: nemo_mel\nnemo_mel: {features: 64}\n"),
             Contains("input_feat_per_channel"));
  CHECK_THAT(error_of("front_end: nemo_mel\nnemo_mel: {window_size: 0.05}\n"),
             Contains("bad.yaml") && Contains("n_fft"));
}

TEST_CASE("nemo_mel front end: speech task collation of an audio manifest",
          "[unit][nemo_mel][tasks]") {
  SpeechCorpus c("nemo_mel", "front_end: nemo_mel\n");
  std::vector<float> wav(4000 + 33);
  for (size_t i = 0; i < wav.size(); ++i)
    wav[i] = 0.2f * static_cast<float>(std::sin(0.013 * double(i)) * std::cos(0.0009 * double(i)));
  write_audio_file((c.root / "w4.wav").string(), wav, 1, 16000, "wav");
  const std::vector<std::vector<std::string>> rows = {
      {"u3", (c.root / "u3.wav").string(), "9", "a", "a"},
      {"w4", (c.root / "w4.wav").string(), "25", "b", "b"}};
  c.write_tsv("train", rows);
  c.write_tsv("dev", rows);
  auto task = make_speech_task("speech_to_text", c.root.string(), "ctc");
  task->load_dataset("train", true);
  task->load_dataset("dev", false);
  CHECK(task->model_input_dim() == 80);

  SpeechBatch dev = task->collate_speech("dev", {0, 1}, 3);
  // 4033 samples -> 25 frames, 1520 -> 9; T padded to 32 with zeros.
  REQUIRE(dev.src_tokens.sizes() == torch::IntArrayRef({2, 32, 80}));
  CHECK(dev.src_tokens.size(1) % 16 == 0);
  CHECK(torch::equal(dev.src_lengths, torch::tensor({25, 9}, torch::kInt64)));
  CHECK(dev.padded_frames == 64);
  CHECK(dev.src_tokens[0].slice(0, 25).abs().sum().item<float>() == 0.f);
  CHECK(dev.src_tokens[1].slice(0, 9).abs().sum().item<float>() == 0.f);
  // Validation: exactly the undithered front end.
  NemoMelOptions o = task->data_config().nemo_mel_options();
  int64_t frames = 0;
  std::vector<float> want =
      nemo_mel_features(read_audio((c.root / "w4.wav").string(), 16000).samples, o, nullptr, &frames);
  REQUIRE(frames == 25);
  CHECK(torch::equal(dev.src_tokens[0].slice(0, 0, 25), torch::from_blob(want.data(), {25, 80})));
  CHECK(torch::equal(task->collate_speech("dev", {0, 1}, 4).src_tokens, dev.src_tokens));

  // Training: dithered, reproducible per seed, close to the undithered features.
  SpeechBatch train = task->collate_speech("train", {0, 1}, 3);
  REQUIRE(train.src_tokens.sizes() == torch::IntArrayRef({2, 32, 80}));
  CHECK(torch::equal(train.src_tokens, task->collate_speech("train", {0, 1}, 3).src_tokens));
  CHECK_FALSE(torch::equal(train.src_tokens, dev.src_tokens));
  CHECK_FALSE(torch::equal(train.src_tokens, task->collate_speech("train", {0, 1}, 5).src_tokens));
  CHECK(train.src_tokens[0].slice(0, 25).abs().sum().item<float>() == 0.f);
  // (Dither moves the near-empty high bins of these pure tones most; on average little.)
  const float mean_change = (train.src_tokens - dev.src_tokens).abs().mean().item<float>();
  INFO("mean change " << mean_change);
  CHECK(mean_change < 0.05f);
}
