#pragma once
// Training progress lines in fairseq's formats (--log-format; docs/training.md, "What is logged";
// fairseq's SimpleProgressBar prints "{prefix}:  {step:5d} / {size} {stats}"):
//   simple, in-epoch:  epoch 003:    400 / 5123 loss=6.123, ppl=29.86, lr=0.000832, ...
//   simple, summary:   epoch 003 | loss 6.1 | ... | wall 2400
//   simple, valid:     epoch 003 | valid on 'dev' subset | loss 5.9 | ... | best_loss 5.8
//   json, in-epoch:    {"epoch": 3, "update": 2.078, "loss": "6.123", ...}  (values are strings)
//   json, summary:     {"epoch": 3, "train_loss": "6.1", ...}  (keys prefixed with the tag)
//   tqdm:              a progress bar redrawn in place, only when stderr is a terminal
//   none:              nothing
// Values are rounded to each stat's decimals, then printed with %g.

#include <cstdint>
#include <string>
#include <vector>

namespace trellis {

struct Stat {
  std::string key;
  double value = 0.0;
  int round = -1;  // decimals to round to; -1 = as is
};
using Stats = std::vector<Stat>;

// %g of the value rounded to `round` decimals (fairseq's format_stat).
std::string format_stat(const Stat& stat);

class Progress {
 public:
  // format: "simple", "json", "none", "tqdm" or "" (tqdm on a terminal, else simple).
  Progress(const std::string& format, bool stderr_is_terminal);

  const std::string& format() const { return format_; }

  // One in-epoch line; update: 1-based index in the epoch, of `total`; "" for tqdm/none.
  std::string inner_line(const Stats& stats, int64_t epoch, int64_t update, int64_t total) const;
  // End-of-epoch ("train") or validation (tag = subset name; `validation` marks a validation
  // of a subset named "train") summary; "" for none.
  std::string summary_line(const Stats& stats, int64_t epoch, const std::string& tag,
                           bool validation = false) const;
  // The tqdm bar text (without carriage return), e.g.
  //   epoch 003:  10%|##        | 400/4000 [loss=6.123, lr=0.0001]
  std::string bar(const Stats& stats, int64_t epoch, int64_t update, int64_t total) const;

 private:
  std::string format_;
};

}  // namespace trellis
