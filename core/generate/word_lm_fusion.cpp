#include "core/generate/word_lm_fusion.h"

#include <algorithm>

namespace trellis {
namespace {

const std::string kSpmSpace = "\xe2\x96\x81";  // U+2581, SentencePiece's word start

WordLmProgress complete_word(const WordLmFusion& f, WordLmProgress p) {
  if (p.partial.empty()) return p;
  p.lm += f.lm->score(p.state, f.lm->word_id(p.partial), &p.state);
  ++p.words;
  p.partial.clear();
  return p;
}

}  // namespace

WordSpelling WordSpelling::from_pieces(const std::vector<std::string>& pieces,
                                       const std::vector<int64_t>& silent) {
  WordSpelling s;
  s.kind.resize(pieces.size(), kInner);
  s.text.resize(pieces.size());
  for (size_t i = 0; i < pieces.size(); ++i) {
    const std::string& p = pieces[i];
    if (std::find(silent.begin(), silent.end(), static_cast<int64_t>(i)) != silent.end()) {
      s.kind[i] = kSilent;
    } else if (p == "|" || p == " ") {
      s.kind[i] = kBoundary;
    } else if (p.rfind(kSpmSpace, 0) == 0) {
      s.kind[i] = kWordStart;
      s.text[i] = p.substr(kSpmSpace.size());
    } else {
      s.text[i] = p;
    }
  }
  return s;
}

WordLmProgress WordLmProgress::start(const WordLmFusion& f) {
  WordLmProgress p;
  p.state = f.lm->begin_sentence();
  return p;
}

WordLmProgress WordLmProgress::extend(const WordLmFusion& f, int64_t unit) const {
  const size_t u = static_cast<size_t>(unit);
  switch (f.spelling.kind_of(unit)) {
    case WordSpelling::kSilent:
      return *this;
    case WordSpelling::kBoundary:
      return complete_word(f, *this);
    case WordSpelling::kWordStart: {
      WordLmProgress p = complete_word(f, *this);
      p.partial = f.spelling.text[u];
      return p;
    }
    case WordSpelling::kInner:
    default: {
      WordLmProgress p = *this;
      p.partial += f.spelling.text[u];
      return p;
    }
  }
}

WordLmProgress WordLmProgress::finish(const WordLmFusion& f) const {
  WordLmProgress p = complete_word(f, *this);
  p.lm += f.lm->score(p.state, f.lm->eos(), &p.state);
  return p;
}

double WordLmProgress::bonus(const WordLmFusion& f) const {
  double b = 0.0;
  if (f.weight != 0.0) b += f.weight * lm;
  if (f.word_score != 0.0) b += f.word_score * static_cast<double>(words);
  return b;
}

}  // namespace trellis
