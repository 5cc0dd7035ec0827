// speech_to_text / speech_to_text_ctc: loading, target encoding, collation, batching, errors.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <thread>

#include "core/data/audio_reader.h"
#include "core/data/fbank.h"
#include "core/data/temperature_sampling.h"
#include "core/error.h"
#include "core/interfaces/criterion.h"
#include "speech_corpus.h"
#include "task_test_utils.h"

using namespace trellis;
using trellis::testing::make_speech_task;
using trellis::testing::SpeechCorpus;

namespace {

at::Tensor ints(std::vector<int64_t> v, int64_t rows) {
  return torch::tensor(v, torch::kInt64).view({rows, -1});
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("speech tasks: collation sorts, pads, shifts and counts", "[unit][tasks]") {
  SpeechCorpus c("collate");
  auto task = make_speech_task("speech_to_text_ctc", c.root.string(), "ctc_multi_loss");
  task->load_dataset("train", true);
  REQUIRE(task->dataset_size("train") == 4);
  CHECK(task->source_sizes("train") == std::vector<int64_t>{6, 9, 6, 8});
  CHECK(task->dataset("train").n_tgt_tokens == std::vector<int64_t>{3, 4, 2, 2});

  SpeechBatch b = task->collate_speech("train", {0, 1, 2, 3}, 1);
  // Descending real length, ties (u0, u2: 6 frames) by index.
  CHECK(b.indices == std::vector<int64_t>{1, 3, 0, 2});
  CHECK(b.ids == std::vector<std::string>{"u1", "u3", "u0", "u2"});
  REQUIRE(b.src_tokens.sizes() == torch::IntArrayRef({4, 9, 80}));
  CHECK(torch::equal(b.src_lengths, torch::tensor({9, 8, 6, 6}, torch::kInt64)));
  // a=4 b=5 c=6 |=7, eos 2, pad 1.
  CHECK(torch::equal(b.target,
                     ints({5, 7, 6, 7, 2, 4, 7, 2, 1, 1, 4, 5, 7, 2, 1, 6, 7, 2, 1, 1}, 4)));
  CHECK(torch::equal(b.target_lengths, torch::tensor({5, 3, 4, 3}, torch::kInt64)));
  CHECK(torch::equal(b.prev_output_tokens,
                     ints({2, 5, 7, 6, 7, 2, 4, 7, 1, 1, 2, 4, 5, 7, 1, 2, 6, 7, 1, 1}, 4)));
  CHECK(torch::equal(b.transcript, ints({2, 1, 1, 1, 4, 7, 2, 1, 4, 7, 2, 1, 6, 6, 7, 2}, 4)));
  CHECK(torch::equal(b.transcript_lengths, torch::tensor({1, 3, 3, 4}, torch::kInt64)));
  CHECK(b.ntokens == 15);
  CHECK(b.src_frames == 29);
  CHECK(b.padded_frames == 36);

  // Stored features (npy file, npy in a zip) unchanged; padding is zero.
  auto u0 = torch::from_blob(trellis::testing::corpus_features(0, 6).data(), {6, 80}).clone();
  auto u1 = torch::from_blob(trellis::testing::corpus_features(1, 9).data(), {9, 80}).clone();
  CHECK(torch::equal(b.src_tokens[2].slice(0, 0, 6), u0));
  CHECK(torch::equal(b.src_tokens[0], u1));
  CHECK(b.src_tokens[2].slice(0, 6).abs().sum().item<float>() == 0.f);
  // An audio file: 80-dim fbank computed on the fly (fairseq's get_features_or_waveform).
  int64_t frames = 0;
  auto fb = compute_fbank_features(read_audio((c.root / "u3.wav").string(), 0), 80, &frames);
  REQUIRE(frames == 8);
  CHECK(torch::allclose(b.src_tokens[1].slice(0, 0, 8), torch::from_blob(fb.data(), {8, 80})));

  // speech_to_text: the same targets, no transcript, no source dictionary.
  auto plain = make_speech_task("speech_to_text", c.root.string(), "label_smoothed_cross_entropy");
  plain->load_dataset("train", true);
  SpeechBatch p = plain->collate_speech("train", {0, 1, 2, 3}, 1);
  CHECK(torch::equal(p.target, b.target));
  CHECK_FALSE(p.transcript.defined());
  CHECK(plain->source_dictionary() == nullptr);
}

TEST_CASE("speech tasks: <ctc_blank> only with ctc_multi_loss; language tags", "[unit][tasks]") {
  SpeechCorpus c("blank");
  auto multi = make_speech_task("speech_to_text_ctc", c.root.string(), "ctc_multi_loss");
  auto ctc = make_speech_task("speech_to_text_ctc", c.root.string(), "ctc");
  CHECK(ctc->source_dictionary()->size() == 9);
  CHECK_FALSE(ctc->source_dictionary()->contains("<ctc_blank>"));
  CHECK(ctc->blank_index() == 0);
  REQUIRE(multi->source_dictionary()->size() == 10);
  CHECK(multi->source_dictionary()->symbol(9) == "<ctc_blank>");
  CHECK(multi->blank_index() == 9);
  CHECK(multi->target_dictionary().size() == 9);

  SpeechCorpus t("langtag", "prepend_tgt_lang_tag: true\n");
  auto task = make_speech_task("speech_to_text_ctc", t.root.string(), "ctc_multi_loss");
  task->load_dataset("train", true);
  SpeechBatch b = task->collate_speech("train", {0}, 1);
  CHECK(torch::equal(b.target, ints({8, 4, 5, 7, 2}, 1)));
  CHECK(torch::equal(b.prev_output_tokens, ints({2, 8, 4, 5, 7}, 1)));
  CHECK(torch::equal(b.transcript, ints({4, 7, 2}, 1)));  // no tag on the source side
  CHECK(task->dataset("train").n_tgt_tokens[0] == 3);     // tag and eos not counted

  // The loss must skip the tag: --ignore-prefix-size 1, also under ctc_multi_loss.
  auto lsce = criterion_registry().make_options("label_smoothed_cross_entropy");
  auto multi_opts = criterion_registry().make_options("ctc_multi_loss");
  multi_opts.fields()
      .find("underlying_criterion")
      ->set_from_string("label_smoothed_cross_entropy", "test");
  CHECK_THROWS_WITH(task->build_criterion("label_smoothed_cross_entropy", lsce, nullptr, false),
                    Catch::Contains("--ignore-prefix-size 1"));
  CHECK_THROWS_AS(task->build_criterion("ctc_multi_loss", multi_opts, &lsce, false), ConfigError);
  CHECK_THROWS_AS(task->build_criterion("ctc_multi_loss", multi_opts, nullptr, false), ConfigError);
  lsce.fields().find("ignore_prefix_size")->set_from_string("1", "test");
  CHECK(task->build_criterion("ctc_multi_loss", multi_opts, &lsce, false) != nullptr);

  // A tag missing from the dictionary names the manifest line and sample.
  std::string tsv = "id\taudio\tn_frames\ttgt_text\tsrc_text\ttgt_lang\nv0\tx.npy\t5\tab\ta\tfr\n";
  trellis::testing::write_text(t.root / "train_fr.tsv", tsv);
  std::string err = error_of([&] { task->load_dataset("train_fr", true); });
  CHECK_THAT(err, Catch::Contains("train_fr.tsv:2: sample 'v0'") && Catch::Contains("<lang:fr>"));
}

TEST_CASE("speech tasks: batches honour max tokens and size filters", "[unit][tasks]") {
  SpeechCorpus c("batches");
  std::vector<std::vector<std::string>> rows;
  for (int i = 0; i < 40; ++i)
    rows.push_back({fmt::format("s{}", i), "x.npy", std::to_string(10 + (i * 37) % 90), "ab", ""});
  rows.push_back({"long", "x.npy", "7000", "ab", ""});  // over --max-source-positions 6000
  rows.push_back({"wide", "x.npy", "300", "ab", ""});   // over --max-tokens 200
  c.write_tsv("train", rows);
  c.write_tsv("dev", rows);
  for (std::string style : {"fbk", "fairseq"}) {
    INFO(style);
    auto task = make_speech_task("speech_to_text", c.root.string(), "label_smoothed_cross_entropy",
                                 {{"batching_style", style}});
    task->load_dataset("train", true);
    task->load_dataset("dev", false);
    BatchRequest r;
    r.max_tokens = 200;
    r.required_batch_size_multiple = 1;
    Batches batches = task->batches("train", r);  // training drops both oversized samples
    int64_t n = 0;
    const auto& sizes = task->source_sizes("train");
    for (const auto& batch : batches) {
      int64_t longest = 0;
      for (int64_t i : batch) longest = std::max(longest, sizes[static_cast<size_t>(i)]);
      CHECK(longest * static_cast<int64_t>(batch.size()) <= 200);
      n += static_cast<int64_t>(batch.size());
    }
    CHECK(n == 40);
    // Validation: no --max-tokens term in the filter, and an error unless skipping.
    CHECK_THROWS_WITH(task->batches("dev", r),
                      Catch::Contains("'long'") && Catch::Contains("--skip-invalid-size-inputs"));
    r.skip_invalid_size_inputs = true;
    CHECK_THROWS_WITH(task->batches("dev", r), Catch::Contains("--max-tokens"));
    r.max_tokens = 400;
    n = 0;
    for (const auto& batch : task->batches("dev", r)) n += static_cast<int64_t>(batch.size());
    CHECK(n == 41);
    r.max_source_positions = 100;  // the model's limit: element-wise min with the task's
    n = 0;
    for (const auto& batch : task->batches("dev", r)) n += static_cast<int64_t>(batch.size());
    CHECK(n == 40);
  }
  auto task = make_speech_task("speech_to_text_ctc", c.root.string(), "ctc");
  CHECK_THROWS_WITH(task->load_dataset("dev", true), Catch::Contains("train*"));
  CHECK_THROWS_WITH(task->load_dataset("missing", false), Catch::Contains("missing.tsv"));
}

TEST_CASE("speech tasks: SpecAugment collation is deterministic per (seed, sample)",
          "[unit][tasks]") {
  SpeechCorpus c("determinism",
                 "specaugment: {freq_mask_F: 30, freq_mask_N: 2, time_mask_N: 2, time_mask_T: 3, "
                 "time_mask_p: 1.0}\ntransforms:\n  _train: [specaugment]\n");
  auto task = make_speech_task("speech_to_text_ctc", c.root.string(), "ctc");
  task->load_dataset("train", true);
  const Batch all{0, 1, 2, 3};
  SpeechBatch ref = task->collate_speech("train", all, 7);
  std::vector<SpeechBatch> got(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] { got[i] = task->collate_speech("train", all, 7); });
  for (auto& t : threads) t.join();
  for (const auto& g : got) CHECK(torch::equal(g.src_tokens, ref.src_tokens));
  CHECK_FALSE(torch::equal(task->collate_speech("train", all, 8).src_tokens, ref.src_tokens));
  // Sample u0 (row 2 of the full batch) is augmented the same way in another batch.
  SpeechBatch small = task->collate_speech("train", {2, 0}, 7);
  CHECK(small.ids == std::vector<std::string>{"u0", "u2"});
  CHECK(torch::equal(small.src_tokens[0], ref.src_tokens[2].slice(0, 0, 6)));
  // valid/eval splits get no SpecAugment (_train only).
  c.write_tsv("dev", c.default_rows());
  task->load_dataset("dev", false);
  auto u0 = torch::from_blob(trellis::testing::corpus_features(0, 6).data(), {6, 80}).clone();
  CHECK(torch::equal(task->collate_speech("dev", {0}, 7).src_tokens[0], u0));
}

TEST_CASE("speech tasks: unreadable samples name manifest, line and id, or are skipped",
          "[unit][tasks]") {
  SpeechCorpus c("broken");
  auto rows = c.default_rows();
  rows.push_back({"u4", (c.root / "missing.npy").string(), "5", "a", "a"});
  rows.push_back({"u5", (c.root / "u0.npy").string() + ":12", "5", "a", "a"});
  c.write_tsv("train", rows);
  trellis::testing::write_npy(c.root / "narrow.npy", trellis::testing::corpus_features(6, 5, 40), 5,
                              40);
  rows.push_back({"u6", (c.root / "narrow.npy").string(), "5", "a", "a"});
  c.write_tsv("train", rows);
  auto task = make_speech_task("speech_to_text", c.root.string(), "ctc");
  task->load_dataset("train", true);
  const std::string tsv = (c.root / "train.tsv").string();
  CHECK_THAT(error_of([&] {
               task->collate_speech("train", {0, 4}, 1);
             }),
             Catch::Contains(tsv + ":6: sample 'u4'") && Catch::Contains("missing.npy"));
  CHECK_THAT(error_of([&] { task->collate_speech("train", {5}, 1); }),
             Catch::Contains(tsv + ":7: sample 'u5'"));
  CHECK_THAT(error_of([&] { task->collate_speech("train", {6}, 1); }),
             Catch::Contains(tsv + ":8: sample 'u6'") && Catch::Contains("input_feat_per_channel"));

  auto skip =
      make_speech_task("speech_to_text", c.root.string(), "ctc", {{"skip_invalid_audio", "true"}});
  skip->load_dataset("train", true);
  SpeechBatch b = skip->collate_speech("train", {0, 4, 5}, 1);
  CHECK(b.ids == std::vector<std::string>{"u0"});
  CHECK(skip->skipped_samples() == 2);
  CHECK(skip->collate_speech("train", {4}, 1).empty());
  CHECK(skip->skipped_samples() == 3);
}

TEST_CASE("speech tasks: raw audio input is the standardized waveform", "[unit][tasks]") {
  SpeechCorpus c("raw", "use_audio_input: true\n");
  auto rows = c.default_rows();
  c.write_tsv("train", {rows[3], {"w1", (c.root / "u3.wav").string(), "1520", "b", "b"}});
  auto task = make_speech_task("speech_to_text", c.root.string(), "ctc");
  task->load_dataset("train", true);
  SpeechBatch b = task->collate_speech("train", {0, 1}, 1);
  REQUIRE(b.src_tokens.sizes() == torch::IntArrayRef({2, 1520}));
  CHECK(torch::equal(b.src_lengths, torch::tensor({1520, 1520}, torch::kInt64)));
  CHECK(std::abs(b.src_tokens[0].mean().item<float>()) < 1e-4);
  CHECK(std::abs(b.src_tokens[0].std(false).item<float>() - 1.f) < 1e-2);
  CHECK(task->model_input_dim() == 80);
}

TEST_CASE("speech tasks: sampling_alpha resamples several training splits every epoch",
          "[unit][tasks][resampling]") {
  SpeechCorpus c("resample", "sampling_alpha: 0.5\n");
  // rows of tgt_lang `lang`, n_frames = frames + i % 7; `extra`: more raw TSV lines
  auto write = [&](const std::string& split, const std::string& lang, int rows, int frames,
                   const std::string& extra = "") {
    std::string text = "id\taudio\tn_frames\ttgt_text\tsrc_lang\ttgt_lang\n";
    for (int i = 0; i < rows; ++i)
      text += fmt::format("{}{}\tx.npy\t{}\tab\ten\t{}\n", lang, i, frames + i % 7, lang);
    trellis::testing::write_text(c.root / (split + ".tsv"), text + extra);
  };
  write("train_de", "de", 30, 20);
  write("train_fr", "fr", 6, 25);
  auto task = make_speech_task("speech_to_text", c.root.string(), "label_smoothed_cross_entropy");
  task->load_dataset("train_de,train_fr", true);
  REQUIRE(task->batches_change_per_epoch("train_de,train_fr"));

  const SpeechDataset& d = task->dataset("train_de,train_fr");
  REQUIRE(d.parts.size() == 2);
  CHECK(d.parts[0].lang_pairs == std::vector<std::string>{"en->de"});
  CHECK(d.parts[0].manifest_frames == 30 * 20 + 4 * (0 + 1 + 2 + 3 + 4 + 5 + 6) + 0 + 1);
  const std::vector<double> ratios = temperature_size_ratios(
      {"en->de", "en->fr"}, {d.parts[0].manifest_frames, d.parts[1].manifest_frames}, 0.5);
  REQUIRE(ratios[0] < 1.0);  // the big split shrinks (drawn without repeats)...
  REQUIRE(ratios[1] > 1.0);  // ...the small one grows (with repeats)

  BatchRequest r;
  r.max_tokens = 120;
  r.required_batch_size_multiple = 1;
  r.seed = 3;
  auto epoch_samples = [&](int64_t epoch) {
    r.epoch = epoch;
    std::vector<int64_t> all;
    for (const Batch& b : task->batches("train_de,train_fr", r)) {
      int64_t longest = 0;
      for (int64_t i : b) longest = std::max(longest, d.n_frames[static_cast<size_t>(i)]);
      CHECK(longest * static_cast<int64_t>(b.size()) <= 120);
      all.insert(all.end(), b.begin(), b.end());
    }
    std::sort(all.begin(), all.end());
    return all;
  };
  const std::vector<int64_t> e1 = epoch_samples(1);
  // exactly the draws of fairseq's ResamplingDatasets for (seed 3, epoch 1), as dataset indices
  std::vector<int64_t> want = resampled_epoch(d, ratios, 3, 1);
  std::sort(want.begin(), want.end());
  CHECK(e1 == want);
  CHECK(static_cast<double>(e1.size()) == std::ceil(30 * ratios[0]) + std::ceil(6 * ratios[1]));
  const auto fr = std::count_if(e1.begin(), e1.end(), [](int64_t i) { return i >= 30; });
  CHECK(fr == static_cast<int64_t>(std::ceil(6 * ratios[1])));
  CHECK(std::adjacent_find(e1.begin(), e1.end() - fr) == e1.end() - fr);  // de: no repeats
  CHECK(epoch_samples(2) != e1);  // a fresh draw each epoch
  CHECK(epoch_samples(1) == e1);  // and the same draw for the same epoch (resume)
  r.seed = 4;
  CHECK(epoch_samples(1) != e1);

  // Validation splits, sampling_alpha 1 and a single split keep the plain concatenation.
  task->load_dataset("train_de,train_fr", false);
  CHECK_FALSE(task->batches_change_per_epoch("train_de,train_fr"));
  SpeechCorpus one("resample_one", "sampling_alpha: 1.0\n");
  auto plain = make_speech_task("speech_to_text", one.root.string(), "label_smoothed_cross_entropy");
  plain->load_dataset("train", true);
  CHECK_FALSE(plain->batches_change_per_epoch("train"));

  // fairseq asserts one language pair per split: trellis names the manifest and the pairs.
  write("train_mixed", "it", 4, 20, "x1\tx.npy\t20\tab\ten\tes\n");
  auto mixed = make_speech_task("speech_to_text", c.root.string(), "label_smoothed_cross_entropy");
  CHECK_THROWS_WITH(mixed->load_dataset("train_de,train_mixed", true),
                    Catch::Contains("train_mixed.tsv") && Catch::Contains("en->it, en->es"));
}

TEST_CASE("speech tasks: the config's `shuffle: true` breaks length ties by --seed (fairseq)",
          "[unit][tasks]") {
  SpeechCorpus c("shuffle_ties", "shuffle: true\n");
  std::vector<std::vector<std::string>> rows;
  for (int i = 0; i < 12; ++i)  // n_frames 30, 20, 10, 30, ...: four-way ties
    rows.push_back({fmt::format("s{}", i), "x.npy", std::to_string(30 - 10 * (i % 3)), "ab", ""});
  c.write_tsv("train", rows);
  c.write_tsv("dev", rows);
  auto order_of = [&](const std::string& style, const std::string& split, bool train,
                      int64_t seed) {
    auto task = make_speech_task("speech_to_text", c.root.string(),
                                 "label_smoothed_cross_entropy", {{"batching_style", style}});
    task->load_dataset(split, train);
    BatchRequest r;
    r.max_tokens = 1000;
    r.batch_size = 1;  // one sample per batch: the batches list the order
    r.required_batch_size_multiple = 1;
    r.seed = seed;
    std::vector<int64_t> order;
    for (const Batch& b : task->batches(split, r)) order.insert(order.end(), b.begin(), b.end());
    return std::make_pair(order, task->source_sizes(split));
  };
  auto [up, sizes] = order_of("fairseq", "train", true, 7);
  CHECK(up == shuffled_tie_order(sizes, 7));
  CHECK(up != stable_argsort(sizes, true));  // the ties moved
  CHECK(order_of("fairseq", "train", true, 8).first != up);
  // Not for validation splits, and not in FBK's ordering (numpy argsort, as FBK ignores it).
  CHECK(order_of("fairseq", "dev", false, 7).first == stable_argsort(sizes, true));
  CHECK(order_of("fbk", "train", true, 7).first == numpy_argsort(sizes));
}
