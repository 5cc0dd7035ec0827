#include "core/data/sentencepiece_vocab.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/data/dictionary.h"
#include "core/error.h"

namespace trellis {

namespace fs = std::filesystem;

namespace {

// Runs argv (no shell), stdin from `in` (or /dev/null), stdout to `out`; returns the exit code
// and the tail of stderr in *err.
int run_tool(const std::vector<std::string>& argv, const std::string& in, const std::string& out,
             std::string* err) {
  static std::atomic<int> counter{0};
  std::string err_path =
      (fs::temp_directory_path() / fmt::format("trellis_spm_{}_{}.err", ::getpid(), counter++))
          .string();
  pid_t pid = ::fork();
  TRELLIS_CHECK(pid >= 0, DataError, "cannot start {}", argv[0]);
  if (pid == 0) {
    int fi = ::open(in.empty() ? "/dev/null" : in.c_str(), O_RDONLY);
    int fo = ::open(out.empty() ? "/dev/null" : out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fe = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fi < 0 || fo < 0 || fe < 0) ::_exit(126);
    ::dup2(fi, 0);
    ::dup2(fo, 1);
    ::dup2(fe, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  if (err) {
    std::ifstream e(err_path);
    std::stringstream ss;
    ss << e.rdbuf();
    std::string s = ss.str();
    *err = s.size() > 1500 ? s.substr(s.size() - 1500) : s;
    if (code == 127)
      *err += fmt::format(" ({} not found: install Debian package sentencepiece)", argv[0]);
  }
  fs::remove(err_path);
  return code;
}

std::string temp_path(const std::string& tag) {
  static std::atomic<int> counter{0};
  return (fs::temp_directory_path() /
          fmt::format("trellis_spm_{}_{}.{}", ::getpid(), counter++, tag))
      .string();
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> lines;
  std::string l;
  while (std::getline(in, l)) lines.push_back(l);
  return lines;
}

std::vector<std::string> split_spaces(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(' ', i);
    if (j == std::string::npos) j = s.size();
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

}  // namespace

SentencePieceVocab::SentencePieceVocab(const std::string& model_path) : path_(model_path) {
  TRELLIS_CHECK(fs::is_regular_file(model_path), DataError, "{}: SentencePiece model not found",
                model_path);
  std::string out = temp_path("vocab"), err;
  int code = run_tool({"spm_export_vocab", "--model=" + model_path}, "", out, &err);
  std::vector<std::string> lines = read_lines(out);
  fs::remove(out);
  TRELLIS_CHECK(code == 0 && !lines.empty(), DataError, "{}: cannot load SentencePiece model: {}",
                model_path, err);
  for (const auto& l : lines) {
    std::string piece = l.substr(0, l.find('\t'));
    ids_.emplace(piece, static_cast<int>(pieces_.size()));
    pieces_.push_back(piece);
  }
}

void SentencePieceVocab::train_from_file(const std::string& text_file,
                                         const std::string& model_prefix,
                                         const SpmTrainOptions& o) {
  std::vector<std::string> argv = {
      "spm_train",
      "--input=" + text_file,
      "--model_prefix=" + model_prefix,
      "--model_type=" + o.model_type,
      fmt::format("--vocab_size={}", o.vocab_size),
      fmt::format("--character_coverage={}", o.character_coverage),
      fmt::format("--num_threads={}", std::max(1, o.num_threads)),
      "--unk_id=3",
      "--bos_id=0",
      "--eos_id=2",
      "--pad_id=1",
      std::string("--hard_vocab_limit=") + (o.hard_vocab_limit ? "true" : "false")};
  if (o.input_sentence_size > 0) {
    argv.push_back(fmt::format("--input_sentence_size={}", o.input_sentence_size));
    argv.push_back("--shuffle_input_sentence=true");
  }
  if (!o.user_defined_symbols.empty())
    argv.push_back(
        fmt::format("--user_defined_symbols={}", fmt::join(o.user_defined_symbols, ",")));
  std::string err;
  int code = run_tool(argv, "", "", &err);
  TRELLIS_CHECK(code == 0 && fs::exists(model_prefix + ".model"), DataError,
                "SentencePiece training ({} model, vocab size {}) on {} failed: {}", o.model_type,
                o.vocab_size, text_file, err);
}

void SentencePieceVocab::train(const std::vector<std::string>& sentences,
                               const std::string& model_prefix, const SpmTrainOptions& o) {
  TRELLIS_CHECK(!sentences.empty(), DataError, "SentencePiece training for {}: no training text",
                model_prefix);
  std::string tmp = model_prefix + ".train.txt";
  {
    std::ofstream out(tmp, std::ios::binary);
    TRELLIS_CHECK(out.good(), DataError, "{}: cannot write", tmp);
    for (const auto& s : sentences) out << s << '\n';
  }
  try {
    train_from_file(tmp, model_prefix, o);
  } catch (...) {
    fs::remove(tmp);
    throw;
  }
  fs::remove(tmp);
}

std::vector<std::vector<std::string>> SentencePieceVocab::encode_batch(
    const std::vector<std::string>& texts) const {
  if (texts.empty()) return {};
  std::string in = temp_path("in"), out = temp_path("out"), err;
  {
    std::ofstream f(in, std::ios::binary);
    for (const auto& t : texts) {
      TRELLIS_CHECK(t.find('\n') == std::string::npos, DataError,
                    "{}: cannot encode text with a newline: '{}'", path_, t);
      f << t << '\n';
    }
  }
  int code = run_tool({"spm_encode", "--model=" + path_, "--output_format=piece"}, in, out, &err);
  std::vector<std::string> lines = read_lines(out);
  fs::remove(in);
  fs::remove(out);
  TRELLIS_CHECK(code == 0 && lines.size() == texts.size(), DataError,
                "{}: spm_encode failed ({} lines for {} texts): {}", path_, lines.size(),
                texts.size(), err);
  std::vector<std::vector<std::string>> result;
  for (const auto& l : lines) result.push_back(split_spaces(l));
  return result;
}

std::vector<std::string> SentencePieceVocab::encode_pieces(const std::string& text) const {
  {
    std::lock_guard<std::mutex> lock(*mu_);
    auto it = cache_.find(text);
    if (it != cache_.end()) return it->second;
  }
  auto pieces = encode_batch({text}).front();
  std::lock_guard<std::mutex> lock(*mu_);
  if (cache_.size() > 100000) cache_.clear();
  cache_.emplace(text, pieces);
  return pieces;
}

std::vector<int> SentencePieceVocab::encode_ids(const std::string& text) const {
  std::vector<int> ids;
  for (const auto& p : encode_pieces(text)) ids.push_back(piece_to_id(p));
  return ids;
}

std::string SentencePieceVocab::decode_pieces(const std::vector<std::string>& pieces) const {
  // Inverse of the piece segmentation: concatenate, U+2581 -> space, strip the dummy prefix.
  std::string joined;
  for (const auto& p : pieces) joined += p + " ";
  return post_process(joined, "sentencepiece");
}

std::string SentencePieceVocab::decode_ids(const std::vector<int>& ids) const {
  std::vector<std::string> pieces;
  for (int i : ids) {
    std::string p = id_to_piece(i);
    if (p == "<s>" || p == "</s>" || p == "<pad>") continue;
    pieces.push_back(p == "<unk>" ? " \xE2\x81\x87 " : p);  // spm renders unk as " ⁇ "
  }
  return decode_pieces(pieces);
}

int SentencePieceVocab::size() const { return static_cast<int>(pieces_.size()); }

std::string SentencePieceVocab::id_to_piece(int id) const {
  TRELLIS_CHECK(id >= 0 && id < size(), DataError, "{}: id {} out of range (size {})", path_, id,
                size());
  return pieces_[static_cast<size_t>(id)];
}

int SentencePieceVocab::piece_to_id(const std::string& piece) const {
  auto it = ids_.find(piece);
  return it == ids_.end() ? 3 : it->second;
}

void SentencePieceVocab::write_fairseq_dict(const std::string& path) const {
  TRELLIS_CHECK(size() > 3 && id_to_piece(0) == "<s>" && id_to_piece(1) == "<pad>" &&
                    id_to_piece(2) == "</s>" && id_to_piece(3) == "<unk>",
                DataError,
                "{}: the model's first ids are not <s> <pad> </s> <unk>; fairseq indices would "
                "not match SentencePiece ids",
                path_);
  std::ofstream out(path, std::ios::binary);
  TRELLIS_CHECK(out.good(), DataError, "{}: cannot write dictionary", path);
  for (int i = 0; i < size(); ++i) {
    const std::string& p = pieces_[static_cast<size_t>(i)];
    if (p == "<unk>" || p == "<s>" || p == "</s>" || p == "<pad>") continue;
    out << p << " 1\n";
  }
}

}  // namespace trellis
