// Plain decimal parsing of counts (decimal.h).
#include "engine/base/decimal.h"

#include <charconv>
#include <system_error>

namespace canvass {

std::optional<uint64_t> ParseDecimalUint64(absl::string_view text) {
  // std::from_chars in base 10 into an unsigned type takes digits only (no '+', '-', space
  // or "0x") and reports overflow; what is left is to require that it took every character.
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || stop != end) return std::nullopt;
  return value;
}

}  // namespace canvass
