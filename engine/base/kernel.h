// Instruction-set tiers ("kernels") for the few loops that are written per tier, and the
// choice of one per process at run time, in the manner of simdjson's implementations: the
// binary is built for any x86-64 (or any target at all, portable tier only), each tier's
// loops are compiled with their own target flags (CANVASS_TARGET_REGION below), and the
// best tier the CPU and operating system support is used unless CANVASS_KERNEL names one.
//
//   portable  C++ with SSE2 where the target has it (every x86-64 does)
//   avx2      AVX2 + BMI1/BMI2 + POPCNT + LZCNT (Intel Haswell, AMD Zen and later)
//   avx512    AVX-512 F/BW/DQ/VL/VBMI/VBMI2 on top of avx2 (Intel Ice Lake, AMD Zen 4)
//
// Thread-safe: the active kernel is chosen once, on first use, and never changes.
#ifndef CANVASS_ENGINE_BASE_KERNEL_H_
#define CANVASS_ENGINE_BASE_KERNEL_H_

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace canvass {

enum class Kernel { kPortable, kAvx2, kAvx512 };

absl::string_view KernelName(Kernel kernel);
std::optional<Kernel> KernelFromName(absl::string_view name);

// Whether this build carries the kernel and this CPU (with this OS) can run it.
bool KernelSupported(Kernel kernel);
// The supported kernels, portable first.
std::vector<Kernel> SupportedKernels();

// The kernel CANVASS_KERNEL asks for, or the best supported one when it is unset or
// empty. InvalidArgument when it names no kernel or one this CPU cannot run.
absl::StatusOr<Kernel> KernelFromEnvironment();

// The kernel the engine uses: KernelFromEnvironment() once per process, or the best
// supported kernel when the variable is invalid (front ends report that and exit before
// any work: see tools/canvass_main.cc).
Kernel ActiveKernel();

}  // namespace canvass

// Compiles the functions between the two macros for a tier's instruction set without
// changing the flags of the translation unit, so that nothing outside the region (a
// standard-library template, an inline function of a header) is ever built with
// instructions the CPU may lack. Include every header before the region.
#define CANVASS_PRAGMA(x) _Pragma(#x)
#if defined(__clang__)
#define CANVASS_TARGET_REGION(isa) \
  CANVASS_PRAGMA(clang attribute push(__attribute__((target(isa))), apply_to = function))
#define CANVASS_UNTARGET_REGION CANVASS_PRAGMA(clang attribute pop)
#elif defined(__GNUC__)
#define CANVASS_TARGET_REGION(isa) CANVASS_PRAGMA(GCC push_options) CANVASS_PRAGMA(GCC target(isa))
#define CANVASS_UNTARGET_REGION CANVASS_PRAGMA(GCC pop_options)
#endif

#if defined(__x86_64__) || defined(_M_X64)
#define CANVASS_X86_KERNELS 1
#define CANVASS_AVX2_TARGET "avx2,bmi,bmi2,popcnt,lzcnt"
#define CANVASS_AVX512_TARGET \
  "avx2,bmi,bmi2,popcnt,lzcnt,avx512f,avx512bw,avx512dq,avx512vl,avx512vbmi,avx512vbmi2"
#endif

// Loops the compiler vectorizes (counting, reductions, the generator's permutations) need
// no hand-written kernel, only the right instruction set: RunForKernel(kernel, body,
// args...) calls body(args...) inside a function compiled for the kernel's instruction
// set, where `body` (a lambda marked CANVASS_KERNEL_BODY) is inlined and its loops are
// vectorized for that set:
//
//   const uint64_t mismatch = RunForKernel(
//       kernel_,
//       [](const uint64_t* seq, size_t n, uint64_t first) CANVASS_KERNEL_BODY {
//         uint64_t m = 0;
//         for (size_t i = 0; i < n; ++i) m |= seq[i] ^ (first + i);
//         return m;
//       },
//       seq, n, first);
//
// The body takes what it reads as parameters (passed by value), not as captures: a store
// through a byte pointer may alias any captured variable, and the loop then stays scalar
// (measured: the generator ran 6x slower with captures). It must not call functions that
// need the instruction set (intrinsics); what it calls out of line stays portable.
#define CANVASS_KERNEL_BODY __attribute__((always_inline))

namespace canvass {
namespace kernel_internal {
#if defined(CANVASS_X86_KERNELS)
template <typename Body, typename... Args>
__attribute__((target(CANVASS_AVX2_TARGET), noinline)) auto RunAvx2(const Body& body,
                                                                    Args... args) {
  return body(args...);
}
template <typename Body, typename... Args>
__attribute__((target(CANVASS_AVX512_TARGET), noinline)) auto RunAvx512(const Body& body,
                                                                        Args... args) {
  return body(args...);
}
#endif
}  // namespace kernel_internal

template <typename Body, typename... Args>
inline auto RunForKernel(Kernel kernel, const Body& body, Args... args) {
#if defined(CANVASS_X86_KERNELS)
  if (kernel == Kernel::kAvx512) return kernel_internal::RunAvx512(body, args...);
  if (kernel == Kernel::kAvx2) return kernel_internal::RunAvx2(body, args...);
#endif
  return body(args...);
}

}  // namespace canvass

#endif  // CANVASS_ENGINE_BASE_KERNEL_H_
