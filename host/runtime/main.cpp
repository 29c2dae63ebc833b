#include <string>
#include <vector>

#include "cli.h"
#include "janus/allocator.h"

int main(int argc, char** argv) {
  janus::configure_allocator();
  return janus::runtime::run_main(argc > 0 ? argv[0] : "janus",
                                  std::vector<std::string>(argv + 1, argv + argc));
}
