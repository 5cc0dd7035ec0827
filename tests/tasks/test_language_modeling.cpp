// --task language_modeling: fairseq's token blocks (none / complete / eos), source = the token
// before each target, text from a .txt file or a manifest's tgt_text, the speech data's
// dictionary (char units here), collate shapes and counts; and --criterion cross_entropy:
// loss, ntokens, fairseq's reduced loss / nll_loss / ppl.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/data/dictionary.h"
#include "core/interfaces/criterion.h"
#include "core/options.h"
#include "criteria/cross_entropy.h"
#include "tasks/language_modeling.h"
#include "tasks/token_blocks.h"

using namespace trellis;
namespace fs = std::filesystem;

TEST_CASE("token blocks: none, complete and eos as fairseq's TokenBlockDataset",
          "[unit][tasks][lm]") {
  const int32_t eos = 2;
  const std::vector<std::vector<int64_t>> s{{5, 6, 7}, {8}, {9, 10, 11, 12, 13}};
  // stream: 5 6 7 2 | 8 2 | 9 10 11 12 13 2   (12 tokens)
  auto none = make_token_blocks(s, 5, SampleBreakMode::kNone, eos);
  REQUIRE(none.size() == 3);
  CHECK(none.target(0) == std::vector<int64_t>{5, 6, 7, 2, 8});
  CHECK(none.source(0) == std::vector<int64_t>{2, 5, 6, 7, 2});
  CHECK(none.target(1) == std::vector<int64_t>{2, 9, 10, 11, 12});
  CHECK(none.source(1) == std::vector<int64_t>{8, 2, 9, 10, 11});
  CHECK(none.target(2) == std::vector<int64_t>{13, 2});
  auto complete = make_token_blocks(s, 6, SampleBreakMode::kComplete, eos);
  REQUIRE(complete.size() == 2);
  CHECK(complete.target(0) == std::vector<int64_t>{5, 6, 7, 2, 8, 2});
  CHECK(complete.target(1) == std::vector<int64_t>{9, 10, 11, 12, 13, 2});
  CHECK(complete.source(1) == std::vector<int64_t>{2, 9, 10, 11, 12, 13});
  auto small = make_token_blocks(s, 3, SampleBreakMode::kComplete, eos);  // long ones alone
  REQUIRE(small.size() == 3);
  CHECK(small.block_size(0) == 4);
  CHECK(small.block_size(2) == 6);
  auto per = make_token_blocks(s, 100, SampleBreakMode::kEos, eos);
  REQUIRE(per.size() == 3);
  CHECK(per.target(1) == std::vector<int64_t>{8, 2});
  CHECK(per.source(1) == std::vector<int64_t>{2, 8});
  CHECK_THROWS_AS(parse_sample_break_mode("sentence"), ConfigError);
  CHECK_THROWS_AS(make_token_blocks(s, 0, SampleBreakMode::kNone, eos), ConfigError);
}

TEST_CASE("language_modeling: text files and manifests through the speech vocabulary",
          "[unit][tasks][lm]") {
  const fs::path dir = fs::temp_directory_path() / "trellis_test_language_modeling";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "config.yaml") << "vocab_filename: dict.txt\nbpe_tokenizer: {bpe: characters}\n";
  std::ofstream(dir / "dict.txt") << "| 10\na 9\nb 8\nc 7\n";
  std::ofstream(dir / "lm.txt") << "ab c\n\nca\n";
  std::ofstream(dir / "dev.tsv") << "id\taudio\tn_frames\ttgt_text\nu1\tx.wav\t10\tcab\n";
  AnyOptions o = task_registry().make_options("language_modeling");
  Fields fields = o.fields();
  fields.find("sample_break_mode")->set_from_string("eos", "sample_break_mode");
  TaskContext ctx;
  ctx.data_root = dir.string();
  auto task = task_registry().create("language_modeling", o, ctx);
  auto& lm = dynamic_cast<LanguageModelingTask&>(*task);
  const Dictionary& d = lm.target_dictionary();
  task->load_dataset("lm", true);
  task->load_dataset("dev", false);
  REQUIRE(task->dataset_size("lm") == 2);  // the blank line is skipped
  const int64_t a = d.index("a"), b = d.index("b"), c = d.index("c"), sp = d.index("|");
  // the characters tokenizer ends every sentence with a word boundary, as the speech targets
  CHECK(lm.blocks("lm").target(0) == std::vector<int64_t>{a, b, sp, c, sp, d.eos()});
  CHECK(lm.blocks("dev").target(0) == std::vector<int64_t>{c, a, b, sp, d.eos()});
  BatchRequest req;
  req.max_tokens = 100;
  req.required_batch_size_multiple = 1;
  const Batches batches = task->batches("lm", req);
  REQUIRE(batches.size() == 1);
  BatchPtr p = task->collate("lm", batches[0], 0);
  const auto& batch = dynamic_cast<const LmBatch&>(*p);
  CHECK(batch.source.sizes() == at::IntArrayRef({2, 6}));
  CHECK(batch.ntokens == 6 + 4);
  CHECK(batch.target.eq(d.pad()).sum().item<int64_t>() == 2);
  BatchRequest tight = req;
  tight.max_target_positions = 4;  // dev's block has 5 tokens: an error naming the flags
  CHECK_THROWS_WITH(task->batches("dev", tight),
                    Catch::Contains("dev.tsv): block 0 has 5 tokens, more than 4"));
  CHECK(task->batches("lm", tight).empty() == false);  // training skips the long block
  CHECK(task->detokenize({a, b, sp, c, sp, d.eos()}) == "ab c");
  CHECK_THROWS_AS(task->load_dataset("missing", false), DataError);
  // The vocabulary comes back from the task state alone.
  TaskContext restored;
  restored.restored_state = task->task_state();
  auto again = task_registry().create("language_modeling", o, restored);
  CHECK(again->target_dictionary().size() == d.size());
  fs::remove_all(dir);
}

TEST_CASE("cross_entropy: summed NLL over non-pad targets, fairseq's loss and ppl",
          "[unit][criteria][lm]") {
  torch::manual_seed(1);
  CriterionContext ctx;
  auto crit = criterion_registry().create("cross_entropy",
                                          criterion_registry().make_options("cross_entropy"), ctx);
  NetOutput net;
  net.decoder_logits = torch::randn({2, 3, 6}, torch::kDouble).requires_grad_();
  CriterionTargets t;
  t.target = torch::tensor({{4, 5, 2}, {3, 2, 1}});
  LossOutput out = crit->forward(net, t);
  at::Tensor lp = torch::log_softmax(net.decoder_logits, -1);
  double want = 0;
  for (auto [b, l] : std::vector<std::pair<int, int>>{{0, 0}, {0, 1}, {0, 2}, {1, 0}, {1, 1}})
    want -= lp[b][l][t.target[b][l].item<int64_t>()].item<double>();
  CHECK(out.loss.item<double>() == Approx(want).epsilon(1e-12));
  CHECK(out.stats.at("ntokens") == 5);
  CHECK(out.sample_size == 5);
  out.loss.backward();  // gradients reach the logits; pad positions get none
  CHECK(net.decoder_logits.grad()[1][2].abs().sum().item<double>() == 0.0);
  const Stats s = crit->reduce_metrics({{"loss", 10.0}, {"ntokens", 5}, {"sample_size", 5}});
  REQUIRE(s.size() == 2);
  CHECK(s[0].key == "loss");
  CHECK(s[0].value == Approx(2.0 / std::log(2.0)));
  CHECK(s[1].key == "ppl");
  CHECK(s[1].value == Approx(std::pow(2.0, 2.0 / std::log(2.0))));
  const Stats sent = crit->reduce_metrics({{"loss", 10.0}, {"ntokens", 5}, {"sample_size", 2}});
  REQUIRE(sent.size() == 3);
  CHECK(sent[1].key == "nll_loss");
  CHECK(sent[2].value == Approx(std::pow(2.0, 2.0 / std::log(2.0))));
}
