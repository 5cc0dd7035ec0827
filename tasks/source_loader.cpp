#include "tasks/source_loader.h"

#include "core/data/audio_reader.h"
#include "core/data/data_config.h"
#include "core/data/fbank.h"
#include "core/data/manifest.h"
#include "core/io/npy.h"
#include "core/io/zip_archive.h"
#include "core/error.h"

namespace trellis {

SourceOptions SourceOptions::from_config(const DataConfig& c) {
  SourceOptions o;
  o.raw_audio = c.use_audio_input;
  o.standardize = !(c.root && c.root.IsMap() && c.root["standardize_audio"]) || c.standardize_audio;
  o.sample_rate = c.use_sample_rate;
  o.waveform_input = c.is_input_waveform;
  o.waveform_sample_rate = c.waveform_sample_rate;
  o.fbank_bins = c.input_feat_per_channel;
  o.audio_root = c.audio_root;
  o.nemo_mel = c.nemo_mel();
  if (o.nemo_mel) o.nemo = c.nemo_mel_options();
  return o;
}

namespace {

// The rate audio is read at: raw audio and FBK stored waveforms are resampled to the
// configured rate; fbank of plain audio files is computed at the file's own rate (fairseq);
// NeMo resamples to its preprocessor's rate.
int target_rate(const SourceOptions& o) {
  if (o.raw_audio) return static_cast<int>(o.sample_rate);
  if (o.nemo_mel) return o.nemo.sample_rate;
  if (o.waveform_input) return static_cast<int>(o.waveform_sample_rate);
  return 0;
}

// The waveform transforms of a load: none, or the split's with the sample's generator.
struct Augment {
  const WaveformTransforms* transforms = nullptr;
  std::mt19937_64* rng = nullptr;
  bool active() const { return transforms != nullptr && !transforms->empty(); }
};

// audio.samples: (N) float -> augmented -> the waveform itself (raw audio) or its fbank
// (T, bins).
SourceData from_waveform(Audio audio, const SourceOptions& o, const Augment& aug) {
  if (aug.active()) {
    TRELLIS_CHECK(aug.rng != nullptr, Error, "waveform transforms need a random generator");
    apply_waveform_transforms(*aug.transforms, audio.samples, audio.sample_rate, *aug.rng);
    TRELLIS_CHECK(!audio.samples.empty(), DataError, "no audio left after the waveform transforms");
  }
  SourceData s;
  if (o.raw_audio) {
    if (o.standardize) standardize(audio.samples);
    s.frames = static_cast<int64_t>(audio.samples.size());
    s.dim = 1;
    s.data = std::move(audio.samples);
    return s;
  }
  if (o.nemo_mel) {
    TRELLIS_CHECK(audio.sample_rate == o.nemo.sample_rate, DataError,
                  "audio at {} Hz, but the NeMo front end expects {} Hz (use_sample_rate)",
                  audio.sample_rate, o.nemo.sample_rate);
    s.data = nemo_mel_features(audio.samples, o.nemo, o.training ? aug.rng : nullptr, &s.frames);
    s.dim = o.nemo.n_mels;
    return s;
  }
  s.data = compute_fbank_features(audio, static_cast<int>(o.fbank_bins), &s.frames);
  s.dim = o.fbank_bins;
  TRELLIS_CHECK(s.frames > 0, DataError, "audio too short for one fbank frame ({} samples)",
                audio.samples.size());
  return s;
}

// A decoded .npy: (T, F) features, or with a waveform-reading config a (1, N) / (N) waveform
// (FBK --store-waveform), channels averaged.
SourceData from_npy(NpyArray a, const SourceOptions& o, const std::string& where,
                    const Augment& aug) {
  const bool wants_waveform = o.raw_audio || o.waveform_input;
  const auto& sh = a.shape;
  if (wants_waveform && (sh.size() == 1 || (sh.size() == 2 && sh[0] <= 2 && sh[1] > sh[0]))) {
    Audio audio;
    audio.sample_rate = static_cast<int>(o.raw_audio ? o.sample_rate : o.waveform_sample_rate);
    const int64_t ch = sh.size() == 1 ? 1 : sh[0], n = sh.back();
    audio.samples.assign(static_cast<size_t>(n), 0.f);
    for (int64_t c = 0; c < ch; ++c)
      for (int64_t i = 0; i < n; ++i)
        audio.samples[static_cast<size_t>(i)] += a.data[static_cast<size_t>(c * n + i)] / ch;
    return from_waveform(std::move(audio), o, aug);
  }
  TRELLIS_CHECK(!aug.active(), DataError,
                "{}: stored features cannot take waveform_transforms (the data config lists them "
                "for this split): point the manifest at audio, whose fbank is then computed on "
                "the fly",
                where);
  TRELLIS_CHECK(sh.size() == 2, DataError,
                "{}: expected a 2-D (frames, features) array, got {} "
                "dimensions",
                where, sh.size());
  TRELLIS_CHECK(!o.raw_audio, DataError,
                "{}: holds ({}, {}) features but the data config asks for raw audio "
                "(use_audio_input)",
                where, sh[0], sh[1]);
  SourceData s;
  s.frames = sh[0];
  s.dim = sh[1];
  s.data = std::move(a.data);
  TRELLIS_CHECK(s.frames > 0 && s.dim > 0, DataError, "{}: empty feature array ({}, {})", where,
                s.frames, s.dim);
  return s;
}

}  // namespace

int transcription_rate(const SourceOptions& o) {
  const int rate = target_rate(o);
  return rate > 0 ? rate : 16000;
}

SourceData source_from_waveform(std::vector<float> samples, const SourceOptions& o) {
  Audio audio;
  audio.samples = std::move(samples);
  audio.sample_rate = transcription_rate(o);
  return from_waveform(std::move(audio), o, Augment{});
}

SourceData load_source(const std::string& audio, const SourceOptions& o,
                       const WaveformTransforms* augment, std::mt19937_64* rng) {
  const Augment aug{augment, rng};
  AudioRef ref = parse_audio_field(audio, o.audio_root);
  switch (ref.kind) {
    case AudioRef::Kind::kNpy:
      return from_npy(read_npy_file(ref.path), o, ref.path, aug);
    case AudioRef::Kind::kByteRange: {
      std::vector<uint8_t> bytes = read_byte_range(ref.path, static_cast<uint64_t>(ref.offset),
                                                   static_cast<uint64_t>(ref.length));
      const std::string where = ref.spec();
      if (bytes.size() >= 2 && bytes[0] == 0x93 && bytes[1] == 'N')
        return from_npy(decode_npy(bytes.data(), bytes.size(), where), o, where, aug);
      return from_waveform(decode_audio_bytes(bytes.data(), bytes.size(), target_rate(o), where),
                           o, aug);
    }
    case AudioRef::Kind::kAudioFile:
    default:
      return from_waveform(read_audio(ref.spec(), target_rate(o)), o, aug);
  }
}

}  // namespace trellis
