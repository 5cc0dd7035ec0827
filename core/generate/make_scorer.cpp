#include "core/generate/make_scorer.h"

#include "core/error.h"
#include "core/generate/bleu_scorer.h"
#include "core/generate/lid_scorer.h"
#include "core/generate/wer_scorer.h"
#include "core/generation_options.h"

namespace trellis {

std::unique_ptr<Scorer> make_scorer(const GenerationOptions& gen) {
  if (gen.scoring == "wer" || gen.scoring == "cer") {
    WerOptions wo;
    wo.tokenizer = gen.wer_tokenizer;
    wo.remove_punct = gen.wer_remove_punct;
    wo.lowercase = gen.wer_lowercase;
    wo.char_level = gen.wer_char_level;
    wo.cer = gen.scoring == "cer";
    return std::make_unique<WerScorer>(wo);
  }
  if (gen.scoring == "sacrebleu") {
    BleuOptions bo;
    bo.tokenizer = gen.sacrebleu_tokenizer;
    bo.lowercase = gen.sacrebleu_lowercase;
    return std::make_unique<SacrebleuScorer>(bo);
  }
  if (gen.scoring == "lid_acc") return std::make_unique<LidAccuracyScorer>();
  throw ConfigError(fmt::format(
      "--scoring {}: only wer, cer, sacrebleu and lid_acc are implemented so far", gen.scoring));
}

}  // namespace trellis
