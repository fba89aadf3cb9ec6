// Generated cast vote records with injected faults (synth/cvr_generator.h): the
// generator's prediction, made from what it wrote, equals what the reading job and the
// exactly-once aggregator count, record by record and cell by cell in every unit, for
// NIST's elections in both syntaxes and orders; hand-worked elections pin each fault's
// exact outcome; the prediction file round-trips and is checked against the election.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/election/contests.h"
#include "engine/ingest/cvr_job.h"
#include "engine/io/contest_prediction.h"
#include "engine/io/nist/err_json.h"
#include "engine/reconcile/cell_reconciler.h"
#include "engine/synth/cvr_generator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/nist/hand_election.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/thread_ranks.h"

namespace canvass {
namespace {

using ::canvass::testing::IsOk;
using ::canvass::testing::StatusIs;
using ::canvass::testing::TempDir;
using ::canvass::testing::VoteForTwo;
using ::testing::HasSubstr;

struct Generated {
  ContestPrediction prediction;
  CvrJobResult job;
};

// Writes the generator's records (JSON or cvb) under `dir`, with their prediction, and
// reads them back with the reading job.
Generated GenerateAndRead(const ContestElection& election, const CvrGeneratorOptions& options,
                          bool cvb, const TempDir& dir) {
  Generated result;
  absl::StatusOr<CvrGenerator> generator = CvrGenerator::Plan(election, options);
  EXPECT_THAT(generator.status(), IsOk());
  const std::string path = dir.File(cvb ? "cvr.cvb" : "cvr.json");
  std::FILE* out = std::fopen(path.c_str(), "wb");
  EXPECT_NE(out, nullptr);
  EXPECT_THAT((cvb ? generator->WriteCvb(out, path, &result.prediction)
                   : generator->Write(out, path, &result.prediction))
                  .status(),
              IsOk());
  EXPECT_EQ(std::fclose(out), 0);
  absl::StatusOr<CvrJobResult> job = ReadCvrFiles(election, {path}, {});
  EXPECT_THAT(job.status(), IsOk());
  result.job = *std::move(job);
  return result;
}

ContestElection Nist(const std::string& name) {
  absl::StatusOr<ContestElection> election = LoadResultsReportJson(
      absl::StrCat(CANVASS_SOURCE_DIR, "/datasets/nist-cdf/", name, "/err-", name, ".json"));
  EXPECT_THAT(election.status(), IsOk());
  return *std::move(election);
}

uint64_t Fired(const ContestPrediction& prediction, absl::string_view name) {
  for (const auto& [fault, count] : prediction.fired) {
    if (fault == name) return count;
  }
  ADD_FAILURE() << "no fault " << name << " in the prediction";
  return 0;
}

class FaultyNistTest : public ::testing::TestWithParam<const char*> {};

// Every fault at once, often enough that each fires: the whole tally, every unit's cells
// included, equals the prediction, in both syntaxes and both orders, at several seeds.
TEST_P(FaultyNistTest, TheCountEqualsThePredictionCellByCell) {
  const ContestElection election = Nist(GetParam());
  absl::StatusOr<FaultPlan> plan = FaultPlan::Parse(
      "drop=0.05,dup=0.08,conflict=0.05,corrupt=0.04,unknown_station=0.04,unknown_choice=0.04,"
      "truncate=0.1,double_report=0.5");
  ASSERT_THAT(plan.status(), IsOk());
  for (const uint64_t seed : {1, 2, 3}) {
    for (const bool interleave : {false, true}) {
      for (const bool cvb : {false, true}) {
        SCOPED_TRACE(absl::StrCat(GetParam(), " seed ", seed, interleave ? " interleaved" : "",
                                  cvb ? " cvb" : " json"));
        TempDir dir;
        const Generated g = GenerateAndRead(election, {100, seed, interleave, *plan}, cvb, dir);
        EXPECT_EQ(g.job.tally, g.prediction.tally);
        EXPECT_EQ(g.prediction.faults, plan->ToString());
        EXPECT_EQ(g.prediction.seed, seed);
        EXPECT_EQ(g.prediction.scale, 100u);
        // Each record fault has hundreds of chances at these rates (never silent by chance).
        for (const char* fault :
             {"drop", "dup", "conflict", "corrupt", "unknown_station", "unknown_choice"}) {
          EXPECT_GT(Fired(g.prediction, fault), 0u) << fault;
        }
        const ContestTally& t = g.job.tally;
        EXPECT_EQ(t.Rejected(CastReject::kMalformed), Fired(g.prediction, "corrupt"));
        EXPECT_EQ(t.Rejected(CastReject::kUnknownUnit), Fired(g.prediction, "unknown_station"));
        EXPECT_EQ(t.Rejected(CastReject::kUnknownSelection), Fired(g.prediction, "unknown_choice"));
        EXPECT_EQ(t.records_read, t.counted + t.TotalRejected());
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Elections, FaultyNistTest,
                         ::testing::Values("gen-01", "gen-03", "prim-01"));

// The job of several ranks (cvr_job.h) on in-process ranks (tests/testing/thread_ranks.h,
// so that the sanitizers see it; tests/distributed/ runs real mpirun): every rank's result
// is the one process's, field by field.
void ExpectSameResult(const absl::StatusOr<CvrJobResult>& many,
                      const absl::StatusOr<CvrJobResult>& one) {
  ASSERT_EQ(many.status(), one.status());
  if (!one.ok()) return;
  EXPECT_EQ(many->tally, one->tally);
  EXPECT_EQ(many->invalid_without_figure, one->invalid_without_figure);
  ASSERT_EQ(many->inputs.size(), one->inputs.size());
  for (size_t i = 0; i < one->inputs.size(); ++i) {
    EXPECT_EQ(many->inputs[i].path, one->inputs[i].path);
    EXPECT_EQ(many->inputs[i].bytes, one->inputs[i].bytes);
    EXPECT_EQ(many->inputs[i].records, one->inputs[i].records);
    EXPECT_EQ(many->inputs[i].synthetic, one->inputs[i].synthetic);
    EXPECT_EQ(many->inputs[i].identity_fields, one->inputs[i].identity_fields);
  }
  ASSERT_EQ(many->examples.size(), one->examples.size());
  for (size_t i = 0; i < one->examples.size(); ++i) {
    EXPECT_EQ(many->examples[i].reason, one->examples[i].reason);
    EXPECT_EQ(many->examples[i].location, one->examples[i].location);
    EXPECT_EQ(many->examples[i].why, one->examples[i].why);
  }
}

void ExpectSameOnRanks(const ContestElection& election, const std::vector<std::string>& paths,
                       CvrJobOptions options) {
  const absl::StatusOr<CvrJobResult> one = ReadCvrFiles(election, paths, options);
  for (const int ranks : {2, 3}) {
    SCOPED_TRACE(absl::StrCat(ranks, " ranks"));
    std::vector<absl::StatusOr<CvrJobResult>> results(static_cast<size_t>(ranks));
    ::canvass::testing::ThreadRanks::Run(ranks, [&](const RankGroup& group) {
      CvrJobOptions mine = options;
      mine.ranks = &group;
      results[static_cast<size_t>(group.rank())] = ReadCvrFiles(election, paths, mine);
    });
    for (const absl::StatusOr<CvrJobResult>& many : results) ExpectSameResult(many, one);
  }
}

// Chunks of 4 KiB: a generated report with every record fault is cut into dozens of
// chunks, shared out among the ranks, with copies of one identity on different ranks.
TEST(CvrJobRanksTest, EveryRankGetsTheOneProcessResult) {
  const ContestElection election = Nist("gen-03");
  absl::StatusOr<FaultPlan> plan = FaultPlan::Parse(
      "drop=0.05,dup=0.08,conflict=0.05,corrupt=0.04,unknown_station=0.04,unknown_choice=0.04");
  ASSERT_THAT(plan.status(), IsOk());
  for (const bool cvb : {false, true}) {
    SCOPED_TRACE(cvb ? "cvb" : "json");
    TempDir dir;
    const Generated g = GenerateAndRead(election, {30, 5, true, *plan}, cvb, dir);
    ASSERT_GT(g.job.tally.Rejected(CastReject::kDuplicate), 0u);
    ASSERT_GT(g.job.tally.Rejected(CastReject::kConflict), 0u);
    const std::string path = dir.File(cvb ? "cvr.cvb" : "cvr.json");
    ASSERT_GT(std::filesystem::file_size(path), 12u * (4u << 10));
    CvrJobOptions options;
    options.threads = 2;
    options.chunk_bytes = 4u << 10;
    ExpectSameOnRanks(election, {path}, options);
    // With NIST's own report beside it, twice: the small files go whole to one rank each
    // (ranks open only their files), the large one is shared; the copies of NIST's records
    // are duplicates across ranks.
    const std::string nist = CANVASS_SOURCE_DIR "/datasets/nist-cdf/gen-03/cvr-gen-03.json";
    std::filesystem::copy_file(nist, dir.File("a-nist.json"));
    std::filesystem::copy_file(nist, dir.File("z-nist.json"));
    const absl::StatusOr<CvrJobResult> mixed =
        ReadCvrFiles(election, {dir.path().string()}, options);
    ASSERT_THAT(mixed.status(), IsOk());
    ASSERT_EQ(mixed->inputs.size(), 3u);
    ExpectSameOnRanks(election, {dir.path().string()}, options);
  }
}

// A folder whose second and third files stop the job: the first in file order is the
// job's error on every rank, whichever rank read it.
TEST(CvrJobRanksTest, TheFirstBrokenFileIsEveryRanksError) {
  const std::string bad = CANVASS_SOURCE_DIR "/tests/data/nist_bad/";
  absl::StatusOr<ContestElection> election = LoadResultsReportJson(bad + "err-tiny.json");
  ASSERT_THAT(election.status(), IsOk());
  TempDir dir;
  std::filesystem::copy_file(bad + "valid.json", dir.File("1.json"));
  std::filesystem::copy_file(bad + "truncated_mid_record.json", dir.File("2.json"));
  std::filesystem::copy_file(bad + "not_json.json", dir.File("3.json"));
  std::filesystem::copy_file(bad + "valid.json", dir.File("4.json"));
  const absl::StatusOr<CvrJobResult> one = ReadCvrFiles(*election, {dir.path().string()}, {});
  ASSERT_FALSE(one.ok());
  EXPECT_THAT(one.status().message(), HasSubstr(dir.File("2.json")));
  ExpectSameOnRanks(*election, {dir.path().string()}, {});
}

// The hand-worked election of cvr_generator_test.cc: x, y, z with 4, 2 and 1 votes, 3
// overvotes and 4 undervotes, vote for 2, on 8 ballots (2 overvoted, 6 sharing the votes).
ContestElection Hand() { return VoteForTwo(4, 2, 1, 3, 4); }

Generated HandWith(const std::string& spec, bool cvb, const TempDir& dir) {
  absl::StatusOr<FaultPlan> plan = FaultPlan::Parse(spec);
  EXPECT_THAT(plan.status(), IsOk());
  return GenerateAndRead(Hand(), {1, 5, false, *plan}, cvb, dir);
}

TEST(CvrFaultsTest, EveryBallotDuplicatedCountsOnceAndStillMatches) {
  for (const bool cvb : {false, true}) {
    TempDir dir;
    const Generated g = HandWith("dup=1", cvb, dir);
    const ContestTally& t = g.job.tally;
    EXPECT_EQ(t.records_read, 16u);
    EXPECT_EQ(t.counted, 8u);
    EXPECT_EQ(t.Rejected(CastReject::kDuplicate), 8u);
    EXPECT_EQ(t.TotalRejected(), 8u);
    EXPECT_TRUE(ReconcileCells(Hand(), t, {}).match);
    EXPECT_EQ(t, g.prediction.tally);
    EXPECT_EQ(Fired(g.prediction, "dup"), 8u);
  }
}

TEST(CvrFaultsTest, EveryBallotInConflictCountsNothing) {
  for (const bool cvb : {false, true}) {
    TempDir dir;
    const Generated g = HandWith("conflict=1", cvb, dir);
    const ContestTally& t = g.job.tally;
    const ContestElection e = Hand();
    EXPECT_EQ(t.records_read, 16u);
    EXPECT_EQ(t.counted, 0u);
    EXPECT_EQ(t.Rejected(CastReject::kConflict), 16u);
    for (uint32_t cell = 0; cell < e.cells_per_unit(); ++cell) EXPECT_EQ(t.Cell(1, cell), 0u);
    EXPECT_EQ(t, g.prediction.tally);
  }
}

TEST(CvrFaultsTest, RejectingFaultsGiveTheirReasonForEveryBallot) {
  const struct {
    const char* spec;
    CastReject reason;
  } cases[] = {{"corrupt=1", CastReject::kMalformed},
               {"unknown_station=1", CastReject::kUnknownUnit},
               {"unknown_choice=1", CastReject::kUnknownSelection}};
  for (const auto& c : cases) {
    for (const bool cvb : {false, true}) {
      SCOPED_TRACE(absl::StrCat(c.spec, cvb ? " cvb" : " json"));
      TempDir dir;
      const Generated g = HandWith(c.spec, cvb, dir);
      const ContestTally& t = g.job.tally;
      EXPECT_EQ(t.records_read, 8u);
      EXPECT_EQ(t.counted, 0u);
      EXPECT_EQ(t.Rejected(c.reason), 8u);
      EXPECT_EQ(t.TotalRejected(), 8u);
      EXPECT_EQ(t, g.prediction.tally);
      // Each rejected record is located in its file.
      ASSERT_FALSE(g.job.examples.empty());
      EXPECT_THAT(g.job.examples[0].location, HasSubstr(cvb ? "cvr.cvb" : "cvr.json"));
    }
  }
}

TEST(CvrFaultsTest, DroppedAndTruncatedBallotsAreLostWithoutATrace) {
  for (const bool cvb : {false, true}) {
    TempDir dir;
    const Generated dropped = HandWith("drop=1", cvb, dir);
    EXPECT_EQ(dropped.job.tally.records_read, 0u);
    EXPECT_EQ(dropped.job.tally, dropped.prediction.tally);
    EXPECT_EQ(Fired(dropped.prediction, "drop"), 8u);
    TempDir dir2;
    const Generated cut = HandWith("truncate=1", cvb, dir2);
    const ContestTally& t = cut.job.tally;
    // The unit's stream stops after 0 to 7 of its 8 ballots; what arrives is counted.
    EXPECT_LT(t.records_read, 8u);
    EXPECT_EQ(t.counted, t.records_read);
    EXPECT_EQ(t.TotalRejected(), 0u);
    EXPECT_EQ(Fired(cut.prediction, "truncate"), 1u);
    EXPECT_EQ(t, cut.prediction.tally);
  }
}

TEST(CvrFaultsTest, AUnitReportedTwiceGivesDuplicatesOrConflictsForEveryBallot) {
  bool identical = false;
  bool changing = false;
  for (const uint64_t seed : {1, 2, 3, 4, 5, 6}) {
    absl::StatusOr<FaultPlan> plan = FaultPlan::Parse("double_report=1");
    ASSERT_THAT(plan.status(), IsOk());
    TempDir dir;
    const Generated g = GenerateAndRead(Hand(), {3, seed, false, *plan}, false, dir);
    const ContestTally& t = g.job.tally;
    // 22 ballots at scale 3 (ceil(9 / 2) = 5 overvoted, max(ceil((21 + 12) / 2), 12) = 17
    // sharing), each sent twice: an equal resend counts once plus a duplicate, a changed
    // one makes both copies conflicts.
    EXPECT_EQ(t.records_read, 44u);
    EXPECT_EQ(t.counted + t.Rejected(CastReject::kConflict) / 2, 22u);
    EXPECT_EQ(t.Rejected(CastReject::kDuplicate), t.counted);
    EXPECT_EQ(t, g.prediction.tally);
    identical |= t.counted == 22;
    changing |= t.Rejected(CastReject::kConflict) > 0;
  }
  // The seeds draw both kinds of resending unit.
  EXPECT_TRUE(identical);
  EXPECT_TRUE(changing);
}

TEST(CvrFaultsTest, FaultsRecordsCannotTakeAreRefused) {
  for (const char* spec : {"bad_seq=0.1", "reorder=1"}) {
    absl::StatusOr<FaultPlan> plan = FaultPlan::Parse(spec);
    ASSERT_THAT(plan.status(), IsOk());
    EXPECT_THAT(CvrGenerator::Plan(Hand(), {1, 1, false, *plan}).status(),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(absl::StrCat("--faults ", std::string(spec).substr(
                                                                 0, std::string(spec).find('='))))))
        << spec;
  }
}

TEST(CvrFaultsTest, WithoutFaultsThePredictionIsTheReportedFigures) {
  TempDir dir;
  const Generated g = GenerateAndRead(Nist("gen-03"), {2, 1, true, {}}, false, dir);
  EXPECT_EQ(g.job.tally, g.prediction.tally);
  EXPECT_TRUE(g.prediction.fired.empty());
  EXPECT_EQ(g.prediction.tally.TotalRejected(), 0u);
}

// ---- the prediction file ----

TEST(ContestPredictionTest, RoundTripsAgainstItsElection) {
  const ContestElection election = Nist("gen-01");
  absl::StatusOr<FaultPlan> plan = FaultPlan::Parse("dup=0.1,drop=0.1,conflict=0.1");
  ASSERT_THAT(plan.status(), IsOk());
  TempDir dir;
  const Generated g = GenerateAndRead(election, {4, 2, false, *plan}, false, dir);
  const std::string text = ContestPredictionToJson(g.prediction, election);
  absl::StatusOr<ContestPrediction> read = ParseContestPrediction("p.json", text, election);
  ASSERT_THAT(read.status(), IsOk());
  EXPECT_EQ(read->tally, g.prediction.tally);
  EXPECT_EQ(read->fired, g.prediction.fired);
  EXPECT_EQ(read->faults, g.prediction.faults);
  EXPECT_EQ(read->election, election.id);
  EXPECT_EQ(read->scale, 4u);
  EXPECT_EQ(read->seed, 2u);
  // Read against the same election with the `invalid` figure: every cell lands on its
  // moved place.
  ContestElection with_invalid = election;
  ASSERT_THAT(with_invalid.AddInvalidFigure(), IsOk());
  absl::StatusOr<ContestPrediction> moved = ParseContestPrediction("p.json", text, with_invalid);
  ASSERT_THAT(moved.status(), IsOk());
  for (uint32_t c = 0; c < election.contests.size(); ++c) {
    for (uint32_t s = 0; s < election.contests[c].selections.size(); ++s) {
      EXPECT_EQ(moved->tally.Cell(election.scope(), with_invalid.SelectionCell(c, s)),
                g.prediction.tally.Cell(election.scope(), election.SelectionCell(c, s)));
    }
  }
}

TEST(ContestPredictionTest, ABadFileIsAnErrorNamingWhatIsWrong) {
  const ContestElection e = Hand();
  const std::string head =
      R"({"prediction_version": 1, "election": "hand", "seed": 1, "scale": 1, "faults": "",
          "fired": {}, "records": {"read": 1, "counted": 1, "adjudicated": 0, "rejected":
          {"malformed": 0, "unknown_unit": 0, "unknown_contest": 0, "unknown_selection": 0,
           "duplicate": 0, "conflict": 0}}, "units": )";
  const struct {
    std::string text;
    absl::StatusCode code;
    std::string message;
  } cases[] = {
      {"{\"prediction_version\": 1,", absl::StatusCode::kDataLoss,
       "p.json: byte 26: not valid JSON"},
      {R"({"prediction_version": 2})", absl::StatusCode::kDataLoss,
       "field 'prediction_version': expected 1, got 2"},
      {R"({"prediction_version": 1, "election": "other"})", absl::StatusCode::kInvalidArgument,
       "the prediction of election \"other\", not of \"hand\""},
      {head + R"([{"unit": "q", "cells": []}]})", absl::StatusCode::kInvalidArgument,
       "field 'units[0].unit': unit 'q' is not a reporting unit of the election"},
      {head + R"([{"unit": "p", "cells": [{"contest": "c", "selection": "w", "count": 1}]}]})",
       absl::StatusCode::kInvalidArgument,
       "field 'units[0].cells[0]': contest 'c' has no selection 'w'"},
      {head + R"([{"unit": "p", "cells": [{"contest": "d", "figure": "ballots", "count": 1}]}]})",
       absl::StatusCode::kInvalidArgument, "contest 'd' is not in the election"},
      {head + R"([{"unit": "p", "cells": [{"contest": "c", "figure": "invalid", "count": 1}]}]})",
       absl::StatusCode::kInvalidArgument, "contest 'c' has no figure \"invalid\""},
      {head + R"([{"unit": "p", "cells": [{"figure": "ballots_cast", "count": 1},
                                          {"figure": "ballots_cast", "count": 2}]}]})",
       absl::StatusCode::kInvalidArgument,
       "field 'units[0].cells[1]': a cell of unit 'p' given twice"},
      {head + R"([{"unit": "p", "cells": [{"figure": "ballots_cast", "count": -1}]}]})",
       absl::StatusCode::kDataLoss,
       "field 'units[0].cells[0].count': expected a count (a whole number, 0 or more), got -1"},
      {head + R"({}})", absl::StatusCode::kDataLoss, "field 'units': expected an array, got {}"},
  };
  for (const auto& c : cases) {
    EXPECT_THAT(ParseContestPrediction("p.json", c.text, e).status(),
                StatusIs(c.code, HasSubstr(c.message)))
        << c.text;
  }
}

}  // namespace
}  // namespace canvass
