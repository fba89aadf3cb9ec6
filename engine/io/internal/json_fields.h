// What the io layer's JSON readers of Canvass's own files (manifest.cc,
// contest_prediction.cc) share: the whole-text parse and typed field lookups whose errors
// are DataLoss "FILE: field 'PATH': expected ..., got VALUE". Pure functions.
#ifndef CANVASS_ENGINE_IO_INTERNAL_JSON_FIELDS_H_
#define CANVASS_ENGINE_IO_INTERNAL_JSON_FIELDS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "engine/base/status_macros.h"
#include "nlohmann/json.hpp"

namespace canvass::io_internal {

using Json = nlohmann::ordered_json;

inline absl::Status Bad(const std::string& path, absl::string_view what) {
  return absl::DataLossError(absl::StrCat(path, ": ", what));
}

// A JSON value as a message shows it: at most 40 bytes of its text.
inline std::string Shown(const Json& value) {
  std::string text = value.dump(-1, ' ', /*ensure_ascii=*/true);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

// The whole of `text` as JSON; DataLoss with the byte offset of the first error.
inline absl::StatusOr<Json> ParseJson(const std::string& path, absl::string_view text) {
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& error) {
    return Bad(path, absl::StrCat("byte ", error.byte, ": not valid JSON"));
  } catch (const Json::exception& error) {
    return Bad(path, absl::StrCat("not valid JSON: ", error.what()));
  }
}

// Field `key` of `parent`, named `where + key` in messages (`where` is "" or ends in
// '.'); DataLoss when it is missing or `parent` is not an object.
inline absl::StatusOr<const Json*> Field(const std::string& path, const Json& parent,
                                         const std::string& where, const char* key) {
  if (!parent.is_object()) {
    const std::string named =
        where.empty() ? "" : absl::StrCat("field '", where.substr(0, where.size() - 1), "': ");
    return Bad(path, absl::StrCat(named, "expected a JSON object, got ", Shown(parent)));
  }
  const auto found = parent.find(key);
  if (found == parent.end()) return Bad(path, absl::StrCat("field '", where, key, "' is missing"));
  return &*found;
}

inline absl::StatusOr<uint64_t> CountField(const std::string& path, const Json& parent,
                                           const std::string& where, const char* key) {
  CANVASS_ASSIGN_OR_RETURN(const Json* value, Field(path, parent, where, key));
  if (!value->is_number_unsigned()) {
    return Bad(
        path, absl::StrCat("field '", where, key,
                           "': expected a count (a whole number, 0 or more), got ", Shown(*value)));
  }
  return value->get<uint64_t>();
}

inline absl::StatusOr<std::string> StringField(const std::string& path, const Json& parent,
                                               const std::string& where, const char* key) {
  CANVASS_ASSIGN_OR_RETURN(const Json* value, Field(path, parent, where, key));
  if (!value->is_string()) {
    return Bad(path,
               absl::StrCat("field '", where, key, "': expected a string, got ", Shown(*value)));
  }
  return value->get<std::string>();
}

// Field `key` of `parent` when it is an array (as Field, and DataLoss otherwise).
inline absl::StatusOr<const Json*> ArrayField(const std::string& path, const Json& parent,
                                              const std::string& where, const char* key) {
  CANVASS_ASSIGN_OR_RETURN(const Json* value, Field(path, parent, where, key));
  if (!value->is_array()) {
    return Bad(path,
               absl::StrCat("field '", where, key, "': expected an array, got ", Shown(*value)));
  }
  return value;
}

// The generator's `fired` object of a file (a manifest, a prediction): how often each
// fault fired, by name, in the file's order.
inline absl::StatusOr<std::vector<std::pair<std::string, uint64_t>>> FiredField(
    const std::string& path, const Json& root) {
  CANVASS_ASSIGN_OR_RETURN(const Json* fired, Field(path, root, "", "fired"));
  if (!fired->is_object()) {
    return Bad(path, absl::StrCat("field 'fired': expected a JSON object, got ", Shown(*fired)));
  }
  std::vector<std::pair<std::string, uint64_t>> counts;
  for (const auto& [name, count] : fired->items()) {
    CANVASS_ASSIGN_OR_RETURN(const uint64_t n, CountField(path, *fired, "fired.", name.c_str()));
    counts.emplace_back(name, n);
  }
  return counts;
}

}  // namespace canvass::io_internal

#endif  // CANVASS_ENGINE_IO_INTERNAL_JSON_FIELDS_H_
