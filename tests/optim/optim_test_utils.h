#pragma once
// Helpers shared by the optim tests: build schedules/optimizers through the registries from
// option values given as text or JSON (as a fixture's metadata holds them).

#include <nlohmann/json.hpp>

#include <cmath>
#include <map>
#include <memory>
#include <string>

#include "core/error.h"
#include "core/options.h"
#include "core/interfaces/lr_scheduler.h"
#include "core/interfaces/optimizer.h"

namespace trellis::testing {

// A JSON value in the CLI syntax Field::set_from_string reads ("[0.1,0.4]", "None", "1e-07").
inline std::string json_to_option_text(const nlohmann::json& v, const Field& field) {
  if (v.is_null()) return field.is_list() ? "" : "None";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
    return fmt::format("{}", d);  // shortest round-trip; integral values print without ".0"
  }
  if (v.is_number()) return v.dump();
  if (v.is_array()) {
    std::string out;
    for (const auto& item : v) {
      if (!out.empty()) out += ",";
      out += json_to_option_text(item, field);
    }
    return out;
  }
  throw ConfigError(fmt::format("{}: unsupported option value {}", field.name, v.dump()));
}

// Sets option `key` of `options` from a JSON value; ConfigError when there is no such field.
inline void set_option(const AnyOptions& options, const std::string& key, const nlohmann::json& v,
                       const std::string& where) {
  Fields fields = options.fields();
  Field* f = fields.find(key);
  if (!f) throw ConfigError(fmt::format("{}: unknown option '{}'", where, key));
  f->set_from_string(json_to_option_text(v, *f), where + ": " + key);
}

inline std::unique_ptr<LrScheduler> make_scheduler(const std::string& name,
                                                   const nlohmann::json& options,
                                                   const LrSchedulerContext& ctx) {
  AnyOptions o = lr_scheduler_registry().make_options(name);
  for (const auto& [key, value] : options.items()) set_option(o, key, value, name);
  o.validate();
  return lr_scheduler_registry().create(name, o, ctx);
}

inline std::unique_ptr<Optimizer> make_optimizer(const std::string& name,
                                                 const nlohmann::json& options,
                                                 std::vector<at::Tensor> params, double lr) {
  AnyOptions o = optimizer_registry().make_options(name);
  for (const auto& [key, value] : options.items()) set_option(o, key, value, name);
  o.validate();
  OptimizerContext ctx;
  ctx.lr = lr;
  return optimizer_registry().create(name, o, std::move(params), ctx);
}

inline LrSchedulerContext lr_context(std::vector<double> lr, int64_t max_update = 0) {
  LrSchedulerContext ctx;
  ctx.lr = std::move(lr);
  ctx.max_update = max_update;
  return ctx;
}

// |got - want| <= rtol * |want| (exact when want is 0).
inline bool close(double got, double want, double rtol = 1e-12) {
  if (std::isinf(want) || std::isnan(want)) return got == want || (std::isnan(got) && std::isnan(want));
  return std::abs(got - want) <= rtol * std::abs(want);
}

}  // namespace trellis::testing
