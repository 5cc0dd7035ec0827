// mlm: NeMo's MLMLoss/MultiMLMLoss written out here with loops (selection by the mean of the
// frame mask over each group of combine_time_steps frames, mean NLL per book, mean over books),
// the sum / sample_size protocol, an empty selection, truncation, finite differences in double,
// logged metrics.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>

#include "criteria/mlm.h"
#include "criteria/tensor_from_safetensor.h"

using namespace trellis;
using namespace trellis::testing;

namespace {

NetOutput net_of(const at::Tensor& log_probs, const at::Tensor& targets,
                 const at::Tensor& frame_masks, int64_t combine) {
  NetOutput net;
  net.outputs["log_probs"] = log_probs;
  net.outputs["targets"] = targets;
  net.outputs["frame_masks"] = frame_masks;
  net.outputs["lengths"] = torch::full({log_probs.size(0)}, log_probs.size(1), torch::kLong);
  net.combine_time_steps = combine;
  return net;
}

std::unique_ptr<Criterion> mlm(double threshold = 0.8) {
  return make_criterion<MlmOptions>("mlm", CriterionContext{},
                                    [&](MlmOptions& o) { o.mask_threshold = threshold; });
}

// NeMo's loss by loops: per book, mean over the positions whose c frames have mean mask > thr
// of -log_probs[b, t, target, g]; then the mean over books. Returns {loss, positions}.
std::pair<double, int64_t> nemo_loss(const at::Tensor& lp, const at::Tensor& tgt,
                                     const at::Tensor& masks, int64_t c, double thr) {
  const int64_t B = lp.size(0), Tq = lp.size(1), G = lp.size(3);
  double total = 0.0;
  int64_t n = 0;
  for (int64_t g = 0; g < G; ++g) {
    double sum = 0.0;
    n = 0;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < Tq; ++t) {
        double m = 0.0;
        for (int64_t k = 0; k < c; ++k) m += masks[b][t * c + k].item<double>();
        if (m / c <= thr) continue;
        sum -= lp[b][t][tgt[b][t][g].item<int64_t>()][g].item<double>();
        ++n;
      }
    total += sum / n;
  }
  return {total / G, n};
}

}  // namespace

TEST_CASE("mlm equals NeMo's mean NLL over masked positions and books", "[unit][criterion]") {
  torch::manual_seed(3);
  const int64_t B = 2, Tq = 4, C = 7, G = 2, c = 8;
  at::Tensor lp = torch::randn({B, Tq, C, G}, torch::kDouble).log_softmax(2);
  at::Tensor tgt = torch::randint(0, C, {B, Tq, G}, torch::kLong);
  at::Tensor masks = torch::zeros({B, Tq * c});
  masks.narrow(1, 0, 8).fill_(1);       // b0 t0: 8/8 -> scored
  masks[0].narrow(0, 9, 7).fill_(1);    // b0 t1: 7/8 = 0.875 > 0.8 -> scored
  masks[0].narrow(0, 16, 6).fill_(1);   // b0 t2: 6/8 -> not scored
  masks[1].narrow(0, 24, 8).fill_(1);   // b1 t3: scored
  auto crit = mlm();
  LossOutput out = crit->forward(net_of(lp, tgt, masks, c), CriterionTargets{});
  auto [want, n] = nemo_loss(lp, tgt, masks, c, 0.8);
  CHECK(n == 4);  // b0 t0, t1; b1 t0 (the first 8 frames of every row), t3
  CHECK(out.sample_size == 4.0);
  CHECK(std::abs(out.loss.item<double>() / out.sample_size - want) < 1e-12);
  CHECK(out.stats.at("loss") == Approx(out.loss.item<double>()));
  CHECK(out.stats.at("n_total") == 8.0);
  CHECK(out.stats.at("nsentences") == 2.0);
  // accuracy counts argmax == target over the selected positions and books
  at::Tensor lp2 = lp.clone();
  lp2[0][0].select(1, 0).fill_(-100.0);
  lp2[0][0][tgt[0][0][0].item<int64_t>()][0] = 0.0;
  LossOutput out2 = crit->forward(net_of(lp2, tgt, masks, c), CriterionTargets{});
  double correct = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t : {0, 1, 3}) {
      if ((b == 1 && t == 1) || (b == 0 && t == 3)) continue;
      for (int64_t g = 0; g < G; ++g)
        correct += lp2[b][t].select(1, g).argmax().item<int64_t>() == tgt[b][t][g].item<int64_t>();
    }
  CHECK(out2.stats.at("n_correct") == correct);
  CHECK(out2.stats.at("n_correct") >= 1.0);
  // a higher threshold drops the 7-of-8 position
  LossOutput strict = mlm(0.9)->forward(net_of(lp, tgt, masks, c), CriterionTargets{});
  CHECK(strict.sample_size == 3.0);
  CHECK(std::abs(strict.loss.item<double>() / 3.0 - nemo_loss(lp, tgt, masks, c, 0.9).first) <
        1e-12);
}

TEST_CASE("mlm: no masked position gives loss 0 and sample size 0", "[unit][criterion]") {
  at::Tensor logits = torch::randn({2, 3, 5, 1}, torch::requires_grad());
  at::Tensor lp = logits.log_softmax(2);
  at::Tensor tgt = torch::zeros({2, 3, 1}, torch::kLong);
  at::Tensor masks = torch::zeros({2, 12});
  masks.narrow(1, 0, 3).fill_(1);  // 3 of 4 frames: 0.75, not above 0.8
  LossOutput out = mlm()->forward(net_of(lp, tgt, masks, 4), CriterionTargets{});
  CHECK(out.sample_size == 0.0);
  CHECK(out.loss.item<double>() == 0.0);
  out.loss.backward();  // still part of the graph, zero gradient
  CHECK(logits.grad().abs().sum().item<double>() == 0.0);
  auto m = stat_map(mlm()->reduce_metrics(StatSums(out.stats.begin(), out.stats.end())));
  CHECK(m.count("accuracy") == 0);
}

TEST_CASE("mlm truncates to the shortest of outputs, targets and masks", "[unit][criterion]") {
  torch::manual_seed(5);
  at::Tensor lp = torch::randn({1, 5, 4, 1}, torch::kDouble).log_softmax(2);
  at::Tensor tgt = torch::randint(0, 4, {1, 3, 1}, torch::kLong);
  at::Tensor masks = torch::ones({1, 8});  // 4 positions of 2 frames
  LossOutput out = mlm()->forward(net_of(lp, tgt, masks, 2), CriterionTargets{});
  CHECK(out.sample_size == 3.0);
  double want = 0;
  for (int64_t t = 0; t < 3; ++t) want -= lp[0][t][tgt[0][t][0].item<int64_t>()][0].item<double>();
  CHECK(std::abs(out.loss.item<double>() - want) < 1e-12);
}

TEST_CASE("mlm gradients match finite differences (double)", "[unit][criterion]") {
  torch::manual_seed(11);
  at::Tensor logits = torch::randn({2, 3, 4, 2}, torch::kDouble);
  at::Tensor tgt = torch::randint(0, 4, {2, 3, 2}, torch::kLong);
  at::Tensor masks = torch::zeros({2, 6});
  masks.narrow(1, 0, 4).fill_(1);
  masks[1].narrow(0, 4, 2).fill_(1);
  auto crit = mlm();
  auto f = [&](const at::Tensor& x) {
    return crit->forward(net_of(x.log_softmax(2), tgt, masks, 2), CriterionTargets{}).loss;
  };
  const double err = finite_difference_error(logits, f);
  INFO("max |autograd - finite difference| " << err);
  CHECK(err < 1e-7);
  CHECK(crit->forward(net_of(logits.log_softmax(2), tgt, masks, 2), CriterionTargets{})
            .sample_size == 5.0);  // rows 0 and 1: positions 0, 1; row 1: also 2
}

TEST_CASE("mlm logs base-2 and nats losses and accuracy", "[unit][criterion]") {
  StatSums s{{"loss", 6.0}, {"sample_size", 3.0}, {"masked", 3.0}, {"n_correct", 2.0},
             {"n_total", 6.0}, {"ntokens", 10.0}, {"nsentences", 2.0}};
  Stats stats = mlm()->reduce_metrics(s);
  std::vector<std::string> keys;
  for (const auto& st : stats) keys.push_back(st.key);
  CHECK(keys == std::vector<std::string>{"loss", "loss_nats", "masked", "ntokens", "nsentences",
                                         "accuracy"});
  auto m = stat_map(stats);
  CHECK(m["loss"] == Approx(2.0 / std::log(2.0)));
  CHECK(m["loss_nats"] == Approx(2.0));
  CHECK(m["accuracy"] == Approx(33.333));
  CHECK(m["masked"] == 3.0);
}

TEST_CASE("mlm rejects bad options and missing outputs", "[unit][criterion]") {
  CHECK_THROWS_AS(mlm(1.0), ConfigError);
  CHECK_THROWS_AS(mlm(-0.1), ConfigError);
  NetOutput empty;
  CHECK_THROWS_AS(mlm()->forward(empty, CriterionTargets{}), Error);
  CHECK(criterion_registry().needs("mlm", criterion_registry().make_options("mlm")).decoder ==
        false);
}
