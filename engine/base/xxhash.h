// xxHash compiled into each caller (XXH_INLINE_ALL), so that XXH3 uses the widest vector
// instructions the build targets (AVX-512 when CANVASS_NATIVE is on) rather than the
// baseline SSE2 of the shared library: the manifest hash reads every input byte.
#ifndef CANVASS_ENGINE_BASE_XXHASH_H_
#define CANVASS_ENGINE_BASE_XXHASH_H_

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

#endif  // CANVASS_ENGINE_BASE_XXHASH_H_
