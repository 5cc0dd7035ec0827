// ctc_multi_loss: parity with FBK-fairseq (every `cml.*` case of every criteria fixture: losses,
// sample sizes, both gradients, per-utterance CTC, reduce_metrics), finite differences in double,
// padding invariance, float32 CTC, the CLI's --underlying-criterion group.
#include <catch2/catch.hpp>

#include "core/cli_parser.h"
#include "criteria/ctc.h"
#include "criteria/ctc_multi_loss.h"
#include "criteria/label_smoothed_cross_entropy.h"
#include "criteria/tensor_from_safetensor.h"
#include "goldens.h"

using namespace trellis;
using namespace trellis::testing;

namespace {

using LsOptions = LabelSmoothedCrossEntropyOptions;

struct Batch {
  NetOutput net;
  CriterionTargets targets;
};

Batch fixture_batch(const SafeTensorsFile& f) {
  Batch b;
  b.net.decoder_logits = fixture_tensor(f, "logits");    // (B, L, V_tgt)
  b.net.ctc_logits = fixture_tensor(f, "ctc_logits");    // (T, B, V_src)
  b.net.ctc_lengths = fixture_tensor(f, "ctc_lengths");  // (B)
  b.targets.target = fixture_tensor(f, "target");        // (B, L)
  b.targets.target_lengths = fixture_tensor(f, "target_lengths");
  b.targets.transcript = fixture_tensor(f, "transcript");  // (B, S)
  b.targets.transcript_lengths = fixture_tensor(f, "transcript_lengths");
  return b;
}

std::unique_ptr<Criterion> make_cml(const CriterionContext& base, double ctc_weight,
                                    const LsOptions& ls) {
  AnyOptions underlying = AnyOptions::make<LsOptions>(ls);
  CriterionContext ctx = base;
  ctx.underlying_options = &underlying;  // only read while building
  return make_criterion<CtcMultiLossOptions>("ctc_multi_loss", ctx, [&](CtcMultiLossOptions& o) {
    o.underlying_criterion = "label_smoothed_cross_entropy";
    o.ctc_weight = ctc_weight;
  });
}

void check_cml_fixture(const SafeTensorsFile& f) {
  INFO(f.path());
  auto config = fixture_meta(f, "config");
  CriterionContext ctx;
  ctx.pad = config.at("pad").get<int64_t>();
  ctx.eos = config.at("eos").get<int64_t>();
  ctx.blank = config.at("blank").get<int64_t>();
  ctx.sentence_avg = config.value("sentence_avg", false);
  LsOptions ls;
  ls.label_smoothing = config.at("eps").get<double>();
  // README of the criteria fixtures: the underlying criterion ran with --ignore-prefix-size 1.
  ls.ignore_prefix_size = config.value("ignore_prefix_size", int64_t{1});
  ls.report_accuracy = f.contains("cml.n_correct");
  ls.label_smoothing_variant = f.meta("reference").rfind("FBK", 0) == 0 ? "fbk" : "fairseq";
  auto crit = make_cml(ctx, config.at("ctc_weight").get<double>(), ls);

  Batch b = fixture_batch(f);
  b.net.decoder_logits.requires_grad_(true);
  b.net.ctc_logits.requires_grad_(true);
  LossOutput out = crit->forward(b.net, b.targets);
  auto want = [&](const std::string& n) { return fixture_tensor(f, "cml." + n).item<double>(); };
  CHECK(out.loss.item<double>() == Approx(want("loss")).epsilon(1e-5));
  CHECK(out.stats.at("loss") == Approx(want("loss")).epsilon(1e-5));
  CHECK(out.stats.at("ctc_loss") == Approx(want("ctc_loss")).epsilon(1e-5));
  CHECK(out.stats.at("real_loss") == Approx(want("real_loss")).epsilon(1e-5));
  CHECK(out.stats.at("nll_loss") == Approx(want("nll_loss")).epsilon(1e-5));
  CHECK(out.sample_size == want("sample_size"));
  CHECK(out.stats.at("ntokens") == want("ntokens"));
  CHECK(out.stats.at("sample_size") == want("ntokens"));  // logging: the target's sample size
  if (ls.report_accuracy) {
    CHECK(out.stats.at("n_correct") == want("n_correct"));
    CHECK(out.stats.at("total") == want("total"));
  }
  auto grads = torch::autograd::grad({out.loss}, {b.net.ctc_logits, b.net.decoder_logits});
  CHECK(max_abs(grads[0], fixture_tensor(f, "cml.grad_ctc_logits")) < 1e-5);
  CHECK(max_abs(grads[1], fixture_tensor(f, "cml.grad_dec_logits")) < 1e-5);

  // Per utterance: the CTC term alone; an unalignable utterance has 0 loss and 0 gradient.
  at::Tensor per_utt = fixture_tensor(f, "cml.ctc_loss_per_utt");
  for (int64_t i = 0; i < per_utt.size(0); ++i) {
    const int64_t T = b.net.ctc_lengths[i].item<int64_t>();
    CtcTerms one =
        ctc_loss_sum(b.net.ctc_logits.detach().slice(0, 0, T).slice(1, i, i + 1),
                     b.net.ctc_lengths.slice(0, i, i + 1), b.targets.transcript.slice(0, i, i + 1),
                     at::Tensor(), ctx.pad, ctx.eos, ctx.blank, true);
    CHECK(one.loss.item<double>() == Approx(per_utt[i].item<double>()).epsilon(1e-5).margin(1e-6));
    if (per_utt[i].item<double>() == 0.0)
      CHECK(grads[0].select(1, i).abs().max().item<double>() == 0);
  }
  check_reduce_metrics(crit->reduce_metrics(out.stats), fixture_meta(f, "cml.reduce_metrics"));
}

}  // namespace

TEST_CASE("ctc_multi_loss matches every FBK-fairseq fixture", "[unit][criteria][golden]") {
  int cases = 0;
  for (const auto& path : golden_files("criteria")) {
    SafeTensorsFile f(path);
    if (!f.contains("cml.loss")) continue;
    check_cml_fixture(f);
    ++cases;
  }
  REQUIRE(cases > 0);
}

TEST_CASE("ctc_multi_loss gradients match finite differences in double", "[unit][criteria]") {
  torch::manual_seed(6);
  CriterionContext ctx;
  ctx.blank = 7;
  LsOptions ls;
  ls.label_smoothing = 0.1;
  ls.ignore_prefix_size = 1;
  auto crit = make_cml(ctx, 0.5, ls);
  Batch b;
  b.targets.target = torch::tensor({{6, 4, 5, 2}, {6, 3, 2, 1}}, torch::kLong);
  b.targets.target_lengths = torch::tensor({4, 3}, torch::kLong);
  b.targets.transcript = torch::tensor({{4, 5, 2}, {6, 2, 1}}, torch::kLong);
  b.targets.transcript_lengths = torch::tensor({3, 2}, torch::kLong);
  b.net.ctc_lengths = torch::tensor({5, 3}, torch::kLong);
  at::Tensor dec = torch::randn({2, 4, 7}, torch::kDouble);
  at::Tensor ctc = torch::randn({5, 2, 8}, torch::kDouble);
  CHECK(finite_difference_error(dec, [&](const at::Tensor& x) {
          Batch c = b;
          c.net.decoder_logits = x;
          c.net.ctc_logits = ctc;
          return crit->forward(c.net, c.targets).loss;
        }) < 1e-7);
  CHECK(finite_difference_error(ctc, [&](const at::Tensor& x) {
          Batch c = b;
          c.net.decoder_logits = dec;
          c.net.ctc_logits = x;
          return crit->forward(c.net, c.targets).loss;
        }) < 1e-6);
}

TEST_CASE("ctc_multi_loss: utterances alone sum to the padded batch", "[unit][criteria][golden]") {
  int cases = 0;
  for (const auto& path : golden_files("criteria")) {
    SafeTensorsFile f(path);
    if (!f.contains("cml.loss")) continue;
    auto config = fixture_meta(f, "config");
    CriterionContext ctx;
    ctx.blank = config.at("blank").get<int64_t>();
    LsOptions ls;
    ls.label_smoothing = 0.1;
    ls.ignore_prefix_size = 1;
    ls.report_accuracy = true;
    auto crit = make_cml(ctx, 0.5, ls);
    Batch b = fixture_batch(f);
    LossOutput all = crit->forward(b.net, b.targets);
    StatSums summed;
    double loss = 0, sample_size = 0;
    for (int64_t i = 0; i < b.targets.target.size(0); ++i) {
      const int64_t T = b.net.ctc_lengths[i].item<int64_t>();
      const int64_t L = b.targets.target_lengths[i].item<int64_t>();
      const int64_t S = b.targets.transcript_lengths[i].item<int64_t>();
      Batch one;
      one.net.ctc_logits = b.net.ctc_logits.slice(0, 0, T).slice(1, i, i + 1);
      one.net.ctc_lengths = b.net.ctc_lengths.slice(0, i, i + 1);
      one.net.decoder_logits = b.net.decoder_logits.slice(0, i, i + 1).slice(1, 0, L);
      one.targets.target = b.targets.target.slice(0, i, i + 1).slice(1, 0, L);
      one.targets.target_lengths = b.targets.target_lengths.slice(0, i, i + 1);
      one.targets.transcript = b.targets.transcript.slice(0, i, i + 1).slice(1, 0, S);
      one.targets.transcript_lengths = b.targets.transcript_lengths.slice(0, i, i + 1);
      LossOutput o = crit->forward(one.net, one.targets);
      loss += o.loss.item<double>();
      sample_size += o.sample_size;
      for (const auto& [k, v] : o.stats) summed[k] += v;
    }
    CHECK(all.loss.item<double>() == Approx(loss).epsilon(1e-5));
    CHECK(all.sample_size == sample_size);
    for (const auto& [k, v] : all.stats) CHECK(summed.at(k) == Approx(v).epsilon(1e-5));
    ++cases;
  }
  REQUIRE(cases > 0);
}

TEST_CASE("ctc_multi_loss computes the CTC branch in float32", "[unit][criteria]") {
  torch::manual_seed(7);
  CriterionContext ctx;
  ctx.blank = 7;
  auto crit = make_cml(ctx, 1.0, LsOptions{});
  Batch b;
  b.targets.target = torch::tensor({{4, 2}}, torch::kLong);
  b.targets.target_lengths = torch::tensor({2}, torch::kLong);
  b.targets.transcript = torch::tensor({{4, 5, 2}}, torch::kLong);
  b.targets.transcript_lengths = torch::tensor({3}, torch::kLong);
  b.net.ctc_lengths = torch::tensor({6}, torch::kLong);
  b.net.decoder_logits = torch::randn({1, 2, 6}).to(torch::kBFloat16);
  b.net.ctc_logits = torch::randn({6, 1, 8}).to(torch::kBFloat16);
  LossOutput out = crit->forward(b.net, b.targets);
  CtcTerms ref = ctc_loss_sum(b.net.ctc_logits.to(torch::kFloat), b.net.ctc_lengths,
                              b.targets.transcript, at::Tensor(), 1, 2, 7, true);
  CHECK(ref.lprobs.scalar_type() == torch::kFloat);
  CHECK(out.stats.at("ctc_loss") == Approx(ref.loss.item<double>()).epsilon(1e-6));
}

namespace {
struct CriterionSelector {
  std::string criterion;
  template <class V>
  void visit(V& v) {
    v.field("criterion", criterion, "criterion").selects("criterion");
  }
};
}  // namespace

TEST_CASE("ctc_multi_loss builds its underlying criterion from the parsed options",
          "[unit][criteria][cli]") {
  ProgramSpec spec{"test", "criteria", {{"common", AnyOptions::make<CriterionSelector>()}}};
  auto r = parse_command_line(
      spec, {"--criterion", "ctc_multi_loss", "--underlying-criterion",
             "label_smoothed_cross_entropy", "--label-smoothing", "0.1", "--ctc-weight", "0.5",
             "--ignore-prefix-size", "1", "--no-zero-infinity"});
  const auto& cml = r.config.get<CtcMultiLossOptions>("criterion");
  CHECK(cml.ctc_weight == 0.5);
  CHECK_FALSE(cml.zero_infinity);
  const ConfigGroup* g = r.config.find("underlying_criterion");
  REQUIRE(g != nullptr);
  CHECK(g->component == "label_smoothed_cross_entropy");
  CriterionContext ctx;
  ctx.underlying_options = &g->options;
  auto crit =
      criterion_registry().create("ctc_multi_loss", r.config.find("criterion")->options, ctx);
  const auto& under = dynamic_cast<const CtcMultiLoss&>(*crit).underlying();
  const auto& ls = dynamic_cast<const LabelSmoothedCrossEntropy&>(under).options();
  CHECK(ls.label_smoothing == 0.1);
  CHECK(ls.ignore_prefix_size == 1);
  CHECK(ls.label_smoothing_variant == "fbk");
}

TEST_CASE("ctc_multi_loss rejects a missing or recursive --underlying-criterion",
          "[unit][criteria]") {
  CriterionContext ctx;
  using O = CtcMultiLossOptions;
  CHECK_THROWS_AS(make_criterion<O>("ctc_multi_loss", ctx), ConfigError);
  CHECK_THROWS_AS(make_criterion<O>("ctc_multi_loss", ctx,
                                    [](O& o) { o.underlying_criterion = "ctc_multi_loss"; }),
                  ConfigError);
  CHECK_THROWS_AS(make_criterion<O>("ctc_multi_loss", ctx,
                                    [](O& o) { o.underlying_criterion = "no_such_criterion"; }),
                  ConfigError);
  for (const char* name : {"ctc", "label_smoothed_cross_entropy", "ctc_multi_loss"})
    CHECK(criterion_registry().contains(name));
}
