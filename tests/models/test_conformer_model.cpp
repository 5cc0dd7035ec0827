// Parity of the full FBK conformer model with FBK-fairseq (goldens/conformer/*conformer_model*):
// state dict loaded by fairseq keys, encoder outputs (CTC logits, compression, per-layer states)
// and decoder logits; plus padding invariance, presets and parameter counts.
#include <catch2/catch.hpp>

#include "conformer_test_utils.h"
#include "goldens.h"

using namespace trellis;
using namespace trellis::testing;

TEST_CASE("FBK conformer model matches FBK-fairseq fixtures", "[unit][conformer][golden]") {
  int found = 0;
  for (const auto& path : golden_files("conformer")) {
    if (path.find("conformer_model") == std::string::npos) continue;
    ++found;
    SafeTensorsFile f(path);
    auto args = golden_meta(f, "args");
    auto cfg = golden_meta(f, "config");
    auto opts = conformer_options_from_args(args);
    ModelContext ctx;
    ctx.input_feat_per_channel = args.at("input_feat_per_channel").get<int64_t>();
    ctx.input_channels = args.at("input_channels").get<int64_t>();
    ctx.src_vocab_size = cfg.at("V_src").get<int64_t>();
    ctx.tgt_vocab_size = cfg.at("V_tgt").get<int64_t>();
    ctx.ctc_enabled = args.value("criterion", "") == "ctc_multi_loss";
    auto model = std::make_shared<ConformerModel>(opts, ctx);
    model->load_state_dict(golden_group(f, "model."), /*strict=*/true);
    model->eval();
    torch::NoGradGuard ng;

    auto src = golden(f, "src_tokens");
    auto src_lengths = golden(f, "src_lengths");
    auto enc = model->encode(src, src_lengths, /*return_all_hiddens=*/true);
    auto lens = golden(f, "compressed_lengths");
    auto ctc_lengths = golden(f, "ctc_lengths");
    INFO(path);
    REQUIRE(torch::equal(enc.ctc_lengths, ctc_lengths));
    REQUIRE(enc.encoder_out.sizes() == golden(f, "encoder_out").sizes());
    REQUIRE(torch::equal(enc.encoder_padding_mask, golden(f, "encoder_padding_mask")));
    double e_ctc = max_abs_diff_valid(enc.ctc_logits, golden(f, "ctc_out"), ctc_lengths);
    double e_enc = max_abs_diff_valid(enc.encoder_out, golden(f, "encoder_out"), lens);
    WARN("conformer_model ctc_out max abs err " << e_ctc << ", encoder_out " << e_enc);
    CHECK(e_ctc < 1e-5);
    CHECK(e_enc < 1e-5);
    for (size_t i = 0; i < enc.encoder_states.size(); ++i) {
      auto want = golden(f, "encoder_states." + std::to_string(i));
      REQUIRE(enc.encoder_states[i].sizes() == want.sizes());
      // layers before the CTC layer see the uncompressed sequence
      bool before = static_cast<int64_t>(i) + 1 < model->options().ctc_encoder_layer;
      auto l = before ? ctc_lengths : lens;
      CHECK(max_abs_diff_valid(enc.encoder_states[i], want, l) < 1e-5);
    }
    auto prev = golden(f, "prev_output_tokens");
    auto logits = model->decode(prev, enc);
    auto nonpad = prev.ne(1).unsqueeze(-1);
    auto want = golden(f, "decoder_logits");
    double e_dec = max_abs_diff(logits.masked_fill(~nonpad, 0), want.masked_fill(~nonpad, 0));
    WARN("conformer_model decoder_logits max abs err " << e_dec);
    CHECK(e_dec < 1e-5);

    SECTION("each utterance alone equals its frames in the padded batch") {
      for (int64_t b = 0; b < src.size(0); ++b) {
        int64_t L = src_lengths[b].item<int64_t>();
        auto alone =
            model->encode(src.narrow(0, b, 1).narrow(1, 0, L), src_lengths.narrow(0, b, 1));
        int64_t Lc = ctc_lengths[b].item<int64_t>(), Le = lens[b].item<int64_t>();
        CHECK(max_abs_diff(alone.ctc_logits.select(1, 0),
                           enc.ctc_logits.narrow(0, 0, Lc).select(1, b)) < 1e-5);
        CHECK(max_abs_diff(alone.encoder_out.select(1, 0),
                           enc.encoder_out.narrow(0, 0, Le).select(1, b)) < 1e-5);
      }
    }
  }
  REQUIRE(found > 0);
}
