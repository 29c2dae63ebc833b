#include "janus/allocator.h"

#include <malloc.h>

namespace janus {

void configure_allocator() {
  // Setting either value also turns off glibc's dynamic threshold, which
  // never settled for the sizes VDAF preparation uses (BENCHMARKS.md, VDAF).
  mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
}

}  // namespace janus
