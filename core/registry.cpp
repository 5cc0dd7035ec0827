#include "core/registry.h"

#include <fmt/format.h>

#include <mutex>

namespace trellis {
namespace {

struct PluginScope {
  bool active = false;
  std::string path;
  std::vector<std::function<void()>> pending;  // insertions to run on commit
};

PluginScope& plugin_scope() {
  static PluginScope scope;
  return scope;
}

std::map<std::string, RegistryBase*>& kinds() {
  static std::map<std::string, RegistryBase*> k;
  return k;
}

std::string join_names(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s.empty() ? "(none)" : s;
}

}  // namespace

RegistryBase::RegistryBase(std::string kind, std::string flag)
    : kind_(std::move(kind)), flag_(std::move(flag)) {
  kinds()[kind_] = this;
}

std::vector<std::string> RegistryBase::names() const {
  std::vector<std::string> out;
  for (const auto& [name, info] : infos_) out.push_back(name);
  return out;
}

const RegistryEntryInfo& RegistryBase::info(const std::string& name) const {
  auto it = infos_.find(name);
  if (it == infos_.end()) {
    std::string near = nearest(name, names());
    throw ConfigError(fmt::format(
        "unknown {} '{}' ({}){}. Registered: {}. If it comes from a plugin, load it with "
        "--user-dir PATH.",
        kind_, name, flag_, near.empty() ? "" : fmt::format("; did you mean '{}'?", near),
        join_names(names())));
  }
  return it->second;
}

RegistryBase* RegistryBase::find_kind(const std::string& kind) {
  auto it = kinds().find(kind);
  return it == kinds().end() ? nullptr : it->second;
}

std::vector<RegistryBase*> RegistryBase::all() {
  std::vector<RegistryBase*> out;
  for (const auto& [k, r] : kinds()) out.push_back(r);
  return out;
}

void RegistryBase::add_entry(RegistryEntryInfo info, std::function<void()> commit) {
  auto& scope = plugin_scope();
  if (scope.active) {
    scope.pending.push_back([this, info = std::move(info), commit = std::move(commit)] {
      insert(info, commit);
    });
    return;
  }
  insert(std::move(info), commit);
}

void RegistryBase::insert(RegistryEntryInfo info, const std::function<void()>& commit) {
  auto it = infos_.find(info.name);
  if (it != infos_.end()) {
    throw ConfigError(fmt::format("duplicate {} name '{}': registered by {} and again by {}",
                                  kind_, info.name, it->second.origin, info.origin));
  }
  std::string name = info.name;
  infos_.emplace(name, std::move(info));
  commit();
}

void ArchRegistry::add(const std::string& arch, const std::string& model,
                       std::function<void(AnyOptions&)> preset, std::string help,
                       std::string origin) {
  RegistryEntryInfo info;
  info.name = arch;
  info.help = std::move(help);
  info.origin = std::move(origin);
  info.target = model;
  info.make_options = [model, preset = std::move(preset)] {
    RegistryBase* models = RegistryBase::find_kind("model");
    if (models == nullptr) throw ConfigError("no model registry in this build");
    AnyOptions o = models->make_options(model);
    preset(o);
    return o;
  };
  add_entry(std::move(info), [] {});
}

ArchRegistry& arch_registry() {
  static ArchRegistry registry;
  return registry;
}

std::string registration_origin(const char* file, int line) {
  // Keep the last two path components ("optim/adam.cpp"), not the build machine's paths.
  std::string f = file;
  size_t slash = f.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    size_t prev = f.rfind('/', slash - 1);
    if (prev != std::string::npos) f = f.substr(prev + 1);
  }
  file = f.c_str();
  const auto& scope = plugin_scope();
  if (scope.active) return fmt::format("plugin {} ({}:{})", scope.path, file, line);
  return fmt::format("builtin ({}:{})", file, line);
}

void begin_plugin_registrations(const std::string& plugin_path) {
  auto& scope = plugin_scope();
  scope.active = true;
  scope.path = plugin_path;
  scope.pending.clear();
}

void commit_plugin_registrations() {
  auto& scope = plugin_scope();
  auto pending = std::move(scope.pending);
  scope = PluginScope{};
  for (auto& insert : pending) insert();
}

void abort_plugin_registrations() { plugin_scope() = PluginScope{}; }

}  // namespace trellis
