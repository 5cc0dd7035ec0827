// Timing of a conformer forward+backward (hidden; run with "[.speed]"): the 6 x 256 encoder of
// the reference numbers on 8000 input frames (8 x 1000), 2 threads.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <memory>

#include "models/conformer/conformer.h"

using namespace trellis;

TEST_CASE("conformer forward+backward timing", "[.speed][conformer]") {
  ConformerOptions o;
  o.encoder_embed_dim = o.decoder_embed_dim = 256;
  o.encoder_attention_heads = o.decoder_attention_heads = 4;
  o.encoder_layers = 6;
  o.decoder_layers = 3;
  ModelContext ctx;
  ctx.src_vocab_size = ctx.tgt_vocab_size = 1000;
  ctx.ctc_enabled = true;
  torch::set_num_threads(2);
  ConformerModel model(o, ctx);
  model.train();
  auto src = torch::randn({8, 1000, 80});
  auto lengths = torch::full({8}, 1000, torch::kLong);
  lengths[7] = 900;
  auto prev = torch::randint(3, 1000, {8, 30}, torch::kLong);
  const char* trace = std::getenv("TRELLIS_PROFILE");  // chrome trace of the last iteration
  for (int it = 0; it < 4; ++it) {
    std::unique_ptr<torch::autograd::profiler::RecordProfile> prof;
    if (trace && it == 3) prof = std::make_unique<torch::autograd::profiler::RecordProfile>(trace);
    auto t0 = std::chrono::steady_clock::now();
    auto out = model.forward(src, lengths, prev);
    auto loss = out.logits.log_softmax(-1).mean() + out.encoder.ctc_logits.log_softmax(-1).mean();
    auto t1 = std::chrono::steady_clock::now();
    loss.backward();
    auto t2 = std::chrono::steady_clock::now();
    WARN("forward " << std::chrono::duration<double>(t1 - t0).count() << " s, backward "
                    << std::chrono::duration<double>(t2 - t1).count() << " s");
  }
}
