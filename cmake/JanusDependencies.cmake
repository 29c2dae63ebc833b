# Every third-party dependency is found here, once. All come from Debian's
# archive (scripts/bootstrap installs them).
find_package(Threads REQUIRED)
find_package(OpenSSL 3.0 REQUIRED)
find_package(PostgreSQL REQUIRED)
# Debian's PocoDataPostgreSQLTargets.cmake links a PostgreSQL::client target
# that nothing defines (toolchain-notes.md pitfall 1).
if(NOT TARGET PostgreSQL::client)
  add_library(PostgreSQL::client INTERFACE IMPORTED)
  target_link_libraries(PostgreSQL::client INTERFACE PostgreSQL::PostgreSQL)
endif()
find_package(Poco REQUIRED COMPONENTS Foundation Net NetSSL Util Data DataPostgreSQL Crypto JSON)
find_package(yaml-cpp REQUIRED)
if(NOT TARGET yaml-cpp::yaml-cpp)
  add_library(yaml-cpp::yaml-cpp ALIAS yaml-cpp)
endif()
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS filesystem)
find_package(prometheus-cpp REQUIRED)  # core only: the host serves the text format itself
if(JANUS_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(JANUS_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()
