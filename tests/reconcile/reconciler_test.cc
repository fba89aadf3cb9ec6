// Tests for the reconciler: deltas, verdict, tolerance, leaders and margins, and when the
// outcome is at risk, each on a small election and a tally built by hand.
#include "engine/reconcile/reconciler.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/elections.h"

namespace canvass {
namespace {

using ReportedChoices = std::vector<std::pair<std::string, uint64_t>>;

// An election with choices AAA and BBB (candidates) and INV of kind `third_kind`, the given
// reported figures (a code left out of `reported_choices` is not reported), and three
// stations, S1 and S3 in FR and S2 in DE, with room for any figure used below.
Election MakeElection(const ReportedChoices& reported_choices, uint64_t reported_cast,
                      const std::string& third_kind = "invalid") {
  return testing::ElectionBuilder("reconcile-test", "Reconcile test")
      .AddChoice("AAA", "candidate")
      .AddChoice("BBB", "candidate")
      .AddChoice("INV", third_kind)
      .Reported(reported_cast, reported_choices)
      .AddStation("S1", "FR", 1000)
      .AddStation("S2", "DE", 1000)
      .AddStation("S3", "FR", 1000)
      .Build();
}

// Reported AAA 60, BBB 30, INV 10, cast 100: consistent, AAA leads by 30.
Election StandardElection() { return MakeElection({{"AAA", 60}, {"BBB", 30}, {"INV", 10}}, 100); }

// A tally with counted[s][c] ballots; every counted ballot is also a record read at its
// station, and `rejected` records (unattributed to a station) are added to records_read.
Tally MakeTally(const std::vector<std::vector<uint64_t>>& counted) {
  Tally tally(static_cast<uint32_t>(counted.size()), static_cast<uint32_t>(counted[0].size()));
  for (size_t s = 0; s < counted.size(); ++s) {
    for (size_t c = 0; c < counted[s].size(); ++c) {
      tally.counted[s * tally.num_choices + c] = counted[s][c];
      tally.station_records[s] += counted[s][c];
      tally.records_read += counted[s][c];
    }
  }
  return tally;
}

void AddRejected(Tally* tally, RejectReason reason, uint64_t records) {
  tally->rejected[static_cast<int>(reason)] += records;
  tally->records_read += records;
}

// Totals AAA 60, BBB 30, INV 10: exactly the standard reported figures.
Tally ExactTally() { return MakeTally({{20, 10, 4}, {20, 10, 3}, {20, 10, 3}}); }

Reconciliation ReconcileWith(const Election& election, const Tally& tally, uint64_t tolerance = 0) {
  ReconcileOptions options;
  options.tolerance = tolerance;
  return Reconcile(election, tally, options);
}

void ExpectLine(const FigureComparison& line, uint64_t counted, uint64_t reported, int64_t delta) {
  EXPECT_EQ(line.counted, counted);
  EXPECT_EQ(line.reported, std::optional<uint64_t>(reported));
  EXPECT_EQ(line.delta, std::optional<int64_t>(delta));
}

TEST(ReconcileTest, ExactMatch) {
  const Election election = StandardElection();
  const Reconciliation result = ReconcileWith(election, ExactTally());
  ASSERT_EQ(result.choices.size(), 3u);
  ExpectLine(result.choices[0], 60, 60, 0);
  ExpectLine(result.choices[1], 30, 30, 0);
  ExpectLine(result.choices[2], 10, 10, 0);
  ExpectLine(result.cast, 100, 100, 0);
  EXPECT_TRUE(result.match);
  EXPECT_TRUE(result.reported_consistent);
  EXPECT_EQ(result.absolute_delta_sum, 0u);
  EXPECT_EQ(result.rejected_records, 0u);
  EXPECT_EQ(result.reported_lead.leader, std::optional<ChoiceIndex>(0));
  EXPECT_EQ(result.reported_lead.margin, 30u);
  EXPECT_EQ(result.counted_lead.leader, std::optional<ChoiceIndex>(0));
  EXPECT_EQ(result.counted_lead.margin, 30u);
  EXPECT_FALSE(result.outcome_at_risk);
  EXPECT_EQ(result.stations_reporting, 3u);
  EXPECT_EQ(result.stations_expected, 3u);
  EXPECT_EQ(result.tolerance, 0u);
}

TEST(ReconcileTest, CountedAboveReported) {
  const Election election = StandardElection();
  const Reconciliation result =
      ReconcileWith(election, MakeTally({{22, 10, 4}, {20, 10, 3}, {20, 10, 3}}));
  ExpectLine(result.choices[0], 62, 60, 2);
  ExpectLine(result.choices[1], 30, 30, 0);
  ExpectLine(result.choices[2], 10, 10, 0);
  ExpectLine(result.cast, 102, 100, 2);
  EXPECT_FALSE(result.match);
  EXPECT_EQ(result.absolute_delta_sum, 2u);
  EXPECT_EQ(result.counted_lead.margin, 32u);
  EXPECT_FALSE(result.outcome_at_risk);
}

TEST(ReconcileTest, CountedBelowReported) {
  const Election election = StandardElection();
  const Reconciliation result =
      ReconcileWith(election, MakeTally({{20, 10, 4}, {20, 7, 3}, {20, 10, 3}}));
  ExpectLine(result.choices[0], 60, 60, 0);
  ExpectLine(result.choices[1], 27, 30, -3);
  ExpectLine(result.choices[2], 10, 10, 0);
  ExpectLine(result.cast, 97, 100, -3);
  EXPECT_FALSE(result.match);
  EXPECT_EQ(result.absolute_delta_sum, 3u);
  EXPECT_EQ(result.counted_lead.margin, 33u);
}

TEST(ReconcileTest, AbsoluteDeltaSumAddsMagnitudesNotSignedDeltas) {
  // +2 on AAA, -3 on BBB, -1 on INV: signed sum -2 (cast), magnitudes 6.
  const Election election = StandardElection();
  const Reconciliation result =
      ReconcileWith(election, MakeTally({{22, 10, 3}, {20, 7, 3}, {20, 10, 3}}));
  ExpectLine(result.choices[0], 62, 60, 2);
  ExpectLine(result.choices[1], 27, 30, -3);
  ExpectLine(result.choices[2], 9, 10, -1);
  ExpectLine(result.cast, 98, 100, -2);
  EXPECT_EQ(result.absolute_delta_sum, 6u);
  EXPECT_FALSE(result.match);
}

TEST(ReconcileTest, MatchingChoicesButDifferentCastIsAMismatch) {
  // Reported figures that do not add up: 60 + 30 + 10 = 100, but cast says 101.
  const Election election = MakeElection({{"AAA", 60}, {"BBB", 30}, {"INV", 10}}, 101);
  const Reconciliation result = ReconcileWith(election, ExactTally());
  EXPECT_FALSE(result.reported_consistent);
  ExpectLine(result.choices[0], 60, 60, 0);
  ExpectLine(result.choices[1], 30, 30, 0);
  ExpectLine(result.choices[2], 10, 10, 0);
  ExpectLine(result.cast, 100, 101, -1);
  EXPECT_EQ(result.absolute_delta_sum, 0u);
  EXPECT_FALSE(result.match);
}

TEST(ReconcileTest, InconsistentReportedFiguresStillReconcilePerChoice) {
  // Cast 99 below the sum of choices (100); AAA counted one short of its figure.
  const Election election = MakeElection({{"AAA", 60}, {"BBB", 30}, {"INV", 10}}, 99);
  const Reconciliation result =
      ReconcileWith(election, MakeTally({{19, 10, 4}, {20, 10, 3}, {20, 10, 3}}));
  EXPECT_FALSE(result.reported_consistent);
  ExpectLine(result.choices[0], 59, 60, -1);
  ExpectLine(result.choices[1], 30, 30, 0);
  ExpectLine(result.choices[2], 10, 10, 0);
  ExpectLine(result.cast, 99, 99, 0);
  EXPECT_EQ(result.absolute_delta_sum, 1u);
  EXPECT_FALSE(result.match);
}

TEST(ReconcileTest, UnreportedChoiceHasNoDeltaAndDoesNotDecideTheVerdict) {
  const Election election = MakeElection({{"AAA", 60}, {"BBB", 30}}, 100);
  const Reconciliation result = ReconcileWith(election, ExactTally());
  EXPECT_FALSE(result.reported_consistent);
  EXPECT_EQ(result.choices[2].counted, 10u);
  EXPECT_EQ(result.choices[2].reported, std::nullopt);
  EXPECT_EQ(result.choices[2].delta, std::nullopt);
  ExpectLine(result.cast, 100, 100, 0);
  EXPECT_EQ(result.absolute_delta_sum, 0u);
  EXPECT_TRUE(result.match);
}

TEST(ReconcileTest, LeaderChangePutsOutcomeAtRisk) {
  const Election election = StandardElection();
  const Reconciliation result =
      ReconcileWith(election, MakeTally({{10, 20, 4}, {15, 15, 3}, {15, 15, 3}}));
  EXPECT_EQ(result.reported_lead.leader, std::optional<ChoiceIndex>(0));
  EXPECT_EQ(result.counted_lead.leader, std::optional<ChoiceIndex>(1));
  EXPECT_EQ(result.counted_lead.margin, 10u);  // BBB 50, AAA 40
  EXPECT_EQ(result.absolute_delta_sum, 40u);
  EXPECT_TRUE(result.outcome_at_risk);
}

TEST(ReconcileTest, LeaderChangeAloneIsEnough) {
  // BBB is not reported, so its surplus adds nothing to the delta sum: only the change of
  // leader can put the outcome at risk here. Reported lead: AAA by 60 (BBB counts as 0).
  const Election election = MakeElection({{"AAA", 60}, {"INV", 10}}, 100);
  const Reconciliation result =
      ReconcileWith(election, MakeTally({{20, 30, 4}, {20, 30, 3}, {20, 10, 3}}));
  EXPECT_EQ(result.reported_lead.leader, std::optional<ChoiceIndex>(0));
  EXPECT_EQ(result.reported_lead.margin, 60u);
  EXPECT_EQ(result.counted_lead.leader, std::optional<ChoiceIndex>(1));
  EXPECT_EQ(result.counted_lead.margin, 10u);
  EXPECT_EQ(result.absolute_delta_sum, 0u);
  EXPECT_EQ(result.rejected_records, 0u);
  EXPECT_TRUE(result.outcome_at_risk);
}

TEST(ReconcileTest, RejectedRecordsEqualToMarginPutOutcomeAtRisk) {
  const Election election = StandardElection();
  Tally tally = ExactTally();
  AddRejected(&tally, RejectReason::kDuplicate, 30);
  const Reconciliation result = ReconcileWith(election, tally);
  EXPECT_EQ(result.rejected_records, 30u);
  EXPECT_EQ(result.absolute_delta_sum, 0u);
  EXPECT_TRUE(result.match);
  EXPECT_TRUE(result.outcome_at_risk);  // 0 + 30 >= 30
}

TEST(ReconcileTest, RejectedRecordsOneBelowMarginDoNotPutOutcomeAtRisk) {
  const Election election = StandardElection();
  Tally tally = ExactTally();
  AddRejected(&tally, RejectReason::kDuplicate, 29);
  const Reconciliation result = ReconcileWith(election, tally);
  EXPECT_EQ(result.rejected_records, 29u);
  EXPECT_FALSE(result.outcome_at_risk);  // 0 + 29 < 30
}

TEST(ReconcileTest, DeltasPlusRejectsAtTheMarginBoundary) {
  // AAA 55 (-5), BBB 35 (+5): |delta| sum 10, reported margin 30, counted margin 20.
  const Election election = StandardElection();
  const Tally base = MakeTally({{15, 15, 4}, {20, 10, 3}, {20, 10, 3}});
  {
    Tally tally = base;
    AddRejected(&tally, RejectReason::kMalformed, 5);
    AddRejected(&tally, RejectReason::kConflict, 15);
    const Reconciliation result = ReconcileWith(election, tally);
    EXPECT_EQ(result.absolute_delta_sum, 10u);
    EXPECT_EQ(result.rejected_records, 20u);
    EXPECT_EQ(result.counted_lead.leader, std::optional<ChoiceIndex>(0));
    EXPECT_EQ(result.counted_lead.margin, 20u);
    EXPECT_TRUE(result.outcome_at_risk);  // 10 + 20 >= 30
  }
  {
    Tally tally = base;
    AddRejected(&tally, RejectReason::kMalformed, 5);
    AddRejected(&tally, RejectReason::kConflict, 14);
    const Reconciliation result = ReconcileWith(election, tally);
    EXPECT_EQ(result.rejected_records, 19u);
    EXPECT_FALSE(result.outcome_at_risk);  // 10 + 19 < 30
  }
}

TEST(ReconcileTest, EveryRejectReasonCountsTowardRisk) {
  const Election election = StandardElection();
  Tally tally = ExactTally();
  for (int r = 0; r < kNumRejectReasons; ++r) {
    AddRejected(&tally, static_cast<RejectReason>(r), 5);
  }
  const Reconciliation result = ReconcileWith(election, tally);
  EXPECT_EQ(result.rejected_records, 30u);
  EXPECT_TRUE(result.outcome_at_risk);
}

TEST(ReconcileTest, InvalidChoiceNeverLeads) {
  const Election election = MakeElection({{"AAA", 60}, {"BBB", 30}, {"INV", 1000}}, 1090);
  const Reconciliation result =
      ReconcileWith(election, MakeTally({{20, 10, 400}, {20, 10, 300}, {20, 10, 300}}));
  EXPECT_TRUE(result.match);
  EXPECT_EQ(result.reported_lead.leader, std::optional<ChoiceIndex>(0));
  EXPECT_EQ(result.reported_lead.margin, 30u);
  EXPECT_EQ(result.counted_lead.leader, std::optional<ChoiceIndex>(0));
  EXPECT_EQ(result.counted_lead.margin, 30u);
  EXPECT_FALSE(result.outcome_at_risk);
}

TEST(ReconcileTest, BlankChoiceNeverLeads) {
  const Election election = MakeElection({{"AAA", 30}, {"BBB", 60}, {"INV", 1000}}, 1090, "blank");
  const Reconciliation result =
      ReconcileWith(election, MakeTally({{10, 20, 400}, {10, 20, 300}, {10, 20, 300}}));
  EXPECT_EQ(result.reported_lead.leader, std::optional<ChoiceIndex>(1));
  EXPECT_EQ(result.reported_lead.margin, 30u);
  EXPECT_EQ(result.counted_lead.leader, std::optional<ChoiceIndex>(1));
  EXPECT_EQ(result.counted_lead.margin, 30u);
}

TEST(ReconcileTest, TieHasZeroMarginAndIsAlwaysAtRisk) {
  const Election election = MakeElection({{"AAA", 45}, {"BBB", 45}, {"INV", 10}}, 100);
  const Reconciliation result =
      ReconcileWith(election, MakeTally({{15, 15, 4}, {15, 15, 3}, {15, 15, 3}}));
  EXPECT_TRUE(result.match);
  EXPECT_EQ(result.reported_lead.leader, std::optional<ChoiceIndex>(0));
  EXPECT_EQ(result.reported_lead.margin, 0u);
  EXPECT_EQ(result.counted_lead.leader, std::optional<ChoiceIndex>(0));
  EXPECT_EQ(result.counted_lead.margin, 0u);
  EXPECT_TRUE(result.outcome_at_risk);  // 0 + 0 >= 0
}

TEST(ReconcileTest, ChoiceDeltaWithinToleranceMatches) {
  // AAA +3, BBB -3, cast 0.
  const Election election = StandardElection();
  const Tally tally = MakeTally({{23, 7, 4}, {20, 10, 3}, {20, 10, 3}});
  const Reconciliation within = ReconcileWith(election, tally, 3);
  ExpectLine(within.choices[0], 63, 60, 3);
  ExpectLine(within.choices[1], 27, 30, -3);
  ExpectLine(within.cast, 100, 100, 0);
  EXPECT_TRUE(within.match);
  EXPECT_EQ(within.tolerance, 3u);
  const Reconciliation beyond = ReconcileWith(election, tally, 2);
  EXPECT_FALSE(beyond.match);
  EXPECT_EQ(beyond.tolerance, 2u);
}

TEST(ReconcileTest, CastDeltaIsHeldToTheToleranceToo) {
  // Every choice +1, so cast is +3.
  const Election election = StandardElection();
  const Tally tally = MakeTally({{21, 11, 5}, {20, 10, 3}, {20, 10, 3}});
  ExpectLine(ReconcileWith(election, tally, 1).cast, 103, 100, 3);
  EXPECT_FALSE(ReconcileWith(election, tally, 1).match);
  EXPECT_FALSE(ReconcileWith(election, tally, 2).match);
  EXPECT_TRUE(ReconcileWith(election, tally, 3).match);
}

TEST(ReconcileTest, StationsReportingCountsStationsWithRecords) {
  const Election election = StandardElection();
  Tally tally = ExactTally();
  tally.station_records = {100, 0, 0};
  Reconciliation result = ReconcileWith(election, tally);
  EXPECT_EQ(result.stations_reporting, 1u);
  EXPECT_EQ(result.stations_expected, 3u);
  tally.station_records = {0, 0, 0};
  result = ReconcileWith(election, tally);
  EXPECT_EQ(result.stations_reporting, 0u);
  tally.station_records = {0, 1, 7};
  result = ReconcileWith(election, tally);
  EXPECT_EQ(result.stations_reporting, 2u);
}

TEST(ReconcileTest, EmptyTallyIsAMismatchByTheWholeReport) {
  const Election election = StandardElection();
  const Reconciliation result = ReconcileWith(election, Tally(3, 3));
  ExpectLine(result.choices[0], 0, 60, -60);
  ExpectLine(result.choices[1], 0, 30, -30);
  ExpectLine(result.choices[2], 0, 10, -10);
  ExpectLine(result.cast, 0, 100, -100);
  EXPECT_EQ(result.absolute_delta_sum, 100u);
  EXPECT_FALSE(result.match);
  EXPECT_TRUE(result.outcome_at_risk);
  EXPECT_EQ(result.stations_reporting, 0u);
}

// ---- FindLead ----

Contest MakeContest(const std::vector<ChoiceKind>& kinds) {
  Contest contest;
  for (size_t c = 0; c < kinds.size(); ++c) {
    contest.choices.push_back(Choice{absl::StrCat("C", c), absl::StrCat("Choice ", c), kinds[c]});
  }
  return contest;
}

constexpr ChoiceKind kCandidate = ChoiceKind::kCandidate;
constexpr ChoiceKind kInvalid = ChoiceKind::kInvalid;
constexpr ChoiceKind kBlank = ChoiceKind::kBlank;

TEST(FindLeadTest, LeaderAndMarginOverRunnerUp) {
  const Contest contest = MakeContest({kCandidate, kCandidate, kCandidate});
  Lead lead = FindLead(contest, {5, 20, 12});
  EXPECT_EQ(lead.leader, std::optional<ChoiceIndex>(1));
  EXPECT_EQ(lead.margin, 8u);
  // The runner-up comes after the leader.
  lead = FindLead(contest, {20, 5, 12});
  EXPECT_EQ(lead.leader, std::optional<ChoiceIndex>(0));
  EXPECT_EQ(lead.margin, 8u);
  // The runner-up comes before the leader.
  lead = FindLead(contest, {12, 5, 20});
  EXPECT_EQ(lead.leader, std::optional<ChoiceIndex>(2));
  EXPECT_EQ(lead.margin, 8u);
}

TEST(FindLeadTest, NonCandidatesAreIgnored) {
  const Contest contest = MakeContest({kInvalid, kCandidate, kBlank, kCandidate});
  const Lead lead = FindLead(contest, {1000, 7, 900, 3});
  EXPECT_EQ(lead.leader, std::optional<ChoiceIndex>(1));
  EXPECT_EQ(lead.margin, 4u);
}

TEST(FindLeadTest, TieGoesToTheFirstCandidateWithZeroMargin) {
  const Contest contest = MakeContest({kInvalid, kCandidate, kCandidate, kCandidate});
  const Lead lead = FindLead(contest, {50, 7, 9, 9});
  EXPECT_EQ(lead.leader, std::optional<ChoiceIndex>(2));
  EXPECT_EQ(lead.margin, 0u);
}

TEST(FindLeadTest, SingleCandidateLeadsByItsWholeFigure) {
  const Contest contest = MakeContest({kCandidate, kInvalid});
  const Lead lead = FindLead(contest, {42, 100});
  EXPECT_EQ(lead.leader, std::optional<ChoiceIndex>(0));
  EXPECT_EQ(lead.margin, 42u);
}

TEST(FindLeadTest, NoCandidateMeansNoLeader) {
  const Contest contest = MakeContest({kInvalid, kBlank});
  const Lead lead = FindLead(contest, {10, 20});
  EXPECT_EQ(lead.leader, std::nullopt);
  EXPECT_EQ(lead.margin, 0u);
}

TEST(FindLeadTest, ReferenceFigures) {
  const Contest contest = MakeContest({kCandidate, kCandidate, kInvalid});
  const Lead lead = FindLead(contest, {50206, 36169, 1950});
  EXPECT_EQ(lead.leader, std::optional<ChoiceIndex>(0));
  EXPECT_EQ(lead.margin, 14037u);
}

// Regression (issue "Hardening", unclear messages): a contest without candidates (only
// invalid and blank choices) printed "at risk YES" beside MATCH: with no leader on either
// side, 0 + 0 >= a margin of 0. There is no outcome to put at risk.
TEST(ReconcileTest, AContestWithoutCandidatesHasNoOutcomeAtRisk) {
  const Election election = testing::ElectionBuilder("no-candidates", "No candidates")
                                .AddChoice("INV", "invalid")
                                .AddChoice("BLK", "blank")
                                .Reported(10, {{"INV", 6}, {"BLK", 4}})
                                .AddStation("S1", "FR", 100)
                                .Build();
  const Reconciliation rec = ReconcileWith(election, MakeTally({{6, 4}}));
  EXPECT_TRUE(rec.match);
  EXPECT_FALSE(rec.reported_lead.leader.has_value());
  EXPECT_FALSE(rec.counted_lead.leader.has_value());
  EXPECT_FALSE(rec.outcome_at_risk);
}

}  // namespace
}  // namespace canvass
