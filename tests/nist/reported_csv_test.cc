// Reported figures as a CSV table (engine/io/nist/reported_csv.h): NIST gen-01's reported
// figures written as a CSV and read back exactly, reconciled against its cast vote records;
// every error located by its line; quoting, CRLF and byte-order marks; and, end to end,
// `canvass reconcile --reported FILE.csv`.
#include "engine/io/nist/reported_csv.h"

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "engine/election/contests.h"
#include "engine/ingest/cvr_job.h"
#include "engine/io/nist/err_json.h"
#include "engine/reconcile/cell_reconciler.h"
#include "engine/report/contest_report.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#ifdef CANVASS_BINARY
#include "tests/testing/run_canvass.h"
#endif

namespace canvass {
namespace {

using ::canvass::testing::IsOk;
using ::canvass::testing::StatusIs;
using ::testing::HasSubstr;

std::string Gen01(const std::string& kind) {
  return absl::StrCat(CANVASS_SOURCE_DIR, "/datasets/nist-cdf/gen-01/", kind, "-gen-01.json");
}

// A CSV field, quoted when it must be (RFC 4180).
std::string Field(absl::string_view text) {
  if (text.find_first_of(",\"\r\n") == absl::string_view::npos) return std::string(text);
  return absl::StrCat("\"", absl::StrReplaceAll(text, {{"\"", "\"\""}}), "\"");
}

// The CSV of `election`'s reported cells, one row each, in their order.
std::string CsvOfReported(const ContestElection& election) {
  std::string out = "unit,contest,selection,count\n";
  for (const ReportedCell& r : election.reported) {
    absl::StrAppend(&out, Field(election.units[r.unit].id), ",",
                    Field(CellContestId(election, r.cell)), ",",
                    Field(CellSelectionName(election, r.cell)), ",", r.count, "\n");
  }
  return out;
}

std::vector<std::tuple<uint32_t, uint32_t, uint64_t>> Cells(const ContestElection& election) {
  std::vector<std::tuple<uint32_t, uint32_t, uint64_t>> out;
  for (const ReportedCell& r : election.reported) out.emplace_back(r.unit, r.cell, r.count);
  return out;
}

uint32_t Sel(const ContestElection& e, absl::string_view contest, absl::string_view selection) {
  const uint32_t c = *e.FindContest(contest);
  return e.SelectionCell(c, *e.FindSelection(c, selection));
}
uint32_t Fig(const ContestElection& e, absl::string_view contest, ContestFigure figure) {
  return e.FigureCell(*e.FindContest(contest), figure);
}

// state <- {p1, p2}. Contests: gov (a, b), measure (selection ids that need quoting, and
// one that equals a reserved name).
ContestElection SmallElection() {
  ContestElection election;
  election.id = "small";
  election.scope_id = "state";
  election.units = {{"state", "State", "state", {"p1", "p2"}},
                    {"p1", "", "precinct", {}},
                    {"p2", "", "precinct", {}}};
  election.contests = {{"gov", "Governor", 1, ContestKind::kPlurality, {{"a", "A"}, {"b", "B"}}},
                       {"measure",
                        "Measure",
                        1,
                        ContestKind::kPlurality,
                        {{"yes, \"really\"", "Yes"}, {"no\nway", "No"}, {"overvotes", "Over"}}}};
  EXPECT_THAT(election.Finalize("small"), IsOk());
  return election;
}

constexpr absl::string_view kHeader = "unit,contest,selection,count\n";

// Tables published with the voting system's own codes and names: a unit by its external
// id (the upper of two units that share one), a contest and a selection by name; a name or
// code two of them share is an error naming both.
TEST(ReportedCsvTest, UnitsByExternalIdAndContestsAndSelectionsByName) {
  ContestElection e = SmallElection();
  e.units = {{"state", "State", "state", {"precinct-1", "precinct-2"}, ""},
             {"precinct-1", "", "precinct", {"portion-1"}, "01-600"},
             {"precinct-2", "", "precinct", {}, "01-610"},
             {"portion-1", "", "precinct-portion", {}, "01-600"}};
  ASSERT_THAT(e.Finalize("small"), IsOk());
  ASSERT_THAT(ReadReportedFiguresCsv("t.csv",
                                     absl::StrCat(kHeader, "01-600,Governor,B,7\n",
                                                  "01-610,gov,a,2\n", "portion-1,gov,A,1\n"),
                                     &e),
              IsOk());
  EXPECT_EQ(e.Reported(*e.FindUnit("precinct-1"), Sel(e, "gov", "b")), 7u);
  EXPECT_EQ(e.Reported(*e.FindUnit("precinct-2"), Sel(e, "gov", "a")), 2u);
  EXPECT_EQ(e.Reported(*e.FindUnit("portion-1"), Sel(e, "gov", "a")), 1u);
  EXPECT_EQ(e.Reported(*e.FindUnit("portion-1"), Sel(e, "gov", "b")), std::nullopt);

  ContestElection twins = SmallElection();
  twins.units[1].external_id = "007";
  twins.units[2].external_id = "007";
  ASSERT_THAT(twins.Finalize("small"), IsOk());
  EXPECT_THAT(ReadReportedFiguresCsv("t.csv", absl::StrCat(kHeader, "007,gov,a,1\n"), &twins),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("t.csv: line 2: reporting unit '007' is the external id of both "
                                 "'p1' and 'p2'; give the unit id")));
  ContestElection names = SmallElection();
  names.contests[0].selections[1].name = "A";
  ASSERT_THAT(names.Finalize("small"), IsOk());
  EXPECT_THAT(ReadReportedFiguresCsv("t.csv", absl::StrCat(kHeader, "p1,Governor,A,1\n"), &names),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("line 2: selection 'A' is the name of both 'a' and 'b'; give the "
                                 "selection id")));
}

// ---- NIST gen-01 ----

TEST(ReportedCsvTest, Gen01FiguresReadBackExactlyAndReconcile) {
  absl::StatusOr<ContestElection> e = LoadResultsReportJson(Gen01("err"));
  ASSERT_THAT(e.status(), IsOk());
  ASSERT_FALSE(e->reported.empty());
  const auto expected = Cells(*e);
  const std::string csv = CsvOfReported(*e);
  // Selections and figures (gen-01's ERR reports no ballot counts: see below).
  EXPECT_THAT(csv, HasSubstr("\nps-2a,cc-president,cs-president-gb,3\n"));
  EXPECT_THAT(csv, HasSubstr("\nps-2a,cc-president,overvotes,0\n"));
  EXPECT_THAT(csv, HasSubstr("\nru-county-1,spc-1,undervotes,28\n"));

  ASSERT_THAT(ReadReportedFiguresCsv("gen-01.csv", csv, &*e), IsOk());
  EXPECT_EQ(Cells(*e), expected);
  EXPECT_TRUE(e->reported_by_type.empty());

  absl::StatusOr<CvrJobResult> job = ReadCvrFiles(*e, {Gen01("cvr")}, {});
  ASSERT_THAT(job.status(), IsOk());
  const Reconciliation2 rec = ReconcileCells(*e, job->tally, {});
  EXPECT_TRUE(rec.match);
  EXPECT_EQ(rec.cells_compared, 320u);
  EXPECT_EQ(rec.cells_mismatched, 0u);
  EXPECT_TRUE(rec.mismatches.empty());
}

TEST(ReportedCsvTest, Gen01ReadAgainstTheRecordsOwnElection) {
  absl::StatusOr<ContestElection> err = LoadResultsReportJson(Gen01("err"));
  ASSERT_THAT(err.status(), IsOk());
  const std::string csv = CsvOfReported(*err);
  absl::StatusOr<ContestElection> e = ElectionOfCvrReports({Gen01("cvr")});
  ASSERT_THAT(e.status(), IsOk());
  EXPECT_TRUE(e->reported.empty());
  ASSERT_THAT(ReadReportedFiguresCsv("gen-01.csv", csv, &*e), IsOk());
  EXPECT_EQ(e->reported.size(), err->reported.size());
  absl::StatusOr<CvrJobResult> job = ReadCvrFiles(*e, {Gen01("cvr")}, {});
  ASSERT_THAT(job.status(), IsOk());
  const Reconciliation2 rec = ReconcileCells(*e, job->tally, {});
  EXPECT_TRUE(rec.match);
  EXPECT_EQ(rec.cells_compared, 320u);
}

TEST(ReportedCsvTest, Gen01OneChangedCountIsOneMismatch) {
  absl::StatusOr<ContestElection> e = LoadResultsReportJson(Gen01("err"));
  ASSERT_THAT(e.status(), IsOk());
  std::string csv = CsvOfReported(*e);
  // Precinct split 2a reported 3 votes for cs-president-gb; the CSV says 5.
  const std::string row = "\nps-2a,cc-president,cs-president-gb,3\n";
  ASSERT_THAT(csv, HasSubstr(row));
  csv = absl::StrReplaceAll(csv, {{row, "\nps-2a,cc-president,cs-president-gb,5\n"}});
  ASSERT_THAT(ReadReportedFiguresCsv("gen-01.csv", csv, &*e), IsOk());
  absl::StatusOr<CvrJobResult> job = ReadCvrFiles(*e, {Gen01("cvr")}, {});
  ASSERT_THAT(job.status(), IsOk());
  const Reconciliation2 rec = ReconcileCells(*e, job->tally, {});
  EXPECT_FALSE(rec.match);
  EXPECT_EQ(rec.cells_compared, 320u);
  EXPECT_EQ(rec.cells_mismatched, 1u);
  ASSERT_EQ(rec.mismatches.size(), 1u);
  EXPECT_EQ(rec.mismatches[0].unit, *e->FindUnit("ps-2a"));
  EXPECT_EQ(rec.mismatches[0].cell, Sel(*e, "cc-president", "cs-president-gb"));
  EXPECT_EQ(rec.mismatches[0].counted, 3u);
  EXPECT_EQ(rec.mismatches[0].reported, 5u);
  EXPECT_EQ(rec.mismatches[0].delta, -2);
}

TEST(ReportedCsvTest, Gen01BallotCountsAddedToTheCsvAreReconciled) {
  absl::StatusOr<ContestElection> e = LoadResultsReportJson(Gen01("err"));
  ASSERT_THAT(e.status(), IsOk());
  // 40 ballots were cast in the county, 10 of them in precinct split 2a for president.
  const std::string csv = absl::StrCat(CsvOfReported(*e),
                                       "ru-county-1,,ballots_cast,40\n"
                                       "ps-2a,cc-president,ballots,10\n");
  ASSERT_THAT(ReadReportedFiguresCsv("gen-01.csv", csv, &*e), IsOk());
  EXPECT_EQ(e->Reported(e->scope(), ContestElection::kBallotsCastCell), 40u);
  absl::StatusOr<CvrJobResult> job = ReadCvrFiles(*e, {Gen01("cvr")}, {});
  ASSERT_THAT(job.status(), IsOk());
  const Reconciliation2 rec = ReconcileCells(*e, job->tally, {});
  EXPECT_TRUE(rec.match);
  EXPECT_EQ(rec.cells_compared, 322u);

  // And 41 reported cast is the one mismatch, at the county's ballots cast.
  const std::string wrong = absl::StrReplaceAll(
      csv, {{"ru-county-1,,ballots_cast,40\n", "ru-county-1,,ballots_cast,41\n"}});
  ASSERT_THAT(ReadReportedFiguresCsv("gen-01.csv", wrong, &*e), IsOk());
  const Reconciliation2 off = ReconcileCells(*e, job->tally, {});
  EXPECT_FALSE(off.match);
  EXPECT_EQ(off.cells_compared, 322u);
  ASSERT_EQ(off.mismatches.size(), 1u);
  EXPECT_EQ(off.mismatches[0].unit, *e->FindUnit("ru-county-1"));
  EXPECT_EQ(off.mismatches[0].cell, ContestElection::kBallotsCastCell);
  EXPECT_EQ(off.mismatches[0].counted, 40u);
  EXPECT_EQ(off.mismatches[0].reported, 41u);
  EXPECT_EQ(off.mismatches[0].delta, -1);
}

// ---- The grammar ----

TEST(ReportedCsvTest, ReadsEveryKindOfCell) {
  ContestElection e = SmallElection();
  const std::string csv = absl::StrCat(kHeader,
                                       "p1,gov,a,7\n"
                                       "p1,gov,overvotes,1\n"
                                       "p1,gov,undervotes,2\n"
                                       "p1,gov,ballots,10\n"
                                       "p1,,ballots_cast,12\n"
                                       "state,,ballots_cast,30\n");
  ASSERT_THAT(ReadReportedFiguresCsv("t.csv", csv, &e), IsOk());
  const uint32_t p1 = *e.FindUnit("p1");
  EXPECT_EQ(e.Reported(p1, Sel(e, "gov", "a")), 7u);
  EXPECT_EQ(e.Reported(p1, Fig(e, "gov", ContestFigure::kOvervotes)), 1u);
  EXPECT_EQ(e.Reported(p1, Fig(e, "gov", ContestFigure::kUndervotes)), 2u);
  EXPECT_EQ(e.Reported(p1, Fig(e, "gov", ContestFigure::kBallots)), 10u);
  EXPECT_EQ(e.Reported(p1, ContestElection::kBallotsCastCell), 12u);
  EXPECT_EQ(e.Reported(e.scope(), ContestElection::kBallotsCastCell), 30u);
  EXPECT_EQ(e.Reported(p1, Sel(e, "gov", "b")), std::nullopt);
  EXPECT_EQ(e.reported.size(), 6u);
  // Sorted by Finalize.
  EXPECT_EQ(e.reported.front().unit, e.scope());
}

TEST(ReportedCsvTest, BallotsCastRow) {
  ContestElection e = SmallElection();
  ASSERT_THAT(ReadReportedFiguresCsv("t.csv", absl::StrCat(kHeader, "p2,,ballots_cast,0\n"), &e),
              IsOk());
  ASSERT_EQ(e.reported.size(), 1u);
  EXPECT_EQ(e.reported[0].unit, *e.FindUnit("p2"));
  EXPECT_EQ(e.reported[0].cell, ContestElection::kBallotsCastCell);
  EXPECT_EQ(e.reported[0].count, 0u);
  // And as a report names it.
  EXPECT_EQ(CellSelectionName(e, e.reported[0].cell), "ballots_cast");
  EXPECT_EQ(CellContestId(e, e.reported[0].cell), "");
}

TEST(ReportedCsvTest, ASelectionIdEqualToAReservedNameIsTheSelection) {
  ContestElection e = SmallElection();
  // measure has a selection "overvotes"; its figure cannot be given then, but its
  // undervotes can.
  ASSERT_THAT(
      ReadReportedFiguresCsv(
          "t.csv", absl::StrCat(kHeader, "p1,measure,overvotes,4\np1,measure,undervotes,5\n"), &e),
      IsOk());
  const uint32_t p1 = *e.FindUnit("p1");
  EXPECT_EQ(e.Reported(p1, Sel(e, "measure", "overvotes")), 4u);
  EXPECT_EQ(e.Reported(p1, Fig(e, "measure", ContestFigure::kOvervotes)), std::nullopt);
  EXPECT_EQ(e.Reported(p1, Fig(e, "measure", ContestFigure::kUndervotes)), 5u);
}

TEST(ReportedCsvTest, QuotingCrlfAndByteOrderMarkAreAccepted) {
  ContestElection e = SmallElection();
  const std::string csv =
      "\xEF\xBB\xBF\"unit\",\"contest\",selection,\"count\"\r\n"
      "\"p1\",\"gov\",\"a\",\"7\"\r\n"
      "\r\n"
      "p1,measure,\"yes, \"\"really\"\"\",3\r\n"
      "\n"
      "p1,measure,\"no\nway\",2\r\n"
      "p2,gov,b,9";  // no line break at the end
  ASSERT_THAT(ReadReportedFiguresCsv("t.csv", csv, &e), IsOk());
  const uint32_t p1 = *e.FindUnit("p1");
  EXPECT_EQ(e.Reported(p1, Sel(e, "gov", "a")), 7u);
  EXPECT_EQ(e.Reported(p1, Sel(e, "measure", "yes, \"really\"")), 3u);
  EXPECT_EQ(e.Reported(p1, Sel(e, "measure", "no\nway")), 2u);
  EXPECT_EQ(e.Reported(*e.FindUnit("p2"), Sel(e, "gov", "b")), 9u);
  EXPECT_EQ(e.reported.size(), 4u);
}

TEST(ReportedCsvTest, LargestCountAndLeadingZeros) {
  ContestElection e = SmallElection();
  ASSERT_THAT(
      ReadReportedFiguresCsv(
          "t.csv", absl::StrCat(kHeader, "p1,gov,a,9223372036854775807\np1,gov,b,007\n"), &e),
      IsOk());
  EXPECT_EQ(e.Reported(*e.FindUnit("p1"), Sel(e, "gov", "a")), uint64_t{9223372036854775807u});
  EXPECT_EQ(e.Reported(*e.FindUnit("p1"), Sel(e, "gov", "b")), 7u);
}

TEST(ReportedCsvTest, HeaderOnlyIsNoFigures) {
  ContestElection e = SmallElection();
  EXPECT_THAT(ReadReportedFiguresCsv("t.csv", "unit,contest,selection,count", &e), IsOk());
  EXPECT_TRUE(e.reported.empty());
}

TEST(ReportedCsvTest, ReplacesReportedAndClearsTheTypedCounts) {
  ContestElection e = SmallElection();
  const uint32_t p1 = *e.FindUnit("p1");
  const uint32_t p2 = *e.FindUnit("p2");
  e.reported = {{p1, Sel(e, "gov", "a"), 100}, {p2, Sel(e, "gov", "b"), 200}};
  e.reported_by_type = {{p1, Sel(e, "gov", "a"), "early", 50}};
  ASSERT_THAT(e.Finalize("small"), IsOk());
  ASSERT_THAT(ReadReportedFiguresCsv("t.csv", absl::StrCat(kHeader, "p1,gov,b,3\n"), &e), IsOk());
  EXPECT_EQ(Cells(e),
            (std::vector<std::tuple<uint32_t, uint32_t, uint64_t>>{{p1, Sel(e, "gov", "b"), 3}}));
  EXPECT_TRUE(e.reported_by_type.empty());
}

// ---- Errors: each names the file, the line and what was expected ----

struct ErrorCase {
  std::string csv;
  std::string message;  // the whole message after "t.csv: "
};

TEST(ReportedCsvTest, EveryErrorNamesItsLine) {
  const std::string h(kHeader);
  const std::string expected_count = "expected a count (a decimal integer 0 to 2^63 - 1), got ";
  const std::vector<ErrorCase> cases = {
      {"", "line 1: expected the header \"unit,contest,selection,count\", got an empty file"},
      {"\xEF\xBB\xBF",
       "line 1: expected the header \"unit,contest,selection,count\", got an empty file"},
      {"\nunit,contest,selection,count\n",
       "line 1: expected the header \"unit,contest,selection,count\", got \"\""},
      {"unit,contest,selection,counted,reported,delta\r\nprec,c,s,1,1,0\r\n",
       "line 1: expected the header \"unit,contest,selection,count\", got "
       "\"unit,contest,selection,counted,reported,delta\""},
      {"station,seq,choice\n",
       "line 1: expected the header \"unit,contest,selection,count\", got \"station,seq,choice\""},
      {"Unit,Contest,Selection,Count\n",
       "line 1: expected the header \"unit,contest,selection,count\", got "
       "\"Unit,Contest,Selection,Count\""},
      {h + "p1,gov,a,1\n\np1,gov,b\n",
       "line 4: expected 4 fields (unit,contest,selection,count), got 3"},
      {h + "p1,gov,a,1,\n", "line 2: expected 4 fields (unit,contest,selection,count), got 5"},
      {h + "\n\n\n", ""},  // blank lines only: fine
      {h + "p1,gov,a,1\np9,gov,a,1\n",
       "line 3: unknown reporting unit 'p9' (expected a unit id or external id of the election)"},
      {h + ",gov,a,1\n", "line 2: expected a reporting unit id, got \"\""},
      {h + "p1,mayor,a,1\n",
       "line 2: unknown contest 'mayor' (expected a contest id or name of the election)"},
      {h + "p1,gov,c,1\n",
       "line 2: unknown selection 'c' of contest 'gov' (expected one of its selection ids or "
       "names, or overvotes, undervotes, ballots)"},
      {h + "p1,gov,ballots_cast,1\n",
       "line 2: contest 'gov' has no selection 'ballots_cast' (a unit's ballots cast is a row "
       "with an empty contest)"},
      {h + "p1,,ballots,1\n",
       "line 2: a row with no contest is the unit's ballots cast: expected selection "
       "'ballots_cast', got 'ballots'"},
      {h + "p1,gov,a,\n", "line 2: " + expected_count + "''"},
      {h + "p1,gov,a,-1\n", "line 2: " + expected_count + "'-1'"},
      {h + "p1,gov,a,+1\n", "line 2: " + expected_count + "'+1'"},
      {h + "p1,gov,a, 1\n", "line 2: " + expected_count + "' 1'"},
      {h + "p1,gov,a,1.0\n", "line 2: " + expected_count + "'1.0'"},
      {h + "p1,gov,a,0x10\n", "line 2: " + expected_count + "'0x10'"},
      {h + "p1,gov,a,9223372036854775808\n", "line 2: " + expected_count + "'9223372036854775808'"},
      {h + "p1,gov,a,18446744073709551616\n",
       "line 2: " + expected_count + "'18446744073709551616'"},
      {h + "p1,gov,a,1\np1,gov,b,2\np1,gov,a,3\n",
       "line 4: unit 'p1', contest 'gov' selection 'a' is given twice: on line 2 and on line 4"},
      {h + "p2,,ballots_cast,1\r\n\r\n\"p2\",\"\",ballots_cast,1\r\n",
       "line 4: unit 'p2' ballots_cast is given twice: on line 2 and on line 4"},
      // A quoted line break makes the row two lines long: the next row is on line 4.
      {h + "p1,measure,\"no\nway\",1\np1,measure,\"no\nway\",2\n",
       "line 4: unit 'p1', contest 'measure' selection 'no\\x0away' is given twice: on line 2 "
       "and on line 4"},
      {h + "p1,gov,\"a,1\n", "line 2: a quoted field is not closed (expected a closing '\"')"},
      {h + "p1,gov,\"a\"b,1\n", "line 2: expected ',' or the end of the line after a closing '\"'"},
      {h + "p1,\"go\nv\"x,a,1\n",
       "line 3: expected ',' or the end of the line after a closing '\"'"},
      {h + "p1,gov,a\"b,1\n",
       "line 2: a '\"' inside an unquoted field (quote the whole field and double the '\"')"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.csv);
    ContestElection e = SmallElection();
    const uint32_t p1 = *e.FindUnit("p1");
    e.reported = {{p1, Sel(e, "gov", "a"), 100}};
    e.reported_by_type = {{p1, Sel(e, "gov", "a"), "early", 50}};
    ASSERT_THAT(e.Finalize("small"), IsOk());
    const absl::Status status = ReadReportedFiguresCsv("t.csv", c.csv, &e);
    if (c.message.empty()) {
      EXPECT_THAT(status, IsOk());
      continue;
    }
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                                 ::testing::Eq(absl::StrCat("t.csv: ", c.message))));
    // Left as it was.
    EXPECT_EQ(
        Cells(e),
        (std::vector<std::tuple<uint32_t, uint32_t, uint64_t>>{{p1, Sel(e, "gov", "a"), 100}}));
    EXPECT_EQ(e.reported_by_type.size(), 1u);
  }
}

TEST(ReportedCsvTest, LooksLikeByTheFirstLine) {
  EXPECT_TRUE(LooksLikeReportedFiguresCsv("unit,contest,selection,count\n"));
  EXPECT_TRUE(LooksLikeReportedFiguresCsv("unit,contest,selection,count\r\np1,c,s,1\r\n"));
  EXPECT_TRUE(LooksLikeReportedFiguresCsv("\xEF\xBB\xBFunit,contest,selection,count\n"));
  EXPECT_TRUE(LooksLikeReportedFiguresCsv("\"unit\",\"contest\",\"selection\",\"count\"\n"));
  EXPECT_TRUE(LooksLikeReportedFiguresCsv("unit,contest,selection,count"));
  EXPECT_FALSE(LooksLikeReportedFiguresCsv(""));
  EXPECT_FALSE(LooksLikeReportedFiguresCsv("\nunit,contest,selection,count\n"));
  EXPECT_FALSE(LooksLikeReportedFiguresCsv("unit,contest,selection,counted\n"));
  EXPECT_FALSE(LooksLikeReportedFiguresCsv("unit,contest,selection,counted,reported,delta\n"));
  EXPECT_FALSE(LooksLikeReportedFiguresCsv("unit,contest,selection,count,\n"));
  EXPECT_FALSE(LooksLikeReportedFiguresCsv(" unit,contest,selection,count\n"));
  EXPECT_FALSE(LooksLikeReportedFiguresCsv("station,seq,choice\n"));
  EXPECT_FALSE(LooksLikeReportedFiguresCsv("{\"Election\": []}"));
}

// ---- End to end: canvass reconcile --reported FILE.csv ----

#ifdef CANVASS_BINARY
using ::canvass::testing::Describe;
using ::canvass::testing::kExitInputError;
using ::canvass::testing::kExitMatch;
using ::canvass::testing::kExitMismatch;
using ::canvass::testing::RunCanvass;
using ::canvass::testing::RunResult;
using ::canvass::testing::TempDir;
using ::canvass::testing::WriteFileBytes;

class ReportedCsvCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<ContestElection> e = LoadResultsReportJson(Gen01("err"));
    ASSERT_THAT(e.status(), IsOk());
    csv_ = CsvOfReported(*e);
  }
  std::string Write(absl::string_view name, absl::string_view text) {
    const std::string path = dir_.File(name);
    WriteFileBytes(path, text);
    return path;
  }

  TempDir dir_;
  std::string csv_;
};

TEST_F(ReportedCsvCliTest, ReconcilesAgainstTheRecordsOwnElection) {
  // The file's name says nothing: it is recognised by its content.
  const std::string reported = Write("figures.dat", csv_);
  const RunResult result = RunCanvass({"reconcile", "--reported", reported, Gen01("cvr")});
  EXPECT_EQ(result.exit_code, kExitMatch) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr("cells compared 320, mismatched 0"));
  EXPECT_THAT(result.out, HasSubstr("verdict: match"));
}

TEST_F(ReportedCsvCliTest, ReconcilesAgainstTheElectionOfAnErrFile) {
  const std::string reported = Write("figures.csv", csv_);
  const RunResult result = RunCanvass({"reconcile", "--reported", reported, "--election",
                                       Gen01("err"), "--format", "json", Gen01("cvr")});
  EXPECT_EQ(result.exit_code, kExitMatch) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr("\"verdict\": \"match\""));
}

TEST_F(ReportedCsvCliTest, AChangedCountIsAMismatch) {
  const std::string reported = Write(
      "figures.csv", absl::StrReplaceAll(csv_, {{"\nps-2a,cc-president,cs-president-gb,3\n",
                                                 "\nps-2a,cc-president,cs-president-gb,5\n"}}));
  const RunResult result = RunCanvass(
      {"reconcile", "--reported", reported, "--format", "csv", "--by", "unit", Gen01("cvr")});
  EXPECT_EQ(result.exit_code, kExitMismatch) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr("ps-2a,cc-president,cs-president-gb,3,5,-2\n"));
}

TEST_F(ReportedCsvCliTest, ABadRowIsAnInputError) {
  const std::string reported =
      Write("figures.csv", absl::StrCat(csv_, "nowhere,,ballots_cast,1\n"));
  const RunResult result = RunCanvass({"reconcile", "--reported", reported, Gen01("cvr")});
  EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr(absl::StrCat(reported, ": line ")));
  EXPECT_THAT(result.err, HasSubstr("unknown reporting unit 'nowhere'"));
}

TEST_F(ReportedCsvCliTest, AFileThatIsNeitherSaysWhatWasExpected) {
  const std::string reported = Write("figures.csv", "unit,contest,selection,counted\np,c,s,1\n");
  const RunResult result = RunCanvass({"reconcile", "--reported", reported, Gen01("cvr")});
  EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("NIST ERR JSON results report"));
  EXPECT_THAT(result.err, HasSubstr("\"unit,contest,selection,count\""));
}
#endif  // CANVASS_BINARY

}  // namespace
}  // namespace canvass
