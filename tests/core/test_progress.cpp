#include <catch2/catch.hpp>

#include "core/progress.h"

using trellis::Progress;
using trellis::Stats;

namespace {
Stats sample() {
  return {{"loss", 6.12345, 3}, {"ppl", 29.8612, 2}, {"wpb", 1234.56, 1},
          {"lr", 0.000832, -1}, {"gnorm", 1.23449, 3}, {"num_updates", 10400, 0}};
}
}  // namespace

TEST_CASE("simple format: fairseq's in-epoch and summary lines", "[unit][progress]") {
  Progress p("simple", false);
  CHECK(p.inner_line(sample(), 3, 400, 5123) ==
        "epoch 003:    400 / 5123 loss=6.123, ppl=29.86, wpb=1234.6, lr=0.000832, gnorm=1.234, "
        "num_updates=10400");
  CHECK(p.summary_line({{"loss", 6.1, 3}, {"wall", 2400.4, 0}}, 3, "train") ==
        "epoch 003 | loss 6.1 | wall 2400");
  CHECK(p.summary_line({{"loss", 5.9, 3}, {"best_loss", 5.8, 3}}, 3, "dev_mustc2") ==
        "epoch 003 | valid on 'dev_mustc2' subset | loss 5.9 | best_loss 5.8");
}

TEST_CASE("json format: string values, fractional epoch, tag-prefixed summaries",
          "[unit][progress]") {
  Progress p("json", false);
  CHECK(p.inner_line({{"loss", 6.12345, 3}}, 3, 78, 1000) ==
        R"({"epoch":3,"update":2.078,"loss":"6.123"})");
  CHECK(p.summary_line({{"loss", 5.5, 3}}, 2, "dev") == R"({"epoch":2,"dev_loss":"5.5"})");
}

TEST_CASE("tqdm only on a terminal; none prints nothing", "[unit][progress]") {
  CHECK(Progress("", true).format() == "tqdm");
  CHECK(Progress("", false).format() == "simple");
  CHECK(Progress("tqdm", false).format() == "simple");
  Progress bar("tqdm", true);
  CHECK(bar.bar({{"loss", 2.5, 3}}, 1, 50, 100) == "epoch 001:  50%|#####     | 50/100 [loss=2.5]");
  CHECK(bar.inner_line(sample(), 1, 1, 2).empty());
  Progress none("none", false);
  CHECK(none.inner_line(sample(), 1, 1, 2).empty());
  CHECK(none.summary_line(sample(), 1, "train").empty());
}
