// The CSV plain-run kernel for the avx512 tier (plain_run.h, plain_run_kernel.inc).
// Compiled only for x86-64; chosen at run time when the CPU supports the tier.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

#include "engine/base/kernel.h"
#include "engine/io/csv/plain_run.h"

#if defined(CANVASS_X86_KERNELS)
#define CANVASS_KERNEL_NAMESPACE avx512
#define CANVASS_KERNEL_TIER 2
CANVASS_TARGET_REGION(CANVASS_AVX512_TARGET)
#include "engine/io/csv/plain_run_kernel.inc"
CANVASS_UNTARGET_REGION
#endif
