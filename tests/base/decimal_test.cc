// Tests for ParseDecimalUint64 (engine/base/decimal.h): the one parser of counts given as
// flags, environment variables and roster fields.
#include "engine/base/decimal.h"

#include <cstdint>
#include <optional>

#include "gtest/gtest.h"

namespace canvass {
namespace {

TEST(ParseDecimalUint64Test, ZeroAndTheLargestValue) {
  EXPECT_EQ(ParseDecimalUint64("0"), uint64_t{0});
  EXPECT_EQ(ParseDecimalUint64("18446744073709551615"), UINT64_MAX);
}

TEST(ParseDecimalUint64Test, OverflowIsRefused) {
  EXPECT_EQ(ParseDecimalUint64("18446744073709551616"), std::nullopt);
  EXPECT_EQ(ParseDecimalUint64("99999999999999999999999"), std::nullopt);
}

TEST(ParseDecimalUint64Test, LeadingZerosAreDecimalNotOctal) {
  EXPECT_EQ(ParseDecimalUint64("010"), uint64_t{10});
  EXPECT_EQ(ParseDecimalUint64("0000000000000000000000018446744073709551615"), UINT64_MAX);
}

TEST(ParseDecimalUint64Test, SignsSpacesAndPrefixesAreRefused) {
  EXPECT_EQ(ParseDecimalUint64(""), std::nullopt);
  EXPECT_EQ(ParseDecimalUint64("-1"), std::nullopt);
  EXPECT_EQ(ParseDecimalUint64("+1"), std::nullopt);
  EXPECT_EQ(ParseDecimalUint64(" 1"), std::nullopt);
  EXPECT_EQ(ParseDecimalUint64("1 "), std::nullopt);
  EXPECT_EQ(ParseDecimalUint64("0x10"), std::nullopt);
  EXPECT_EQ(ParseDecimalUint64("1e3"), std::nullopt);
  EXPECT_EQ(ParseDecimalUint64("1.0"), std::nullopt);
}

}  // namespace
}  // namespace canvass
