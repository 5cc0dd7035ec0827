#include "tasks/language_modeling.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>

#include "core/data/dictionary.h"
#include "core/data/manifest.h"
#include "core/error.h"
#include "core/interfaces/criterion.h"
#include "core/interfaces/language_model.h"
#include "core/interfaces/model.h"
#include "core/logging.h"
#include "tasks/speech_dataset.h"
#include "tasks/task_helpers.h"

namespace trellis {
namespace {

namespace fs = std::filesystem;
const log::Logger logger("trellis.task");

// The sentences of split `name`: DATA_ROOT/name.txt, else tgt_text of DATA_ROOT/name.tsv.
std::vector<std::string> read_sentences(const std::string& root, const std::string& name,
                                        std::string* where) {
  const fs::path txt = fs::path(root) / (name + ".txt");
  const fs::path tsv = fs::path(root) / (name + ".tsv");
  std::vector<std::string> out;
  if (fs::exists(txt)) {
    *where = txt.string();
    std::ifstream in(txt);
    TRELLIS_CHECK(in.good(), DataError, "{}: cannot be read", *where);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") != std::string::npos) out.push_back(line);
    }
    return out;
  }
  TRELLIS_CHECK(fs::exists(tsv), DataError,
                "language_modeling: split '{}' has neither {} (text, one sentence a line) nor {} "
                "(a manifest with tgt_text)",
                name, txt.string(), tsv.string());
  *where = tsv.string();
  for (const ManifestRow& r : read_tsv_manifest(tsv.string()).rows) out.push_back(r.tgt_text);
  return out;
}

}  // namespace

void LanguageModelingOptions::validate() const {
  TRELLIS_CHECK(tokens_per_sample > 0, ConfigError, "--tokens-per-sample must be > 0 (got {})",
                tokens_per_sample);
  parse_sample_break_mode(sample_break_mode);
}

LanguageModelingTask::LanguageModelingTask(const LanguageModelingOptions& options,
                                           const TaskContext& ctx)
    : options_(options), ctx_(ctx) {
  options_.validate();
  vocab_ = ctx.restored_state.empty()
               ? SpeechVocab::from_files(ctx.data_root, options_.config_yaml, false)
               : SpeechVocab::from_state(ctx.restored_state, ctx.data_root, false);
  logger.info("dictionary size ({}): {}", vocab_.config.vocab_filename, vocab_.tgt_dict.size());
}

void LanguageModelingTask::load_dataset(const std::string& name, bool is_train) {
  Split s;
  s.is_train = is_train;
  std::vector<std::vector<int64_t>> sentences;
  for (const std::string& part : split_names(name)) {
    std::string where;
    for (const std::string& text : read_sentences(ctx_.data_root, part, &where))
      sentences.push_back(vocab_.encode(text, false));
    s.where += (s.where.empty() ? "" : ",") + where;
  }
  TRELLIS_CHECK(!sentences.empty(), DataError, "{}: no sentences", s.where);
  s.blocks = make_token_blocks(sentences, options_.tokens_per_sample,
                               parse_sample_break_mode(options_.sample_break_mode),
                               static_cast<int32_t>(vocab_.tgt_dict.eos()));
  for (int64_t i = 0; i < s.blocks.size(); ++i) s.sizes.push_back(s.blocks.block_size(i));
  logger.info("{}: {} sentences, {} tokens, {} blocks ({}, --sample-break-mode {})", name,
              sentences.size(), s.blocks.stream.size(), s.blocks.size(), s.where,
              options_.sample_break_mode);
  splits_[name] = std::move(s);
}

const LanguageModelingTask::Split& LanguageModelingTask::split(const std::string& name) const {
  auto it = splits_.find(name);
  TRELLIS_CHECK(it != splits_.end(), DataError, "split '{}' was not loaded (load_dataset)", name);
  return it->second;
}

const TokenBlocks& LanguageModelingTask::blocks(const std::string& name) const {
  return split(name).blocks;
}

int64_t LanguageModelingTask::dataset_size(const std::string& name) const {
  return split(name).blocks.size();
}

const std::vector<int64_t>& LanguageModelingTask::source_sizes(const std::string& name) const {
  return split(name).sizes;
}

Batches LanguageModelingTask::batches(const std::string& name, const BatchRequest& request) {
  const Split& s = split(name);
  // fairseq's MonolingualDataset.ordered_indices: by size, random order among equal sizes
  // (training; --seed), index order otherwise.
  std::vector<int64_t> order(static_cast<size_t>(s.blocks.size()));
  std::iota(order.begin(), order.end(), 0);
  if (s.is_train) std::shuffle(order.begin(), order.end(), std::mt19937_64(ctx_.seed));
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return s.sizes[static_cast<size_t>(a)] < s.sizes[static_cast<size_t>(b)];
  });
  int64_t max_len = min_limit(options_.tokens_per_sample, request.max_target_positions);
  if (s.is_train) max_len = min_limit(max_len, request.max_tokens);
  if (!s.is_train && !request.skip_invalid_size_inputs && max_len > 0) {
    for (int64_t i : order)
      TRELLIS_CHECK(s.sizes[static_cast<size_t>(i)] <= max_len, DataError,
                    "{} ({}): block {} has {} tokens, more than {} (--tokens-per-sample {}, the "
                    "model's positions); raise --tokens-per-sample, use --sample-break-mode none, "
                    "or --skip-invalid-size-inputs-valid-test",
                    name, s.where, i, s.sizes[static_cast<size_t>(i)], max_len,
                    options_.tokens_per_sample);
  }
  std::vector<int64_t> dropped;
  std::vector<int64_t> kept = filter_by_size(order, s.sizes, {}, max_len, 0,
                                             s.is_train || request.skip_invalid_size_inputs,
                                             &dropped);
  if (!dropped.empty())
    logger.warn("{}: {} blocks longer than {} tokens are skipped", name, dropped.size(), max_len);
  return batch_by_size_vec(kept, s.sizes, request.max_tokens, request.batch_size,
                           std::max<int64_t>(1, request.required_batch_size_multiple));
}

// batch: block indices -> LmBatch with source/target (B, L) right-padded with pad
BatchPtr LanguageModelingTask::collate(const std::string& name, const Batch& batch,
                                       uint64_t) const {
  const Split& s = split(name);
  auto out = std::make_shared<LmBatch>();
  const auto B = static_cast<int64_t>(batch.size());
  if (B == 0) return out;
  int64_t L = 0;
  for (int64_t i : batch) {
    TRELLIS_CHECK(i >= 0 && i < s.blocks.size(), Error,
                  "collate: block {} out of range (split '{}' has {})", i, name, s.blocks.size());
    L = std::max(L, s.blocks.block_size(i));
  }
  const int64_t pad = vocab_.tgt_dict.pad();
  out->source = torch::full({B, L}, pad, torch::kLong);
  out->target = torch::full({B, L}, pad, torch::kLong);
  auto src = out->source.accessor<int64_t, 2>();
  auto tgt = out->target.accessor<int64_t, 2>();
  for (int64_t b = 0; b < B; ++b) {
    const int64_t i = batch[static_cast<size_t>(b)];
    const auto so = s.blocks.source(i), ta = s.blocks.target(i);
    for (size_t k = 0; k < so.size(); ++k) {
      src[b][static_cast<int64_t>(k)] = so[k];
      tgt[b][static_cast<int64_t>(k)] = ta[k];
    }
    out->indices.push_back(i);
    out->ids.push_back(fmt::format("{}#{}", name, i));
    out->ntokens += static_cast<int64_t>(ta.size());
  }
  out->src_frames = out->ntokens;
  out->padded_frames = B * L;
  return out;
}

std::unique_ptr<Model> LanguageModelingTask::build_model(const std::string& arch,
                                                         const AnyOptions& arch_options) {
  ModelContext m;
  m.tgt_vocab_size = vocab_.tgt_dict.size();
  m.pad = vocab_.tgt_dict.pad();
  m.eos = vocab_.tgt_dict.eos();
  std::unique_ptr<Model> model =
      model_registry().create(arch_registry().info(arch).target, arch_options, m);
  TRELLIS_CHECK(dynamic_cast<LanguageModel*>(model.get()) != nullptr, ConfigError,
                "--arch {} is not a language model; --task language_modeling trains one (e.g. "
                "--arch transformer_lm)",
                arch);
  return model;
}

std::unique_ptr<Criterion> LanguageModelingTask::build_criterion(const std::string& name,
                                                                 const AnyOptions& options,
                                                                 const AnyOptions* underlying,
                                                                 bool sentence_avg) {
  const CriterionNeeds needs = criterion_registry().needs(name, options);
  TRELLIS_CHECK(needs.decoder && !needs.ctc && !needs.source_ctc, ConfigError,
                "--criterion {} needs audio or CTC outputs; --task language_modeling trains on "
                "text with a token-level loss (--criterion cross_entropy)",
                name);
  CriterionContext c;
  c.pad = vocab_.tgt_dict.pad();
  c.eos = vocab_.tgt_dict.eos();
  c.sentence_avg = sentence_avg;
  c.underlying_options = underlying;
  return criterion_registry().create(name, options, c);
}

LossOutput LanguageModelingTask::forward(Model& model, Criterion& criterion,
                                         const TaskBatch& any_batch) {
  const LmBatch& batch = batch_cast<LmBatch>(any_batch);
  auto* lm = dynamic_cast<LanguageModel*>(&model);
  TRELLIS_CHECK(lm != nullptr, ConfigError,
                "--task language_modeling: the model is not a language model");
  auto params = model.parameters();
  const torch::Device device = params.empty() ? torch::Device(torch::kCPU) : params[0].device();
  NetOutput net;
  net.decoder_logits = lm->lm_logits(batch.source.to(device));  // (B, L, V)
  CriterionTargets t;
  t.target = batch.target.to(device);
  t.ntokens = batch.ntokens;
  t.nsentences = batch.size();
  t.ids = &batch.ids;
  return criterion.forward(net, t);
}

std::string LanguageModelingTask::detokenize(const std::vector<int64_t>& ids) const {
  std::vector<int64_t> kept;
  for (int64_t t : ids)
    if (t != vocab_.tgt_dict.eos() && t != vocab_.tgt_dict.pad()) kept.push_back(t);
  return vocab_.decode(kept, false);
}

}  // namespace trellis

TRELLIS_REGISTER(trellis::task_registry(), "language_modeling", trellis::LanguageModelingTask,
                 trellis::LanguageModelingOptions,
                 "left-to-right language modelling on text with the speech data's vocabulary "
                 "(fairseq's language_modeling; for LM fusion in generate)");
