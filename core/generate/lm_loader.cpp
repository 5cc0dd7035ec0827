#include "core/generate/lm_loader.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "core/data/dictionary.h"
#include "core/error.h"
#include "core/generate/arpa_lm.h"
#include "core/generate/model_loader.h"
#include "core/generate/neural_lm_fusion.h"
#include "core/generate/word_lm_fusion.h"
#include "core/interfaces/language_model.h"
#include "core/interfaces/task.h"

namespace trellis {
namespace {

bool is_zip(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {0, 0, 0, 0};
  in.read(magic, 4);
  return in.gcount() == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
}

}  // namespace

LoadedLm load_lm(const std::string& path, double weight, double score, const Dictionary& tgt,
                 int64_t blank) {
  TRELLIS_CHECK(std::filesystem::exists(path), ConfigError, "--lm-path {}: no such file", path);
  LoadedLm out;
  if (!is_zip(path)) {
    out.kind = "n-gram";
    out.arpa = std::make_shared<ArpaLm>(ArpaLm::load(path));
    WordLmFusion f;
    f.lm = out.arpa.get();
    f.weight = weight;
    f.word_score = score;
    std::vector<std::string> symbols;
    for (int64_t i = 0; i < tgt.size(); ++i) symbols.push_back(tgt.symbol(i));
    f.spelling = WordSpelling::from_pieces(
        symbols, {tgt.bos(), tgt.pad(), tgt.eos(), tgt.unk(), blank});
    out.fusion = std::make_unique<WordNgramFusion>(std::move(f));
    return out;
  }
  out.kind = "neural";
  out.checkpoint = std::make_shared<LoadedCheckpoint>(load_with_own_task(path, ""));
  auto* lm = dynamic_cast<LanguageModel*>(out.checkpoint->model.get());
  TRELLIS_CHECK(lm != nullptr, ConfigError,
                "--lm-path {}: --arch {} is not a language model (train one with --task "
                "language_modeling --arch transformer_lm)",
                path, out.checkpoint->state.arch);
  const Dictionary& d = out.checkpoint->task->target_dictionary();
  bool same = d.size() == tgt.size();
  int64_t first = -1;
  for (int64_t i = 0; same && i < tgt.size(); ++i)
    if (d.symbol(i) != tgt.symbol(i)) {
      same = false;
      first = i;
    }
  TRELLIS_CHECK(same, ConfigError,
                "--lm-path {}: the LM's dictionary ({} symbols) is not the model's target "
                "dictionary ({} symbols{}); train the LM on the speech data's config.yaml",
                path, d.size(), tgt.size(),
                first >= 0 ? fmt::format(", first difference at index {}: '{}' vs '{}'", first,
                                         d.symbol(first), tgt.symbol(first))
                           : std::string());
  TRELLIS_CHECK(lm->lm_vocab_size() == tgt.size(), ConfigError,
                "--lm-path {}: the LM predicts {} units, the dictionary has {}", path,
                lm->lm_vocab_size(), tgt.size());
  out.fusion = std::make_unique<NeuralLmFusion>(lm, tgt.eos(), weight, score,
                                                path + " (--arch " + out.checkpoint->state.arch + ")");
  return out;
}

}  // namespace trellis
