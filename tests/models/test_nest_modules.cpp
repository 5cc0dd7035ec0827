// NEST's building blocks against NeMo (goldens/nest/, README there): the random-projection
// quantizer's tokens, codes and seeded initialisation; the block masking's seeded masks and
// embedding; the multi-softmax decoder against a Conv1d.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "goldens.h"
#include "models/golden_tensor.h"
#include "models/nest/block_masking.h"
#include "models/nest/multi_softmax_decoder.h"
#include "models/nest/random_projection_quantizer.h"
#include "skip.h"

using namespace trellis;
using namespace trellis::testing;

namespace {

// Fixture files of goldens/nest whose name contains `kind`.
std::vector<std::string> nest_files(const std::string& kind) {
  std::vector<std::string> out;
  for (const auto& p : golden_files("nest"))
    if (std::filesystem::path(p).filename().string().find(kind) != std::string::npos)
      out.push_back(p);
  return out;
}

// A stored tensor of any integer dtype (U8 included) as int64.
at::Tensor int_tensor(const SafeTensorsFile& f, const std::string& name) {
  const SafeTensor& t = f.get(name);
  auto v = t.to_int64();
  return torch::tensor(v, torch::kLong).view(t.shape);
}

}  // namespace

TEST_CASE("RandomProjectionQuantizer matches NeMo's tokens and codes", "[unit][nest][golden]") {
  auto files = nest_files("rpq");
  if (files.empty()) skip_test("no goldens/nest/rpq* fixture under " + goldens_dir());
  for (const auto& path : files) {
    SECTION(path) {
      SafeTensorsFile f(path);
      auto cfg = golden_meta(f, "config");
      RandomProjectionQuantizerOptions o;
      o.feat_in = cfg.at("feat_in").get<int64_t>();
      o.code_dim = cfg.at("code_dim").get<int64_t>();
      o.num_classes = cfg.at("num_classes").get<int64_t>();
      o.num_books = cfg.at("num_books").get<int64_t>();
      o.combine_time_steps = cfg.at("combine").get<int64_t>();
      // NeMo's constructor after torch.manual_seed(seed) draws exactly these weights.
      torch::manual_seed(cfg.at("seed").get<uint64_t>());
      RandomProjectionQuantizer q(o);
      CHECK(torch::equal(q->proj->weight, golden(f, "proj.weight")));
      CHECK(torch::equal(q->codebooks, golden(f, "codebooks")));
      // frozen, saved under NeMo's keys
      auto params = q->named_parameters();
      REQUIRE(params.size() == 2);
      CHECK(params.contains("proj.weight"));
      CHECK(params.contains("codebooks"));
      for (const auto& p : params) CHECK_FALSE(p.value().requires_grad());
      CHECK(q->codebooks.scalar_type() == at::kDouble);

      at::Tensor feats = golden(f, "input_signal").transpose(1, 2);  // (B, T, F)
      QuantizerOutput out = q->forward(feats);
      at::Tensor want = golden(f, "l2.xid");  // (B, T', G)
      REQUIRE(out.tokens.sizes() == want.sizes());
      CHECK(torch::equal(out.tokens, want));
      at::Tensor xq = golden(f, "l2.xq");  // (B, D, T', G)
      CHECK(torch::equal(out.codes.permute({0, 3, 1, 2}), xq));
      // cosine = argmax dot product: the same tokens for unit vectors (no ties here)
      o.distance = CodeDistance::kCosine;
      RandomProjectionQuantizer qc(o);
      {
        torch::NoGradGuard ng;
        qc->proj->weight.copy_(q->proj->weight);
        qc->codebooks.copy_(q->codebooks);
      }
      CHECK(torch::equal(qc->forward(feats).tokens, want));
    }
  }
}

TEST_CASE("RandomProjectionQuantizer's fast l2 search equals NeMo's formula, ties included",
          "[unit][nest]") {
  RandomProjectionQuantizerOptions o;
  o.num_classes = 512;
  o.num_books = 2;
  torch::manual_seed(21);
  RandomProjectionQuantizer q(o);
  // NeMo: |x - code| for every class in float64, argmin (first index on ties)
  auto reference = [&](const at::Tensor& feats) {
    at::Tensor x = q->proj->forward(feats.reshape({feats.size(0), -1, 640}));
    x = x.view({x.size(0), x.size(1), 2, 16});
    x = x / x.norm(2, {-1}, true).clamp_min(1e-12);
    at::Tensor d = x.unsqueeze(-1) - q->codebooks.transpose(1, 2).unsqueeze(0).unsqueeze(0);
    return d.norm(2, {-2}).argmin(-1);
  };
  torch::NoGradGuard ng;
  at::Tensor feats = torch::randn({4, 800, 80});
  CHECK(torch::equal(q->forward(feats).tokens, reference(feats)));
  // every code duplicated: each row has an exact tie, NeMo keeps the lower index
  at::Tensor even = q->codebooks.index_select(1, torch::arange(0, 512, 2));
  q->codebooks.index_copy_(1, torch::arange(1, 512, 2), even);
  at::Tensor tied = q->forward(feats).tokens;
  CHECK(torch::equal(tied, reference(feats)));
  CHECK(tied.remainder(2).sum().item<int64_t>() == 0);
}

TEST_CASE("RandomProjectionQuantizer checks its input", "[unit][nest]") {
  RandomProjectionQuantizerOptions o;
  o.feat_in = 4;
  o.num_classes = 32;
  o.combine_time_steps = 2;
  o.num_books = 2;
  RandomProjectionQuantizer q(o);
  CHECK_THROWS_AS(q->forward(torch::randn({1, 5, 4})), DataError);  // 5 % 2 != 0
  CHECK_THROWS_AS(q->forward(torch::randn({1, 4, 3})), DataError);
  auto out = q->forward(torch::randn({3, 6, 4}));
  CHECK(out.tokens.sizes() == torch::IntArrayRef({3, 3, 2}));
  CHECK(out.codes.sizes() == torch::IntArrayRef({3, 3, 2, 16}));
  CHECK(out.tokens.min().item<int64_t>() >= 0);
  CHECK(out.tokens.max().item<int64_t>() < 32);
  // each code is the row its token names, in its own book
  for (int64_t g = 0; g < 2; ++g)
    CHECK(torch::equal(out.codes.select(2, g).reshape({-1, 16}),
                       q->codebooks[g].index_select(0, out.tokens.select(2, g).reshape(-1))));
  o.num_classes = 0;
  CHECK_THROWS_AS(RandomProjectionQuantizer(o), ConfigError);
}

TEST_CASE("BlockMasking reproduces NeMo's seeded masks", "[unit][nest][golden]") {
  auto files = nest_files("block_masking");
  if (files.empty()) skip_test("no goldens/nest/block_masking* fixture under " + goldens_dir());
  int cases = 0;
  for (const auto& path : files) {
    SafeTensorsFile f(path);
    auto all = golden_meta(f, "cases");
    for (const auto& [name, c] : all.items()) {
      ++cases;
      SECTION(path + " " + name) {
        BlockMaskingOptions o;
        o.mask_prob = c.at("mask_prob").get<double>();
        o.block_size = c.at("block_size").get<int64_t>();
        o.allow_overlap = c.at("allow_overlap").get<bool>();
        at::Tensor emb_want = golden(f, name + ".mask_embedding");
        o.feat_in = emb_want.size(0);
        at::Tensor lengths = golden(f, name + ".lengths");
        at::Tensor mask_want = int_tensor(f, name + ".frame_mask");  // (B, T)
        const int64_t B = mask_want.size(0), T = mask_want.size(1);
        at::Tensor feats = f.contains(name + ".input_feats")
                               ? golden(f, name + ".input_feats").transpose(1, 2).contiguous()
                               : torch::zeros({B, T, o.feat_in});
        // torch.manual_seed(seed); RandomBlockMasking(...); forward() on the same generator
        torch::manual_seed(c.at("seed").get<uint64_t>());
        BlockMasking m(o);
        CHECK(torch::equal(m->mask_embedding, emb_want));
        CHECK_FALSE(m->mask_embedding.requires_grad());
        REQUIRE(m->named_parameters().contains("mask_embedding"));
        auto out = m->forward(feats, lengths, at::detail::getDefaultCPUGenerator());
        REQUIRE(out.frame_mask.sizes() == mask_want.sizes());
        INFO("masked frames per utterance " << out.frame_mask.sum(1) << " want "
                                            << mask_want.sum(1));
        CHECK(torch::equal(out.frame_mask.to(at::kLong), mask_want));
        if (f.contains(name + ".masked_feats")) {
          at::Tensor want = golden(f, name + ".masked_feats").transpose(1, 2);
          CHECK(torch::equal(out.masked, want));
        }
        // the same draws from a private generator in the same state
        torch::manual_seed(c.at("seed").get<uint64_t>());
        BlockMasking m2(o);
        auto gen = at::make_generator<at::CPUGeneratorImpl>();
        gen.set_state(at::detail::getDefaultCPUGenerator().get_state());
        CHECK(torch::equal(m2->draw_mask(lengths, T, gen).to(at::kLong), mask_want));
      }
    }
  }
  REQUIRE(cases > 0);
}

TEST_CASE("BlockMasking statistics and edge cases", "[unit][nest]") {
  BlockMaskingOptions o;  // NEST: mask_prob 0.01, block 40, overlap
  o.feat_in = 3;
  BlockMasking m(o);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1234);
  const int64_t B = 64, T = 2000;
  at::Tensor lengths = torch::full({B}, T, torch::kLong);
  at::Tensor mask = m->draw_mask(lengths, T, gen).to(at::kFloat);
  // fraction of frames in blocks: 1 - 0.99^40 = 0.331 away from the ends
  const double frac = mask.narrow(1, 100, T - 200).mean().item<double>();
  INFO("masked fraction " << frac);
  CHECK(std::abs(frac - (1.0 - std::pow(0.99, 40))) < 0.02);
  // no block starts in the last 40 frames, so none reaches past the valid length
  at::Tensor short_len = torch::tensor({300, 120}, torch::kLong);
  at::Tensor ms = m->draw_mask(short_len, 400, gen);
  CHECK(ms[0].narrow(0, 300, 100).sum().item<int64_t>() == 0);
  CHECK(ms[1].narrow(0, 120, 280).sum().item<int64_t>() == 0);
  // block_size >= 0.8 * length: one 8-frame block at 0, no draw
  auto g1 = at::make_generator<at::CPUGeneratorImpl>(7);
  auto g2 = at::make_generator<at::CPUGeneratorImpl>(7);
  at::Tensor tiny = m->draw_mask(torch::tensor({50, 20}, torch::kLong), 60, g1);
  CHECK(tiny.narrow(1, 0, 8).all().item<bool>());
  CHECK(tiny.narrow(1, 8, 52).any().item<bool>() == false);
  CHECK(torch::equal(torch::rand({4}, g1), torch::rand({4}, g2)));
  // masked frames take the embedding, the others keep their values
  at::Tensor feats = torch::randn({2, 60, 3});
  auto g3 = at::make_generator<at::CPUGeneratorImpl>(7);
  auto out = m->forward(feats, torch::tensor({50, 20}, torch::kLong), g3);
  CHECK(torch::equal(out.masked[0][3], m->mask_embedding));
  CHECK(torch::equal(out.masked[0][30], feats[0][30]));
  CHECK(out.frame_mask.scalar_type() == at::kFloat);
  // no overlap: blocks on a grid, about mask_prob of the frames
  BlockMaskingOptions no;
  no.feat_in = 3;
  no.allow_overlap = false;
  no.mask_prob = 0.5;
  no.block_size = 10;
  BlockMasking mn(no);
  at::Tensor mk = mn->draw_mask(torch::full({32}, 400, torch::kLong), 400, gen).to(at::kFloat);
  const double fn = mk.mean().item<double>();
  INFO("no-overlap masked fraction " << fn);
  CHECK(fn > 0.45);
  CHECK(fn <= 0.55);
}

TEST_CASE("MultiSoftmaxDecoder is a 1x1 conv then log_softmax over classes", "[unit][nest]") {
  MultiSoftmaxDecoderOptions o;
  o.feat_in = 6;
  o.num_classes = 5;
  o.num_books = 2;
  MultiSoftmaxDecoder d(o);
  auto params = d->named_parameters();
  REQUIRE(params.size() == 2);
  CHECK(params["decoder_layers.0.weight"].sizes() == torch::IntArrayRef({10, 6, 1}));
  CHECK(params["decoder_layers.0.bias"].sizes() == torch::IntArrayRef({10}));
  at::Tensor x = torch::randn({3, 4, 6});
  at::Tensor lp = d->forward(x);
  REQUIRE(lp.sizes() == torch::IntArrayRef({3, 4, 5, 2}));
  // NeMo: conv1d on (B, D, T), transpose, reshape (B, T, C, G), log_softmax(dim=2)
  at::Tensor ref = at::conv1d(x.transpose(1, 2), params["decoder_layers.0.weight"],
                              params["decoder_layers.0.bias"])
                       .transpose(1, 2)
                       .reshape({3, 4, 5, 2})
                       .log_softmax(2);
  CHECK(max_abs_diff(lp, ref) < 1e-6);
  CHECK(max_abs_diff(lp.exp().sum(2), torch::ones({3, 4, 2})) < 1e-6);
  // xavier_uniform bound sqrt(6 / (fan_in + fan_out))
  const double bound = std::sqrt(6.0 / (6 + 10));
  CHECK(params["decoder_layers.0.weight"].abs().max().item<double>() <= bound);
  lp.sum().backward();
  CHECK(params["decoder_layers.0.weight"].grad().defined());
}
