#pragma once
// A tiny conformer_ctc trained (120 updates, about 40 s on 2 cores; it then spells words
// roughly, dev UER about 60) on the test corpus, made once per build tree under
// a file lock (build/test_corpus/transcribe_model/checkpoint_last.pt) for the transcribe tests.
// Empty path when the corpus cannot be made (espeak-ng or sox missing).

#include <fmt/format.h>

#include <stdexcept>
#include <string>

#include "run_command.h"
#include "train_corpus.h"

namespace trellis::testing {

inline std::string transcribe_model() {
  const std::string data = train_corpus();
  if (data.empty()) return "";
  const std::string dir = std::string(TRELLIS_BINARY_DIR) + "/test_corpus/transcribe_model";
  const std::string train = fmt::format(
      "'{}' '{}' --task speech_to_text_ctc --arch conformer_ctc --criterion ctc --optimizer adam "
      "--lr 5e-3 --max-update 120 --save-dir '{}' --encoder-layers 1 --encoder-embed-dim 64 "
      "--encoder-ffn-embed-dim 128 --encoder-attention-heads 2 --conv-channels 32 "
      "--conformer-conv-kernel-size 5 --threads 2 --log-format simple --disable-validation "
      "--max-tokens 1500 --no-epoch-checkpoints",
      bin("train"), data, dir);
  auto r = run_command(fmt::format(
      "mkdir -p '{0}' && flock '{0}/.lock' bash -c \"[ -f '{0}/.done' ] || ({1} > '{0}/train.log' "
      "2>&1 && touch '{0}/.done')\"",
      dir, train));
  if (r.exit_code != 0)
    throw std::runtime_error("training the transcribe test model failed (" + dir +
                             "/train.log):\n" + r.output);
  return dir + "/checkpoint_last.pt";
}

}  // namespace trellis::testing
