#include "core/data/nemo_manifest.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace trellis {

std::vector<NemoEntry> read_nemo_manifest(const std::string& path) {
  namespace fs = std::filesystem;
  std::ifstream in(path, std::ios::binary);
  TRELLIS_CHECK(in.good(), DataError, "{}: cannot open NeMo manifest", path);
  const fs::path base = fs::path(path).parent_path();
  std::vector<NemoEntry> out;
  std::string line;
  int64_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw DataError(fmt::format("{}:{}: malformed JSON: {}", path, lineno, e.what()));
    }
    TRELLIS_CHECK(j.is_object() && j.contains("audio_filepath") && j["audio_filepath"].is_string(),
                  DataError, "{}:{}: missing string field 'audio_filepath'", path, lineno);
    NemoEntry e;
    e.line = lineno;
    e.audio_filepath = j["audio_filepath"].get<std::string>();
    std::error_code ec;  // a path too long for the file system is simply not there
    if (fs::path(e.audio_filepath).is_relative() && fs::exists(base / e.audio_filepath, ec))
      e.audio_filepath = (base / e.audio_filepath).string();
    try {
      if (j.contains("duration") && !j["duration"].is_null())
        e.duration = j["duration"].get<double>();
      if (j.contains("offset") && !j["offset"].is_null()) e.offset = j["offset"].get<double>();
      if (j.contains("text"))
        e.text = j["text"].get<std::string>();
      else if (j.contains("pred_text"))
        e.text = j["pred_text"].get<std::string>();
      if (j.contains("lang") && j["lang"].is_string()) e.lang = j["lang"].get<std::string>();
    } catch (const nlohmann::json::exception& ex) {
      throw DataError(fmt::format("{}:{}: bad field type ({}) for '{}'", path, lineno, ex.what(),
                                  e.audio_filepath));
    }
    TRELLIS_CHECK(e.offset >= 0, DataError, "{}:{}: negative offset for '{}'", path, lineno,
                  e.audio_filepath);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace trellis
