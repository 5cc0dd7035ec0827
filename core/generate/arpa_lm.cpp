#include "core/generate/arpa_lm.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <unordered_map>

#include "core/error.h"

namespace trellis {
namespace {

constexpr double kLn10 = 2.302585092994045684;
constexpr double kMissingUnkLog10 = -100.0;  // KenLM's substitute when <unk> is not listed

struct KeyHash {
  size_t operator()(const std::vector<int32_t>& k) const {
    uint64_t h = 1469598103934665603ull;  // FNV-1a over the ids
    for (int32_t w : k) {
      h ^= static_cast<uint32_t>(w);
      h *= 1099511628211ull;
    }
    return static_cast<size_t>(h);
  }
};

struct Entry {
  double prob = 0.0;     // log10 p, valid when listed
  double backoff = 0.0;  // log10 backoff weight (0 when the file gives none)
  bool listed = false;   // false: only the prefix of a longer listed n-gram
};

using Table = std::unordered_map<std::vector<int32_t>, Entry, KeyHash>;

std::vector<std::string_view> split_ws(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

bool blank(std::string_view s) { return split_ws(s).empty(); }

}  // namespace

struct ArpaLm::Impl {
  int order = 0;
  std::vector<int64_t> counts;     // counts[n-1]: listed n-grams of order n
  std::vector<Table> tables;       // tables[n-1]: n-grams of order n
  std::vector<std::string> words;  // id -> word
  std::unordered_map<std::string, int32_t> ids;
  int32_t bos = -1, eos = -1, unk = -1;

  const Entry* find(const std::vector<int32_t>& key) const {
    if (key.empty() || static_cast<int>(key.size()) > order) return nullptr;
    const Table& t = tables[key.size() - 1];
    auto it = t.find(key);
    return it == t.end() ? nullptr : &it->second;
  }
};

// Reads the file line by line, keeping the line number for errors.
class ArpaReader {
 public:
  ArpaReader(std::istream& in, std::string name) : in_(in), name_(std::move(name)) {}

  bool next(std::string& line) {
    if (!std::getline(in_, line)) return false;
    ++line_no_;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw DataError(fmt::format("{}:{}: {}", name_, line_no_, what));
  }
  double number(std::string_view tok, const char* what) const {
    const std::string s(tok);
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size() || s.empty() || std::isnan(v))
      fail(fmt::format("'{}' is not a number ({})", s, what));
    return v;
  }
  const std::string& name() const { return name_; }
  int64_t line_no() const { return line_no_; }

 private:
  std::istream& in_;
  std::string name_;
  int64_t line_no_ = 0;
};

ArpaLm ArpaLm::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  TRELLIS_CHECK(in.good(), DataError, "{}: cannot open the ARPA language model", path);
  return parse(in, path);
}

ArpaLm ArpaLm::parse(std::istream& in, const std::string& name) {
  auto impl = std::make_unique<Impl>();
  ArpaReader r(in, name);
  std::string line;
  bool has_data = false;
  while (r.next(line)) {
    if (line == "\\data\\") {
      has_data = true;
      break;
    }
  }
  if (!has_data) r.fail("no \\data\\ line: not an ARPA language model");

  // \data\: "ngram N=C", N = 1, 2, ... in order.
  bool pending = r.next(line);
  for (; pending; pending = r.next(line)) {
    if (blank(line)) continue;
    if (line[0] == '\\') break;
    const auto toks = split_ws(line);
    const std::string rest = [&] {
      std::string s;
      for (size_t i = 1; i < toks.size(); ++i) s += std::string(toks[i]);
      return s;
    }();
    const size_t eq = rest.find('=');
    if (toks[0] != "ngram" || eq == std::string::npos)
      r.fail(fmt::format("expected 'ngram N=COUNT' in \\data\\, got '{}'", line));
    const double n = r.number(rest.substr(0, eq), "n-gram order");
    const double c = r.number(rest.substr(eq + 1), "n-gram count");
    if (n != static_cast<double>(impl->order + 1))
      r.fail(fmt::format("'ngram {}=' out of order: expected ngram {}=", rest.substr(0, eq),
                         impl->order + 1));
    if (c < 0 || c != std::floor(c) || c > 1e12)
      r.fail(fmt::format("bad n-gram count '{}'", rest.substr(eq + 1)));
    ++impl->order;
    impl->counts.push_back(static_cast<int64_t>(c));
  }
  if (impl->order == 0) r.fail("\\data\\ lists no 'ngram N=COUNT' line");
  if (impl->counts[0] == 0) r.fail("\\data\\ says 'ngram 1=0': a model needs 1-grams");
  impl->tables.resize(static_cast<size_t>(impl->order));

  // \n-grams: sections, n = 1 .. order, in order.
  for (int n = 1; n <= impl->order; ++n) {
    while (pending && blank(line)) pending = r.next(line);
    const std::string header = fmt::format("\\{}-grams:", n);
    if (!pending) r.fail(fmt::format("end of file: missing section {}", header));
    if (line != header) r.fail(fmt::format("expected section {}, got '{}'", header, line));
    Table& table = impl->tables[static_cast<size_t>(n - 1)];
    int64_t seen = 0;
    for (pending = r.next(line); pending; pending = r.next(line)) {
      if (blank(line)) continue;
      if (line[0] == '\\') break;
      const auto toks = split_ws(line);
      const size_t nt = toks.size();
      if (nt != static_cast<size_t>(n) + 1 && nt != static_cast<size_t>(n) + 2)
        r.fail(
            fmt::format("a {}-gram line needs a log10 probability, {} word(s) and an "
                        "optional backoff; got {} field(s)",
                        n, n, nt));
      if (++seen > impl->counts[static_cast<size_t>(n - 1)])
        r.fail(fmt::format("more {}-grams than \\data\\ says ({})", n,
                           impl->counts[static_cast<size_t>(n - 1)]));
      const double prob = r.number(toks[0], "log10 probability");
      if (prob > 0.0 || prob == std::numeric_limits<double>::infinity())
        r.fail(fmt::format("log10 probability {} is above 0", toks[0]));
      double backoff = 0.0;
      if (nt == static_cast<size_t>(n) + 2) {
        backoff = r.number(toks[nt - 1], "log10 backoff");
        if (std::isinf(backoff)) r.fail(fmt::format("infinite backoff '{}'", toks[nt - 1]));
      }
      std::vector<int32_t> key;
      for (size_t i = 1; i <= static_cast<size_t>(n); ++i) {
        const std::string w(toks[i]);
        auto it = impl->ids.find(w);
        if (it == impl->ids.end()) {
          if (n > 1) r.fail(fmt::format("word '{}' is not in the 1-grams", w));
          it = impl->ids.emplace(w, static_cast<int32_t>(impl->words.size())).first;
          impl->words.push_back(w);
        }
        key.push_back(it->second);
      }
      Entry& e = table[key];
      if (e.listed) r.fail(fmt::format("{}-gram '{}' listed twice", n, line));
      e.prob = prob;
      e.backoff = backoff;
      e.listed = true;
      // The prefix is a context that may be followed: keep it even when not listed.
      if (n > 1)
        impl->tables[static_cast<size_t>(n - 2)].try_emplace(
            std::vector<int32_t>(key.begin(), key.end() - 1));
    }
    if (seen != impl->counts[static_cast<size_t>(n - 1)])
      r.fail(fmt::format("section \\{}-grams: has {} entries, \\data\\ says {}", n, seen,
                         impl->counts[static_cast<size_t>(n - 1)]));
  }
  while (pending && blank(line)) pending = r.next(line);
  if (!pending) r.fail("end of file: missing \\end\\");
  if (line != "\\end\\")
    r.fail(fmt::format("expected \\end\\ after \\{}-grams:, got '{}'", impl->order, line));

  auto id_of = [&](const char* w) {
    auto it = impl->ids.find(w);
    return it == impl->ids.end() ? -1 : it->second;
  };
  impl->bos = id_of("<s>");
  impl->eos = id_of("</s>");
  TRELLIS_CHECK(impl->bos >= 0 && impl->eos >= 0, DataError,
                "{}: the 1-grams list no <s> or no </s>", name);
  impl->unk = id_of("<unk>");
  if (impl->unk < 0) {  // an id of its own, with no entry: scores kMissingUnkLog10
    impl->unk = static_cast<int32_t>(impl->words.size());
    impl->words.push_back("<unk>");
  }
  return ArpaLm(std::move(impl));
}

ArpaLm::ArpaLm(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ArpaLm::ArpaLm(ArpaLm&&) noexcept = default;
ArpaLm& ArpaLm::operator=(ArpaLm&&) noexcept = default;
ArpaLm::~ArpaLm() = default;

int ArpaLm::order() const { return impl_->order; }
int64_t ArpaLm::count(int n) const { return impl_->counts.at(static_cast<size_t>(n - 1)); }
int32_t ArpaLm::bos() const { return impl_->bos; }
int32_t ArpaLm::eos() const { return impl_->eos; }
int32_t ArpaLm::unk() const { return impl_->unk; }
const std::string& ArpaLm::word(int32_t id) const {
  return impl_->words.at(static_cast<size_t>(id));
}

int32_t ArpaLm::word_id(std::string_view w) const {
  auto it = impl_->ids.find(std::string(w));
  return it == impl_->ids.end() ? impl_->unk : it->second;
}

bool ArpaLm::contains(std::string_view w) const { return impl_->ids.count(std::string(w)) > 0; }

LmState ArpaLm::begin_sentence() const { return LmState{{impl_->bos}}; }
LmState ArpaLm::null_context() const { return LmState{}; }

double ArpaLm::score_log10(const LmState& state, int32_t word, LmState* next) const {
  const Impl& m = *impl_;
  const std::vector<int32_t>& h = state.words;
  const size_t k = h.size();
  double backoff = 0.0, result = 0.0;
  bool found = false;
  std::vector<int32_t> key;
  for (size_t s = 0; s <= k && !found; ++s) {
    key.assign(h.begin() + static_cast<std::ptrdiff_t>(s), h.end());
    key.push_back(word);
    const Entry* e = m.find(key);
    if (e && e->listed) {
      result = backoff + e->prob;
      found = true;
      break;
    }
    key.pop_back();
    if (const Entry* c = m.find(key)) backoff += c->backoff;  // the context h[s..k)
  }
  if (!found) result = backoff + kMissingUnkLog10;  // an unlisted <unk>
  if (next) {
    std::vector<int32_t> ctx(h);
    ctx.push_back(word);
    const size_t keep = std::min(ctx.size(), static_cast<size_t>(m.order - 1));
    size_t start = ctx.size() - keep;
    for (; start < ctx.size(); ++start) {
      key.assign(ctx.begin() + static_cast<std::ptrdiff_t>(start), ctx.end());
      if (m.find(key)) break;
    }
    next->words.assign(ctx.begin() + static_cast<std::ptrdiff_t>(start), ctx.end());
  }
  return result;
}

double ArpaLm::score(const LmState& state, int32_t word, LmState* next) const {
  return score_log10(state, word, next) * kLn10;
}

double ArpaLm::sentence_log10(const std::vector<std::string>& words, bool eos) const {
  LmState s = begin_sentence();
  double total = 0.0;
  for (const auto& w : words) total += score_log10(s, word_id(w), &s);
  if (eos) total += score_log10(s, impl_->eos, &s);
  return total;
}

}  // namespace trellis
