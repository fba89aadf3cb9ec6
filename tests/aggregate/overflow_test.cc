// Overflow tests of the Aggregator: counters started from a prior tally near 2^63 - 1
// (Aggregator::StartFrom) reach the limit exactly, and one more is OutOfRange, never a
// wrapped figure.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/aggregate/aggregator.h"
#include "engine/ballot/batch.h"
#include "engine/ballot/tally.h"
#include "engine/base/checked_math.h"
#include "engine/election/election.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/batches.h"
#include "tests/testing/status_matchers.h"

namespace canvass {
namespace {

using ::canvass::testing::IsOk;
using ::canvass::testing::MakeBatch;
using ::canvass::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr uint64_t kLimit = kMaxFigure;  // 2^63 - 1
constexpr ChoiceIndex kA = 0;
constexpr ChoiceIndex kB = 1;

static_assert(kLimit == 9223372036854775807ULL);

// Two stations of capacity 10, two choices.
const Election& SmallElection() {
  static const Election* const kElection = [] {
    absl::StatusOr<Election> election = ParseElection(
        R"({"id": "overflow", "title": "overflow test", "roster": "r.csv",
            "choices": [{"code": "A"}, {"code": "B"}]})",
        "election.json", "station,country,capacity\nS0,AA,10\nS1,BB,10\n", "r.csv");
    EXPECT_THAT(election, IsOk());
    return new Election(*std::move(election));
  }();
  return *kElection;
}

Tally EmptyPrior() { return Tally(2, 2); }

auto IsOutOfRange() { return StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("2^63 - 1")); }

// ---- One past the limit ----

TEST(AggregatorOverflowTest, CountedPastTheLimitIsOutOfRange) {
  Tally prior = EmptyPrior();
  prior.counted[0 * 2 + kB] = kLimit;  // station 0, choice B
  prior.station_records[0] = kLimit;
  Aggregator aggregator(SmallElection());
  aggregator.StartFrom(prior);
  aggregator.Add(MakeBatch(0, {{1, kB}}));
  EXPECT_THAT(aggregator.Finish(), IsOutOfRange());
}

TEST(AggregatorOverflowTest, CountedPastTheLimitOnTheGeneralPathIsOutOfRange) {
  Tally prior = EmptyPrior();
  prior.counted[1 * 2 + kA] = kLimit;  // station 1, choice A
  Aggregator aggregator(SmallElection());
  aggregator.StartFrom(prior);
  // Not consecutive: counted one record at a time.
  aggregator.Add(MakeBatch(1, {{7, kA}, {3, kA}}));
  EXPECT_THAT(aggregator.Finish(), IsOutOfRange());
}

TEST(AggregatorOverflowTest, MalformedPastTheLimitIsOutOfRange) {
  Tally prior = EmptyPrior();
  prior.rejected[static_cast<int>(RejectReason::kMalformed)] = kLimit;
  Aggregator aggregator(SmallElection());
  aggregator.StartFrom(prior);
  aggregator.AddMalformed(1);
  EXPECT_THAT(aggregator.Finish(), IsOutOfRange());
}

TEST(AggregatorOverflowTest, HugeMalformedCountDoesNotWrapTheCounter) {
  Tally prior = EmptyPrior();
  prior.rejected[static_cast<int>(RejectReason::kMalformed)] = kLimit;
  Aggregator aggregator(SmallElection());
  aggregator.StartFrom(prior);
  // kLimit + (kLimit + 2) wraps a uint64_t to exactly 0.
  aggregator.AddMalformed(kLimit + 2);
  EXPECT_THAT(aggregator.Finish(), IsOutOfRange());
}

TEST(AggregatorOverflowTest, UnknownStationPastTheLimitIsOutOfRange) {
  Tally prior = EmptyPrior();
  prior.rejected[static_cast<int>(RejectReason::kUnknownStation)] = kLimit;
  Aggregator aggregator(SmallElection());
  aggregator.StartFrom(prior);
  aggregator.Add(MakeBatch(kUnknownStation, {{1, kA}}));
  EXPECT_THAT(aggregator.Finish(), IsOutOfRange());
}

TEST(AggregatorOverflowTest, BadSeqPastTheLimitIsOutOfRange) {
  Tally prior = EmptyPrior();
  prior.rejected[static_cast<int>(RejectReason::kBadSeq)] = kLimit;
  prior.station_records[0] = kLimit;
  Aggregator aggregator(SmallElection());
  aggregator.StartFrom(prior);
  aggregator.Add(MakeBatch(0, {{11, kA}}));  // past capacity 10
  EXPECT_THAT(aggregator.Finish(), IsOutOfRange());
}

TEST(AggregatorOverflowTest, StationRecordsPastTheLimitIsOutOfRange) {
  // The station's records are at the limit; the new record itself is counted, so only
  // the station's records counter passes 2^63 - 1.
  Tally prior = EmptyPrior();
  prior.rejected[static_cast<int>(RejectReason::kUnknownChoice)] = kLimit;
  prior.station_records[1] = kLimit;
  Aggregator aggregator(SmallElection());
  aggregator.StartFrom(prior);
  aggregator.Add(MakeBatch(1, {{1, kA}}));
  EXPECT_THAT(aggregator.Finish(), IsOutOfRange());
}

TEST(AggregatorOverflowTest, DuplicatePastTheLimitIsOutOfRange) {
  Tally prior = EmptyPrior();
  prior.rejected[static_cast<int>(RejectReason::kDuplicate)] = kLimit - 1;
  prior.station_records[0] = kLimit - 1;
  Aggregator aggregator(SmallElection());
  aggregator.StartFrom(prior);
  aggregator.Add(MakeBatch(0, {{1, kA}}));
  aggregator.Add(MakeBatch(0, {{1, kA}}));  // a duplicate
  EXPECT_THAT(aggregator.Finish(), StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("2^63")));
}

// Every counter is within range on its own, but records read (their sum) is not.
TEST(AggregatorOverflowTest, RecordsReadPastTheLimitIsOutOfRange) {
  Tally prior = EmptyPrior();
  prior.rejected[static_cast<int>(RejectReason::kMalformed)] = kLimit - 5;
  prior.rejected[static_cast<int>(RejectReason::kUnknownStation)] = 3;
  Aggregator aggregator(SmallElection());
  aggregator.StartFrom(prior);
  aggregator.Add(MakeBatch(0, {{1, kA}, {2, kB}, {3, kA}}));
  EXPECT_THAT(aggregator.Finish(),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("records read")));
}

// ---- At the limit exactly: OK, with exact figures ----

TEST(AggregatorOverflowTest, MalformedReachingTheLimitExactlyIsOk) {
  Tally prior = EmptyPrior();
  prior.rejected[static_cast<int>(RejectReason::kMalformed)] = kLimit - 3;
  Aggregator aggregator(SmallElection());
  aggregator.StartFrom(prior);
  aggregator.AddMalformed(2);
  aggregator.AddMalformed(1);
  absl::StatusOr<Tally> tally = aggregator.Finish();
  ASSERT_THAT(tally, IsOk());
  EXPECT_EQ(tally->Rejected(RejectReason::kMalformed), kLimit);
  EXPECT_EQ(tally->records_read, kLimit);
}

TEST(AggregatorOverflowTest, EveryCounterJustBelowTheLimitAddsUpExactly) {
  // A consistent prior: station 0 read kLimit - 10 records, all conflicts, and 2 ballots
  // for A at station 1.
  Tally prior = EmptyPrior();
  prior.rejected[static_cast<int>(RejectReason::kConflict)] = kLimit - 10;
  prior.station_records[0] = kLimit - 10;
  prior.counted[1 * 2 + kA] = 2;
  prior.station_records[1] = 2;
  Aggregator aggregator(SmallElection());
  aggregator.StartFrom(prior);
  aggregator.Add(MakeBatch(0, {{1, kA}}));
  aggregator.Add(MakeBatch(0, {{1, kB}}));           // identity (0, 1) conflicts: 2 more
  aggregator.Add(MakeBatch(0, {{2, kA}, {2, kA}}));  // one counted, one duplicate
  aggregator.Add(MakeBatch(1, {{5, kB}, {6, kA}}));  // two counted at station 1
  aggregator.AddMalformed(2);
  // Records read: (kLimit - 10 + 4) + (2 + 2) + 2 = kLimit exactly.
  absl::StatusOr<Tally> tally = aggregator.Finish();
  ASSERT_THAT(tally, IsOk());
  EXPECT_EQ(tally->records_read, kLimit);
  EXPECT_EQ(tally->Rejected(RejectReason::kConflict), kLimit - 8);
  EXPECT_EQ(tally->Rejected(RejectReason::kDuplicate), 1u);
  EXPECT_EQ(tally->Rejected(RejectReason::kMalformed), 2u);
  EXPECT_THAT(tally->station_records, ElementsAre(kLimit - 6, 4u));
  EXPECT_THAT(tally->counted, ElementsAre(1u, 0u, 3u, 1u));
  EXPECT_EQ(tally->records_read, tally->TotalCounted() + tally->TotalRejected());
}

TEST(AggregatorOverflowTest, StationRecordsReachingTheLimitExactlyIsOk) {
  Tally prior = EmptyPrior();
  prior.rejected[static_cast<int>(RejectReason::kBadSeq)] = kLimit - 2;
  prior.station_records[1] = kLimit - 2;
  Aggregator aggregator(SmallElection());
  aggregator.StartFrom(prior);
  aggregator.Add(MakeBatch(1, {{0, kA}, {10, kB}}));  // one bad serial, one counted
  absl::StatusOr<Tally> tally = aggregator.Finish();
  ASSERT_THAT(tally, IsOk());
  EXPECT_EQ(tally->station_records[1], kLimit);
  EXPECT_EQ(tally->records_read, kLimit);
  EXPECT_EQ(tally->Rejected(RejectReason::kBadSeq), kLimit - 1);
  EXPECT_EQ(tally->Counted(1, kB), 1u);
}

TEST(AggregatorOverflowTest, UnknownStationReachingTheLimitExactlyIsOk) {
  Tally prior = EmptyPrior();
  prior.rejected[static_cast<int>(RejectReason::kUnknownStation)] = kLimit - 3;
  Aggregator aggregator(SmallElection());
  aggregator.StartFrom(prior);
  aggregator.Add(MakeBatch(kUnknownStation, {{1, kA}, {2, kA}, {3, kB}}));
  absl::StatusOr<Tally> tally = aggregator.Finish();
  ASSERT_THAT(tally, IsOk());
  EXPECT_EQ(tally->Rejected(RejectReason::kUnknownStation), kLimit);
  EXPECT_EQ(tally->records_read, kLimit);
}

// Starting from a prior tally adds to it: the prior's figures plus the new input's.
TEST(AggregatorOverflowTest, StartFromAddsThePriorFigures) {
  Tally prior = EmptyPrior();
  prior.counted = {3, 1, 0, 2};
  prior.station_records = {5, 2};
  prior.rejected[static_cast<int>(RejectReason::kDuplicate)] = 1;
  prior.rejected[static_cast<int>(RejectReason::kMalformed)] = 4;
  Aggregator aggregator(SmallElection());
  aggregator.StartFrom(prior);
  aggregator.Add(MakeBatch(0, {{1, kB}, {2, kB}}));
  absl::StatusOr<Tally> tally = aggregator.Finish();
  ASSERT_THAT(tally, IsOk());
  EXPECT_THAT(tally->counted, ElementsAre(3u, 3u, 0u, 2u));
  EXPECT_THAT(tally->station_records, ElementsAre(7u, 2u));
  EXPECT_EQ(tally->Rejected(RejectReason::kDuplicate), 1u);
  EXPECT_EQ(tally->Rejected(RejectReason::kMalformed), 4u);
  EXPECT_EQ(tally->records_read, 4u + 7u + 2u);
}

}  // namespace
}  // namespace canvass
