#include "core/plugin_loader.h"

#include <dlfcn.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "core/error.h"
#include "core/logging.h"
#include "core/registry.h"
#include "core/version.h"

namespace fs = std::filesystem;

namespace trellis {
namespace {

const log::Logger logger("trellis.plugins");

std::vector<std::string>& loaded() {
  static std::vector<std::string> v;
  return v;
}

bool is_library(const fs::path& p) {
  std::string name = p.filename().string();
  return fs::is_regular_file(p) &&
         (p.extension() == ".so" || name.find(".so.") != std::string::npos ||
          p.extension() == ".dylib");
}

std::vector<fs::path> libraries_in(const fs::path& dir) {
  std::vector<fs::path> libs;
  for (const fs::path& d : {dir, dir / "lib"}) {
    if (!fs::is_directory(d)) continue;
    for (const auto& e : fs::directory_iterator(d))
      if (is_library(e.path())) libs.push_back(e.path());
  }
  std::sort(libs.begin(), libs.end());
  return libs;
}

void load_library(const std::string& path) {
  begin_plugin_registrations(path);
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (handle == nullptr) {
    abort_plugin_registrations();
    throw PluginError(fmt::format("--user-dir: cannot load '{}': {}", path, dlerror()));
  }
  using AbiFn = int (*)();
  using TorchFn = const char* (*)();
  auto abi = reinterpret_cast<AbiFn>(dlsym(handle, "trellis_plugin_abi_version"));
  auto torch = reinterpret_cast<TorchFn>(dlsym(handle, "trellis_plugin_torch_version"));
  if (abi == nullptr || torch == nullptr) {
    abort_plugin_registrations();
    throw PluginError(fmt::format(
        "--user-dir: '{}' is not a trellis plugin (it exports no trellis_plugin_abi_version); "
        "build it with trellis_add_plugin() from trellis-config.cmake",
        path));
  }
  if (abi() != TRELLIS_PLUGIN_ABI) {
    abort_plugin_registrations();
    throw PluginError(fmt::format(
        "--user-dir: '{}' was built for plugin ABI {}, this trellis has ABI {}; rebuild it",
        path, abi(), TRELLIS_PLUGIN_ABI));
  }
  if (std::string(torch()) != TRELLIS_TORCH_VERSION) {
    abort_plugin_registrations();
    throw PluginError(fmt::format(
        "--user-dir: '{}' was built against LibTorch {}, this trellis uses {}; rebuild it", path,
        torch(), TRELLIS_TORCH_VERSION));
  }
  try {
    commit_plugin_registrations();
  } catch (const Error& e) {
    throw PluginError(fmt::format("--user-dir: '{}': {}", path, e.what()));
  }
  loaded().push_back(path);
  logger.info("loaded plugin {}", path);
}

}  // namespace

std::vector<std::string> load_user_dir(const std::string& user_dir) {
  fs::path p(user_dir);
  std::error_code ec;
  if (!fs::exists(p, ec)) {
    // fairseq's seed commands name FBK's plugin package, whose components are built in here.
    std::string norm = p.lexically_normal().generic_string();
    if (norm.size() >= 23 && norm.compare(norm.size() - 23, 23, "examples/speech_to_text") == 0) {
      logger.info("--user-dir {}: not found; its components (speech_to_text_ctc, ctc_multi_loss, "
                  "conformer, ...) are built into trellis",
                  user_dir);
      return {};
    }
    throw PluginError(fmt::format("--user-dir: '{}' does not exist", user_dir));
  }
  std::vector<fs::path> libs;
  if (fs::is_directory(p)) {
    libs = libraries_in(p);
    if (libs.empty()) {
      logger.info("--user-dir {}: no plugin libraries (*.so) there; continuing with the built-in "
                  "components",
                  user_dir);
      return {};
    }
  } else {
    libs.push_back(p);
  }
  std::vector<std::string> out;
  for (const auto& lib : libs) {
    std::string abs = fs::weakly_canonical(fs::absolute(lib)).string();
    if (std::find(loaded().begin(), loaded().end(), abs) != loaded().end()) continue;
    load_library(abs);
    out.push_back(abs);
  }
  return out;
}

const std::vector<std::string>& loaded_plugins() { return loaded(); }

}  // namespace trellis
