// Tests for the report renderings (text, JSON, CSV) of a hand-made tally and
// reconciliation, and for the --format and --by flag parsers.
#include "engine/report/report.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/elections.h"
#include "tests/testing/status_matchers.h"

namespace canvass {
namespace {

using canvass::testing::StatusIs;
using ::testing::AllOf;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

using Json = nlohmann::json;

// The reference figures on a three-station roster in two countries (S1 and S3 in FR,
// S2 in DE), with room for the reported figures.
Election MakeElection(bool synthetic_roster) {
  return testing::ElectionBuilder("report-test", "Report test")
      .Source("unit test")
      .AddChoice("JAL", "candidate", "Saeed Jalili")
      .AddChoice("PEZ", "candidate", "Masoud Pezeshkian")
      .AddChoice("INV", "invalid", "invalid")
      .Reported(88325, {{"JAL", 50206}, {"PEZ", 36169}, {"INV", 1950}})
      .AddStation("S1", "FR", 50000)
      .AddStation("S2", "DE", 30000)
      .AddStation("S3", "FR", 20000)
      .SyntheticRoster(synthetic_roster)
      .Build();
}

// Counted per station (JAL, PEZ, INV):
//   S1 25000 18000 1000 | S2 15206 10000 500 | S3 10000 8169 449
// Totals JAL 50206, PEZ 36169, INV 1949, cast 88324; 2 malformed and 3 unknown-station
// records besides, so 88329 records read.
Tally MakeTally() {
  Tally tally(3, 3);
  tally.counted = {25000, 18000, 1000, 15206, 10000, 500, 10000, 8169, 449};
  tally.station_records = {44000, 25706, 18618};
  tally.rejected[static_cast<int>(RejectReason::kMalformed)] = 2;
  tally.rejected[static_cast<int>(RejectReason::kUnknownStation)] = 3;
  tally.records_read = 88329;
  return tally;
}

FigureComparison Line(uint64_t counted, uint64_t reported) {
  FigureComparison line;
  line.counted = counted;
  line.reported = reported;
  line.delta = static_cast<int64_t>(counted) - static_cast<int64_t>(reported);
  return line;
}

// The reconciliation of MakeTally() against the reported figures, filled in by hand:
// INV and cast are one short, so the verdict is mismatch.
Reconciliation MakeReconciliation() {
  Reconciliation rec;
  rec.choices = {Line(50206, 50206), Line(36169, 36169), Line(1949, 1950)};
  rec.cast = Line(88324, 88325);
  rec.reported_consistent = true;
  rec.reported_lead = Lead{0, 14037};
  rec.counted_lead = Lead{0, 14037};
  rec.absolute_delta_sum = 1;
  rec.rejected_records = 5;
  rec.outcome_at_risk = false;
  rec.stations_reporting = 3;
  rec.stations_expected = 3;
  rec.tolerance = 0;
  rec.match = false;
  return rec;
}

class ReportTest : public ::testing::Test {
 protected:
  ReportInput Input(Breakdown breakdown = Breakdown::kNone) const {
    ReportInput input;
    input.command = "reconcile";
    input.election = &election_;
    input.tally = &tally_;
    input.reconciliation = &reconciliation_;
    input.breakdown = breakdown;
    return input;
  }

  Json RenderJson(const ReportInput& input) const {
    const std::string text = RenderReport(input, ReportFormat::kJson);
    Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(json.is_discarded()) << text;
    return json;
  }

  Election election_ = MakeElection(/*synthetic_roster=*/false);
  Election synthetic_election_ = MakeElection(/*synthetic_roster=*/true);
  Tally tally_ = MakeTally();
  Reconciliation reconciliation_ = MakeReconciliation();
};

// ---- JSON ----

TEST_F(ReportTest, JsonHasEveryRequiredKeyWithExactValues) {
  const Json report = RenderJson(Input());
  EXPECT_EQ(report["election"], "report-test");
  EXPECT_EQ(report["command"], "reconcile");
  EXPECT_EQ(report["synthetic"], false);
  EXPECT_FALSE(report.contains("synthetic_note"));
  EXPECT_FALSE(report.contains("generation"));

  EXPECT_EQ(report["records"]["read"], 88329);
  EXPECT_EQ(report["records"]["counted"], 88324);
  const Json expected_rejected = {{"malformed", 2}, {"unknown_station", 3}, {"unknown_choice", 0},
                                  {"bad_seq", 0},   {"duplicate", 0},       {"conflict", 0}};
  EXPECT_EQ(report["records"]["rejected"], expected_rejected);

  const Json expected_totals = {{"JAL", 50206}, {"PEZ", 36169}, {"INV", 1949}, {"cast", 88324}};
  EXPECT_EQ(report["totals"], expected_totals);
  const Json expected_reported = {{"JAL", 50206}, {"PEZ", 36169}, {"INV", 1950}, {"cast", 88325}};
  EXPECT_EQ(report["reported"], expected_reported);
  const Json expected_delta = {{"JAL", 0}, {"PEZ", 0}, {"INV", -1}, {"cast", -1}};
  EXPECT_EQ(report["delta"], expected_delta);

  EXPECT_EQ(report["reported_consistent"], true);
  EXPECT_EQ(report["tolerance"], 0);
  EXPECT_EQ(report["verdict"], "mismatch");
  const Json expected_leader = {{"reported", "JAL"}, {"counted", "JAL"}};
  EXPECT_EQ(report["leader"], expected_leader);
  const Json expected_margin = {{"reported", 14037}, {"counted", 14037}};
  EXPECT_EQ(report["margin"], expected_margin);
  EXPECT_EQ(report["outcome_at_risk"], false);
  const Json expected_stations = {{"reporting", 3}, {"expected", 3}};
  EXPECT_EQ(report["stations_reporting"], expected_stations);
  EXPECT_FALSE(report.contains("stations"));
  EXPECT_FALSE(report.contains("countries"));
}

TEST_F(ReportTest, JsonConservesRecords) {
  const Json report = RenderJson(Input());
  uint64_t rejected = 0;
  for (const auto& [reason, count] : report["records"]["rejected"].items()) {
    rejected += count.get<uint64_t>();
  }
  EXPECT_EQ(report["records"]["read"].get<uint64_t>(),
            report["records"]["counted"].get<uint64_t>() + rejected);
  EXPECT_EQ(report["totals"]["cast"], report["records"]["counted"]);
}

TEST_F(ReportTest, JsonVerdictMatchAndLeadersFollowTheReconciliation) {
  reconciliation_.match = true;
  reconciliation_.outcome_at_risk = true;
  reconciliation_.counted_lead = Lead{1, 7};
  reconciliation_.tolerance = 1;
  const Json report = RenderJson(Input());
  EXPECT_EQ(report["verdict"], "match");
  EXPECT_EQ(report["outcome_at_risk"], true);
  EXPECT_EQ(report["leader"]["counted"], "PEZ");
  EXPECT_EQ(report["margin"]["counted"], 7);
  EXPECT_EQ(report["tolerance"], 1);
}

TEST_F(ReportTest, JsonUnreportedFigureIsNull) {
  reconciliation_.choices[2].reported = std::nullopt;
  reconciliation_.choices[2].delta = std::nullopt;
  reconciliation_.reported_consistent = false;
  const Json report = RenderJson(Input());
  ASSERT_TRUE(report["reported"].contains("INV"));
  EXPECT_TRUE(report["reported"]["INV"].is_null());
  EXPECT_TRUE(report["delta"]["INV"].is_null());
  EXPECT_EQ(report["reported_consistent"], false);
}

TEST_F(ReportTest, JsonByStation) {
  const Json report = RenderJson(Input(Breakdown::kStation));
  ASSERT_TRUE(report["stations"].is_array());
  EXPECT_FALSE(report.contains("countries"));
  const Json expected = Json::parse(R"([
    {"station": "S1", "country": "FR", "records": 44000,
     "counted": {"JAL": 25000, "PEZ": 18000, "INV": 1000, "cast": 44000}},
    {"station": "S2", "country": "DE", "records": 25706,
     "counted": {"JAL": 15206, "PEZ": 10000, "INV": 500, "cast": 25706}},
    {"station": "S3", "country": "FR", "records": 18618,
     "counted": {"JAL": 10000, "PEZ": 8169, "INV": 449, "cast": 18618}}
  ])");
  EXPECT_EQ(report["stations"], expected);
}

TEST_F(ReportTest, JsonByCountry) {
  const Json report = RenderJson(Input(Breakdown::kCountry));
  ASSERT_TRUE(report["countries"].is_array());
  EXPECT_FALSE(report.contains("stations"));
  // Countries sorted: DE (S2), then FR (S1 + S3).
  const Json expected = Json::parse(R"([
    {"country": "DE", "stations": 1, "records": 25706,
     "counted": {"JAL": 15206, "PEZ": 10000, "INV": 500, "cast": 25706}},
    {"country": "FR", "stations": 2, "records": 62618,
     "counted": {"JAL": 35000, "PEZ": 26169, "INV": 1449, "cast": 62618}}
  ])");
  EXPECT_EQ(report["countries"], expected);
}

TEST_F(ReportTest, JsonBreakdownRowsSumToTheNationalTotals) {
  for (Breakdown breakdown : {Breakdown::kStation, Breakdown::kCountry}) {
    const Json report = RenderJson(Input(breakdown));
    const Json& rows = report[breakdown == Breakdown::kStation ? "stations" : "countries"];
    for (const std::string key : {"JAL", "PEZ", "INV", "cast"}) {
      uint64_t sum = 0;
      for (const Json& row : rows) sum += row["counted"][key].get<uint64_t>();
      EXPECT_EQ(sum, report["totals"][key].get<uint64_t>()) << key;
    }
  }
}

TEST_F(ReportTest, JsonSyntheticRosterSaysSo) {
  ReportInput input = Input();
  input.election = &synthetic_election_;
  const Json report = RenderJson(input);
  EXPECT_EQ(report["synthetic"], true);
  ASSERT_TRUE(report.contains("synthetic_note"));
  EXPECT_THAT(report["synthetic_note"].get<std::string>(), HasSubstr("synthetic"));
  EXPECT_FALSE(report.contains("generation"));
}

TEST_F(ReportTest, JsonGeneratedBallotsAreSyntheticEvenOnARealRoster) {
  ReportInput input = Input();
  input.command = "run";
  input.generation = GenerationInfo{42, 3};
  const Json report = RenderJson(input);
  EXPECT_EQ(report["synthetic"], true);
  EXPECT_TRUE(report.contains("synthetic_note"));
  const Json expected_generation = {{"seed", 42}, {"scale", 3}};
  EXPECT_EQ(report["generation"], expected_generation);
  EXPECT_EQ(report["command"], "run");
}

TEST_F(ReportTest, JsonForAggregateHasNoReconciliation) {
  ReportInput input = Input();
  input.command = "aggregate";
  input.reconciliation = nullptr;
  const Json report = RenderJson(input);
  EXPECT_EQ(report["totals"]["cast"], 88324);
  for (const char* key : {"reported", "delta", "verdict", "leader", "margin", "outcome_at_risk"}) {
    EXPECT_FALSE(report.contains(key)) << key;
  }
}

TEST_F(ReportTest, JsonIsDeterministic) {
  EXPECT_EQ(RenderReport(Input(Breakdown::kCountry), ReportFormat::kJson),
            RenderReport(Input(Breakdown::kCountry), ReportFormat::kJson));
}

// ---- text ----

TEST_F(ReportTest, TextEndsWithMismatch) {
  const std::string text = RenderReport(Input(), ReportFormat::kText);
  EXPECT_THAT(text, EndsWith("\nMISMATCH\n"));
}

TEST_F(ReportTest, TextEndsWithMatch) {
  reconciliation_.match = true;
  const std::string text = RenderReport(Input(), ReportFormat::kText);
  EXPECT_THAT(text, EndsWith("\nMATCH\n"));
  EXPECT_THAT(text, Not(HasSubstr("MISMATCH")));
}

TEST_F(ReportTest, TextGroupsThousands) {
  const std::string text = RenderReport(Input(), ReportFormat::kText);
  EXPECT_THAT(text, AllOf(HasSubstr("50,206"), HasSubstr("36,169"), HasSubstr("1,949"),
                          HasSubstr("1,950"), HasSubstr("88,324"), HasSubstr("88,325"),
                          HasSubstr("88,329"), HasSubstr("14,037")));
  EXPECT_THAT(text, Not(HasSubstr("50206")));
  EXPECT_THAT(text, HasSubstr("report-test"));
}

TEST_F(ReportTest, TextSyntheticOnlyWhenSynthetic) {
  EXPECT_THAT(RenderReport(Input(), ReportFormat::kText), Not(HasSubstr("SYNTHETIC")));
  ReportInput input = Input();
  input.election = &synthetic_election_;
  EXPECT_THAT(RenderReport(input, ReportFormat::kText), HasSubstr("SYNTHETIC"));
  input = Input();
  input.generation = GenerationInfo{1, 1};
  EXPECT_THAT(RenderReport(input, ReportFormat::kText), HasSubstr("SYNTHETIC"));
}

TEST_F(ReportTest, TextBreakdownListsEveryRow) {
  const std::string by_station = RenderReport(Input(Breakdown::kStation), ReportFormat::kText);
  EXPECT_THAT(by_station, AllOf(HasSubstr("S1"), HasSubstr("S2"), HasSubstr("S3"),
                                HasSubstr("25,706"), HasSubstr("18,618")));
  EXPECT_THAT(by_station, EndsWith("\nMISMATCH\n"));
  const std::string by_country = RenderReport(Input(Breakdown::kCountry), ReportFormat::kText);
  EXPECT_THAT(by_country,
              AllOf(HasSubstr("DE"), HasSubstr("FR"), HasSubstr("35,000"), HasSubstr("62,618")));
}

TEST_F(ReportTest, TextForAggregateHasNoVerdict) {
  ReportInput input = Input();
  input.command = "aggregate";
  input.reconciliation = nullptr;
  const std::string text = RenderReport(input, ReportFormat::kText);
  EXPECT_THAT(text, HasSubstr("50,206"));
  EXPECT_THAT(text, Not(HasSubstr("MATCH")));
}

// ---- CSV ----

TEST_F(ReportTest, CsvNationalRows) {
  EXPECT_EQ(RenderReport(Input(), ReportFormat::kCsv),
            "scope,id,choice,counted,reported,delta\n"
            "national,report-test,JAL,50206,50206,0\n"
            "national,report-test,PEZ,36169,36169,0\n"
            "national,report-test,INV,1949,1950,-1\n"
            "national,report-test,cast,88324,88325,-1\n");
}

TEST_F(ReportTest, CsvByStation) {
  EXPECT_EQ(RenderReport(Input(Breakdown::kStation), ReportFormat::kCsv),
            "scope,id,choice,counted,reported,delta\n"
            "national,report-test,JAL,50206,50206,0\n"
            "national,report-test,PEZ,36169,36169,0\n"
            "national,report-test,INV,1949,1950,-1\n"
            "national,report-test,cast,88324,88325,-1\n"
            "station,S1,JAL,25000,,\n"
            "station,S1,PEZ,18000,,\n"
            "station,S1,INV,1000,,\n"
            "station,S1,cast,44000,,\n"
            "station,S2,JAL,15206,,\n"
            "station,S2,PEZ,10000,,\n"
            "station,S2,INV,500,,\n"
            "station,S2,cast,25706,,\n"
            "station,S3,JAL,10000,,\n"
            "station,S3,PEZ,8169,,\n"
            "station,S3,INV,449,,\n"
            "station,S3,cast,18618,,\n");
}

TEST_F(ReportTest, CsvByCountry) {
  EXPECT_EQ(RenderReport(Input(Breakdown::kCountry), ReportFormat::kCsv),
            "scope,id,choice,counted,reported,delta\n"
            "national,report-test,JAL,50206,50206,0\n"
            "national,report-test,PEZ,36169,36169,0\n"
            "national,report-test,INV,1949,1950,-1\n"
            "national,report-test,cast,88324,88325,-1\n"
            "country,DE,JAL,15206,,\n"
            "country,DE,PEZ,10000,,\n"
            "country,DE,INV,500,,\n"
            "country,DE,cast,25706,,\n"
            "country,FR,JAL,35000,,\n"
            "country,FR,PEZ,26169,,\n"
            "country,FR,INV,1449,,\n"
            "country,FR,cast,62618,,\n");
}

TEST_F(ReportTest, CsvForAggregateLeavesReportedEmpty) {
  ReportInput input = Input();
  input.command = "aggregate";
  input.reconciliation = nullptr;
  EXPECT_EQ(RenderReport(input, ReportFormat::kCsv),
            "scope,id,choice,counted,reported,delta\n"
            "national,report-test,JAL,50206,,\n"
            "national,report-test,PEZ,36169,,\n"
            "national,report-test,INV,1949,,\n"
            "national,report-test,cast,88324,,\n");
}

// ---- flags ----

TEST(ReportFlagsTest, ParseReportFormat) {
  EXPECT_EQ(ParseReportFormat("text").value(), ReportFormat::kText);
  EXPECT_EQ(ParseReportFormat("json").value(), ReportFormat::kJson);
  EXPECT_EQ(ParseReportFormat("csv").value(), ReportFormat::kCsv);
  EXPECT_THAT(ParseReportFormat("xml"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                 AllOf(HasSubstr("--format"), HasSubstr("xml"))));
  EXPECT_THAT(ParseReportFormat(""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--format")));
}

TEST(ReportFlagsTest, ParseBreakdown) {
  EXPECT_EQ(ParseBreakdown("station").value(), Breakdown::kStation);
  EXPECT_EQ(ParseBreakdown("country").value(), Breakdown::kCountry);
  EXPECT_THAT(ParseBreakdown("region"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                 AllOf(HasSubstr("--by"), HasSubstr("region"))));
  EXPECT_THAT(ParseBreakdown(""), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--by")));
}

// Regressions (issue "Hardening", unclear messages): a tie was printed "leader JAL by 0",
// and reported figures with a choice left out were "NOT internally consistent (choices do
// not sum to cast)" when nothing was inconsistent, only missing; the sum is now shown.
TEST_F(ReportTest, TextSaysTieIncompleteAndInconsistentForWhatTheyAre) {
  reconciliation_.reported_lead = Lead{0, 0};
  reconciliation_.reported_consistent = false;
  reconciliation_.choices[1].reported.reset();
  reconciliation_.choices[1].delta.reset();
  std::string text = RenderReport(Input(), ReportFormat::kText);
  EXPECT_THAT(text, HasSubstr("  reported   incomplete: no reported figure for PEZ\n"));
  EXPECT_THAT(text, HasSubstr("  leader     reported a tie (JAL level with the runner-up); "
                              "counted JAL by 14,037\n"));
  reconciliation_ = MakeReconciliation();
  reconciliation_.reported_consistent = false;
  reconciliation_.choices[2] = Line(1949, 1951);
  text = RenderReport(Input(), ReportFormat::kText);
  EXPECT_THAT(text, HasSubstr("  reported   NOT internally consistent (choices sum to 88,326, "
                              "cast is 88,325)\n"));
}

}  // namespace
}  // namespace canvass
