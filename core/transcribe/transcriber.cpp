// trellis::Transcriber (include/trellis/transcriber.h): checkpoint + audio -> text and word
// timings, with generate's model loading (model_loader.h) and search (BatchDecoder).
#include "trellis/transcriber.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "core/cli_parser.h"
#include "core/data/audio_reader.h"
#include "core/data/dictionary.h"
#include "core/error.h"
#include "core/generate/ctc_alignment.h"
#include "core/generate/generator.h"
#include "core/generate/model_loader.h"
#include "core/generate/word_lm_fusion.h"
#include "core/interfaces/model.h"
#include "core/interfaces/task.h"
#include "core/logging.h"
#include "core/programs.h"
#include "core/strings.h"
#include "core/transcribe/audio_windows.h"
#include "core/transcribe/transcribe_options.h"

namespace trellis {
namespace {

const log::Logger logger("trellis.transcribe");

// One window of one input, as decoded.
struct Job {
  size_t item = 0;
  size_t window = 0;
  AudioWindow range;
};

struct WindowResult {
  std::string text;
  std::vector<Word> words;
};

}  // namespace

struct Transcriber::Impl {
  TranscribeOptions options;
  GenerationOptions gen;
  std::vector<std::string> paths;
  std::vector<LoadedCheckpoint> ensemble;
  std::unique_ptr<BatchDecoder> decoder;
  const Task* task = nullptr;
  int rate = 16000;
  double frame_seconds = 0.01;  // seconds per model input frame
  bool timings = false;         // CTC output over the target units: alignments possible
  WordSpelling spelling;

  Impl(const std::string& checkpoint, const std::vector<std::string>& flags);
  // Decodes the windows of `audio` (mono, at `rate`) and fills text, words, duration.
  void run(std::vector<const std::vector<float>*> audio, std::vector<Transcript*> out) const;
  // One batch of jobs -> their windows' results (errors thrown).
  std::vector<WindowResult> decode(const std::vector<Job>& jobs,
                                   const std::vector<const std::vector<float>*>& audio) const;
};

Transcriber::Impl::Impl(const std::string& checkpoint, const std::vector<std::string>& flags) {
  std::vector<std::string> args = flags;
  if (!checkpoint.empty()) args.insert(args.end(), {"--path", checkpoint});
  ParseResult parsed = parse_command_line(transcribe_program(), args);
  TRELLIS_CHECK(!parsed.exit_now, ConfigError,
                "Transcriber: --help and --dump-config have no meaning here");
  Config cli = parsed.config;
  options = cli.get<TranscribeOptions>("transcribe");
  gen = cli.get<TranscribeDecodingOptions>("generation").gen;
  TRELLIS_CHECK(!gen.path.empty(), ConfigError, "--path is required (the checkpoint)");
  DataRootOptions data;
  data.data = options.data;
  cli.mutable_groups().push_back({"data", "", "", AnyOptions::make(data)});
  paths = split_all(gen.path, ':');
  for (const auto& p : paths)
    ensemble.push_back(load_for_generation(p, cli, gen.model_overrides));
  task = ensemble.front().task.get();
  TRELLIS_CHECK(task->audio_sample_rate() > 0, ConfigError,
                "--path {}: its task does not read audio, so it cannot transcribe", paths[0]);
  rate = static_cast<int>(task->audio_sample_rate());
  decoder = std::make_unique<BatchDecoder>(gen, ensemble, paths);
  // One second of silence: the input frame length, and whether the CTC output aligns.
  torch::NoGradGuard no_grad;
  const DecodingInput probe = task->audio_input({std::vector<float>(static_cast<size_t>(rate))});
  frame_seconds = probe.frame_seconds;
  const auto out = decoder->decode(probe.src_tokens, probe.src_lengths, {}, true);
  const Dictionary& tgt = task->target_dictionary();
  timings = out.ctc_lprobs.defined() && out.ctc_lprobs.size(2) >= tgt.size();
  if (timings && ensemble.front().model->has_decoder()) {
    const Dictionary* src = task->source_dictionary();
    for (int64_t i = 0; timings && i < tgt.size(); ++i)
      timings = src != nullptr && src->symbol(i) == tgt.symbol(i);
  }
  std::vector<std::string> symbols;
  for (int64_t i = 0; i < tgt.size(); ++i) symbols.push_back(tgt.symbol(i));
  const int64_t blank = ensemble.front().blank;
  spelling =
      WordSpelling::from_pieces(symbols, {tgt.bos(), tgt.pad(), tgt.eos(), tgt.unk(), blank});
  if (!timings)
    logger.warn(
        "{}: no CTC output over the target units: no word timings, and long audio is "
        "cut into windows without overlap",
        paths[0]);
}

std::vector<WindowResult> Transcriber::Impl::decode(
    const std::vector<Job>& jobs, const std::vector<const std::vector<float>*>& audio) const {
  std::vector<std::vector<float>> waves;
  for (const Job& j : jobs) {
    const std::vector<float>& a = *audio[j.item];
    waves.emplace_back(a.begin() + j.range.start, a.begin() + j.range.end);
  }
  const DecodingInput in = task->audio_input(waves);  // src_tokens (B, T, F) or (B, N)
  const auto out = decoder->decode(in.src_tokens, in.src_lengths, {}, timings);
  std::vector<WindowResult> results(jobs.size());
  double out_frame = 0;  // seconds per CTC frame: input frames per output frame x frame length
  if (timings) {
    const int64_t longest = in.src_lengths.argmax().item<int64_t>();
    const double ratio =
        static_cast<double>(in.src_lengths[longest].item<int64_t>()) /
        static_cast<double>(std::max<int64_t>(1, out.ctc_lengths[longest].item<int64_t>()));
    out_frame = std::max(1.0, std::round(ratio)) * frame_seconds;
  }
  const Dictionary& tgt = task->target_dictionary();
  for (size_t i = 0; i < jobs.size(); ++i) {
    const auto& hyps = out.hyps[i];
    if (hyps.empty()) continue;
    const std::vector<int64_t>& tokens = hyps.front().tokens;
    results[i].text = task->detokenize(tokens);
    if (!timings) continue;
    std::vector<int64_t> units;  // what the CTC head emits: no eos, pad or language tag
    for (size_t k = 0; k < tokens.size(); ++k) {
      if (tokens[k] == tgt.eos() || tokens[k] == tgt.pad()) continue;
      if (k == 0 && task->traits().target_lang_tag) continue;
      units.push_back(tokens[k]);
    }
    const int64_t len = out.ctc_lengths[static_cast<int64_t>(i)].item<int64_t>();
    const at::Tensor lp = out.ctc_lprobs.select(1, static_cast<int64_t>(i)).slice(0, 0, len);
    const auto spans = ctc_forced_align(lp, units, ensemble.front().blank);  // (T_i, V)
    if (spans.empty()) continue;
    const double offset = static_cast<double>(jobs[i].range.start) / rate;
    const double limit = static_cast<double>(jobs[i].range.end) / rate;
    for (const WordFrames& w : ctc_word_frames(units, spans, spelling)) {
      const double start =
          std::min(limit, offset + static_cast<double>(w.frames.start) * out_frame);
      const double end = std::min(limit, offset + static_cast<double>(w.frames.end) * out_frame);
      results[i].words.push_back({w.word, start, std::max(start, end)});
    }
  }
  return results;
}

void Transcriber::Impl::run(std::vector<const std::vector<float>*> audio,
                            std::vector<Transcript*> out) const {
  torch::NoGradGuard no_grad;
  const int64_t w = std::max<int64_t>(1, std::llround(options.window_seconds * rate));
  const int64_t o = timings ? std::llround(options.window_overlap_seconds * rate) : 0;
  std::vector<std::vector<AudioWindow>> windows(audio.size());
  std::vector<Job> jobs;
  for (size_t i = 0; i < audio.size(); ++i) {
    out[i]->duration = static_cast<double>(audio[i]->size()) / rate;
    windows[i] = plan_windows(static_cast<int64_t>(audio[i]->size()), w, std::min(o, (w - 1) / 2));
    for (size_t k = 0; k < windows[i].size(); ++k) jobs.push_back({i, k, windows[i][k]});
  }
  // Longest first; a batch holds at most --batch-size windows and --max-tokens padded frames.
  std::stable_sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) {
    return a.range.end - a.range.start > b.range.end - b.range.start;
  });
  const int64_t max_tokens = gen.max_tokens.value_or(gen.batch_size ? 0 : 12000);
  const int64_t max_sentences = gen.batch_size.value_or(0);
  const double frames_per_sample = 1.0 / (frame_seconds * rate);
  std::vector<std::vector<WindowResult>> results(audio.size());
  for (size_t i = 0; i < audio.size(); ++i) results[i].resize(windows[i].size());
  for (size_t b = 0; b < jobs.size();) {
    const double longest = static_cast<double>(jobs[b].range.end - jobs[b].range.start);
    size_t e = b + 1;
    while (e < jobs.size() &&
           (max_tokens <= 0 ||
            static_cast<double>(e + 1 - b) * longest * frames_per_sample <= max_tokens) &&
           (max_sentences <= 0 || static_cast<int64_t>(e - b) < max_sentences))
      ++e;
    std::vector<Job> batch(jobs.begin() + static_cast<int64_t>(b),
                           jobs.begin() + static_cast<int64_t>(e));
    std::vector<WindowResult> r;
    try {
      r = decode(batch, audio);
    } catch (const std::exception& ex) {
      if (batch.size() > 1) {  // find the input at fault: one window at a time
        for (const Job& j : batch) {
          try {
            results[j.item][j.window] = decode({j}, audio).front();
          } catch (const std::exception& one) {
            out[j.item]->error = one.what();
          }
        }
        b = e;
        continue;
      }
      out[batch.front().item]->error = ex.what();
      r.assign(1, WindowResult{});
    }
    for (size_t k = 0; k < batch.size(); ++k)
      results[batch[k].item][batch[k].window] = std::move(r[k]);
    b = e;
  }
  for (size_t i = 0; i < audio.size(); ++i) {
    Transcript& t = *out[i];
    if (!t.ok()) continue;
    if (windows[i].size() == 1) {
      t.text = results[i][0].text;
      t.words = results[i][0].words;
      continue;
    }
    std::vector<std::vector<Word>> words;
    std::vector<std::string> texts;
    for (WindowResult& r : results[i]) {
      words.push_back(std::move(r.words));
      if (!r.text.empty()) texts.push_back(r.text);
    }
    if (timings) {
      t.words = stitch_words(windows[i], words, rate);
      texts.clear();
      for (const Word& wd : t.words) texts.push_back(wd.word);
    }
    t.text = join(texts, " ");
  }
}

Transcriber::Transcriber(const std::string& checkpoint, const std::vector<std::string>& flags)
    : impl_(std::make_unique<Impl>(checkpoint, flags)) {}
Transcriber::~Transcriber() = default;
Transcriber::Transcriber(Transcriber&&) noexcept = default;
Transcriber& Transcriber::operator=(Transcriber&&) noexcept = default;

int Transcriber::sample_rate() const { return impl_->rate; }
bool Transcriber::has_word_timings() const { return impl_->timings; }

Transcript Transcriber::transcribe(const float* samples, size_t count, int sample_rate) const {
  TRELLIS_CHECK(samples != nullptr || count == 0, DataError, "transcribe: null samples");
  TRELLIS_CHECK(count > 0, DataError, "transcribe: no samples");
  std::vector<float> audio =
      resample(std::vector<float>(samples, samples + count), sample_rate, impl_->rate);
  Transcript t;
  impl_->run({&audio}, {&t});
  if (!t.ok()) throw DataError(t.error);
  return t;
}

Transcript Transcriber::transcribe_file(const std::string& path) const {
  Transcript t = transcribe_files({path}).front();
  if (!t.ok()) throw DataError(t.error);
  return t;
}

std::vector<Transcript> Transcriber::transcribe_files(const std::vector<std::string>& paths) const {
  std::vector<Transcript> out(paths.size());
  std::vector<std::vector<float>> audio(paths.size());
  std::vector<const std::vector<float>*> ok_audio;
  std::vector<Transcript*> ok_out;
  for (size_t i = 0; i < paths.size(); ++i) {
    out[i].source = paths[i];
    try {
      audio[i] = read_audio(paths[i], impl_->rate).samples;
      TRELLIS_CHECK(!audio[i].empty(), DataError, "{}: no audio samples", paths[i]);
      ok_audio.push_back(&audio[i]);
      ok_out.push_back(&out[i]);
    } catch (const std::exception& e) {
      out[i].error = e.what();
    }
  }
  impl_->run(ok_audio, ok_out);
  for (Transcript& t : out)
    if (!t.ok() && t.error.find(t.source) == std::string::npos) t.error = t.source + ": " + t.error;
  return out;
}

}  // namespace trellis
