# `cpack -G DEB` in a build folder makes janus_<version>_<arch>.deb: the host, the SDK,
# the plugins, the migrations, the sample configs and the systemd unit template, installed
# under /usr (see the installed layout in the top CMakeLists.txt). Its dependencies are the
# Debian libraries the binaries link, found by dpkg-shlibdeps.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME janus)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "janus-cpp maintainers <janus-cpp@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "DAP-09 aggregator (Janus 0.7 compatible): host, plugins, migrations, sample configs")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Stripped binaries: the package is for running, not debugging.
set(CPACK_STRIP_FILES ON)
# libjanus_sdk.so is in the package itself.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${CMAKE_BINARY_DIR}/lib)
include(CPack)
