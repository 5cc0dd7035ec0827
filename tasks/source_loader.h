#pragma once
// Reads the source of one sample from its manifest `audio` field (fairseq's
// get_features_or_waveform; docs/tasks.md): stored features (.npy, or a .npy in
// a stored zip), or audio (a file, or a wav/flac in a stored zip) turned into features on the
// fly (80-dim Kaldi fbank, or with `front_end: nemo_mel` NeMo's log-mel, core/data/nemo_mel.h),
// or, for raw-audio models, the waveform itself. LibTorch-free, thread-safe.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/data/nemo_mel.h"
#include "core/data/waveform_transform.h"

namespace trellis {

struct DataConfig;

struct SourceOptions {
  // use_audio_input (UP): the model reads the waveform, resampled to sample_rate, standardized
  // (zero mean, unit variance over the utterance) when `standardize`.
  bool raw_audio = false;
  bool standardize = true;
  int64_t sample_rate = 16000;
  // is_input_waveform (FBK): stored waveforms (audio, or a (1, N) .npy) -> fbank computed at
  // waveform_sample_rate.
  bool waveform_input = false;
  int64_t waveform_sample_rate = 16000;
  int64_t fbank_bins = 80;  // bins of on-the-fly fbank (input_feat_per_channel)
  std::string audio_root;   // joined in front of every `audio` field
  // front_end nemo_mel: audio is read at nemo.sample_rate (use_sample_rate) and turned into
  // NeMo log-mel (nemo.n_mels = input_feat_per_channel) instead of Kaldi fbank.
  bool nemo_mel = false;
  NemoMelOptions nemo;
  // A training split: the NeMo front end dithers (drawing from the load's generator). Off for
  // validation and generation; the task sets it per split.
  bool training = false;

  // The collate's time padding: NeMo's pad_to with the NeMo front end, else 0 (none).
  int64_t pad_frames_to() const { return nemo_mel && !raw_audio ? nemo.pad_to : 0; }

  // From the data config. standardize: fairseq's UP tests the method standardize_audio without
  // calling it, so raw audio is always standardized; an explicit `standardize_audio: false` in
  // the YAML turns it off here.
  static SourceOptions from_config(const DataConfig& config);
};

struct SourceData {
  std::vector<float> data;  // (frames, dim) row-major float; raw audio: (frames) samples
  int64_t frames = 0;       // T (feature frames) or N (samples)
  int64_t dim = 1;          // F (feature dimension); 1 for raw audio
};

// audio: the manifest field (path.npy, path.wav, archive.zip:OFFSET:LENGTH) -> features (T, F)
// float, or the waveform (N) float for raw audio. Throws DataError (the caller adds the
// manifest line and sample id). augment: waveform transforms applied to the waveform before the
// front end (raw audio or on-the-fly fbank), drawing from rng; non-empty transforms on stored
// features are a DataError. The NeMo front end of a training load then dithers from rng.
SourceData load_source(const std::string& audio, const SourceOptions& options,
                       const WaveformTransforms* augment = nullptr,
                       std::mt19937_64* rng = nullptr);

// The rate a waveform outside any manifest is taken at so that its source equals that of its
// prepared version: raw audio at sample_rate, NeMo at its preprocessor's rate, FBK stored
// waveforms at waveform_sample_rate, otherwise 16 kHz (`prepare` computes fbank at 16 kHz).
int transcription_rate(const SourceOptions& options);
// samples: (N) mono float at transcription_rate(options) -> the source load_source makes of
// the same audio (fbank (T, bins), NeMo log-mel, or the standardized waveform); no
// augmentation. DataError when the audio is too short for one frame.
SourceData source_from_waveform(std::vector<float> samples, const SourceOptions& options);

}  // namespace trellis
