#pragma once
// NeMo manifests: JSON lines {"audio_filepath": ..., "duration": s, "text": ..., "offset": s}.
// A relative audio_filepath is resolved against the manifest's folder when it exists there
// (NeMo's behaviour), else kept relative to the working directory. Errors name file:line.

#include <cstdint>
#include <string>
#include <vector>

namespace trellis {

struct NemoEntry {
  std::string audio_filepath;  // resolved
  double duration = -1;        // seconds, -1 = whole file
  double offset = 0;           // seconds
  std::string text;
  std::string lang;  // optional "lang"
  int64_t line = 0;
};

std::vector<NemoEntry> read_nemo_manifest(const std::string& path);

}  // namespace trellis
