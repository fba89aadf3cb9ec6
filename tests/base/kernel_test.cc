// Tests of the run-time choice of instruction-set tier (engine/base/kernel.h).
#include "engine/base/kernel.h"

#include <cstdlib>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace canvass {
namespace {

using ::testing::HasSubstr;

// Sets CANVASS_KERNEL for one scope.
class ScopedKernelVariable {
 public:
  explicit ScopedKernelVariable(const char* value) {
    if (const char* old = std::getenv("CANVASS_KERNEL")) old_ = old;
    if (value == nullptr) {
      unsetenv("CANVASS_KERNEL");
    } else {
      setenv("CANVASS_KERNEL", value, 1);
    }
  }
  ~ScopedKernelVariable() {
    if (old_.has_value()) {
      setenv("CANVASS_KERNEL", old_->c_str(), 1);
    } else {
      unsetenv("CANVASS_KERNEL");
    }
  }

 private:
  std::optional<std::string> old_;
};

TEST(KernelTest, NamesRoundTrip) {
  for (Kernel kernel : {Kernel::kPortable, Kernel::kAvx2, Kernel::kAvx512}) {
    EXPECT_EQ(KernelFromName(KernelName(kernel)), kernel);
  }
  EXPECT_EQ(KernelName(Kernel::kAvx512), "avx512");
  EXPECT_EQ(KernelFromName("AVX2"), std::nullopt);  // names are exact
  EXPECT_EQ(KernelFromName(""), std::nullopt);
}

TEST(KernelTest, PortableIsAlwaysSupportedAndListedFirst) {
  const std::vector<Kernel> kernels = SupportedKernels();
  ASSERT_FALSE(kernels.empty());
  EXPECT_EQ(kernels.front(), Kernel::kPortable);
  for (size_t i = 1; i < kernels.size(); ++i) EXPECT_LT(kernels[i - 1], kernels[i]);
  // A tier implies the ones below it.
  if (KernelSupported(Kernel::kAvx512)) {
    EXPECT_TRUE(KernelSupported(Kernel::kAvx2));
  }
  EXPECT_TRUE(KernelSupported(ActiveKernel()));
  ::testing::Test::RecordProperty("supported_kernels", static_cast<int>(kernels.size()));
}

TEST(KernelTest, UnsetOrEmptyVariableChoosesTheBestSupported) {
  for (const char* value : {static_cast<const char*>(nullptr), ""}) {
    ScopedKernelVariable variable(value);
    absl::StatusOr<Kernel> kernel = KernelFromEnvironment();
    ASSERT_TRUE(kernel.ok()) << kernel.status();
    EXPECT_EQ(*kernel, SupportedKernels().back());
  }
}

TEST(KernelTest, VariableForcesAnySupportedKernel) {
  for (Kernel kernel : SupportedKernels()) {
    const std::string name(KernelName(kernel));
    ScopedKernelVariable variable(name.c_str());
    absl::StatusOr<Kernel> forced = KernelFromEnvironment();
    ASSERT_TRUE(forced.ok()) << forced.status();
    EXPECT_EQ(*forced, kernel);
  }
}

TEST(KernelTest, VariableNamingNoKernelOrAnUnsupportedOneIsAnError) {
  {
    ScopedKernelVariable variable("sse4");
    absl::StatusOr<Kernel> kernel = KernelFromEnvironment();
    ASSERT_FALSE(kernel.ok());
    EXPECT_EQ(kernel.status().message(),
              "CANVASS_KERNEL=sse4: not a kernel (expected portable, avx2 or avx512)");
  }
  for (Kernel kernel : {Kernel::kAvx2, Kernel::kAvx512}) {
    if (KernelSupported(kernel)) continue;  // this CPU runs it: covered above
    const std::string name(KernelName(kernel));
    ScopedKernelVariable variable(name.c_str());
    absl::StatusOr<Kernel> forced = KernelFromEnvironment();
    ASSERT_FALSE(forced.ok());
    EXPECT_THAT(forced.status().message(),
                HasSubstr("this CPU cannot run it (it can run portable"));
  }
}

}  // namespace
}  // namespace canvass
