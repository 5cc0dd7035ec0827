#include "core/data/sentencepiece_vocab.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/data/dictionary.h"
#include "core/error.h"
#include "core/strings.h"

namespace trellis {

namespace fs = std::filesystem;

namespace {

// libtrellis_spm (core/data/spm_shim): SentencePiece behind a C interface, loaded once into a
// separate link-map namespace (dlmopen) from libtrellis's own directory.
struct SpmLibrary {
  void* (*load)(const char*, char*, int) = nullptr;
  void (*free_model)(void*) = nullptr;
  int (*size)(void*) = nullptr;
  const char* (*id_to_piece)(void*, int) = nullptr;
  char* (*encode_lines)(void*, const char*, char*, int) = nullptr;
  void (*release)(char*) = nullptr;
  int (*train)(const char*, char*, int) = nullptr;
};

const SpmLibrary& spm() {
  static const SpmLibrary lib = [] {
    Dl_info info{};
    dladdr(reinterpret_cast<void*>(&spm), &info);
    fs::path here = info.dli_fname ? fs::path(info.dli_fname).parent_path() : fs::path();
    std::string path = (here / "libtrellis_spm.so").string();
    // A link-map namespace of its own: SentencePiece, its protobuf and its C++ runtime are
    // isolated from LibTorch's. Only C strings cross (freed on the side that allocated them).
    void* h = dlmopen(LM_ID_NEWLM, path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
      throw DataError(fmt::format("cannot load SentencePiece support ({}): {}", path, dlerror()));
    }
    SpmLibrary l;
    auto sym = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::decay_t<decltype(fn)>>(dlsym(h, name));
      if (fn == nullptr) throw DataError(fmt::format("{}: no symbol {}", path, name));
    };
    sym(l.load, "trellis_spm_load");
    sym(l.free_model, "trellis_spm_free");
    sym(l.size, "trellis_spm_size");
    sym(l.id_to_piece, "trellis_spm_id_to_piece");
    sym(l.encode_lines, "trellis_spm_encode_lines");
    sym(l.release, "trellis_spm_release");
    sym(l.train, "trellis_spm_train");
    return l;
  }();
  return lib;
}

}  // namespace

SentencePieceVocab::SentencePieceVocab(const std::string& model_path) : path_(model_path) {
  TRELLIS_CHECK(fs::is_regular_file(model_path), DataError, "{}: SentencePiece model not found",
                model_path);
  char err[1024] = "";
  void* h = spm().load(model_path.c_str(), err, sizeof(err));
  TRELLIS_CHECK(h != nullptr, DataError, "{}: cannot load SentencePiece model: {}", model_path,
                err);
  handle_ = std::shared_ptr<void>(h, spm().free_model);
  for (int i = 0, n = spm().size(h); i < n; ++i) {
    std::string piece = spm().id_to_piece(h, i);
    ids_.emplace(piece, i);
    pieces_.push_back(piece);
  }
}

void SentencePieceVocab::train_from_file(const std::string& text_file,
                                         const std::string& model_prefix,
                                         const SpmTrainOptions& o) {
  std::vector<std::string> argv = {
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
  argv.push_back("--minloglevel=1");  // SentencePiece's INFO lines would flood the log
  char err[2048] = "";
  int code = spm().train(fmt::format("{}", fmt::join(argv, " ")).c_str(), err, sizeof(err));
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
  std::string joined;
  for (size_t i = 0; i < texts.size(); ++i) {
    TRELLIS_CHECK(texts[i].find('\n') == std::string::npos, DataError,
                  "{}: cannot encode text with a newline: '{}'", path_, texts[i]);
    joined += (i ? "\n" : "") + texts[i];
  }
  char err[1024] = "";
  char* out = spm().encode_lines(handle_.get(), joined.c_str(), err, sizeof(err));
  TRELLIS_CHECK(out != nullptr, DataError, "{}: SentencePiece encoding failed: {}", path_, err);
  std::string lines(out);
  spm().release(out);
  std::vector<std::vector<std::string>> result;
  size_t start = 0;
  while (true) {
    size_t end = lines.find('\n', start);
    result.push_back(
        split_nonempty(lines.substr(start, end == std::string::npos ? end : end - start), ' '));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return result;
}

std::vector<std::string> SentencePieceVocab::encode_pieces(const std::string& text) const {
  return encode_batch({text}).front();
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
