#pragma once
// Builds a conformer-family model from a fixture's fairseq `args` metadata: every key that is a
// ConformerOptions field is set through the option parser; arguments selecting behaviour we do
// not implement must keep their defaults (otherwise the fixture fails).

#include <memory>
#include <string>

#include "core/error.h"
#include "core/options.h"
#include "models/conformer/conformer.h"
#include "models/golden_tensor.h"

namespace trellis::testing {

inline std::string json_to_option_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_array()) {
    std::string s;
    for (const auto& e : v) s += (s.empty() ? "" : ",") + json_to_option_text(e);
    return s;
  }
  return v.dump();
}

inline void require_unsupported_at_default(const nlohmann::json& args) {
  const std::map<std::string, nlohmann::json> must = {
      {"adaptive_input", false},          {"quant_noise_pq", 0},
      {"decoder_layerdrop", 0.0},         {"no_token_positional_embeddings", false},
      {"distance_penalty", false},        {"allow_extra_tokens", false},
      {"layernorm_embedding", false},     {"adaptive_softmax_cutoff", nullptr},
      {"conv_version", "s2t_transformer"}};
  for (const auto& [key, want] : must) {
    if (!args.contains(key)) continue;
    const auto& got = args.at(key);
    bool same = got == want ||
                (got.is_number() && want.is_number() && got.get<double>() == want.get<double>());
    TRELLIS_CHECK(same, ConfigError, "fixture uses unsupported {}={}", key, got.dump());
  }
}

// args: fairseq args JSON -> options with every known key applied
inline ConformerOptions conformer_options_from_args(const nlohmann::json& args) {
  require_unsupported_at_default(args);
  auto any = AnyOptions::make<ConformerOptions>();
  Fields fields = any.fields();
  for (auto& field : fields.list()) {
    if (!args.contains(field.name) || args.at(field.name).is_null()) continue;
    field.set_from_string(json_to_option_text(args.at(field.name)), "fixture args: " + field.name);
  }
  any.validate();
  return any.as<ConformerOptions>();
}

}  // namespace trellis::testing
