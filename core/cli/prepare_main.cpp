// prepare: speech corpora -> fairseq speech_to_text data folder (see core/data/prepare.h).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <sstream>

#include "core/data/prepare.h"
#include "core/error.h"

namespace {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  trellis::PrepareOptions o;
  std::string inputs, volume;
  CLI::App app{
      "Prepare speech data for speech_to_text(_ctc): 80-dim fbank zip (or raw audio paths), "
      "{split}.tsv manifests, SentencePiece/char vocabulary and config.yaml",
      "trellis prepare"};
  app.add_option("--input-format", o.input_format, "tsv | nemo | commonvoice | dir")
      ->check(CLI::IsMember({"tsv", "nemo", "commonvoice", "dir"}))
      ->capture_default_str();
  app.add_option("--input", inputs,
                 "input manifest(s) or folder(s), comma-separated (tsv: columns audio/path + "
                 "tgt_text/text/sentence; nemo: JSON lines; commonvoice: TSV or CSV; dir: audio "
                 "files with NAME.txt or transcripts.tsv)")
      ->required();
  app.add_option("--output-dir", o.output_dir, "output folder (DATA_ROOT)")->required();
  app.add_option("--splits", o.splits,
                 "name:fraction,... (shuffled with --seed) or one name per input")
      ->capture_default_str();
  app.add_option("--vocab-type", o.vocab_type, "char | unigram | bpe")
      ->check(CLI::IsMember({"char", "unigram", "bpe"}))
      ->capture_default_str();
  app.add_option("--vocab-size", o.vocab_size, "SentencePiece vocabulary size")
      ->capture_default_str();
  app.add_option("--features", o.features, "fbank80 | raw")
      ->check(CLI::IsMember({"fbank80", "raw"}))
      ->capture_default_str();
  app.add_option("--tgt-lang", o.tgt_lang, "target language code (tgt_lang column)");
  app.add_flag("--prepend-tgt-lang-tag", o.prepend_tgt_lang_tag,
               "prepend <lang:TGT> to targets (adds the tag to the vocabulary)");
  app.add_option("--cmvn", o.cmvn, "global | utterance | none")
      ->check(CLI::IsMember({"global", "utterance", "none"}))
      ->capture_default_str();
  app.add_option("--src-text-from", o.src_text_from,
                 "tgt: write src_text = tgt_text and source vocab keys (FBK speech_to_text_ctc)")
      ->check(CLI::IsMember({"tgt"}));
  app.add_option("--num-workers", o.num_workers, "feature extraction threads")
      ->capture_default_str();
  app.add_option("--volume", volume,
                 "fraction of each input to keep (one value, or comma-separated per input)");
  app.add_option("--seed", o.seed, "seed for splits and --volume subsets")->capture_default_str();
  app.add_flag("--skip-bad-audio", o.skip_bad_audio,
               "skip (and count) unreadable audio instead of failing");
  app.add_option("--clips-dir", o.clips_dir,
                 "Common Voice clips folder (default: next to the "
                 "table, clips/)");
  bool no_progress = false;
  app.add_flag("--no-progress", no_progress, "never draw the progress bar");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  o.inputs = split_commas(inputs);
  o.progress = !no_progress;
  try {
    for (const auto& v : split_commas(volume)) o.volume.push_back(std::stod(v));
  } catch (const std::exception&) {
    std::fprintf(stderr, "prepare: error: --volume '%s': expected numbers\n", volume.c_str());
    return 2;
  }
  try {
    trellis::PrepareSummary s = trellis::run_prepare(o);
    for (size_t i = 0; i < s.splits.size(); ++i)
      std::fprintf(stderr, "prepare: %s.tsv: %lld rows\n", s.splits[i].c_str(),
                   static_cast<long long>(s.rows[i]));
    if (s.skipped_bad_audio)
      std::fprintf(stderr, "prepare: skipped %lld bad audio file(s)\n",
                   static_cast<long long>(s.skipped_bad_audio));
  } catch (const trellis::ConfigError& e) {
    std::fprintf(stderr, "prepare: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "prepare: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
