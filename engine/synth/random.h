// Counter-based randomness for the generator: every draw is a pure function of
// (seed, key...), so the streams do not depend on which thread made them or in what order.
#ifndef CANVASS_ENGINE_SYNTH_RANDOM_H_
#define CANVASS_ENGINE_SYNTH_RANDOM_H_

#include <cmath>
#include <cstdint>

#include "engine/base/bytes.h"  // Mix64

namespace canvass {

// A 64-bit value keyed by the seed and up to three counters.
constexpr uint64_t KeyedRandom(uint64_t seed, uint64_t a, uint64_t b = 0, uint64_t c = 0) {
  uint64_t x = Mix64(seed ^ 0x9e3779b97f4a7c15ULL);
  x = Mix64(x ^ (a + 0x632be59bd9b4e019ULL));
  x = Mix64(x ^ (b + 0x8cb92ba72f3d8dd7ULL));
  return Mix64(x ^ (c + 0x2545f4914f6cdd1dULL));
}

// Uniform in the open interval (0, 1), from the top 53 bits.
inline double UnitOpen(uint64_t bits) {
  return (static_cast<double>(bits >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

// A standard normal deviate from two independent 64-bit values (Box-Muller).
inline double StandardNormal(uint64_t bits1, uint64_t bits2) {
  return std::sqrt(-2.0 * std::log(UnitOpen(bits1))) *
         std::cos(6.283185307179586 * UnitOpen(bits2));
}

}  // namespace canvass

#endif  // CANVASS_ENGINE_SYNTH_RANDOM_H_
