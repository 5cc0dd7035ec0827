#pragma once
// transcribe's output lines (docs/generate.md, "transcribe"), one transcript at a time:
//   text: FILE<TAB>text
//   json: {"file": FILE, "text": ..., "duration": seconds[, "words": [{"word", "start",
//         "end"}, ...]]}   (words with --timestamps)
//   ctm:  FILE 1 START DURATION WORD   per word (NIST CTM, seconds with 2 decimals, channel 1)

#include <string>

#include "trellis/transcriber.h"

namespace trellis {

// format: text | json | ctm. Returns the lines, each ending in '\n' (ctm: none for no words).
std::string format_transcript(const Transcript& t, const std::string& format, bool timestamps);

}  // namespace trellis
