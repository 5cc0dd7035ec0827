// Parity of the transformer decoder with FBK-fairseq (goldens/decoder/*): teacher-forced logits
// and step-by-step incremental decoding (non-pad positions).
#include <catch2/catch.hpp>

#include "goldens.h"
#include "models/golden_tensor.h"
#include "models/modules/transformer_decoder.h"

using namespace trellis;
using namespace trellis::testing;

TEST_CASE("Transformer decoder matches FBK-fairseq fixtures",
          "[unit][conformer][decoder][golden]") {
  int found = 0;
  for (const auto& path : golden_files("decoder")) {
    ++found;
    SafeTensorsFile f(path);
    auto cfg = golden_meta(f, "config");
    TransformerDecoderConfig c;
    c.embed_dim = cfg.at("D").get<int64_t>();
    c.attention_heads = cfg.at("heads").get<int64_t>();
    c.layers = cfg.at("layers").get<int64_t>();
    c.ffn_embed_dim = cfg.at("ffn").get<int64_t>();
    c.vocab_size = cfg.at("V_tgt").get<int64_t>();
    c.padding_idx = cfg.at("pad").get<int64_t>();
    c.normalize_before = cfg.at("normalize_before").get<bool>();
    c.activation_fn = cfg.at("activation_fn").get<std::string>();
    c.learned_pos = cfg.at("learned_pos").get<bool>();
    c.share_input_output_embed = cfg.at("share_input_output_embed").get<bool>();
    c.no_scale_embedding = cfg.at("no_scale_embedding").get<bool>();
    TransformerDecoder dec(c);
    auto weights = golden_group(f, "decoder.");
    weights.erase("version");
    weights.erase("embed_positions._float_tensor");
    load_weights(*dec, weights);
    dec->eval();
    torch::NoGradGuard ng;
    auto prev = golden(f, "prev_output_tokens");
    auto enc = golden(f, "encoder_out");
    auto enc_pad = golden(f, "encoder_padding_mask");
    auto nonpad = prev.ne(c.padding_idx).unsqueeze(-1);
    auto full = dec->forward(prev, enc, enc_pad);
    auto want = golden(f, "logits");
    REQUIRE(full.sizes() == want.sizes());
    double err = max_abs_diff(full.masked_fill(~nonpad, 0), want.masked_fill(~nonpad, 0));
    WARN(path << " decoder logits max abs err " << err);
    CHECK(err < 1e-5);

    IncrementalState state;
    std::vector<at::Tensor> steps;
    for (int64_t t = 0; t < prev.size(1); ++t) {
      steps.push_back(dec->forward(prev.narrow(1, 0, t + 1), enc, enc_pad, &state));
    }
    auto inc = torch::cat(steps, 1);
    auto want_inc = golden(f, "incremental_logits");
    double err_inc = max_abs_diff(inc.masked_fill(~nonpad, 0), want_inc.masked_fill(~nonpad, 0));
    WARN(path << " incremental logits max abs err " << err_inc);
    CHECK(err_inc < 1e-5);
  }
  REQUIRE(found > 0);
}
