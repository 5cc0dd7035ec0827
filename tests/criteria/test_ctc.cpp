// ctc: parity with fairseq's CtcCriterion (every `ctc.zero_inf<z>.sentavg<s>.*` case of every
// criteria fixture), per-utterance losses (padding invariance), finite differences in double,
// validation WER/UER by greedy decoding.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>

#include "core/data/dictionary.h"
#include "core/logging.h"
#include "criteria/ctc.h"
#include "criteria/tensor_from_safetensor.h"
#include "goldens.h"

using namespace trellis;
using namespace trellis::testing;

namespace {

CriterionContext context_of(const nlohmann::ordered_json& config, bool sentence_avg) {
  CriterionContext ctx;
  ctx.pad = config.at("pad").get<int64_t>();
  ctx.eos = config.at("eos").get<int64_t>();
  ctx.blank = config.at("blank").get<int64_t>();
  ctx.sentence_avg = sentence_avg;
  return ctx;
}

// The model output of the fixture: input lengths from the padding mask, as fairseq derives them.
NetOutput net_of(const SafeTensorsFile& f) {
  NetOutput net;
  net.ctc_logits = fixture_tensor(f, "logits");  // (T, B, V)
  net.ctc_lengths = fixture_tensor(f, "padding_mask").logical_not().sum(-1);
  return net;
}

void check_ctc_case(const SafeTensorsFile& f, const std::string& prefix, bool zero_inf,
                    bool sentence_avg) {
  INFO(f.path() << " " << prefix);
  auto config = fixture_meta(f, "config");
  auto crit = make_criterion<CtcOptions>("ctc", context_of(config, sentence_avg),
                                         [&](CtcOptions& o) { o.zero_infinity = zero_inf; });
  NetOutput net = net_of(f);
  CHECK(net.ctc_lengths.equal(fixture_tensor(f, "input_lengths")));
  net.ctc_logits.requires_grad_(true);
  CriterionTargets targets;
  targets.target = fixture_tensor(f, "target");
  LossOutput out = crit->forward(net, targets);

  const double want = fixture_tensor(f, prefix + ".loss").item<double>();
  if (std::isinf(want)) {
    CHECK(out.loss.item<double>() == want);
  } else {
    CHECK(out.loss.item<double>() == Approx(want).epsilon(1e-5));
  }
  CHECK(out.sample_size == fixture_tensor(f, prefix + ".sample_size").item<int64_t>());
  auto logged = fixture_meta(f, prefix + ".logging_output");
  for (const auto& [key, value] : logged.items()) {
    INFO("logging_output " << key);
    REQUIRE(out.stats.count(key));
    const double v = json_number(value);
    if (std::isinf(v))
      CHECK(out.stats.at(key) == v);
    else
      CHECK(out.stats.at(key) == Approx(v).epsilon(1e-5));
  }
  if (f.contains(prefix + ".grad_logits")) {
    at::Tensor grad = torch::autograd::grad({out.loss}, {net.ctc_logits})[0];
    CHECK(max_abs(grad, fixture_tensor(f, prefix + ".grad_logits")) < 1e-5);
  }
  check_reduce_metrics(crit->reduce_metrics(out.stats),
                       fixture_meta(f, prefix + ".reduce_metrics"));
}

}  // namespace

TEST_CASE("ctc matches every fairseq fixture", "[unit][criteria][golden]") {
  const std::regex case_name(R"(ctc\.zero_inf(\d)\.sentavg(\d)\.loss)");
  int cases = 0;
  for (const auto& path : golden_files("criteria")) {
    SafeTensorsFile f(path);
    for (const auto& name : f.names()) {
      std::smatch m;
      if (!std::regex_match(name, m, case_name)) continue;
      check_ctc_case(f, name.substr(0, name.size() - 5), m[1] == "1", m[2] == "1");
      ++cases;
    }
  }
  REQUIRE(cases > 0);
}

TEST_CASE("ctc: each utterance alone gives fairseq's per-utterance loss (padding invariance)",
          "[unit][criteria][golden]") {
  int cases = 0;
  for (const auto& path : golden_files("criteria")) {
    SafeTensorsFile f(path);
    if (!f.contains("ctc.per_utt_loss_zero_inf1")) continue;
    INFO(path);
    auto config = fixture_meta(f, "config");
    auto crit = make_criterion<CtcOptions>("ctc", context_of(config, false),
                                           [](CtcOptions& o) { o.zero_infinity = true; });
    NetOutput net = net_of(f);
    at::Tensor target = fixture_tensor(f, "target");
    at::Tensor want = fixture_tensor(f, "ctc.per_utt_loss_zero_inf1");
    for (int64_t b = 0; b < target.size(0); ++b) {
      const int64_t T = net.ctc_lengths[b].item<int64_t>();
      NetOutput one;
      one.ctc_logits = net.ctc_logits.slice(0, 0, T).slice(1, b, b + 1);  // no padded frames
      one.ctc_lengths = net.ctc_lengths.slice(0, b, b + 1);
      CriterionTargets t;
      t.target = target.slice(0, b, b + 1);
      CHECK(crit->forward(one, t).loss.item<double>() ==
            Approx(want[b].item<double>()).epsilon(1e-5).margin(1e-6));
    }
    ++cases;
  }
  REQUIRE(cases > 0);
}

TEST_CASE("ctc gradients match finite differences in double", "[unit][criteria]") {
  torch::manual_seed(5);
  CriterionContext ctx;
  ctx.blank = 0;
  auto crit = make_criterion<CtcOptions>("ctc", ctx);
  CriterionTargets targets;
  targets.target = torch::tensor({{4, 3, 4, 2}, {3, 3, 2, 1}}, torch::kLong);
  at::Tensor lengths = torch::tensor({7, 5}, torch::kLong);
  auto f = [&](const at::Tensor& logits) {
    NetOutput net;
    net.ctc_logits = logits;
    net.ctc_lengths = lengths;
    return crit->forward(net, targets).loss;
  };
  at::Tensor x = torch::randn({7, 2, 5}, torch::kDouble);
  CHECK(f(x).scalar_type() == at::kDouble);
  CHECK(finite_difference_error(x, f) < 1e-6);
}

TEST_CASE("ctc validation: greedy decoding gives unit and word error rates", "[unit][criteria]") {
  Dictionary dict;  // <s>=0 (blank, as fairseq's audio tasks), <pad>=1, </s>=2, <unk>=3
  for (const char* s : {"a", "b", "c", "d", "|"}) dict.add_symbol(s);  // 4..8
  CriterionContext ctx;
  ctx.blank = 0;
  ctx.ctc_dictionary = &dict;
  auto crit = make_criterion<CtcOptions>("ctc", ctx);
  // Frames' best units: a a _ b | | c _ (T = 8) -> a b | c -> "ab c"; reference "ab d".
  const std::vector<int64_t> best = {4, 4, 0, 5, 8, 8, 6, 0};
  at::Tensor logits = torch::zeros({8, 1, 9});
  for (int64_t t = 0; t < 8; ++t) logits[t][0][best[t]] = 5.0;
  NetOutput net;
  net.ctc_logits = logits;
  net.ctc_lengths = torch::tensor({8}, torch::kLong);
  CriterionTargets targets;
  targets.target = torch::tensor({{4, 5, 8, 7, 2}}, torch::kLong);

  CHECK(crit->forward(net, targets).stats.count("c_errors") == 0);  // training: no decoding
  crit->eval();
  LossOutput out = crit->forward(net, targets);
  CHECK(out.stats.at("c_errors") == 1);
  CHECK(out.stats.at("c_total") == 4);
  CHECK(out.stats.at("w_errors") == 1);
  CHECK(out.stats.at("wv_errors") == 1);
  CHECK(out.stats.at("w_total") == 2);
  auto m = stat_map(crit->reduce_metrics(out.stats));
  CHECK(m.at("uer") == Approx(25.0));
  CHECK(m.at("wer") == Approx(50.0));
  CHECK(m.at("raw_wer") == Approx(50.0));
  CHECK(ctc_greedy_decode(at::log_softmax(logits.select(1, 0), -1), 0) ==
        std::vector<int64_t>{4, 5, 8, 6});
}

TEST_CASE("ctc rejects an unknown --post-process", "[unit][criteria]") {
  CHECK_THROWS_AS(make_criterion<CtcOptions>("ctc", CriterionContext{},
                                             [](CtcOptions& o) { o.post_process = "bpe"; }),
                  ConfigError);
}

TEST_CASE("ctc: an infeasible utterance is named once, with the --zero-infinity hint",
          "[unit][criteria]") {
  // Row 0: "a a b" needs 4 frames (a blank between the two a's) and has 4: feasible.
  // Row 1: "a a b" with 3 frames: infeasible; row 2: 2 units in 1 frame: infeasible.
  const int64_t pad = 1, eos = 2;
  at::Tensor tokens = torch::tensor({4, 4, 5, 2, 4, 4, 5, 2, 4, 5, 2, 1}, torch::kLong).view({3, 4});
  at::Tensor lengths = torch::tensor({4, 3, 1}, torch::kLong);
  CHECK(trellis::infeasible_ctc_rows(lengths, tokens, pad, eos) == std::vector<int64_t>{1, 2});
  CHECK(trellis::infeasible_ctc_rows(torch::tensor({4, 4, 2}, torch::kLong), tokens, pad, eos)
            .empty());

  const auto log = std::filesystem::temp_directory_path() / "trellis_ctc_infeasible.log";
  std::filesystem::remove(log);
  trellis::log::set_file(log.string());
  at::Tensor logits = torch::randn({4, 3, 8});
  std::vector<std::string> ids{"ok_utt", "long_utt", "longer_utt"};
  for (int pass = 0; pass < 2; ++pass) {
    auto t = trellis::ctc_loss_sum(logits, lengths, tokens, at::Tensor(), pad, eos, 0, false, &ids);
    CHECK(std::isinf(t.loss.item<double>()));
    // The note for the trainer's "update skipped" warning names every one, every time.
    CHECK(t.nonfinite_note.find("'long_utt' (3 target units, 3 frames after subsampling), "
                                "'longer_utt' (2 target units, 1 frames after subsampling)") !=
          std::string::npos);
    CHECK(t.nonfinite_note.find("--zero-infinity") != std::string::npos);
    CHECK(t.nonfinite_note.find("--skip-invalid-size-inputs-valid-test") != std::string::npos);
    CHECK(t.nonfinite_note.find("ok_utt") == std::string::npos);
  }
  auto zero = trellis::ctc_loss_sum(logits, lengths, tokens, at::Tensor(), pad, eos, 0, true, &ids);
  CHECK(std::isfinite(zero.loss.item<double>()));
  CHECK(zero.nonfinite_note.empty());
  trellis::log::set_file("");
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  INFO(text);
  CHECK(text.find("utterance 'long_utt' (3 target units, 3 frames after subsampling): no CTC "
                  "alignment exists") != std::string::npos);
  CHECK(text.find("utterance 'longer_utt' (2 target units, 1 frames after subsampling)") !=
        std::string::npos);
  CHECK(text.find("ok_utt") == std::string::npos);
  CHECK(text.find("--zero-infinity") != std::string::npos);
  // Once per utterance, not once per update.
  size_t count = 0;
  for (size_t p = text.find("long_utt'"); p != std::string::npos; p = text.find("long_utt'", p + 1))
    ++count;
  CHECK(count == 1);
}
