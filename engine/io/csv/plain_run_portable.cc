// The CSV plain-run kernel for the portable tier (plain_run.h, plain_run_kernel.inc).
#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "engine/base/kernel.h"
#include "engine/io/csv/plain_run.h"

#define CANVASS_KERNEL_NAMESPACE portable
#define CANVASS_KERNEL_TIER 0
#include "engine/io/csv/plain_run_kernel.inc"
