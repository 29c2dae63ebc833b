# find_package(JanusSdk) for plugins built outside the janus tree. Gives the
# target janus::sdk and janus_sdk_add_plugin(<name> <sources>...), which makes
# lib janus_<name>.so, the file name the host looks for in its plugin directory.
include(CMakeFindDependencyMacro)
find_dependency(Threads)
find_dependency(yaml-cpp)
if(NOT TARGET yaml-cpp::yaml-cpp)
  add_library(yaml-cpp::yaml-cpp ALIAS yaml-cpp)
endif()
find_dependency(fmt)
find_dependency(spdlog)
find_dependency(nlohmann_json)
# <janus/plugin.h> uses Boost.DLL's (header-only) export macros.
find_dependency(Boost 1.74)
include("${CMAKE_CURRENT_LIST_DIR}/JanusSdkTargets.cmake")

function(janus_sdk_add_plugin name)
  add_library(${name} MODULE ${ARGN})
  set_target_properties(${name} PROPERTIES
    OUTPUT_NAME "janus_${name}"
    PREFIX "lib"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_compile_features(${name} PRIVATE cxx_std_20)
  target_link_libraries(${name} PRIVATE janus::sdk Boost::headers)
endfunction()
