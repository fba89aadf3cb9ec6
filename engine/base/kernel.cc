// Run-time choice of the instruction-set tier (see kernel.h).
#include "engine/base/kernel.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace canvass {
namespace {

constexpr Kernel kAllKernels[] = {Kernel::kPortable, Kernel::kAvx2, Kernel::kAvx512};

#if defined(CANVASS_X86_KERNELS)
bool CpuHasAvx2() {
  // __builtin_cpu_supports checks the operating system's support (XGETBV) for the
  // vector state too, not only CPUID.
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") &&
         __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt");
}

bool CpuHasAvx512() {
  __builtin_cpu_init();
  return CpuHasAvx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512vbmi2");
}
#endif

Kernel BestKernel() {
  Kernel best = Kernel::kPortable;
  for (Kernel kernel : kAllKernels) {
    if (KernelSupported(kernel)) best = kernel;
  }
  return best;
}

}  // namespace

absl::string_view KernelName(Kernel kernel) {
  switch (kernel) {
    case Kernel::kPortable:
      return "portable";
    case Kernel::kAvx2:
      return "avx2";
    case Kernel::kAvx512:
      return "avx512";
  }
  return "unknown";
}

std::optional<Kernel> KernelFromName(absl::string_view name) {
  for (Kernel kernel : kAllKernels) {
    if (KernelName(kernel) == name) return kernel;
  }
  return std::nullopt;
}

bool KernelSupported(Kernel kernel) {
  switch (kernel) {
    case Kernel::kPortable:
      return true;
#if defined(CANVASS_X86_KERNELS)
    case Kernel::kAvx2: {
      static const bool supported = CpuHasAvx2();
      return supported;
    }
    case Kernel::kAvx512: {
      static const bool supported = CpuHasAvx512();
      return supported;
    }
#else
    default:
      return false;
#endif
  }
  return false;
}

std::vector<Kernel> SupportedKernels() {
  std::vector<Kernel> kernels;
  for (Kernel kernel : kAllKernels) {
    if (KernelSupported(kernel)) kernels.push_back(kernel);
  }
  return kernels;
}

absl::StatusOr<Kernel> KernelFromEnvironment() {
  const char* value = std::getenv("CANVASS_KERNEL");
  if (value == nullptr || *value == '\0') return BestKernel();
  const std::optional<Kernel> kernel = KernelFromName(value);
  if (!kernel.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "CANVASS_KERNEL=", value, ": not a kernel (expected portable, avx2 or avx512)"));
  }
  if (!KernelSupported(*kernel)) {
    std::string supported;
    for (Kernel k : SupportedKernels())
      absl::StrAppend(&supported, supported.empty() ? "" : ", ", KernelName(k));
    return absl::InvalidArgumentError(absl::StrCat(
        "CANVASS_KERNEL=", value, ": this CPU cannot run it (it can run ", supported, ")"));
  }
  return *kernel;
}

Kernel ActiveKernel() {
  static const Kernel active = [] {
    absl::StatusOr<Kernel> kernel = KernelFromEnvironment();
    return kernel.ok() ? *kernel : BestKernel();
  }();
  return active;
}

}  // namespace canvass
