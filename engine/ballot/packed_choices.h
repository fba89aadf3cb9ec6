// Bit-packed choice columns: `bits` bits per record (1, 2 or 4), least significant bits
// first in little-endian 64-bit words, so record i lies in bits [i*bits, i*bits + bits) of
// word i*bits/64 (a value never straddles two words). Bits after the last record are zero.
// The cvb format (version 2) stores choice columns this way, and the aggregator counts
// them without expanding them to one byte per record.
//
// Pure functions of their arguments: safe from many threads at once.
#ifndef CANVASS_ENGINE_BALLOT_PACKED_CHOICES_H_
#define CANVASS_ENGINE_BALLOT_PACKED_CHOICES_H_

#include <cstddef>
#include <cstdint>

#include "engine/base/kernel.h"

namespace canvass {

// The most values a packed column can hold: 2^4.
inline constexpr int kMaxPackedValues = 16;

// True for the widths a packed column may have: 1, 2 and 4 bits.
inline constexpr bool IsPackedWidth(int bits) { return bits == 1 || bits == 2 || bits == 4; }

// Words a column of `count` records of `bits` bits occupies.
inline constexpr size_t PackedWords(size_t count, int bits) {
  return (count * static_cast<size_t>(bits) + 63) / 64;
}

// The smallest packed width whose values reach `max_value` (at most 15), i.e. 1 for 0..1,
// 2 for 2..3, 4 for 4..15.
inline constexpr int PackedWidthFor(uint32_t max_value) {
  return max_value < 2 ? 1 : max_value < 4 ? 2 : 4;
}

// Packs `count` values (each below 2^bits) into PackedWords(count, bits) words, zeroing
// the bits after the last one. Requires: IsPackedWidth(bits).
void PackChoices(const uint8_t* values, size_t count, int bits, uint64_t* words);

// counts[v] = number of records i < count whose value is v, for v < 2^bits (the other
// entries of `counts` are left alone). One pass over the words: popcounts of the bit
// planes and of their intersections, turned into per-value counts by inclusion-exclusion,
// so the cost does not grow with the number of values. Requires: IsPackedWidth(bits), and
// the bits after the last record are zero. `kernel` picks the instruction-set tier (the
// popcounts are instructions from avx2 on); every tier gives the same counts.
// Requires: KernelSupported(kernel), checked once where the caller chose the kernel (the
// Aggregator's constructor; ActiveKernel() always is), not per call on the hot path.
void CountPackedChoices(const uint64_t* words, size_t count, int bits,
                        uint64_t counts[kMaxPackedValues], Kernel kernel = ActiveKernel());

// True when every bit after record `count` in the last word is zero.
bool PackedPaddingIsZero(const uint64_t* words, size_t count, int bits);

// out[i] = value of record i + `add` (add is 0 or 1), for i < count.
// Requires: IsPackedWidth(bits), add <= 1, KernelSupported(kernel). From avx2 on, eight
// records a bit deposit.
void UnpackChoices(const uint64_t* words, size_t count, int bits, uint8_t add, uint8_t* out,
                   Kernel kernel = ActiveKernel());

}  // namespace canvass

#endif  // CANVASS_ENGINE_BALLOT_PACKED_CHOICES_H_
