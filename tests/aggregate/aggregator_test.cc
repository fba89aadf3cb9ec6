// Tests of the parallel Aggregator: counting rules, fast vs general path, parallel == reference.
#include "engine/aggregate/aggregator.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <numeric>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/aggregate/reference_aggregator.h"
#include "engine/ballot/batch.h"
#include "engine/ballot/tally.h"
#include "engine/base/checked_math.h"
#include "engine/base/kernel.h"
#include "engine/election/election.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tbb/blocked_range.h"
#include "tbb/global_control.h"
#include "tbb/parallel_for.h"
#include "tbb/task_arena.h"
#include "tests/testing/batches.h"
#include "tests/testing/elections.h"
#include "tests/testing/status_matchers.h"

namespace canvass {

// Lets GoogleTest print a Tally when an EXPECT_EQ on two of them fails.
void PrintTo(const Tally& tally, std::ostream* os) {
  *os << "Tally{stations=" << tally.num_stations << " choices=" << tally.num_choices
      << " records_read=" << tally.records_read << " rejected=["
      << absl::StrJoin(tally.rejected, ",") << "] counted=[" << absl::StrJoin(tally.counted, ",")
      << "] station_records=[" << absl::StrJoin(tally.station_records, ",") << "]}";
}

namespace {

using ::canvass::testing::IsOk;
using ::canvass::testing::MakeBatch;
using ::canvass::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using Rejections = std::array<uint64_t, kNumRejectReasons>;

constexpr ChoiceIndex kA = 0;
constexpr ChoiceIndex kB = 1;
constexpr ChoiceIndex kC = 2;
constexpr uint64_t kMaxSeq = std::numeric_limits<uint64_t>::max();

// The rejection counts of a tally, with `counts` set and every other reason zero.
Rejections MakeRejections(std::initializer_list<std::pair<RejectReason, uint64_t>> counts) {
  Rejections rejections{};
  for (const auto& [reason, count] : counts) rejections[static_cast<int>(reason)] = count;
  return rejections;
}

// An election with choices C0..C{num_choices-1}, stations S0..S{n-1} with the given
// capacities (in countries AA, BB, AA, ...) and no reported figures, built through the real
// loader.
Election MakeElection(int num_choices, const std::vector<uint64_t>& capacities) {
  return testing::ElectionBuilder("agg-test", "aggregator test")
      .AddChoices(num_choices)
      .AddStations(capacities, {"AA", "BB"})
      .Build();
}

// Serials first..first+count-1 of `station`, choice given by `choice_of(seq)`.
template <typename ChoiceOf>
BallotBatch MakeRun(StationIndex station, uint64_t first, uint64_t count, ChoiceOf choice_of) {
  BallotBatch batch;
  batch.station = station;
  for (uint64_t seq = first; seq < first + count; ++seq) {
    batch.seq.push_back(seq);
    batch.choice.push_back(choice_of(seq));
  }
  return batch;
}

// Finish()'s tally; a failed test and an empty tally if it is not OK.
Tally FinishOk(Aggregator& aggregator) {
  absl::StatusOr<Tally> tally = aggregator.Finish();
  EXPECT_THAT(tally, IsOk());
  return tally.ok() ? *std::move(tally) : Tally();
}

Tally AggregateSerially(const Election& election, const std::vector<BallotBatch>& batches,
                        uint64_t malformed_records = 0) {
  Aggregator aggregator(election);
  for (const BallotBatch& batch : batches) aggregator.Add(batch);
  if (malformed_records > 0) aggregator.AddMalformed(malformed_records);
  return FinishOk(aggregator);
}

// Aggregates serially and checks the result against the reference aggregator, so every
// hand-made case is also a same-answer check.
Tally AggregateAndCompare(const Election& election, const std::vector<BallotBatch>& batches,
                          uint64_t malformed_records = 0) {
  Tally tally = AggregateSerially(election, batches, malformed_records);
  EXPECT_EQ(tally, ReferenceAggregate(election, batches, malformed_records));
  EXPECT_EQ(tally.records_read, tally.TotalCounted() + tally.TotalRejected());
  return tally;
}

// ---------------------------------------------------------------------------------------
// Identity rules: duplicates and conflicts.

TEST(AggregatorTest, TwoIdenticalCopiesCountOnceAndRejectOneDuplicate) {
  const Election election = MakeElection(3, {10});
  // Same batch, and split across two batches.
  for (const std::vector<BallotBatch>& batches :
       {std::vector<BallotBatch>{MakeBatch(0, {{4, kB}, {4, kB}})},
        std::vector<BallotBatch>{MakeBatch(0, {{4, kB}}), MakeBatch(0, {{4, kB}})}}) {
    Tally tally = AggregateAndCompare(election, batches);
    EXPECT_THAT(tally.counted, ElementsAre(0, 1, 0));
    EXPECT_EQ(tally.rejected, MakeRejections({{RejectReason::kDuplicate, 1}}));
    EXPECT_EQ(tally.records_read, 2u);
    EXPECT_EQ(tally.TotalCounted(), 1u);
  }
}

TEST(AggregatorTest, ThreeIdenticalCopiesCountOnceAndRejectTwoDuplicates) {
  const Election election = MakeElection(3, {10});
  Tally tally =
      AggregateAndCompare(election, {MakeBatch(0, {{7, kC}, {7, kC}}), MakeBatch(0, {{7, kC}})});
  EXPECT_THAT(tally.counted, ElementsAre(0, 0, 1));
  EXPECT_EQ(tally.rejected, MakeRejections({{RejectReason::kDuplicate, 2}}));
  EXPECT_EQ(tally.records_read, 3u);
}

TEST(AggregatorTest, TwoDisagreeingCopiesAreBothConflictsAndNeitherCounts) {
  const Election election = MakeElection(3, {10});
  for (const std::vector<BallotBatch>& batches :
       {std::vector<BallotBatch>{MakeBatch(0, {{2, kA}, {2, kB}})},
        std::vector<BallotBatch>{MakeBatch(0, {{2, kB}}), MakeBatch(0, {{2, kA}})}}) {
    Tally tally = AggregateAndCompare(election, batches);
    EXPECT_THAT(tally.counted, ElementsAre(0, 0, 0));
    EXPECT_EQ(tally.rejected, MakeRejections({{RejectReason::kConflict, 2}}));
    EXPECT_EQ(tally.records_read, 2u);
  }
}

// A, A, B for one identity, in all 6 orders of the three copies, each order fed as one
// batch, as three batches, and as two batches fed either way round. Two other ballots
// of the station are counted around them.
TEST(AggregatorTest, CopiesAABAreThreeConflictsInEveryOrderAndBatching) {
  const Election election = MakeElection(3, {10});
  const std::array<ChoiceIndex, 3> copies = {kA, kA, kB};
  std::array<int, 3> order = {0, 1, 2};
  int orders_seen = 0;
  do {
    ++orders_seen;
    const ChoiceIndex first = copies[order[0]];
    const ChoiceIndex second = copies[order[1]];
    const ChoiceIndex third = copies[order[2]];
    const BallotBatch others = MakeBatch(0, {{1, kA}, {2, kB}});
    std::vector<std::vector<BallotBatch>> batchings = {
        {others, MakeBatch(0, {{5, first}, {5, second}, {5, third}})},
        {MakeBatch(0, {{5, first}}), others, MakeBatch(0, {{5, second}}),
         MakeBatch(0, {{5, third}})},
        {MakeBatch(0, {{5, first}, {5, second}}), MakeBatch(0, {{5, third}}), others},
        {MakeBatch(0, {{5, third}}), MakeBatch(0, {{5, first}, {5, second}}), others},
        {MakeBatch(0, {{1, kA}, {5, first}}), MakeBatch(0, {{2, kB}, {5, second}, {5, third}})},
    };
    for (size_t b = 0; b < batchings.size(); ++b) {
      SCOPED_TRACE(absl::StrCat("order ", order[0], order[1], order[2], " batching ", b));
      Tally tally = AggregateAndCompare(election, batchings[b]);
      EXPECT_THAT(tally.counted, ElementsAre(1, 1, 0));
      EXPECT_EQ(tally.rejected, MakeRejections({{RejectReason::kConflict, 3}}));
      EXPECT_EQ(tally.records_read, 5u);
    }
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(orders_seen, 6);
}

TEST(AggregatorTest, ThreeCopiesWithThreeDifferentChoicesAreThreeConflicts) {
  const Election election = MakeElection(3, {10});
  // Every order of the three copies (spelled out: GCC 12 warns falsely on
  // std::next_permutation over three bytes).
  const std::array<std::array<ChoiceIndex, 3>, 6> orders = {
      {{kA, kB, kC}, {kA, kC, kB}, {kB, kA, kC}, {kB, kC, kA}, {kC, kA, kB}, {kC, kB, kA}}};
  for (const std::array<ChoiceIndex, 3>& choices : orders) {
    Tally tally = AggregateAndCompare(election, {MakeBatch(0, {{9, choices[0]}}),
                                                 MakeBatch(0, {{9, choices[1]}, {9, choices[2]}})});
    EXPECT_THAT(tally.counted, ElementsAre(0, 0, 0));
    EXPECT_EQ(tally.rejected, MakeRejections({{RejectReason::kConflict, 3}}));
  }
}

TEST(AggregatorTest, SameSerialAtDifferentStationsIsTwoIdentities) {
  const Election election = MakeElection(2, {5, 5});
  Tally tally = AggregateAndCompare(election, {MakeBatch(0, {{3, kA}}), MakeBatch(1, {{3, kB}})});
  EXPECT_THAT(tally.counted, ElementsAre(1, 0, 0, 1));
  EXPECT_EQ(tally.TotalRejected(), 0u);
}

TEST(AggregatorTest, ConflictAndDuplicateOfDifferentIdentitiesInOneBatch) {
  const Election election = MakeElection(2, {10});
  Tally tally = AggregateAndCompare(
      election, {MakeBatch(0, {{1, kA}, {2, kA}, {1, kB}, {2, kA}, {3, kB}, {2, kA}})});
  EXPECT_THAT(tally.counted, ElementsAre(1, 1));  // seq 2 once, seq 3 once
  EXPECT_EQ(tally.rejected,
            MakeRejections({{RejectReason::kDuplicate, 2}, {RejectReason::kConflict, 2}}));
  EXPECT_EQ(tally.records_read, 6u);
}

// ---------------------------------------------------------------------------------------
// The first four checks and their precedence.

TEST(AggregatorTest, UnknownStationBatchRejectsEveryRecordAsUnknownStation) {
  const Election election = MakeElection(2, {5});
  // Unknown choices and bad serials too: unknown_station comes first.
  BallotBatch batch = MakeBatch(kUnknownStation, {{1, kA}, {0, kB}, {6, kUnknownChoice}, {1, 7}});
  Tally tally = AggregateAndCompare(election, {batch});
  EXPECT_EQ(tally.rejected, MakeRejections({{RejectReason::kUnknownStation, 4}}));
  EXPECT_EQ(tally.records_read, 4u);
  EXPECT_THAT(tally.station_records, ElementsAre(0));
  EXPECT_EQ(tally.StationsReporting(), 0u);
  EXPECT_EQ(tally.TotalCounted(), 0u);
}

TEST(AggregatorTest, UnknownChoiceIsKUnknownChoiceOrAnyIndexAtOrPastNumChoices) {
  const Election election = MakeElection(3, {10});
  Tally tally = AggregateAndCompare(
      election, {MakeBatch(0, {{1, kUnknownChoice}, {2, 3}, {3, 200}, {4, 254}, {5, kC}})});
  EXPECT_THAT(tally.counted, ElementsAre(0, 0, 1));
  EXPECT_EQ(tally.rejected, MakeRejections({{RejectReason::kUnknownChoice, 4}}));
  EXPECT_THAT(tally.station_records, ElementsAre(5));
}

TEST(AggregatorTest, SerialZeroAndPastCapacityAreBadSeqButCapacityIsValid) {
  const Election election = MakeElection(2, {10, 3});
  Tally tally = AggregateAndCompare(
      election, {MakeBatch(0, {{0, kA}, {11, kA}, {10, kB}, {kMaxSeq, kA}, {1, kA}}),
                 MakeBatch(1, {{3, kA}, {4, kB}})});
  EXPECT_THAT(tally.counted, ElementsAre(1, 1, 1, 0));
  EXPECT_EQ(tally.rejected, MakeRejections({{RejectReason::kBadSeq, 4}}));
  EXPECT_THAT(tally.station_records, ElementsAre(5, 2));
}

TEST(AggregatorTest, UnknownChoiceTakesPrecedenceOverBadSeq) {
  const Election election = MakeElection(2, {10});
  Tally tally = AggregateAndCompare(
      election, {MakeBatch(0, {{0, kUnknownChoice}, {11, 2}, {kMaxSeq, kUnknownChoice}})});
  EXPECT_EQ(tally.rejected, MakeRejections({{RejectReason::kUnknownChoice, 3}}));
}

// Only well-formed, in-range copies take part in the identity rules.
TEST(AggregatorTest, RejectedRecordsAreNotCopiesOfAnIdentity) {
  const Election election = MakeElection(2, {10});
  Tally tally =
      AggregateAndCompare(election, {MakeBatch(0, {{4, kA}, {4, kUnknownChoice}, {4, 5}}),
                                     MakeBatch(0, {{0, kA}, {0, kA}, {11, kB}, {11, kB}})});
  EXPECT_THAT(tally.counted, ElementsAre(1, 0));
  EXPECT_EQ(tally.rejected,
            MakeRejections({{RejectReason::kUnknownChoice, 2}, {RejectReason::kBadSeq, 4}}));
}

TEST(AggregatorTest, AddMalformedCountsMalformedRecordsRead) {
  const Election election = MakeElection(2, {10});
  Aggregator aggregator(election);
  aggregator.AddMalformed(5);
  aggregator.AddMalformed(0);
  aggregator.AddMalformed(2);
  aggregator.Add(MakeBatch(0, {{1, kA}}));
  Tally tally = FinishOk(aggregator);
  EXPECT_EQ(tally.rejected, MakeRejections({{RejectReason::kMalformed, 7}}));
  EXPECT_EQ(tally.records_read, 8u);
  EXPECT_THAT(tally.counted, ElementsAre(1, 0));
  EXPECT_THAT(tally.station_records, ElementsAre(1));
  EXPECT_EQ(tally, ReferenceAggregate(election, {MakeBatch(0, {{1, kA}})}, 7));
}

TEST(AggregatorTest, EmptyBatchesChangeNothing) {
  const Election election = MakeElection(2, {10});
  Tally tally = AggregateAndCompare(election, {MakeBatch(0, {}), MakeBatch(kUnknownStation, {})});
  EXPECT_EQ(tally, Tally(1, 2));
  EXPECT_EQ(tally.StationsReporting(), 0u);
}

// Every reason at once: records_read == counted + sum(rejected), station_records counts
// every record of a roster station (rejected ones too), StationsReporting counts stations
// with at least one record.
TEST(AggregatorTest, ConservationStationRecordsAndStationsReporting) {
  const Election election = MakeElection(3, {10, 20, 30, 40});
  std::vector<BallotBatch> batches = {
      MakeBatch(0, {{1, kA}, {2, kB}, {2, kB}, {3, kA}, {3, kC}}),  // 2 counted, dup, 2 conflicts
      MakeBatch(2, {{0, kA}, {31, kA}, {30, kC}, {5, kUnknownChoice}}),  // 2 bad, 1 counted
      MakeBatch(kUnknownStation, {{1, kA}, {2, kA}}),
      MakeBatch(0, {{10, kC}}),
  };
  Tally tally = AggregateAndCompare(election, batches, 3);
  EXPECT_EQ(tally.num_stations, 4u);
  EXPECT_EQ(tally.num_choices, 3u);
  EXPECT_EQ(tally.records_read, 15u);
  EXPECT_EQ(tally.TotalCounted(), 4u);
  EXPECT_EQ(tally.rejected, MakeRejections({{RejectReason::kMalformed, 3},
                                            {RejectReason::kUnknownStation, 2},
                                            {RejectReason::kUnknownChoice, 1},
                                            {RejectReason::kBadSeq, 2},
                                            {RejectReason::kDuplicate, 1},
                                            {RejectReason::kConflict, 2}}));
  EXPECT_THAT(tally.counted, ElementsAre(1, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0));
  EXPECT_THAT(tally.ChoiceTotals(), ElementsAre(1, 1, 2));
  EXPECT_THAT(tally.station_records, ElementsAre(6, 0, 4, 0));
  EXPECT_EQ(tally.StationsReporting(), 2u);
}

// 254 choices (the limit) takes the fast path's wide-histogram branch; index 253 is the
// last valid choice and 254 is unknown.
TEST(AggregatorTest, MaximumNumberOfChoices) {
  const Election election = MakeElection(kMaxChoices, {600});
  BallotBatch run = MakeRun(0, 1, 508, [](uint64_t seq) { return (seq - 1) % kMaxChoices; });
  Tally tally = AggregateAndCompare(election, {run, MakeBatch(0, {{509, 253}, {510, 254}})});
  std::vector<uint64_t> expected(kMaxChoices, 2);
  expected[253] = 3;
  EXPECT_EQ(tally.ChoiceTotals(), expected);
  EXPECT_EQ(tally.rejected, MakeRejections({{RejectReason::kUnknownChoice, 1}}));
}

// ---------------------------------------------------------------------------------------
// Fast path (contiguous, unseen, all valid) versus general path.

ChoiceIndex ChoiceOfSeq(uint64_t seq) { return static_cast<ChoiceIndex>(seq % 3); }
ChoiceIndex OtherChoiceOfSeq(uint64_t seq) { return static_cast<ChoiceIndex>((seq + 1) % 3); }

TEST(AggregatorFastPathTest, ContiguousBatchIsCountedExactly) {
  const Election election = MakeElection(3, {1000});
  Tally tally = AggregateAndCompare(election, {MakeRun(0, 1, 300, ChoiceOfSeq)});
  EXPECT_THAT(tally.counted, ElementsAre(100, 100, 100));
  EXPECT_EQ(tally.TotalRejected(), 0u);
  EXPECT_THAT(tally.station_records, ElementsAre(300));
}

TEST(AggregatorFastPathTest, SameSerialsAgainWithSameChoicesAreAllDuplicates) {
  const Election election = MakeElection(3, {1000});
  const BallotBatch run = MakeRun(0, 101, 300, ChoiceOfSeq);
  Tally tally = AggregateAndCompare(election, {run, run});
  EXPECT_THAT(tally.counted, ElementsAre(100, 100, 100));
  EXPECT_EQ(tally.rejected, MakeRejections({{RejectReason::kDuplicate, 300}}));
  tally = AggregateAndCompare(election, {run, run, run});
  EXPECT_THAT(tally.counted, ElementsAre(100, 100, 100));
  EXPECT_EQ(tally.rejected, MakeRejections({{RejectReason::kDuplicate, 600}}));
}

TEST(AggregatorFastPathTest, SameSerialsAgainWithOtherChoicesAreAllConflicts) {
  const Election election = MakeElection(3, {1000});
  const BallotBatch run = MakeRun(0, 1, 300, ChoiceOfSeq);
  const BallotBatch other = MakeRun(0, 1, 300, OtherChoiceOfSeq);
  for (const std::vector<BallotBatch>& batches :
       {std::vector<BallotBatch>{run, other}, std::vector<BallotBatch>{other, run},
        std::vector<BallotBatch>{run, other, run}}) {
    Tally tally = AggregateAndCompare(election, batches);
    EXPECT_THAT(tally.counted, ElementsAre(0, 0, 0));
    EXPECT_EQ(tally.rejected, MakeRejections({{RejectReason::kConflict, 300 * batches.size()}}));
  }
}

TEST(AggregatorFastPathTest, PartialOverlapWithSameChoicesDuplicatesTheOverlapOnly) {
  const Election election = MakeElection(3, {1000});
  const BallotBatch first = MakeRun(0, 1, 300, ChoiceOfSeq);     // 1..300
  const BallotBatch second = MakeRun(0, 201, 300, ChoiceOfSeq);  // 201..500
  for (const std::vector<BallotBatch>& batches :
       {std::vector<BallotBatch>{first, second}, std::vector<BallotBatch>{second, first}}) {
    Tally tally = AggregateAndCompare(election, batches);
    EXPECT_EQ(tally.TotalCounted(), 500u);
    EXPECT_THAT(tally.ChoiceTotals(), ElementsAre(166, 167, 167));  // seq % 3 over 1..500
    EXPECT_EQ(tally.rejected, MakeRejections({{RejectReason::kDuplicate, 100}}));
  }
}

TEST(AggregatorFastPathTest, PartialOverlapWithOtherChoicesConflictsTheOverlapOnly) {
  const Election election = MakeElection(3, {1000});
  const BallotBatch first = MakeRun(0, 1, 300, ChoiceOfSeq);          // 1..300
  const BallotBatch second = MakeRun(0, 201, 300, OtherChoiceOfSeq);  // 201..500
  for (const std::vector<BallotBatch>& batches :
       {std::vector<BallotBatch>{first, second}, std::vector<BallotBatch>{second, first}}) {
    Tally tally = AggregateAndCompare(election, batches);
    EXPECT_EQ(tally.TotalCounted(), 400u);  // 1..200 and 301..500
    EXPECT_EQ(tally.rejected, MakeRejections({{RejectReason::kConflict, 200}}));
  }
}

TEST(AggregatorFastPathTest, SingleLaterCopyInsideAContiguousRun) {
  const Election election = MakeElection(3, {1000});
  const BallotBatch run = MakeRun(0, 1, 300, ChoiceOfSeq);
  Tally tally = AggregateAndCompare(election, {run, MakeBatch(0, {{150, ChoiceOfSeq(150)}})});
  EXPECT_EQ(tally.TotalCounted(), 300u);
  EXPECT_EQ(tally.rejected, MakeRejections({{RejectReason::kDuplicate, 1}}));
  tally = AggregateAndCompare(election, {MakeBatch(0, {{150, OtherChoiceOfSeq(150)}}), run});
  EXPECT_EQ(tally.TotalCounted(), 299u);
  EXPECT_EQ(tally.rejected, MakeRejections({{RejectReason::kConflict, 2}}));
}

// A run whose records are not all valid falls back to the general path record by record.
TEST(AggregatorFastPathTest, ContiguousRunWithAnInvalidRecordFallsBack) {
  const Election election = MakeElection(3, {1000});
  BallotBatch run = MakeRun(0, 1, 300, ChoiceOfSeq);
  run.choice[123] = kUnknownChoice;
  Tally tally = AggregateAndCompare(election, {run});
  EXPECT_EQ(tally.TotalCounted(), 299u);
  EXPECT_EQ(tally.rejected, MakeRejections({{RejectReason::kUnknownChoice, 1}}));
}

TEST(AggregatorFastPathTest, RunEndingAtCapacityAndOnePast) {
  const Election election = MakeElection(3, {1000});
  Tally tally = AggregateAndCompare(election, {MakeRun(0, 701, 300, ChoiceOfSeq)});
  EXPECT_EQ(tally.TotalCounted(), 300u);
  EXPECT_EQ(tally.TotalRejected(), 0u);
  tally = AggregateAndCompare(election, {MakeRun(0, 702, 300, ChoiceOfSeq)});
  EXPECT_EQ(tally.TotalCounted(), 299u);
  EXPECT_EQ(tally.rejected, MakeRejections({{RejectReason::kBadSeq, 1}}));
  tally = AggregateAndCompare(election, {MakeRun(0, 0, 10, ChoiceOfSeq)});
  EXPECT_EQ(tally.TotalCounted(), 9u);
  EXPECT_EQ(tally.rejected, MakeRejections({{RejectReason::kBadSeq, 1}}));
}

// Runs that cross a stripe boundary (2^14 serials) and overlap there.
TEST(AggregatorFastPathTest, RunsAcrossStripeBoundaries) {
  constexpr uint64_t kStripe = uint64_t{1} << Aggregator::kStripeBits;
  const Election election = MakeElection(3, {3 * kStripe + 5, 7});
  const BallotBatch across = MakeRun(0, kStripe - 1000, 2 * kStripe + 10, ChoiceOfSeq);
  const BallotBatch overlap = MakeRun(0, 2 * kStripe - 5, 10, OtherChoiceOfSeq);
  const BallotBatch tail = MakeRun(0, 3 * kStripe - 3, 8, ChoiceOfSeq);  // ends at capacity
  Tally tally =
      AggregateAndCompare(election, {across, overlap, tail, MakeRun(1, 1, 7, ChoiceOfSeq)});
  EXPECT_EQ(tally.TotalCounted(), (2 * kStripe + 10 - 10) + (8 - 0) + 7);
  EXPECT_EQ(tally.rejected, MakeRejections({{RejectReason::kConflict, 20}}));
  EXPECT_THAT(tally.station_records, ElementsAre(2 * kStripe + 10 + 10 + 8, 7));
}

// A run of serials that wraps past 2^64 - 1 to 0 is not contiguous in 1..capacity: every
// record is bad_seq. Run in a child process so that a crash fails only this test.
TEST(AggregatorFastPathDeathTest, SerialsWrappingPastTheLargestSerialAreBadSeq) {
  ::testing::GTEST_FLAG(death_test_style) = "threadsafe";
  const Election election = MakeElection(3, {100, 100});
  const std::vector<BallotBatch> batches = {
      MakeBatch(1, {{kMaxSeq, kA}, {0, kA}}),
      MakeBatch(1, {{kMaxSeq - 2, kA}, {kMaxSeq - 1, kB}, {kMaxSeq, kC}, {0, kA}, {1, kB}}),
  };
  EXPECT_EXIT(
      {
        Tally tally = AggregateSerially(election, batches);
        const bool correct = tally.rejected == MakeRejections({{RejectReason::kBadSeq, 6}}) &&
                             tally.Counted(1, kB) == 1 && tally.TotalCounted() == 1 &&
                             tally == ReferenceAggregate(election, batches);
        std::exit(correct ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

// Counters never wrap: a figure past 2^63 - 1 makes Finish() fail with OutOfRange.
TEST(AggregatorTest, CounterPastTheLargestFigureIsOutOfRange) {
  const Election election = MakeElection(2, {10});
  {
    Aggregator aggregator(election);
    aggregator.AddMalformed(kMaxFigure);
    absl::StatusOr<Tally> tally = aggregator.Finish();
    ASSERT_THAT(tally, IsOk());
    EXPECT_EQ(tally->records_read, kMaxFigure);
  }
  {
    Aggregator aggregator(election);
    aggregator.AddMalformed(kMaxFigure);
    aggregator.AddMalformed(1);
    EXPECT_THAT(aggregator.Finish(), StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("2^63")));
  }
  {
    // Each counter is within range, but records_read would pass it.
    Aggregator aggregator(election);
    aggregator.AddMalformed(kMaxFigure);
    aggregator.Add(MakeBatch(0, {{1, kA}}));
    EXPECT_THAT(aggregator.Finish(),
                StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("records read")));
  }
}

// ---------------------------------------------------------------------------------------
// Exactly-once state size.

// The state's size: each station's capacity rounded up to 64 serials, at the narrowest
// width that holds choice + 1 for every choice.
uint64_t ExpectedStateBytes(const Election& election) {
  const size_t choices = election.contest().choices.size();
  const uint64_t bits = choices <= 3 ? 2 : choices <= 15 ? 4 : 8;
  uint64_t slots = 0;
  for (const Station& station : election.stations) slots += (station.capacity + 63) / 64 * 64;
  return slots * bits / 8;
}

TEST(AggregatorTest, StateIsTheNarrowestFieldPerAlignedSerial) {
  EXPECT_EQ(Aggregator(MakeElection(2, {1})).state_bytes(), 16u);
  EXPECT_EQ(Aggregator(MakeElection(3, {10, 20, 30, 40})).state_bytes(), 64u);
  EXPECT_EQ(Aggregator(MakeElection(3, {100000, 1, 16384, 16385})).state_bytes(), 33232u);
  EXPECT_EQ(Aggregator(MakeElection(4, {64})).state_bytes(), 32u);
  EXPECT_EQ(Aggregator(MakeElection(15, {65})).state_bytes(), 64u);
  EXPECT_EQ(Aggregator(MakeElection(16, {64})).state_bytes(), 64u);
  EXPECT_EQ(Aggregator(MakeElection(254, {1, 64})).state_bytes(), 128u);
  for (int choices : {1, 2, 3}) EXPECT_EQ(Aggregator(MakeElection(choices, {1})).state_bits(), 2);
  for (int choices : {4, 15}) EXPECT_EQ(Aggregator(MakeElection(choices, {1})).state_bits(), 4);
  for (int choices : {16, 254}) EXPECT_EQ(Aggregator(MakeElection(choices, {1})).state_bits(), 8);
}

// ---------------------------------------------------------------------------------------
// Snapshot and Restore (checkpoints).

// A contiguous batch of serials first..last of station s, all choosing c.
BallotBatch RunOf(StationIndex s, uint64_t first, uint64_t last, ChoiceIndex c) {
  BallotBatch batch;
  batch.station = s;
  for (uint64_t seq = first; seq <= last; ++seq) {
    batch.seq.push_back(seq);
    batch.choice.push_back(c);
  }
  return batch;
}

TEST(AggregatorSnapshotTest, RestoredStateGoesOnExactlyAsTheOriginal) {
  const Election election = MakeElection(2, {100, 70});  // 2-bit fields; bases 0 and 128
  const std::vector<BallotBatch> before = {
      RunOf(0, 1, 50, kA), RunOf(1, 3, 70, kB),
      MakeBatch(0, {{5, kA}, {7, kB}, {7, kB}, {9, kA}}),  // a duplicate, a conflict twice
  };
  const std::vector<BallotBatch> after = {
      MakeBatch(0, {{7, kA}, {9, kB}, {51, kB}, {1, kA}}),  // the conflict's first choice
      RunOf(0, 52, 100, kB),
      RunOf(1, 1, 2, kA),
      RunOf(1, 60, 61, kA),
  };
  Aggregator original(election);
  for (const BallotBatch& batch : before) original.Add(batch);
  const std::string snapshot = original.Snapshot();
  Aggregator restored(election);
  ASSERT_THAT(restored.Restore(snapshot), IsOk());
  EXPECT_EQ(restored.Snapshot(), snapshot);
  for (const BallotBatch& batch : after) {
    original.Add(batch);
    restored.Add(batch);
  }
  std::vector<BallotBatch> all = before;
  all.insert(all.end(), after.begin(), after.end());
  const Tally expected = ReferenceAggregate(election, all);
  EXPECT_EQ(FinishOk(restored), expected);
  EXPECT_EQ(FinishOk(original), expected);
  // Conflicts: every copy of station 0's 7 (4) and 9 (3) and of station 1's 60 and 61 (2
  // each). Duplicates: the second copies of station 0's 5 and 1.
  EXPECT_EQ(expected.Rejected(RejectReason::kConflict), 11u);
  EXPECT_EQ(expected.Rejected(RejectReason::kDuplicate), 2u);
}

TEST(AggregatorSnapshotTest, RestoreRefusesImpossibleStates) {
  const Election election = MakeElection(2, {100, 70});
  Aggregator original(election);
  original.Add(RunOf(0, 1, 50, kA));
  original.Add(MakeBatch(0, {{7, kB}}));  // serial 7 (slot 6) conflicted
  const std::string snapshot = original.Snapshot();
  const size_t state = snapshot.size() - original.state_bytes();
  // Sets the 2-bit field of `slot` to `value` in a copy of the snapshot.
  auto with_field = [&](uint64_t slot, uint8_t value) {
    std::string bytes = snapshot;
    const size_t bit = slot * 2;
    uint8_t& byte = reinterpret_cast<uint8_t&>(bytes[state + bit / 8]);
    byte = static_cast<uint8_t>((byte & ~(3u << (bit % 8))) | (value << (bit % 8)));
    return bytes;
  };
  {
    Aggregator fresh(election);
    ASSERT_THAT(fresh.Restore(with_field(59, 2)), IsOk()) << "serial 60 seen, choice B: possible";
  }
  struct Case {
    std::string what, bytes;
  };
  std::string unseen_conflict = snapshot;
  const uint64_t unseen_slot = 80;
  std::memcpy(&unseen_conflict[state - 24], &unseen_slot, 8);  // before the stripe count and index
  std::vector<Case> cases = {
      {"a field past the contest's choices", with_field(59, 3)},
      {"a field past station 0's capacity (100)", with_field(100, 1)},
      {"a field past station 1's capacity (70)", with_field(128 + 70, 1)},
      {"a conflicted identity never seen", unseen_conflict},
      {"truncated", snapshot.substr(0, snapshot.size() - 1)},
  };
  for (const Case& c : cases) {
    Aggregator fresh(election);
    EXPECT_THAT(fresh.Restore(c.bytes), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("")))
        << c.what;
  }
}

// ---------------------------------------------------------------------------------------
// Parallel aggregator == serial reference on hundreds of random elections.

class RandomCaseBuilder {
 public:
  explicit RandomCaseBuilder(uint64_t seed) : rng_(seed) {}

  uint64_t Uniform(uint64_t low, uint64_t high) {
    return std::uniform_int_distribution<uint64_t>(low, high)(rng_);
  }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  std::mt19937_64& rng() { return rng_; }

  // 2..12 choices; 1..500 stations; one station holds most serials, and most others are
  // tiny.
  Election MakeRandomElection() {
    // Every state width: 2 bits (up to 3 choices), 4 (up to 15) and 8.
    const int num_choices = static_cast<int>(Uniform(0, 3) == 0 ? Uniform(16, 40) : Uniform(2, 15));
    const uint64_t draw = Uniform(0, 9);
    const size_t num_stations = draw < 4   ? Uniform(1, 5)
                                : draw < 8 ? Uniform(6, 100)
                                           : Uniform(101, 500);
    std::vector<uint64_t> capacities(num_stations);
    for (uint64_t& capacity : capacities) {
      const uint64_t kind = Uniform(0, 19);
      capacity = kind < 14 ? Uniform(1, 10) : kind < 19 ? Uniform(11, 100) : Uniform(101, 1000);
    }
    capacities[Uniform(0, num_stations - 1)] = Uniform(1000, 50000);
    return MakeElection(num_choices, capacities);
  }

  // Station-homogeneous batches over `election` with every kind of record.
  std::vector<BallotBatch> MakeRandomBatches(const Election& election) {
    election_ = &election;
    num_choices_ = static_cast<uint32_t>(election.contest().choices.size());
    const size_t num_stations = election.stations.size();
    big_station_ = static_cast<StationIndex>(
        std::max_element(
            election.stations.begin(), election.stations.end(),
            [](const Station& a, const Station& b) { return a.capacity < b.capacity; }) -
        election.stations.begin());
    // Some stations send nothing.
    active_.clear();
    for (StationIndex s = 0; s < num_stations; ++s) {
      if (s == big_station_ || !Chance(0.3)) active_.push_back(s);
    }
    loose_.assign(num_stations, {});
    batches_.clear();
    runs_.clear();
    records_ = 0;
    const uint64_t budget = Uniform(1, 16000);
    while (records_ < budget) AddAction();
    CutLooseRecordsIntoBatches();
    std::shuffle(batches_.begin(), batches_.end(), rng_);
    return std::move(batches_);
  }

 private:
  struct Record {
    uint64_t seq;
    ChoiceIndex choice;
  };

  StationIndex PickStation() {
    return Chance(0.5) ? big_station_ : active_[Uniform(0, active_.size() - 1)];
  }
  uint64_t Capacity(StationIndex s) const { return election_->stations[s].capacity; }
  ChoiceIndex ValidChoice() { return static_cast<ChoiceIndex>(Uniform(0, num_choices_ - 1)); }

  // Mostly in range; sometimes 0, capacity + 1 or far past capacity.
  uint64_t RandomSeq(StationIndex s) {
    const uint64_t kind = Uniform(0, 99);
    if (kind < 2) return 0;
    if (kind < 4) return Capacity(s) + 1;
    if (kind < 5) return Uniform(Capacity(s) + 2, uint64_t{1} << 62);
    return Uniform(1, Capacity(s));
  }
  // Mostly valid; sometimes kUnknownChoice or another index past the last choice.
  ChoiceIndex RandomChoice() {
    const uint64_t kind = Uniform(0, 99);
    if (kind < 3) return kUnknownChoice;
    if (kind < 5) return static_cast<ChoiceIndex>(Uniform(num_choices_, kMaxChoices));
    return ValidChoice();
  }

  void AddLoose(StationIndex s, uint64_t seq, ChoiceIndex choice) {
    loose_[s].push_back(Record{seq, choice});
    ++records_;
  }
  void AddBatch(BallotBatch batch) {
    records_ += batch.size();
    batches_.push_back(std::move(batch));
  }

  void AddAction() {
    const StationIndex s = PickStation();
    const uint64_t kind = Uniform(0, 99);
    if (kind < 20) {
      AddContiguousRun(s);
    } else if (kind < 30 && !runs_.empty()) {
      ReplayRun();
    } else if (kind < 55) {
      const uint64_t n = Uniform(1, 400);
      for (uint64_t i = 0; i < n; ++i) AddLoose(s, RandomSeq(s), RandomChoice());
    } else if (kind < 70) {
      // Identical copies: 2..4 of one identity.
      const uint64_t seq = Uniform(1, Capacity(s));
      const ChoiceIndex choice = ValidChoice();
      const uint64_t copies = Uniform(2, 4);
      for (uint64_t i = 0; i < copies; ++i) AddLoose(s, seq, choice);
    } else if (kind < 90) {
      AddConflict(s);
    } else if (kind < 95) {
      BallotBatch batch;
      batch.station = kUnknownStation;
      const uint64_t n = Uniform(1, 200);
      for (uint64_t i = 0; i < n; ++i) {
        batch.seq.push_back(Uniform(0, 100000));
        batch.choice.push_back(RandomChoice());
      }
      AddBatch(std::move(batch));
    } else {
      // A stray valid record or two, with a copy in the next run of this station likely.
      AddLoose(s, Uniform(1, Capacity(s)), ValidChoice());
    }
  }

  // Consecutive serials, all valid: the fast path (unless already seen).
  void AddContiguousRun(StationIndex s) {
    const uint64_t first = Uniform(1, Capacity(s));
    const uint64_t length = Uniform(1, std::min<uint64_t>(3000, Capacity(s) - first + 1));
    BallotBatch batch;
    batch.station = s;
    for (uint64_t seq = first; seq < first + length; ++seq) {
      batch.seq.push_back(seq);
      batch.choice.push_back(ValidChoice());
    }
    runs_.push_back(batch);
    AddBatch(std::move(batch));
  }

  // Sends part of an earlier run again: same choices (duplicates), some or all changed
  // (conflicts).
  void ReplayRun() {
    const BallotBatch& run = runs_[Uniform(0, runs_.size() - 1)];
    const size_t begin = Uniform(0, run.size() - 1);
    const size_t end = Uniform(begin + 1, run.size());
    BallotBatch batch;
    batch.station = run.station;
    batch.seq.assign(run.seq.begin() + begin, run.seq.begin() + end);
    batch.choice.assign(run.choice.begin() + begin, run.choice.begin() + end);
    const uint64_t mode = Uniform(0, 2);
    for (ChoiceIndex& choice : batch.choice) {
      if (mode == 1 || (mode == 2 && Chance(0.1))) {
        choice = static_cast<ChoiceIndex>((choice + 1) % num_choices_);
      }
    }
    AddBatch(std::move(batch));
  }

  // Two copies that disagree, or three (A,A,B or A,B,C) in random order.
  void AddConflict(StationIndex s) {
    const uint64_t seq = Uniform(1, Capacity(s));
    const ChoiceIndex a = ValidChoice();
    const ChoiceIndex b =
        static_cast<ChoiceIndex>((a + Uniform(1, num_choices_ - 1)) % num_choices_);
    std::vector<ChoiceIndex> choices = {a, b};
    if (Chance(0.6)) {
      ChoiceIndex c = a;
      if (num_choices_ >= 3 && Chance(0.5)) {
        do {
          c = ValidChoice();
        } while (c == a || c == b);
      }
      choices.push_back(c);
    }
    std::shuffle(choices.begin(), choices.end(), rng_);
    for (ChoiceIndex choice : choices) AddLoose(s, seq, choice);
  }

  void CutLooseRecordsIntoBatches() {
    const uint64_t max_batch = Uniform(1, 3000);
    for (StationIndex s = 0; s < loose_.size(); ++s) {
      std::vector<Record>& records = loose_[s];
      std::shuffle(records.begin(), records.end(), rng_);
      size_t at = 0;
      while (at < records.size()) {
        const size_t n = std::min<size_t>(Uniform(1, max_batch), records.size() - at);
        BallotBatch batch;
        batch.station = s;
        for (size_t i = at; i < at + n; ++i) {
          batch.seq.push_back(records[i].seq);
          batch.choice.push_back(records[i].choice);
        }
        batches_.push_back(std::move(batch));
        at += n;
      }
    }
  }

  std::mt19937_64 rng_;
  const Election* election_ = nullptr;
  uint32_t num_choices_ = 0;
  StationIndex big_station_ = 0;
  std::vector<StationIndex> active_;
  std::vector<std::vector<Record>> loose_;
  std::vector<BallotBatch> batches_;
  std::vector<BallotBatch> runs_;
  uint64_t records_ = 0;
};

Tally AggregateInParallel(const Election& election, const std::vector<BallotBatch>& batches,
                          int threads, uint64_t* malformed_records) {
  Aggregator aggregator(election);
  tbb::task_arena arena(threads);
  arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<size_t>(0, batches.size(), 1),
                      [&](const tbb::blocked_range<size_t>& range) {
                        for (size_t i = range.begin(); i != range.end(); ++i) {
                          aggregator.Add(batches[i]);
                          // A reader's unparseable lines arrive between batches.
                          if (i % 7 == 3) aggregator.AddMalformed(i % 3);
                        }
                      });
  });
  *malformed_records = 0;
  for (size_t i = 0; i < batches.size(); ++i) {
    if (i % 7 == 3) *malformed_records += i % 3;
  }
  return FinishOk(aggregator);
}

TEST(AggregatorRandomTest, ParallelEqualsReferenceOnRandomElections) {
  constexpr int kElections = 300;
  constexpr std::array<int, 4> kThreads = {1, 2, 3, 8};
  // oneTBB caps workers at the hardware threads unless told otherwise; allow 8 so that
  // the 8-thread arenas really run 8 threads on a small machine.
  tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism, 8);
  RandomCaseBuilder builder(20240707);
  uint64_t total_records = 0;
  Rejections total_rejected{};
  for (int round = 0; round < kElections; ++round) {
    const Election election = builder.MakeRandomElection();
    const std::vector<BallotBatch> batches = builder.MakeRandomBatches(election);
    const int threads = kThreads[round % kThreads.size()];
    SCOPED_TRACE(absl::StrCat("round ", round, ", ", election.stations.size(), " stations, ",
                              election.contest().choices.size(), " choices, ", batches.size(),
                              " batches, ", threads, " threads"));
    uint64_t malformed_records = 0;
    const Tally tally = AggregateInParallel(election, batches, threads, &malformed_records);
    const Tally expected = ReferenceAggregate(election, batches, malformed_records);
    ASSERT_EQ(tally, expected);
    ASSERT_EQ(tally.records_read, tally.TotalCounted() + tally.TotalRejected());
    EXPECT_EQ(Aggregator(election).state_bytes(), ExpectedStateBytes(election));
    total_records += tally.records_read;
    for (int r = 0; r < kNumRejectReasons; ++r) total_rejected[r] += tally.rejected[r];
  }
  // The generator really produced every kind of record, in bulk.
  EXPECT_GT(total_records, 1000000u);
  for (int r = 0; r < kNumRejectReasons; ++r) {
    EXPECT_GT(total_rejected[r], 500u) << RejectReasonName(static_cast<RejectReason>(r));
  }
}

// The counting loops are compiled per kernel (engine/base/kernel.h): every kernel the CPU
// can run gives the portable kernel's tally and exactly-once state, batch for batch.
TEST(AggregatorRandomTest, EveryKernelGivesTheSameTallyAndState) {
  RandomCaseBuilder builder(20241130);
  for (int round = 0; round < 40; ++round) {
    const Election election = builder.MakeRandomElection();
    const std::vector<BallotBatch> batches = builder.MakeRandomBatches(election);
    SCOPED_TRACE(absl::StrCat("round ", round, ", ", election.contest().choices.size(),
                              " choices, ", batches.size(), " batches"));
    std::optional<Tally> portable_tally;
    std::string portable_state;
    for (Kernel kernel : SupportedKernels()) {
      SCOPED_TRACE(KernelName(kernel));
      for (bool exactly_once : {true, false}) {
        AggregatorOptions options;
        options.kernel = kernel;
        options.exactly_once = exactly_once;
        Aggregator aggregator(election, options);
        for (const BallotBatch& batch : batches) aggregator.Add(batch);
        const std::string state = aggregator.Snapshot();
        const Tally tally = FinishOk(aggregator);
        if (!exactly_once) {
          // Count-only: every in-range record with a known choice is counted.
          EXPECT_EQ(tally.records_read, tally.TotalCounted() + tally.TotalRejected());
          continue;
        }
        if (kernel == Kernel::kPortable) {
          portable_tally = tally;
          portable_state = state;
          EXPECT_EQ(tally, ReferenceAggregate(election, batches, 0));
          continue;
        }
        ASSERT_TRUE(portable_tally.has_value());
        EXPECT_EQ(tally, *portable_tally);
        EXPECT_TRUE(state == portable_state) << "the exactly-once states differ";
      }
    }
  }
}

// Resident memory of this process, from /proc/self/statm.
uint64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

// Hardening #3: a roster whose state cannot be mapped says how much it needs (exit 2 in
// the commands, which check before they start), and a huge one that can costs memory only
// where serials are written (a capacity of 10^13 and one ballot took 1.2 GB before).
TEST(AggregatorTest, StateThatCannotBeMappedIsResourceExhaustedNamingItsSize) {
  const Election too_big = MakeElection(3, {1000000000000000, 5});
  EXPECT_THAT(Aggregator::CheckStateFits(too_big),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("needs 250000000000016 bytes (2 bits for each of the "
                                 "1000000000000064 serials")));
  AggregatorOptions count_only;
  count_only.exactly_once = false;
  EXPECT_THAT(Aggregator::CheckStateFits(too_big, count_only), IsOk());
  // At the limit the size rule holds; whether the mapping itself succeeds depends on the
  // process (a sanitizer's layout refuses 32 TiB).
  const absl::Status at_limit =
      Aggregator::CheckStateFits(MakeElection(3, {Aggregator::kMaxStateBytes * 4}));
  EXPECT_TRUE(at_limit.ok() || absl::StrContains(at_limit.message(), "cannot map them"))
      << at_limit;
  EXPECT_THAT(
      Aggregator::CheckStateFits(MakeElection(3, {Aggregator::kMaxStateBytes * 4 + 1})),
      StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("at most 35184372088832 bytes")));
}

// Snapshot() then SnapshotChanges() after each later epoch: restoring the frames so far
// gives exactly the state of an aggregator that read the same batches, and going on from
// there gives the reference tally, on random elections with every kind of record.
TEST(AggregatorSnapshotTest, ChangesSnapshotsRestoreTheStateAtEveryEpoch) {
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    RandomCaseBuilder builder(seed * 7919);
    const Election election = builder.MakeRandomElection();
    const std::vector<BallotBatch> batches = builder.MakeRandomBatches(election);
    SCOPED_TRACE(absl::StrCat("seed ", seed, ": ", batches.size(), " batches"));
    std::vector<size_t> cuts;
    for (size_t b = 1; b < batches.size(); ++b) {
      if (builder.Chance(0.2)) cuts.push_back(b);
    }
    cuts.push_back(batches.size());
    Aggregator original(election), witness(election);
    std::vector<std::string> frames;
    size_t next = 0;
    for (size_t cut : cuts) {
      for (; next < cut; ++next) {
        original.Add(batches[next]);
        witness.Add(batches[next]);
      }
      frames.push_back(frames.empty() ? original.Snapshot() : original.SnapshotChanges());
      Aggregator restored(election);
      ASSERT_THAT(restored.Restore(std::vector<absl::string_view>(frames.begin(), frames.end())),
                  IsOk());
      ASSERT_EQ(restored.Snapshot(), witness.Snapshot()) << "after batch " << cut;
      std::vector<BallotBatch> rest(batches.begin() + static_cast<std::ptrdiff_t>(cut),
                                    batches.end());
      for (const BallotBatch& batch : rest) restored.Add(batch);
      EXPECT_EQ(FinishOk(restored), ReferenceAggregate(election, batches, 0));
    }
  }
}

// A changes snapshot holds only what changed: after an epoch that changed nothing it is
// its header and five empty lists; after one that wrote one stripe, that one stripe.
TEST(AggregatorSnapshotTest, ChangesSnapshotHoldsOnlyWhatChanged) {
  const Election election = MakeElection(3, {100000, 70});  // 2 bits: 4,096 bytes a stripe
  Aggregator aggregator(election);
  aggregator.Add(RunOf(0, 1, 60000, kA));  // stripes 0..3 of station 0
  const std::string whole = aggregator.Snapshot();
  const size_t header = 8 * (6 + kNumRejectReasons) + 5 * 8;
  EXPECT_EQ(whole.size(), header + 24 * 2 * 3 + 16 * 2 + 4 * (8 + 4096));
  EXPECT_EQ(aggregator.SnapshotChanges().size(), header);
  aggregator.Add(MakeBatch(0, {{99999, kB}, {99999, kB}, {99998, kC}}));  // stripe 6
  // Cells (0, B) and (0, C); station 0; one later copy; stripe 6.
  // Stripe 6 is the state's last: slots 98,304 to 100,159 (station 1's 128 slots end at
  // 100,160), 464 bytes.
  EXPECT_EQ(aggregator.SnapshotChanges().size(), header + 24 * 2 + 16 + 16 + (8 + 464));
  EXPECT_EQ(aggregator.SnapshotChanges().size(), header);
}

// Later copies cost one entry per identity, not one per copy: a snapshot of 2^20 copies of
// one record (from two threads) is the size of one of 3 copies, and the tally is exact.
TEST(AggregatorTest, ManyCopiesOfOneRecordCostOneEntry) {
  const Election election = MakeElection(3, {1000});
  auto copies_of_one = [&](uint64_t copies) {
    Aggregator aggregator(election);
    tbb::task_arena arena(2);
    arena.execute([&] {
      tbb::parallel_for(tbb::blocked_range<uint64_t>(0, copies, 1024),
                        [&](const tbb::blocked_range<uint64_t>& range) {
                          BallotBatch batch;
                          batch.station = 0;
                          batch.seq.assign(range.size(), 7);
                          batch.choice.assign(range.size(), kB);
                          aggregator.Add(batch);
                        });
    });
    const std::string snapshot = aggregator.Snapshot();
    const Tally tally = FinishOk(aggregator);
    EXPECT_EQ(tally.Counted(0, kB), 1u);
    EXPECT_EQ(tally.rejected, MakeRejections({{RejectReason::kDuplicate, copies - 1}}));
    return snapshot.size();
  };
  EXPECT_EQ(copies_of_one(uint64_t{1} << 20), copies_of_one(3));
}

TEST(AggregatorTest, HugeCapacityCostsMemoryOnlyWhereWritten) {
  const Election election = MakeElection(3, {10000000000000, 5});
  // 2.5 TB of address space: a sanitizer's layout (ThreadSanitizer's) refuses it, and then
  // the check must say so rather than the constructor abort.
  const absl::Status fits = Aggregator::CheckStateFits(election);
  if (!fits.ok()) {
    EXPECT_THAT(fits, StatusIs(absl::StatusCode::kResourceExhausted,
                               HasSubstr("needs 2500000000016 bytes (2 bits for each of the "
                                         "10000000000064 serials its roster's capacities "
                                         "allow); this process cannot map them")));
    return;
  }
  const uint64_t before = ResidentBytes();
  Aggregator aggregator(election);
  aggregator.Add(MakeBatch(0, {{1, kA}, {9999999999999, kB}, {10000000000000, kB}}));
  const std::vector<StationIndex> stations = {0, 0, 1};
  const std::vector<uint64_t> seqs = {5000000000000, 1, 5};
  const std::vector<ChoiceIndex> choices = {kC, kC, kA};
  aggregator.AddMixed({stations.data(), seqs.data(), choices.data(), 3});
  // Sparse: the counters, one later copy, one conflict and the three stripes written, not
  // 2.5 TB: stripe 0 (serial 1), the stripe of serial 5*10^12, and the state's last stripe
  // (station 0's last two serials and station 1's, 8,256 slots: 2,064 bytes).
  const std::string snapshot = aggregator.Snapshot();
  EXPECT_EQ(snapshot.size(), 8 * (6 + kNumRejectReasons) + 5 * 8 + 24 * 2 * 3 + 16 * 2 + 16 + 8 +
                                 2 * (8 + 4096) + (8 + 2064));
  Aggregator restored(election);
  ASSERT_THAT(restored.Restore(snapshot), IsOk());
  const Tally tally = FinishOk(aggregator);
  EXPECT_EQ(FinishOk(restored), tally);
  EXPECT_LT(ResidentBytes() - std::min(before, ResidentBytes()), uint64_t{64} << 20);
  // Serial 1 of station 0 came twice, A then C: both copies are conflicts.
  EXPECT_EQ(tally.Counted(0, kA), 0u);
  EXPECT_EQ(tally.Counted(0, kB), 2u);
  EXPECT_EQ(tally.Counted(0, kC), 1u);
  EXPECT_EQ(tally.Counted(1, kA), 1u);
  EXPECT_EQ(tally.rejected, MakeRejections({{RejectReason::kConflict, 2}}));
}

// ---- Records of many stations in any order (AddMixed) ----

// Every record of `batches` in one stream, shuffled: stations interleave record by record.
struct MixedColumns {
  std::vector<StationIndex> station;
  std::vector<uint64_t> seq;
  std::vector<ChoiceIndex> choice;
  size_t size() const { return seq.size(); }
  MixedBatchView View(size_t begin, size_t end) const {
    return {station.data() + begin, seq.data() + begin, choice.data() + begin, end - begin};
  }
};

MixedColumns Interleave(const std::vector<BallotBatch>& batches, std::mt19937_64& rng) {
  std::vector<std::pair<size_t, size_t>> where;  // (batch, record)
  for (size_t b = 0; b < batches.size(); ++b) {
    for (size_t i = 0; i < batches[b].size(); ++i) where.emplace_back(b, i);
  }
  std::shuffle(where.begin(), where.end(), rng);
  MixedColumns columns;
  for (const auto& [b, i] : where) {
    columns.station.push_back(batches[b].station);
    columns.seq.push_back(batches[b].seq[i]);
    columns.choice.push_back(batches[b].choice[i]);
  }
  return columns;
}

// Cuts `columns` into pieces of 1..max_piece records; every fifth piece goes through Add()
// grouped by station, the others through AddMixed(), from `threads` threads at once.
void AddMixedInParallel(Aggregator& aggregator, const MixedColumns& columns, size_t max_piece,
                        int threads, std::mt19937_64& rng) {
  std::vector<size_t> cuts = {0};
  while (cuts.back() < columns.size()) {
    cuts.push_back(std::min(columns.size(), cuts.back() + 1 + rng() % max_piece));
  }
  tbb::task_arena arena(threads);
  arena.execute([&] {
    tbb::parallel_for(size_t{1}, cuts.size(), [&](size_t p) {
      const MixedBatchView piece = columns.View(cuts[p - 1], cuts[p]);
      if (p % 5 != 0) {
        aggregator.AddMixed(piece);
        return;
      }
      std::vector<StationIndex> stations(piece.station, piece.station + piece.size());
      std::sort(stations.begin(), stations.end());
      stations.erase(std::unique(stations.begin(), stations.end()), stations.end());
      for (StationIndex s : stations) {
        BallotBatch batch;
        batch.station = s;
        for (size_t i = 0; i < piece.size(); ++i) {
          if (piece.station[i] != s) continue;
          batch.seq.push_back(piece.seq[i]);
          batch.choice.push_back(piece.choice[i]);
        }
        aggregator.Add(batch);
      }
    });
  });
}

// Both ways of checking records in any order (AggregatorOptions::MixedPath): the region
// buffers, and each worker's own copy of the state merged at the end. Every test below
// runs on both, whatever the state's size would choose.
class AggregatorMixedTest : public ::testing::TestWithParam<AggregatorOptions::MixedPath> {
 protected:
  AggregatorOptions Options() const {
    AggregatorOptions options;
    options.mixed_path = GetParam();
    return options;
  }
};

INSTANTIATE_TEST_SUITE_P(Paths, AggregatorMixedTest,
                         ::testing::Values(AggregatorOptions::MixedPath::kRegionBuffers,
                                           AggregatorOptions::MixedPath::kOwnStates),
                         [](const ::testing::TestParamInfo<AggregatorOptions::MixedPath>& info) {
                           return info.param == AggregatorOptions::MixedPath::kOwnStates
                                      ? std::string("OwnStates")
                                      : std::string("RegionBuffers");
                         });

TEST_P(AggregatorMixedTest, InterleavedStreamsEqualTheReferenceOnRandomElections) {
  constexpr std::array<int, 4> kThreads = {1, 2, 3, 8};
  tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism, 8);
  RandomCaseBuilder builder(20261201);
  uint64_t total_records = 0;
  Rejections total_rejected{};
  for (int round = 0; round < 200; ++round) {
    const Election election = builder.MakeRandomElection();
    const std::vector<BallotBatch> batches = builder.MakeRandomBatches(election);
    const MixedColumns columns = Interleave(batches, builder.rng());
    const int threads = kThreads[round % kThreads.size()];
    const size_t max_piece = round % 3 == 0 ? 7 : round % 3 == 1 ? 600 : 20000;
    SCOPED_TRACE(absl::StrCat("round ", round, ", ", election.stations.size(), " stations, ",
                              election.contest().choices.size(), " choices, ", columns.size(),
                              " records, pieces up to ", max_piece, ", ", threads, " threads"));
    Aggregator aggregator(election, Options());
    AddMixedInParallel(aggregator, columns, max_piece, threads, builder.rng());
    const Tally tally = FinishOk(aggregator);
    ASSERT_EQ(tally, ReferenceAggregate(election, batches));
    total_records += tally.records_read;
    for (int r = 0; r < kNumRejectReasons; ++r) total_rejected[r] += tally.rejected[r];
  }
  // Every kind of record, in bulk (malformed records never reach AddMixed).
  EXPECT_GT(total_records, 500000u);
  for (RejectReason reason :
       {RejectReason::kUnknownStation, RejectReason::kUnknownChoice, RejectReason::kBadSeq,
        RejectReason::kDuplicate, RejectReason::kConflict}) {
    EXPECT_GT(total_rejected[static_cast<int>(reason)], 300u) << RejectReasonName(reason);
  }
}

TEST_P(AggregatorMixedTest, CountOnlyModeCountsAsAddDoes) {
  RandomCaseBuilder builder(20261202);
  for (int round = 0; round < 40; ++round) {
    const Election election = builder.MakeRandomElection();
    const std::vector<BallotBatch> batches = builder.MakeRandomBatches(election);
    const MixedColumns columns = Interleave(batches, builder.rng());
    AggregatorOptions options = Options();
    options.exactly_once = false;
    Aggregator by_batch(election, options), mixed(election, options);
    for (const BallotBatch& batch : batches) by_batch.Add(batch);
    mixed.AddMixed(columns.View(0, columns.size()));
    EXPECT_EQ(FinishOk(mixed), FinishOk(by_batch)) << "round " << round;
  }
}

// Records a worker still holds in its buffers are part of a snapshot: a job resumed from
// it ends as the uninterrupted one, and the buffers of the replaced state are dropped.
TEST_P(AggregatorMixedTest, SnapshotHoldsBufferedRecordsAndRestoreDropsThem) {
  const Election election = MakeElection(3, {100000, 5, 70000});
  std::vector<BallotBatch> batches;
  std::mt19937_64 rng(7);
  for (StationIndex s = 0; s < 3; ++s) {
    BallotBatch batch;
    batch.station = s;
    for (int i = 0; i < 300; ++i) {  // fewer than a buffer's 512: all stay buffered
      batch.seq.push_back(1 + rng() % election.stations[s].capacity);
      batch.choice.push_back(static_cast<ChoiceIndex>(rng() % 3));
    }
    batches.push_back(std::move(batch));
  }
  const MixedColumns columns = Interleave(batches, rng);
  const size_t half = columns.size() / 2;
  Aggregator first(election, Options());
  first.AddMixed(columns.View(0, half));
  const std::string snapshot = first.Snapshot();
  Aggregator resumed(election, Options());
  resumed.AddMixed(columns.View(half, columns.size()));  // dropped by the Restore below
  ASSERT_THAT(resumed.Restore(snapshot), IsOk());
  resumed.AddMixed(columns.View(half, columns.size()));
  EXPECT_EQ(FinishOk(resumed), ReferenceAggregate(election, batches));
  // The snapshot alone stands for the first half.
  Aggregator restored(election, Options());
  ASSERT_THAT(restored.Restore(snapshot), IsOk());
  std::vector<BallotBatch> first_half;
  for (size_t i = 0; i < half; ++i) {
    BallotBatch batch;
    batch.station = columns.station[i];
    batch.seq = {columns.seq[i]};
    batch.choice = {columns.choice[i]};
    first_half.push_back(std::move(batch));
  }
  EXPECT_EQ(FinishOk(restored), ReferenceAggregate(election, first_half));
}

// Checkpoint epochs over records in any order: Snapshot() then SnapshotChanges() after
// each epoch, from 2 threads. Restoring the frames so far and reading the rest gives the
// reference tally, and the restored state is the snapshot's (a fresh snapshot of it
// restores to the same bytes). Identities repeat within an epoch, across epochs and
// across the two threads' pieces.
TEST_P(AggregatorMixedTest, ChangesSnapshotsOfMixedEpochsRestoreAndFinishExactly) {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    RandomCaseBuilder builder(seed * 104729);
    const Election election = builder.MakeRandomElection();
    const std::vector<BallotBatch> batches = builder.MakeRandomBatches(election);
    const MixedColumns columns = Interleave(batches, builder.rng());
    SCOPED_TRACE(absl::StrCat("seed ", seed, ": ", columns.size(), " records"));
    std::vector<size_t> cuts;
    for (int epoch = 1; epoch < 4; ++epoch) cuts.push_back(columns.size() * epoch / 4);
    cuts.push_back(columns.size());
    Aggregator original(election, Options());
    std::vector<std::string> frames;
    size_t next = 0;
    for (size_t cut : cuts) {
      MixedColumns epoch;
      for (; next < cut; ++next) {
        epoch.station.push_back(columns.station[next]);
        epoch.seq.push_back(columns.seq[next]);
        epoch.choice.push_back(columns.choice[next]);
      }
      AddMixedInParallel(original, epoch, 300, 2, builder.rng());
      frames.push_back(frames.empty() ? original.Snapshot() : original.SnapshotChanges());
      Aggregator restored(election, Options());
      ASSERT_THAT(restored.Restore(std::vector<absl::string_view>(frames.begin(), frames.end())),
                  IsOk());
      Aggregator again(election, Options());
      ASSERT_THAT(again.Restore(restored.Snapshot()), IsOk());
      ASSERT_EQ(again.Snapshot(), restored.Snapshot()) << "after record " << cut;
      if (cut < columns.size()) restored.AddMixed(columns.View(cut, columns.size()));
      ASSERT_EQ(FinishOk(restored), ReferenceAggregate(election, batches)) << "after " << cut;
    }
  }
}

// A region of the state holds more stations than an entry can name (8,191 past its first):
// those are looked up from the slot. Station 8,191 and the ones after it, in the first region
// and the next, count exactly.
TEST_P(AggregatorMixedTest, RegionsOfManyTinyStationsFindEachRecordsStation) {
  std::vector<uint64_t> capacities(9000, 2);
  capacities.push_back(uint64_t{40} << 20);  // makes regions of 2^19 slots: 8,192 stations
  const Election election = MakeElection(3, capacities);
  std::vector<BallotBatch> batches;
  for (StationIndex s : {0u, 1u, 8190u, 8191u, 8192u, 8193u, 8999u, 9000u}) {
    batches.push_back(MakeBatch(s, {{1, kA}, {2, kB}, {2, kB}, {1, kC}}));
  }
  std::mt19937_64 rng(11);
  const MixedColumns columns = Interleave(batches, rng);
  Aggregator aggregator(election, Options());
  aggregator.AddMixed(columns.View(0, columns.size()));
  const Tally tally = FinishOk(aggregator);
  EXPECT_EQ(tally, ReferenceAggregate(election, batches));
  for (StationIndex s : {0u, 8191u, 8192u, 9000u}) {
    EXPECT_EQ(tally.Counted(s, kB), 1u) << s;
    EXPECT_EQ(tally.station_records[s], 4u) << s;
  }
  EXPECT_EQ(tally.rejected,
            MakeRejections({{RejectReason::kDuplicate, 8}, {RejectReason::kConflict, 16}}));
}

// Past 2^20 station x choice counters a worker's histogram would be too large: mixed
// batches are grouped by station and counted as Add() counts them.
TEST_P(AggregatorMixedTest, HugeRostersGroupByStationInstead) {
  const Election election = MakeElection(16, std::vector<uint64_t>(70000, 3));
  std::vector<BallotBatch> batches;
  for (StationIndex s : {0u, 5u, 65535u, 69999u}) {
    batches.push_back(MakeBatch(s, {{1, 0}, {3, 15}, {3, 15}, {4, 2}, {2, 16}}));
  }
  batches.push_back(MakeBatch(kUnknownStation, {{1, 0}}));
  std::mt19937_64 rng(13);
  const MixedColumns columns = Interleave(batches, rng);
  Aggregator aggregator(election, Options());
  aggregator.AddMixed(columns.View(0, columns.size()));
  const Tally tally = FinishOk(aggregator);
  EXPECT_EQ(tally, ReferenceAggregate(election, batches));
  EXPECT_EQ(tally.TotalCounted(), 8u);
  EXPECT_EQ(tally.rejected, MakeRejections({{RejectReason::kDuplicate, 4},
                                            {RejectReason::kBadSeq, 4},
                                            {RejectReason::kUnknownChoice, 4},
                                            {RejectReason::kUnknownStation, 1}}));
}

}  // namespace
}  // namespace canvass
