#pragma once
// The fixed option groups of `generate` (fairseq-generate's flags and defaults,
// docs/cli.md, "generate"; docs/generate.md).

#include <cstdint>
#include <optional>
#include <string>

namespace trellis {

struct GenerationOptions {
  std::string path;
  std::string gen_subset = "test";
  int64_t beam = 5;
  int64_t nbest = 1;
  double max_len_a = 0.0;
  int64_t max_len_b = 200;
  int64_t min_len = 1;
  double lenpen = 1.0;
  double unkpen = 0.0;
  int64_t no_repeat_ngram_size = 0;
  int64_t prefix_size = 0;
  double ctc_weight = 0.0;
  std::string lm_path;
  double lm_weight = 1.0;
  double word_score = 0.0;
  double beam_threshold = 0.0;
  std::string results_path;
  std::string scoring = "bleu";
  std::optional<int64_t> max_tokens;
  std::optional<int64_t> batch_size;
  bool skip_invalid_size_inputs_valid_test = false;
  std::string model_overrides = "{}";
  bool quiet = false;

  template <class V>
  void visit(V& v) {
    v.field("path", path, "checkpoint(s) to decode with, ':'-separated for an ensemble");
    v.field("gen_subset", gen_subset, "split to decode (DATA/<name>.tsv)");
    v.field("beam", beam, "beam size");
    v.field("nbest", nbest, "hypotheses printed per input");
    v.field("max_len_a", max_len_a, "max output length = a * source frames + b");
    v.field("max_len_b", max_len_b, "max output length = a * source frames + b");
    v.field("min_len", min_len, "minimum output length");
    v.field("lenpen", lenpen, "length penalty: score / length^lenpen");
    v.field("unkpen", unkpen, "penalty subtracted from <unk> log-probabilities");
    v.field("no_repeat_ngram_size", no_repeat_ngram_size, "forbid repeated n-grams (0 = off)");
    v.field("prefix_size", prefix_size, "force the first N reference tokens (language tags)");
    v.field("ctc_weight", ctc_weight, "weight of CTC scores in joint CTC/attention decoding");
    v.field("lm_path", lm_path,
            "LM for shallow fusion: an ARPA n-gram (word-level) or a trellis language model "
            "checkpoint (token-level; --task language_modeling); docs/generate.md");
    v.field("lm_weight", lm_weight,
            "LM fusion: weight of the natural-log LM probability (alpha; fairseq --lm-weight, "
            "ESPnet lm_weight, NeMo beam_alpha)");
    v.field("word_score", word_score,
            "LM fusion: bonus per word (n-gram) or per token (neural LM) (beta; NeMo beam_beta)");
    v.field("beam_threshold", beam_threshold,
            "CTC prefix beam search: drop prefixes scoring below the best minus this (0 = off)");
    v.field("results_path", results_path, "write DIR/generate-<subset>.txt instead of stdout");
    v.field("scoring", scoring,
            "scorer (a registered name; its options are listed once it is selected)")
        .selects("scorer");
    v.field("max_tokens", max_tokens, "maximum padded source frames per batch");
    v.field("batch_size", batch_size, "maximum sentences per batch");
    v.field("skip_invalid_size_inputs_valid_test", skip_invalid_size_inputs_valid_test,
            "drop samples longer than the maximum positions instead of failing");
    v.field("model_overrides", model_overrides, "override stored model options (a dict)");
    v.field("quiet", quiet, "print only the final score");
  }
  void validate() const;
};

// Which task decodes (the model comes from the checkpoint).
struct GenerateComponents {
  std::string task;
  std::string criterion;

  template <class V>
  void visit(V& v) {
    v.field("task", task, "task: data and vocabularies").selects("task");
    v.field("criterion", criterion, "criterion the checkpoint was trained with (FBK needs it to "
                                    "size the CTC vocabulary)")
        .selects("criterion");
  }
};

}  // namespace trellis
