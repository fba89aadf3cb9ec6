// Status plumbing shared by every stage: Abseil 20220623 (Debian 12) has no
// ABSL_RETURN_IF_ERROR / ASSIGN_OR_RETURN, so the project carries its own two macros.
#ifndef CANVASS_ENGINE_BASE_STATUS_MACROS_H_
#define CANVASS_ENGINE_BASE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns from the enclosing function when `expr` (an absl::Status) is not OK.
#define CANVASS_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::absl::Status canvass_status_ = (expr);           \
    if (!canvass_status_.ok()) return canvass_status_; \
  } while (false)

#define CANVASS_INTERNAL_CONCAT2(a, b) a##b
#define CANVASS_INTERNAL_CONCAT(a, b) CANVASS_INTERNAL_CONCAT2(a, b)

// `CANVASS_ASSIGN_OR_RETURN(auto x, StatusOrExpr());` declares x from the value, or
// returns the error from the enclosing function.
#define CANVASS_ASSIGN_OR_RETURN(lhs, expr) \
  CANVASS_INTERNAL_ASSIGN_OR_RETURN(CANVASS_INTERNAL_CONCAT(canvass_or_, __LINE__), lhs, expr)
#define CANVASS_INTERNAL_ASSIGN_OR_RETURN(tmp, lhs, expr) \
  auto tmp = (expr);                                      \
  if (!tmp.ok()) return tmp.status();                     \
  lhs = std::move(tmp).value()

#endif  // CANVASS_ENGINE_BASE_STATUS_MACROS_H_
