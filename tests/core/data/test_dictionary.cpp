#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "core/data/dictionary.h"
#include "core/error.h"

using namespace trellis;
namespace fs = std::filesystem;

static std::string write_tmp(const std::string& name, const std::string& text) {
  fs::path p = fs::temp_directory_path() / ("trellis_dict_" + std::to_string(::getpid()));
  fs::create_directories(p);
  p /= name;
  std::ofstream(p, std::ios::binary) << text;
  return p.string();
}

TEST_CASE("dictionary: specials, load, index, encode, string", "[unit][dictionary]") {
  std::string path = write_tmp("dict.txt", "\xE2\x96\x81he 10\nllo 5\n<lang:de> 1\n");
  Dictionary d = Dictionary::load(path);
  CHECK(d.bos() == 0);
  CHECK(d.pad() == 1);
  CHECK(d.eos() == 2);
  CHECK(d.unk() == 3);
  CHECK(d.size() == 7);
  CHECK(d.index("llo") == 5);
  CHECK(d.index(Dictionary::lang_tag("de")) == 6);
  CHECK(d.index("nope") == 3);
  CHECK(d.encode_line("  \xE2\x96\x81he   llo x ") == std::vector<int64_t>{4, 5, 3, 2});
  CHECK(d.encode_line("llo", false) == std::vector<int64_t>{5});
  CHECK(d.string({0, 4, 5, 3, 2, 1}) == "\xE2\x96\x81he llo <unk> <pad>");
  CHECK(d.string({4, 5, 3, 2}, "sentencepiece", true) == "hello<<unk>>");

  std::string out = write_tmp("dict_out.txt", "");
  d.save(out);
  Dictionary d2 = Dictionary::load(out);
  REQUIRE(d2.size() == d.size());
  for (int64_t i = 0; i < d.size(); ++i) CHECK(d2[i] == d[i]);
  CHECK(d2.count(4) == 10);
}

TEST_CASE("dictionary: overwrite flag and errors name file and line", "[unit][dictionary]") {
  Dictionary d = Dictionary::load(write_tmp("ow.txt", "a 1\nb 2\na 3 #fairseq:overwrite\n"));
  CHECK(d.size() == 7);
  CHECK(d.index("a") == 6);

  auto bad = [](const std::string& text, const std::string& needle) {
    std::string p = write_tmp("bad.txt", text);
    try {
      Dictionary::load(p);
      FAIL("no error");
    } catch (const DataError& e) {
      std::string msg = e.what();
      CHECK_THAT(msg, Catch::Contains(p + ":" + needle));
    }
  };
  bad("a 1\nb 2\na 3\n", "3: duplicate word 'a'");
  bad("a 1\nnocount\n", "2: incorrect dictionary format");
  bad("a 1\nb x\n", "2: incorrect dictionary format");
}

TEST_CASE("dictionary: letter post-processing and finalize padding", "[unit][dictionary]") {
  Dictionary d;
  for (auto w : {"h", "i", "|", "h"}) d.add_symbol(w);
  d.finalize();
  CHECK(d.size() == 8);
  CHECK(d[4] == "h");  // most frequent first
  CHECK(d[7] == "madeupword0000");
  CHECK(d.string(d.encode_line("h i | h i", false), "letter") == "hi hi");
}
