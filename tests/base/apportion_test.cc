// Tests for the exact integer helpers in engine/base: largest-remainder apportionment and
// overflow-checked addition and multiplication.
#include "engine/base/apportion.h"

#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "absl/status/status.h"
#include "engine/base/checked_math.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace canvass {
namespace {

using canvass::testing::IsOk;
using canvass::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr uint64_t kTwoTo61 = uint64_t{1} << 61;
constexpr uint64_t kTwoTo62 = uint64_t{1} << 62;
constexpr uint64_t kTwoTo63 = uint64_t{1} << 63;

uint64_t Sum(const std::vector<uint64_t>& parts) {
  return std::accumulate(parts.begin(), parts.end(), uint64_t{0});
}

// Checks the two defining properties of a largest-remainder split: the parts add up to
// the total, and each part is the floor of its exact share or one more.
void ExpectProportionalSplit(uint64_t total, const std::vector<uint64_t>& weights,
                             const std::vector<uint64_t>& parts) {
  ASSERT_EQ(parts.size(), weights.size());
  unsigned __int128 weight_sum = 0;
  for (uint64_t weight : weights) weight_sum += weight;
  unsigned __int128 parts_sum = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const unsigned __int128 floor_share =
        static_cast<unsigned __int128>(total) * weights[i] / weight_sum;
    EXPECT_TRUE(parts[i] == floor_share || parts[i] == floor_share + 1)
        << "part " << i << " is " << parts[i] << ", floor of exact share is "
        << static_cast<uint64_t>(floor_share);
    parts_sum += parts[i];
  }
  EXPECT_TRUE(parts_sum == total) << "parts sum to " << static_cast<uint64_t>(parts_sum)
                                  << ", expected " << total;
}

TEST(ApportionTest, EvenSplitIsExact) {
  EXPECT_THAT(ApportionLargestRemainder(90, {1, 1, 1}), ElementsAre(30, 30, 30));
  EXPECT_THAT(ApportionLargestRemainder(100, {3, 1}), ElementsAre(75, 25));
}

TEST(ApportionTest, SingleWeightTakesEverything) {
  EXPECT_THAT(ApportionLargestRemainder(88325, {7}), ElementsAre(88325));
}

TEST(ApportionTest, LeftoverGoesToLargestRemainder) {
  // 10 over {1, 2, 3, 4}: exact shares 1, 2, 3, 4.
  EXPECT_THAT(ApportionLargestRemainder(10, {1, 2, 3, 4}), ElementsAre(1, 2, 3, 4));
  // 11 over {1, 2, 3, 4}: exact 1.1, 2.2, 3.3, 4.4; floors sum to 10, the one left over
  // goes to the largest remainder (0.4, index 3).
  EXPECT_THAT(ApportionLargestRemainder(11, {1, 2, 3, 4}), ElementsAre(1, 2, 3, 5));
  // 7 over {1, 1, 4}: exact 1.1667, 1.1667, 4.6667; floors sum to 6, index 2 has 0.6667.
  EXPECT_THAT(ApportionLargestRemainder(7, {1, 1, 4}), ElementsAre(1, 1, 5));
}

TEST(ApportionTest, TiesGoToTheLowerIndex) {
  EXPECT_THAT(ApportionLargestRemainder(1, {1, 1}), ElementsAre(1, 0));
  EXPECT_THAT(ApportionLargestRemainder(2, {1, 1, 1}), ElementsAre(1, 1, 0));
  EXPECT_THAT(ApportionLargestRemainder(3, {1, 1, 1, 1}), ElementsAre(1, 1, 1, 0));
  // Remainders 1/5, 2/5, 2/5: the tie is among indexes 1 and 2, and index 1 wins.
  EXPECT_THAT(ApportionLargestRemainder(1, {1, 2, 2}), ElementsAre(0, 1, 0));
  // 5 over {1, 1, 1, 1}: every remainder is 1/4, the single extra unit goes to index 0.
  EXPECT_THAT(ApportionLargestRemainder(5, {1, 1, 1, 1}), ElementsAre(2, 1, 1, 1));
}

TEST(ApportionTest, ZeroTotalGivesZeroParts) {
  EXPECT_THAT(ApportionLargestRemainder(0, {5, 3, 2}), ElementsAre(0, 0, 0));
  // Requires: sum(weights) > 0 or total == 0, so all-zero weights are allowed here.
  EXPECT_THAT(ApportionLargestRemainder(0, {0, 0}), ElementsAre(0, 0));
  EXPECT_TRUE(ApportionLargestRemainder(0, {}).empty());
}

TEST(ApportionTest, ZeroWeightsGetNothing) {
  // 10 over {0, 3, 0, 1}: exact 0, 7.5, 0, 2.5; the remainders tie and index 1 wins.
  EXPECT_THAT(ApportionLargestRemainder(10, {0, 3, 0, 1}), ElementsAre(0, 8, 0, 2));
  // Even when every positive share has a large remainder, a zero weight stays at zero.
  EXPECT_THAT(ApportionLargestRemainder(2, {0, 1, 0, 1, 1, 0}), ElementsAre(0, 1, 0, 1, 0, 0));
  EXPECT_THAT(ApportionLargestRemainder(7, {0, 0, 9}), ElementsAre(0, 0, 7));
}

// The reported figures of the reference election split by hand over three weight sets.
TEST(ApportionTest, ReferenceFiguresSplitExactly) {
  // Over {5, 3, 2} (W = 10):
  //   50206: 25103.0, 15061.8, 10041.2 -> floors 25103 15061 10041 (sum 50205), +1 to index 1.
  EXPECT_THAT(ApportionLargestRemainder(50206, {5, 3, 2}), ElementsAre(25103, 15062, 10041));
  //   36169: 18084.5, 10850.7, 7233.8 -> floors sum 36167, +1 to index 2 (.8), index 1 (.7).
  EXPECT_THAT(ApportionLargestRemainder(36169, {5, 3, 2}), ElementsAre(18084, 10851, 7234));
  //   1950: 975, 585, 390 exactly.
  EXPECT_THAT(ApportionLargestRemainder(1950, {5, 3, 2}), ElementsAre(975, 585, 390));

  // Over {7, 11, 13} (W = 31):
  //   50206: 351442/31 = 11336 r 26, 552266/31 = 17815 r 1, 652678/31 = 21054 r 4;
  //   floors sum 50205, +1 to index 0 (r 26).
  EXPECT_THAT(ApportionLargestRemainder(50206, {7, 11, 13}), ElementsAre(11337, 17815, 21054));
  //   36169: 253183/31 = 8167 r 6, 397859/31 = 12834 r 5, 470197/31 = 15167 r 20;
  //   floors sum 36168, +1 to index 2 (r 20).
  EXPECT_THAT(ApportionLargestRemainder(36169, {7, 11, 13}), ElementsAre(8167, 12834, 15168));
  //   1950: 13650/31 = 440 r 10, 21450/31 = 691 r 29, 25350/31 = 817 r 23;
  //   floors sum 1948, +1 to index 1 (r 29) and index 2 (r 23).
  EXPECT_THAT(ApportionLargestRemainder(1950, {7, 11, 13}), ElementsAre(440, 692, 818));

  // Over the first four weights of the shipped roster, {1286, 7817, 2626, 558} (W = 12287).
  EXPECT_THAT(ApportionLargestRemainder(50206, {1286, 7817, 2626, 558}),
              ElementsAre(5255, 31941, 10730, 2280));
  EXPECT_THAT(ApportionLargestRemainder(36169, {1286, 7817, 2626, 558}),
              ElementsAre(3785, 23011, 7730, 1643));
  EXPECT_THAT(ApportionLargestRemainder(1950, {1286, 7817, 2626, 558}),
              ElementsAre(204, 1241, 417, 88));
}

TEST(ApportionTest, HugeFiguresUse128BitProducts) {
  // total * weight is near 2^124 here: a 64-bit product would wrap.
  const uint64_t total = kTwoTo62 + 12345;
  const std::vector<uint64_t> weights = {kTwoTo62, kTwoTo62 - 1, 3, kTwoTo61 + 7};
  const std::vector<uint64_t> parts = ApportionLargestRemainder(total, weights);
  EXPECT_THAT(parts, ElementsAre(uint64_t{1844674407370960098}, uint64_t{1844674407370960098},
                                 uint64_t{1}, uint64_t{922337203685480052}));
  ExpectProportionalSplit(total, weights, parts);
}

TEST(ApportionTest, LargestFigureOverWeightsSummingJustBelowTwoTo64) {
  // W = 2^64 - 1, the largest weight sum allowed. The third share is just under one half,
  // but its remainder is the largest, so it takes the one unit left over.
  const uint64_t max_figure = kTwoTo63 - 1;
  const std::vector<uint64_t> weights = {max_figure, max_figure, 1};
  const std::vector<uint64_t> parts = ApportionLargestRemainder(max_figure, weights);
  EXPECT_THAT(parts, ElementsAre(uint64_t{4611686018427387903}, uint64_t{4611686018427387903},
                                 uint64_t{1}));
  ExpectProportionalSplit(max_figure, weights, parts);
}

TEST(ApportionTest, ManySplitsAreExactAndProportional) {
  // A fixed linear congruential sequence gives varied totals and weight sets.
  uint64_t state = 88325;
  auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  };
  for (int round = 0; round < 200; ++round) {
    const uint64_t total = next() % 1000003;
    std::vector<uint64_t> weights(1 + next() % 40);
    for (uint64_t& weight : weights) weight = next() % 4 == 0 ? 0 : next() % 100000;
    weights.front() += 1;  // keep the weight sum positive
    const std::vector<uint64_t> parts = ApportionLargestRemainder(total, weights);
    ExpectProportionalSplit(total, weights, parts);
    for (size_t i = 0; i < weights.size(); ++i) {
      if (weights[i] == 0) {
        EXPECT_EQ(parts[i], 0u) << "round " << round << " index " << i;
      }
    }
    EXPECT_EQ(Sum(parts), total) << "round " << round;
  }
}

TEST(CheckedMathTest, AddGivesExactSumBelowTheLimit) {
  uint64_t sum = 50206;
  EXPECT_THAT(CheckedAdd(36169, &sum, "votes"), IsOk());
  EXPECT_EQ(sum, 86375u);
  EXPECT_THAT(CheckedAdd(0, &sum, "votes"), IsOk());
  EXPECT_EQ(sum, 86375u);
}

TEST(CheckedMathTest, AddReachesTheLimitExactly) {
  uint64_t sum = kMaxFigure - 1;
  EXPECT_THAT(CheckedAdd(1, &sum, "votes"), IsOk());
  EXPECT_EQ(sum, kMaxFigure);
  EXPECT_EQ(kMaxFigure, uint64_t{9223372036854775807});
}

TEST(CheckedMathTest, AddPastTheLimitIsOutOfRangeAndLeavesTheSum) {
  uint64_t sum = kMaxFigure;
  EXPECT_THAT(CheckedAdd(1, &sum, "sum of capacities"),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("sum of capacities")));
  EXPECT_EQ(sum, kMaxFigure);

  sum = kMaxFigure - 1;
  EXPECT_THAT(CheckedAdd(2, &sum, "votes"),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("exceeds 2^63 - 1")));
  EXPECT_EQ(sum, kMaxFigure - 1);
}

TEST(CheckedMathTest, AddThatWraps64BitsIsOutOfRange) {
  uint64_t sum = 10;
  EXPECT_THAT(CheckedAdd(std::numeric_limits<uint64_t>::max(), &sum, "votes"),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("votes")));
  EXPECT_EQ(sum, 10u);
}

TEST(CheckedMathTest, MulGivesExactProductBelowTheLimit) {
  uint64_t product = 0;
  EXPECT_THAT(CheckedMul(88325, 1000, &product, "scaled cast"), IsOk());
  EXPECT_EQ(product, 88325000u);
  // floor(sqrt(2^63 - 1)) = 3037000499: its square still fits.
  EXPECT_THAT(CheckedMul(3037000499, 3037000499, &product, "scaled cast"), IsOk());
  EXPECT_EQ(product, uint64_t{9223372030926249001});
  EXPECT_THAT(CheckedMul(kMaxFigure, 1, &product, "scaled cast"), IsOk());
  EXPECT_EQ(product, kMaxFigure);
  EXPECT_THAT(CheckedMul(0, std::numeric_limits<uint64_t>::max(), &product, "scaled cast"), IsOk());
  EXPECT_EQ(product, 0u);
}

TEST(CheckedMathTest, MulPastTheLimitIsOutOfRange) {
  uint64_t product = 7;
  // 2^31 * 2^32 = 2^63: fits in 64 bits but passes 2^63 - 1.
  EXPECT_THAT(CheckedMul(uint64_t{1} << 31, uint64_t{1} << 32, &product, "scaled capacity"),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("scaled capacity")));
  EXPECT_EQ(product, 7u);
  // 3037000500^2 = 9223372037000250000 > 2^63 - 1.
  EXPECT_THAT(CheckedMul(3037000500, 3037000500, &product, "scaled capacity"),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("exceeds 2^63 - 1")));
  // A product that wraps 64 bits.
  EXPECT_THAT(CheckedMul(kTwoTo63, 4, &product, "scaled capacity"),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("scaled capacity")));
  EXPECT_EQ(product, 7u);
}

}  // namespace
}  // namespace canvass
