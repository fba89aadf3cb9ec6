// A keyed pseudorandom permutation of [0, 2^bits) for bits in 1..16, built from steps
// that are each a bijection mod 2^bits (multiply by an odd constant, xor-shift right, add
// a constant). Three rounds are plenty for laying out synthetic ballots; it is not a
// cryptographic permutation. Not API: used by the generator and its tests.
#ifndef CANVASS_ENGINE_SYNTH_INTERNAL_PERMUTATION_H_
#define CANVASS_ENGINE_SYNTH_INTERNAL_PERMUTATION_H_

#include <cstdint>

#include "engine/synth/random.h"

namespace canvass::internal {

struct SmallPermutation {
  static constexpr int kRounds = 3;
  uint32_t mask;
  uint32_t shift;
  uint32_t multiplier[kRounds];  // odd
  uint32_t addend[kRounds];

  SmallPermutation(int bits, uint64_t key) {
    mask = (bits >= 32) ? 0xffffffffu : ((1u << bits) - 1);
    shift = static_cast<uint32_t>(bits / 2 + 1);
    for (int r = 0; r < kRounds; ++r) {
      uint64_t k = Mix64(key + 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(r + 1));
      multiplier[r] = (static_cast<uint32_t>(k) | 1u) & mask;
      if (multiplier[r] == 0) multiplier[r] = 1;
      addend[r] = static_cast<uint32_t>(k >> 32) & mask;
    }
  }

  uint32_t operator()(uint32_t x) const {
    for (int r = 0; r < kRounds; ++r) {
      x = (x * multiplier[r]) & mask;
      x ^= x >> shift;
      x = (x + addend[r]) & mask;
    }
    return x;
  }
};

}  // namespace canvass::internal

#endif  // CANVASS_ENGINE_SYNTH_INTERNAL_PERMUTATION_H_
