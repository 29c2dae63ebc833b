#include "plugin_loader.h"

#include <dirent.h>

#include <cerrno>
#include <cstring>

namespace janus::runtime {

LoadedPlugin::LoadedPlugin(std::string name, std::filesystem::path path,
                           boost::dll::shared_library library, std::unique_ptr<Plugin> plugin)
    : name_(std::move(name)),
      path_(std::move(path)),
      library_(std::move(library)),
      plugin_(std::move(plugin)) {}

LoadedPlugin::~LoadedPlugin() {
  // Members go in reverse order anyway; this makes the rule explicit.
  plugin_.reset();
}

std::filesystem::path plugin_library_path(const std::filesystem::path& directory,
                                          const std::string& plugin) {
  return directory / ("libjanus_" + plugin + ".so");
}

void check_plugin_directory(const std::filesystem::path& directory) {
  std::error_code ec;
  auto status = std::filesystem::status(directory, ec);
  if (ec || status.type() == std::filesystem::file_type::not_found) {
    throw PluginLoadError("plugin directory " + directory.string() + " does not exist");
  }
  if (status.type() != std::filesystem::file_type::directory) {
    throw PluginLoadError("plugin directory " + directory.string() + " is not a directory");
  }
  DIR* dir = ::opendir(directory.c_str());
  if (!dir) {
    throw PluginLoadError("plugin directory " + directory.string() +
                          " is not readable: " + std::strerror(errno));
  }
  ::closedir(dir);
}

LoadedPlugin load_plugin(const std::string& name, const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw PluginLoadError("plugin '" + name + "' not found: " + path.string() + " does not exist");
  }
  boost::dll::shared_library library;
  try {
    // RTLD_NOW: an unresolved symbol fails here, not in the middle of a request.
    library.load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    std::string cause = e.what();
    throw PluginLoadError("plugin '" + name + "': cannot load " + path.string() + ": " + cause);
  }
  if (!library.has("janus_plugin_abi_version") || !library.has("janus_plugin_create")) {
    throw PluginLoadError("plugin '" + name + "': " + path.string() +
                          " is not a janus plugin (it does not export janus_plugin_abi_version "
                          "and janus_plugin_create)");
  }
  const std::uint32_t abi = library.get_alias<const std::uint32_t>("janus_plugin_abi_version");
  if (abi != kPluginAbiVersion) {
    throw PluginLoadError("plugin '" + name + "': " + path.string() + " was built for plugin ABI " +
                          std::to_string(abi) + ", this host has ABI " +
                          std::to_string(kPluginAbiVersion) + " (rebuild the plugin)");
  }
  auto& create = library.get_alias<PluginFactory>("janus_plugin_create");
  std::unique_ptr<Plugin> plugin;
  try {
    plugin = create();
  } catch (const std::exception& e) {
    throw PluginLoadError("plugin '" + name + "': creating the plugin failed: " + e.what());
  }
  if (!plugin) throw PluginLoadError("plugin '" + name + "': its factory returned nothing");
  return LoadedPlugin(name, path, std::move(library), std::move(plugin));
}

}  // namespace janus::runtime
