#include <string>
#include <vector>

#include "cli.h"
#include "janus/allocator.h"

int main(int argc, char** argv) {
  janus::configure_allocator();
  return janus::runtime::run_main(std::vector<std::string>(argv + 1, argv + argc));
}
