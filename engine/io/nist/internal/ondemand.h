// What the simdjson On Demand decoders of record formats share (NIST CVR JSON, Dominion
// CVR exports): keys read without a copy, and values read through so that they are checked.
#ifndef CANVASS_ENGINE_IO_NIST_INTERNAL_ONDEMAND_H_
#define CANVASS_ENGINE_IO_NIST_INTERNAL_ONDEMAND_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

#include "absl/strings/string_view.h"
#include "simdjson.h"

namespace canvass {

// A field's key: its raw bytes when they hold no escape (the common case: no copy), else
// unescaped ("\u0040id" is "@id"). Stage 1 checked that every string ends.
template <typename Field>
std::string_view Key(Field& field) {
  const simdjson::ondemand::raw_json_string key = field.key();
  const char* raw = key.raw();
  const char* end = raw;
  while (*end != '"' && *end != '\\') ++end;
  if (*end == '"') return std::string_view(raw, static_cast<size_t>(end - raw));
  return field.unescaped_key().value();
}

// Reads a value the decoder has no use for through to its end, so that it is checked as
// the rest is: On Demand skips what it is not asked for without checking it (a "tru" or
// a "{\"a\" 1}" there would pass). Throws simdjson_error on anything that is not JSON.
inline void Validate(simdjson::ondemand::value value) {
  switch (value.type()) {
    case simdjson::ondemand::json_type::object:
      for (auto field : value.get_object()) {
        (void)field.key().value();
        Validate(field.value());
      }
      return;
    case simdjson::ondemand::json_type::array:
      for (auto element : value.get_array()) Validate(element.value());
      return;
    case simdjson::ondemand::json_type::number:
      (void)value.get_number().value();
      return;
    case simdjson::ondemand::json_type::string:
      (void)value.get_string().value();
      return;
    case simdjson::ondemand::json_type::boolean:
      (void)value.get_bool().value();
      return;
    case simdjson::ondemand::json_type::null:
      if (!value.is_null()) throw simdjson::simdjson_error(simdjson::N_ATOM_ERROR);
      return;
  }
}

// Bytes On Demand can parse: simdjson reads SIMDJSON_PADDING bytes past a document's end
// (reads them, never uses them). One per decoder; a pointer stays valid until the next call.
class PaddedText {
 public:
  // Bytes [begin, end) of `text`: in place when the text holds the padding after them
  // (a record inside a mapped file), else copied (the last records of a file).
  const char* Of(absl::string_view text, uint64_t begin, uint64_t end) {
    if (end + simdjson::SIMDJSON_PADDING <= text.size()) return text.data() + begin;
    return Copy(text.substr(begin, end - begin));
  }
  // `bytes` copied, padded.
  const char* Copy(absl::string_view bytes) {
    if (capacity_ < bytes.size() + simdjson::SIMDJSON_PADDING) {
      capacity_ = std::max<size_t>(2 * capacity_, bytes.size() + simdjson::SIMDJSON_PADDING);
      buffer_.reset(new char[capacity_]);
    }
    std::memcpy(buffer_.get(), bytes.data(), bytes.size());
    std::memset(buffer_.get() + bytes.size(), ' ', simdjson::SIMDJSON_PADDING);
    return buffer_.get();
  }

 private:
  std::unique_ptr<char[]> buffer_;
  size_t capacity_ = 0;
};

}  // namespace canvass

#endif  // CANVASS_ENGINE_IO_NIST_INTERNAL_ONDEMAND_H_
