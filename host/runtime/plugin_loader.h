// Loads plugin libraries with Boost.DLL and checks that they are janus
// plugins of our ABI version before creating the plugin object.
#pragma once

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include <boost/dll/shared_library.hpp>

#include "janus/plugin.h"

namespace janus::runtime {

// A plugin failed to load; what() is one line naming the plugin and the cause.
class PluginLoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The plugin object together with the library its code lives in. Destroying
// a LoadedPlugin destroys the object first, then unloads the library.
class LoadedPlugin {
 public:
  LoadedPlugin(std::string name, std::filesystem::path path, boost::dll::shared_library library,
               std::unique_ptr<Plugin> plugin);
  ~LoadedPlugin();
  LoadedPlugin(LoadedPlugin&&) = default;
  LoadedPlugin& operator=(LoadedPlugin&&) = delete;

  const std::string& name() const { return name_; }
  const std::filesystem::path& path() const { return path_; }
  Plugin& plugin() { return *plugin_; }
  // Destroys the plugin object now (the library stays loaded).
  void destroy_plugin() { plugin_.reset(); }

 private:
  std::string name_;
  std::filesystem::path path_;
  boost::dll::shared_library library_;  // declared before plugin_: destroyed after it
  std::unique_ptr<Plugin> plugin_;
};

// The library file for a plugin name: <directory>/libjanus_<name>.so.
std::filesystem::path plugin_library_path(const std::filesystem::path& directory,
                                          const std::string& plugin);

// Throws PluginLoadError unless `directory` is a readable directory.
void check_plugin_directory(const std::filesystem::path& directory);

// Loads the library, checks janus_plugin_abi_version and calls
// janus_plugin_create. Throws PluginLoadError.
LoadedPlugin load_plugin(const std::string& name, const std::filesystem::path& path);

}  // namespace janus::runtime
