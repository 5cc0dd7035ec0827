#include "core/transcribe/transcript_format.h"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace trellis {

std::string format_transcript(const Transcript& t, const std::string& format, bool timestamps) {
  if (format == "text") return t.source + "\t" + t.text + "\n";
  if (format == "json") {
    nlohmann::ordered_json j;
    j["file"] = t.source;
    j["text"] = t.text;
    j["duration"] = std::round(t.duration * 1000.0) / 1000.0;
    if (timestamps) {
      j["words"] = nlohmann::ordered_json::array();
      for (const Word& w : t.words)
        j["words"].push_back({{"word", w.word},
                              {"start", std::round(w.start * 1000.0) / 1000.0},
                              {"end", std::round(w.end * 1000.0) / 1000.0}});
    }
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  TRELLIS_CHECK(format == "ctm", ConfigError, "--output-format {}: expected text, json or ctm",
                format);
  std::string out;
  for (const Word& w : t.words)
    out += fmt::format("{} 1 {:.2f} {:.2f} {}\n", t.source, w.start, w.end - w.start, w.word);
  return out;
}

}  // namespace trellis
