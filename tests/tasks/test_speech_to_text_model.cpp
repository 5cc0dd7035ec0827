// speech tasks: building model and criterion, forward(), and the task state of checkpoints.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "core/data/sentencepiece_vocab.h"
#include "core/interfaces/criterion.h"
#include "models/conformer/conformer_options.h"
#include "core/interfaces/model.h"
#include "speech_corpus.h"
#include "task_test_utils.h"

using namespace trellis;
using trellis::testing::make_speech_task;
using trellis::testing::SpeechCorpus;

namespace {

AnyOptions tiny_arch(const std::string& arch) {
  AnyOptions a = arch_registry().make_options(arch);
  auto& o = a.as<ConformerOptions>();
  o.encoder_layers = 1;
  o.encoder_embed_dim = 16;
  o.encoder_ffn_embed_dim = 32;
  o.encoder_attention_heads = 2;
  o.conv_channels = 16;
  o.conformer_conv_kernel_size = 3;
  o.ctc_encoder_layer = 1;
  o.decoder_layers = 1;
  o.decoder_embed_dim = 16;
  o.decoder_ffn_embed_dim = 32;
  o.decoder_attention_heads = 2;
  return a;
}

// Longer utterances (40, 32, 28, 24 frames) than the default corpus, so CTC can align.
void write_long_rows(SpeechCorpus& c) {
  std::vector<std::vector<std::string>> rows;
  const char* tgt[] = {"ab", "b c", "c", "ab ca"};
  const int T[] = {40, 32, 28, 24};
  for (int k = 0; k < 4; ++k) {
    auto path = c.root / fmt::format("long{}.npy", k);
    trellis::testing::write_npy(path, trellis::testing::corpus_features(k, T[k]), T[k], 80);
    rows.push_back({fmt::format("l{}", k), path.string(), std::to_string(T[k]), tgt[k], tgt[k]});
  }
  c.write_tsv("train", rows);
}

}  // namespace

TEST_CASE("speech tasks: forward runs model and criterion on a batch", "[unit][tasks]") {
  SpeechCorpus c("forward");
  write_long_rows(c);
  torch::manual_seed(1);
  {  // encoder-only CTC model, fairseq's ctc criterion on the target (blank <s> = 0)
    auto task = make_speech_task("speech_to_text_ctc", c.root.string(), "ctc");
    task->load_dataset("train", true);
    auto model = task->build_model("conformer_ctc", tiny_arch("conformer_ctc"));
    CHECK_FALSE(model->has_decoder());
    auto crit =
        task->build_criterion("ctc", criterion_registry().make_options("ctc"), nullptr, false);
    SpeechBatch b = task->collate_speech("train", {0, 1, 2, 3}, 1);
    LossOutput out = task->forward(*model, *crit, b);
    CHECK(std::isfinite(out.loss.item<double>()));
    CHECK(out.loss.item<double>() > 0);
    CHECK(out.sample_size == static_cast<double>(b.ntokens));
    out.loss.backward();
  }
  {  // FBK seed set-up: conformer + ctc_multi_loss(label_smoothed_cross_entropy)
    auto task = make_speech_task("speech_to_text_ctc", c.root.string(), "ctc_multi_loss");
    task->load_dataset("train", true);
    auto model = task->build_model("conformer", tiny_arch("conformer"));
    CHECK(model->has_decoder());
    auto lsce = criterion_registry().make_options("label_smoothed_cross_entropy");
    lsce.fields().find("label_smoothing")->set_from_string("0.1", "test");
    auto opts = criterion_registry().make_options("ctc_multi_loss");
    opts.fields()
        .find("underlying_criterion")
        ->set_from_string("label_smoothed_cross_entropy", "t");
    opts.fields().find("ctc_weight")->set_from_string("0.5", "test");
    auto crit = task->build_criterion("ctc_multi_loss", opts, &lsce, false);
    SpeechBatch b = task->collate_speech("train", {0, 1, 2, 3}, 1);
    LossOutput out = task->forward(*model, *crit, b);
    CHECK(std::isfinite(out.loss.item<double>()));
    CHECK(std::isfinite(out.stats.at("ctc_loss")));
    CHECK(out.stats.at("ctc_loss") > 0);
    // Gradient denominator: transcript tokens (each with its eos).
    CHECK(out.sample_size == static_cast<double>(b.transcript_lengths.sum().item<int64_t>()));
    CHECK(out.stats.at("ntokens") == static_cast<double>(b.ntokens));
  }
  {  // speech_to_text cannot feed ctc_multi_loss (no transcripts)
    auto task = make_speech_task("speech_to_text", c.root.string(), "ctc_multi_loss");
    auto opts = criterion_registry().make_options("ctc_multi_loss");
    CHECK_THROWS_WITH(task->build_criterion("ctc_multi_loss", opts, nullptr, false),
                      Catch::Contains("speech_to_text_ctc"));
  }
}

TEST_CASE("speech tasks: the task state rebuilds identical vocabularies without the data",
          "[unit][tasks]") {
  namespace fs = std::filesystem;
  SpeechCorpus c("state");
  // A SentencePiece target side next to the characters source side.
  std::vector<std::string> texts;
  for (int i = 0; i < 30; ++i) texts.push_back("ab ba cab abc bca ca ac");
  SpmTrainOptions so;
  so.model_type = "char";
  so.vocab_size = 12;
  so.hard_vocab_limit = false;
  SentencePieceVocab::train(texts, (c.root / "spm").string(), so);
  SentencePieceVocab((c.root / "spm.model").string())
      .write_fairseq_dict((c.root / "spm.txt").string());
  trellis::testing::write_text(c.root / "config.yaml",
                               "vocab_filename: spm.txt\nvocab_filename_src: dict.txt\n"
                               "bpe_tokenizer: {bpe: sentencepiece, sentencepiece_model: "
                               "spm.model}\nbpe_tokenizer_src: {bpe: characters}\n");
  auto a = make_speech_task("speech_to_text_ctc", c.root.string(), "ctc_multi_loss");
  auto state = a->task_state();
  CHECK(state.count("spm_model") == 1);
  CHECK(state.count("config_yaml") == 1);

  const fs::path empty = c.root / "elsewhere";
  fs::create_directories(empty);
  auto b = make_speech_task("speech_to_text_ctc", empty.string(), "ctc_multi_loss", {}, state);
  auto same = [](const Dictionary& x, const Dictionary& y) {
    if (x.size() != y.size()) return false;
    for (int64_t i = 0; i < x.size(); ++i)
      if (x.symbol(i) != y.symbol(i) || x.index(x.symbol(i)) != y.index(y.symbol(i))) return false;
    return true;
  };
  CHECK(same(a->target_dictionary(), b->target_dictionary()));
  CHECK(same(*a->source_dictionary(), *b->source_dictionary()));
  CHECK(b->source_dictionary()->symbol(9) == "<ctc_blank>");
  CHECK(b->blank_index() == a->blank_index());
  const std::string text = "cab ba";
  CHECK(b->vocab().encode(text, false) == a->vocab().encode(text, false));
  CHECK(b->vocab().encode(text, true) == a->vocab().encode(text, true));
  CHECK(b->vocab().decode(a->vocab().encode(text, false), false) == text);
  REQUIRE(b->bpe() != nullptr);
  CHECK(b->bpe()->post_process_symbol() == "sentencepiece");
  CHECK(b->task_state() == state);

  // A dictionary with an overwritten symbol keeps its indices through the text form.
  Dictionary d = dictionary_from_text("x 3\ny 2\nx 1 #fairseq:overwrite\n", "test");
  Dictionary e = dictionary_from_text(dictionary_text(d), "test");
  CHECK(same(d, e));
  CHECK(e.index("x") == 6);
}
