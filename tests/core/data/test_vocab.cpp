#include <catch2/catch.hpp>
#include <filesystem>

#include "core/data/bpe.h"
#include "core/data/char_vocab.h"
#include "core/data/dictionary.h"
#include "core/data/sentencepiece_vocab.h"
#include "core/error.h"

using namespace trellis;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> corpus() {
  std::vector<std::string> out;
  const char* base[] = {"the quick brown fox jumps over the lazy dog",
                        "a speech recognition system turns audio into text",
                        "hello world this is a small test corpus",
                        "sentencepiece learns subword units from raw sentences",
                        "numbers like one two three four five six seven"};
  for (int r = 0; r < 20; ++r)
    for (const char* s : base) out.push_back(s);
  return out;
}

fs::path tmpdir() {
  fs::path p = fs::temp_directory_path() / ("trellis_vocab_" + std::to_string(::getpid()));
  fs::create_directories(p);
  return p;
}

}  // namespace

TEST_CASE("sentencepiece: train unigram/bpe/char, round trip, dict index == spm id",
          "[unit][vocab]") {
  for (std::string type : {"unigram", "bpe", "char"}) {
    INFO(type);
    SpmTrainOptions o;
    o.model_type = type;
    o.vocab_size = type == "char" ? 40 : 60;
    o.hard_vocab_limit = false;
    o.user_defined_symbols = {"<lang:de>"};
    std::string prefix = (tmpdir() / ("spm_" + type)).string();
    SentencePieceVocab::train(corpus(), prefix, o);
    SentencePieceVocab sp(prefix + ".model");
    CHECK(sp.id_to_piece(0) == "<s>");
    CHECK(sp.id_to_piece(1) == "<pad>");
    CHECK(sp.id_to_piece(2) == "</s>");
    CHECK(sp.id_to_piece(3) == "<unk>");
    std::string text = "hello world the quick fox";
    auto pieces = sp.encode_pieces(text);
    CHECK(sp.decode_pieces(pieces) == text);
    CHECK(sp.decode_ids(sp.encode_ids(text)) == text);

    sp.write_fairseq_dict(prefix + ".txt");
    Dictionary d = Dictionary::load(prefix + ".txt");
    CHECK(d.size() == sp.size());
    auto ids = sp.encode_ids("<lang:de> " + text);
    std::string joined;
    for (auto& p : sp.encode_pieces("<lang:de> " + text)) joined += p + " ";
    auto dict_ids = d.encode_line(joined, false);
    CHECK(dict_ids == std::vector<int64_t>(ids.begin(), ids.end()));
    CHECK(d.string(dict_ids, "sentencepiece") == "<lang:de> " + text);

    auto bpe = make_bpe("sentencepiece", "spm_" + type + ".model", {}, tmpdir().string());
    CHECK(bpe->encode(text) == pieces);
    CHECK(bpe->decode(pieces) == text);
  }
  CHECK_THROWS_AS(SentencePieceVocab((tmpdir() / "missing.model").string()), DataError);
}

TEST_CASE("characters: '|' delimiter encode/decode and registry", "[unit][vocab]") {
  CharVocab v;
  auto p = v.encode("  héllo   world ");
  CHECK(p == std::vector<std::string>{"h", "é", "l", "l", "o", "|", "w", "o", "r", "l", "d", "|"});
  CHECK(v.decode(p) == "héllo world");
  Dictionary d = v.build_dictionary({"hello world"});
  CHECK(d[4] == "l");  // most frequent first
  CHECK(d.contains("|"));
  CHECK(d.string(d.encode_line("h e l l o | w o r l d |"), "letter") == "hello world");

  CHECK(bpe_registry().contains("characters"));
  CHECK(bpe_registry().contains("sentencepiece"));
  auto b = make_bpe("characters", "", {{"trailing_delimiter", "false"}}, "");
  CHECK(b->encode("a b") == std::vector<std::string>{"a", "|", "b"});
  CHECK(make_bpe("None", "", {}, "") == nullptr);
  CHECK_THROWS_AS(make_bpe("nosuch", "", {}, ""), ConfigError);
}
