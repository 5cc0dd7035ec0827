// `transcribe` with the real binaries on a checkpoint `train` wrote (transcribe_model.h): 16 kHz
// wavs of dev utterances, and a 48 kHz mp3 and a 44.1 kHz ogg of one of them, print the text
// `generate` prints for their prepared version (greedy and prefix beam search); word
// timestamps are monotonic and inside the file (JSON, CTM, long audio cut into windows); a missing
// and a corrupt file are errors naming them while the other files are still transcribed, and the
// exit status is 1.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/data/audio_reader.h"
#include "core/data/audio_writer.h"
#include "run_command.h"
#include "skip.h"
#include "train_corpus.h"
#include "transcribe_model.h"

namespace fs = std::filesystem;
using trellis::testing::bin;
using trellis::testing::run_command;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<std::string> columns(const std::string& line) {
  std::vector<std::string> cols;
  size_t b = 0;
  for (size_t e; (e = line.find('\t', b)) != std::string::npos; b = e + 1)
    cols.push_back(line.substr(b, e - b));
  cols.push_back(line.substr(b));
  return cols;
}

// generate's D- lines: utterance id (from the manifest's order) -> detokenized text.
std::map<std::string, std::string> generate_texts(const std::string& data, const std::string& out) {
  std::vector<std::string> ids;
  std::ifstream tsv(data + "/dev.tsv");
  std::string line;
  std::getline(tsv, line);
  while (std::getline(tsv, line)) ids.push_back(columns(line).at(0));
  std::map<std::string, std::string> texts;
  for (const std::string& l : lines_of(out)) {
    if (l.rfind("D-", 0) != 0) continue;
    const auto c = columns(l);
    texts[ids.at(std::stoul(c.at(0).substr(2)))] = c.size() > 2 ? c[2] : "";
  }
  return texts;
}

}  // namespace

TEST_CASE("transcribe: audio files in any format print generate's text; timestamps; errors",
          "[integration][transcribe]") {
  const std::string data = trellis::testing::train_corpus();
  if (data.empty()) trellis::testing::skip_test("espeak-ng or sox not installed");
  const std::string corpus = fs::path(data).parent_path().string() + "/corpus";
  const std::string dir = trellis::testing::fresh_dir("transcribe");
  const std::string ckpt = trellis::testing::transcribe_model();

  // Three dev utterances as 16 kHz wavs (as espeak-ng/sox wrote them).
  std::vector<std::string> ids;
  {
    std::ifstream tsv(data + "/dev.tsv");
    std::string line;
    std::getline(tsv, line);
    while (ids.size() < 3 && std::getline(tsv, line)) ids.push_back(columns(line).at(0));
  }
  REQUIRE(ids.size() == 3);
  std::vector<std::string> wavs;
  for (const auto& id : ids) {
    wavs.push_back(dir + "/" + id + ".wav");
    fs::copy_file(corpus + "/" + id + ".wav", wavs.back());
  }
  // The first one as a 48 kHz mp3 and a 44.1 kHz ogg (trellis's libsndfile writer), in a
  // folder `prepare` reads (NAME.txt next to each file): their prepared version.
  const std::string other = dir + "/other";
  fs::create_directories(other);
  const std::string mp3 = other + "/" + ids[0] + "_48k.mp3";
  const std::string ogg = other + "/" + ids[0] + "_44k.ogg";
  trellis::write_audio_file(mp3, trellis::read_audio(wavs[0], 48000).samples, 1, 48000, "mp3");
  trellis::write_audio_file(ogg, trellis::read_audio(wavs[0], 44100).samples, 1, 44100, "ogg");
  REQUIRE(trellis::read_audio(mp3, 0).sample_rate == 48000);
  REQUIRE(trellis::read_audio(ogg, 0).sample_rate == 44100);
  for (const auto& f : {mp3, ogg})
    std::ofstream(fs::path(f).replace_extension(".txt")) << "one bright singer finds the doctor";
  auto p =
      run_command(fmt::format("{} --input-format dir --input {} --output-dir {}/prepared "
                              "--splits dev:1.0 --vocab-type char --no-progress",
                              bin("prepare"), other, dir));
  INFO(p.output);
  REQUIRE(p.exit_code == 0);
  std::map<std::string, std::string> other_path{{ids[0] + "_48k", mp3}, {ids[0] + "_44k", ogg}};

  for (int beam : {1, 3}) {
    INFO("--beam " << beam);
    // The 16 kHz wavs against generate on the prepared dev set.
    auto g =
        run_command(fmt::format("{} {} --gen-subset dev --path {} --beam {} --scoring wer "
                                "--threads 2",
                                bin("generate"), data, ckpt, beam));
    INFO(g.output);
    REQUIRE(g.exit_code == 0);
    const auto expected = generate_texts(data, g.output);
    auto r =
        run_command(fmt::format("{{ {} --path {} --beam {} --threads 2 {} {} {} 2>/dev/null; }}",
                                bin("transcribe"), ckpt, beam, wavs[0], wavs[1], wavs[2]));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const auto out = lines_of(r.output);
    REQUIRE(out.size() == 3);
    size_t letters = 0;
    for (size_t i = 0; i < 3; ++i) {
      const auto c = columns(out[i]);
      REQUIRE(c.size() == 2);
      CHECK(c[0] == wavs[i]);
      CHECK(c[1] == expected.at(ids[i]));
      letters += c[1].size();
    }
    CHECK(letters > 10);  // the model spells something: the comparison means something
    // The mp3 and the ogg against generate on their own prepared version.
    auto go =
        run_command(fmt::format("{} {}/prepared --gen-subset dev --path {} --beam {} "
                                "--scoring wer --threads 2",
                                bin("generate"), dir, ckpt, beam));
    INFO(go.output);
    REQUIRE(go.exit_code == 0);
    const auto expected_other = generate_texts(dir + "/prepared", go.output);
    REQUIRE(expected_other.size() == 2);
    auto ro = run_command(fmt::format("{{ {} --path {} --beam {} --threads 2 {} {} 2>/dev/null; }}",
                                      bin("transcribe"), ckpt, beam, mp3, ogg));
    INFO(ro.output);
    REQUIRE(ro.exit_code == 0);
    const auto out_other = lines_of(ro.output);
    REQUIRE(out_other.size() == 2);
    for (const auto& [id, text] : expected_other)
      CHECK(std::count(out_other.begin(), out_other.end(), other_path.at(id) + "\t" + text) == 1);
  }

  {  // word timestamps: JSON and CTM, monotonic and inside the file
    auto r = run_command(fmt::format("{{ {} --path {} --timestamps {} {} 2>/dev/null; }}",
                                     bin("transcribe"), ckpt, wavs[1], mp3));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const auto out = lines_of(r.output);
    REQUIRE(out.size() == 2);
    size_t words = 0;
    for (const auto& line : out) {
      const auto j = nlohmann::json::parse(line);
      const double duration = j.at("duration").get<double>();
      CHECK(duration > 0.5);
      double last_end = 0;
      std::string joined;
      for (const auto& w : j.at("words")) {
        const double s = w.at("start").get<double>(), e = w.at("end").get<double>();
        CHECK(s >= last_end);
        CHECK(e >= s);
        CHECK(e <= duration + 1e-9);
        last_end = e;
        joined += (joined.empty() ? "" : " ") + w.at("word").get<std::string>();
        ++words;
      }
      CHECK(joined == j.at("text").get<std::string>());
    }
    auto ctm = run_command(fmt::format("{{ {} --path {} --output-format ctm {} {} 2>/dev/null; }}",
                                       bin("transcribe"), ckpt, wavs[1], mp3));
    REQUIRE(ctm.exit_code == 0);
    CHECK(lines_of(ctm.output).size() == words);
  }

  {  // long audio in overlapping windows
    // The three utterances one after another, 1 s of silence between them.
    std::vector<float> joined;
    for (const auto& w : wavs) {
      const auto a = trellis::read_audio(w, 16000);
      joined.insert(joined.end(), a.samples.begin(), a.samples.end());
      joined.insert(joined.end(), 16000, 0.f);
    }
    const std::string longf = dir + "/long.flac";
    trellis::write_audio_file(longf, joined, 1, 16000, "flac");
    const double duration = static_cast<double>(joined.size()) / 16000;
    auto r =
        run_command(fmt::format("{{ {} --path {} --timestamps --window-seconds 3 "
                                "--window-overlap-seconds 1 {} 2>/dev/null; }}",
                                bin("transcribe"), ckpt, longf));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const auto j = nlohmann::json::parse(lines_of(r.output).at(0));
    CHECK(j.at("duration").get<double>() == Approx(duration).margin(1e-3));
    double last_end = 0;
    for (const auto& w : j.at("words")) {
      CHECK(w.at("start").get<double>() >= last_end);
      last_end = w.at("end").get<double>();
      CHECK(last_end <= duration + 1e-9);
    }
  }

  {  // a missing and a corrupt file among good ones
    const std::string missing = dir + "/missing.wav", corrupt = dir + "/corrupt.wav";
    std::ofstream(corrupt) << "RIFF this is not audio at all";
    auto r =
        run_command(fmt::format("{{ {} --path {} {} {} {} {} 2> {}/stderr.txt; }}",
                                bin("transcribe"), ckpt, wavs[0], missing, corrupt, wavs[1], dir));
    std::ifstream err_file(dir + "/stderr.txt");
    const std::string err((std::istreambuf_iterator<char>(err_file)), {});
    INFO(r.output << "\nstderr:\n" << err);
    CHECK(r.exit_code == 1);
    const auto out = lines_of(r.output);
    REQUIRE(out.size() == 2);
    CHECK(columns(out[0]).at(0) == wavs[0]);
    CHECK(columns(out[1]).at(0) == wavs[1]);
    CHECK(err.find(missing) != std::string::npos);
    CHECK(err.find(corrupt) != std::string::npos);
    CHECK(err.find("2 of 4 file(s) could not be transcribed") != std::string::npos);
    // A folder: its audio files, recursively, in path order; the .txt next to them ignored.
    fs::create_directories(dir + "/folder/sub");
    fs::copy_file(wavs[2], dir + "/folder/sub/b.wav");
    fs::copy_file(mp3, dir + "/folder/a.mp3");
    std::ofstream(dir + "/folder/a.txt") << "not audio";
    auto f = run_command(
        fmt::format("{{ {} --path {} {}/folder 2>/dev/null; }}", bin("transcribe"), ckpt, dir));
    REQUIRE(f.exit_code == 0);
    const auto fl = lines_of(f.output);
    REQUIRE(fl.size() == 2);
    CHECK(columns(fl[0]).at(0) == dir + "/folder/a.mp3");
    CHECK(columns(fl[1]).at(0) == dir + "/folder/sub/b.wav");
  }
}
