# Build helpers shared by the host, the SDK, plugins and tests.

# Warnings for our own targets only (third-party headers are SYSTEM includes).
function(janus_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-unused-parameter)
  if(JANUS_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# janus_add_plugin(<name> SOURCES ... [LIBRARIES ...] [NO_INSTALL]) — a plugin MODULE
# library named janus_<name>.so in build/plugins, linked against the SDK only, and
# installed into ${JANUS_INSTALL_PLUGIN_DIR} (where an installed janus looks; NO_INSTALL:
# test plugins).
function(janus_add_plugin name)
  cmake_parse_arguments(ARG "NO_INSTALL" "" "SOURCES;LIBRARIES" ${ARGN})
  add_library(janus_plugin_${name} MODULE ${ARG_SOURCES})
  set_target_properties(janus_plugin_${name} PROPERTIES
    OUTPUT_NAME "janus_${name}"
    PREFIX "lib"
    LIBRARY_OUTPUT_DIRECTORY ${JANUS_PLUGIN_OUTPUT_DIRECTORY}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_link_libraries(janus_plugin_${name} PRIVATE janus::sdk ${ARG_LIBRARIES})
  janus_set_warnings(janus_plugin_${name})
  if(NOT ARG_NO_INSTALL)
    # <prefix>/lib/janus/plugins/../.. is <prefix>/lib, where libjanus_sdk.so is.
    set_target_properties(janus_plugin_${name} PROPERTIES INSTALL_RPATH "$ORIGIN/../..")
    install(TARGETS janus_plugin_${name} LIBRARY DESTINATION ${JANUS_INSTALL_PLUGIN_DIR})
  endif()
endfunction()

# janus_add_test(<name> SOURCES ... [LIBRARIES ...]) — a GoogleTest binary in
# build/bin, registered with CTest. Tests read their environment at run time
# (no frozen ENVIRONMENT property: toolchain-notes.md pitfall 9).
# Nothing when JANUS_BUILD_TESTS is OFF (a deployment build).
function(janus_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES;LABELS" ${ARGN})
  if(NOT JANUS_BUILD_TESTS)
    return()
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE janus::sdk GTest::gtest GTest::gmock GTest::gtest_main ${ARG_LIBRARIES})
  target_compile_definitions(${name} PRIVATE
    JANUS_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
    JANUS_SHARED_DIR="${CMAKE_SOURCE_DIR}/../shared"
    JANUS_BINARY_DIR="${CMAKE_BINARY_DIR}")
  janus_set_warnings(${name})
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${ARG_LABELS}")
endfunction()

# janus_add_benchmark(<name> SOURCES ... [LIBRARIES ...]) — a Google Benchmark
# binary in build/bin (never run by the test suite; see BENCHMARKS.md).
function(janus_add_benchmark name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT JANUS_BUILD_BENCHMARKS)
    return()
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE janus::sdk benchmark::benchmark ${ARG_LIBRARIES})
  target_compile_definitions(${name} PRIVATE
    JANUS_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
    JANUS_SHARED_DIR="${CMAKE_SOURCE_DIR}/../shared")
  janus_set_warnings(${name})
endfunction()

# janus_add_component_core(<target> SOURCES ... [PUBLIC_LIBRARIES ...] [PRIVATE_LIBRARIES ...])
# — a component's code as a static library that its plugin module and its tests share:
# position-independent (it is linked into a MODULE), hidden symbols like the plugin, our
# warnings, and its own folder on the include path.
function(janus_add_component_core target)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_LIBRARIES;PRIVATE_LIBRARIES" ${ARGN})
  add_library(${target} STATIC ${ARG_SOURCES})
  target_link_libraries(${target} PUBLIC janus::sdk ${ARG_PUBLIC_LIBRARIES}
                        PRIVATE ${ARG_PRIVATE_LIBRARIES})
  target_include_directories(${target} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  set_target_properties(${target} PROPERTIES
    POSITION_INDEPENDENT_CODE ON
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  janus_set_warnings(${target})
endfunction()

# janus_add_process_test(<name> SOURCES ... [LIBRARIES ...] PLUGINS ...) — a test that runs
# the real `janus` executable (tests/host/process.h, JANUS_EXECUTABLE) with the named plugins
# (janus_plugin_<name>) built first.
function(janus_add_process_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES;PLUGINS" ${ARGN})
  if(NOT JANUS_BUILD_TESTS)
    return()
  endif()
  janus_add_test(${name}
    SOURCES ${ARG_SOURCES} ${CMAKE_SOURCE_DIR}/tests/host/process.cpp
    LIBRARIES ${ARG_LIBRARIES} janus_test_support Poco::Net Poco::Foundation)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests/host)
  target_compile_definitions(${name} PRIVATE JANUS_EXECUTABLE="$<TARGET_FILE:janus>")
  list(TRANSFORM ARG_PLUGINS PREPEND janus_plugin_)
  add_dependencies(${name} janus ${ARG_PLUGINS})
endfunction()
