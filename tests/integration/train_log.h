#pragma once
// Helpers of the training integration tests: values read back from train's log lines, and the
// bitwise comparison of two checkpoints' models (resume equivalence).

#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <regex>
#include <string>
#include <vector>

#include "core/checkpoint.h"

namespace trellis::testing {

// The `key=` values of every train_inner line of a --log-format simple log, in order.
inline std::vector<std::string> inner_values(const std::string& log, const std::string& key) {
  std::vector<std::string> out;
  std::regex re("train_inner \\|.* " + key + "=([^,\\s]+)");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator();
       ++it)
    out.push_back((*it)[1]);
  return out;
}

// Every model tensor of checkpoint a equals checkpoint b's, bit for bit.
inline void check_same_model(const std::string& a_path, const std::string& b_path) {
  const auto a = load_checkpoint(a_path);
  const auto b = load_checkpoint(b_path);
  REQUIRE(a.model.size() == b.model.size());
  for (const auto& [k, t] : a.model) {
    INFO(k);
    CHECK(torch::equal(t, b.model.at(k)));
  }
}

}  // namespace trellis::testing
