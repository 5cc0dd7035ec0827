// wav2vec 2.0 pretraining (issue 17): the Gumbel quantizer, contrastive logits and the wav2vec
// criterion against fairseq's code run by python3-torch 1.13 on fixed draws
// (tests/golden/make_wav2vec2_pretraining_golden.py, every fixture under
// TRELLIS_GOLDENS/wav2vec2_pretraining), the statistics of negative sampling, the temperature
// schedule, and the pretraining model's forward/backward on tiny shapes.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "core/interfaces/criterion.h"
#include "core/io/safetensors.h"
#include "criteria/tensor_from_safetensor.h"
#include "criteria/wav2vec.h"
#include "goldens.h"
#include "models/golden_tensor.h"
#include "models/wav2vec2/gumbel_vector_quantizer.h"
#include "models/wav2vec2/wav2vec2_pretraining.h"
#include "models/wav2vec2_test_utils.h"

using namespace trellis;
using namespace trellis::testing;

namespace {

// Same -inf positions, finite values within tol.
void check_close(const at::Tensor& got, const at::Tensor& want, double tol, const char* what) {
  INFO(what);
  REQUIRE(got.sizes() == want.sizes());
  at::Tensor gi = at::isinf(got), wi = at::isinf(want);
  CHECK(gi.equal(wi));
  at::Tensor g = got.masked_fill(gi, 0), w = want.masked_fill(wi, 0);
  const double diff = (g - w).abs().max().item<double>();
  CHECK(diff <= tol);
}

double scalar(const at::Tensor& t) { return t.item<double>(); }

// The flat logits (M*B, 1+K) of the whole model against the golden's, and the golden's logits
// with trellis's -inf pattern. fairseq sets a negative's logit to -inf when its target vector
// equals the positive's exactly; whether two frames that picked the same codewords give
// bit-identical vectors depends on the CPU's matmul kernels (seen: the golden machine's
// AVX-512 against an AVX2 one). So where one side has -inf and the other not, the finite logit
// must equal its row's positive logit (column 0) within tol: the same negative, tied.
at::Tensor check_flat_logits(const at::Tensor& got, const at::Tensor& want, double tol) {
  INFO("logits (M*B, 1+K)");
  REQUIRE(got.sizes() == want.sizes());
  const at::Tensor gi = at::isinf(got), wi = at::isinf(want), differ = gi.logical_xor(wi);
  const at::Tensor finite = at::where(gi, want, got);  // the finite side where they differ
  const at::Tensor positive = finite.select(1, 0).unsqueeze(1).expand_as(finite);
  const at::Tensor tie = (finite - positive).abs().masked_fill(differ.logical_not(), 0);
  CHECK(tie.max().item<double>() <= tol);
  CHECK(gi.select(1, 0).any().item<bool>() == false);  // the positive is never masked
  const at::Tensor both = gi.logical_or(wi);
  const double diff =
      (got.masked_fill(both, 0) - want.masked_fill(both, 0)).abs().max().item<double>();
  CHECK(diff <= tol);
  return at::where(gi, got, at::where(wi, got, want));
}

// sum over rows of cross_entropy(row, target 0)
double contrastive_sum(const at::Tensor& flat) {
  return (at::logsumexp(flat.to(at::kDouble), 1) - flat.select(1, 0).to(at::kDouble))
      .sum()
      .item<double>();
}

Wav2Vec2PretrainingOptions tiny_options() {
  Wav2Vec2PretrainingOptions o;
  o.conv_feature_layers = "[(16, 10, 5)] + [(16, 3, 2)] * 2";
  o.encoder_embed_dim = 24;
  o.encoder_ffn_embed_dim = 32;
  o.encoder_layers = 2;
  o.encoder_attention_heads = 2;
  o.conv_pos = 8;
  o.conv_pos_groups = 4;
  o.latent_vars = 7;
  o.latent_groups = 2;
  o.final_dim = 12;
  o.num_negatives = 5;
  o.mask_prob = 0.65;
  o.mask_length = 3;
  o.feature_grad_mult = 0.1;
  o.dropout = o.attention_dropout = o.dropout_input = o.dropout_features = 0.0;
  o.layerdrop = 0.0;
  return o;
}

}  // namespace

TEST_CASE("wav2vec2 pretraining: quantizer, logits and loss match fairseq's code",
          "[unit][wav2vec2_pretraining][golden]") {
  const auto files = golden_files("wav2vec2_pretraining");
  REQUIRE(files.size() >= 2);
  for (const auto& path : files) {
    INFO(path);
    SafeTensorsFile f(path);
    const nlohmann::json cfg = golden_meta(f, "config");
    const int64_t C = cfg["C"], G = cfg["G"], V = cfg["V"], vq = cfg["vq"], K = cfg["K"];
    const int64_t B = cfg["B"], M = cfg["M"];
    GumbelVectorQuantizer q(C, V, G, vq, cfg["latent_temp"].get<std::vector<double>>());
    {
      at::NoGradGuard no_grad;
      q->vars.copy_(golden(f, "vars"));
      q->weight_proj->weight.copy_(golden(f, "weight_proj.weight"));
      q->weight_proj->bias.copy_(golden(f, "weight_proj.bias"));
    }
    q->set_num_updates(cfg["num_updates"].get<int64_t>());
    CHECK(q->temperature() == Approx(cfg["temp"].get<double>()).epsilon(1e-12));
    const at::Tensor q_in = golden(f, "q_in");
    q->train();
    QuantizerOutput qt = q->forward(q_in, golden(f, "gumbel"));
    check_close(qt.x, golden(f, "q_train"), 1e-5, "quantizer (train, fixed Gumbel noise)");
    CHECK(std::abs(scalar(qt.prob_perplexity) - scalar(golden(f, "prob_perplexity"))) < 1e-5);
    CHECK(std::abs(scalar(qt.code_perplexity) - scalar(golden(f, "code_perplexity"))) < 1e-5);
    CHECK(qt.num_vars == G * V);
    q->eval();
    check_close(q->forward(q_in).x, golden(f, "q_eval"), 1e-5, "quantizer (eval, argmax)");

    // heads and contrastive logits for the stored negatives
    at::Tensor y = at::linear(qt.x, golden(f, "project_q.weight"), golden(f, "project_q.bias"));
    check_close(y, golden(f, "y"), 1e-5, "project_q");
    at::Tensor idx = golden(f, "negatives");
    at::Tensor negs = y.reshape({B * M, -1})
                          .index_select(0, idx.reshape({-1}))
                          .view({B, M, K, -1})
                          .permute({2, 0, 1, 3});
    at::Tensor x =
        at::linear(golden(f, "c"), golden(f, "final_proj.weight"), golden(f, "final_proj.bias"));
    at::Tensor logits = contrastive_logits(x, y, negs, cfg["logit_temp"].get<double>());
    check_close(logits, golden(f, "logits"), 1e-5, "contrastive logits (1+K, B, M)");
    CHECK(at::isinf(logits).sum().item<int64_t>() == cfg["neg_is_pos"].get<int64_t>());

    // criterion
    NetOutput net;
    net.outputs["logits"] = logits.transpose(0, 2).reshape({-1, logits.size(0)});
    check_close(net.outputs["logits"], golden(f, "flat_logits"), 1e-5, "get_logits order");
    net.outputs["prob_perplexity"] = qt.prob_perplexity;
    net.outputs["code_perplexity"] = qt.code_perplexity;
    net.outputs["num_vars"] = at::scalar_tensor(static_cast<double>(qt.num_vars));
    net.outputs["temp"] = at::scalar_tensor(qt.temp);
    net.outputs["features_pen"] = golden(f, "features").pow(2).mean();
    CHECK(std::abs(scalar(net.outputs["features_pen"]) - scalar(golden(f, "features_pen"))) < 1e-6);
    const auto weights = cfg["loss_weights"].get<std::vector<double>>();
    auto crit = make_criterion<Wav2vecCriterionOptions>(
        "wav2vec", CriterionContext{},
        [&](Wav2vecCriterionOptions& o) { o.loss_weights = weights; });
    CriterionTargets t;
    t.nsentences = B;
    LossOutput out = crit->forward(net, t);
    const double loss = scalar(golden(f, "loss"));
    CHECK(std::abs(scalar(out.loss) - loss) <= 1e-5 * std::max(1.0, std::abs(loss)));
    CHECK(out.sample_size == cfg["sample_size"].get<double>());
    CHECK(std::abs(out.stats["loss_0"] - scalar(golden(f, "contrastive"))) <= 1e-5 * loss);
    CHECK(std::abs(out.stats["loss_1"] - scalar(golden(f, "diversity"))) <= 1e-5);
    if (weights[1] != 0.0)
      CHECK(std::abs(out.stats["loss_2"] - scalar(golden(f, "feature_penalty"))) <= 1e-4);
    else
      CHECK(out.stats.count("loss_2") == 0);
    CHECK(out.stats["correct"] == scalar(golden(f, "correct")));
    CHECK(out.stats["count"] == scalar(golden(f, "count")));
    const auto m = stat_map(crit->reduce_metrics(out.stats));
    CHECK(m.at("loss") == Approx(loss / out.sample_size / std::log(2.0)).epsilon(1e-3));
    CHECK(m.at("temp") == Approx(cfg["temp"].get<double>()).epsilon(1e-3));
    CHECK(m.count("accuracy") == 1);
  }
}

TEST_CASE("wav2vec2 pretraining: negatives come uniformly from the other masked frames",
          "[unit][wav2vec2_pretraining]") {
  torch::manual_seed(3);
  const int64_t B = 3, M = 7, K = 3000;
  at::Tensor idx = sample_negative_indices(B, M, K, 0);
  REQUIRE(idx.sizes() == at::IntArrayRef({B, M * K}));
  auto a = idx.accessor<int64_t, 2>();
  // counts[b][j][k]: how often frame k was drawn for frame j of utterance b
  std::vector<int64_t> counts(static_cast<size_t>(B * M * M), 0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < M; ++j)
      for (int64_t n = 0; n < K; ++n) {
        const int64_t v = a[b][j * K + n];
        REQUIRE(v >= b * M);  // the same utterance only
        REQUIRE(v < (b + 1) * M);
        REQUIRE(v != b * M + j);  // never the positive
        ++counts[static_cast<size_t>((b * M + j) * M + (v - b * M))];
      }
  // uniform over the M - 1 others: chi-square with M - 2 = 5 degrees of freedom per frame,
  // summed over B * M frames (105 dof): mean 105, sd ~14.5; 200 is far in the tail.
  double chi2 = 0.0;
  const double expected = static_cast<double>(K) / static_cast<double>(M - 1);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < M; ++j)
      for (int64_t k = 0; k < M; ++k) {
        if (k == j) continue;
        const double c = static_cast<double>(counts[static_cast<size_t>((b * M + j) * M + k)]);
        chi2 += (c - expected) * (c - expected) / expected;
      }
  CHECK(chi2 < 200.0);
  CHECK(chi2 > 40.0);  // not suspiciously perfect either

  // cross-sample negatives: any frame of the batch, appended after the same-utterance ones
  at::Tensor both = sample_negative_indices(B, M, 2, 4);
  CHECK(both.size(1) == M * 6);
  at::Tensor cross = both.narrow(1, M * 2, M * 4);
  CHECK(cross.min().item<int64_t>() >= 0);
  CHECK(cross.max().item<int64_t>() < B * M);
  CHECK_THROWS_AS(sample_negative_indices(2, 1, 4, 0), DataError);
}

TEST_CASE("wav2vec2 pretraining: Gumbel temperature schedule and straight-through gradient",
          "[unit][wav2vec2_pretraining]") {
  GumbelVectorQuantizer q(6, 4, 2, 8, std::vector<double>{2.0, 0.5, 0.9});
  CHECK(q->temperature() == 2.0);
  q->set_num_updates(3);
  CHECK(q->temperature() == Approx(2.0 * 0.9 * 0.9 * 0.9));
  q->set_num_updates(1000);
  CHECK(q->temperature() == 0.5);
  CHECK_THROWS_AS(GumbelVectorQuantizer(6, 4, 3, 8, std::vector<double>{2.0, 0.5, 0.9}),
                  ConfigError);
  CHECK_THROWS_AS(GumbelVectorQuantizer(6, 4, 2, 8, std::vector<double>{2.0, 0.5}), ConfigError);
  torch::manual_seed(1);
  at::Tensor x = torch::randn({2, 3, 6}, torch::requires_grad());
  q->train();
  QuantizerOutput o = q->forward(x);
  // every group selects exactly one codeword: the output is a sum of G codewords
  CHECK(o.x.sizes() == at::IntArrayRef({2, 3, 8}));
  (o.x.sum() + o.prob_perplexity).backward();
  CHECK(x.grad().abs().sum().item<double>() > 0);  // straight-through reaches the input
  CHECK(q->weight_proj->weight.grad().abs().sum().item<double>() > 0);
  CHECK(q->vars.grad().abs().sum().item<double>() > 0);
  // eval is deterministic argmax
  q->eval();
  at::NoGradGuard no_grad;
  CHECK(q->forward(x).x.equal(q->forward(x).x));
}

TEST_CASE("wav2vec2 pretraining: the model's step on tiny shapes", "[unit][wav2vec2_pretraining]") {
  torch::manual_seed(5);
  Wav2Vec2PretrainingOptions o = tiny_options();
  Wav2Vec2PretrainingModel model(o, ModelContext{});
  // fairseq's keys for the heads
  std::set<std::string> keys;
  for (const auto& p : model.named_parameters()) keys.insert(p.key());
  for (const char* k : {"quantizer.vars", "quantizer.weight_proj.weight", "project_q.weight",
                        "final_proj.bias", "mask_emb", "post_extract_proj.weight",
                        "feature_extractor.conv_layers.0.0.weight", "encoder.layers.1.fc2.bias"})
    CHECK(keys.count(k) == 1);
  CHECK(model.named_parameters()["quantizer.vars"].sizes() == at::IntArrayRef({1, 14, 6}));
  at::Tensor wav = torch::randn({2, 1600});
  model.train();
  auto out = model.contrastive_forward(wav, at::Tensor());
  const at::Tensor mask = out.at("time_mask");
  const int64_t M = mask.sum(1)[0].item<int64_t>();
  CHECK(mask.sum(1).eq(M).all().item<bool>());
  CHECK(out.at("logits").sizes() == at::IntArrayRef({2 * M, 1 + o.num_negatives}));
  CHECK(out.at("temp").item<double>() == 2.0);
  auto crit = make_criterion<Wav2vecCriterionOptions>("wav2vec", CriterionContext{},
                                                      [](Wav2vecCriterionOptions& c) {
                                                        c.loss_weights = {0.1, 10};
                                                      });
  NetOutput net;
  net.outputs = out;
  LossOutput l = crit->forward(net, CriterionTargets{});
  CHECK(std::isfinite(l.loss.item<double>()));
  CHECK(l.sample_size == 2.0 * static_cast<double>(M));
  l.loss.backward();
  for (const char* k :
       {"quantizer.vars", "quantizer.weight_proj.weight", "project_q.weight", "final_proj.weight",
        "mask_emb", "encoder.layers.0.fc1.weight", "feature_extractor.conv_layers.0.0.weight"}) {
    INFO(k);
    at::Tensor g = model.named_parameters()[k].grad();
    REQUIRE(g.defined());
    CHECK(g.abs().sum().item<double>() > 0);
  }
  // fixed draws give the same logits twice; a padded batch masks only valid frames
  model.eval();
  PretrainingDraws d;
  d.time_mask = mask;
  d.negatives = out.at("negatives");
  at::NoGradGuard no_grad;
  auto e1 = model.forward_with(wav, at::Tensor(), d);
  auto e2 = model.forward_with(wav, at::Tensor(), d);
  CHECK(e1.at("logits").equal(e2.at("logits")));
  at::Tensor lengths = torch::tensor({1600, 900}, torch::kLong);
  auto p = model.contrastive_forward(wav, lengths);
  const int64_t valid1 = (((900 - 10) / 5 + 1 - 3) / 2 + 1 - 3) / 2 + 1;
  CHECK(p.at("time_mask")[1]
            .narrow(0, valid1, p.at("time_mask").size(1) - valid1)
            .sum()
            .item<int64_t>() == 0);
  model.set_num_updates(100000000);
  CHECK(model.quantizer()->temperature() == 0.5);
}

TEST_CASE(
    "wav2vec2 pretraining: a Hugging Face Wav2Vec2ForPreTraining file (base layout) loads "
    "with zero missing keys",
    "[unit][wav2vec2_pretraining]") {
  // Written here from the Hugging Face name table (docs/models.md, "Keys") in float16: the body
  // under wav2vec2., the heads at the top level (quantizer.codevectors = fairseq's
  // quantizer.vars, project_hid = final_proj).
  namespace fs = std::filesystem;
  const std::string path =
      (fs::temp_directory_path() / "trellis_w2v2_pretraining_base.safetensors").string();
  torch::manual_seed(11);
  std::map<std::string, at::Tensor> hf = hf_base_state_dict(/*vocab=*/1);
  hf.erase("lm_head.weight");
  hf.erase("lm_head.bias");
  hf["quantizer.codevectors"] = torch::rand({1, 640, 128});
  hf["quantizer.weight_proj.weight"] = torch::randn({640, 512});
  hf["quantizer.weight_proj.bias"] = torch::randn({640}) * 0.1;
  hf["project_q.weight"] = torch::randn({256, 256}) * 0.05;
  hf["project_q.bias"] = torch::randn({256}) * 0.05;
  hf["project_hid.weight"] = torch::randn({256, 768}) * 0.05;
  hf["project_hid.bias"] = torch::randn({256}) * 0.05;
  write_safetensors_f16(path, hf);
  AnyOptions any = arch_registry().make_options("wav2vec2_base");
  auto& o = any.as<Wav2Vec2PretrainingOptions>();
  o.w2v_path = path;
  Wav2Vec2PretrainingModel model(o, ModelContext{});
  // docs/models.md: base pretraining 95,044,608 parameters (mask_emb included)
  CHECK(model.num_parameters() == 95044608);
  model.load_pretrained();
  fs::remove(path);
  auto params = model.named_parameters();
  CHECK(params.size() == hf.size());  // every model tensor has its file tensor, none is left
  auto same = [&](const std::string& ours, const std::string& theirs) {
    INFO(ours << " <- " << theirs);
    CHECK(torch::equal(params[ours], hf.at(theirs).to(at::kHalf).to(at::kFloat)));
  };
  same("quantizer.vars", "quantizer.codevectors");
  same("quantizer.weight_proj.weight", "quantizer.weight_proj.weight");
  same("project_q.bias", "project_q.bias");
  same("final_proj.weight", "project_hid.weight");
  same("mask_emb", "wav2vec2.masked_spec_embed");
  same("encoder.layers.11.fc2.weight",
       "wav2vec2.encoder.layers.11.feed_forward.output_dense.weight");
  same("feature_extractor.conv_layers.0.2.weight",
       "wav2vec2.feature_extractor.conv_layers.0.layer_norm.weight");
  // a body key missing from the file is an error naming it
  hf.erase("wav2vec2.encoder.layers.3.fc1.weight");
  hf.erase("wav2vec2.encoder.layers.3.feed_forward.intermediate_dense.weight");
  write_safetensors_f16(path, hf);
  CHECK_THROWS_WITH(model.load_pretrained(), Catch::Contains("encoder.layers.3.fc1.weight"));
  fs::remove(path);
}

TEST_CASE("wav2vec2 pretraining: the whole forward matches torchaudio's body + fairseq's heads",
          "[unit][wav2vec2_pretraining][golden]") {
  // goldens/wav2vec2_pretraining_model: the weights under Hugging Face names (loaded through
  // --w2v-path's code), two waveforms, fixed time mask, negatives and Gumbel noise.
  namespace fs = std::filesystem;
  int found = 0;
  for (const auto& path : golden_files("wav2vec2_pretraining_model")) {
    if (path.find(".io.safetensors") == std::string::npos) continue;
    ++found;
    INFO(path);
    SafeTensorsFile io(path);
    const nlohmann::json cfg = golden_meta(io, "config");
    Wav2Vec2PretrainingOptions o;
    o.conv_feature_layers = cfg["conv_feature_layers"].get<std::string>();
    o.encoder_embed_dim = cfg["encoder_embed_dim"];
    o.encoder_ffn_embed_dim = cfg["encoder_ffn_embed_dim"];
    o.encoder_layers = cfg["encoder_layers"];
    o.encoder_attention_heads = cfg["encoder_attention_heads"];
    o.conv_pos = cfg["conv_pos"];
    o.conv_pos_groups = cfg["conv_pos_groups"];
    o.latent_vars = cfg["latent_vars"];
    o.latent_groups = cfg["latent_groups"];
    o.latent_dim = cfg["latent_dim"];
    o.final_dim = cfg["final_dim"];
    o.num_negatives = cfg["num_negatives"];
    o.logit_temp = cfg["logit_temp"];
    o.latent_temp = cfg["latent_temp"].get<std::vector<double>>();
    o.dropout = o.attention_dropout = o.activation_dropout = o.dropout_input = 0.0;
    o.dropout_features = o.layerdrop = 0.0;
    o.feature_grad_mult = 1.0;
    o.w2v_path =
        path.substr(0, path.size() - std::string(".io.safetensors").size()) + ".model.safetensors";
    Wav2Vec2PretrainingModel model(o, ModelContext{});
    model.load_pretrained();
    model.train();  // Gumbel sampling with the stored noise
    PretrainingDraws d;
    d.time_mask = golden(io, "time_mask").to(at::kBool);
    d.negatives = golden(io, "negatives");
    d.gumbel_noise = golden(io, "gumbel");
    auto out = model.forward_with(golden(io, "wave"), at::Tensor(), d);
    const at::Tensor want_flat = golden(io, "flat_logits");
    const at::Tensor as_ours = check_flat_logits(out.at("logits"), want_flat, 1e-5);
    CHECK(std::abs(scalar(out.at("features_pen")) - scalar(golden(io, "features_pen"))) < 1e-5);
    CHECK(std::abs(scalar(out.at("prob_perplexity")) - scalar(golden(io, "prob_perplexity"))) <
          1e-5);
    auto crit = make_criterion<Wav2vecCriterionOptions>(
        "wav2vec", CriterionContext{}, [&](Wav2vecCriterionOptions& c) {
          c.loss_weights = cfg["loss_weights"].get<std::vector<double>>();
        });
    NetOutput net;
    net.outputs = out;
    LossOutput l = crit->forward(net, CriterionTargets{});
    // the golden's loss, its contrastive term recomputed with trellis's -inf pattern (the
    // same loss where the patterns agree)
    const double want = scalar(golden(io, "loss")) - contrastive_sum(want_flat) +
                        contrastive_sum(as_ours);
    CHECK(std::abs(scalar(l.loss) - want) <= 1e-5 * std::abs(want) + 1e-5);
  }
  CHECK(found >= 1);
}

TEST_CASE("wav2vec criterion: finite differences in double, accuracy rule",
          "[unit][wav2vec2_pretraining]") {
  torch::manual_seed(4);
  auto crit = make_criterion<Wav2vecCriterionOptions>("wav2vec", CriterionContext{},
                                                      [](Wav2vecCriterionOptions& c) {
                                                        c.loss_weights = {0.3, 2};
                                                      });
  at::Tensor logits = torch::randn({5, 4}, torch::kDouble).requires_grad_();
  at::Tensor ppl = torch::tensor(5.5, torch::kDouble).requires_grad_();
  at::Tensor pen = torch::tensor(0.7, torch::kDouble).requires_grad_();
  auto loss_of = [&](const at::Tensor& l, const at::Tensor& p, const at::Tensor& f) {
    NetOutput net;
    net.outputs["logits"] = l;
    net.outputs["prob_perplexity"] = p;
    net.outputs["features_pen"] = f;
    net.outputs["num_vars"] = torch::tensor(8.0, torch::kDouble);
    net.outputs["code_perplexity"] = torch::tensor(5.0, torch::kDouble);
    net.outputs["temp"] = torch::tensor(1.5, torch::kDouble);
    return crit->forward(net, CriterionTargets{}).loss;
  };
  at::Tensor loss = loss_of(logits, ppl, pen);
  CHECK(loss.scalar_type() == at::kDouble);
  loss.backward();
  const double h = 1e-6;
  at::NoGradGuard no_grad;
  for (int64_t i = 0; i < logits.numel(); ++i) {
    at::Tensor a = logits.detach().clone(), b = logits.detach().clone();
    a.view(-1)[i] += h;
    b.view(-1)[i] -= h;
    const double fd = (loss_of(a, ppl, pen) - loss_of(b, ppl, pen)).item<double>() / (2 * h);
    CHECK(logits.grad().view(-1)[i].item<double>() == Approx(fd).margin(1e-6));
  }
  // d/d ppl of 0.3 * (8 - ppl) / 8 * N = -0.3 * 5 / 8; d/d pen of 2 * pen * N = 10
  CHECK(ppl.grad().item<double>() == Approx(-0.3 * 5 / 8));
  CHECK(pen.grad().item<double>() == Approx(10.0));
  // fairseq's accuracy: the positive must be the argmax and not also the argmin (all equal)
  NetOutput net;
  net.outputs["logits"] = torch::tensor({{3.0, 1.0, 2.0}, {1.0, 1.0, 1.0}, {0.0, 5.0, 1.0}});
  for (const char* k : {"prob_perplexity", "code_perplexity", "temp", "num_vars", "features_pen"})
    net.outputs[k] = torch::tensor(1.0);
  LossOutput out = crit->forward(net, CriterionTargets{});
  CHECK(out.stats["correct"] == 1.0);
  CHECK(out.stats["count"] == 3.0);
  CHECK(stat_map(crit->reduce_metrics(out.stats)).at("accuracy") == Approx(1.0 / 3).epsilon(1e-4));
}
