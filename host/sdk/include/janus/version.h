#pragma once

namespace janus {
// The project version (CMake's PROJECT_VERSION) and the git revision built.
const char* version();
const char* git_revision();
}  // namespace janus
