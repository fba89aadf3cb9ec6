// Contest elections in-process: the unit hierarchy, the counting rules of a cast vote
// record, exactly-once over whole ballots, cell reconciliation, and NIST's own test
// elections tallied cell by cell against figures written down by tests/nist/nist_oracle.py
// (an independent reading of the files, sharing no code with Canvass).
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/aggregate/contest_aggregator.h"
#include "engine/ballot/cast_ballots.h"
#include "engine/election/contests.h"
#include "engine/ingest/cvr_job.h"
#include "engine/io/nist/cvr_builder.h"
#include "engine/io/nist/cvr_reader.h"
#include "engine/io/nist/err_json.h"
#include "engine/reconcile/cell_reconciler.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/thread_ranks.h"

namespace canvass {
namespace {

using ::canvass::testing::IsOk;
using ::canvass::testing::StatusIs;
using ::canvass::testing::TempDir;
using ::canvass::testing::WriteFileBytes;
using ::testing::HasSubstr;

// state <- county-a <- {p1, p2}; state <- county-b <- p3. Contests: gov (vote for 1: a, b,
// wi), council (vote for 2: x, y, z), rank (ranked: r1, r2).
ContestElection TinyElection() {
  ContestElection election;
  election.id = "tiny";
  election.scope_id = "state";
  election.units = {{"state", "State", "state", {"county-a", "county-b"}},
                    {"county-a", "A", "county", {"p1", "p2"}},
                    {"county-b", "B", "county", {"p3"}},
                    {"p1", "", "precinct", {}},
                    {"p2", "", "precinct", {}},
                    {"p3", "", "precinct", {}}};
  election.contests = {
      {"gov", "Governor", 1, ContestKind::kPlurality, {{"a", "A"}, {"b", "B"}, {"wi", "", true}}},
      {"council", "Council", 2, ContestKind::kPlurality, {{"x"}, {"y"}, {"z"}}},
      {"rank", "Ranked", 1, ContestKind::kRanked, {{"r1"}, {"r2"}}}};
  EXPECT_THAT(election.Finalize("tiny"), IsOk());
  return election;
}

uint32_t Unit(const ContestElection& e, absl::string_view id) { return *e.FindUnit(id); }
uint32_t Sel(const ContestElection& e, absl::string_view contest, absl::string_view selection) {
  const uint32_t c = *e.FindContest(contest);
  return e.SelectionCell(c, *e.FindSelection(c, selection));
}
uint32_t Fig(const ContestElection& e, absl::string_view contest, ContestFigure figure) {
  return e.FigureCell(*e.FindContest(contest), figure);
}

TEST(ContestElectionTest, UnitsRollUpTheirWholeAncestry) {
  const ContestElection e = TinyElection();
  const uint32_t p1 = Unit(e, "p1");
  EXPECT_EQ(e.RollUp(p1), (std::vector<uint32_t>{p1, Unit(e, "county-a"), Unit(e, "state")}));
  EXPECT_EQ(e.Level(p1), 2u);
  EXPECT_EQ(e.Level(e.scope()), 0u);
  // Cells: ballots cast, then gov (3 selections + 3 figures), council (3 + 3), rank (2 + 3).
  EXPECT_EQ(e.cells_per_unit(), 1u + 6 + 6 + 5);
  EXPECT_EQ(Sel(e, "council", "y"), 8u);
  EXPECT_EQ(Fig(e, "rank", ContestFigure::kBallots), 17u);
  const ContestElection::CellMeaning meaning =
      e.Meaning(Fig(e, "council", ContestFigure::kUndervotes));
  EXPECT_EQ(*meaning.contest, 1u);
  EXPECT_FALSE(meaning.selection.has_value());
  EXPECT_EQ(*meaning.figure, ContestFigure::kUndervotes);
}

TEST(ContestElectionTest, UnitsNobodyComposesBelongToTheScope) {
  ContestElection e;
  e.scope_id = "county";
  e.units = {{"county"}, {"p1"}, {"p2"}};
  ASSERT_THAT(e.Finalize("x"), IsOk());
  EXPECT_EQ(e.RollUp(1), (std::vector<uint32_t>{1, 0}));
}

TEST(ContestElectionTest, AUnitInTwoDistrictsRollsUpIntoEachOnce) {
  ContestElection e;
  e.scope_id = "state";
  e.units = {{"state", "", "", {"county", "district"}},
             {"county", "", "", {"p"}},
             {"district", "", "", {"p"}},
             {"p"}};
  ASSERT_THAT(e.Finalize("x"), IsOk());
  EXPECT_EQ(e.RollUp(3), (std::vector<uint32_t>{3, 1, 0, 2}));
}

TEST(ContestElectionTest, BadDefinitionsAreNamed) {
  ContestElection cycle;
  cycle.scope_id = "s";
  cycle.units = {{"s", "", "", {"a"}}, {"a", "", "", {"b"}}, {"b", "", "", {"a"}}};
  EXPECT_THAT(cycle.Finalize("f"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("composed of itself")));
  ContestElection unknown;
  unknown.scope_id = "s";
  unknown.units = {{"s", "", "", {"nowhere"}}};
  EXPECT_THAT(unknown.Finalize("f"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'nowhere', which is not")));
  ContestElection twice = TinyElection();
  twice.contests.push_back(twice.contests[0]);
  EXPECT_THAT(twice.Finalize("f"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'gov' is defined twice")));
  ContestElection no_scope = TinyElection();
  no_scope.scope_id = "mars";
  EXPECT_THAT(no_scope.Finalize("f"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("scope 'mars'")));
  ContestElection reported_twice = TinyElection();
  reported_twice.reported = {{0, 1, 5}, {0, 1, 6}};
  EXPECT_THAT(reported_twice.Finalize("f"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("reported twice (5 and 6)")));
}

// Marks of one contest of a record: {selection, has_indication, allocable, votes, rank}.
struct MarkSpec {
  std::string selection;
  bool indication = true;
  bool allocable = true;
  uint64_t votes = 1;
  uint64_t rank = 0;
};

struct BuildResult {
  std::optional<CastReject> reject;
  std::string why;
  std::vector<CellVotes> cells;
};

BuildResult Build(const ContestElection& e, const std::string& unit,
                  const std::vector<std::pair<std::string, std::vector<MarkSpec>>>& contests,
                  std::optional<uint64_t> declared_under = std::nullopt) {
  CvrBuilder builder(e);
  CastBallotBatch batch;
  builder.Begin();
  builder.SetIdentity(CvrIdentityField::kBallotAuditId, "id");
  builder.SetUnit(unit);
  for (const auto& [contest, marks] : contests) {
    builder.Contest(contest);
    if (declared_under) builder.DeclaredUndervotes(*declared_under);
    for (const MarkSpec& m : marks)
      builder.Mark(m.selection, m.indication, m.allocable, m.votes, m.rank);
    builder.EndContest();
  }
  BuildResult result;
  result.reject = builder.End(&batch);
  result.why = builder.why();
  if (!result.reject) {
    const auto cells = batch.cells(0);
    result.cells.assign(cells.begin(), cells.end());
  }
  return result;
}

TEST(CvrBuilderTest, VotesUndervotesAndTheBallotsCell) {
  const ContestElection e = TinyElection();
  const BuildResult r = Build(e, "p1", {{"council", {{"x"}}}, {"gov", {{"b"}}}});
  ASSERT_FALSE(r.reject) << r.why;
  EXPECT_EQ(r.cells, (std::vector<CellVotes>{{0, 1},
                                             {Sel(e, "gov", "b"), 1},
                                             {Fig(e, "gov", ContestFigure::kBallots), 1},
                                             {Sel(e, "council", "x"), 1},
                                             {Fig(e, "council", ContestFigure::kUndervotes), 1},
                                             {Fig(e, "council", ContestFigure::kBallots), 1}}));
}

TEST(CvrBuilderTest, MoreVotesThanVoteForIsAnOvervoteAndNoMarkCounts) {
  const ContestElection e = TinyElection();
  const BuildResult r = Build(e, "p1", {{"council", {{"x"}, {"y"}, {"z"}}}});
  ASSERT_FALSE(r.reject);
  EXPECT_EQ(r.cells, (std::vector<CellVotes>{{0, 1},
                                             {Fig(e, "council", ContestFigure::kOvervotes), 2},
                                             {Fig(e, "council", ContestFigure::kBallots), 1}}));
  // NumberVotes 3 on one selection of a vote-for-2 contest is an overvote too.
  const BuildResult weight = Build(e, "p1", {{"council", {{"x", true, true, 3}}}});
  EXPECT_EQ(weight.cells[1], (CellVotes{Fig(e, "council", ContestFigure::kOvervotes), 2}));
}

TEST(CvrBuilderTest, MarksWithoutIndicationOrNotAllocableDoNotCount) {
  const ContestElection e = TinyElection();
  const BuildResult r =
      Build(e, "p2", {{"council", {{"x", false}, {"y", true, false}, {"z", true, true, 1}}}});
  ASSERT_FALSE(r.reject);
  EXPECT_EQ(r.cells, (std::vector<CellVotes>{{0, 1},
                                             {Sel(e, "council", "z"), 1},
                                             {Fig(e, "council", ContestFigure::kUndervotes), 1},
                                             {Fig(e, "council", ContestFigure::kBallots), 1}}));
}

TEST(CvrBuilderTest, RankedContestsCountFirstPreferencesOnly) {
  const ContestElection e = TinyElection();
  const BuildResult r =
      Build(e, "p3", {{"rank", {{"r2", true, true, 1, 1}, {"r1", true, true, 1, 2}}}});
  ASSERT_FALSE(r.reject);
  EXPECT_EQ(r.cells,
            (std::vector<CellVotes>{
                {0, 1}, {Sel(e, "rank", "r2"), 1}, {Fig(e, "rank", ContestFigure::kBallots), 1}}));
}

TEST(CvrBuilderTest, TheRecordsOwnUndervotesWin) {
  // A primary ballot lists the other parties' contests with Undervotes 0.
  const ContestElection e = TinyElection();
  const BuildResult r = Build(e, "p1", {{"gov", {}}}, /*declared_under=*/0);
  ASSERT_FALSE(r.reject);
  EXPECT_EQ(r.cells, (std::vector<CellVotes>{{0, 1}, {Fig(e, "gov", ContestFigure::kBallots), 1}}));
}

TEST(CvrBuilderTest, RejectionsTakeTheFirstReasonInTableOrder) {
  const ContestElection e = TinyElection();
  EXPECT_EQ(Build(e, "p9", {{"gov", {{"a"}}}}).reject, CastReject::kUnknownUnit);
  EXPECT_EQ(Build(e, "p1", {{"mayor", {{"a"}}}}).reject, CastReject::kUnknownContest);
  EXPECT_EQ(Build(e, "p1", {{"gov", {{"c"}}}}).reject, CastReject::kUnknownSelection);
  // An unknown unit and an unknown selection: the unit comes first in the table.
  EXPECT_EQ(Build(e, "p9", {{"gov", {{"c"}}}}).reject, CastReject::kUnknownUnit);
  const BuildResult twice = Build(e, "p1", {{"gov", {{"a"}}}, {"gov", {{"b"}}}});
  EXPECT_EQ(twice.reject, CastReject::kMalformed);
  EXPECT_THAT(twice.why, HasSubstr("'gov' is listed twice"));
  EXPECT_EQ(Build(e, "p1", {{"gov", {{"a", true, true, kMaxNumberVotes + 1}}}}).reject,
            CastReject::kMalformed);
}

TEST(CvrBuilderTest, IdentityPrefersUniqueIdAndKeepsDevicesApart) {
  const ContestElection e = TinyElection();
  CvrBuilder builder(e);
  CastBallotBatch batch;
  auto record = [&](absl::string_view device, bool unique) {
    builder.Begin();
    builder.SetIdentity(CvrIdentityField::kBallotAuditId, "7");
    if (unique) builder.SetIdentity(CvrIdentityField::kUniqueId, "7");
    if (!device.empty()) builder.SetDevice(device);
    builder.SetUnit("p1");
    EXPECT_FALSE(builder.End(&batch));
    return builder.identity_field();
  };
  EXPECT_EQ(record("", false), CvrIdentityField::kBallotAuditId);
  EXPECT_EQ(record("", true), CvrIdentityField::kUniqueId);
  record("scanner-1", false);
  record("scanner-2", false);
  ASSERT_EQ(batch.size(), 4u);
  std::set<std::string> identities;
  for (size_t i = 0; i < batch.size(); ++i) identities.emplace(batch.identity(i));
  EXPECT_EQ(identities.size(), 4u);
  builder.Begin();
  builder.SetUnit("p1");
  EXPECT_EQ(builder.End(&batch), CastReject::kMalformed);
  EXPECT_THAT(builder.why(), HasSubstr("no identity"));
}

// Ballots into the aggregator: (identity, unit, gov selection). With `ranks`, only the
// ballots `keep` says are this rank's, and the whole job's tally (Finish(ranks)).
ContestTally Aggregate(
    const ContestElection& e,
    const std::vector<std::tuple<std::string, std::string, std::string>>& ballots,
    size_t batch_size, const RankGroup* ranks = nullptr,
    const std::function<bool(size_t)>& keep = nullptr) {
  ContestAggregator aggregator(e);
  CastBallotBatch batch;
  CvrBuilder builder(e);
  for (size_t i = 0; i < ballots.size(); ++i) {
    if (keep && !keep(i)) continue;
    const auto& [id, unit, choice] = ballots[i];
    builder.Begin();
    builder.SetIdentity(CvrIdentityField::kUniqueId, id);
    builder.SetUnit(unit);
    builder.Contest("gov");
    builder.Mark(choice, true, true, 1, 0);
    builder.EndContest();
    EXPECT_FALSE(builder.End(&batch));
    if (batch.size() == batch_size) {
      aggregator.Add(batch);
      batch.Clear();
    }
  }
  aggregator.Add(batch);
  absl::StatusOr<ContestTally> tally = aggregator.Finish(ranks);
  EXPECT_THAT(tally.status(), IsOk());
  return tally.ok() ? *tally : ContestTally{};
}

// Ten ballots worked by hand: 3 counted, 2 duplicates, 5 conflicts (ExpectHandTally).
std::vector<std::tuple<std::string, std::string, std::string>> HandBallots() {
  return {{"1", "p1", "a"}, {"2", "p1", "b"}, {"1", "p1", "a"}, {"1", "p1", "a"},  // 2 duplicates
          {"3", "p3", "a"}, {"3", "p3", "b"}, {"3", "p3", "a"},                    // 3 conflicts
          {"4", "p2", "a"}, {"4", "p3", "a"},  // same marks, another unit: 2 conflicts
          {"5", "p2", "wi"}};
}

void ExpectHandTally(const ContestElection& e, const ContestTally& t) {
  EXPECT_EQ(t.records_read, 10u);
  EXPECT_EQ(t.counted, 3u);
  EXPECT_EQ(t.Rejected(CastReject::kDuplicate), 2u);
  EXPECT_EQ(t.Rejected(CastReject::kConflict), 5u);
  EXPECT_EQ(t.Cell(e.scope(), Sel(e, "gov", "a")), 1u);
  EXPECT_EQ(t.Cell(e.scope(), Sel(e, "gov", "b")), 1u);
  EXPECT_EQ(t.Cell(e.scope(), Sel(e, "gov", "wi")), 1u);
  EXPECT_EQ(t.Cell(Unit(e, "county-a"), 0), 3u);
  EXPECT_EQ(t.Cell(Unit(e, "p1"), 0), 2u);
  EXPECT_EQ(t.Cell(Unit(e, "county-b"), 0), 0u);
  EXPECT_EQ(t.Cell(e.scope(), 0), 3u);
}

TEST(ContestAggregatorTest, CopiesOfWholeBallotsAreDuplicatesOrConflicts) {
  const ContestElection e = TinyElection();
  for (const size_t batch_size : {1, 3, 100}) {
    SCOPED_TRACE(batch_size);
    ExpectHandTally(e, Aggregate(e, HandBallots(), batch_size));
  }
}

// `count` ballots of the tiny election: every `repeat`-th repeats an earlier identity, and
// every 11th of those disagrees with it.
std::vector<std::tuple<std::string, std::string, std::string>> RepeatingBallots(int count,
                                                                                int repeat) {
  std::vector<std::tuple<std::string, std::string, std::string>> ballots;
  const char* units[] = {"p1", "p2", "p3"};
  const char* choices[] = {"a", "b", "wi"};
  for (int i = 0; i < count; ++i) {
    const int id = i % repeat == 0 ? i / repeat : i;
    const int choice = (i % (11 * repeat) == 0) ? (id + 1) % 3 : id % 3;
    ballots.emplace_back(absl::StrCat(id), units[id % 3], choices[choice]);
  }
  return ballots;
}

TEST(ContestAggregatorTest, OrderAndThreadsDoNotChangeTheTally) {
  const ContestElection e = TinyElection();
  std::vector<std::tuple<std::string, std::string, std::string>> ballots =
      RepeatingBallots(3000, 7);
  const ContestTally forward = Aggregate(e, ballots, 64);
  std::reverse(ballots.begin(), ballots.end());
  EXPECT_EQ(Aggregate(e, ballots, 7), forward);
  EXPECT_EQ(forward.records_read, 3000u);
  EXPECT_EQ(forward.counted + forward.TotalRejected(), 3000u);
}

// The ballots shared out among `ranks` in-process ranks (tests/testing/thread_ranks.h),
// ballot i to rank owner(i), each rank with its own aggregator: the tally every rank's
// Finish(ranks) gives, which must be the same on every rank.
ContestTally AggregateOnRanks(
    const ContestElection& e,
    const std::vector<std::tuple<std::string, std::string, std::string>>& ballots, int ranks,
    const std::function<int(size_t)>& owner) {
  std::vector<ContestTally> tallies(static_cast<size_t>(ranks));
  ::canvass::testing::ThreadRanks::Run(ranks, [&](const RankGroup& group) {
    tallies[static_cast<size_t>(group.rank())] =
        Aggregate(e, ballots, 5, &group, [&](size_t i) { return owner(i) == group.rank(); });
  });
  for (int r = 1; r < ranks; ++r) EXPECT_EQ(tallies[r], tallies[0]) << "rank " << r;
  return tallies[0];
}

// Copies of one identity read by different ranks: each rank keeps what it read, and the
// shards' owners settle every identity as one aggregator does.
TEST(ContestAggregatorTest, RanksEachReadingAShareGiveTheOneProcessTally) {
  const ContestElection e = TinyElection();
  const std::vector<std::tuple<std::string, std::string, std::string>> hand = HandBallots();
  const ContestTally one_process = Aggregate(e, hand, 100);
  for (const int ranks : {2, 3, 4}) {
    SCOPED_TRACE(ranks);
    // Every ballot on the next rank: each identity's copies lie on different ranks.
    const ContestTally spread =
        AggregateOnRanks(e, hand, ranks, [ranks](size_t i) { return static_cast<int>(i) % ranks; });
    ExpectHandTally(e, spread);
    EXPECT_EQ(spread, one_process);
    // Every ballot on rank 0 but the last: ranks with nothing to send or count.
    EXPECT_EQ(
        AggregateOnRanks(e, hand, ranks, [ranks](size_t i) { return i + 1 == 10 ? ranks - 1 : 0; }),
        one_process);
  }
  const std::vector<std::tuple<std::string, std::string, std::string>> ballots =
      RepeatingBallots(5000, 5);
  const ContestTally one = Aggregate(e, ballots, 64);
  EXPECT_GT(one.Rejected(CastReject::kDuplicate), 0u);
  EXPECT_GT(one.Rejected(CastReject::kConflict), 0u);
  for (const int ranks : {2, 3}) {
    EXPECT_EQ(AggregateOnRanks(e, ballots, ranks,
                               [ranks](size_t i) { return static_cast<int>((i * 7919) % ranks); }),
              one);
  }
}

// The expected cells of a NIST election as nist_oracle.py wrote them.
std::map<std::tuple<std::string, std::string, std::string>, uint64_t> Expected(
    const std::string& election) {
  std::ifstream in(absl::StrCat(CANVASS_SOURCE_DIR, "/tests/nist/expected/", election, ".csv"));
  EXPECT_TRUE(in.good());
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> cells;
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    const std::vector<std::string> f = absl::StrSplit(line, ',');
    uint64_t count = 0;
    EXPECT_EQ(f.size(), 4u);
    EXPECT_TRUE(absl::SimpleAtoi(f[3], &count));
    cells[{f[0], f[1], f[2]}] = count;
  }
  return cells;
}

std::string Nist(const std::string& election, const std::string& kind) {
  return absl::StrCat(CANVASS_SOURCE_DIR, "/datasets/nist-cdf/", election, "/", kind, "-", election,
                      ".json");
}

class NistElectionTest : public ::testing::TestWithParam<const char*> {};

TEST_P(NistElectionTest, EveryCellAtEveryUnitIsTheOraclesAndTheReportsMatch) {
  const std::string name = GetParam();
  absl::StatusOr<ContestElection> election = LoadResultsReportJson(Nist(name, "err"));
  ASSERT_THAT(election.status(), IsOk());
  const auto expected = Expected(name);
  for (const int threads : {1, 2}) {
    for (const uint64_t chunk_bytes : {uint64_t{4} << 20, uint64_t{1000}}) {
      CvrJobOptions options;
      options.threads = threads;
      options.chunk_bytes = chunk_bytes;
      absl::StatusOr<CvrJobResult> job = ReadCvrFiles(*election, {Nist(name, "cvr")}, options);
      ASSERT_THAT(job.status(), IsOk());
      const ContestTally& tally = job->tally;
      EXPECT_EQ(tally.TotalRejected(), 0u);
      // Every counted cell is the oracle's, and the oracle lists every cell counted.
      size_t compared = 0;
      for (uint32_t u = 0; u < tally.num_units; ++u) {
        const std::string& unit = election->units[u].id;
        for (uint32_t cell = 0; cell < tally.cells_per_unit; ++cell) {
          const ContestElection::CellMeaning m = election->Meaning(cell);
          std::tuple<std::string, std::string, std::string> key;
          if (!m.contest) {
            key = {unit, "", "#ballots"};
          } else {
            const ElectionContest& contest = election->contests[*m.contest];
            if (m.figure == ContestFigure::kBallots) continue;  // the oracle keeps none
            key = {unit, contest.id,
                   m.selection ? contest.selections[*m.selection].id
                               : (m.figure == ContestFigure::kOvervotes ? "#over" : "#under")};
          }
          const auto it = expected.find(key);
          const uint64_t want = it == expected.end() ? 0 : it->second;
          EXPECT_EQ(tally.Cell(u, cell), want)
              << std::get<0>(key) << " " << std::get<1>(key) << " " << std::get<2>(key);
          if (it != expected.end()) ++compared;
        }
      }
      EXPECT_EQ(compared, expected.size());
      const Reconciliation2 rec = ReconcileCells(*election, tally, {});
      EXPECT_TRUE(rec.match);
      EXPECT_EQ(rec.cells_mismatched, 0u);
      EXPECT_EQ(rec.cells_not_reported, 0u);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Elections, NistElectionTest,
                         ::testing::Values("gen-01", "gen-03", "prim-01"));

TEST(NistElectionTest, Gen01FiguresFromItsTestDeck) {
  // Written down from datasets/nist-cdf/gen-01/README.md ("Cumlative Totals"), by hand.
  absl::StatusOr<ContestElection> e = LoadResultsReportJson(Nist("gen-01", "err"));
  ASSERT_THAT(e.status(), IsOk());
  absl::StatusOr<CvrJobResult> job = ReadCvrFiles(*e, {Nist("gen-01", "cvr")}, {});
  ASSERT_THAT(job.status(), IsOk());
  const ContestTally& t = job->tally;
  EXPECT_EQ(t.counted, 40u);
  EXPECT_EQ(job->inputs[0].identity_fields[1], 40u);  // BallotPrePrintedId
  auto at_scope = [&](const char* contest, const char* selection) {
    return t.Cell(e->scope(), Sel(*e, contest, selection));
  };
  EXPECT_EQ(at_scope("cc-president", "cs-president-hb"), 12u);
  EXPECT_EQ(at_scope("cc-president", "cs-president-gb"), 12u);
  EXPECT_EQ(at_scope("cc-president", "cs-president-ag"), 8u);
  EXPECT_EQ(at_scope("cc-president", "cs-president-wi"), 8u);
  EXPECT_EQ(at_scope("spc-1", "po-lib"), 4u);
  // Precinct 1 (unit cp-1-4-5-6): State Assembly District 1 Marcia Jones 4, write-in 3.
  EXPECT_EQ(t.Cell(Unit(*e, "cp-1-4-5-6"), Sel(*e, "cc-assembly-1", "cs-assembly-1-mj")), 4u);
  EXPECT_EQ(t.Cell(Unit(*e, "cp-1-4-5-6"), Sel(*e, "cc-assembly-1", "cs-assembly-1-wi")), 3u);
}

// AddInvalidFigure: every reported figure keeps its meaning (unit, contest, selection or
// figure) on its moved cell; the new figures are reported nowhere; the same CVRs count the
// same votes.
TEST(NistElectionTest, AddingTheInvalidFigureKeepsEveryReportedFigureOnItsCell) {
  absl::StatusOr<ContestElection> before = LoadResultsReportJson(Nist("gen-01", "err"));
  ASSERT_THAT(before.status(), IsOk());
  ASSERT_FALSE(before->invalid_figure);
  ContestElection after = *before;
  ASSERT_THAT(after.AddInvalidFigure(), IsOk());
  ASSERT_TRUE(after.invalid_figure);
  EXPECT_EQ(after.cells_per_unit(), before->cells_per_unit() + before->contests.size());
  ASSERT_EQ(after.reported.size(), before->reported.size());
  for (size_t i = 0; i < before->reported.size(); ++i) {
    const ContestElection::CellMeaning was = before->Meaning(before->reported[i].cell);
    const ContestElection::CellMeaning is = after.Meaning(after.reported[i].cell);
    EXPECT_EQ(after.reported[i].unit, before->reported[i].unit);
    EXPECT_EQ(after.reported[i].count, before->reported[i].count);
    EXPECT_EQ(is.contest, was.contest);
    EXPECT_EQ(is.selection, was.selection);
    EXPECT_EQ(is.figure, was.figure);
  }
  for (uint32_t c = 0; c < after.contests.size(); ++c) {
    EXPECT_EQ(after.Reported(after.scope(), after.FigureCell(c, ContestFigure::kInvalid)),
              std::nullopt);
  }
  ASSERT_THAT(after.AddInvalidFigure(), IsOk());  // once only
  EXPECT_EQ(after.cells_per_unit(), before->cells_per_unit() + before->contests.size());
  absl::StatusOr<CvrJobResult> old_job = ReadCvrFiles(*before, {Nist("gen-01", "cvr")}, {});
  absl::StatusOr<CvrJobResult> new_job = ReadCvrFiles(after, {Nist("gen-01", "cvr")}, {});
  ASSERT_THAT(old_job.status(), IsOk());
  ASSERT_THAT(new_job.status(), IsOk());
  for (uint32_t c = 0; c < after.contests.size(); ++c) {
    for (uint32_t s = 0; s < after.contests[c].selections.size(); ++s) {
      EXPECT_EQ(new_job->tally.Cell(after.scope(), after.SelectionCell(c, s)),
                old_job->tally.Cell(before->scope(), before->SelectionCell(c, s)));
    }
    EXPECT_EQ(new_job->tally.Cell(after.scope(), after.FigureCell(c, ContestFigure::kInvalid)), 0u);
  }
}

// A contest invalidated in the second file of a folder, read against a results report
// that has no `invalid` figure: the first reading says so (its tally has the contest in no
// figure), and ReadShowingInvalid reads again with the figure, where it is shown.
TEST(NistElectionTest, AContestInvalidatedInAFileIsFoundByTheJobAndShownOnASecondReading) {
  const std::string data = absl::StrCat(CANVASS_SOURCE_DIR, "/tests/data/nist_bad/");
  absl::StatusOr<ContestElection> election = LoadResultsReportJson(data + "err-tiny.json");
  ASSERT_THAT(election.status(), IsOk());
  ASSERT_FALSE(election->invalid_figure);
  const std::vector<std::string> folder = {data + "folder_invalidated_in_second_file"};
  absl::StatusOr<CvrJobResult> first = ReadCvrFiles(*election, folder, {});
  ASSERT_THAT(first.status(), IsOk());
  EXPECT_TRUE(first->invalid_without_figure);
  int readings = 0;
  absl::StatusOr<CvrJobResult> shown = ReadShowingInvalid(&*election, [&] {
    ++readings;
    return ReadCvrFiles(*election, folder, {});
  });
  ASSERT_THAT(shown.status(), IsOk());
  EXPECT_EQ(readings, 2);
  EXPECT_TRUE(election->invalid_figure);
  EXPECT_FALSE(shown->invalid_without_figure);
  EXPECT_EQ(shown->tally.records_read, 6u);
  EXPECT_EQ(shown->tally.counted, 6u);
  const uint32_t mayor = *election->FindContest("mayor");
  EXPECT_EQ(
      shown->tally.Cell(election->scope(), election->FigureCell(mayor, ContestFigure::kInvalid)),
      1u);
  // Records that mark nothing invalid are read once.
  readings = 0;
  ContestElection gen01 = *LoadResultsReportJson(Nist("gen-01", "err"));
  absl::StatusOr<CvrJobResult> once = ReadShowingInvalid(&gen01, [&] {
    ++readings;
    return ReadCvrFiles(gen01, {Nist("gen-01", "cvr")}, {});
  });
  ASSERT_THAT(once.status(), IsOk());
  EXPECT_EQ(readings, 1);
  EXPECT_FALSE(gen01.invalid_figure);
}

TEST(ReconcileCellsTest, AChangedReportedFigureIsTheOneMismatchAtItsLevelOnly) {
  absl::StatusOr<ContestElection> e = LoadResultsReportJson(Nist("gen-01", "err"));
  ASSERT_THAT(e.status(), IsOk());
  absl::StatusOr<CvrJobResult> job = ReadCvrFiles(*e, {Nist("gen-01", "cvr")}, {});
  ASSERT_THAT(job.status(), IsOk());
  const uint32_t unit = Unit(*e, "ps-2a");
  const uint32_t cell = Sel(*e, "cc-president", "cs-president-gb");
  for (ReportedCell& r : e->reported) {
    if (r.unit == unit && r.cell == cell) r.count += 2;  // reported 5 where 3 were cast
  }
  const Reconciliation2 rec = ReconcileCells(*e, job->tally, {});
  EXPECT_FALSE(rec.match);
  ASSERT_EQ(rec.mismatches.size(), 1u);
  EXPECT_EQ(rec.mismatches[0].unit, unit);
  EXPECT_EQ(rec.mismatches[0].counted, 3u);
  EXPECT_EQ(rec.mismatches[0].reported, 5u);
  EXPECT_EQ(rec.mismatches[0].delta, -2);
  const ContestReconciliation& president = rec.contests[*e->FindContest("cc-president")];
  EXPECT_FALSE(president.match);
  EXPECT_EQ(president.sum_abs_delta, 0u);  // the county figure still matches
  EXPECT_TRUE(ReconcileCells(*e, job->tally, {.tolerance = 2}).match);
}

TEST(ReconcileCellsTest, StandingsOfVoteForN) {
  ElectionContest contest{"c", "", 2, ContestKind::kPlurality, {{"a"}, {"b"}, {"c"}, {"d"}}};
  const Standing s = StandingOf(contest, {5, 9, 7, 7});
  EXPECT_EQ(s.leaders, (std::vector<uint32_t>{1, 2}));  // the tie for second goes to ballot order
  EXPECT_EQ(s.margin, 0u);
  const Standing t = StandingOf(contest, {5, 9, 8, 1});
  EXPECT_EQ(t.margin, 3u);
}

TEST(CvrJsonScannerTest, StructuralErrorsAreLocated) {
  struct Case {
    std::string text;
    absl::StatusCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"[1,2]", absl::StatusCode::kInvalidArgument, "expected '{'"},
      {"{\"Election\": []}", absl::StatusCode::kInvalidArgument, "no \"CVR\" array"},
      {"{\"CVR\": [{\"a\": 1}", absl::StatusCode::kDataLoss, "truncated at byte 17"},
      {"{\"CVR\": [{\"a\": \"x}]}", absl::StatusCode::kDataLoss, "a string does not end"},
      {"{\"CVR\": [{\"a\": 1}, 7]}", absl::StatusCode::kDataLoss, "CVR[1]: expected a record"},
      {"{\"CVR\": [{\"a\": 1},]}", absl::StatusCode::kDataLoss, "a ',' before"},
      {"{\"CVR\": [{\"a\": 1}]}\n}", absl::StatusCode::kDataLoss, "byte 20 (line 2, column 1)"},
      {"{\"CVR\": [{\"a\": 1}}]}", absl::StatusCode::kDataLoss, "'}' closes nothing open"},
      // Found by cvr_json_fuzz: brackets that balance by count, not by kind.
      {"{\"CVR\": [{\"a\": [}]}", absl::StatusCode::kDataLoss,
       "CVR[0], begun at byte 9, is closed by ']'"},
      {"{\"CVR\": [{\"a\": [1,", absl::StatusCode::kDataLoss,
       "CVR[0], begun at byte 9 (line 1, column 10), does not end"},
  };
  for (const Case& c : cases) {
    std::unique_ptr<CvrScanner> scanner = NewCvrScanner(CvrFormat::kJson, "f.json", c.text);
    std::vector<CvrSpan> spans;
    absl::StatusOr<bool> more = true;
    while (more.ok() && *more) more = scanner->Next(1 << 20, &spans);
    EXPECT_THAT(more.status(), StatusIs(c.code, HasSubstr(c.message))) << c.text;
  }
}

TEST(CvrJsonScannerTest, RecordsComeInOrderAcrossCalls) {
  // Records 70 bytes apart (the scan hands out what ends in each 64-byte block).
  const std::string gap(70, ' ');
  const std::string text =
      absl::StrCat("{\"Version\": \"1.0.0\", \"CVR\": [{\"x\": \"}\\\"{\"},", gap,
                   "{\"y\": [1, {}]},", gap, "{}], \"GpUnit\": [{\"@id\": \"u\"}]}");
  std::unique_ptr<CvrScanner> scanner = NewCvrScanner(CvrFormat::kJson, "f.json", text);
  std::vector<CvrSpan> spans;
  int calls = 0;
  absl::StatusOr<bool> more = true;
  while (more.ok() && *more) {
    more = scanner->Next(1, &spans);
    ++calls;
  }
  ASSERT_THAT(more.status(), IsOk());
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(calls, 3);  // the last record and the array's end share a block
  EXPECT_EQ(text.substr(spans[0].begin, spans[0].end - spans[0].begin), "{\"x\": \"}\\\"{\"}");
  EXPECT_EQ(text.substr(spans[1].begin, spans[1].end - spans[1].begin), "{\"y\": [1, {}]}");
  EXPECT_EQ(spans[2].index, 2u);
  EXPECT_EQ(scanner->Definition(), "{\"GpUnit\":[{\"@id\": \"u\"}]}");
}

TEST(CvrJsonScannerTest, EscapesQuotesAndBracketsInStringsAcrossBlocks) {
  // Records whose strings hold runs of backslashes, escaped quotes and brackets, at every
  // alignment to the scanner's 64-byte blocks; their spans are known by construction.
  std::string text = "{\"CVR\": [";
  std::vector<std::pair<uint64_t, uint64_t>> want;
  uint64_t random = 12345;
  for (int r = 0; r < 400; ++r) {
    if (r > 0) text += r % 3 ? ",\n" : " ,  ";
    std::string record = "{\"s\": \"";
    const int length = r % 97;
    for (int i = 0; i < length; ++i) {
      random = random * 6364136223846793005ULL + 1442695040888963407ULL;
      switch ((random >> 33) % 8) {
        case 0:
          record += "\\\\";
          break;  // an escaped backslash
        case 1:
          record += "\\\"";
          break;  // an escaped quote
        case 2:
          record += "{";
          break;
        case 3:
          record += "]";
          break;
        case 4:
          record += "\\\\\\\"";
          break;  // escaped backslash, escaped quote
        default:
          record += "a";
          break;
      }
    }
    record += "\", \"n\": [1, {\"t\": \"}\"}]}";
    want.emplace_back(text.size(), text.size() + record.size());
    text += record;
  }
  text += "]}";
  std::unique_ptr<CvrScanner> scanner = NewCvrScanner(CvrFormat::kJson, "f.json", text);
  std::vector<CvrSpan> spans;
  absl::StatusOr<bool> more = true;
  while (more.ok() && *more) more = scanner->Next(200, &spans);
  ASSERT_THAT(more.status(), IsOk());
  ASSERT_EQ(spans.size(), want.size());
  for (size_t i = 0; i < spans.size(); ++i) {
    EXPECT_EQ(spans[i].begin, want[i].first) << i;
    EXPECT_EQ(spans[i].end, want[i].second) << i;
    EXPECT_EQ(spans[i].index, i);
  }
}

// A CVR JSON file from records; each record's text as given.
std::string CvrFile(const std::vector<std::string>& records) {
  return absl::StrCat("{\"CVR\": [", absl::StrJoin(records, ",\n"), "]}");
}

std::string Record(const std::string& id, const std::string& unit, const std::string& contests) {
  return absl::StrCat("{\"UniqueId\": \"", id, "\", \"BallotStyleUnitId\": \"", unit,
                      "\", \"CurrentSnapshotId\": \"s\", \"CVRSnapshot\": [{\"@id\": \"s\", "
                      "\"CVRContest\": [",
                      contests, "]}]}");
}

std::string GovFor(const std::string& selection, const std::string& extra = "") {
  return absl::StrCat(
      "{\"ContestId\": \"gov\", \"CVRContestSelection\": [{"
      "\"ContestSelectionId\": \"",
      selection, "\", \"SelectionPosition\": [{\"HasIndication\": \"yes\"", extra, "}]}]}");
}

TEST(CvrJobTest, BrokenRecordsAreMalformedWithTheirLocationAndTheRestCount) {
  const ContestElection e = TinyElection();
  TempDir dir;
  const std::vector<std::string> records = {
      Record("1", "p1", GovFor("a")),
      Record("2", "p1", GovFor("a", ", \"NumberVotes\": \"x\"")),
      Record("3", "p1", GovFor("a", ", \"NumberVotes\": -1")),
      "{\"UniqueId\": \"4\", \"BallotStyleUnitId\": \"p1\", \"CVRSnapshot\": []}",
      "{\"UniqueId\": \"5\", \"BallotStyleUnitId\": \"p1\", \"CurrentSnapshotId\": \"t\", "
      "\"CVRSnapshot\": [{\"@id\": \"s\"}]}",
      Record("6", "p9", GovFor("a")),
      Record("7", "p2", GovFor("q")),
      Record("8", "p2", "{\"ContestId\": \"mayor\"}"),
      "{\"CVRSnapshot\": [{\"@id\": \"s\"}], \"CurrentSnapshotId\": \"s\", "
      "\"BallotStyleUnitId\": \"p3\", \"UniqueId\": \"9\"}",  // the snapshot before its id
      Record("10", "p2", GovFor("b")),
      Record("10", "p2", GovFor("b")),
      Record("1", "p1", GovFor("b")),
  };
  WriteFileBytes(dir.File("cvr.json"), CvrFile(records));
  absl::StatusOr<CvrJobResult> job = ReadCvrFiles(e, {dir.File("cvr.json")}, {});
  ASSERT_THAT(job.status(), IsOk());
  const ContestTally& t = job->tally;
  EXPECT_EQ(t.records_read, 12u);
  EXPECT_EQ(t.Rejected(CastReject::kMalformed), 4u);
  EXPECT_EQ(t.Rejected(CastReject::kUnknownUnit), 1u);
  EXPECT_EQ(t.Rejected(CastReject::kUnknownSelection), 1u);
  EXPECT_EQ(t.Rejected(CastReject::kUnknownContest), 1u);
  EXPECT_EQ(t.Rejected(CastReject::kDuplicate), 1u);
  EXPECT_EQ(t.Rejected(CastReject::kConflict), 2u);
  EXPECT_EQ(t.counted, 2u);  // 9 (no contests) and 10
  EXPECT_EQ(t.Cell(e.scope(), Sel(e, "gov", "b")), 1u);
  EXPECT_EQ(t.Cell(e.scope(), Sel(e, "gov", "a")), 0u);
  ASSERT_GE(job->examples.size(), 4u);
  EXPECT_EQ(job->examples[0].reason, CastReject::kMalformed);
  EXPECT_THAT(job->examples[0].location, HasSubstr(absl::StrCat(dir.File("cvr.json"), ": byte ")));
  EXPECT_THAT(job->examples[0].location, HasSubstr("(line 2, column 1): CVR[1]"));
  EXPECT_THAT(job->examples[0].why, HasSubstr("NumberVotes: expected a small integer"));
  EXPECT_THAT(job->examples[2].why, HasSubstr("no CurrentSnapshotId"));
  EXPECT_THAT(job->examples[3].why, HasSubstr("no CVRSnapshot has the current @id 't'"));
}

TEST(CvrJobTest, FoldersOfOneRecordPerFileAndCopiesAcrossFiles) {
  const ContestElection e = TinyElection();
  TempDir dir;
  for (int i = 0; i < 30; ++i) {
    // Records 0..24 once each, then 25..29 repeat 0..4 with another choice.
    const int id = i < 25 ? i : i - 25;
    const std::string choice = i < 25 ? (id % 2 ? "a" : "b") : (id % 2 ? "b" : "a");
    WriteFileBytes(dir.File(absl::StrCat("r", 100 + i, ".json")),
                   CvrFile({Record(absl::StrCat(id), i % 2 ? "p1" : "p3", GovFor(choice))}));
  }
  WriteFileBytes(dir.File("notes.txt"), "not a record");
  for (const int threads : {1, 2}) {
    CvrJobOptions options;
    options.threads = threads;
    absl::StatusOr<CvrJobResult> job = ReadCvrFiles(e, {dir.path().string()}, options);
    ASSERT_THAT(job.status(), IsOk());
    EXPECT_EQ(job->inputs.size(), 30u);
    ASSERT_EQ(job->skipped.size(), 1u);
    EXPECT_EQ(job->tally.counted, 20u);
    EXPECT_EQ(job->tally.Rejected(CastReject::kConflict), 10u);
    // Ids 5..24: odd ids chose a (10), even b (10).
    EXPECT_EQ(job->tally.Cell(e.scope(), Sel(e, "gov", "a")), 10u);
    EXPECT_EQ(job->tally.Cell(e.scope(), Sel(e, "gov", "b")), 10u);
  }
}

TEST(CvrJobTest, AFileThatIsNoReportStopsTheJobNamingIt) {
  const ContestElection e = TinyElection();
  TempDir dir;
  WriteFileBytes(dir.File("a.json"), CvrFile({Record("1", "p1", GovFor("a"))}));
  WriteFileBytes(dir.File("b.json"), "station,seq,choice\n");
  EXPECT_THAT(ReadCvrFiles(e, {dir.File("a.json"), dir.File("b.json")}, {}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("b.json: byte 0: not a NIST cast vote record report")));
  WriteFileBytes(dir.File("c.json"), CvrFile({Record("1", "p1", GovFor("a"))}).substr(0, 40));
  EXPECT_THAT(ReadCvrFiles(e, {dir.File("c.json")}, {}).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("c.json: truncated at byte 40")));
}

TEST(ResultsReportTest, ErrorsNameTheJsonPath) {
  const std::string good = testing::ReadFileBytes(Nist("gen-03", "err"));
  EXPECT_THAT(ParseResultsReportJson("r.json", "{").status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("r.json: not valid JSON")));
  EXPECT_THAT(ParseResultsReportJson("r.json", "{\"GpUnit\": []}").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("missing \"Election\"")));
  std::string bad_count = good;
  const std::string count_key = "\"Count\" : ";
  const size_t at = bad_count.find(count_key);
  ASSERT_NE(at, std::string::npos);
  bad_count.replace(at, count_key.size(), "\"Count\" : -");
  EXPECT_THAT(ParseResultsReportJson("r.json", bad_count).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("$.Election[0].Contest[0].ContestSelection[0].VoteCounts[0]"
                                 ".Count: expected a count")));
  std::string bad_unit = good;
  const std::string unit_key = "\"GpUnitId\" : \"prec-ac\"";
  const size_t unit_at = bad_unit.find(unit_key);
  ASSERT_NE(unit_at, std::string::npos);
  bad_unit.replace(unit_at, unit_key.size(), "\"GpUnitId\" : \"prec-zz\"");
  EXPECT_THAT(ParseResultsReportJson("r.json", bad_unit).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("'prec-zz' is not a GpUnit of the report")));
}

}  // namespace
}  // namespace canvass
