#include "core/data/prepare_ctc_check.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "core/data/bpe.h"
#include "core/error.h"
#include "core/logging.h"

namespace trellis {

namespace {

const log::Logger logger("trellis.prepare");

std::unique_ptr<Bpe> tokenizer_of(const TokenizerConfig& t, const std::string& data_dir) {
  std::vector<std::pair<std::string, std::string>> params(t.params.begin(), t.params.end());
  return make_bpe(t.bpe, t.sentencepiece_model, params, data_dir);
}

// Frames a CTC alignment of `text` needs: a unit each, one more per repeated neighbour.
int64_t frames_needed(const Bpe* bpe, const std::string& text) {
  std::vector<std::string> pieces;
  if (bpe) {
    pieces = bpe->encode(text);
  } else {  // no tokenizer: the dictionary indexes whitespace-separated words
    std::istringstream in(text);
    for (std::string w; in >> w;) pieces.push_back(w);
  }
  int64_t needed = 0;
  for (size_t i = 0; i < pieces.size(); ++i)
    needed += (i > 0 && pieces[i] == pieces[i - 1]) ? 2 : 1;
  return needed;
}

}  // namespace

std::vector<CtcInfeasibleRow> ctc_infeasible_rows(const std::vector<ManifestRow>& rows,
                                                  const std::string& split,
                                                  const DataConfig& config, int64_t subsampling,
                                                  const std::string& data_dir) {
  TRELLIS_CHECK(subsampling > 0, ConfigError, "--ctc-subsampling {}: expected N > 0", subsampling);
  const auto tgt = tokenizer_of(config.bpe_tokenizer, data_dir);
  const auto src = config.bpe_tokenizer_src.enabled()
                       ? tokenizer_of(config.bpe_tokenizer_src, data_dir)
                       : nullptr;
  std::vector<CtcInfeasibleRow> out;
  for (const ManifestRow& r : rows) {
    int64_t needed = frames_needed(tgt.get(), r.tgt_text);
    if (!r.src_text.empty())
      needed = std::max(needed, frames_needed(src ? src.get() : tgt.get(), r.src_text));
    const int64_t frames = (r.n_frames + subsampling - 1) / subsampling;
    if (frames < needed) out.push_back({split, r.id, needed, frames});
  }
  return out;
}

void report_ctc_infeasible(const std::vector<CtcInfeasibleRow>& rows, int64_t subsampling,
                           const std::string& tsv_path, bool dropped_from_train) {
  std::error_code ec;
  if (rows.empty()) {
    std::filesystem::remove(tsv_path, ec);
    logger.info("--ctc-subsampling {}: every utterance has enough frames for CTC", subsampling);
    return;
  }
  std::map<std::string, std::vector<const CtcInfeasibleRow*>> by_split;
  for (const auto& r : rows) by_split[r.split].push_back(&r);
  std::ofstream tsv(tsv_path, std::ios::trunc);
  tsv << "split\tid\tunits\tframes\n";
  for (const auto& r : rows) tsv << r.split << '\t' << r.id << '\t' << r.units << '\t' << r.frames << '\n';
  TRELLIS_CHECK(tsv.good(), DataError, "cannot write {}", tsv_path);
  for (const auto& [split, list] : by_split) {
    std::string first;
    for (size_t i = 0; i < std::min<size_t>(list.size(), 5); ++i)
      first += fmt::format("{}'{}' ({} units, {} frames)", i ? ", " : "", list[i]->id,
                           list[i]->units, list[i]->frames);
    const bool train = split.rfind("train", 0) == 0;
    logger.warn("{}: {} utterance(s) CTC cannot align after {}-fold subsampling (more units than "
                "frames): {}{}{}",
                split, list.size(), subsampling, first, list.size() > 5 ? ", ..." : "",
                train && dropped_from_train ? "; dropped (--drop-ctc-infeasible)" : "");
  }
  logger.warn("the list is in {}. Their CTC loss is infinite: train with --zero-infinity, or "
              "drop them from the training splits with prepare --drop-ctc-infeasible{}",
              tsv_path, dropped_from_train ? " (done)" : "");
}

}  // namespace trellis
