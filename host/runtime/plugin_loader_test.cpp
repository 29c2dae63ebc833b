#include "plugin_loader.h"

#include <gtest/gtest.h>

#include <fstream>

namespace janus::runtime {
namespace {

std::string error_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const PluginLoadError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(PluginLoader, LibraryPathFollowsTheNamingRule) {
  EXPECT_EQ(plugin_library_path("/opt/plugins", "aggregator").string(),
            "/opt/plugins/libjanus_aggregator.so");
}

TEST(PluginLoader, DirectoryChecks) {
  std::string dir = ::testing::TempDir() + "/loader_test_dir";
  std::filesystem::create_directories(dir);
  EXPECT_NO_THROW(check_plugin_directory(dir));
  EXPECT_EQ(error_of([&] { check_plugin_directory(dir + "/missing"); }),
            "plugin directory " + dir + "/missing does not exist");
  std::string file = dir + "/plain_file";
  std::ofstream(file) << "x";
  EXPECT_EQ(error_of([&] { check_plugin_directory(file); }),
            "plugin directory " + file + " is not a directory");
}

TEST(PluginLoader, MissingAndNonLibraryFiles) {
  std::string dir = ::testing::TempDir() + "/loader_test_files";
  std::filesystem::create_directories(dir);
  EXPECT_EQ(error_of([&] { load_plugin("nope", dir + "/libjanus_nope.so"); }),
            "plugin 'nope' not found: " + dir + "/libjanus_nope.so does not exist");
  std::string junk = dir + "/libjanus_junk.so";
  std::ofstream(junk) << "this is not an ELF file";
  std::string error = error_of([&] { load_plugin("junk", junk); });
  EXPECT_EQ(error.rfind("plugin 'junk': cannot load " + junk + ": ", 0), 0u) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace janus::runtime
