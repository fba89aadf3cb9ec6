// xxHash, from Debian's shared library. On x86-64 every XXH3 call goes through the
// library's own run-time dispatcher (xxh_x86dispatch.h), which picks the scalar, SSE2,
// AVX2 or AVX-512 loop from the CPU once, as the engine picks its kernels
// (engine/base/kernel.h): the binary stays portable and the manifest hash, which reads
// every input byte, still runs on the widest vectors the machine has. (CANVASS_KERNEL
// does not reach into the library: its choice is always the CPU's best.)
#ifndef CANVASS_ENGINE_BASE_XXHASH_H_
#define CANVASS_ENGINE_BASE_XXHASH_H_

#include <xxhash.h>
#if defined(__x86_64__) || defined(_M_X64)
#include <xxh_x86dispatch.h>
#endif

#endif  // CANVASS_ENGINE_BASE_XXHASH_H_
