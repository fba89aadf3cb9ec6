// Bit-packed choice columns (see packed_choices.h).
#include "engine/ballot/packed_choices.h"

#include <array>
#include <bit>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

#include "engine/base/check.h"
#include "engine/base/kernel.h"

namespace canvass {
namespace {

// The lowest bit of every field of a word of kBits-bit fields.
template <int kBits>
constexpr uint64_t kFieldLowBits = kBits == 1   ? ~uint64_t{0}
                                   : kBits == 2 ? 0x5555555555555555u
                                                : 0x1111111111111111u;

// Bits set in `x`. The portable tier may not assume the POPCNT instruction, and without it
// the compiler calls a library routine (a table lookup per byte: the portable kernel's
// cvb ingest ran at a quarter of the avx2 kernel's speed), so it counts in registers.
template <bool kPopcnt>
[[gnu::always_inline]] inline uint64_t CountOnes(uint64_t x) {
  if constexpr (kPopcnt) {
    return static_cast<uint64_t>(__builtin_popcountll(x));
  } else {
    x = x - ((x >> 1) & 0x5555555555555555u);
    x = (x & 0x3333333333333333u) + ((x >> 2) & 0x3333333333333333u);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Fu;
    return (x * 0x0101010101010101u) >> 56;
  }
}

// subset_counts[s] = number of fields whose bits include every bit of `s` (s > 0).
// Always inlined, so that in a tier's wrapper below the popcounts become instructions.
template <int kBits, bool kPopcnt>
[[gnu::always_inline]] inline void CountBitSubsets(const uint64_t* words, size_t num_words,
                                                   int64_t* subset_counts) {
  constexpr int kSubsets = 1 << kBits;
  uint64_t counts[kSubsets] = {};
  for (size_t i = 0; i < num_words; ++i) {
    const uint64_t word = words[i];
    uint64_t planes[kBits];
    for (int b = 0; b < kBits; ++b) planes[b] = (word >> b) & kFieldLowBits<kBits>;
    for (int s = 1; s < kSubsets; ++s) {
      uint64_t fields = ~uint64_t{0};
      for (int b = 0; b < kBits; ++b) {
        if ((s >> b) & 1) fields &= planes[b];
      }
      counts[s] += CountOnes<kPopcnt>(fields);
    }
  }
  for (int s = 1; s < kSubsets; ++s) subset_counts[s] = static_cast<int64_t>(counts[s]);
}

#if defined(CANVASS_X86_KERNELS)
CANVASS_TARGET_REGION(CANVASS_AVX2_TARGET)
template <int kBits>
void CountBitSubsetsAvx2(const uint64_t* words, size_t num_words, int64_t* subset_counts) {
  CountBitSubsets<kBits, /*kPopcnt=*/true>(words, num_words, subset_counts);
}

// Whole words of `words` to bytes of out, eight records a bit deposit; returns how many
// records it wrote (a multiple of 64 / kBits).
template <int kBits>
size_t UnpackWordsBmi2(const uint64_t* words, size_t count, uint8_t add, uint8_t* out) {
  constexpr uint64_t kFieldInEachByte = kBits == 1   ? 0x0101010101010101u
                                        : kBits == 2 ? 0x0303030303030303u
                                                     : 0x0F0F0F0F0F0F0F0Fu;
  constexpr int kChunkBits = 8 * kBits;
  const uint64_t add_each = add * 0x0101010101010101u;
  const size_t whole_words = count * kBits / 64;
  for (size_t w = 0; w < whole_words; ++w) {
    const uint64_t word = words[w];
    for (int chunk = 0; chunk < 64 / kChunkBits; ++chunk) {
      const uint64_t fields = (word >> (chunk * kChunkBits)) & ((uint64_t{1} << kChunkBits) - 1);
      const uint64_t bytes = _pdep_u64(fields, kFieldInEachByte) + add_each;
      std::memcpy(out + w * (64 / kBits) + chunk * 8, &bytes, 8);
    }
  }
  return whole_words * (64 / kBits);
}
CANVASS_UNTARGET_REGION
#endif

template <int kBits>
void CountWidth(const uint64_t* words, size_t count, uint64_t* value_counts, Kernel kernel) {
  constexpr int kValues = 1 << kBits;
  int64_t subset_counts[kValues] = {};
  const size_t num_words = PackedWords(count, kBits);
#if defined(CANVASS_X86_KERNELS)
  if (kernel != Kernel::kPortable) {
    CountBitSubsetsAvx2<kBits>(words, num_words, subset_counts);
  } else {
    CountBitSubsets<kBits, /*kPopcnt=*/false>(words, num_words, subset_counts);
  }
#else
  CountBitSubsets<kBits, /*kPopcnt=*/false>(words, num_words, subset_counts);
#endif
  // Padding fields are zero, so they take part in no nonempty subset; the empty subset
  // holds every record.
  subset_counts[0] = static_cast<int64_t>(count);
  // Inclusion-exclusion: the fields equal to v are those holding v's bits, less those
  // holding more.
  for (int v = 0; v < kValues; ++v) {
    int64_t exact = 0;
    for (int s = v; s < kValues; s = (s + 1) | v) {
      exact += (std::popcount(static_cast<unsigned>(s & ~v)) % 2 == 0) ? subset_counts[s]
                                                                       : -subset_counts[s];
    }
    CANVASS_CHECK(exact >= 0);
    value_counts[v] = static_cast<uint64_t>(exact);
  }
}

// Expansion tables: entry x holds the 8 / kBits fields of byte x, one per byte, plus `add`.
template <int kBits>
const std::array<std::array<uint64_t, 256>, 2>& ExpansionTables() {
  static const std::array<std::array<uint64_t, 256>, 2> kTables = [] {
    std::array<std::array<uint64_t, 256>, 2> tables{};
    constexpr int kPerByte = 8 / kBits;
    for (int add = 0; add < 2; ++add) {
      for (int x = 0; x < 256; ++x) {
        uint64_t entry = 0;
        for (int j = 0; j < kPerByte; ++j) {
          const uint64_t field = (static_cast<uint64_t>(x) >> (j * kBits)) & ((1u << kBits) - 1);
          entry |= (field + static_cast<uint64_t>(add)) << (8 * j);
        }
        tables[add][x] = entry;
      }
    }
    return tables;
  }();
  return kTables;
}

template <int kBits>
void UnpackWidth(const uint64_t* words, size_t count, uint8_t add, uint8_t* out, Kernel kernel) {
  constexpr size_t kPerByte = 8 / kBits;
#if defined(CANVASS_X86_KERNELS)
  if (kernel != Kernel::kPortable) {
    const size_t done = UnpackWordsBmi2<kBits>(words, count, add, out);
    words += done * kBits / 64;
    out += done;
    count -= done;
  }
#endif
  const std::array<uint64_t, 256>& table = ExpansionTables<kBits>()[add];
  const uint8_t* in = reinterpret_cast<const uint8_t*>(words);
  const size_t whole_bytes = count / kPerByte;
  for (size_t i = 0; i < whole_bytes; ++i) std::memcpy(out + i * kPerByte, &table[in[i]], kPerByte);
  for (size_t i = whole_bytes * kPerByte; i < count; ++i) {
    const unsigned field = (in[i / kPerByte] >> ((i % kPerByte) * kBits)) & ((1u << kBits) - 1);
    out[i] = static_cast<uint8_t>(field + add);
  }
}

}  // namespace

void PackChoices(const uint8_t* values, size_t count, int bits, uint64_t* words) {
  CANVASS_CHECK(IsPackedWidth(bits));
  if (count == 0) return;  // no words: `words` may be null (an empty vector's data())
  std::memset(words, 0, PackedWords(count, bits) * sizeof(uint64_t));
  for (size_t i = 0; i < count; ++i) {
    CANVASS_CHECK(values[i] < (1u << bits));
    const size_t bit = i * static_cast<size_t>(bits);
    words[bit / 64] |= static_cast<uint64_t>(values[i]) << (bit % 64);
  }
}

void CountPackedChoices(const uint64_t* words, size_t count, int bits,
                        uint64_t counts[kMaxPackedValues], Kernel kernel) {
  switch (bits) {
    case 1:
      return CountWidth<1>(words, count, counts, kernel);
    case 2:
      return CountWidth<2>(words, count, counts, kernel);
    case 4:
      return CountWidth<4>(words, count, counts, kernel);
  }
  CANVASS_CHECK(IsPackedWidth(bits));
}

bool PackedPaddingIsZero(const uint64_t* words, size_t count, int bits) {
  const size_t used_bits = count * static_cast<size_t>(bits) % 64;
  if (used_bits == 0) return true;
  return (words[PackedWords(count, bits) - 1] >> used_bits) == 0;
}

void UnpackChoices(const uint64_t* words, size_t count, int bits, uint8_t add, uint8_t* out,
                   Kernel kernel) {
  CANVASS_CHECK(add <= 1);
  switch (bits) {
    case 1:
      return UnpackWidth<1>(words, count, add, out, kernel);
    case 2:
      return UnpackWidth<2>(words, count, add, out, kernel);
    case 4:
      return UnpackWidth<4>(words, count, add, out, kernel);
  }
  CANVASS_CHECK(IsPackedWidth(bits));
}

}  // namespace canvass
