#pragma once
// fairseq's `--model-overrides` for generate and transcribe: a Python dict literal of stored
// option names (snake_case, as in the checkpoint's configuration) and new values, e.g.
//   --model-overrides "{'batch_unsafe_relative_shift': False, 'ctc_compress_strategy': 'avg'}"
// applied to the checkpoint's stored --arch options (then its --task options) before the model
// is built. Values: 'strings' or "strings", True/False, None, numbers, [lists] of those.
// Unlike fairseq, a name that no stored option has is an error, not ignored.

#include <string>
#include <utility>
#include <vector>

namespace trellis {

class Config;

// text -> (name, value in command-line syntax: "true", "None", "0.9,0.98"), in order.
// "" and "{}" give none; ConfigError names the character where the literal goes wrong.
std::vector<std::pair<std::string, std::string>> parse_model_overrides(const std::string& text);

// Sets each override on `stored`'s arch group, else its task group, and validates them;
// ConfigError names the option and the checkpoint (`path`) when neither group has it.
void apply_model_overrides(Config& stored, const std::string& text, const std::string& path);

}  // namespace trellis
