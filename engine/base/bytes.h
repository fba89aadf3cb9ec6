// Small byte-level helpers shared by every layer: little-endian fixed-width coding (the
// cvb format, checkpoints and aggregator snapshots are little-endian), SplitMix64's
// finalizer, and hexadecimal text of 128-bit hashes. Header-only, pure functions.
#ifndef CANVASS_ENGINE_BASE_BYTES_H_
#define CANVASS_ENGINE_BASE_BYTES_H_

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace canvass {

// Every encoding here is little-endian; so is every machine Canvass builds on.
static_assert(std::endian::native == std::endian::little, "Canvass assumes a little-endian host");

// Appends `value`'s sizeof(T) bytes, least significant first.
template <typename T>
void PutLittleEndian(T value, std::string* out) {
  static_assert(std::is_integral_v<T>);
  out->append(reinterpret_cast<const char*>(&value), sizeof(T));
}

// The sizeof(T)-byte little-endian value at `data` (any alignment).
template <typename T>
T LoadLittleEndian(const void* data) {
  static_assert(std::is_integral_v<T>);
  T value;
  std::memcpy(&value, data, sizeof(T));
  return value;
}

// Takes a sizeof(T)-byte little-endian value off the front of *in; false (and *in
// unchanged) when fewer bytes are left.
template <typename T>
bool ConsumeLittleEndian(absl::string_view* in, T* value) {
  if (in->size() < sizeof(T)) return false;
  *value = LoadLittleEndian<T>(in->data());
  in->remove_prefix(sizeof(T));
  return true;
}

// SplitMix64's finalizer: a bijective 64-bit mixer with good avalanche.
constexpr uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// A 128-bit hash as 32 lowercase hex digits, high word first (as manifests write XXH3-128).
inline std::string Hex128(uint64_t high, uint64_t low) {
  return absl::StrFormat("%016x%016x", high, low);
}

}  // namespace canvass

#endif  // CANVASS_ENGINE_BASE_BYTES_H_
