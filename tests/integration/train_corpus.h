#pragma once
// A tiny espeak-ng corpus prepared once per build tree (build/test_corpus, made under a file
// lock so parallel tests share it): 40 utterances, char vocabulary, src_text = tgt_text,
// splits train (30) and dev (10), fbank80 in a zip. Empty path when espeak-ng is missing.
// train_corpus_raw(): the same utterances as waveforms (prepare --features raw).

#include <fmt/format.h>

#include <filesystem>
#include <string>

#include "run_command.h"

namespace trellis::testing {

inline std::string train_corpus() {
  if (std::system("command -v espeak-ng > /dev/null 2>&1 && command -v sox > /dev/null 2>&1"))
    return "";
  const std::string root = std::string(TRELLIS_BINARY_DIR) + "/test_corpus";
  const std::string src = TRELLIS_SOURCE_DIR;
  const std::string cmd = fmt::format(
      "mkdir -p '{0}' && flock '{0}/.lock' bash -c \"[ -f '{0}/data/.done' ] || "
      "(bash '{1}/scripts/make_corpus.sh' '{0}/corpus' 40 7 > /dev/null && "
      "'{2}' --input-format dir --input '{0}/corpus' --output-dir '{0}/data' "
      "--splits train:0.75,dev:0.25 --vocab-type char --src-text-from tgt --no-progress "
      "> '{0}/prepare.log' 2>&1 && touch '{0}/data/.done')\"",
      root, src, bin("prepare"));
  auto r = run_command(cmd);
  if (r.exit_code != 0) throw std::runtime_error("making the test corpus failed:\n" + r.output);
  return root + "/data";
}

// The same corpus prepared with --features raw (waveforms, for wav2vec2): build/test_corpus/data_raw.
inline std::string train_corpus_raw() {
  const std::string fbank = train_corpus();
  if (fbank.empty()) return "";
  const std::string root = std::string(TRELLIS_BINARY_DIR) + "/test_corpus";
  const std::string cmd = fmt::format(
      "flock '{0}/.lock' bash -c \"[ -f '{0}/data_raw/.done' ] || "
      "('{1}' --input-format dir --input '{0}/corpus' --output-dir '{0}/data_raw' "
      "--splits train:0.75,dev:0.25 --vocab-type char --features raw --no-progress "
      "> '{0}/prepare_raw.log' 2>&1 && touch '{0}/data_raw/.done')\"",
      root, bin("prepare"));
  auto r = run_command(cmd);
  if (r.exit_code != 0) throw std::runtime_error("preparing the raw test corpus failed:\n" + r.output);
  return root + "/data_raw";
}

}  // namespace trellis::testing
