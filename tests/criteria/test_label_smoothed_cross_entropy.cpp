// label_smoothed_cross_entropy: parity with FBK-fairseq and fairseq (every `ls*.ipfx<k>.*` case
// of every criteria fixture), finite differences in double, padding invariance, options.
#include <catch2/catch.hpp>
#include <regex>

#include "criteria/label_smoothed_cross_entropy.h"
#include "criteria/tensor_from_safetensor.h"
#include "goldens.h"

using namespace trellis;
using namespace trellis::testing;

namespace {

// One label-smoothing case of a fixture file: `<prefix>.loss` with prefix ls[_up].ipfx<k>.
void check_ls_case(const SafeTensorsFile& f, const std::string& prefix, int64_t ipfx) {
  auto config = fixture_meta(f, "config");
  const bool fbk = f.meta("reference").rfind("FBK", 0) == 0;
  INFO(f.path() << " " << prefix << (fbk ? " (FBK eps/V)" : " (fairseq eps/(V-1))"));
  CriterionContext ctx;
  ctx.pad = config.at("pad").get<int64_t>();
  ctx.eos = config.at("eos").get<int64_t>();
  ctx.sentence_avg = config.value("sentence_avg", false);
  const bool accuracy = f.contains(prefix + ".n_correct");
  auto crit = make_criterion<LabelSmoothedCrossEntropyOptions>(
      "label_smoothed_cross_entropy", ctx, [&](LabelSmoothedCrossEntropyOptions& o) {
        o.label_smoothing = config.at("eps").get<double>();
        o.ignore_prefix_size = ipfx;
        o.report_accuracy = accuracy;
        o.label_smoothing_variant = fbk ? "fbk" : "fairseq";
      });

  at::Tensor logits = fixture_tensor(f, "logits").requires_grad_(true);  // (B, L, V)
  CriterionTargets targets;
  targets.target = fixture_tensor(f, "target");
  targets.target_lengths = fixture_tensor(f, "target_lengths");
  NetOutput net;
  net.decoder_logits = logits;
  LossOutput out = crit->forward(net, targets);

  const double want_loss = fixture_tensor(f, prefix + ".loss").item<double>();
  const double want_nll = fixture_tensor(f, prefix + ".nll_loss").item<double>();
  CHECK(out.loss.item<double>() == Approx(want_loss).epsilon(1e-5));
  CHECK(out.stats.at("nll_loss") == Approx(want_nll).epsilon(1e-5));
  CHECK(out.sample_size == fixture_tensor(f, prefix + ".sample_size").item<int64_t>());
  if (accuracy) {
    CHECK(out.stats.at("n_correct") == fixture_tensor(f, prefix + ".n_correct").item<int64_t>());
    CHECK(out.stats.at("total") == fixture_tensor(f, prefix + ".total").item<int64_t>());
  }

  // Gradients: of the summed loss, w.r.t. the logits (through the criterion) ...
  at::Tensor grad_logits = torch::autograd::grad({out.loss}, {logits})[0];
  if (f.contains(prefix + ".grad_logits")) {
    CHECK(max_abs(grad_logits, fixture_tensor(f, prefix + ".grad_logits")) < 1e-5);
  }
  // ... and w.r.t. the log-probabilities (the formula alone).
  at::Tensor lprobs = fixture_tensor(f, "lprobs");
  CHECK(max_abs(at::log_softmax(logits.detach(), -1), lprobs) < 1e-6);
  lprobs.requires_grad_(true);
  at::Tensor lp = lprobs.slice(1, ipfx);
  auto [loss, nll] = label_smoothed_nll_loss(lp.reshape({-1, lp.size(-1)}),
                                             targets.target.slice(1, ipfx).reshape({-1}),
                                             config.at("eps").get<double>(), ctx.pad, !fbk);
  CHECK(loss.item<double>() == Approx(want_loss).epsilon(1e-5));
  at::Tensor grad_lprobs = torch::autograd::grad({loss}, {lprobs})[0];
  CHECK(max_abs(grad_lprobs, fixture_tensor(f, prefix + ".grad_lprobs")) < 1e-5);

  check_reduce_metrics(crit->reduce_metrics(out.stats),
                       fixture_meta(f, prefix + ".reduce_metrics"));
}

}  // namespace

TEST_CASE("label_smoothed_cross_entropy matches every fairseq/FBK fixture",
          "[unit][criteria][golden]") {
  const std::regex case_name(R"((ls|ls_up)\.ipfx(\d+)\.loss)");
  int cases = 0;
  for (const auto& path : golden_files("criteria")) {
    SafeTensorsFile f(path);
    for (const auto& name : f.names()) {
      std::smatch m;
      if (!std::regex_match(name, m, case_name)) continue;
      const std::string prefix = m[1].str() + ".ipfx" + m[2].str();
      check_ls_case(f, prefix, std::stoll(m[2].str()));
      ++cases;
    }
    if (f.contains("ls.sentence_avg.sample_size")) {
      CriterionContext ctx;
      ctx.sentence_avg = true;
      auto crit =
          make_criterion<LabelSmoothedCrossEntropyOptions>("label_smoothed_cross_entropy", ctx);
      NetOutput net;
      net.decoder_logits = fixture_tensor(f, "logits");
      CriterionTargets targets;
      targets.target = fixture_tensor(f, "target");
      targets.target_lengths = fixture_tensor(f, "target_lengths");
      CHECK(crit->forward(net, targets).sample_size ==
            fixture_tensor(f, "ls.sentence_avg.sample_size").item<int64_t>());
    }
  }
  REQUIRE(cases > 0);
}

TEST_CASE("label_smoothed_cross_entropy gradients match finite differences in double",
          "[unit][criteria]") {
  torch::manual_seed(3);
  for (const std::string variant : {"fbk", "fairseq"}) {
    CriterionContext ctx;
    auto crit = make_criterion<LabelSmoothedCrossEntropyOptions>(
        "label_smoothed_cross_entropy", ctx, [&](LabelSmoothedCrossEntropyOptions& o) {
          o.label_smoothing = 0.2;
          o.ignore_prefix_size = 1;
          o.label_smoothing_variant = variant;
        });
    CriterionTargets targets;
    targets.target = torch::tensor({7, 4, 5, 2, 7, 6, 2, 1}, torch::kLong).view({2, 4});
    targets.target_lengths = torch::tensor({4, 3}, torch::kLong);
    at::Tensor x = torch::randn({2, 4, 8}, torch::kDouble);
    auto f = [&](const at::Tensor& logits) {
      NetOutput net;
      net.decoder_logits = logits;
      return crit->forward(net, targets).loss;
    };
    CHECK(f(x).scalar_type() == at::kDouble);
    CHECK(finite_difference_error(x, f) < 1e-7);
  }
}

TEST_CASE("label_smoothed_cross_entropy: a sample's loss does not change when padded into a batch",
          "[unit][criteria]") {
  torch::manual_seed(4);
  CriterionContext ctx;
  auto crit = make_criterion<LabelSmoothedCrossEntropyOptions>(
      "label_smoothed_cross_entropy", ctx, [](LabelSmoothedCrossEntropyOptions& o) {
        o.label_smoothing = 0.1;
        o.report_accuracy = true;
      });
  at::Tensor logits = torch::randn({3, 5, 9});
  at::Tensor target = torch::tensor({{4, 5, 6, 7, 2}, {8, 3, 2, 1, 1}, {5, 2, 1, 1, 1}});
  at::Tensor lengths = torch::tensor({5, 3, 2});
  NetOutput net;
  net.decoder_logits = logits;
  CriterionTargets batch{target, lengths, {}, {}, -1, -1};
  LossOutput all = crit->forward(net, batch);
  double sum = 0.0;
  StatSums summed;
  for (int64_t b = 0; b < 3; ++b) {
    const int64_t L = lengths[b].item<int64_t>();
    NetOutput one;
    one.decoder_logits = logits.slice(0, b, b + 1).slice(1, 0, L);
    CriterionTargets t{
        target.slice(0, b, b + 1).slice(1, 0, L), lengths.slice(0, b, b + 1), {}, {}, -1, -1};
    LossOutput o = crit->forward(one, t);
    sum += o.loss.item<double>();
    for (const auto& [k, v] : o.stats) summed[k] += v;
  }
  CHECK(all.loss.item<double>() == Approx(sum).epsilon(1e-6));
  for (const auto& [k, v] : all.stats) CHECK(summed.at(k) == Approx(v).epsilon(1e-6));
  CHECK(all.sample_size == 10);
}

TEST_CASE("label_smoothed_cross_entropy rejects bad options", "[unit][criteria]") {
  CriterionContext ctx;
  using O = LabelSmoothedCrossEntropyOptions;
  CHECK_THROWS_AS(
      make_criterion<O>("label_smoothed_cross_entropy", ctx, [](O& o) { o.label_smoothing = 1.0; }),
      ConfigError);
  CHECK_THROWS_AS(make_criterion<O>("label_smoothed_cross_entropy", ctx,
                                    [](O& o) { o.ignore_prefix_size = -1; }),
                  ConfigError);
  CHECK_THROWS_AS(make_criterion<O>("label_smoothed_cross_entropy", ctx,
                                    [](O& o) { o.label_smoothing_variant = "x"; }),
                  ConfigError);
}
