// --task masked_token_prediction (tasks/masked_token_prediction.h): unlabelled splits from a TSV
// without text, a wav2vec manifest, NeMo JSON lines and a folder; manifest errors naming
// file:line; collation of clean and noisy features; forward through a test-only model with the
// MaskedTokenModel capability and a test-only criterion.
#include <torch/torch.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/data/audio_writer.h"
#include "core/error.h"
#include "core/interfaces/criterion.h"
#include "core/interfaces/masked_token_model.h"
#include "core/interfaces/model.h"
#include "skip.h"
#include "tasks/masked_token_prediction.h"

namespace fs = std::filesystem;
using namespace trellis;

namespace {

constexpr const char* kTask = "masked_token_prediction";

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

// Corpus: four wavs of 0.5 s, 1.3 s, 2.0 s and 1.0 s (tones and a chirp) at 16 kHz, one 8 kHz
// wav of 1.5 s (resampled on read), and a noise wav.
struct SslCorpus {
  fs::path root;
  SslCorpus() {
    root = fs::temp_directory_path() / ("trellis_ssl_" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root / "unl" / "sub");
    const std::vector<std::pair<std::string, size_t>> files{
        {"a.wav", 8000}, {"b.wav", 20800}, {"c.wav", 32000}, {"d.wav", 16000}};
    for (size_t k = 0; k < files.size(); ++k) {
      std::vector<float> x(files[k].second);
      for (size_t t = 0; t < x.size(); ++t)
        x[t] = static_cast<float>(0.3 * std::sin((0.02 + 0.01 * k) * static_cast<double>(t) +
                                                 1e-6 * static_cast<double>(t * t)));
      write_audio_file((root / files[k].first).string(), x, 1, 16000, "wav");
    }
    std::vector<float> low(12000);
    for (size_t t = 0; t < low.size(); ++t)
      low[t] = static_cast<float>(0.2 * std::sin(0.1 * static_cast<double>(t)));
    write_audio_file((root / "unl" / "sub" / "e8k.wav").string(), low, 1, 8000, "wav");
    fs::copy_file(root / "a.wav", root / "unl" / "a.wav");
    std::vector<float> noise(24000);
    std::mt19937 g(1);
    std::uniform_real_distribution<float> u(-0.3f, 0.3f);
    for (auto& v : noise) v = u(g);
    write_audio_file((root / "noise.wav").string(), noise, 1, 16000, "wav");
    // TSV without text, sizes from the headers (c.wav) or n_frames.
    write_file(root / "train.tsv",
               "id\taudio\tn_frames\n"
               "a\ta.wav\t50\n"
               "b\tb.wav\t130\n"
               "c\tc.wav\t200\n"
               "d\td.wav\t100\n");
    write_file(root / "nosize.tsv", "audio\n" + (root / "c.wav").string() + "\nb.wav\n");
    write_file(root / "w2v.tsv", root.string() + "\na.wav\t8000\nc.wav\t32000\n");
    write_file(root / "valid.json",
               "{\"audio_filepath\": \"b.wav\", \"duration\": 1.3}\n"
               "{\"audio_filepath\": \"c.wav\", \"duration\": 0.5, \"offset\": 1.0}\n"
               "{\"audio_filepath\": \"d.wav\"}\n");
  }
  ~SslCorpus() { fs::remove_all(root); }
};

std::unique_ptr<MaskedTokenPredictionTask> make_task(
    const std::string& root, const std::map<std::string, std::string>& options = {}) {
  AnyOptions o = task_registry().make_options(kTask);
  Fields fields = o.fields();
  for (const auto& kv : options) fields.find(kv.first)->set_from_string(kv.second, kv.first);
  TaskContext ctx;
  ctx.data_root = root;
  std::unique_ptr<Task> t = task_registry().create(kTask, o, ctx);
  return std::unique_ptr<MaskedTokenPredictionTask>(
      dynamic_cast<MaskedTokenPredictionTask*>(t.release()));
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// A test-only pretraining model: targets are the nearest of C random unit codewords to a frozen
// random projection of 8 clean frames; masks cover whole 8-frame groups (p = 0.5 per group,
// valid groups only); a linear head predicts the C classes from the masked noisy frames.
class TinyMaskedModel : public Model, public MaskedTokenModel {
 public:
  static constexpr int64_t kCombine = 8, kClasses = 16;
  explicit TinyMaskedModel(int64_t F) : F_(F) {
    proj_ = register_module("proj", torch::nn::Linear(torch::nn::LinearOptions(F * kCombine, 4)
                                                          .bias(false)));
    proj_->weight.set_requires_grad(false);
    codebook_ = register_buffer(
        "codebook", torch::nn::functional::normalize(torch::randn({kClasses, 4}),
                                                     torch::nn::functional::NormalizeFuncOptions().dim(1)));
    mask_emb_ = register_buffer("mask_emb", torch::randn({F}) * 0.1);
    head_ = register_module("head", torch::nn::Linear(F * kCombine, kClasses));
  }
  MaskedTokenOutput predict_masked(const MaskedTokenInput& in, at::Generator generator) override {
    const int64_t B = in.clean.size(0), T = in.clean.size(1), Tp = T / kCombine;
    MaskedTokenOutput out;
    out.combine_time_steps = kCombine;
    out.lengths = in.lengths / kCombine;
    at::Tensor z = proj_(in.clean.reshape({B, Tp, F_ * kCombine}));
    z = torch::nn::functional::normalize(z, torch::nn::functional::NormalizeFuncOptions().dim(-1));
    out.targets = torch::cdist(z, codebook_.unsqueeze(0).expand({B, kClasses, 4}))
                      .argmin(-1)
                      .unsqueeze(-1);  // (B, T', 1)
    at::Tensor groups = at::rand({B, Tp}, generator).lt(0.5) &
                        torch::arange(Tp).unsqueeze(0).lt(out.lengths.unsqueeze(1));
    out.frame_masks = groups.repeat_interleave(kCombine, 1).to(torch::kFloat32);  // (B, T)
    at::Tensor m = out.frame_masks.unsqueeze(-1);
    at::Tensor x = in.noisy * (1 - m) + m * mask_emb_;
    out.log_probs = torch::log_softmax(head_(x.reshape({B, Tp, F_ * kCombine})), -1)
                        .unsqueeze(-1);  // (B, T', C, 1)
    return out;
  }

 private:
  int64_t F_;
  torch::nn::Linear proj_{nullptr}, head_{nullptr};
  at::Tensor codebook_, mask_emb_;
};

// A model without the capability.
class PlainModel : public Model {
 public:
  PlainModel() { register_parameter("w", torch::zeros({1})); }
};

// Test-only MLM loss: NLL summed over the valid positions whose 8 frames are > 80 % masked.
class TinyMlmCriterion : public Criterion {
 public:
  LossOutput forward(const NetOutput& net, const CriterionTargets& t) override {
    nsentences = t.nsentences;
    ntokens = t.ntokens;
    combine = net.combine_time_steps;
    const at::Tensor& lp = net.outputs.at("log_probs");
    const at::Tensor& tg = net.outputs.at("targets");
    const at::Tensor& fm = net.outputs.at("frame_masks");
    const at::Tensor& len = net.outputs.at("lengths");
    const int64_t B = lp.size(0), Tp = lp.size(1);
    at::Tensor sel = fm.reshape({B, Tp, combine}).mean(-1).gt(0.8) &
                     torch::arange(Tp).unsqueeze(0).lt(len.unsqueeze(1));
    at::Tensor nll = -lp.select(-1, 0).gather(-1, tg.select(-1, 0).unsqueeze(-1)).squeeze(-1);
    LossOutput out;
    out.loss = (nll * sel.to(nll.dtype())).sum();
    out.sample_size = static_cast<double>(sel.sum().item<int64_t>());
    out.stats["loss"] = out.loss.item<double>();
    out.stats["sample_size"] = out.sample_size;
    return out;
  }
  Stats reduce_scalars(const StatSums&) const override { return {}; }
  int64_t nsentences = -2, ntokens = -2, combine = 0;
};

}  // namespace

TEST_CASE("masked_token_prediction: unlabelled splits from TSV, wav2vec TSV, NeMo JSON and a "
          "folder; sizes in frames with 1 s padding",
          "[unit][masked_token_prediction]") {
  SslCorpus c;
  auto task = make_task(c.root.string());
  task->load_dataset("train", true);
  CHECK(task->dataset_size("train") == 4);
  // n_frames as given, the 0.5 s utterance raised to 1 s = 100 frames.
  CHECK(task->source_sizes("train") == std::vector<int64_t>{100, 130, 200, 100});
  CHECK(task->dataset("train").ids == std::vector<std::string>{"a", "b", "c", "d"});

  task->load_dataset("nosize", false);  // sizes from the headers, ids from the file names
  CHECK(task->source_sizes("nosize") == std::vector<int64_t>{200, 130});
  CHECK(task->dataset("nosize").ids == std::vector<std::string>{"c", "b"});

  task->load_dataset("w2v", false);
  CHECK(task->dataset("w2v").parts[0].kind == "wav2vec");
  CHECK(task->source_sizes("w2v") == std::vector<int64_t>{100, 200});

  task->load_dataset("valid", false);  // duration, offset; no duration: the header
  CHECK(task->dataset("valid").parts[0].kind == "json");
  CHECK(task->source_sizes("valid") == std::vector<int64_t>{130, 100, 100});

  task->load_dataset("unl", true);  // folder, recursive, 8 kHz file resampled
  CHECK(task->dataset("unl").parts[0].kind == "folder");
  CHECK(task->dataset("unl").ids == std::vector<std::string>{"a", "sub/e8k"});
  CHECK(task->source_sizes("unl") == std::vector<int64_t>{100, 150});

  task->load_dataset("train,valid", true);  // concatenation
  CHECK(task->dataset_size("train,valid") == 7);

  // The JSON entry with an offset reads 0.5 s from 1.0 s of c.wav: padded to 1 s -> 100 frames.
  MaskedTokenBatch b = task->collate_ssl("valid", {1}, 1);
  CHECK(b.lengths[0].item<int64_t>() == 100);
  CHECK(task->batches("train", BatchRequest{1000, 0, 1, 0, 0, false}).size() >= 1);
}

TEST_CASE("masked_token_prediction: bad manifests name file:line", "[unit][masked_token_prediction]") {
  SslCorpus c;
  auto task = make_task(c.root.string());
  write_file(c.root / "noaudio.tsv", "id\tpath\nx\ta.wav\n");
  CHECK_THAT(error_of([&] { task->load_dataset("noaudio", true); }),
             Catch::Contains("noaudio.tsv:1") && Catch::Contains("audio"));
  write_file(c.root / "badn.tsv", "id\taudio\tn_frames\nx\ta.wav\t5\ny\tb.wav\tmany\n");
  CHECK_THAT(error_of([&] { task->load_dataset("badn", true); }),
             Catch::Contains("badn.tsv:3") && Catch::Contains("n_frames"));
  write_file(c.root / "fields.tsv", "id\taudio\nx\ta.wav\textra\n");
  CHECK_THAT(error_of([&] { task->load_dataset("fields", true); }), Catch::Contains("fields.tsv:2"));
  write_file(c.root / "missing.tsv", "audio\nnot_there.wav\n");
  CHECK_THAT(error_of([&] { task->load_dataset("missing", true); }),
             Catch::Contains("missing.tsv:2"));
  write_file(c.root / "bad.json", "{\"audio_filepath\": \"a.wav\", \"duration\": 0.5}\n{oops\n");
  CHECK_THAT(error_of([&] { task->load_dataset("bad", true); }), Catch::Contains("bad.json:2"));
  write_file(c.root / "features.tsv", "audio\tn_frames\nu.npy\t10\n");
  CHECK_THAT(error_of([&] { task->load_dataset("features", true); }),
             Catch::Contains("features.tsv:2") && Catch::Contains("stored features"));
  fs::create_directories(c.root / "empty");
  CHECK_THAT(error_of([&] { task->load_dataset("empty", true); }),
             Catch::Contains("no audio files"));
  CHECK_THAT(error_of([&] { task->load_dataset("absent", true); }),
             Catch::Contains("absent.tsv") && Catch::Contains("absent.json"));
  // An unreadable file at collate time names the manifest line.
  write_file(c.root / "late.tsv", "audio\tn_frames\na.wav\t50\nnot_there.wav\t100\n");
  task->load_dataset("late", true);
  CHECK_THAT(error_of([&] { task->collate("late", {0, 1}, 1); }), Catch::Contains("late.tsv:3"));
}

TEST_CASE("masked_token_prediction: collate gives clean and noisy (B, T % 16 == 0, 80), "
          "lengths, reproducibly; mixing changes only noisy",
          "[unit][masked_token_prediction]") {
  SslCorpus c;
  for (const std::string fe : {"nemo_mel", "kaldi_fbank"}) {
    INFO(fe);
    auto task = make_task(c.root.string(), {{"front_end", fe},
                                            {"mix_prob", "1"},
                                            {"noise_manifest", (c.root / "noise.wav").string()}});
    task->load_dataset("train", true);
    MaskedTokenBatch b = task->collate_ssl("train", {0, 1, 2, 3}, 7);
    REQUIRE(b.size() == 4);
    CHECK(b.clean.sizes() == b.noisy.sizes());
    CHECK(b.clean.size(0) == 4);
    CHECK(b.clean.size(1) % 16 == 0);
    CHECK(b.clean.size(2) == 80);
    // Rows by descending length: c (2.0 s), b (1.3 s), then a (padded to 1 s) and d (1 s).
    CHECK(b.indices == std::vector<int64_t>{2, 1, 0, 3});
    const int64_t lc = b.lengths[0].item<int64_t>();
    if (fe == "nemo_mel") {
      CHECK(b.lengths.equal(torch::tensor({200, 130, 100, 100}, torch::kInt64)));
    } else {
      CHECK(lc == 198);  // Kaldi: 1 + (N - 400) / 160
    }
    CHECK(b.clean.size(1) == (lc + 15) / 16 * 16);
    CHECK(b.ntokens == b.lengths.sum().item<int64_t>());
    CHECK(b.padded_frames == 4 * b.clean.size(1));
    CHECK(b.mixed == 4);
    CHECK(torch::isfinite(b.clean).all().item<bool>());
    CHECK(torch::isfinite(b.noisy).all().item<bool>());
    CHECK_FALSE(b.clean.equal(b.noisy));
    // Zero past each length.
    for (int64_t r = 0; r < 4; ++r) {
      const int64_t n = b.lengths[r].item<int64_t>();
      CHECK(b.clean[r].slice(0, n).abs().sum().item<double>() == 0.0);
      CHECK(b.noisy[r].slice(0, n).abs().sum().item<double>() == 0.0);
    }
    // Same seed, same batch (from another thread too); another seed: other mixing and mask seed.
    MaskedTokenBatch again;
    std::thread th([&] { again = task->collate_ssl("train", {0, 1, 2, 3}, 7); });
    th.join();
    CHECK(again.noisy.equal(b.noisy));
    CHECK(again.clean.equal(b.clean));
    CHECK(again.seed == b.seed);
    MaskedTokenBatch other = task->collate_ssl("train", {0, 1, 2, 3}, 8);
    CHECK_FALSE(other.noisy.equal(b.noisy));
    CHECK(other.seed != b.seed);
  }
  // No mixing: noisy == clean on a validation split (no dither).
  auto clean_task = make_task(c.root.string(), {{"mix_prob", "0"}});
  clean_task->load_dataset("train", false);
  MaskedTokenBatch b = clean_task->collate_ssl("train", {0, 1}, 3);
  CHECK(b.mixed == 0);
  CHECK(b.clean.equal(b.noisy));
  auto unmixed_valid = make_task(c.root.string(), {{"mix_prob", "1"}, {"mix_valid", "false"}});
  unmixed_valid->load_dataset("train", false);
  b = unmixed_valid->collate_ssl("train", {0, 1, 2}, 3);
  CHECK(b.clean.equal(b.noisy));
  // Row order and the batch's index order do not matter: rows are sorted before mixing.
  auto noise_json = c.root / "noise.json";
  write_file(noise_json, "{\"audio_filepath\": \"noise.wav\", \"duration\": 1.5}\n");
  auto noise_only = make_task(c.root.string(), {{"mix_prob", "1"},
                                                {"noise_ratio", "1"},
                                                {"noise_manifest", noise_json.string()}});
  noise_only->load_dataset("train", false);
  MaskedTokenBatch n1 = noise_only->collate_ssl("train", {0, 1, 2, 3}, 9);
  MaskedTokenBatch n2 = noise_only->collate_ssl("train", {3, 1, 0, 2}, 9);
  CHECK(n1.mixed == 4);  // noise mode from the JSON noise manifest
  CHECK(n1.noisy.equal(n2.noisy));
  CHECK(n1.indices == n2.indices);
  // Noise mode without a noise manifest changes nothing (validation split: no dither).
  auto no_noise = make_task(c.root.string(), {{"mix_prob", "1"}, {"noise_ratio", "1"}});
  no_noise->load_dataset("train", false);
  MaskedTokenBatch n3 = no_noise->collate_ssl("train", {0, 1, 2, 3}, 9);
  CHECK(n3.mixed == 0);
  CHECK(n3.clean.equal(n3.noisy));
  // Dither in training only, independent for clean and noisy.
  auto dither = make_task(c.root.string(), {{"mix_prob", "0"}});
  dither->load_dataset("train", true);
  MaskedTokenBatch trained = dither->collate_ssl("train", {0, 1}, 3);
  CHECK(trained.mixed == 0);
  CHECK_FALSE(trained.clean.equal(trained.noisy));
  // Dither is small: the two differ little on average (silent high bins move most).
  CHECK(trained.clean.sub(trained.noisy).abs().mean().item<double>() < 0.1);
}

TEST_CASE("masked_token_prediction: forward fills the criterion's outputs and gives a finite "
          "loss; models without the capability and text criteria are refused",
          "[unit][masked_token_prediction]") {
  SslCorpus c;
  auto task = make_task(c.root.string(), {{"mix_prob", "1"}});
  task->load_dataset("train", true);
  BatchPtr batch = task->collate("train", {0, 1, 2, 3}, 5);
  torch::manual_seed(0);
  TinyMaskedModel model(80);
  TinyMlmCriterion crit;
  LossOutput out = task->forward(model, crit, *batch);
  REQUIRE(out.loss.defined());
  CHECK(std::isfinite(out.loss.item<double>()));
  CHECK(out.sample_size > 0);
  CHECK(out.loss.item<double>() > 0);
  CHECK(crit.nsentences == 4);
  CHECK(crit.ntokens == batch->ntokens);
  CHECK(crit.combine == 8);
  out.loss.backward();
  for (const auto& p : model.named_parameters()) {
    if (p.value().requires_grad()) {
      INFO(p.key());
      CHECK(p.value().grad().defined());
    }
  }
  // The mask generator is seeded by the batch: the same batch gives the same loss.
  LossOutput again = task->forward(model, crit, *batch);
  CHECK(again.loss.item<double>() == out.loss.item<double>());

  PlainModel plain;
  CHECK_THAT(error_of([&] { task->forward(plain, crit, *batch); }),
             Catch::Contains("does not predict masked tokens"));
  CHECK_THAT(error_of([&] { task->build_criterion("ctc_multi_loss",
                                                  criterion_registry().make_options("ctc_multi_loss"),
                                                  nullptr, false); }),
             Catch::Contains("no text"));
  CHECK_THAT(error_of([&] { task->decoding_input(*batch); }), Catch::Contains("ecod"));
  CHECK(task->task_state().at("ssl_front_end") == "nemo_mel");
}

TEST_CASE("masked_token_prediction: build_criterion builds the registry's mlm, which scores the "
          "task's outputs",
          "[unit][masked_token_prediction]") {
  if (!criterion_registry().contains("mlm"))
    trellis::testing::skip_test("no mlm criterion registered in this build");
  SslCorpus c;
  auto task = make_task(c.root.string(), {{"mix_prob", "1"}});
  task->load_dataset("train", true);
  BatchPtr batch = task->collate("train", {0, 1, 2, 3}, 5);
  torch::manual_seed(0);
  TinyMaskedModel model(80);
  auto crit = task->build_criterion("mlm", criterion_registry().make_options("mlm"), nullptr,
                                    false);
  TinyMlmCriterion reference;
  LossOutput out = task->forward(model, *crit, *batch);
  LossOutput ref = task->forward(model, reference, *batch);
  REQUIRE(ref.sample_size > 0);
  CHECK(out.sample_size == ref.sample_size);  // the same positions (> 80 % of 8 frames masked)
  CHECK(out.loss.item<double>() == Approx(ref.loss.item<double>()).epsilon(1e-5));
  CHECK(out.stats.at("nsentences") == 4);
}
