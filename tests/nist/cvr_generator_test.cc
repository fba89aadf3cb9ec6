// Synthetic cast vote records from a results report: for NIST's own elections, at several
// scales and in both orders, the written file reads back to exactly the report's figures;
// hand-made reports test the remainders the counting rules alone cannot produce.
#include "engine/synth/cvr_generator.h"

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/election/contests.h"
#include "engine/ingest/cvr_job.h"
#include "engine/io/nist/err_json.h"
#include "engine/reconcile/cell_reconciler.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/nist/hand_election.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace canvass {
namespace {

using ::canvass::testing::IsOk;
using ::canvass::testing::StatusIs;
using ::canvass::testing::TempDir;
using ::canvass::testing::VoteForTwo;
using ::testing::HasSubstr;

// Writes the generator's report to DIR/cvr.json and reads it back.
CvrJobResult GenerateAndRead(const ContestElection& election, const CvrGeneratorOptions& options,
                             const TempDir& dir) {
  absl::StatusOr<CvrGenerator> generator = CvrGenerator::Plan(election, options);
  EXPECT_THAT(generator.status(), IsOk());
  const std::string path = dir.File("cvr.json");
  std::FILE* out = std::fopen(path.c_str(), "wb");
  EXPECT_NE(out, nullptr);
  EXPECT_THAT(generator->Write(out, path).status(), IsOk());
  EXPECT_EQ(std::fclose(out), 0);
  absl::StatusOr<CvrJobResult> job = ReadCvrFiles(election, {path}, {});
  EXPECT_THAT(job.status(), IsOk());
  EXPECT_EQ(job->tally.counted, generator->ballots());
  EXPECT_TRUE(job->inputs[0].synthetic);
  return *job;
}

class GeneratedNistTest : public ::testing::TestWithParam<const char*> {};

TEST_P(GeneratedNistTest, EveryReportedFigureComesBackAtEveryScaleAndOrder) {
  const std::string name = GetParam();
  absl::StatusOr<ContestElection> base = LoadResultsReportJson(
      absl::StrCat(CANVASS_SOURCE_DIR, "/datasets/nist-cdf/", name, "/err-", name, ".json"));
  ASSERT_THAT(base.status(), IsOk());
  for (const uint64_t scale : {1, 7}) {
    for (const bool interleave : {false, true}) {
      absl::StatusOr<ContestElection> election = ScaleContestElection(*base, scale);
      ASSERT_THAT(election.status(), IsOk());
      TempDir dir;
      const CvrJobResult job = GenerateAndRead(*base, {scale, 3, interleave}, dir);
      EXPECT_EQ(job.tally.TotalRejected(), 0u);
      const Reconciliation2 rec = ReconcileCells(*election, job.tally, {});
      EXPECT_TRUE(rec.match) << name << " scale " << scale << " interleave " << interleave << ": "
                             << rec.cells_mismatched << " cells differ";
      EXPECT_EQ(rec.cells_compared, election->reported.size());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Elections, GeneratedNistTest,
                         ::testing::Values("gen-01", "gen-03", "prim-01"));

TEST(GeneratedNistTest, Gen01BallotsArePerUnitTheLargestContest) {
  absl::StatusOr<ContestElection> base = LoadResultsReportJson(
      absl::StrCat(CANVASS_SOURCE_DIR, "/datasets/nist-cdf/gen-01/err-gen-01.json"));
  ASSERT_THAT(base.status(), IsOk());
  absl::StatusOr<CvrGenerator> generator = CvrGenerator::Plan(*base, {});
  ASSERT_THAT(generator.status(), IsOk());
  // The county's figures sit above the four ballot-style units; 10 ballots each (the test
  // deck of datasets/nist-cdf/gen-01/README.md).
  EXPECT_EQ(generator->generating_units().size(), 4u);
  EXPECT_EQ(generator->ballots(), 40u);
}

TEST(CvrGeneratorTest, RemaindersTheRulesCannotGiveAreStatedExactly) {
  // 7 votes + 4 undervotes = 11 slots on vote-for-2 ballots (not a multiple of 2), and 3
  // overvotes (not a multiple of 2): the records state the remainders.
  const ContestElection e = VoteForTwo(4, 2, 1, 3, 4);
  TempDir dir;
  const CvrJobResult job = GenerateAndRead(e, {}, dir);
  const uint32_t p = *e.FindUnit("p");
  EXPECT_EQ(job.tally.Cell(p, e.SelectionCell(0, 0)), 4u);
  EXPECT_EQ(job.tally.Cell(p, e.SelectionCell(0, 1)), 2u);
  EXPECT_EQ(job.tally.Cell(p, e.SelectionCell(0, 2)), 1u);
  EXPECT_EQ(job.tally.Cell(p, e.FigureCell(0, ContestFigure::kOvervotes)), 3u);
  EXPECT_EQ(job.tally.Cell(p, e.FigureCell(0, ContestFigure::kUndervotes)), 4u);
  // ceil(3 / 2) = 2 overvoted ballots, max(ceil(11 / 2), 4) = 6 sharing the votes.
  EXPECT_EQ(job.tally.Cell(p, e.FigureCell(0, ContestFigure::kBallots)), 8u);
  EXPECT_TRUE(ReconcileCells(e, job.tally, {}).match);
}

TEST(CvrGeneratorTest, ASelectionWithMoreVotesThanBallotsNeedsMoreBallots) {
  // x's 9 votes need 9 ballots although 9 + 1 + 0 votes fill 5 vote-for-2 ballots: no
  // ballot marks x twice, and the extra ballots' undervotes come off the stated figures.
  const ContestElection e = VoteForTwo(9, 1, 0, 0, 0);
  TempDir dir;
  const CvrJobResult job = GenerateAndRead(e, {}, dir);
  EXPECT_EQ(job.tally.counted, 9u);
  EXPECT_TRUE(ReconcileCells(e, job.tally, {}).match);
}

TEST(CvrGeneratorTest, AnOvervoteNeedsMoreSelectionsThanVoteFor) {
  ContestElection e;
  e.source = "hand";
  e.scope_id = "s";
  e.units = {{"s"}};
  e.contests = {{"c", "", 2, ContestKind::kPlurality, {{"x"}, {"y"}}}};
  ASSERT_THAT(e.Finalize("hand"), IsOk());
  e.reported = {{0, e.FigureCell(0, ContestFigure::kOvervotes), 2}};
  ASSERT_THAT(e.Finalize("hand"), IsOk());
  EXPECT_THAT(CvrGenerator::Plan(e, {}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("an overvote needs more than 2 selections")));
}

TEST(CvrGeneratorTest, TheSameSeedWritesTheSameBytes) {
  const ContestElection e = VoteForTwo(40, 30, 20, 6, 10);
  std::string first;
  for (int run = 0; run < 2; ++run) {
    TempDir dir;
    absl::StatusOr<CvrGenerator> generator = CvrGenerator::Plan(e, {1, 9, true});
    ASSERT_THAT(generator.status(), IsOk());
    const std::string path = dir.File("cvr.json");
    std::FILE* out = std::fopen(path.c_str(), "wb");
    ASSERT_THAT(generator->Write(out, path).status(), IsOk());
    std::fclose(out);
    const std::string bytes = testing::ReadFileBytes(path);
    if (run == 0) first = bytes;
    EXPECT_EQ(bytes, first);
  }
}

}  // namespace
}  // namespace canvass
