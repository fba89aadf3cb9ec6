// GoogleTest matchers for absl::Status and absl::StatusOr. Debian's Abseil 20220623 ships
// no StatusIs, so the project carries this one: tests assert the specific error code
// and a fragment of the message, never just "not ok".
#ifndef CANVASS_TESTS_TESTING_STATUS_MATCHERS_H_
#define CANVASS_TESTS_TESTING_STATUS_MATCHERS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace canvass::testing {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

// EXPECT_THAT(LoadX(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("capacity")));
MATCHER_P2(StatusIs, code, message_matcher, "has status code " + ::testing::PrintToString(code)) {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "whose status is " << status.ToString();
  if (status.code() != code) return false;
  return ::testing::ExplainMatchResult(message_matcher, std::string(status.message()),
                                       result_listener);
}

MATCHER(IsOk, "is OK") {
  const absl::Status& status = GetStatus(arg);
  if (!status.ok()) *result_listener << "whose status is " << status.ToString();
  return status.ok();
}

}  // namespace canvass::testing

#endif  // CANVASS_TESTS_TESTING_STATUS_MATCHERS_H_
