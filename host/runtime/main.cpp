#include <cstdio>

int main() {
  std::puts("janus: runtime not built yet");
  return 0;
}
