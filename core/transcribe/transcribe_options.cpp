#include "core/transcribe/transcribe_options.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace trellis {

namespace fs = std::filesystem;

namespace {

bool has_audio_extension(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".wav" || ext == ".flac" || ext == ".ogg" || ext == ".oga" || ext == ".opus" ||
         ext == ".mp3";
}

}  // namespace

std::vector<std::string> expand_audio_inputs(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const std::string& in : inputs) {
    std::error_code ec;
    if (!fs::is_directory(in, ec)) {
      files.push_back(in);
      continue;
    }
    std::vector<std::string> found;
    for (auto it = fs::recursive_directory_iterator(in, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file(ec) && has_audio_extension(it->path()))
        found.push_back(it->path().string());
    }
    TRELLIS_CHECK(!ec, DataError, "{}: cannot list the folder ({})", in, ec.message());
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

}  // namespace trellis
