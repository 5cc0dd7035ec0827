#include "core/generate/generator.h"

#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "core/checkpoint.h"
#include "core/cli_parser.h"
#include "core/data/dictionary.h"
#include "core/error.h"
#include "core/generate/beam_search.h"
#include "core/generate/ctc_decoder.h"
#include "core/generate/model_loader.h"
#include "core/generate/lm_loader.h"
#include "core/generation_options.h"
#include "core/logging.h"
#include "core/programs.h"
#include "core/strings.h"
#include "core/train_options.h"
#include "core/interfaces/model.h"
#include "core/interfaces/scorer.h"
#include "core/interfaces/task.h"

namespace trellis {
namespace {

namespace fs = std::filesystem;
const log::Logger logger("trellis.generate");

// The CTC log-probabilities of an ensemble, averaged in probability space: (T, B, V) on the CPU.
at::Tensor ctc_lprobs(const std::vector<Model*>& models, const std::vector<EncoderOut>& encs,
                      const std::vector<std::string>& paths) {
  std::vector<at::Tensor> lps;
  for (size_t m = 0; m < models.size(); ++m) {
    TRELLIS_CHECK(encs[m].ctc_logits.defined(), Error, "{}: the model produced no CTC output",
                  paths[m]);
    lps.push_back(models[m]->normalized_probs(encs[m].ctc_logits, true).to(torch::kCPU));
    TRELLIS_CHECK(lps.back().sizes() == lps[0].sizes(), ConfigError,
                  "--path: {} and {} give CTC outputs of different shapes (subsampling or "
                  "vocabulary): they cannot form an ensemble",
                  paths[0], paths[m]);
  }
  if (lps.size() == 1) return lps[0];
  return torch::logsumexp(torch::stack(lps), 0) - std::log(static_cast<double>(lps.size()));
}

std::string pieces(const Task& task, const std::vector<int64_t>& ids) {
  std::vector<int64_t> kept;
  for (int64_t t : ids)
    if (t != task.target_dictionary().eos()) kept.push_back(t);
  return task.target_dictionary().string(kept);
}

}  // namespace

int run_generation(const Config& config) {
  const auto& gen = config.get<GenerationOptions>("generation");
  TRELLIS_CHECK(!gen.path.empty(), ConfigError, "--path is required");
  const auto paths = split_all(gen.path, ':');
  for (const auto& p : paths)
    TRELLIS_CHECK(fs::exists(p), CheckpointError, "--path: checkpoint {}: no such file", p);
  TRELLIS_CHECK(gen.ctc_weight >= 0.0 && gen.ctc_weight <= 1.0, ConfigError,
                "--ctc-weight must be in [0, 1] (got {})", gen.ctc_weight);
  TRELLIS_CHECK(gen.no_repeat_ngram_size >= 0, ConfigError,
                "--no-repeat-ngram-size must be >= 0");
  TRELLIS_CHECK(gen.beam >= 1 && gen.nbest >= 1 && gen.nbest <= gen.beam, ConfigError,
                "--beam must be >= 1 and --nbest in [1, --beam]");
  torch::NoGradGuard no_grad;
  std::vector<LoadedCheckpoint> ensemble;
  for (const auto& p : paths)
    ensemble.push_back(load_for_generation(p, config, gen.model_overrides));
  LoadedCheckpoint& l = ensemble.front();
  Task& task = *l.task;  // the first checkpoint's task reads the data for all
  Model& model = *l.model;
  for (const LoadedCheckpoint& other : ensemble) {
    TRELLIS_CHECK(other.task->target_dictionary().size() == task.target_dictionary().size() &&
                      other.model->has_decoder() == model.has_decoder(),
                  ConfigError,
                  "--path: {} and {} cannot form an ensemble (different target dictionaries or "
                  "one has a decoder and the other not)",
                  paths.front(), paths[&other - ensemble.data()]);
  }
  if (ensemble.size() > 1) logger.info("ensemble of {} checkpoints", ensemble.size());
  // The scorer checks what it needs of the task before any decoding.
  ScorerContext sctx;
  sctx.target_dictionary = &task.target_dictionary();
  sctx.task = task.traits();
  sctx.prefix_size = gen.prefix_size;
  const ConfigGroup* scoring = config.find("scoring");
  std::unique_ptr<Scorer> scorer =
      scorer_registry().create(gen.scoring, scoring->options, sctx);

  task.load_dataset(gen.gen_subset, false);
  BatchRequest req;
  req.max_tokens = gen.max_tokens.value_or(gen.batch_size ? 0 : 12000);
  req.batch_size = gen.batch_size.value_or(0);
  req.required_batch_size_multiple = 1;
  auto [max_src, max_tgt] = model.max_positions();
  req.max_source_positions = max_src;
  req.max_target_positions = max_tgt;
  req.skip_invalid_size_inputs = gen.skip_invalid_size_inputs_valid_test;
  const Batches batches = task.batches(gen.gen_subset, req);

  std::ofstream file;
  if (!gen.results_path.empty()) {
    fs::create_directories(gen.results_path);
    const auto out = fs::path(gen.results_path) / ("generate-" + gen.gen_subset + ".txt");
    file.open(out);
    TRELLIS_CHECK(file.good(), Error, "cannot write {}", out.string());
  }
  std::ostream& out = file.is_open() ? static_cast<std::ostream&>(file) : std::cout;

  TRELLIS_CHECK(model.has_decoder() || gen.prefix_size == 0, ConfigError,
                "--prefix-size needs a model with a decoder");
  const BatchDecoder decoder(gen, ensemble, paths);

  const auto start = std::chrono::steady_clock::now();
  const double ln2 = std::log(2.0);
  double audio_seconds = 0;
  int64_t sentences = 0, tokens = 0;
  for (const Batch& b : batches) {
    const BatchPtr collated = task.collate(gen.gen_subset, b, 0);
    const TaskBatch& batch = *collated;
    if (batch.empty()) continue;
    const DecodingInput in = task.decoding_input(batch);
    audio_seconds += in.audio_seconds;
    at::Tensor prefix;
    if (gen.prefix_size > 0) prefix = in.target.slice(1, 0, gen.prefix_size);
    const auto hyps = decoder.decode(in.src_tokens, in.src_lengths, prefix).hyps;
    for (int64_t i = 0; i < batch.size(); ++i) {
      const int64_t id = batch.indices[i];
      const int64_t len = in.target_lengths[i].item<int64_t>();
      const auto* t = in.target[i].data_ptr<int64_t>();
      const std::vector<int64_t> ref_tokens(t, t + len);
      const std::string ref = task.detokenize(ref_tokens);
      if (!gen.quiet) out << "T-" << id << "\t" << ref << "\n";
      for (size_t n = 0; n < hyps[i].size(); ++n) {
        const Hypothesis& h = hyps[i][n];
        const std::string text = task.detokenize(h.tokens);
        if (!gen.quiet) {
          out << fmt::format("H-{}\t{:.6g}\t{}\n", id, h.score / ln2, pieces(task, h.tokens));
          out << fmt::format("D-{}\t{:.6g}\t{}\n", id, h.score / ln2, text);
          if (!h.positional_scores.empty()) {
            std::string p;
            for (float s : h.positional_scores)
              p += fmt::format("{}{:.4f}", p.empty() ? "" : " ", s / ln2);
            out << "P-" << id << "\t" << p << "\n";
          }
        }
        if (n == 0) {
          scorer->add({ref, text, ref_tokens, h.tokens});
          tokens += static_cast<int64_t>(h.tokens.size());
        }
      }
      ++sentences;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  logger.info("translated {} sentences ({} tokens) in {:.1f}s ({:.2f} sentences/s, {:.2f} "
              "tokens/s); {:.1f} s of audio, {:.1f} s of audio per second (real-time factor "
              "{:.4f})",
              sentences, tokens, seconds, sentences / std::max(seconds, 1e-9),
              tokens / std::max(seconds, 1e-9), audio_seconds,
              audio_seconds / std::max(seconds, 1e-9), seconds / std::max(audio_seconds, 1e-9));
  const std::string final_line = fmt::format("Generate {} with beam={}: {}", gen.gen_subset,
                                             gen.beam, scorer->result_string());
  out << final_line << "\n";
  out.flush();
  if (file.is_open()) std::cout << final_line << "\n";
  return 0;
}

BatchDecoder::BatchDecoder(const GenerationOptions& gen, std::vector<LoadedCheckpoint>& ensemble,
                           const std::vector<std::string>& paths)
    : paths_(paths), beam_(gen.beam), nbest_(gen.nbest) {
  TRELLIS_CHECK(!ensemble.empty(), Error, "BatchDecoder: no checkpoint");
  for (LoadedCheckpoint& e : ensemble) models_.push_back(e.model.get());
  const LoadedCheckpoint& l = ensemble.front();
  const Task& task = *l.task;
  const Model& model = *l.model;
  blank_ = l.blank;
  const int64_t max_tgt = model.max_positions().second;
  BeamSearchOptions& bo = bo_;
  bo.beam = gen.beam;
  bo.nbest = gen.nbest;
  bo.max_len_a = gen.max_len_a;
  bo.max_len_b = gen.max_len_b;
  bo.min_len = gen.min_len;
  bo.lenpen = gen.lenpen;
  bo.unkpen = gen.unkpen;
  bo.no_repeat_ngram_size = gen.no_repeat_ngram_size;
  const Dictionary& tgt = task.target_dictionary();
  bo.pad = tgt.pad();
  bo.eos = tgt.eos();
  bo.unk = tgt.unk();
  bo.max_target_positions = max_tgt > 0 && max_tgt < (1LL << 40) ? max_tgt : 1024;
  bo.ctc_weight = model.has_decoder() ? gen.ctc_weight : 0.0;
  bo.ctc_blank = blank_;
  if (bo.ctc_weight > 0) check_joint_vocabulary(task, paths.front());

  // Shallow fusion (--lm-path: an ARPA n-gram or an LM checkpoint; lm_loader.h).
  TRELLIS_CHECK(gen.beam_threshold >= 0, ConfigError, "--beam-threshold must be >= 0 (0 = off)");
  beam_threshold_ = gen.beam_threshold;
  if (!gen.lm_path.empty()) {
    lm_ = std::make_unique<LoadedLm>(
        load_lm(gen.lm_path, gen.lm_weight, gen.word_score, tgt, blank_));
    bo.lm = lm_->fusion.get();
    logger.info("LM fusion: {} ({})", gen.lm_path, lm_->fusion->describe());
  }
}

BatchDecoder::~BatchDecoder() = default;

BatchDecoder::Output BatchDecoder::decode(const at::Tensor& src_tokens,
                                          const at::Tensor& src_lengths, const at::Tensor& prefix,
                                          bool want_ctc) const {
  const Model& model = *models_.front();
  const auto device = model.parameters().empty() ? torch::Device(torch::kCPU)
                                                 : model.parameters()[0].device();
  std::vector<EncoderOut> encs;
  for (Model* m : models_) encs.push_back(m->encode(src_tokens.to(device), src_lengths.to(device)));
  const int64_t bsz = src_tokens.size(0);
  Output out;
  out.hyps.resize(static_cast<size_t>(bsz));
  if (model.has_decoder()) {
    CtcScores ctc;
    if (bo_.ctc_weight > 0 || (want_ctc && encs[0].ctc_logits.defined())) {
      ctc.lprobs = ctc_lprobs(models_, encs, paths_);
      ctc.lengths = encs[0].ctc_lengths;
      out.ctc_lprobs = ctc.lprobs;
      out.ctc_lengths = ctc.lengths.to(torch::kCPU);
    }
    out.hyps = beam_search(models_, encs, src_tokens.size(1), bo_,
                           prefix.defined() ? prefix.to(device) : prefix,
                           bo_.ctc_weight > 0 ? &ctc : nullptr);
    return out;
  }
  at::Tensor lp = ctc_lprobs(models_, encs, paths_);  // (T, B, V)
  at::Tensor lens = encs[0].ctc_lengths.to(torch::kCPU);
  for (int64_t i = 0; i < bsz; ++i) {
    at::Tensor u = lp.select(1, i).slice(0, 0, lens[i].item<int64_t>());  // (T_i, V)
    std::vector<CtcHypothesis> ctc;
    if (beam_ == 1 && !bo_.lm) ctc.push_back(ctc_greedy(u, blank_));
    else ctc = ctc_prefix_beam_search(u, blank_, beam_, 30.0, bo_.lm, beam_threshold_);
    for (int64_t n = 0; n < nbest_ && n < static_cast<int64_t>(ctc.size()); ++n)
      out.hyps[static_cast<size_t>(i)].push_back({ctc[n].tokens, ctc[n].score, {}});
  }
  out.ctc_lprobs = lp;
  out.ctc_lengths = lens;
  return out;
}

}  // namespace trellis
