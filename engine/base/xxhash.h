// xxHash compiled into each caller (XXH_INLINE_ALL), so that XXH3 uses the widest vector
// instructions the build targets (AVX-512 when CANVASS_NATIVE is on) rather than the
// baseline SSE2 of the shared library: the manifest hash reads every input byte.
#ifndef CANVASS_ENGINE_BASE_XXHASH_H_
#define CANVASS_ENGINE_BASE_XXHASH_H_

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
// GCC 12's AVX-512 headers start some intrinsics from a deliberately undefined vector,
// which -Wuninitialized reports wherever XXH3 inlines them (fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <xxhash.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif  // CANVASS_ENGINE_BASE_XXHASH_H_
