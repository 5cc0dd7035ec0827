// libtrellis_spm: a C interface to Debian's libsentencepiece, loaded by
// core/data/sentencepiece_vocab.cpp into a link-map namespace of its own (dlmopen).
//
// Why a separate library: libsentencepiece carries its own protobuf (3.14) whose symbols, in a
// process that also loads the system libprotobuf (3.21, through LibTorch), resolve to the wrong
// copy: start-up crashes or "compiled against version 3.14.0" aborts. (RTLD_DEEPBIND is not
// enough: it breaks libstdc++'s copy-relocated std::cerr.) In its own namespace SentencePiece
// binds only to its own dependencies, as in its command-line tools. Only C strings cross, and
// memory is freed on the side that allocated it.

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#define TRELLIS_SPM_EXPORT extern "C" __attribute__((visibility("default")))

namespace {
void set_error(char* err, int errlen, const std::string& msg) {
  if (err && errlen > 0) std::snprintf(err, static_cast<size_t>(errlen), "%s", msg.c_str());
}
}  // namespace

TRELLIS_SPM_EXPORT void* trellis_spm_load(const char* path, char* err, int errlen) {
  auto* sp = new sentencepiece::SentencePieceProcessor();
  auto status = sp->Load(path);
  if (!status.ok()) {
    set_error(err, errlen, status.ToString());
    delete sp;
    return nullptr;
  }
  return sp;
}

TRELLIS_SPM_EXPORT void trellis_spm_free(void* handle) {
  delete static_cast<sentencepiece::SentencePieceProcessor*>(handle);
}

TRELLIS_SPM_EXPORT int trellis_spm_size(void* handle) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->GetPieceSize();
}

TRELLIS_SPM_EXPORT const char* trellis_spm_id_to_piece(void* handle, int id) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->IdToPiece(id).c_str();
}

// texts: lines separated by '\n' -> a malloc'd string: each line's pieces joined by ' ', lines
// by '\n' (release with trellis_spm_release); null with *err set on failure.
TRELLIS_SPM_EXPORT char* trellis_spm_encode_lines(void* handle, const char* texts, char* err,
                                                  int errlen) {
  auto* sp = static_cast<sentencepiece::SentencePieceProcessor*>(handle);
  std::string all(texts), out;
  size_t start = 0;
  while (start <= all.size()) {
    size_t end = all.find('\n', start);
    if (end == std::string::npos) end = all.size();
    std::vector<std::string> pieces;
    auto status = sp->Encode(all.substr(start, end - start), &pieces);
    if (!status.ok()) {
      set_error(err, errlen, status.ToString());
      return nullptr;
    }
    for (size_t i = 0; i < pieces.size(); ++i) out += (i ? " " : "") + pieces[i];
    if (end == all.size()) break;
    out += '\n';
    start = end + 1;
  }
  char* result = static_cast<char*>(std::malloc(out.size() + 1));
  std::memcpy(result, out.c_str(), out.size() + 1);
  return result;
}

TRELLIS_SPM_EXPORT void trellis_spm_release(char* s) { std::free(s); }

// args: spm_train's flags in one string ("--input=... --model_prefix=..."); 0 on success.
TRELLIS_SPM_EXPORT int trellis_spm_train(const char* args, char* err, int errlen) {
  auto status = sentencepiece::SentencePieceTrainer::Train(args);
  if (!status.ok()) {
    set_error(err, errlen, status.ToString());
    return 1;
  }
  return 0;
}
