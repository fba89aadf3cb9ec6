// Overflow-checked arithmetic for counts: every figure Canvass reports is a uint64_t, and
// a wrapped counter would silently print a wrong total, so additions that could overflow
// go through these helpers and fail with OutOfRange instead.
#ifndef CANVASS_ENGINE_BASE_CHECKED_MATH_H_
#define CANVASS_ENGINE_BASE_CHECKED_MATH_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace canvass {

// Largest figure accepted anywhere (reported totals, scaled capacities): 2^63 - 1, so
// that a signed delta between any two figures is representable.
inline constexpr uint64_t kMaxFigure = (uint64_t{1} << 63) - 1;

// *sum += addend, or OutOfRange naming `what` when the result would exceed kMaxFigure.
inline absl::Status CheckedAdd(uint64_t addend, uint64_t* sum, absl::string_view what) {
  uint64_t result;
  if (__builtin_add_overflow(*sum, addend, &result) || result > kMaxFigure) {
    return absl::OutOfRangeError(
        absl::StrCat(what, ": ", *sum, " + ", addend, " exceeds 2^63 - 1"));
  }
  *sum = result;
  return absl::OkStatus();
}

// *product = a * b, or OutOfRange naming `what` when the result would exceed kMaxFigure.
inline absl::Status CheckedMul(uint64_t a, uint64_t b, uint64_t* product, absl::string_view what) {
  uint64_t result;
  if (__builtin_mul_overflow(a, b, &result) || result > kMaxFigure) {
    return absl::OutOfRangeError(absl::StrCat(what, ": ", a, " x ", b, " exceeds 2^63 - 1"));
  }
  *product = result;
  return absl::OkStatus();
}

}  // namespace canvass

#endif  // CANVASS_ENGINE_BASE_CHECKED_MATH_H_
