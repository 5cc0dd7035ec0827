// prepare --ctc-subsampling / --drop-ctc-infeasible (core/data/prepare_ctc_check.h): the rows
// CTC cannot align after N-fold subsampling.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/data/audio_writer.h"
#include "core/data/manifest.h"
#include "core/data/prepare.h"
#include "core/data/prepare_ctc_check.h"

using namespace trellis;
namespace fs = std::filesystem;

namespace {

ManifestRow row(const std::string& id, int64_t n_frames, const std::string& text) {
  ManifestRow r;
  r.id = id;
  r.n_frames = n_frames;
  r.tgt_text = text;
  return r;
}

}  // namespace

TEST_CASE("ctc_infeasible_rows: units plus repeats against ceil(n_frames / N)",
          "[unit][prepare]") {
  DataConfig cfg;
  cfg.bpe_tokenizer.bpe = "characters";  // "aab" -> a a b | : 4 units, one repeat: 5 frames
  std::vector<ManifestRow> rows = {row("short", 16, "aab"), row("enough", 17, "aab"),
                                   row("plain", 12, "abc")};  // a b c | : 4 frames, 3 given
  auto bad = ctc_infeasible_rows(rows, "train", cfg, 4, ".");
  REQUIRE(bad.size() == 2);
  CHECK(bad[0].id == "short");
  CHECK(bad[0].units == 5);
  CHECK(bad[0].frames == 4);
  CHECK(bad[0].split == "train");
  CHECK(bad[1].id == "plain");
  CHECK(bad[1].units == 4);
  CHECK(bad[1].frames == 3);
  // A source transcript counts too (speech_to_text_ctc's CTC side): the longer side decides.
  rows[1].src_text = "aaaa";  // 4 + 3 repeats + delimiter: 8 frames
  CHECK(ctc_infeasible_rows({rows[1]}, "train", cfg, 4, ".").size() == 1);
  CHECK(ctc_infeasible_rows(rows, "train", cfg, 1, ".").empty());
  CHECK_THROWS_WITH(ctc_infeasible_rows(rows, "train", cfg, 0, "."),
                    Catch::Contains("--ctc-subsampling 0"));
}

TEST_CASE("prepare: CTC-infeasible utterances are reported, listed and dropped on request",
          "[unit][prepare]") {
  const fs::path d =
      fs::temp_directory_path() / ("trellis_prep_ctc_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  // 0.3 s of a tone: 28 fbank frames, 7 after 4-fold subsampling. "a sentence far too long":
  // 23 characters + the trailing word delimiter, one repeat (oo): 25 frames needed.
  std::vector<float> tone(4800);
  for (size_t i = 0; i < tone.size(); ++i) tone[i] = float(0.3 * std::sin(0.2 * double(i)));
  write_audio_file((d / "a.wav").string(), tone, 1, 16000, "wav");
  std::ofstream(d / "train_in.tsv")
      << "id\taudio\ttgt_text\tspeaker\n"
      << "fits\t" << (d / "a.wav").string() << "\thi\ts\n"
      << "too_long\t" << (d / "a.wav").string() << "\ta sentence far too long\ts\n"
      << "fits2\t" << (d / "a.wav").string() << "\tok\ts\n";
  std::ofstream(d / "dev_in.tsv") << "id\taudio\ttgt_text\tspeaker\n"
                                  << "dev_long\t" << (d / "a.wav").string()
                                  << "\tanother long sentence\ts\n";
  PrepareOptions o;
  o.inputs = {(d / "train_in.tsv").string(), (d / "dev_in.tsv").string()};
  o.output_dir = (d / "out").string();
  o.splits = "train,dev";
  o.vocab_type = "char";
  o.progress = false;
  PrepareSummary s = run_prepare(o);  // default: N = 4 for fbank80
  CHECK(s.ctc_infeasible == 2);
  CHECK(s.ctc_dropped == 0);
  CHECK(s.rows == std::vector<int64_t>{3, 1});
  std::ifstream tsv(d / "out" / "ctc_infeasible.tsv");
  std::stringstream text;
  text << tsv.rdbuf();
  CHECK(text.str() == "split\tid\tunits\tframes\ntrain\ttoo_long\t25\t7\ndev\tdev_long\t22\t7\n");

  o.drop_ctc_infeasible = true;
  s = run_prepare(o);
  CHECK(s.ctc_dropped == 1);
  CHECK(s.rows == std::vector<int64_t>{2, 1});  // dev keeps its row
  Manifest train = read_tsv_manifest((d / "out" / "train.tsv").string());
  for (const auto& r : train.rows) CHECK(r.id != "too_long");

  o.drop_ctc_infeasible = false;
  o.ctc_subsampling = 1;  // every row fits: no list left behind
  s = run_prepare(o);
  CHECK(s.ctc_infeasible == 0);
  CHECK(!fs::exists(d / "out" / "ctc_infeasible.tsv"));
  fs::remove_all(d);
}
