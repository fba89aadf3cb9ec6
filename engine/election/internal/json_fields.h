// What the election.json loaders (election.cc, contest_json.cc) share for their messages:
// an error naming the file and the field, and a short rendering of a JSON value.
#ifndef CANVASS_ENGINE_ELECTION_INTERNAL_JSON_FIELDS_H_
#define CANVASS_ENGINE_ELECTION_INTERNAL_JSON_FIELDS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace canvass::election_internal {

// InvalidArgument "FILE: field 'FIELD': WHAT".
inline absl::Status FieldError(absl::string_view file, absl::string_view field,
                               absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(file, ": field '", field, "': ", what));
}

// "TYPE TEXT" of a value, its text cut to 40 characters, for "expected ..., got ..." parts.
inline std::string DescribeJson(const nlohmann::json& value) {
  std::string text = value.dump();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return absl::StrCat(value.type_name(), " ", text);
}

}  // namespace canvass::election_internal

#endif  // CANVASS_ENGINE_ELECTION_INTERNAL_JSON_FIELDS_H_
