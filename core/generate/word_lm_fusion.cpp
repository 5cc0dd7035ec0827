#include "core/generate/word_lm_fusion.h"

#include <algorithm>

#include <fmt/format.h>

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

LmNodePtr WordNgramFusion::make(WordLmProgress p, int64_t length) const {
  auto n = std::make_shared<Node>();
  n->score = p.bonus(f_);
  n->length = length;
  n->progress = std::move(p);
  return n;
}

LmNodePtr WordNgramFusion::start() { return make(WordLmProgress::start(f_), 0); }

LmNodePtr WordNgramFusion::extend(const LmNodePtr& node, int64_t unit) {
  const auto& n = static_cast<const Node&>(*node);
  if (f_.spelling.kind_of(unit) == WordSpelling::kSilent) return node;
  return make(n.progress.extend(f_, unit), n.length + 1);
}

double WordNgramFusion::finish(const LmNodePtr& node) {
  return static_cast<const Node&>(*node).progress.finish(f_).bonus(f_);
}

// Units within a word gain 0; every unit that completes the word gains the same.
void WordNgramFusion::gains(const LmNodePtr& node, int64_t eos, std::vector<float>* out) {
  const auto& n = static_cast<const Node&>(*node);
  const int64_t V = vocab_size();
  out->assign(static_cast<size_t>(V), 0.0f);
  bool have = false;
  float completing = 0.0f;
  for (int64_t v = 0; v < V; ++v) {
    const auto kind = f_.spelling.kind_of(v);
    if (v == eos) {
      (*out)[static_cast<size_t>(v)] = static_cast<float>(finish(node) - n.score);
    } else if (kind == WordSpelling::kBoundary || kind == WordSpelling::kWordStart) {
      if (!have) {
        completing = static_cast<float>(n.progress.extend(f_, v).bonus(f_) - n.score);
        have = true;
      }
      (*out)[static_cast<size_t>(v)] = completing;
    }
  }
}

std::string WordNgramFusion::describe() const {
  return fmt::format("{}-gram, {} words, word-level, --lm-weight {} --word-score {}",
                     f_.lm->order(), f_.lm->count(1), f_.weight, f_.word_score);
}

}  // namespace trellis
