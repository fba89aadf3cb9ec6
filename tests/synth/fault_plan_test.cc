// Tests of FaultPlan: parsing the `--faults` spec, its errors, and printing it back.
#include "engine/synth/fault_plan.h"

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/synth/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace canvass {

// Prints a plan with every digit in failure messages (found by argument-dependent lookup).
void PrintTo(const FaultPlan& plan, std::ostream* out) {
  for (int f = 0; f < kNumFaults; ++f) {
    *out << (f == 0 ? "" : ",") << FaultName(static_cast<Fault>(f)) << "="
         << absl::StrFormat("%.17g", plan.probability[f]);
  }
}

namespace {

using ::canvass::testing::IsOk;
using ::canvass::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

// The example spec of docs/STRESS.md and `canvass run --help`, in enum order.
constexpr char kExampleSpec[] =
    "drop=0.01,dup=0.005,conflict=0.001,corrupt=0.001,unknown_station=0.0005,"
    "unknown_choice=0.0005,bad_seq=0.0005,reorder=1,truncate=0.01,double_report=0.02";

FaultPlan ParseOrDie(const std::string& spec) {
  absl::StatusOr<FaultPlan> plan = FaultPlan::Parse(spec);
  EXPECT_THAT(plan, IsOk()) << spec;
  return plan.ok() ? *plan : FaultPlan();
}

TEST(FaultNameTest, NamesFollowTheEnumOrder) {
  const std::vector<std::string> expected = {
      "drop",           "dup",     "conflict", "corrupt",  "unknown_station",
      "unknown_choice", "bad_seq", "reorder",  "truncate", "double_report"};
  ASSERT_EQ(expected.size(), static_cast<size_t>(kNumFaults));
  for (int f = 0; f < kNumFaults; ++f) {
    EXPECT_EQ(FaultName(static_cast<Fault>(f)), expected[f]) << f;
  }
}

TEST(FaultPlanParseTest, ExampleSpecGivesEveryProbabilityExactly) {
  const FaultPlan plan = ParseOrDie(kExampleSpec);
  EXPECT_EQ(plan[Fault::kDrop], 0.01);
  EXPECT_EQ(plan[Fault::kDup], 0.005);
  EXPECT_EQ(plan[Fault::kConflict], 0.001);
  EXPECT_EQ(plan[Fault::kCorrupt], 0.001);
  EXPECT_EQ(plan[Fault::kUnknownStation], 0.0005);
  EXPECT_EQ(plan[Fault::kUnknownChoice], 0.0005);
  EXPECT_EQ(plan[Fault::kBadSeq], 0.0005);
  EXPECT_EQ(plan[Fault::kReorder], 1.0);
  EXPECT_EQ(plan[Fault::kTruncate], 0.01);
  EXPECT_EQ(plan[Fault::kDoubleReport], 0.02);
  EXPECT_TRUE(plan.Any());
}

TEST(FaultPlanParseTest, OrderOfItemsDoesNotMatter) {
  EXPECT_EQ(ParseOrDie("reorder=1,drop=0.25"), ParseOrDie("drop=0.25,reorder=1"));
}

TEST(FaultPlanParseTest, EmptySpecIsTheEmptyPlan) {
  const FaultPlan plan = ParseOrDie("");
  EXPECT_FALSE(plan.Any());
  EXPECT_EQ(plan, FaultPlan());
  EXPECT_EQ(plan.ToString(), "");
}

TEST(FaultPlanParseTest, ZeroProbabilitiesAreNoFaults) {
  const FaultPlan plan = ParseOrDie("drop=0,reorder=0");
  EXPECT_FALSE(plan.Any());
  EXPECT_EQ(plan.ToString(), "");
}

TEST(FaultPlanParseTest, BoundsAndNumberFormsAreAccepted) {
  EXPECT_EQ(ParseOrDie("drop=1")[Fault::kDrop], 1.0);
  EXPECT_EQ(ParseOrDie("drop=1.0")[Fault::kDrop], 1.0);
  EXPECT_EQ(ParseOrDie("drop=0")[Fault::kDrop], 0.0);
  EXPECT_EQ(ParseOrDie("drop=1e-3")[Fault::kDrop], 0.001);
  EXPECT_EQ(ParseOrDie("truncate=0.5")[Fault::kTruncate], 0.5);
}

TEST(FaultPlanParseTest, AnyIsTrueForEachSingleFault) {
  for (int f = 0; f < kNumFaults; ++f) {
    const std::string spec = absl::StrCat(FaultName(static_cast<Fault>(f)), "=0.5");
    const FaultPlan plan = ParseOrDie(spec);
    EXPECT_TRUE(plan.Any()) << spec;
    for (int g = 0; g < kNumFaults; ++g) {
      EXPECT_EQ(plan.probability[g], f == g ? 0.5 : 0.0) << spec << " fault " << g;
    }
  }
}

// Every error is InvalidArgument and names the item that is wrong.
void ExpectBadSpec(const std::string& spec, const std::string& bad_item, const std::string& why) {
  EXPECT_THAT(FaultPlan::Parse(spec),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(absl::StrCat("\"", bad_item, "\"")), HasSubstr(why))))
      << spec;
}

TEST(FaultPlanParseTest, UnknownNameIsRejectedNamingIt) {
  ExpectBadSpec("flood=0.1", "flood=0.1", "unknown fault");
  ExpectBadSpec("drop=0.1,flood=0.1", "flood=0.1", "flood");
  // Names are exact: no case folding, no surrounding spaces.
  ExpectBadSpec("DROP=0.1", "DROP=0.1", "unknown fault");
  ExpectBadSpec("drop=0.1, dup=0.1", " dup=0.1", "unknown fault");
  // The message lists what would have been accepted.
  EXPECT_THAT(FaultPlan::Parse("flood=0.1"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("drop"), HasSubstr("double_report"))));
}

TEST(FaultPlanParseTest, ProbabilityOutsideZeroToOneIsRejected) {
  ExpectBadSpec("drop=1.5", "drop=1.5", "outside 0..1");
  ExpectBadSpec("drop=-0.1", "drop=-0.1", "outside 0..1");
  ExpectBadSpec("reorder=2", "reorder=2", "outside 0..1");
  ExpectBadSpec("truncate=1.0000001", "truncate=1.0000001", "outside 0..1");
  ExpectBadSpec("dup=0.1,drop=-1e-9", "drop=-1e-9", "outside 0..1");
}

TEST(FaultPlanParseTest, ValueThatIsNotANumberIsRejected) {
  for (const char* spec : {"drop=abc", "drop=", "drop=0.1x", "drop=nan", "drop=inf", "drop=-inf",
                           "drop=0.1 ", "drop= 0.1", "drop=0,5", "drop==0.1", "drop=1e999"}) {
    EXPECT_THAT(FaultPlan::Parse(spec), StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_))
        << spec;
  }
  ExpectBadSpec("drop=abc", "drop=abc", "not a number");
  ExpectBadSpec("drop=", "drop=", "not a number");
  ExpectBadSpec("drop=0.1x", "drop=0.1x", "not a number");
  ExpectBadSpec("drop=nan", "drop=nan", "not a number");
  ExpectBadSpec("drop=inf", "drop=inf", "not a number");
  ExpectBadSpec("drop==0.1", "drop==0.1", "not a number");
}

TEST(FaultPlanParseTest, MissingEqualsSignIsRejected) {
  ExpectBadSpec("drop", "drop", "name=probability");
  ExpectBadSpec("drop=0.1,dup", "dup", "name=probability");
  ExpectBadSpec("=0.1", "=0.1", "name=probability");
}

TEST(FaultPlanParseTest, EmptyItemIsRejected) {
  EXPECT_THAT(FaultPlan::Parse("drop=0.1,"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name=probability")));
  EXPECT_THAT(FaultPlan::Parse(",drop=0.1"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name=probability")));
  EXPECT_THAT(FaultPlan::Parse("drop=0.1,,dup=0.1"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name=probability")));
}

TEST(FaultPlanParseTest, RepeatedNameIsRejected) {
  ExpectBadSpec("drop=0.1,drop=0.2", "drop=0.2", "given twice");
  // Even when both values agree, and when the first one is zero.
  ExpectBadSpec("drop=0.1,dup=0.1,drop=0.1", "drop=0.1", "given twice");
  ExpectBadSpec("reorder=0,reorder=1", "reorder=1", "given twice");
}

TEST(FaultPlanToStringTest, ExampleSpecPrintsBackVerbatim) {
  EXPECT_EQ(ParseOrDie(kExampleSpec).ToString(), kExampleSpec);
}

TEST(FaultPlanToStringTest, PrintsPlainShortNumbersInEnumOrder) {
  EXPECT_EQ(ParseOrDie("bad_seq=0.0005").ToString(), "bad_seq=0.0005");
  EXPECT_EQ(ParseOrDie("reorder=1,drop=0.5").ToString(), "drop=0.5,reorder=1");
  EXPECT_EQ(ParseOrDie("double_report=1.0").ToString(), "double_report=1");
}

TEST(FaultPlanToStringTest, RoundTripsTheExampleAndEverySingleFault) {
  const FaultPlan example = ParseOrDie(kExampleSpec);
  EXPECT_EQ(ParseOrDie(example.ToString()), example);
  for (int f = 0; f < kNumFaults; ++f) {
    for (double p : {1.0, 0.5, 0.25, 0.01, 0.0005, 1e-4, 1e-7}) {
      FaultPlan plan;
      plan.probability[f] = p;
      EXPECT_EQ(ParseOrDie(plan.ToString()), plan) << plan.ToString();
    }
  }
}

// fault_plan.h promises "shortest round-trip numbers": Parse(ToString(p)) == p for every
// probability, not only those with six significant digits or fewer. `canvass stress` draws
// plans with arbitrary doubles and prints them with ToString, so a plan printed with six
// digits is not the plan that ran.
TEST(FaultPlanToStringTest, RoundTripsProbabilitiesWithMoreThanSixDigits) {
  for (double p : {0.1234567, 0.1 + 0.2, 0.012345678901234, 1.0 / 3.0, 0.99999999}) {
    FaultPlan plan;
    plan[Fault::kDrop] = p;
    EXPECT_EQ(ParseOrDie(plan.ToString()), plan)
        << "printed \"" << plan.ToString() << "\" for " << absl::StrFormat("%.17g", p);
  }
  // Random plans, as `canvass stress` draws them.
  for (uint64_t i = 0; i < 200; ++i) {
    FaultPlan plan;
    for (int f = 0; f < kNumFaults; ++f) {
      plan.probability[f] = UnitOpen(KeyedRandom(99, i, static_cast<uint64_t>(f)));
    }
    ASSERT_EQ(ParseOrDie(plan.ToString()), plan) << "printed \"" << plan.ToString() << "\"";
  }
}

}  // namespace
}  // namespace canvass
