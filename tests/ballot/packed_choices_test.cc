// Tests of bit-packed choice columns: packing, unpacking and counting against plain loops.
#include "engine/ballot/packed_choices.h"

#include <cstdint>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace canvass {
namespace {

using ::testing::ElementsAre;

TEST(PackedChoicesTest, LayoutIsLeastSignificantBitsFirst) {
  const std::vector<uint8_t> values = {1, 0, 3, 2, 1};
  std::vector<uint64_t> words(PackedWords(values.size(), 2), ~uint64_t{0});
  PackChoices(values.data(), values.size(), 2, words.data());
  EXPECT_THAT(words, ElementsAre(0b01'10'11'00'01u));
  EXPECT_TRUE(PackedPaddingIsZero(words.data(), values.size(), 2));
  words[0] |= uint64_t{1} << 10;  // the first bit after the fifth value
  EXPECT_FALSE(PackedPaddingIsZero(words.data(), values.size(), 2));
}

TEST(PackedChoicesTest, WidthsAndWords) {
  EXPECT_EQ(PackedWidthFor(0), 1);
  EXPECT_EQ(PackedWidthFor(1), 1);
  EXPECT_EQ(PackedWidthFor(2), 2);
  EXPECT_EQ(PackedWidthFor(3), 2);
  EXPECT_EQ(PackedWidthFor(4), 4);
  EXPECT_EQ(PackedWidthFor(15), 4);
  EXPECT_EQ(PackedWords(0, 4), 0u);
  EXPECT_EQ(PackedWords(1, 1), 1u);
  EXPECT_EQ(PackedWords(64, 1), 1u);
  EXPECT_EQ(PackedWords(65, 1), 2u);
  EXPECT_EQ(PackedWords(65536, 2), 2048u);
  EXPECT_EQ(PackedWords(17, 4), 2u);
}

// Fast path equals reference path: every width, lengths around word edges, every value mix,
// in every kernel this CPU can run (engine/base/kernel.h).
TEST(PackedChoicesTest, CountAndUnpackEqualPlainLoops) {
  std::mt19937_64 rng(7);
  for (Kernel kernel : SupportedKernels()) {
    SCOPED_TRACE(KernelName(kernel));
    for (int bits : {1, 2, 4}) {
      for (size_t count : {0, 1, 2, 7, 8, 15, 16, 31, 32, 33, 63, 64, 65, 127, 1000, 65536}) {
        for (uint32_t limit : {1u, 2u, 3u, 1u << bits}) {
          if (limit > (1u << bits)) continue;
          std::vector<uint8_t> values(count);
          for (uint8_t& value : values) value = static_cast<uint8_t>(rng() % limit);
          std::vector<uint64_t> words(PackedWords(count, bits) + 1, 0);
          PackChoices(values.data(), count, bits, words.data());
          uint64_t counts[kMaxPackedValues] = {};
          CountPackedChoices(words.data(), count, bits, counts, kernel);
          uint64_t expected[kMaxPackedValues] = {};
          for (uint8_t value : values) ++expected[value];
          for (int v = 0; v < (1 << bits); ++v) {
            EXPECT_EQ(counts[v], expected[v]) << bits << " bits, " << count << " values, v " << v;
          }
          for (uint8_t add : {0, 1}) {
            std::vector<uint8_t> out(count + 8, 0xEE);
            UnpackChoices(words.data(), count, bits, add, out.data(), kernel);
            for (size_t i = 0; i < count; ++i) ASSERT_EQ(out[i], values[i] + add) << i;
            for (size_t i = count; i < count + 8; ++i)
              ASSERT_EQ(out[i], 0xEE) << "wrote past the end";
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace canvass
