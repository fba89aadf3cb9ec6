// The contests form of election.json (engine/election/contest_json.h): the shipped example
// (datasets/contests-example) read back as written and reconciled against its cast vote
// records to a match, one changed reported figure found as exactly one mismatch, every
// error named by its JSON path, and, end to end, `canvass reconcile --election DIR`.
#include "engine/election/contest_json.h"

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "engine/base/file_util.h"
#include "engine/election/contests.h"
#include "engine/ingest/cvr_job.h"
#include "engine/io/nist/reported_csv.h"
#include "engine/reconcile/cell_reconciler.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#ifdef CANVASS_BINARY
#include "tests/testing/run_canvass.h"
#endif

namespace canvass {
namespace {

using ::canvass::testing::ReadFileBytes;

using ::canvass::testing::IsOk;
using ::canvass::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Json = nlohmann::json;

const std::string kExample = absl::StrCat(CANVASS_SOURCE_DIR, "/datasets/contests-example");

std::string ExampleJson() { return ReadFileBytes(kExample + "/election.json"); }

// The example's election with the figures of `reported_csv` (its reported.csv by default).
absl::StatusOr<ContestElection> ExampleElection(const std::string& reported_csv) {
  std::string reported_file;
  absl::StatusOr<ContestElection> election =
      ParseContestElectionJson(ExampleJson(), "election.json", &reported_file);
  if (!election.ok()) return election;
  EXPECT_EQ(reported_file, "reported.csv");
  absl::Status status = ReadReportedFiguresCsv("reported.csv", reported_csv, &*election);
  if (!status.ok()) return status;
  return election;
}

TEST(ContestJsonTest, ExampleParsesToItsContestsAndUnits) {
  const std::string json = ExampleJson();
  EXPECT_TRUE(IsContestElectionJson(json));
  std::string reported_file = "stale";
  absl::StatusOr<ContestElection> e =
      ParseContestElectionJson(json, "ex/election.json", &reported_file);
  ASSERT_THAT(e.status(), IsOk());
  EXPECT_EQ(reported_file, "reported.csv");
  EXPECT_EQ(e->id, "contests-example");
  EXPECT_EQ(e->name, "Contests example (hand-made)");
  EXPECT_EQ(e->source, "ex/election.json (hand-made example, not a real election)");
  EXPECT_FALSE(e->synthetic);
  EXPECT_TRUE(e->reported.empty());

  ASSERT_EQ(e->units.size(), 3u);
  EXPECT_EQ(e->units[0].id, "county");
  EXPECT_EQ(e->units[0].name, "Example County");
  EXPECT_EQ(e->units[0].type, "county");
  EXPECT_THAT(e->units[0].composing, ElementsAre("p1", "p2"));
  EXPECT_EQ(e->units[1].id, "p1");
  EXPECT_EQ(e->units[1].type, "precinct");
  EXPECT_TRUE(e->units[1].composing.empty());
  EXPECT_EQ(e->units[2].id, "p2");
  EXPECT_EQ(e->scope_id, "county");
  EXPECT_EQ(e->scope(), 0u);
  EXPECT_THAT(e->RollUp(*e->FindUnit("p2")), ElementsAre(2u, 0u));
  EXPECT_EQ(e->Level(*e->FindUnit("p1")), 1u);

  ASSERT_EQ(e->contests.size(), 2u);
  const ElectionContest& mayor = e->contests[0];
  EXPECT_EQ(mayor.id, "mayor");
  EXPECT_EQ(mayor.name, "Mayor");
  EXPECT_EQ(mayor.vote_for, 1u);
  EXPECT_EQ(mayor.kind, ContestKind::kPlurality);
  ASSERT_EQ(mayor.selections.size(), 3u);
  EXPECT_EQ(mayor.selections[0].id, "ann");
  EXPECT_EQ(mayor.selections[0].name, "Ann Archer");
  EXPECT_FALSE(mayor.selections[0].write_in);
  EXPECT_EQ(mayor.selections[2].id, "wi");
  EXPECT_TRUE(mayor.selections[2].write_in);
  EXPECT_EQ(mayor.selections[2].name, "Write-in");  // a write-in with no name
  const ElectionContest& council = e->contests[1];
  EXPECT_EQ(council.id, "council");
  EXPECT_EQ(council.vote_for, 2u);
  EXPECT_EQ(council.kind, ContestKind::kPlurality);
  ASSERT_EQ(council.selections.size(), 3u);
  EXPECT_EQ(council.selections[1].id, "dee");
  // 1 ballots-cast cell + (3 selections + 3 figures) per contest.
  EXPECT_EQ(e->cells_per_unit(), 13u);
}

TEST(ContestJsonTest, DefaultsAndNoReportedFile) {
  const std::string json = R"({"format_version": 2, "id": "x", "scope": "all",
    "units": [{"id": "all"}, {"id": "a"}, {"id": "b"}],
    "contests": [{"id": "q", "kind": "ranked", "selections": [{"id": "yes"}, {"id": "no"}]},
                 {"id": "r", "selections": [{"id": "s"}]}]})";
  std::string reported_file = "stale";
  absl::StatusOr<ContestElection> e = ParseContestElectionJson(json, "d.json", &reported_file);
  ASSERT_THAT(e.status(), IsOk());
  EXPECT_EQ(reported_file, "");
  EXPECT_EQ(e->name, "");
  EXPECT_EQ(e->source, "d.json");
  EXPECT_EQ(e->contests[0].vote_for, 1u);
  EXPECT_EQ(e->contests[0].kind, ContestKind::kRanked);
  EXPECT_EQ(e->contests[1].kind, ContestKind::kPlurality);
  // Units nobody composes are parts of the scope.
  EXPECT_THAT(e->RollUp(*e->FindUnit("b")), ElementsAre(2u, 0u));
  // The out-parameter is optional.
  EXPECT_THAT(ParseContestElectionJson(json, "d.json").status(), IsOk());
}

// The example's election.json changed by `edit`, parsed as "ex.json".
absl::Status ErrorOf(const std::function<void(Json&)>& edit) {
  Json json = Json::parse(ExampleJson());
  edit(json);
  return ParseContestElectionJson(json.dump(), "ex.json").status();
}

// InvalidArgument naming the file, the JSON path `field` and `what`.
::testing::Matcher<absl::Status> NamesField(const std::string& field, const std::string& what) {
  return StatusIs(
      absl::StatusCode::kInvalidArgument,
      AllOf(HasSubstr(absl::StrCat("ex.json: field '", field, "': ")), HasSubstr(what)));
}

TEST(ContestJsonErrorTest, MissingScope) {
  EXPECT_THAT(ErrorOf([](Json& j) { j.erase("scope"); }),
              NamesField("scope", "missing; expected a string"));
}

TEST(ContestJsonErrorTest, ScopeNotAUnit) {
  EXPECT_THAT(ErrorOf([](Json& j) { j["scope"] = "state"; }),
              NamesField("scope", "'state' is not a reporting unit of the election"));
}

TEST(ContestJsonErrorTest, UnknownKeysAreNamed) {
  EXPECT_THAT(ErrorOf([](Json& j) { j["colour"] = "blue"; }),
              NamesField("colour", "unknown key; expected one of format_version, id, title"));
  EXPECT_THAT(ErrorOf([](Json& j) { j["units"][1]["parent"] = "county"; }),
              NamesField("units[1].parent", "unknown key; expected one of id, name, type"));
  EXPECT_THAT(ErrorOf([](Json& j) { j["contests"][1]["votes_allowed"] = 2; }),
              NamesField("contests[1].votes_allowed", "unknown key"));
  EXPECT_THAT(ErrorOf([](Json& j) { j["contests"][0]["selections"][1]["party"] = "x"; }),
              NamesField("contests[0].selections[1].party",
                         "unknown key; expected one of id, name, write_in"));
  // The single-contest form's keys are unknown here.
  EXPECT_THAT(ErrorOf([](Json& j) { j["roster"] = "roster.csv"; }),
              NamesField("roster", "unknown key"));
}

TEST(ContestJsonErrorTest, VoteForOutOfRange) {
  EXPECT_THAT(ErrorOf([](Json& j) { j["contests"][1]["vote_for"] = 0; }),
              NamesField("contests[1].vote_for", "expected an integer 1 to 65536, got number 0"));
  EXPECT_THAT(ErrorOf([](Json& j) { j["contests"][1]["vote_for"] = -2; }),
              NamesField("contests[1].vote_for", "got number -2"));
  EXPECT_THAT(ErrorOf([](Json& j) { j["contests"][1]["vote_for"] = 1.5; }),
              NamesField("contests[1].vote_for", "got number 1.5"));
  EXPECT_THAT(ErrorOf([](Json& j) { j["contests"][1]["vote_for"] = 65537; }),
              NamesField("contests[1].vote_for", "got number 65537"));
  EXPECT_THAT(ErrorOf([](Json& j) { j["contests"][1]["vote_for"] = "2"; }),
              NamesField("contests[1].vote_for", "got string \"2\""));
}

TEST(ContestJsonErrorTest, UnknownComposingUnit) {
  EXPECT_THAT(ErrorOf([](Json& j) { j["units"][0]["composing"][1] = "p3"; }),
              NamesField("units[0].composing[1]", "'p3' is not a reporting unit"));
  EXPECT_THAT(ErrorOf([](Json& j) { j["units"][1]["composing"] = {"p1"}; }),
              NamesField("units[1].composing[0]", "'p1' is composed of itself"));
}

TEST(ContestJsonErrorTest, IdsGivenTwice) {
  EXPECT_THAT(ErrorOf([](Json& j) { j["contests"].push_back(j["contests"][0]); }),
              NamesField("contests[2].id",
                         "contest 'mayor' is defined twice (first at "
                         "contests[0])"));
  EXPECT_THAT(
      ErrorOf([](Json& j) { j["units"][2]["id"] = "p1"; }),
      NamesField("units[2].id", "reporting unit 'p1' is defined twice (first at units[1])"));
  EXPECT_THAT(ErrorOf([](Json& j) { j["contests"][1]["selections"][2]["id"] = "cy"; }),
              NamesField("contests[1].selections[2].id",
                         "selection 'cy' is listed twice in contest 'council'"));
}

TEST(ContestJsonErrorTest, BadKind) {
  EXPECT_THAT(
      ErrorOf([](Json& j) { j["contests"][0]["kind"] = "irv"; }),
      NamesField("contests[0].kind", "expected \"plurality\" or \"ranked\", got string \"irv\""));
  EXPECT_THAT(ErrorOf([](Json& j) { j["contests"][0]["kind"] = 1; }),
              NamesField("contests[0].kind", "got number 1"));
}

TEST(ContestJsonErrorTest, WrongTypes) {
  EXPECT_THAT(ErrorOf([](Json& j) { j["id"] = 7; }),
              NamesField("id", "expected a string, got number 7"));
  EXPECT_THAT(ErrorOf([](Json& j) { j["title"] = nullptr; }),
              NamesField("title", "expected a string, got null"));
  EXPECT_THAT(ErrorOf([](Json& j) { j["synthetic"] = "no"; }),
              NamesField("synthetic", "expected true or false"));
  EXPECT_THAT(ErrorOf([](Json& j) { j["units"] = Json::object(); }),
              NamesField("units", "expected an array of reporting units, got object"));
  EXPECT_THAT(ErrorOf([](Json& j) { j["contests"] = "mayor"; }),
              NamesField("contests", "expected an array of contests, got string"));
  EXPECT_THAT(ErrorOf([](Json& j) {
                j["contests"][1] = {1, 2};
              }),
              NamesField("contests[1]", "expected an object, got array"));
  EXPECT_THAT(ErrorOf([](Json& j) { j["units"][0]["composing"] = "p1"; }),
              NamesField("units[0].composing", "expected an array of reporting unit ids"));
  EXPECT_THAT(ErrorOf([](Json& j) { j["units"][0]["composing"][0] = 1; }),
              NamesField("units[0].composing[0]", "expected a reporting unit id, got number 1"));
  EXPECT_THAT(ErrorOf([](Json& j) { j["contests"][0]["selections"][2]["write_in"] = "yes"; }),
              NamesField("contests[0].selections[2].write_in", "expected true or false"));
  EXPECT_THAT(ErrorOf([](Json& j) { j["contests"][0]["selections"][0] = "ann"; }),
              NamesField("contests[0].selections[0]", "expected an object, got string"));
  EXPECT_THAT(ErrorOf([](Json& j) { j["contests"][0]["name"] = false; }),
              NamesField("contests[0].name", "expected a string, got boolean"));
  EXPECT_THAT(ErrorOf([](Json& j) { j["reported"] = 3; }),
              NamesField("reported", "expected a string, got number"));
}

TEST(ContestJsonErrorTest, MissingOrEmptyParts) {
  EXPECT_THAT(ErrorOf([](Json& j) { j.erase("id"); }), NamesField("id", "missing"));
  EXPECT_THAT(ErrorOf([](Json& j) { j["id"] = ""; }), NamesField("id", "must not be empty"));
  EXPECT_THAT(ErrorOf([](Json& j) { j.erase("units"); }),
              NamesField("units", "missing; expected an array of reporting units"));
  EXPECT_THAT(ErrorOf([](Json& j) { j["contests"] = Json::array(); }),
              NamesField("contests", "expected 1 to 65536 entries (contests), got 0"));
  EXPECT_THAT(ErrorOf([](Json& j) { j["contests"][0]["selections"] = Json::array(); }),
              NamesField("contests[0].selections", "got 0"));
  EXPECT_THAT(ErrorOf([](Json& j) { j["contests"][1].erase("id"); }),
              NamesField("contests[1].id", "missing; expected a string"));
  EXPECT_THAT(ErrorOf([](Json& j) { j["units"][2]["id"] = ""; }),
              NamesField("units[2].id", "must not be empty"));
  EXPECT_THAT(ErrorOf([](Json& j) { j["reported"] = "../reported.csv"; }),
              NamesField("reported", "inside the election directory"));
}

TEST(ContestJsonErrorTest, FormatVersion) {
  EXPECT_THAT(ErrorOf([](Json& j) { j.erase("format_version"); }),
              NamesField("format_version", "missing; expected 2"));
  EXPECT_THAT(ErrorOf([](Json& j) { j["format_version"] = 1; }),
              NamesField("format_version", "expected 2 (the contests form), got number 1"));
  EXPECT_THAT(ErrorOf([](Json& j) { j["format_version"] = "2"; }),
              NamesField("format_version", "got string \"2\""));
}

TEST(ContestJsonErrorTest, HierarchyFinalizeRefuses) {
  // p1 <- p2 <- p1: a cycle, found when the hierarchy is built.
  EXPECT_THAT(ErrorOf([](Json& j) {
                j["units"][1]["composing"] = {"p2"};
                j["units"][2]["composing"] = {"p1"};
              }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ex.json: ")));
  EXPECT_THAT(ErrorOf([](Json& j) { j["units"][1]["composing"] = {"county"}; }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("the scope must be the top")));
}

TEST(ContestJsonErrorTest, NotJsonOrNotAnObject) {
  EXPECT_THAT(ParseContestElectionJson(R"({"format_version": 2,)", "ex.json").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ex.json: byte ")));
  EXPECT_THAT(ParseContestElectionJson("[1, 2]", "ex.json").status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("ex.json: expected a JSON object at the top level, got array")));
}

TEST(ContestJsonTest, SingleContestElectionIsNotTheContestsForm) {
  const std::string single = ReadFileBytes(
      absl::StrCat(CANVASS_SOURCE_DIR, "/datasets/ir-2024-runoff-overseas/election.json"));
  EXPECT_FALSE(IsContestElectionJson(single));
  EXPECT_FALSE(IsContestElectionJson(R"({"id": "x", "title": "", "choices": [{"code": "A"}],
                                         "roster": "roster.csv"})"));
  EXPECT_FALSE(IsContestElectionJson("not json"));
  EXPECT_FALSE(IsContestElectionJson(R"(["contests"])"));
  EXPECT_FALSE(IsContestElectionJson(""));
  // Either key marks the form (the parser then asks for the other).
  EXPECT_TRUE(IsContestElectionJson(R"({"contests": []})"));
  EXPECT_TRUE(IsContestElectionJson(R"({"format_version": 2})"));
}

TEST(ContestJsonReconcileTest, ExampleCvrsMatchEveryReportedCell) {
  absl::StatusOr<ContestElection> e = ExampleElection(ReadFileBytes(kExample + "/reported.csv"));
  ASSERT_THAT(e.status(), IsOk());
  EXPECT_EQ(e->reported.size(), 39u);  // 13 cells at each of 3 units
  absl::StatusOr<CvrJobResult> job = ReadCvrFiles(*e, {kExample + "/cvr.json"}, {});
  ASSERT_THAT(job.status(), IsOk());
  EXPECT_EQ(job->tally.records_read, 10u);
  EXPECT_EQ(job->tally.counted, 10u);
  const uint32_t county = *e->FindUnit("county");
  const uint32_t p1 = *e->FindUnit("p1");
  const uint32_t mayor = *e->FindContest("mayor");
  const uint32_t council = *e->FindContest("council");
  EXPECT_EQ(job->tally.Cell(county, ContestElection::kBallotsCastCell), 10u);
  EXPECT_EQ(job->tally.Cell(p1, e->FigureCell(mayor, ContestFigure::kOvervotes)), 1u);
  EXPECT_EQ(job->tally.Cell(p1, e->FigureCell(council, ContestFigure::kUndervotes)), 1u);
  EXPECT_EQ(job->tally.Cell(county, e->SelectionCell(council, *e->FindSelection(council, "dee"))),
            8u);

  const Reconciliation2 rec = ReconcileCells(*e, job->tally, {});
  EXPECT_TRUE(rec.match);
  EXPECT_EQ(rec.cells_compared, 39u);
  EXPECT_EQ(rec.cells_mismatched, 0u);
  EXPECT_EQ(rec.cells_not_reported, 0u);
  EXPECT_TRUE(rec.mismatches.empty());
}

TEST(ContestJsonReconcileTest, AChangedReportedFigureIsExactlyOneMismatch) {
  const std::string csv = ReadFileBytes(kExample + "/reported.csv");
  ASSERT_THAT(csv, HasSubstr("\np1,council,undervotes,1\n"));
  absl::StatusOr<ContestElection> e = ExampleElection(
      absl::StrReplaceAll(csv, {{"\np1,council,undervotes,1\n", "\np1,council,undervotes,2\n"}}));
  ASSERT_THAT(e.status(), IsOk());
  absl::StatusOr<CvrJobResult> job = ReadCvrFiles(*e, {kExample + "/cvr.json"}, {});
  ASSERT_THAT(job.status(), IsOk());
  const Reconciliation2 rec = ReconcileCells(*e, job->tally, {});
  EXPECT_FALSE(rec.match);
  EXPECT_EQ(rec.cells_compared, 39u);
  EXPECT_EQ(rec.cells_mismatched, 1u);
  ASSERT_EQ(rec.mismatches.size(), 1u);
  const CellDelta& d = rec.mismatches[0];
  EXPECT_EQ(d.unit, *e->FindUnit("p1"));
  EXPECT_EQ(d.cell, e->FigureCell(*e->FindContest("council"), ContestFigure::kUndervotes));
  EXPECT_EQ(d.counted, 1u);
  EXPECT_EQ(d.reported, 2u);
  EXPECT_EQ(d.delta, -1);
}

#ifdef CANVASS_BINARY
using ::canvass::testing::Describe;
using ::canvass::testing::kExitInputError;
using ::canvass::testing::kExitMatch;
using ::canvass::testing::kExitMismatch;
using ::canvass::testing::RunCanvass;
using ::canvass::testing::RunResult;
using ::canvass::testing::TempDir;
using ::canvass::testing::WriteFileBytes;

TEST(ContestJsonCliTest, ReconcileOfTheExampleIsMatch) {
  const RunResult result =
      RunCanvass({"reconcile", "--election", kExample, kExample + "/cvr.json"});
  EXPECT_EQ(result.exit_code, kExitMatch) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr("cells compared 39, mismatched 0"));
  EXPECT_THAT(result.out, HasSubstr("verdict: match"));
  const RunResult aggregate =
      RunCanvass({"aggregate", "--election", kExample, kExample + "/cvr.json"});
  EXPECT_EQ(aggregate.exit_code, kExitMatch) << Describe(aggregate);
}

TEST(ContestJsonCliTest, ReportedCsvReplacesTheDirectorysFigures) {
  TempDir dir;
  const std::string csv = ReadFileBytes(kExample + "/reported.csv");
  WriteFileBytes(dir.File("other.csv"),
                 absl::StrReplaceAll(csv, {{"\ncounty,mayor,bob,5\n", "\ncounty,mayor,bob,6\n"}}));
  const RunResult result = RunCanvass({"reconcile", "--election", kExample, "--reported",
                                       dir.File("other.csv"), kExample + "/cvr.json"});
  EXPECT_EQ(result.exit_code, kExitMismatch) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr("cells compared 39, mismatched 1"));
}

TEST(ContestJsonCliTest, MissingReportedFileIsNotFound) {
  TempDir dir;
  std::string json = ReadFileBytes(kExample + "/election.json");
  WriteFileBytes(dir.File("election.json"),
                 absl::StrReplaceAll(json, {{"\"reported.csv\"", "\"gone.csv\""}}));
  const RunResult result =
      RunCanvass({"reconcile", "--election", dir.path().string(), kExample + "/cvr.json"});
  EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("gone.csv: cannot open file"));
  EXPECT_THAT(result.err, HasSubstr("election.json field 'reported'"));
}

TEST(ContestJsonCliTest, SingleContestDirectoryIsRefusedForCvrs) {
  const RunResult result =
      RunCanvass({"reconcile", "--election",
                  absl::StrCat(CANVASS_SOURCE_DIR, "/datasets/ir-2024-runoff-overseas"),
                  kExample + "/cvr.json"});
  EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("cast vote records need a contest election"));
  EXPECT_THAT(result.err, HasSubstr("contests form"));
}
#endif  // CANVASS_BINARY

}  // namespace
}  // namespace canvass
