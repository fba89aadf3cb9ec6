// What the simdjson On Demand decoders of record formats share (NIST CVR JSON, Dominion
// CVR exports): keys read without a copy, and values read through so that they are checked.
#ifndef CANVASS_ENGINE_IO_NIST_INTERNAL_ONDEMAND_H_
#define CANVASS_ENGINE_IO_NIST_INTERNAL_ONDEMAND_H_

#include <string_view>

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

}  // namespace canvass

#endif  // CANVASS_ENGINE_IO_NIST_INTERNAL_ONDEMAND_H_
