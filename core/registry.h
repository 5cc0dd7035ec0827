#pragma once
// One generic registry per component kind (task, model, arch, criterion, optimizer,
// lr_scheduler, bpe, scorer). A component registers itself on the last line of its .cpp:
//
//   TRELLIS_REGISTER(lr_scheduler_registry(), "inverse_sqrt", InverseSqrt, InverseSqrtOptions,
//                    "linear warm-up then 1/sqrt(update) decay");
//
// libtrellis is one shared library, so every registration runs; plugins link the same library,
// so there is exactly one registry per kind. Duplicates name both origins; unknown names list
// the registered ones and hint at --user-dir.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/options.h"

namespace trellis {

// What every registry keeps about a name, whatever the component's C++ base class.
struct RegistryEntryInfo {
  std::string name;
  std::string help;
  std::string origin;  // "builtin (optim/lr_scheduler/fixed.cpp:80)" or the plugin's path
  std::function<AnyOptions()> make_options;  // default options (arch: with the preset applied)
  std::string target;                        // arch: the model it configures
};

class RegistryBase {
 public:
  // kind: "criterion"; flag: the selector flag users type ("--criterion").
  RegistryBase(std::string kind, std::string flag);
  virtual ~RegistryBase() = default;
  RegistryBase(const RegistryBase&) = delete;
  RegistryBase& operator=(const RegistryBase&) = delete;

  const std::string& kind() const { return kind_; }
  const std::string& flag() const { return flag_; }
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return infos_.count(name) > 0; }
  // Throws ConfigError naming the registered names (and the nearest one) when unknown.
  const RegistryEntryInfo& info(const std::string& name) const;
  AnyOptions make_options(const std::string& name) const { return info(name).make_options(); }

  // The registry of a kind ("criterion"), or nullptr.
  static RegistryBase* find_kind(const std::string& kind);
  static std::vector<RegistryBase*> all();

 protected:
  // Adds (or, while a plugin is being loaded, stages) an entry; `commit` runs once the entry is
  // accepted and stores the kind-specific part (the factory).
  void add_entry(RegistryEntryInfo info, std::function<void()> commit);

 private:
  void insert(RegistryEntryInfo info, const std::function<void()>& commit);

  std::string kind_;
  std::string flag_;
  std::map<std::string, RegistryEntryInfo> infos_;
};

template <class Base, class... Args>
class Registry : public RegistryBase {
 public:
  using Factory = std::function<std::unique_ptr<Base>(const AnyOptions&, Args...)>;
  using RegistryBase::RegistryBase;

  // on_commit: stores a kind's extra per-name data once the entry is accepted (or never, when a
  // plugin's registrations are aborted).
  void add(RegistryEntryInfo info, Factory factory, std::function<void()> on_commit = {}) {
    std::string name = info.name;
    add_entry(std::move(info), [this, name, factory, on_commit] {
      factories_[name] = factory;
      if (on_commit) on_commit();
    });
  }

  // Builds the component `name` from its options (as returned by make_options and filled in).
  std::unique_ptr<Base> create(const std::string& name, const AnyOptions& options,
                               Args... args) const {
    info(name);  // throws for unknown names
    return factories_.at(name)(options, std::forward<Args>(args)...);
  }

 private:
  std::map<std::string, Factory> factories_;
};

// --arch: a named preset of a model's options (fairseq's register_model_architecture).
class ArchRegistry : public RegistryBase {
 public:
  ArchRegistry() : RegistryBase("arch", "--arch") {}
  // preset edits the default options of `model` (an entry of the "model" registry).
  void add(const std::string& arch, const std::string& model,
           std::function<void(AnyOptions&)> preset, std::string help, std::string origin);
};
ArchRegistry& arch_registry();

// Registration helpers ------------------------------------------------------------------------

// Where a registration comes from: "builtin (file:line)" or, during a plugin load, the plugin.
std::string registration_origin(const char* file, int line);

// While a plugin loads, registrations are staged; they enter the registries on commit.
void begin_plugin_registrations(const std::string& plugin_path);
void commit_plugin_registrations();  // throws ConfigError on a duplicate name
void abort_plugin_registrations();

template <class Base, class Class, class Options, class... Args>
struct Registrar {
  Registrar(Registry<Base, Args...>& registry, const char* name, const char* help,
            const char* file, int line) {
    registry.add(
        RegistryEntryInfo{name, help, registration_origin(file, line),
                          [] { return AnyOptions::make<Options>(); }, ""},
        [](const AnyOptions& o, Args... args) -> std::unique_ptr<Base> {
          return std::make_unique<Class>(o.as<Options>(), std::forward<Args>(args)...);
        });
  }
};

template <class Class, class Options, class Base, class... Args>
Registrar<Base, Class, Options, Args...> make_registrar(Registry<Base, Args...>& r,
                                                        const char* name, const char* help,
                                                        const char* file, int line) {
  return Registrar<Base, Class, Options, Args...>(r, name, help, file, line);
}

struct ArchRegistrar {
  ArchRegistrar(const char* arch, const char* model, std::function<void(AnyOptions&)> preset,
                const char* help, const char* file, int line) {
    arch_registry().add(arch, model, std::move(preset), help, registration_origin(file, line));
  }
};

#define TRELLIS_CONCAT_INNER(a, b) a##b
#define TRELLIS_CONCAT(a, b) TRELLIS_CONCAT_INNER(a, b)

// TRELLIS_REGISTER(registry, "name", Class, Options, "one-line help");
#define TRELLIS_REGISTER(REGISTRY, NAME, CLASS, OPTIONS, HELP)       \
  static const auto TRELLIS_CONCAT(trellis_registrar_, __LINE__) =  \
      ::trellis::make_registrar<CLASS, OPTIONS>(REGISTRY, NAME, HELP, __FILE__, __LINE__)

// TRELLIS_REGISTER_ARCH("conformer_s", "conformer", OptionsType, [](OptionsType& o) {...}, help);
#define TRELLIS_REGISTER_ARCH(ARCH, MODEL, OPTIONS, PRESET, HELP)                          \
  static const ::trellis::ArchRegistrar TRELLIS_CONCAT(trellis_arch_, __LINE__)(          \
      ARCH, MODEL, [](::trellis::AnyOptions& o) { (PRESET)(o.as<OPTIONS>()); }, HELP, \
      __FILE__, __LINE__)

}  // namespace trellis
