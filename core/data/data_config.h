#pragma once
// The data config YAML (`--config-yaml`, docs/data_formats.md). Unknown top-level keys and
// values of the wrong type are DataError naming the YAML file and key. A key named in a
// `transforms` list holds that transform's parameters (kept as YAML for build_transforms()).

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/data/nemo_mel.h"

namespace trellis {

// {bpe: sentencepiece, sentencepiece_model: /abs/spm.model} and friends. bpe "" = None.
struct TokenizerConfig {
  std::string bpe;
  std::string sentencepiece_model;
  std::map<std::string, std::string> params;  // every other key, as text
  bool enabled() const { return !bpe.empty() && bpe != "None" && bpe != "none"; }
};

struct DataConfig {
  std::string path;  // the YAML file ("" when built in code)
  YAML::Node root;   // the whole document as read

  // The top-level keys read into members: declared once, in visit() below.
  std::string vocab_filename = "dict.txt";
  std::string vocab_filename_src = "dict.txt";  // FBK speech_to_text_ctc
  TokenizerConfig bpe_tokenizer;
  TokenizerConfig bpe_tokenizer_src;  // FBK
  std::string pre_tokenizer;          // "" = None
  int64_t input_feat_per_channel = 80;
  int64_t input_channels = 1;
  bool use_audio_input = false;
  bool standardize_audio = false;
  int64_t use_sample_rate = 16000;
  bool is_input_waveform = false;  // FBK
  int64_t waveform_sample_rate = 16000;
  bool prepend_tgt_lang_tag = false;
  bool prepend_bos_and_append_tgt_lang_tag = false;
  double sampling_alpha = 1.0;
  bool shuffle = false;
  std::string audio_root;
  // The on-the-fly front end of audio manifests: kaldi_fbank (fairseq's Kaldi fbank) or nemo_mel
  // (NeMo's AudioToMelSpectrogramPreprocessor; options in the `nemo_mel:` block).
  std::string front_end = "kaldi_fbank";
  // transforms: split name (or _train, _eval, *) -> transform names in application order.
  std::map<std::string, std::vector<std::string>> transforms;

  // Every key read into a member, once, in the order to_yaml() writes them: the reader, the list
  // of known keys and the writer all follow it. The third argument: whether to_yaml() writes the
  // key (the defaults of optional keys are left out; a key read only, `sample_rate`, never).
  // The other known keys are the transform lists and parameter blocks (data_config.cpp).
  // `c`: a DataConfig (reading) or a const one (writing).
  template <class Self, class V>
  static void visit(Self& c, V& v) {
    v.key("audio_root", c.audio_root, !c.audio_root.empty());
    v.key("vocab_filename", c.vocab_filename, true);
    v.key("vocab_filename_src", c.vocab_filename_src,
          c.vocab_filename_src != "dict.txt" || c.bpe_tokenizer_src.enabled());
    v.key("bpe_tokenizer", c.bpe_tokenizer, true);
    v.key("bpe_tokenizer_src", c.bpe_tokenizer_src, c.bpe_tokenizer_src.enabled());
    v.tokenizer_name("pre_tokenizer", c.pre_tokenizer, !c.pre_tokenizer.empty());  // {tokenizer:}
    v.key("input_channels", c.input_channels, true);
    v.key("input_feat_per_channel", c.input_feat_per_channel, true);
    v.key("use_audio_input", c.use_audio_input, c.use_audio_input);
    v.key("front_end", c.front_end, c.front_end != "kaldi_fbank");
    v.key("use_sample_rate", c.use_sample_rate, c.use_audio_input || c.nemo_mel());
    v.key("sample_rate", c.use_sample_rate, false);  // another name of use_sample_rate
    v.key("standardize_audio", c.standardize_audio, c.use_audio_input && c.standardize_audio);
    v.key("is_input_waveform", c.is_input_waveform, c.is_input_waveform);
    v.key("waveform_sample_rate", c.waveform_sample_rate, c.waveform_sample_rate != 16000);
    v.key("prepend_tgt_lang_tag", c.prepend_tgt_lang_tag, c.prepend_tgt_lang_tag);
    v.key("prepend_bos_and_append_tgt_lang_tag", c.prepend_bos_and_append_tgt_lang_tag,
          c.prepend_bos_and_append_tgt_lang_tag);
    v.key("sampling_alpha", c.sampling_alpha, true);
    v.key("shuffle", c.shuffle, c.shuffle);
  }

  bool nemo_mel() const { return front_end == "nemo_mel"; }
  // The NeMo front end's options: the `nemo_mel:` block (NeMo's preprocessor names: window_size,
  // window_stride in seconds, n_fft, window: hann, dither, preemph, lowfreq, highfreq,
  // log_zero_guard_value, normalize: per_feature | NA, pad_to; features and sample_rate, when
  // given, must equal input_feat_per_channel and use_sample_rate), over NemoMelOptions'
  // defaults with n_mels = input_feat_per_channel and sample_rate = use_sample_rate.
  // DataError naming the file and key.
  NemoMelOptions nemo_mel_options() const;

  // Reads and validates `path`; throws DataError naming it.
  static DataConfig load(const std::string& path);
  static DataConfig parse(const std::string& yaml_text, const std::string& path = "<string>");
  // Emits the YAML (keys in fairseq prep order; transform parameter blocks from `root`).
  std::string to_yaml() const;
  void save(const std::string& path) const;

  // transforms[split] -> _train / _eval (by is_train) -> "*" -> none.
  std::vector<std::string> transforms_for_split(const std::string& split, bool is_train) const;
  // The parameters of transform `name` (the top-level key of that name; empty when absent).
  YAML::Node transform_params(const std::string& name) const;
  // vocab_filename(_src) joined to data_root (an absolute value survives the join).
  std::string vocab_path(const std::string& data_root, bool source = false) const;
};

}  // namespace trellis
