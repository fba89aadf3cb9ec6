// Plain decimal parsing for counts given on a command line, in an environment variable or in
// a configuration file (a roster's capacities). One definition of "a count", so that every
// flag and field refuses the same texts: no sign, no space, no base prefix, no overflow.
// Not for hot kernels: the ballot readers keep their own inlined parsers.
//
// Pure function; safe to call from many threads at once.
//
// Usage:
//   std::optional<uint64_t> threads = canvass::ParseDecimalUint64(text);
//   if (!threads || *threads < 1) { ... refuse the flag, naming the text ... }
#ifndef CANVASS_ENGINE_BASE_DECIMAL_H_
#define CANVASS_ENGINE_BASE_DECIMAL_H_

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"

namespace canvass {

// The value of `text` when it is one or more ASCII digits and nothing else, read in base 10
// ("010" is ten, never octal); nullopt for anything else (empty, a sign, a space, a base
// prefix) and for a value past 2^64 - 1.
std::optional<uint64_t> ParseDecimalUint64(absl::string_view text);

}  // namespace canvass

#endif  // CANVASS_ENGINE_BASE_DECIMAL_H_
