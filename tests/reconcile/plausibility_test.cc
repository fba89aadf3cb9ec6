// Tests for the plausibility checks: every check fires exactly where its figures say, with
// those figures, and not one ballot before its threshold; on elections and tallies built
// by hand (single-contest and contest elections).
#include "engine/reconcile/plausibility.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/elections.h"
#include "tests/testing/status_matchers.h"

namespace canvass {
namespace {

using Figures = std::vector<std::pair<std::string, uint64_t>>;
using ::canvass::testing::IsOk;

// Stations S1 (capacity 200), S2 (200), S3 (50); choices AAA, BBB (candidates), INV
// (invalid), BLK (blank); reported AAA 150, BBB 100, INV 10, BLK 5, cast `cast`.
Election FourChoices(uint64_t cast = 265) {
  return testing::ElectionBuilder("plausible", "Plausibility test")
      .AddChoice("AAA", "candidate")
      .AddChoice("BBB", "candidate")
      .AddChoice("INV", "invalid")
      .AddChoice("BLK", "blank")
      .Reported(cast, {{"AAA", 150}, {"BBB", 100}, {"INV", 10}, {"BLK", 5}})
      .AddStation("S1", "FR", 200)
      .AddStation("S2", "DE", 200)
      .AddStation("S3", "FR", 50)
      .Build();
}

// counted[s][c]; every counted ballot a record read at its station, plus `extra` records.
Tally MakeTally(const std::vector<std::vector<uint64_t>>& counted,
                const std::vector<uint64_t>& extra = {}) {
  Tally tally(static_cast<uint32_t>(counted.size()), static_cast<uint32_t>(counted[0].size()));
  for (size_t s = 0; s < counted.size(); ++s) {
    for (size_t c = 0; c < counted[s].size(); ++c) {
      tally.counted[s * tally.num_choices + c] = counted[s][c];
      tally.station_records[s] += counted[s][c];
      tally.records_read += counted[s][c];
    }
    if (s < extra.size()) {
      tally.station_records[s] += extra[s];
      tally.records_read += extra[s];
    }
  }
  return tally;
}

std::vector<std::string> Checks(const std::vector<PlausibilityWarning>& warnings) {
  std::vector<std::string> out;
  for (const PlausibilityWarning& w : warnings) out.push_back(w.check + "@" + w.unit);
  return out;
}

TEST(PlausibilityTest, AnInvalidShareAboveTheThresholdIsNamedWithItsFigures) {
  const Election election = FourChoices();
  // S1: 100 ballots, 6 invalid (6.0% > 5%); S2: 100 ballots, 4 invalid; the whole election:
  // 10 of 200 (5.0%: not above).
  const Tally tally = MakeTally({{60, 29, 6, 5}, {60, 36, 4, 0}, {0, 0, 0, 0}});
  PlausibilityOptions options;
  options.min_ballots = 100;
  const std::vector<PlausibilityWarning> warnings =
      CheckPlausibility(election, tally, nullptr, options);
  ASSERT_THAT(Checks(warnings), ::testing::ElementsAre("invalid_share@S1", "empty_station@S3"));
  EXPECT_EQ(warnings[0].figures,
            (Figures{{"invalid", 6}, {"ballots", 100}, {"threshold_permille", 50}}));
  EXPECT_EQ(warnings[0].message,
            "station 'S1': 6 invalid of 100 ballots (6.0%) is above the 5% threshold");
  EXPECT_EQ(warnings[1].figures, (Figures{{"records", 0}, {"capacity", 50}}));
  EXPECT_EQ(warnings[1].message, "station 'S3': no ballots (50 ballot serials issued)");
}

TEST(PlausibilityTest, SharesAreCheckedOnlyFromMinBallotsAndAtTheGivenThreshold) {
  const Election election = FourChoices();
  const Tally tally = MakeTally({{60, 29, 6, 5}, {60, 35, 5, 0}, {20, 10, 0, 0}});
  PlausibilityOptions options;
  options.min_ballots = 101;  // S1 and S2 have 100: not checked; the whole election (230) is
  EXPECT_THAT(Checks(CheckPlausibility(election, tally, nullptr, options)), ::testing::IsEmpty());
  options.invalid_permille = 47;  // the whole election: 11 of 230 = 4.78% > 4.7%
  const std::vector<PlausibilityWarning> warnings =
      CheckPlausibility(election, tally, nullptr, options);
  ASSERT_THAT(Checks(warnings), ::testing::ElementsAre("invalid_share@"));
  EXPECT_EQ(warnings[0].message,
            "the whole election: 11 invalid of 230 ballots (4.8%) is above the 4.7% threshold");
  options.invalid_permille = 48;  // 4.78% is not above 4.8%
  EXPECT_THAT(Checks(CheckPlausibility(election, tally, nullptr, options)), ::testing::IsEmpty());
}

TEST(PlausibilityTest, BlankShareOverCapacityAndAnEmptyStation) {
  const Election election = FourChoices();
  // S2: 11 blank of 100 (11% > 10%); S3: 40 counted + 11 records more = 51 > capacity 50.
  const Tally tally = MakeTally({{60, 35, 5, 0}, {60, 29, 0, 11}, {20, 20, 0, 0}}, {0, 0, 11});
  PlausibilityOptions options;
  options.min_ballots = 100;
  const std::vector<PlausibilityWarning> warnings =
      CheckPlausibility(election, tally, nullptr, options);
  ASSERT_THAT(Checks(warnings), ::testing::ElementsAre("blank_share@S2", "over_capacity@S3"));
  EXPECT_EQ(warnings[0].figures,
            (Figures{{"blank", 11}, {"ballots", 100}, {"threshold_permille", 100}}));
  EXPECT_EQ(warnings[1].figures, (Figures{{"records", 51}, {"capacity", 50}}));
  EXPECT_EQ(warnings[1].message, "station 'S3': 51 records read for 50 ballot serials issued");
}

TEST(PlausibilityTest, ReportedChecksRunOnlyWithAReconciliation) {
  // Reported choices sum to 265; cast 270 does not.
  const Election election = FourChoices(/*cast=*/270);
  // Counted: BBB leads (AAA 60, BBB 90), where the report has AAA ahead.
  const Tally tally = MakeTally({{30, 45, 0, 0}, {30, 45, 0, 0}, {0, 0, 0, 0}}, {});
  PlausibilityOptions options;
  options.min_ballots = 1000;
  EXPECT_THAT(Checks(CheckPlausibility(election, tally, nullptr, options)),
              ::testing::ElementsAre("empty_station@S3"));
  const Reconciliation rec = Reconcile(election, tally, {});
  const std::vector<PlausibilityWarning> warnings =
      CheckPlausibility(election, tally, &rec, options);
  ASSERT_THAT(Checks(warnings), ::testing::ElementsAre("empty_station@S3", "leader_changed@",
                                                       "reported_not_summing@"));
  EXPECT_EQ(warnings[1].figures, (Figures{{"counted_margin", 30}, {"reported_margin", 50}}));
  EXPECT_EQ(warnings[1].message,
            "the whole election: counted, BBB leads by 30; reported, AAA leads by 50");
  EXPECT_EQ(warnings[2].figures, (Figures{{"sum_of_choices", 265}, {"cast", 270}}));
}

// ---- Contest elections ----

// Scope "s" composed of precincts p1, p2; contest "c" vote for 1, selections x, y; the
// invalid figure. Reported figures as given (unit, cell, count), by name below.
struct World {
  ContestElection e;
  ContestTally tally;
  uint32_t s = 0, p1 = 0, p2 = 0;
  uint32_t Cell(const char* what) const {
    const std::string w = what;
    if (w == "x") return e.SelectionCell(0, 0);
    if (w == "y") return e.SelectionCell(0, 1);
    if (w == "over") return e.FigureCell(0, ContestFigure::kOvervotes);
    if (w == "under") return e.FigureCell(0, ContestFigure::kUndervotes);
    if (w == "ballots") return e.FigureCell(0, ContestFigure::kBallots);
    if (w == "invalid") return e.FigureCell(0, ContestFigure::kInvalid);
    return ContestElection::kBallotsCastCell;
  }
  void Count(uint32_t unit, const char* what, uint64_t n) {
    tally.cells[static_cast<size_t>(unit) * tally.cells_per_unit + Cell(what)] += n;
  }
};

World MakeWorld() {
  World w;
  w.e.id = "contests";
  w.e.source = "hand";
  w.e.scope_id = "s";
  w.e.invalid_figure = true;
  w.e.units = {{"s", "", "county", {"p1", "p2"}}, {"p1", "", "precinct"}, {"p2", "", "precinct"}};
  w.e.contests = {{"c", "", 1, ContestKind::kPlurality, {{"x"}, {"y"}}}};
  EXPECT_THAT(w.e.Finalize("hand"), IsOk());
  w.s = *w.e.FindUnit("s");
  w.p1 = *w.e.FindUnit("p1");
  w.p2 = *w.e.FindUnit("p2");
  w.tally.num_units = static_cast<uint32_t>(w.e.units.size());
  w.tally.cells_per_unit = w.e.cells_per_unit();
  w.tally.cells.assign(static_cast<size_t>(w.tally.num_units) * w.tally.cells_per_unit, 0);
  return w;
}

// Counts at p1 and p2 and their roll-up at s: (x, y, over, under, ballots, invalid, cast).
void CountAt(World* w, uint32_t unit, std::vector<uint64_t> f) {
  const char* names[] = {"x", "y", "over", "under", "ballots", "invalid", "cast"};
  for (size_t i = 0; i < f.size(); ++i) {
    w->Count(unit, names[i], f[i]);
    w->Count(w->s, names[i], f[i]);
  }
}

TEST(ContestPlausibilityTest, InvalidAndBlankSharesPerUnitAndContest) {
  World w = MakeWorld();
  // p1: 100 ballots of the contest + 4 invalidated: over 3 (3 ballots) + 4 = 7 of 104 (6.7%).
  CountAt(&w, w.p1, {50, 36, 3, 11, 100, 4, 104});
  // p2: 100 ballots, 10 undervotes (10.0%: not above 10%), no invalid.
  CountAt(&w, w.p2, {45, 45, 0, 10, 100, 0, 100});
  PlausibilityOptions options;
  options.min_ballots = 100;
  const std::vector<PlausibilityWarning> warnings =
      CheckContestPlausibility(w.e, w.tally, nullptr, options);
  // s: 7 invalid of 204 (3.4%); 21 blank of 204 (10.3% > 10%); p1: 7 of 104, 11 of 104 (10.6%).
  ASSERT_THAT(Checks(warnings),
              ::testing::ElementsAre("blank_share@s", "invalid_share@p1", "blank_share@p1"));
  EXPECT_EQ(warnings[0].contest, "c");
  EXPECT_EQ(warnings[0].figures,
            (Figures{{"blank", 21}, {"ballots", 204}, {"threshold_permille", 100}}));
  EXPECT_EQ(warnings[0].message,
            "the whole election, contest 'c': 21 blank of 204 ballots (10.3%) is above the 10% "
            "threshold");
  EXPECT_EQ(warnings[1].figures,
            (Figures{{"invalid", 7}, {"ballots", 104}, {"threshold_permille", 50}}));
  EXPECT_EQ(warnings[1].message,
            "unit 'p1', contest 'c': 7 invalid of 104 ballots (6.7%) is above the 5% threshold");
}

TEST(ContestPlausibilityTest, ReportedFiguresThatDoNotAddUpAndALeaderThatChanges) {
  World w = MakeWorld();
  CountAt(&w, w.p1, {30, 10, 0, 0, 40, 0, 40});
  CountAt(&w, w.p2, {10, 20, 0, 0, 30, 0, 30});
  // p1 as counted; p2 reported with x ahead (counted: y); s reports x 41 where its parts
  // report 30 + 16 = 46; p2's votes 16 + 14 + over 0 + under 0 = 30 = 1 x 30 ballots, and
  // p1's 30 + 10 + 0 + 1 = 41, not 40 ballots.
  w.e.reported = {
      {w.p1, w.Cell("x"), 30},       {w.p1, w.Cell("y"), 10},       {w.p1, w.Cell("over"), 0},
      {w.p1, w.Cell("under"), 1},    {w.p1, w.Cell("ballots"), 40}, {w.p2, w.Cell("x"), 16},
      {w.p2, w.Cell("y"), 14},       {w.p2, w.Cell("over"), 0},     {w.p2, w.Cell("under"), 0},
      {w.p2, w.Cell("ballots"), 30}, {w.s, w.Cell("x"), 41},        {w.p2, w.Cell("cast"), 30}};
  ASSERT_THAT(w.e.Finalize("hand"), IsOk());
  PlausibilityOptions options;
  options.min_ballots = 1000;
  EXPECT_THAT(Checks(CheckContestPlausibility(w.e, w.tally, nullptr, options)),
              ::testing::IsEmpty());
  const Reconciliation2 rec = ReconcileCells(w.e, w.tally, {});
  const std::vector<PlausibilityWarning> warnings =
      CheckContestPlausibility(w.e, w.tally, &rec, options);
  ASSERT_THAT(Checks(warnings),
              ::testing::ElementsAre("reported_not_summing@s", "reported_not_summing@p1",
                                     "leader_changed@p2"));
  EXPECT_EQ(warnings[0].figures, (Figures{{"reported", 41}, {"sum_of_parts", 46}, {"parts", 2}}));
  EXPECT_EQ(warnings[0].message,
            "the whole election, contest 'c': x reported 41, its 2 parts report 46");
  EXPECT_EQ(
      warnings[1].figures,
      (Figures{
          {"votes", 40}, {"overvotes", 0}, {"undervotes", 1}, {"ballots", 40}, {"vote_for", 1}}));
  EXPECT_EQ(warnings[1].message,
            "unit 'p1', contest 'c': reported votes 40 + overvotes 0 + undervotes 1 = 41, not 1 x "
            "40 ballots = 40");
  EXPECT_EQ(warnings[2].figures, (Figures{{"counted_margin", 10}, {"reported_margin", 2}}));
  EXPECT_EQ(warnings[2].message,
            "unit 'p2', contest 'c': counted, y lead(s) by 10; reported, x by 2");
}

TEST(ContestPlausibilityTest, AUnitWithReportedBallotsAndNoneCountedIsEmpty) {
  World w = MakeWorld();
  CountAt(&w, w.p1, {30, 10, 0, 0, 40, 0, 40});
  w.e.reported = {{w.p2, w.Cell("cast"), 25}, {w.p1, w.Cell("cast"), 40}};
  ASSERT_THAT(w.e.Finalize("hand"), IsOk());
  PlausibilityOptions options;
  options.min_ballots = 1000;
  const Reconciliation2 rec = ReconcileCells(w.e, w.tally, {});
  const std::vector<PlausibilityWarning> warnings =
      CheckContestPlausibility(w.e, w.tally, &rec, options);
  ASSERT_THAT(Checks(warnings), ::testing::ElementsAre("empty_station@p2"));
  EXPECT_EQ(warnings[0].figures, (Figures{{"ballots", 0}, {"reported_ballots", 25}}));
  EXPECT_EQ(warnings[0].message, "unit 'p2': no ballots counted, 25 reported");
}

}  // namespace
}  // namespace canvass
