// Process-wide allocator settings for janus processes (and benchmarks that
// must measure what the server does).
#pragma once

namespace janus {

// Keeps glibc malloc from returning memory to the kernel between requests:
// a VDAF preparation allocates and frees buffers of a few hundred KiB (a
// Prio3Histogram(10000) helper's state is ~160 KiB), which by default are
// mmap'd and unmapped, or trimmed from the heap top, on every call, so each
// call pays fresh page faults. Allocations below 4 MiB come from the heap,
// and the heap top is trimmed only past 64 MiB free. Call once, early in main.
void configure_allocator();

}  // namespace janus
