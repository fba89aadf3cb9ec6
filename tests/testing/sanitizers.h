// Whether this suite was built under a sanitizer, and the sample of exhaustive or random
// cases it then runs. A sanitizer needs each code path once, not every byte offset or
// random draw; the release suite still runs every case. Header-only, constexpr.
#ifndef CANVASS_TESTS_TESTING_SANITIZERS_H_
#define CANVASS_TESTS_TESTING_SANITIZERS_H_

#include <cstdint>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CANVASS_TESTING_UNDER_SANITIZER 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CANVASS_TESTING_UNDER_SANITIZER 1
#endif

namespace canvass::testing {

#if defined(CANVASS_TESTING_UNDER_SANITIZER)
inline constexpr bool kUnderSanitizer = true;
#else
inline constexpr bool kUnderSanitizer = false;
#endif

// The step of a loop over cases: 1 (every case) in the release suite, `stride` under a
// sanitizer. Pick a stride that still reaches every kind of case (co-prime with any period
// the loop has: bit positions, break rates, group positions).
inline constexpr uint64_t SampleStride(uint64_t stride) { return kUnderSanitizer ? stride : 1; }

}  // namespace canvass::testing

#endif  // CANVASS_TESTS_TESTING_SANITIZERS_H_
