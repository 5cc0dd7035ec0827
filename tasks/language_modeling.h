#pragma once
// --task language_modeling (fairseq's LanguageModelingTask; docs/tasks.md "language_modeling"):
// a left-to-right LM (--arch transformer_lm, --criterion cross_entropy) trained on text with the
// speech data's vocabulary, so that generate can fuse it into decoding with no mapping.
//
//   vocabulary: DATA_ROOT/<config_yaml> (vocab_filename, bpe_tokenizer), as speech_to_text:
//               char or SentencePiece units, the same dictionary indices;
//   split S:    DATA_ROOT/S.txt (one sentence a line, blank lines skipped) when it exists,
//               else the tgt_text column of DATA_ROOT/S.tsv (a speech manifest);
//   samples:    token blocks (tasks/token_blocks.h) by --sample-break-mode and
//               --tokens-per-sample; ordered by size with seeded random ties (training) and
//               batched by --max-tokens / --batch-size (fairseq's batch_by_size).
// Validation logs loss and ppl (cross_entropy's base-2 loss, 2^loss).

#include <map>
#include <memory>
#include <string>

#include "core/interfaces/task.h"
#include "tasks/speech_vocab.h"
#include "tasks/token_blocks.h"

namespace trellis {

struct LanguageModelingOptions {
  std::string config_yaml = "config.yaml";
  int64_t tokens_per_sample = 1024;
  std::string sample_break_mode = "none";

  template <class V>
  void visit(V& v) {
    v.field("config_yaml", config_yaml,
            "data config naming the vocabulary (vocab_filename, bpe_tokenizer), under the data "
            "directory");
    v.field("tokens_per_sample", tokens_per_sample, "max tokens per sample (block)");
    v.field("sample_break_mode", sample_break_mode,
            "none: blocks of --tokens-per-sample tokens across sentences; complete: whole "
            "sentences packed up to --tokens-per-sample; eos: one sentence per sample")
        .choices({"none", "complete", "eos"});
  }
  void validate() const;
};

// A collated batch of token blocks.
struct LmBatch : TaskBatch {
  at::Tensor source;  // (B, L) int64: token before each position, right-padded with pad
  at::Tensor target;  // (B, L) int64: the tokens to predict, right-padded with pad
};

class LanguageModelingTask : public Task {
 public:
  LanguageModelingTask(const LanguageModelingOptions& options, const TaskContext& ctx);

  void load_dataset(const std::string& split, bool is_train) override;
  int64_t dataset_size(const std::string& split) const override;
  const std::vector<int64_t>& source_sizes(const std::string& split) const override;
  Batches batches(const std::string& split, const BatchRequest& request) override;
  BatchPtr collate(const std::string& split, const Batch& batch, uint64_t seed) const override;
  std::unique_ptr<Model> build_model(const std::string& arch,
                                     const AnyOptions& arch_options) override;
  std::unique_ptr<Criterion> build_criterion(const std::string& name, const AnyOptions& options,
                                             const AnyOptions* underlying,
                                             bool sentence_avg) override;
  LossOutput forward(Model& model, Criterion& criterion, const TaskBatch& batch) override;
  const Dictionary& target_dictionary() const override { return vocab_.tgt_dict; }
  std::map<std::string, std::string> task_state() const override { return vocab_.state(); }
  std::string detokenize(const std::vector<int64_t>& ids) const override;

  // Encodes one line of text as the LM sees it (dictionary ids, no eos).
  std::vector<int64_t> encode(const std::string& text) const { return vocab_.encode(text, false); }
  // The blocks of a loaded split (DataError when it was not loaded).
  const TokenBlocks& blocks(const std::string& split) const;

 private:
  struct Split {
    TokenBlocks blocks;
    std::vector<int64_t> sizes;  // block sizes
    bool is_train = false;
    std::string where;  // the file read
  };
  const Split& split(const std::string& name) const;

  LanguageModelingOptions options_;
  TaskContext ctx_;
  SpeechVocab vocab_;
  std::map<std::string, Split> splits_;
};

}  // namespace trellis
