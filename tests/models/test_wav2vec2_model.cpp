// wav2vec2 parity with torchaudio 0.13 (goldens/wav2vec2/*.config.json: every fixture found,
// shapes and options from its Hugging Face config), weight import from safetensors, torch .bin
// and fairseq .pt files, and the key mapping.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "golden_tensor.h"
#include "goldens.h"
#include "models/modules/weight_file.h"
#include "models/wav2vec2/wav2vec2.h"
#include "models/wav2vec2/wav2vec2_ctc.h"
#include "models/wav2vec2/wav2vec2_import.h"
#include "wav2vec2_test_utils.h"

using namespace trellis;
using namespace trellis::testing;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> fixture_names() {
  std::vector<std::string> out;
  fs::path dir = fs::path(goldens_dir()) / "wav2vec2";
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if (n.size() > 12 && n.compare(n.size() - 12, 12, ".config.json") == 0)
      out.push_back((dir / n.substr(0, n.size() - 12)).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// logits of a model loaded from `weights` must match the fixture `io`
void check_against(Wav2Vec2CtcModel& model, const SafeTensorsFile& io, bool layer_norm_mode) {
  torch::NoGradGuard no_grad;
  model.eval();
  at::Tensor waves = golden(io, "batch.waveforms"), lengths = golden(io, "batch.lengths");
  for (int64_t i = 0; i < waves.size(0); ++i) {
    const std::string u = "single.utt" + std::to_string(i) + ".";
    const int64_t n = lengths[i].item<int64_t>();
    at::Tensor wav = waves.slice(0, i, i + 1).slice(1, 0, n);  // (1, n)
    EncoderOut e = model.encode(wav, torch::tensor({n}));
    at::Tensor want = golden(io, u + "logits");
    INFO(u);
    REQUIRE(e.ctc_logits.sizes() == torch::IntArrayRef({want.size(0), 1, want.size(1)}));
    CHECK(torch::allclose(e.ctc_logits.squeeze(1), want, 1e-5, 1e-5));
    CHECK(relative_error(e.ctc_logits.squeeze(1), want) < 1e-5);
    Wav2Vec2Output w = model.body()->forward(wav, torch::tensor({n}), false, true);
    CHECK(torch::allclose(w.features[0], golden(io, u + "extractor_features"), 1e-5, 1e-5));
    CHECK(torch::allclose(w.hiddens.back().squeeze(1), golden(io, u + "layer_outputs.last"), 1e-5,
                          1e-5));
  }
  // A padded batch: valid frames agree (group norm sees the padding: only the longest row).
  EncoderOut e = model.encode(waves, lengths);
  at::Tensor out_lengths = golden(io, "batch.out_lengths");
  CHECK(torch::equal(e.ctc_lengths, out_lengths));
  at::Tensor want = golden(io, "batch.logits");  // (B, T, V)
  const int64_t longest = lengths.argmax().item<int64_t>();
  for (int64_t b = 0; b < waves.size(0); ++b) {
    if (!layer_norm_mode && b != longest) continue;
    const int64_t t = out_lengths[b].item<int64_t>();
    CHECK(torch::allclose(e.ctc_logits.select(1, b).slice(0, 0, t), want[b].slice(0, 0, t), 1e-5,
                          1e-5));
  }
  // Without lengths (how Hugging Face runs group-norm checkpoints): every frame.
  EncoderOut n = model.encode(waves, at::Tensor());
  CHECK(torch::allclose(n.ctc_logits.transpose(0, 1), golden(io, "batch.logits_no_lengths"), 1e-5,
                        1e-5));
}

}  // namespace

TEST_CASE("wav2vec2_ctc matches torchaudio on every wav2vec2 fixture", "[unit][wav2vec2][golden]") {
  const auto fixtures = fixture_names();
  REQUIRE(fixtures.size() >= 2);
  for (const auto& base : fixtures) {
    INFO(base);
    Wav2Vec2Options o = wav2vec2_options_from_hf_config(base + ".config.json");
    nlohmann::json cfg = read_json(base + ".config.json");
    ModelContext ctx;
    ctx.tgt_vocab_size = cfg.at("vocab_size").get<int64_t>();
    Wav2Vec2CtcModel model(o, ctx);
    auto report = load_wav2vec2_weights(model, "w2v_encoder.w2v_model.", o,
                                        base + ".model.safetensors", "w2v_encoder.proj.");
    CHECK(report.missing.empty());
    CHECK(report.unexpected.empty());
    CHECK(report.head_loaded);
    check_against(model, SafeTensorsFile(base + ".io.safetensors"),
                  o.extractor_mode == "layer_norm");
  }
}

TEST_CASE("wav2vec2 weights load from a torch .bin and a fairseq .pt", "[unit][wav2vec2]") {
  const std::string base = goldens_dir() + "/wav2vec2/w2v2_large_tiny";
  const std::string dir = std::string(TRELLIS_TEST_DATA) + "/wav2vec2/";
  Wav2Vec2Options o = wav2vec2_options_from_hf_config(base + ".config.json");
  ModelContext ctx;
  ctx.tgt_vocab_size = 12;
  for (const std::string file :
       {"w2v2_large_tiny.pytorch_model.bin", "w2v2_large_tiny.fairseq.pt"}) {
    INFO(file);
    Wav2Vec2CtcModel model(o, ctx);
    auto r =
        load_wav2vec2_weights(model, "w2v_encoder.w2v_model.", o, dir + file, "w2v_encoder.proj.");
    CHECK(r.missing.empty());
    CHECK(r.unexpected.empty());
    CHECK(r.head_loaded);
    check_against(model, SafeTensorsFile(base + ".io.safetensors"), true);
  }
}

TEST_CASE("wav2vec2 key names map from Hugging Face and fairseq", "[unit][wav2vec2]") {
  bool head = false, pre = false;
  auto key = [&](const std::string& k, bool ln) { return wav2vec2_body_key(k, ln, &head, &pre); };
  CHECK(key("wav2vec2.feature_extractor.conv_layers.0.conv.weight", false) ==
        "feature_extractor.conv_layers.0.0.weight");
  CHECK(key("wav2vec2.feature_extractor.conv_layers.0.layer_norm.bias", false) ==
        "feature_extractor.conv_layers.0.2.bias");
  CHECK(key("wav2vec2.feature_extractor.conv_layers.3.layer_norm.bias", true) ==
        "feature_extractor.conv_layers.3.2.1.bias");
  CHECK(key("wav2vec2.feature_projection.projection.weight", false) == "post_extract_proj.weight");
  CHECK(key("feature_projection.layer_norm.weight", false) == "layer_norm.weight");
  CHECK(key("wav2vec2.masked_spec_embed", false) == "mask_emb");
  CHECK(key("wav2vec2.encoder.pos_conv_embed.conv.weight_g", false) ==
        "encoder.pos_conv.0.weight_g");
  CHECK(key("wav2vec2.encoder.pos_conv_embed.conv.parametrizations.weight.original1", false) ==
        "encoder.pos_conv.0.weight_v");
  CHECK(key("encoder.pos_conv.0.parametrizations.weight.original0", false) ==
        "encoder.pos_conv.0.weight_g");
  CHECK(key("wav2vec2.encoder.layers.11.attention.k_proj.bias", false) ==
        "encoder.layers.11.self_attn.k_proj.bias");
  CHECK(key("wav2vec2.encoder.layers.2.layer_norm.weight", false) ==
        "encoder.layers.2.self_attn_layer_norm.weight");
  CHECK(key("wav2vec2.encoder.layers.2.feed_forward.intermediate_dense.weight", false) ==
        "encoder.layers.2.fc1.weight");
  CHECK(key("wav2vec2.encoder.layers.2.final_layer_norm.weight", false) ==
        "encoder.layers.2.final_layer_norm.weight");
  CHECK(key("w2v_encoder.w2v_model.encoder.layers.0.fc2.bias", false) ==
        "encoder.layers.0.fc2.bias");
  CHECK_FALSE(head);
  CHECK(key("lm_head.weight", false) == "weight");
  CHECK(head);
  CHECK(key("w2v_encoder.proj.bias", false) == "bias");
  CHECK(head);
  key("quantizer.codevectors", false);
  CHECK(pre);
  key("project_hid.weight", false);
  CHECK(pre);
}

TEST_CASE("a base-sized Hugging Face safetensors file loads with only the head missing",
          "[unit][wav2vec2]") {
  // Written here from the Hugging Face name table (docs/models.md, "Keys"), in float16.
  const std::string path = (fs::temp_directory_path() / "trellis_w2v2_base.safetensors").string();
  std::map<std::string, at::Tensor> hf = hf_base_state_dict(/*vocab=*/32);
  write_safetensors_f16(path, hf);
  Wav2Vec2Options o;  // the base preset
  ModelContext ctx;
  ctx.tgt_vocab_size = 40;  // another vocabulary: the head stays new
  Wav2Vec2CtcModel model(o, ctx);
  CHECK(model.num_parameters() == 94370944 + 768 + 40 * 769);
  at::Tensor head_before = model.named_parameters()["w2v_encoder.proj.weight"].clone();
  auto r = load_wav2vec2_weights(model, "w2v_encoder.w2v_model.", o, path, "w2v_encoder.proj.");
  fs::remove(path);
  CHECK(r.missing.empty());
  CHECK(r.unexpected.empty());
  CHECK_FALSE(r.head_loaded);
  CHECK(r.loaded == static_cast<int64_t>(hf.size()) - 2);
  auto params = model.named_parameters();
  CHECK(torch::equal(params["w2v_encoder.proj.weight"], head_before));
  CHECK(torch::equal(
      params["w2v_encoder.w2v_model.encoder.layers.7.fc1.weight"],
      hf["wav2vec2.encoder.layers.7.feed_forward.intermediate_dense.weight"].to(at::kHalf).to(
          at::kFloat)));
  // Another size is refused with the key and both shapes.
  Wav2Vec2Options large = o;
  large.encoder_layers = 2;
  large.encoder_embed_dim = 1024;
  large.encoder_attention_heads = 16;
  Wav2Vec2CtcModel other(large, ctx);
  write_safetensors_f16(path, hf);
  CHECK_THROWS_WITH(
      load_wav2vec2_weights(other, "w2v_encoder.w2v_model.", large, path, "w2v_encoder.proj."),
      Catch::Contains("has shape") && Catch::Contains("--arch"));
  fs::remove(path);
}

TEST_CASE("wav2vec2 (the body alone) has fairseq's unprefixed keys and loads HF weights",
          "[unit][wav2vec2]") {
  const std::string base = goldens_dir() + "/wav2vec2/w2v2_base_tiny";
  Wav2Vec2Options o = wav2vec2_options_from_hf_config(base + ".config.json");
  Wav2Vec2Model model(o, ModelContext{});
  auto sd = model.state_dict();
  CHECK(sd.count("feature_extractor.conv_layers.0.0.weight") == 1);
  CHECK(sd.count("encoder.pos_conv.0.weight_g") == 1);
  CHECK(sd.count("mask_emb") == 1);
  auto r = load_wav2vec2_weights(model, "", o, base + ".model.safetensors", "");
  CHECK(r.missing.empty());
  model.eval();
  torch::NoGradGuard no_grad;
  SafeTensorsFile io(base + ".io.safetensors");
  const int64_t n = golden(io, "batch.lengths")[1].item<int64_t>();
  at::Tensor wav = golden(io, "batch.waveforms").slice(0, 1, 2).slice(1, 0, n);
  EncoderOut e = model.encode(wav, torch::tensor({n}));
  // post-LN: the encoder output is the last layer's output
  CHECK(torch::allclose(e.encoder_out.squeeze(1), golden(io, "single.utt1.layer_outputs.last"),
                        1e-5, 1e-5));
}
