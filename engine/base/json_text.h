// What every writer of JSON text shares (generators, converters, reports): a
// string written as a JSON string, escaped.
#ifndef CANVASS_ENGINE_BASE_JSON_TEXT_H_
#define CANVASS_ENGINE_BASE_JSON_TEXT_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace canvass {

// Appends `text` to *out as a JSON string: quoted, '"' and '\' escaped, control bytes as
// \u00XX; other bytes as they are (UTF-8 passes through).
inline void AppendJsonString(absl::string_view text, std::string* out) {
  out->push_back('"');
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppend(out, "\\u00", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

}  // namespace canvass

#endif  // CANVASS_ENGINE_BASE_JSON_TEXT_H_
