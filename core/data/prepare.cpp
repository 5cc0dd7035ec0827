#include "core/data/prepare.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "core/data/audio_reader.h"
#include "core/data/audio_writer.h"
#include "core/data/char_vocab.h"
#include "core/data/data_config.h"
#include "core/data/dictionary.h"
#include "core/data/epoch_iterator.h"
#include "core/data/fbank.h"
#include "core/data/manifest.h"
#include "core/io/npy.h"
#include "core/data/prepare_ctc_check.h"
#include "core/data/sentencepiece_vocab.h"
#include "core/data/speed_resample.h"
#include "core/io/zip_archive.h"
#include "core/error.h"
#include "core/logging.h"

namespace trellis {

namespace fs = std::filesystem;

namespace {

const log::Logger logger("trellis.prepare");

struct SplitSpec {
  std::string name;
  double fraction = -1;  // -1: one split per input
};

std::vector<SplitSpec> parse_splits(const std::string& text, size_t num_inputs) {
  std::vector<SplitSpec> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    std::string item =
        text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    SplitSpec s;
    size_t colon = item.find(':');
    s.name = item.substr(0, colon);
    if (colon != std::string::npos) {
      try {
        s.fraction = std::stod(item.substr(colon + 1));
      } catch (...) {
        throw ConfigError(fmt::format("--splits: bad fraction in '{}'", item));
      }
    }
    TRELLIS_CHECK(!s.name.empty(), ConfigError, "--splits: empty split name in '{}'", text);
    out.push_back(s);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  bool fractions = out.front().fraction >= 0;
  for (const auto& s : out)
    TRELLIS_CHECK((s.fraction >= 0) == fractions, ConfigError,
                  "--splits: give a fraction for every split or for none ('{}')", text);
  TRELLIS_CHECK(fractions || out.size() == num_inputs, ConfigError,
                "--splits '{}': without fractions give one split per input ({} inputs)", text,
                num_inputs);
  return out;
}

// Assigns each utterance a split: by input, or shuffled (seed) and cut by cumulative fractions.
std::vector<int> assign_splits(const std::vector<SourceUtterance>& utts,
                               const std::vector<SplitSpec>& splits, uint32_t seed) {
  std::vector<int> which(utts.size(), 0);
  if (splits.front().fraction < 0) {
    for (size_t i = 0; i < utts.size(); ++i) which[i] = utts[i].input;
    return which;
  }
  double total = 0;
  for (const auto& s : splits) total += s.fraction;
  TRELLIS_CHECK(total > 0, ConfigError, "--splits: fractions sum to 0");
  std::vector<size_t> order(utts.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::mt19937 g(seed);
  std::shuffle(order.begin(), order.end(), g);
  double cum = 0;
  size_t pos = 0;
  for (size_t k = 0; k < splits.size(); ++k) {
    cum += splits[k].fraction / total;
    size_t end = k + 1 == splits.size() ? order.size()
                                        : static_cast<size_t>(std::llround(cum * order.size()));
    for (; pos < std::min(end, order.size()); ++pos) which[order[pos]] = static_cast<int>(k);
  }
  return which;
}

bool is_train_split(const std::string& name) { return name.rfind("train", 0) == 0; }

// The speed factors of a training utterance: --speed-perturb with 1.0 (the original) added,
// ascending, so its rows are sp0.9-X, X, sp1.1-X. Other splits: {1.0}.
std::vector<double> train_speed_factors(const std::vector<double>& speed_perturb) {
  std::vector<double> f = speed_perturb;
  if (std::find(f.begin(), f.end(), 1.0) == f.end()) f.push_back(1.0);
  std::sort(f.begin(), f.end());
  return f;
}

// Kaldi's perturb_data_dir_speed.sh prefix: "sp0.9-" (fmt's shortest round-trip form of the
// factor); the original (1.0) keeps its id.
std::string speed_id(const std::string& id, double factor) {
  return factor == 1.0 ? id : fmt::format("sp{}-{}", factor, id);
}

// One output row of an utterance: the original (factor 1) or a speed-perturbed copy.
struct Variant {
  double factor = 1.0;
  std::vector<float> feats;    // (T, 80) row-major, fbank only
  std::vector<uint8_t> audio;  // raw features: a segment's 16 kHz flac (factor 1, offset/duration)
                               // or a perturbed copy's 16 kHz 16-bit wav
  int64_t n_frames = 0;
};

struct Loaded {
  std::vector<Variant> variants;  // in the order of `factors`
  std::string error;
};

Loaded load_one(const SourceUtterance& u, bool fbank, const std::vector<double>& factors) {
  Loaded r;
  try {
    Audio a = read_audio(u.audio, 16000);
    const bool segment = u.offset > 0 || u.duration >= 0;
    if (segment) {
      auto b = static_cast<size_t>(std::llround(u.offset * a.sample_rate));
      size_t e = u.duration >= 0 ? b + static_cast<size_t>(std::llround(u.duration * a.sample_rate))
                                 : a.samples.size();
      b = std::min(b, a.samples.size());
      e = std::min(std::max(e, b), a.samples.size());
      a.samples = std::vector<float>(a.samples.begin() + b, a.samples.begin() + e);
    }
    for (double f : factors) {
      Variant v;
      v.factor = f;
      if (f == 1.0) {
        if (fbank) {
          v.feats = compute_fbank_features(a, 80, &v.n_frames);
        } else {
          v.n_frames = static_cast<int64_t>(a.samples.size());
          // A path cannot address part of a file: store the segment itself (fairseq reads
          // zip:offset:length entries of any audio format).
          if (segment) v.audio = encode_audio(a.samples, 1, a.sample_rate, "flac");
        }
      } else {
        Audio p;
        p.sample_rate = a.sample_rate;
        p.samples = change_speed(a.samples, a.sample_rate, f);
        // Clipped to 16-bit range as `sox speed` writing a 16-bit wav would (a resampled peak
        // may overshoot); the fbank sees the same samples as the raw copy.
        for (float& x : p.samples) x = std::clamp(x, -1.0f, 32767.0f / 32768.0f);
        if (fbank) {
          v.feats = compute_fbank_features(p, 80, &v.n_frames);
        } else {
          v.n_frames = static_cast<int64_t>(p.samples.size());
          v.audio = encode_audio(p.samples, 1, p.sample_rate, "wav");
        }
      }
      r.variants.push_back(std::move(v));
    }
  } catch (const Error& e) {
    r.error = e.what();
  }
  return r;
}

std::vector<uint8_t> npz_bytes_entry(const std::vector<double>& v) {
  std::vector<float> f(v.begin(), v.end());
  return encode_npy_f32(f.data(), {static_cast<int64_t>(f.size())});
}

}  // namespace

PrepareSummary run_prepare(const PrepareOptions& o) {
  TRELLIS_CHECK(!o.output_dir.empty(), ConfigError, "--output-dir is required");
  TRELLIS_CHECK(o.features == "fbank80" || o.features == "raw", ConfigError,
                "--features '{}': expected fbank80 or raw", o.features);
  TRELLIS_CHECK(o.vocab_type == "char" || o.vocab_type == "unigram" || o.vocab_type == "bpe",
                ConfigError, "--vocab-type '{}': expected char, unigram or bpe", o.vocab_type);
  TRELLIS_CHECK(o.cmvn == "global" || o.cmvn == "utterance" || o.cmvn == "none", ConfigError,
                "--cmvn '{}': expected global, utterance or none", o.cmvn);
  TRELLIS_CHECK(o.src_text_from.empty() || o.src_text_from == "tgt", ConfigError,
                "--src-text-from '{}': expected tgt", o.src_text_from);
  TRELLIS_CHECK(!o.prepend_tgt_lang_tag || !o.tgt_lang.empty(), ConfigError,
                "--prepend-tgt-lang-tag needs --tgt-lang");
  o.validate();  // --seed, --speed-perturb (also when called without the command line)
  const bool fbank = o.features == "fbank80";
  const fs::path out = fs::absolute(o.output_dir);
  fs::create_directories(out);

  std::vector<SourceUtterance> utts = read_prepare_inputs(o);
  auto splits = parse_splits(o.splits, o.inputs.size());
  std::vector<int> which = assign_splits(utts, splits, o.seed);
  logger.info("{} utterances from {} input(s)", utts.size(), o.inputs.size());

  // Speed perturbation: the factors of each utterance (training splits only).
  const std::vector<double> original_only = {1.0};
  const std::vector<double> train_factors =
      o.speed_perturb.empty() ? original_only : train_speed_factors(o.speed_perturb);
  auto factors_of = [&](size_t i) -> const std::vector<double>& {
    return is_train_split(splits[static_cast<size_t>(which[i])].name) ? train_factors
                                                                      : original_only;
  };
  if (train_factors.size() > 1) {
    std::set<std::string> ids;
    for (const auto& u : utts) ids.insert(u.id);
    for (size_t i = 0; i < utts.size(); ++i)
      for (double f : factors_of(i))
        TRELLIS_CHECK(f == 1.0 || !ids.count(speed_id(utts[i].id, f)), DataError,
                      "{}: --speed-perturb: the copy of '{}' would be named '{}', an id the "
                      "input already has",
                      utts[i].where, utts[i].id, speed_id(utts[i].id, f));
    logger.info("--speed-perturb {}: training utterances x{}", fmt::join(train_factors, ","),
                train_factors.size());
  }
  const fs::path sp_dir = out / "speed_perturb";  // raw features: the perturbed wav files

  // Features, in parallel, written in input order.
  Batches chunks;
  for (size_t i = 0; i < utts.size(); i += 8) {
    Batch b;
    for (size_t j = i; j < std::min(utts.size(), i + 8); ++j) b.push_back(static_cast<int64_t>(j));
    chunks.push_back(b);
  }
  Prefetcher<std::vector<Loaded>> pf(
      chunks,
      [&](const Batch& b) {
        std::vector<Loaded> r;
        for (int64_t i : b) {
          const auto idx = static_cast<size_t>(i);
          r.push_back(load_one(utts[idx], fbank, factors_of(idx)));
        }
        return r;
      },
      std::max(1, o.num_workers), 2 * static_cast<size_t>(std::max(1, o.num_workers)));
  std::unique_ptr<ZipWriter> zip;
  if (fbank) zip = std::make_unique<ZipWriter>((out / "fbank80.zip").string());
  std::unique_ptr<ZipWriter> segments;  // raw features: audio.zip for offset/duration segments
  std::vector<std::vector<ManifestRow>> rows(utts.size());  // per utterance, per factor
  std::vector<bool> ok(utts.size(), false);
  std::vector<double> sum(80, 0.0), sum2(80, 0.0);
  int64_t gframes = 0;
  PrepareSummary summary;
  const bool tty = o.progress && ::isatty(2);
  size_t done = 0;
  for (size_t c = 0; c < chunks.size(); ++c) {
    auto loaded = *pf.next();
    for (size_t k = 0; k < loaded.size(); ++k) {
      size_t i = static_cast<size_t>(chunks[c][k]);
      const SourceUtterance& u = utts[i];
      Loaded& l = loaded[k];
      if (!l.error.empty()) {
        TRELLIS_CHECK(o.skip_bad_audio, DataError,
                      "{}: sample '{}': {} (use --skip-bad-audio to skip and count it)", u.where,
                      u.id, l.error);
        logger.warn("{}: skipping sample '{}': {}", u.where, u.id, l.error);
        summary.skipped_bad_audio++;
        continue;
      }
      for (const Variant& v : l.variants) {
        ManifestRow r;
        r.id = speed_id(u.id, v.factor);
        r.n_frames = v.n_frames;
        r.tgt_text = u.text;
        r.speaker = u.speaker;
        r.src_text = o.src_text_from == "tgt" ? u.text : u.src_text;
        r.tgt_lang = o.tgt_lang;
        if (fbank) {
          ZipEntry e = zip->add(r.id + ".npy", encode_npy_f32(v.feats.data(), {v.n_frames, 80}));
          r.audio = fmt::format("{}:{}:{}", (out / "fbank80.zip").string(), e.offset, e.size);
          if (o.cmvn == "global" && is_train_split(splits[static_cast<size_t>(which[i])].name)) {
            for (int64_t t = 0; t < v.n_frames; ++t)
              for (int d = 0; d < 80; ++d) {
                double x = v.feats[static_cast<size_t>(t * 80 + d)];
                sum[d] += x;
                sum2[d] += x * x;
              }
            gframes += v.n_frames;
          }
        } else if (v.factor != 1.0) {
          // A file per copy; '/' in an id would make a folder, so it becomes '_'.
          std::string name = r.id;
          std::replace(name.begin(), name.end(), '/', '_');
          fs::create_directories(sp_dir);
          const fs::path wav = sp_dir / (name + ".wav");
          std::ofstream f(wav, std::ios::binary | std::ios::trunc);
          f.write(reinterpret_cast<const char*>(v.audio.data()),
                  static_cast<std::streamsize>(v.audio.size()));
          f.close();
          TRELLIS_CHECK(f.good(), DataError, "{}: cannot write the speed-perturbed copy",
                        wav.string());
          r.audio = wav.string();
        } else if (!v.audio.empty()) {
          if (!segments) segments = std::make_unique<ZipWriter>((out / "audio.zip").string());
          ZipEntry e = segments->add(u.id + ".flac", v.audio);
          r.audio = fmt::format("{}:{}:{}", (out / "audio.zip").string(), e.offset, e.size);
        } else {
          r.audio = fs::absolute(u.audio).string();
        }
        rows[i].push_back(std::move(r));
      }
      ok[i] = true;
    }
    done += loaded.size();
    if (tty) fmt::print(stderr, "\rprepare: {}/{} utterances", done, utts.size());
  }
  if (tty) fmt::print(stderr, "\n");
  if (zip) zip->close();
  if (segments) segments->close();

  // Training text, vocabularies: the original transcripts only (a speed-perturbed copy has the
  // same text; counting it 3 times would change the dictionary's counts, not its symbols).
  std::vector<std::string> train_text;
  for (size_t i = 0; i < utts.size(); ++i)
    if (ok[i] && is_train_split(splits[static_cast<size_t>(which[i])].name))
      train_text.push_back(utts[i].text);
  if (train_text.empty())
    for (size_t i = 0; i < utts.size(); ++i)
      if (ok[i]) train_text.push_back(utts[i].text);
  TRELLIS_CHECK(!train_text.empty(), DataError, "no usable utterance to build a vocabulary from");
  const std::string tag = o.prepend_tgt_lang_tag ? Dictionary::lang_tag(o.tgt_lang) : "";
  DataConfig cfg;
  if (o.vocab_type == "char") {
    Dictionary d = CharVocab().build_dictionary(train_text);
    if (!tag.empty()) d.add_symbol(tag, 1);
    d.save((out / "dict.txt").string());
    cfg.vocab_filename = "dict.txt";
    cfg.bpe_tokenizer.bpe = "characters";
  } else {
    std::string prefix = fmt::format("spm_{}{}", o.vocab_type, o.vocab_size);
    SpmTrainOptions so;
    so.model_type = o.vocab_type;
    so.vocab_size = o.vocab_size;
    so.num_threads = std::max(1, o.num_workers);
    so.hard_vocab_limit = false;
    if (!tag.empty()) so.user_defined_symbols.push_back(tag);
    SentencePieceVocab::train(train_text, (out / prefix).string(), so);
    SentencePieceVocab sp((out / (prefix + ".model")).string());
    sp.write_fairseq_dict((out / (prefix + ".txt")).string());
    cfg.vocab_filename = prefix + ".txt";
    cfg.bpe_tokenizer.bpe = "sentencepiece";
    cfg.bpe_tokenizer.sentencepiece_model = (out / (prefix + ".model")).string();
  }
  if (o.src_text_from == "tgt") {  // FBK speech_to_text_ctc: the CTC side reads src_text
    cfg.vocab_filename_src = cfg.vocab_filename;
    cfg.bpe_tokenizer_src = cfg.bpe_tokenizer;
  }
  cfg.prepend_tgt_lang_tag = o.prepend_tgt_lang_tag;

  // Config: features and transforms (FBK/UP prep: 'ld' SpecAugment policy for training).
  cfg.root = YAML::Node(YAML::NodeType::Map);
  if (fbank) {
    std::vector<std::string> base;
    if (o.cmvn == "utterance") base.push_back("utterance_cmvn");
    if (o.cmvn == "global") {
      TRELLIS_CHECK(gframes > 0, DataError, "--cmvn global: no training frames");
      std::vector<double> mean(80), stdv(80);
      for (int d = 0; d < 80; ++d) {
        mean[d] = sum[d] / gframes;
        stdv[d] = std::sqrt(std::max(sum2[d] / gframes - mean[d] * mean[d], 1e-8));
      }
      ZipWriter npz((out / "gcmvn.npz").string());
      npz.add("mean.npy", npz_bytes_entry(mean));
      npz.add("std.npy", npz_bytes_entry(stdv));
      npz.close();
      base.push_back("global_cmvn");
      cfg.root["global_cmvn"]["stats_npz_path"] = (out / "gcmvn.npz").string();
    }
    if (!base.empty()) cfg.transforms["*"] = base;
    auto train = base;
    train.push_back("specaugment");
    cfg.transforms["_train"] = train;
    YAML::Node sa = cfg.root["specaugment"];
    sa["freq_mask_F"] = 27;
    sa["freq_mask_N"] = 2;
    sa["time_mask_N"] = 2;
    sa["time_mask_T"] = 100;
    sa["time_mask_p"] = 1.0;
    sa["time_wrap_W"] = 0;
  } else {
    cfg.use_audio_input = true;
    cfg.use_sample_rate = 16000;
  }
  cfg.save((out / "config.yaml").string());

  // Manifests (prep-time filters on train splits as fairseq: n_frames < 5 or > 3000 with
  // fbank features, empty text), and the CTC feasibility report.
  const int64_t subsampling =
      o.ctc_subsampling >= 0 ? o.ctc_subsampling : (fbank ? 4 : 320);
  std::vector<CtcInfeasibleRow> infeasible;
  for (size_t k = 0; k < splits.size(); ++k) {
    const bool is_train = is_train_split(splits[k].name);
    std::vector<ManifestRow> split_rows;
    for (size_t i = 0; i < utts.size(); ++i) {
      if (!ok[i] || which[i] != static_cast<int>(k)) continue;
      for (const ManifestRow& r : rows[i]) {
        if (is_train && (r.tgt_text.empty() || (fbank && (r.n_frames < 5 || r.n_frames > 3000)))) {
          summary.filtered++;
          continue;
        }
        if (r.id != utts[i].id) summary.speed_perturbed++;
        split_rows.push_back(r);
      }
    }
    if (subsampling > 0) {
      auto bad = ctc_infeasible_rows(split_rows, splits[k].name, cfg, subsampling, out.string());
      summary.ctc_infeasible += static_cast<int64_t>(bad.size());
      if (is_train && o.drop_ctc_infeasible && !bad.empty()) {
        std::set<std::string> drop;
        for (const auto& b : bad) drop.insert(b.id);
        const size_t before = split_rows.size();
        split_rows.erase(std::remove_if(split_rows.begin(), split_rows.end(),
                                        [&](const ManifestRow& r) { return drop.count(r.id); }),
                         split_rows.end());
        summary.ctc_dropped += static_cast<int64_t>(before - split_rows.size());
      }
      infeasible.insert(infeasible.end(), bad.begin(), bad.end());
    }
    std::vector<std::string> cols = {"id", "audio", "n_frames", "tgt_text", "speaker"};
    if (!o.src_text_from.empty() ||
        std::any_of(split_rows.begin(), split_rows.end(),
                    [](const ManifestRow& r) { return !r.src_text.empty(); }))
      cols.push_back("src_text");
    if (!o.tgt_lang.empty()) cols.push_back("tgt_lang");
    write_tsv_manifest((out / (splits[k].name + ".tsv")).string(), split_rows, cols);
    summary.splits.push_back(splits[k].name);
    summary.rows.push_back(static_cast<int64_t>(split_rows.size()));
    logger.info("{}.tsv: {} rows", splits[k].name, split_rows.size());
  }
  if (subsampling > 0)
    report_ctc_infeasible(infeasible, subsampling, (out / "ctc_infeasible.tsv").string(),
                          o.drop_ctc_infeasible);
  if (summary.skipped_bad_audio)
    logger.warn("skipped {} bad audio file(s)", summary.skipped_bad_audio);
  if (summary.filtered)
    logger.info("filtered {} train row(s) (empty text, n_frames < 5 or > 3000)", summary.filtered);
  return summary;
}

}  // namespace trellis
