#pragma once
// --user-dir: loads plugins (shared libraries whose static registrations add components).
// PATH is one library or a directory whose *.so files (and lib/*.so) are loaded in name order.
// Each library is dlopen'ed once per process and never closed. Before its registrations are
// accepted, its exported ABI version and LibTorch version must match this build's
// (trellis_add_plugin() in CMake adds both symbols).

#include <string>
#include <vector>

namespace trellis {

// Loads the plugins under `path`; returns the libraries loaded now (already-loaded ones are
// skipped). A directory without libraries is logged and accepted (fairseq's seed commands pass
// --user-dir examples/speech_to_text, whose components are built into trellis).
// Throws PluginError naming the library and the reason.
std::vector<std::string> load_user_dir(const std::string& path);

// Every plugin library loaded so far in this process (absolute paths, load order).
const std::vector<std::string>& loaded_plugins();

}  // namespace trellis
