#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "core/data/manifest.h"
#include "core/error.h"

using namespace trellis;
namespace fs = std::filesystem;

static std::string expect_error(const std::string& text) {
  try {
    parse_tsv_manifest(text, "m.tsv");
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("manifest: columns by name, quotes literal, extras kept", "[unit][manifest]") {
  std::string text =
      "n_frames\tid\taudio\ttgt_text\tspeaker\tsrc_text\tfoo\r\n"
      "12\tu1\t/a/f.zip:10:20\t\"hello\" world\tspk\tciao\tbar\n"
      "\n"
      "7\tu2\tx.wav\t\tspk\t\tbaz\n";
  Manifest m = parse_tsv_manifest(text, "m.tsv");
  REQUIRE(m.rows.size() == 2);
  CHECK(m.rows[0].id == "u1");
  CHECK(m.rows[0].n_frames == 12);
  CHECK(m.rows[0].tgt_text == "\"hello\" world");
  CHECK(m.rows[0].src_text == "ciao");
  CHECK(m.rows[0].extra.at("foo") == "bar");
  CHECK(m.rows[1].line == 4);
  CHECK(m.rows[1].tgt_text.empty());
  CHECK(m.rows[1].tgt_lang.empty());

  fs::path p = fs::temp_directory_path() / ("trellis_manifest_" + std::to_string(::getpid()));
  fs::create_directories(p);
  write_tsv_manifest((p / "out.tsv").string(), m.rows);
  Manifest m2 = read_tsv_manifest((p / "out.tsv").string());
  REQUIRE(m2.rows.size() == 2);
  CHECK(m2.columns.front() == "id");
  CHECK(m2.rows[0].tgt_text == m.rows[0].tgt_text);
  CHECK(m2.rows[1].audio == "x.wav");
}

TEST_CASE("manifest: errors name file, line and sample", "[unit][manifest]") {
  CHECK_THAT(expect_error("id\taudio\ttgt_text\n"), Catch::Contains("m.tsv:1: missing required "
                                                                    "column 'n_frames'"));
  CHECK_THAT(expect_error("id\taudio\tn_frames\ttgt_text\nu1\ta.wav\t3\tx\nu2\ta.wav\tabc\tx\n"),
             Catch::Contains("m.tsv:3: n_frames 'abc' is not a non-negative integer (sample "
                             "'u2')"));
  CHECK_THAT(expect_error("id\taudio\tn_frames\ttgt_text\nu1\ta.wav\t3\n"),
             Catch::Contains("m.tsv:2: expected 4 tab-separated fields, found 3 (sample 'u1')"));
  CHECK_THAT(expect_error(""), Catch::Contains("m.tsv: empty manifest"));
  CHECK_THROWS_AS(read_tsv_manifest("/nonexistent/x.tsv"), DataError);
}

TEST_CASE("manifest: the three audio forms", "[unit][manifest]") {
  AudioRef a = parse_audio_field("feats/u1.npy", "/root");
  CHECK(a.kind == AudioRef::Kind::kNpy);
  CHECK(a.path == "/root/feats/u1.npy");
  AudioRef b = parse_audio_field("/d/a.flac");
  CHECK(b.kind == AudioRef::Kind::kAudioFile);
  AudioRef c = parse_audio_field("fbank80.zip:123:456", "/data");
  CHECK(c.kind == AudioRef::Kind::kByteRange);
  CHECK(c.path == "/data/fbank80.zip");
  CHECK(c.offset == 123);
  CHECK(c.length == 456);
  CHECK(c.spec() == "/data/fbank80.zip:123:456");
  CHECK_THROWS_AS(parse_audio_field("a.zip:12"), DataError);
  CHECK_THROWS_AS(parse_audio_field("a.zip:x:3"), DataError);
}
