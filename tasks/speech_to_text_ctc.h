#pragma once
// --task speech_to_text_ctc (FBK-fairseq's SpeechToTextCtcTask; docs/tasks.md):
// speech_to_text plus the source side the CTC branch of ctc_multi_loss learns from.
//   source dictionary: vocab_filename_src (default dict.txt), with <ctc_blank> appended when
//     --criterion is ctc_multi_loss (blank = the last index, the CTC head's size includes it);
//   transcript = dict_src(bpe_tokenizer_src(src_text)) + eos, no language tag (no tokenizer
//     when bpe_tokenizer_src is absent, as in FBK); an empty src_text gives [eos].
// Defaults to FBK's ordering and batching (--batching-style fbk).

#include "tasks/speech_to_text.h"

namespace trellis {

struct SpeechToTextCtcOptions : SpeechToTextOptions {
  SpeechToTextCtcOptions() { batching_style = "fbk"; }
};

class SpeechToTextCtcTask : public SpeechToTextTask {
 public:
  SpeechToTextCtcTask(const SpeechToTextCtcOptions& options, const TaskContext& ctx);
};

}  // namespace trellis
