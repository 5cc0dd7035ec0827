// Fast Conformer encoder (models/fastconformer): parity with NeMo's equations
// (tests/golden/make_fastconformer_golden.py -> goldens/fastconformer), padding invariance, and a
// finite-difference gradient check of the dw_striding subsampler.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include "goldens.h"
#include "models/fastconformer/fastconformer_encoder.h"
#include "models/golden_tensor.h"
#include "models/modules/dw_striding_subsampler.h"
#include "skip.h"

using namespace trellis;
using namespace trellis::testing;

namespace {

// The fixtures of goldens/fastconformer ($TRELLIS_GOLDENS, else the in-tree copy).
std::vector<std::string> fastconformer_goldens() {
  auto files = golden_files("fastconformer");
  if (files.empty()) {
    for (const auto& e : std::filesystem::directory_iterator(std::string(TRELLIS_TEST_DATA) +
                                                             "/goldens/fastconformer"))
      if (e.path().extension() == ".safetensors") files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
  }
  return files;
}

FastConformerOptions options_from(const nlohmann::json& c) {
  FastConformerOptions o;
  o.input_feat_per_channel = c.at("F").get<int64_t>();
  o.encoder_embed_dim = c.at("D").get<int64_t>();
  o.encoder_layers = c.at("layers").get<int64_t>();
  o.encoder_attention_heads = c.at("heads").get<int64_t>();
  o.conv_kernel_size = c.at("K").get<int64_t>();
  o.subsampling_conv_channels = c.at("channels").get<int64_t>();
  o.xscaling = c.at("xscaling").get<bool>();
  o.use_bias = c.at("use_bias").get<bool>();
  o.conv_norm_type = c.at("conv_norm_type").get<std::string>();
  return o;
}

FastConformerOptions tiny_options() {
  FastConformerOptions o;
  o.input_feat_per_channel = 16;
  o.encoder_embed_dim = 32;
  o.encoder_layers = 2;
  o.encoder_attention_heads = 4;
  o.subsampling_conv_channels = 8;
  return o;
}

}  // namespace

TEST_CASE("Fast Conformer subsampler and encoder match NeMo's equations",
          "[unit][fastconformer][golden]") {
  auto files = fastconformer_goldens();
  if (files.empty()) skip_test("no goldens/fastconformer fixtures");
  torch::NoGradGuard ng;
  for (const auto& path : files) {
    INFO(path);
    SafeTensorsFile f(path);
    auto o = options_from(golden_meta(f, "config"));
    FastConformerEncoder enc(o, o.input_feat_per_channel);
    REQUIRE(load_weights(*enc, golden_group(f, "encoder.")) > 0);
    enc->eval();
    auto x = golden(f, "x");
    auto lengths = golden(f, "lengths");

    auto [sub, sub_len] = enc->pre_encode()->forward(x, lengths);
    CHECK(torch::equal(sub_len, golden(f, "out.subsampler_lengths")));
    double e_sub = max_abs_diff(sub, golden(f, "out.subsampler"));
    WARN(path << " subsampler max abs err " << e_sub);
    CHECK(e_sub < 1e-5);

    auto out = enc->forward(x, lengths);
    CHECK(torch::equal(out.lengths, golden(f, "out.encoder_lengths")));
    auto want = golden(f, "out.encoder").transpose(1, 2);  // NeMo's B x D x T -> B x T x D
    REQUIRE(out.x.sizes() == want.sizes());
    double e_enc = max_abs_diff(out.x, want);  // every frame, padded ones included
    WARN(path << " encoder max abs err " << e_enc);
    CHECK(e_enc < 1e-5);

    // training mode without dropout: BatchNorm uses the batch's statistics over every frame,
    // padded ones included, so the padded frames must match NeMo's too
    auto o_train = o;
    o_train.dropout = o_train.dropout_pre_encoder = o_train.dropout_att = 0.0;
    FastConformerEncoder train_enc(o_train, o.input_feat_per_channel);
    load_weights(*train_enc, golden_group(f, "encoder."));
    train_enc->train();
    double e_train = max_abs_diff(train_enc->forward(x, lengths).x,
                                  golden(f, "out.encoder_train").transpose(1, 2));
    WARN(path << " encoder (training mode) max abs err " << e_train);
    CHECK(e_train < 1e-5);

    auto e = enc->encode(x, lengths);  // time-major view of the same
    CHECK(torch::equal(e.encoder_out, out.x.transpose(0, 1)));
    CHECK(torch::equal(e.encoder_padding_mask, out.padding_mask));
    CHECK(e.encoder_padding_mask.sum(1).equal(out.x.size(1) - out.lengths));
  }
}

TEST_CASE("Fast Conformer: an utterance alone equals its valid frames in a padded batch",
          "[unit][fastconformer]") {
  torch::manual_seed(3);
  for (std::string norm : {"batch_norm", "layer_norm"}) {
    INFO(norm);
    auto o = tiny_options();
    o.conv_norm_type = norm;
    FastConformerEncoder enc(o, o.input_feat_per_channel);
    enc->eval();
    torch::NoGradGuard ng;
    auto lengths = torch::tensor({61, 29, 44}, torch::kLong);
    auto x = torch::randn({3, 61, 16});
    // garbage in the padding: it must not leak into valid frames
    auto batch = x.clone();
    batch[1].narrow(0, 29, 32).fill_(5.0);
    batch[2].narrow(0, 44, 17).normal_();
    auto all = enc->forward(batch, lengths);
    for (int64_t b = 0; b < 3; ++b) {
      const int64_t L = lengths[b].item<int64_t>();
      auto one = enc->forward(x[b].narrow(0, 0, L).unsqueeze(0), lengths.narrow(0, b, 1));
      const int64_t n = all.lengths[b].item<int64_t>();
      REQUIRE(one.lengths.item<int64_t>() == n);
      REQUIRE(one.x.size(1) == n);
      double err = max_abs_diff(one.x[0], all.x[b].narrow(0, 0, n));
      INFO("utterance " << b << " err " << err);
      CHECK(err < 1e-5);
    }
  }
}

TEST_CASE("dw_striding subsampler: lengths and a finite-difference gradient in double",
          "[unit][fastconformer]") {
  CHECK(torch::equal(dw_striding_step(torch::tensor({160, 80, 40, 101, 1, 0, 2, 3}, torch::kLong)),
                     torch::tensor({80, 40, 20, 51, 1, 0, 1, 2}, torch::kLong)));
  torch::manual_seed(5);
  DwStridingSubsampler sub(9, 3, 4);  // F' = 2
  CHECK(sub->out_features() == 2);
  sub->to(torch::kDouble);
  auto x = torch::randn({2, 11, 9}, torch::kDouble).requires_grad_(true);
  auto lengths = torch::tensor({11, 6}, torch::kLong);
  auto w = torch::randn({2, 2, 4}, torch::kDouble);  // T' = 2 for T = 11
  auto loss = [&](const at::Tensor& in) { return (sub->forward(in, lengths).first * w).sum(); };
  auto [y, len] = sub->forward(x, lengths);
  REQUIRE(y.sizes() == torch::IntArrayRef({2, 2, 4}));
  CHECK(torch::equal(len, torch::tensor({2, 1}, torch::kLong)));
  loss(x).backward();
  auto grad = x.grad().clone();
  // padded input frames get no gradient (masked before the first conv)
  CHECK(grad[1].narrow(0, 6, 5).abs().max().item<double>() == 0.0);
  torch::NoGradGuard ng;
  const double eps = 1e-6;
  double worst = 0.0;
  auto flat = x.detach().clone();
  for (int64_t i = 0; i < flat.numel(); i += 7) {
    auto xp = flat.clone(), xm = flat.clone();
    xp.view({-1})[i] += eps;
    xm.view({-1})[i] -= eps;
    double num = (loss(xp).item<double>() - loss(xm).item<double>()) / (2 * eps);
    worst = std::max(worst, std::abs(num - grad.view({-1})[i].item<double>()));
  }
  WARN("subsampler input gradient max abs err " << worst);
  CHECK(worst < 1e-6);
  // one parameter of each conv and of the output layer
  for (auto& p : sub->named_parameters()) {
    auto g = p.value().grad();
    REQUIRE(g.defined());
    auto& v = p.value();
    const int64_t i = v.numel() / 2;
    auto flatv = v.view({-1});
    const double old = flatv[i].item<double>();
    flatv[i] = old + eps;
    double up = loss(flat).item<double>();
    flatv[i] = old - eps;
    double down = loss(flat).item<double>();
    flatv[i] = old;
    double num = (up - down) / (2 * eps);
    INFO(p.key());
    CHECK(std::abs(num - g.view({-1})[i].item<double>()) < 1e-6);
  }
}
