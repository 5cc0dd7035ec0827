#include "tasks/speech_to_text_ctc.h"

namespace trellis {

SpeechToTextCtcTask::SpeechToTextCtcTask(const SpeechToTextCtcOptions& options,
                                         const TaskContext& ctx)
    : SpeechToTextTask(options, ctx, /*source_side=*/true) {}

}  // namespace trellis

TRELLIS_REGISTER(trellis::task_registry(), "speech_to_text_ctc", trellis::SpeechToTextCtcTask,
                 trellis::SpeechToTextCtcOptions,
                 "FBK: speech_to_text plus source transcripts (src_text) for ctc_multi_loss");
