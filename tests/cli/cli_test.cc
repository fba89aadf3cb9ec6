// End-to-end tests of the `canvass` command line: runs the real binary as a child process
// and checks its output, exit codes and error messages against the DESIGN.md contract.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "engine/base/kernel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/run_canvass.h"
#include "tests/testing/temp_dir.h"

namespace canvass {
namespace {

using ::canvass::testing::ReadFileBytes;

using ::canvass::testing::Describe;
using ::canvass::testing::kExitInputError;
using ::canvass::testing::kExitMatch;
using ::canvass::testing::kExitMismatch;
using ::canvass::testing::RunCanvass;
using ::canvass::testing::RunProgram;
using ::canvass::testing::RunResult;
using ::canvass::testing::TempDir;
using ::nlohmann::json;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kReferenceId[] = "ir-2024-runoff-overseas";
constexpr uint64_t kJalili = 50206;
constexpr uint64_t kPezeshkian = 36169;
constexpr uint64_t kInvalid = 1950;
constexpr uint64_t kCast = 88325;
constexpr size_t kReferenceStations = 138;
constexpr size_t kReferenceCountries = 98;

const std::vector<std::string>& RejectReasons() {
  static const auto* const kReasons = new std::vector<std::string>{
      "malformed", "unknown_station", "unknown_choice", "bad_seq", "duplicate", "conflict"};
  return *kReasons;
}

// Parses stdout as JSON; a parse failure is a test failure and yields null.
json ParseJson(const RunResult& result) {
  json parsed = json::parse(result.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(parsed.is_discarded()) << "stdout is not JSON\n" << Describe(result);
  return parsed;
}

void WriteFile(const std::filesystem::path& path, absl::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

std::filesystem::path ReferenceDatasetDirectory() {
  return std::filesystem::path(CANVASS_SOURCE_DIR) / "datasets" / kReferenceId;
}

// One roster row of the reference dataset, read independently of the engine.
struct RosterRow {
  std::string station;
  std::string country;
};

std::vector<RosterRow> ReferenceRoster() {
  std::vector<RosterRow> rows;
  const std::string text = ReadFileBytes(ReferenceDatasetDirectory() / "roster.csv");
  bool header = true;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (header) {
      header = false;
      continue;
    }
    std::vector<std::string> fields = absl::StrSplit(line, ',');
    rows.push_back({fields.at(0), fields.at(1)});
  }
  return rows;
}

uint64_t Figure(const json& value) {
  EXPECT_TRUE(value.is_number_unsigned()) << value.dump();
  return value.is_number_unsigned() ? value.get<uint64_t>() : 0;
}

// Checks the JSON report of a clean, calibrated `run` of the reference election at `scale`.
void ExpectReferenceRunJson(const json& report, uint64_t scale) {
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report.at("election"), kReferenceId);
  EXPECT_EQ(report.at("synthetic"), true);
  EXPECT_EQ(report.at("command"), "run");
  EXPECT_EQ(Figure(report.at("generation").at("scale")), scale);

  const json& records = report.at("records");
  EXPECT_EQ(Figure(records.at("read")), kCast * scale);
  EXPECT_EQ(Figure(records.at("counted")), kCast * scale);
  const json& rejected = records.at("rejected");
  ASSERT_TRUE(rejected.is_object());
  EXPECT_EQ(rejected.size(), RejectReasons().size()) << rejected.dump();
  for (const std::string& reason : RejectReasons()) {
    ASSERT_TRUE(rejected.contains(reason)) << reason;
    EXPECT_EQ(Figure(rejected.at(reason)), 0u) << reason;
  }

  const std::map<std::string, uint64_t> expected = {{"JAL", kJalili * scale},
                                                    {"PEZ", kPezeshkian * scale},
                                                    {"INV", kInvalid * scale},
                                                    {"cast", kCast * scale}};
  for (const char* key : {"totals", "reported", "delta"}) {
    const json& figures = report.at(key);
    ASSERT_TRUE(figures.is_object()) << key;
    EXPECT_EQ(figures.size(), expected.size()) << key << ": " << figures.dump();
    for (const auto& [code, figure] : expected) {
      if (std::string(key) == "delta") {
        EXPECT_EQ(figures.at(code), 0) << key << "." << code;
      } else {
        EXPECT_EQ(Figure(figures.at(code)), figure) << key << "." << code;
      }
    }
  }
  EXPECT_EQ(report.at("verdict"), "match");
  EXPECT_EQ(report.at("reported_consistent"), true);
  EXPECT_EQ(report.at("leader").at("reported"), "JAL");
  EXPECT_EQ(report.at("leader").at("counted"), "JAL");
  EXPECT_EQ(Figure(report.at("margin").at("reported")), (kJalili - kPezeshkian) * scale);
  EXPECT_EQ(Figure(report.at("margin").at("counted")), (kJalili - kPezeshkian) * scale);
  EXPECT_EQ(report.at("outcome_at_risk"), false);
  EXPECT_EQ(Figure(report.at("stations_reporting").at("reporting")), kReferenceStations);
  EXPECT_EQ(Figure(report.at("stations_reporting").at("expected")), kReferenceStations);
}

// Sums the "counted" objects of breakdown `rows` per key.
std::map<std::string, uint64_t> SumCounted(const json& rows) {
  std::map<std::string, uint64_t> sums;
  for (const json& row : rows) {
    for (const auto& [code, figure] : row.at("counted").items()) sums[code] += Figure(figure);
  }
  return sums;
}

// ---- The reference election, no arguments ----

TEST(CliRunTest, DefaultRunMatchesReportedFiguresInText) {
  const RunResult result = RunCanvass({"run"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  EXPECT_THAT(result.out, EndsWith("MATCH\n"));
  EXPECT_THAT(result.out, Not(HasSubstr("MISMATCH")));
  EXPECT_THAT(result.out, AllOf(HasSubstr("50,206"), HasSubstr("36,169"), HasSubstr("1,950"),
                                HasSubstr("88,325"), HasSubstr("SYNTHETIC")));
  EXPECT_THAT(result.out, HasSubstr(kReferenceId));
  EXPECT_THAT(result.out, HasSubstr("138 of 138 reporting"));
  EXPECT_EQ(result.err, "");
}

TEST(CliRunTest, DefaultRunJsonHasTheContractKeysAndExactFigures) {
  const RunResult result = RunCanvass({"run", "--format", "json"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  EXPECT_EQ(result.err, "");
  ExpectReferenceRunJson(ParseJson(result), /*scale=*/1);
}

TEST(CliRunTest, ScaleMultipliesEveryFigureExactly) {
  const RunResult result =
      RunCanvass({"run", "--scale", "1000", "--format", "json", "--by", "country"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  const json report = ParseJson(result);
  ExpectReferenceRunJson(report, /*scale=*/1000);
  const std::map<std::string, uint64_t> sums = SumCounted(report.at("countries"));
  EXPECT_THAT(sums, ElementsAre(std::pair<const std::string, uint64_t>("INV", kInvalid * 1000),
                                std::pair<const std::string, uint64_t>("JAL", kJalili * 1000),
                                std::pair<const std::string, uint64_t>("PEZ", kPezeshkian * 1000),
                                std::pair<const std::string, uint64_t>("cast", kCast * 1000)));
}

TEST(CliRunTest, ScaleMultipliesEveryFigureInText) {
  const RunResult result = RunCanvass({"run", "--scale", "1000", "--threads", "2"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  EXPECT_THAT(result.out,
              AllOf(HasSubstr("50,206,000"), HasSubstr("36,169,000"), HasSubstr("1,950,000"),
                    HasSubstr("88,325,000"), HasSubstr("14,037,000"), EndsWith("MATCH\n")));
}

// ---- Determinism: byte-identical JSON for any thread count ----

TEST(CliRunTest, JsonIsByteIdenticalForEveryThreadCount) {
  for (const char* seed : {"1", "7", "12345"}) {
    std::string first_output;
    for (const char* threads : {"1", "2", "3", "8"}) {
      const RunResult result = RunCanvass({"run", "--seed", seed, "--scale", "3", "--threads",
                                           threads, "--format", "json", "--by", "station"});
      ASSERT_EQ(result.exit_code, kExitMatch) << "seed " << seed << " threads " << threads << "\n"
                                              << Describe(result);
      if (first_output.empty()) {
        first_output = result.out;
        const json report = ParseJson(result);
        ExpectReferenceRunJson(report, /*scale=*/3);
        EXPECT_EQ(Figure(report.at("generation").at("seed")), std::stoull(seed));
      } else {
        EXPECT_EQ(result.out, first_output) << "seed " << seed << " threads " << threads;
      }
    }
  }
}

// ---- Drill-down ----

TEST(CliRunTest, ByStationJsonRowsFollowTheRosterAndSumToTotals) {
  const RunResult result = RunCanvass({"run", "--format", "json", "--by", "station"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  const json report = ParseJson(result);
  ExpectReferenceRunJson(report, /*scale=*/1);
  const json& stations = report.at("stations");
  ASSERT_TRUE(stations.is_array());
  ASSERT_EQ(stations.size(), kReferenceStations);
  const std::vector<RosterRow> roster = ReferenceRoster();
  ASSERT_EQ(roster.size(), kReferenceStations);
  uint64_t records = 0;
  for (size_t s = 0; s < stations.size(); ++s) {
    EXPECT_EQ(stations[s].at("station"), roster[s].station) << s;
    EXPECT_EQ(stations[s].at("country"), roster[s].country) << s;
    const json& counted = stations[s].at("counted");
    EXPECT_EQ(Figure(counted.at("cast")),
              Figure(counted.at("JAL")) + Figure(counted.at("PEZ")) + Figure(counted.at("INV")))
        << roster[s].station;
    EXPECT_EQ(Figure(stations[s].at("records")), Figure(counted.at("cast"))) << roster[s].station;
    EXPECT_GT(Figure(counted.at("cast")), 0u) << roster[s].station;
    records += Figure(stations[s].at("records"));
  }
  EXPECT_EQ(records, kCast);
  EXPECT_EQ(SumCounted(stations),
            (std::map<std::string, uint64_t>{
                {"JAL", kJalili}, {"PEZ", kPezeshkian}, {"INV", kInvalid}, {"cast", kCast}}));
  EXPECT_FALSE(report.contains("countries"));
}

TEST(CliRunTest, ByCountryJsonHasOneRowPerCountrySummingToTotals) {
  const RunResult result = RunCanvass({"run", "--format", "json", "--by", "country"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  const json report = ParseJson(result);
  const json& countries = report.at("countries");
  ASSERT_TRUE(countries.is_array());
  ASSERT_EQ(countries.size(), kReferenceCountries);

  std::map<std::string, uint64_t> roster_stations_per_country;
  for (const RosterRow& row : ReferenceRoster()) ++roster_stations_per_country[row.country];
  ASSERT_EQ(roster_stations_per_country.size(), kReferenceCountries);
  std::set<std::string> seen;
  uint64_t stations = 0;
  for (const json& row : countries) {
    const std::string country = row.at("country").get<std::string>();
    EXPECT_TRUE(seen.insert(country).second) << "country listed twice: " << country;
    EXPECT_EQ(Figure(row.at("stations")), roster_stations_per_country[country]) << country;
    stations += Figure(row.at("stations"));
  }
  EXPECT_EQ(stations, kReferenceStations);
  EXPECT_EQ(SumCounted(countries),
            (std::map<std::string, uint64_t>{
                {"JAL", kJalili}, {"PEZ", kPezeshkian}, {"INV", kInvalid}, {"cast", kCast}}));
  EXPECT_FALSE(report.contains("stations"));
}

TEST(CliRunTest, CsvHasHeaderAndNationalRows) {
  const RunResult result = RunCanvass({"run", "--format", "csv"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  const std::vector<std::string> lines = absl::StrSplit(result.out, '\n', absl::SkipEmpty());
  const std::string id = kReferenceId;
  EXPECT_THAT(
      lines,
      ElementsAre("scope,id,choice,counted,reported,delta", "national," + id + ",JAL,50206,50206,0",
                  "national," + id + ",PEZ,36169,36169,0", "national," + id + ",INV,1950,1950,0",
                  "national," + id + ",cast,88325,88325,0"));
}

TEST(CliRunTest, CsvByStationHasFourRowsPerStationSummingToTotals) {
  const RunResult result = RunCanvass({"run", "--format", "csv", "--by", "station"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  const std::vector<std::string> lines = absl::StrSplit(result.out, '\n', absl::SkipEmpty());
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], "scope,id,choice,counted,reported,delta");
  std::map<std::string, uint64_t> sums;
  std::set<std::string> stations;
  size_t national_rows = 0, station_rows = 0;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string> fields = absl::StrSplit(lines[i], ',');
    ASSERT_EQ(fields.size(), 6u) << lines[i];
    if (fields[0] == "national") {
      ++national_rows;
      continue;
    }
    ASSERT_EQ(fields[0], "station") << lines[i];
    ++station_rows;
    stations.insert(fields[1]);
    uint64_t counted = 0;
    ASSERT_TRUE(absl::SimpleAtoi(fields[3], &counted)) << lines[i];
    sums[fields[2]] += counted;
    EXPECT_EQ(fields[4], "") << lines[i];
    EXPECT_EQ(fields[5], "") << lines[i];
  }
  EXPECT_EQ(national_rows, 4u);
  EXPECT_EQ(station_rows, 4 * kReferenceStations);
  EXPECT_EQ(stations.size(), kReferenceStations);
  EXPECT_EQ(sums, (std::map<std::string, uint64_t>{
                      {"JAL", kJalili}, {"PEZ", kPezeshkian}, {"INV", kInvalid}, {"cast", kCast}}));
}

TEST(CliRunTest, TextByStationListsEveryStation) {
  const RunResult result = RunCanvass({"run", "--by", "station"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr("by station (synthetic split)"));
  for (const RosterRow& row : ReferenceRoster()) {
    EXPECT_THAT(result.out, HasSubstr("  " + row.station + " ")) << row.station;
  }
  EXPECT_THAT(result.out, EndsWith("MATCH\n"));
}

TEST(CliRunTest, TextByCountryListsEveryCountry) {
  const RunResult result = RunCanvass({"run", "--by", "country"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr("by country (synthetic split)"));
  for (const RosterRow& row : ReferenceRoster()) {
    EXPECT_THAT(result.out, HasSubstr("  " + row.country + " ")) << row.country;
  }
}

// ---- Tolerance ----

TEST(CliRunTest, ToleranceIsParsedAndReported) {
  const RunResult result = RunCanvass({"run", "--tolerance", "5", "--format", "json"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  const json report = ParseJson(result);
  EXPECT_EQ(Figure(report.at("tolerance")), 5u);
  EXPECT_EQ(report.at("verdict"), "match");

  const RunResult text = RunCanvass({"run", "--tolerance", "5"});
  ASSERT_EQ(text.exit_code, kExitMatch) << Describe(text);
  EXPECT_THAT(text.out, HasSubstr("tolerance  5"));
}

TEST(CliRunTest, DefaultToleranceIsZero) {
  const RunResult result = RunCanvass({"run", "--format", "json"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  EXPECT_EQ(Figure(ParseJson(result).at("tolerance")), 0u);
}

// ---- Help and usage errors ----

TEST(CliUsageTest, HelpExitsZeroAndNamesTheCommands) {
  const RunResult result = RunCanvass({"--help"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  EXPECT_THAT(result.out, AllOf(HasSubstr("run"), HasSubstr("--help")));
}

TEST(CliUsageTest, RunHelpExitsZeroAndNamesEveryFlag) {
  const RunResult result = RunCanvass({"run", "--help"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  for (const char* flag :
       {"--election", "--scale", "--seed", "--threads", "--format", "--by", "--tolerance"}) {
    EXPECT_THAT(result.out, HasSubstr(flag)) << flag;
  }
}

TEST(CliUsageTest, NoSubcommandIsAUsageError) {
  const RunResult result = RunCanvass({});
  EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
  EXPECT_EQ(result.out, "");
  EXPECT_NE(result.err, "");
}

TEST(CliUsageTest, UnknownSubcommandIsAUsageError) {
  const RunResult result = RunCanvass({"tally-everything"});
  EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err, HasSubstr("tally-everything"));
}

TEST(CliUsageTest, UnknownFlagIsAUsageError) {
  const RunResult result = RunCanvass({"run", "--no-such-flag"});
  EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err, HasSubstr("--no-such-flag"));
}

TEST(CliUsageTest, BadFormatIsAUsageErrorNamingTheFlag) {
  const RunResult result = RunCanvass({"run", "--format", "xml"});
  EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err, AllOf(HasSubstr("--format"), HasSubstr("xml")));
}

TEST(CliUsageTest, BadBreakdownIsAUsageErrorNamingTheFlag) {
  const RunResult result = RunCanvass({"run", "--by", "province"});
  EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err, AllOf(HasSubstr("--by"), HasSubstr("province")));
}

// Each bad numeric flag value: exit 2, nothing on stdout, the flag named on stderr.
TEST(CliUsageTest, BadNumericFlagValuesAreUsageErrors) {
  const std::vector<std::vector<std::string>> cases = {
      {"--threads", "0"},     {"--threads", "-1"},   {"--threads", "two"},   {"--scale", "0"},
      {"--scale", "abc"},     {"--scale", "-1"},     {"--scale", "1.5"},     {"--seed", "abc"},
      {"--tolerance", "abc"}, {"--tolerance", "-1"}, {"--tolerance", "1.5"}, {"--seed", "-1"},
  };
  for (const std::vector<std::string>& flag : cases) {
    std::vector<std::string> args = {"run"};
    args.insert(args.end(), flag.begin(), flag.end());
    const RunResult result = RunCanvass(args);
    EXPECT_EQ(result.exit_code, kExitInputError) << flag[0] << " " << flag[1] << "\n"
                                                 << Describe(result);
    EXPECT_EQ(result.out, "") << flag[0] << " " << flag[1];
    EXPECT_THAT(result.err, HasSubstr(flag[0])) << flag[0] << " " << flag[1];
  }
}

TEST(CliUsageTest, MissingFlagValueIsAUsageError) {
  const RunResult result = RunCanvass({"run", "--format"});
  EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("--format"));
}

// Numbers on the command line are decimal: a leading zero does not switch to octal.
TEST(CliUsageTest, NumericFlagsAreDecimal) {
  const RunResult result = RunCanvass({"run", "--scale", "010", "--format", "json"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  const json report = ParseJson(result);
  EXPECT_EQ(Figure(report.at("generation").at("scale")), 10u);
  EXPECT_EQ(Figure(report.at("totals").at("cast")), kCast * 10);
}

// ---- Election directories ----

// Builds temporary election directories from the reference dataset and removes them.
class ElectionDirectoryTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const std::filesystem::path& directory : directories_) {
      std::error_code ignored;
      std::filesystem::remove_all(directory, ignored);
    }
  }

  std::filesystem::path MakeEmptyDirectory() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "canvass_cli_test.XXXXXX").string();
    char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr) << "mkdtemp: " << std::strerror(errno);
    directories_.push_back(pattern);
    return pattern;
  }

  // A copy of the reference election directory, with election.json and roster.csv
  // passed through `edit_json` and `edit_roster`.
  template <typename EditJson, typename EditRoster>
  std::filesystem::path MakeReferenceCopy(EditJson edit_json, EditRoster edit_roster) {
    std::filesystem::path directory = MakeEmptyDirectory();
    std::string election = ReadFileBytes(ReferenceDatasetDirectory() / "election.json");
    std::string roster = ReadFileBytes(ReferenceDatasetDirectory() / "roster.csv");
    edit_json(&election);
    edit_roster(&roster);
    WriteFile(directory / "election.json", election);
    WriteFile(directory / "roster.csv", roster);
    return directory;
  }

  std::filesystem::path MakeReferenceCopyWithJson(const std::string& from, const std::string& to) {
    return MakeReferenceCopy([&](std::string* text) { Replace(text, from, to); },
                             [](std::string*) {});
  }

  std::filesystem::path MakeReferenceCopyWithRoster(const std::string& from,
                                                    const std::string& to) {
    return MakeReferenceCopy([](std::string*) {},
                             [&](std::string* text) { Replace(text, from, to); });
  }

  // Replaces the single occurrence of `from` in `text`; fails the test when absent.
  static void Replace(std::string* text, const std::string& from, const std::string& to) {
    const size_t at = text->find(from);
    ASSERT_NE(at, std::string::npos) << "test setup: \"" << from << "\" not in the dataset";
    text->replace(at, from.size(), to);
  }

  static RunResult RunOn(const std::filesystem::path& directory,
                         std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"run", "--election", directory.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunCanvass(args);
  }

  // Asserts the run was an input error whose message contains every fragment.
  static void ExpectInputError(const RunResult& result, const std::vector<std::string>& fragments) {
    EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
    EXPECT_EQ(result.out, "") << Describe(result);
    for (const std::string& fragment : fragments) {
      EXPECT_THAT(result.err, HasSubstr(fragment)) << Describe(result);
    }
  }

 private:
  std::vector<std::filesystem::path> directories_;
};

// ---- Any bytes in ids, titles and file names reach every report safely ----

TEST_F(ElectionDirectoryTest, ControlBytesInIdsAndTitlesAreEscapedInTheTextReport) {
  // An id with a line break and "MATCH" in it, a title that would turn the terminal red.
  const std::filesystem::path directory = MakeReferenceCopy(
      [](std::string* text) {
        Replace(text, R"("id": "ir-2024-runoff-overseas")", R"("id": "x\nMATCH")");
        Replace(text, R"("title": "Iran)", R"("title": "\u001b[31mIran)");
      },
      [](std::string*) {});
  const RunResult result = RunOn(directory, {"--faults", "drop=0.01"});
  ASSERT_EQ(result.exit_code, kExitMismatch) << Describe(result);
  const std::vector<std::string> lines = absl::StrSplit(result.out, '\n');
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "MATCH"), 0) << result.out;
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "MISMATCH"), 1) << result.out;
  EXPECT_THAT(result.out, HasSubstr("  election   x\\nMATCH\n"));
  EXPECT_THAT(result.out, HasSubstr("Canvass run: \\x1B[31mIran presidential"));
  EXPECT_EQ(result.out.find('\x1b'), std::string::npos) << "a raw escape reached the terminal";
}

// Hardening #3: a roster or a scale whose exactly-once state cannot be mapped is exit 2
// before anything runs, saying how many bytes it needs (it aborted in the aggregator, or
// ended in std::bad_alloc while the streams were planned).
TEST_F(ElectionDirectoryTest, StateTooLargeToMapIsAnInputErrorNamingItsSize) {
  const std::filesystem::path directory =
      MakeReferenceCopyWithRoster("AE-01,AE,1851,", "AE-01,AE,1000000000000000,");
  ExpectInputError(RunOn(directory),
                   {"the exactly-once state of election ir-2024-runoff-overseas needs",
                    "bytes (2 bits for each of the", "lower the capacities or the scale"});
  ExpectInputError(RunCanvass({"run", "--scale", "100000000000"}),
                   {"needs 3265425000000000 bytes (2 bits for each of the 13061700000000000 "
                    "serials its roster's capacities allow); at most 35184372088832 bytes"});
}

TEST_F(ElectionDirectoryTest, BytesThatAreNotUtf8AreCarriedIntoJson) {
  const std::filesystem::path directory = MakeReferenceCopyWithRoster("AE-01,",
                                                                      "AE\xff"
                                                                      "01,");
  const RunResult result = RunOn(directory, {"--format", "json", "--by", "station"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  const json report = ParseJson(result);
  const std::string replaced =
      "AE\xef\xbf\xbd"
      "01";  // U+FFFD for the 0xFF byte
  EXPECT_EQ(report["stations"][0]["station"].get<std::string>(), replaced);
}

TEST_F(ElectionDirectoryTest, CsvReportQuotesFieldsAsRfc4180Asks) {
  const std::filesystem::path directory =
      MakeReferenceCopyWithJson(R"("id": "ir-2024-runoff-overseas")", R"("id": "a,\"b")");
  const RunResult result = RunOn(directory, {"--format", "csv"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr("\nnational,\"a,\"\"b\",JAL,50206,50206,0\n"));
}

TEST(CliOutputTest, FileNamesThatAreNotUtf8AreCarriedIntoJson) {
  TempDir directory;
  WriteFile(directory.path() / "a\xff.csv", "station,seq,choice\nAE-01,1,JAL\n");
  const RunResult result = RunCanvass({"aggregate", directory.path().string(), "--format", "json"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  const json report = ParseJson(result);
  ASSERT_EQ(report["inputs"]["paths"].size(), 1u);
  EXPECT_THAT(report["inputs"]["paths"][0].get<std::string>(), HasSubstr("a\xef\xbf\xbd.csv"));
  EXPECT_EQ(report["totals"]["JAL"], 1);
}

// A report that cannot be written is exit 2 with the system's reason, never a verdict.
TEST(CliOutputTest, AReportThatCannotBeWrittenIsAnInputError) {
  for (const std::string& redirect : {std::string("> /dev/full"), std::string(">&-")}) {
    SCOPED_TRACE(redirect);
    for (const std::string& command :
         {std::string("run --format json"), std::string("run"), std::string("stress --rounds 2")}) {
      const RunResult result =
          RunProgram("/bin/sh", {"-c", absl::StrCat("exec ", ::canvass::testing::CanvassBinary(),
                                                    " ", command, " ", redirect)});
      EXPECT_EQ(result.exit_code, kExitInputError) << command << ": " << Describe(result);
      EXPECT_THAT(result.err,
                  HasSubstr(redirect == ">&-" ? "cannot write report: standard output is closed"
                                              : "cannot write report: No space left on device"));
    }
  }
}

TEST_F(ElectionDirectoryTest, UnmodifiedCopyOfTheReferenceMatchesTheEmbeddedElection) {
  const std::filesystem::path directory =
      MakeReferenceCopy([](std::string*) {}, [](std::string*) {});
  const RunResult from_directory = RunOn(directory, {"--format", "json", "--by", "station"});
  ASSERT_EQ(from_directory.exit_code, kExitMatch) << Describe(from_directory);
  ExpectReferenceRunJson(ParseJson(from_directory), /*scale=*/1);
  const RunResult embedded = RunCanvass({"run", "--format", "json", "--by", "station"});
  ASSERT_EQ(embedded.exit_code, kExitMatch) << Describe(embedded);
  EXPECT_EQ(from_directory.out, embedded.out);
}

TEST_F(ElectionDirectoryTest, ShippedDatasetDirectoryRuns) {
  const RunResult result = RunOn(ReferenceDatasetDirectory(), {"--format", "json"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  ExpectReferenceRunJson(ParseJson(result), /*scale=*/1);
}

TEST_F(ElectionDirectoryTest, MissingDirectoryNamesElectionJson) {
  const std::filesystem::path directory = MakeEmptyDirectory() / "does-not-exist";
  ExpectInputError(RunOn(directory), {(directory / "election.json").string()});
}

TEST_F(ElectionDirectoryTest, MissingElectionJsonNamesIt) {
  const std::filesystem::path directory = MakeEmptyDirectory();
  WriteFile(directory / "roster.csv", ReadFileBytes(ReferenceDatasetDirectory() / "roster.csv"));
  ExpectInputError(RunOn(directory), {(directory / "election.json").string()});
}

TEST_F(ElectionDirectoryTest, MissingRosterNamesIt) {
  const std::filesystem::path directory =
      MakeReferenceCopy([](std::string*) {}, [](std::string*) {});
  std::filesystem::remove(directory / "roster.csv");
  ExpectInputError(RunOn(directory), {(directory / "roster.csv").string()});
}

TEST_F(ElectionDirectoryTest, RosterOutsideTheDirectoryIsRejected) {
  ExpectInputError(
      RunOn(MakeReferenceCopyWithJson(R"("roster": "roster.csv")", R"("roster": "../roster.csv")")),
      {"election.json", "roster"});
}

TEST_F(ElectionDirectoryTest, NotJsonNamesFileAndByte) {
  const std::filesystem::path directory = MakeReferenceCopy(
      [](std::string* text) { *text = "{\"id\": \"x\", oops\n"; }, [](std::string*) {});
  ExpectInputError(RunOn(directory), {"election.json", "byte", "JSON"});
}

TEST_F(ElectionDirectoryTest, TopLevelArrayIsRejected) {
  const std::filesystem::path directory =
      MakeReferenceCopy([](std::string* text) { *text = "[1, 2, 3]\n"; }, [](std::string*) {});
  ExpectInputError(RunOn(directory), {"election.json", "object"});
}

TEST_F(ElectionDirectoryTest, WrongTypeForIdNamesTheField) {
  ExpectInputError(
      RunOn(MakeReferenceCopyWithJson(R"("id": "ir-2024-runoff-overseas")", R"("id": 5)")),
      {"election.json", "'id'", "string"});
}

TEST_F(ElectionDirectoryTest, MissingChoicesNamesTheField) {
  ExpectInputError(RunOn(MakeReferenceCopyWithJson(R"("choices")", R"("options")")),
                   {"election.json", "'choices'", "missing"});
}

TEST_F(ElectionDirectoryTest, BadChoiceKindNamesTheField) {
  ExpectInputError(RunOn(MakeReferenceCopyWithJson(R"("kind": "invalid")", R"("kind": "void")")),
                   {"election.json", "choices[2].kind"});
}

TEST_F(ElectionDirectoryTest, SyntheticRosterMustBeBoolean) {
  ExpectInputError(RunOn(MakeReferenceCopyWithJson(R"("synthetic_roster": true)",
                                                   R"("synthetic_roster": "yes")")),
                   {"election.json", "synthetic_roster"});
}

TEST_F(ElectionDirectoryTest, NegativeFigureNamesTheField) {
  ExpectInputError(RunOn(MakeReferenceCopyWithJson(R"("JAL": 50206)", R"("JAL": -5)")),
                   {"election.json", "reported.choices.JAL", "non-negative integer", "-5"});
}

TEST_F(ElectionDirectoryTest, FractionalFigureNamesTheField) {
  ExpectInputError(RunOn(MakeReferenceCopyWithJson(R"("INV": 1950)", R"("INV": 1.5)")),
                   {"election.json", "reported.choices.INV", "non-negative integer", "1.5"});
}

TEST_F(ElectionDirectoryTest, NegativeCastNamesTheField) {
  ExpectInputError(RunOn(MakeReferenceCopyWithJson(R"("cast": 88325)", R"("cast": -88325)")),
                   {"election.json", "reported.cast", "non-negative integer"});
}

TEST_F(ElectionDirectoryTest, FigureAsStringNamesTheField) {
  ExpectInputError(RunOn(MakeReferenceCopyWithJson(R"("PEZ": 36169)", R"("PEZ": "36169")")),
                   {"election.json", "reported.choices.PEZ", "non-negative integer"});
}

TEST_F(ElectionDirectoryTest, DuplicateChoiceCodeNamesTheField) {
  ExpectInputError(RunOn(MakeReferenceCopyWithJson(R"({"code": "PEZ")", R"({"code": "JAL")")),
                   {"election.json", "choices[1].code", "duplicate", "JAL"});
}

TEST_F(ElectionDirectoryTest, ReportedFigureForUnknownCodeNamesIt) {
  ExpectInputError(RunOn(MakeReferenceCopyWithJson(R"("INV": 1950})", R"("INV": 1950, "XYZ": 1})")),
                   {"election.json", "reported.choices.XYZ", "unknown choice"});
}

TEST_F(ElectionDirectoryTest, DuplicateStationNamesStationAndLine) {
  // The reference roster has a header and 138 stations, so the appended row is line 140.
  const std::filesystem::path directory = MakeReferenceCopy(
      [](std::string*) {}, [](std::string* text) { text->append("AE-01,AE,10,10\n"); });
  ExpectInputError(RunOn(directory),
                   {"roster.csv:140", "duplicate station", "AE-01", "first at line 2"});
}

TEST_F(ElectionDirectoryTest, ZeroCapacityNamesLineAndColumn) {
  ExpectInputError(RunOn(MakeReferenceCopyWithRoster("AE-01,AE,1851,1286", "AE-01,AE,0,1286")),
                   {"roster.csv:2", "capacity", "AE-01"});
}

TEST_F(ElectionDirectoryTest, NonNumericCapacityNamesLineAndColumn) {
  ExpectInputError(RunOn(MakeReferenceCopyWithRoster("AE-03,AE,3727,2626", "AE-03,AE,lots,2626")),
                   {"roster.csv:4", "capacity", "lots"});
}

TEST_F(ElectionDirectoryTest, NegativeWeightNamesLineAndColumn) {
  ExpectInputError(RunOn(MakeReferenceCopyWithRoster("AE-04,AE,832,558", "AE-04,AE,832,-558")),
                   {"roster.csv:5", "weight"});
}

TEST_F(ElectionDirectoryTest, WrongFieldCountNamesTheLine) {
  ExpectInputError(RunOn(MakeReferenceCopyWithRoster("AE-02,AE,10994,7817", "AE-02,AE,10994")),
                   {"roster.csv:3", "fields"});
}

TEST_F(ElectionDirectoryTest, WrongRosterHeaderNamesLineOne) {
  ExpectInputError(RunOn(MakeReferenceCopyWithRoster("station,country,capacity,weight",
                                                     "id,country,capacity,weight")),
                   {"roster.csv:1", "header"});
}

TEST_F(ElectionDirectoryTest, EmptyRosterIsRejected) {
  const std::filesystem::path directory =
      MakeReferenceCopy([](std::string*) {}, [](std::string* text) { text->clear(); });
  ExpectInputError(RunOn(directory), {"roster.csv", "empty"});
}

TEST_F(ElectionDirectoryTest, HeaderOnlyRosterIsRejected) {
  const std::filesystem::path directory = MakeReferenceCopy(
      [](std::string*) {}, [](std::string* text) { *text = "station,country,capacity,weight\n"; });
  ExpectInputError(RunOn(directory), {"roster.csv", "no stations"});
}

TEST_F(ElectionDirectoryTest, StationCapacityTooSmallForItsShareNamesTheStation) {
  ExpectInputError(RunOn(MakeReferenceCopyWithRoster("AE-02,AE,10994,7817", "AE-02,AE,1,7817")),
                   {"roster.csv", "capacities too small", "AE-02"});
}

TEST_F(ElectionDirectoryTest, TotalCapacityTooSmallNamesTheRoster) {
  const std::filesystem::path directory = MakeEmptyDirectory();
  WriteFile(directory / "election.json", R"({
    "id": "tiny", "title": "Tiny",
    "choices": [{"code": "A"}, {"code": "B"}],
    "reported": {"cast": 30, "choices": {"A": 20, "B": 10}},
    "roster": "roster.csv"
  })");
  WriteFile(directory / "roster.csv", "station,country,capacity\nS1,XA,10\nS2,XB,10\n");
  ExpectInputError(RunOn(directory), {"roster.csv", "capacities too small", "30"});
}

// ---- A custom election ----

// Three choices, five stations in three countries, reported figures that add up.
constexpr char kCustomElectionJson[] = R"({
  "id": "custom-3x5",
  "title": "Custom test election",
  "source": "cli_test.cc",
  "choices": [
    {"code": "AAA", "name": "Alice", "kind": "candidate"},
    {"code": "BBB", "name": "Bob", "kind": "candidate"},
    {"code": "BLK", "name": "blank", "kind": "blank"}
  ],
  "reported": {"cast": 1000, "choices": {"AAA": 600, "BBB": 350, "BLK": 50}},
  "roster": "stations.csv",
  "synthetic_roster": false
})";
constexpr char kCustomRoster[] =
    "station,country,capacity\n"
    "S1,XA,400\n"
    "S2,XA,300\n"
    "S3,XB,200\n"
    "S4,XB,100\n"
    "S5,XC,100\n";

TEST_F(ElectionDirectoryTest, CustomElectionRunsWithExactTotals) {
  const std::filesystem::path directory = MakeEmptyDirectory();
  WriteFile(directory / "election.json", kCustomElectionJson);
  WriteFile(directory / "stations.csv", kCustomRoster);

  const RunResult result = RunOn(directory, {"--format", "json", "--by", "station"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  const json report = ParseJson(result);
  EXPECT_EQ(report.at("election"), "custom-3x5");
  // The roster is real but `run` generates the ballots, so the report is still synthetic.
  EXPECT_EQ(report.at("synthetic"), true);
  EXPECT_EQ(report.at("totals"), json::parse(R"({"AAA":600,"BBB":350,"BLK":50,"cast":1000})"));
  EXPECT_EQ(report.at("reported"), json::parse(R"({"AAA":600,"BBB":350,"BLK":50,"cast":1000})"));
  EXPECT_EQ(report.at("delta"), json::parse(R"({"AAA":0,"BBB":0,"BLK":0,"cast":0})"));
  EXPECT_EQ(Figure(report.at("records").at("read")), 1000u);
  EXPECT_EQ(report.at("verdict"), "match");
  EXPECT_EQ(report.at("leader").at("reported"), "AAA");
  EXPECT_EQ(report.at("leader").at("counted"), "AAA");
  EXPECT_EQ(Figure(report.at("margin").at("reported")), 250u);
  EXPECT_EQ(report.at("outcome_at_risk"), false);
  EXPECT_EQ(Figure(report.at("stations_reporting").at("reporting")), 5u);
  EXPECT_EQ(Figure(report.at("stations_reporting").at("expected")), 5u);

  const json& stations = report.at("stations");
  ASSERT_EQ(stations.size(), 5u);
  const std::vector<std::string> ids = {"S1", "S2", "S3", "S4", "S5"};
  const std::vector<uint64_t> capacities = {400, 300, 200, 100, 100};
  for (size_t s = 0; s < stations.size(); ++s) {
    EXPECT_EQ(stations[s].at("station"), ids[s]);
    EXPECT_LE(Figure(stations[s].at("counted").at("cast")), capacities[s]) << ids[s];
  }
  EXPECT_EQ(SumCounted(stations), (std::map<std::string, uint64_t>{
                                      {"AAA", 600}, {"BBB", 350}, {"BLK", 50}, {"cast", 1000}}));
}

TEST_F(ElectionDirectoryTest, CustomElectionByCountryAndText) {
  const std::filesystem::path directory = MakeEmptyDirectory();
  WriteFile(directory / "election.json", kCustomElectionJson);
  WriteFile(directory / "stations.csv", kCustomRoster);

  const RunResult by_country = RunOn(directory, {"--format", "json", "--by", "country"});
  ASSERT_EQ(by_country.exit_code, kExitMatch) << Describe(by_country);
  const json report = ParseJson(by_country);
  const json& countries = report.at("countries");
  ASSERT_EQ(countries.size(), 3u);
  EXPECT_EQ(countries[0].at("country"), "XA");
  EXPECT_EQ(countries[1].at("country"), "XB");
  EXPECT_EQ(countries[2].at("country"), "XC");
  EXPECT_EQ(Figure(countries[0].at("stations")), 2u);
  EXPECT_EQ(Figure(countries[1].at("stations")), 2u);
  EXPECT_EQ(Figure(countries[2].at("stations")), 1u);
  EXPECT_EQ(SumCounted(countries), (std::map<std::string, uint64_t>{
                                       {"AAA", 600}, {"BBB", 350}, {"BLK", 50}, {"cast", 1000}}));

  const RunResult text = RunOn(directory, {"--scale", "7", "--threads", "3"});
  ASSERT_EQ(text.exit_code, kExitMatch) << Describe(text);
  EXPECT_THAT(text.out, AllOf(HasSubstr("custom-3x5"), HasSubstr("4,200"), HasSubstr("2,450"),
                              HasSubstr("350"), HasSubstr("7,000"), HasSubstr("AAA by 1,750"),
                              EndsWith("MATCH\n")));
}

TEST_F(ElectionDirectoryTest, CustomElectionWithoutReportedFiguresCannotRun) {
  const std::filesystem::path directory = MakeEmptyDirectory();
  std::string election = kCustomElectionJson;
  Replace(&election,
          R"("reported": {"cast": 1000, "choices": {"AAA": 600, "BBB": 350, "BLK": 50}},)", "");
  WriteFile(directory / "election.json", election);
  WriteFile(directory / "stations.csv", kCustomRoster);
  ExpectInputError(RunOn(directory), {"custom-3x5", "reported"});
}

TEST_F(ElectionDirectoryTest, CustomElectionWithInconsistentReportedFiguresCannotRun) {
  const std::filesystem::path directory = MakeEmptyDirectory();
  std::string election = kCustomElectionJson;
  Replace(&election, R"("cast": 1000)", R"("cast": 999)");
  WriteFile(directory / "election.json", election);
  WriteFile(directory / "stations.csv", kCustomRoster);
  ExpectInputError(RunOn(directory), {"custom-3x5", "sum to cast"});
}

TEST_F(ElectionDirectoryTest, ScaleThatOverflowsAFigureIsAnInputError) {
  const std::filesystem::path directory = MakeEmptyDirectory();
  WriteFile(directory / "election.json", kCustomElectionJson);
  // 2^62: the loader accepts it, but twice it is past 2^63 - 1.
  WriteFile(directory / "stations.csv",
            "station,country,capacity\nS1,XA,4611686018427387904\nS2,XB,100\n");
  ExpectInputError(RunOn(directory, {"--scale", "2"}), {"S1", "2^63"});
}

// ---- Fault injection: `run --faults` shows the ground truth beside the tally ----

// The example spec of `canvass run --help`, in canonical order.
constexpr char kExampleFaults[] =
    "drop=0.01,dup=0.005,conflict=0.001,corrupt=0.001,unknown_station=0.0005,"
    "unknown_choice=0.0005,bad_seq=0.0005,reorder=1,truncate=0.01,double_report=0.02";

const std::vector<std::string>& FaultNames() {
  static const auto* const kNames = new std::vector<std::string>{
      "drop",           "dup",     "conflict", "corrupt",  "unknown_station",
      "unknown_choice", "bad_seq", "reorder",  "truncate", "double_report"};
  return *kNames;
}

// The last line of `text`, without its line end.
std::string LastLine(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  return lines.empty() ? "" : lines.back();
}

TEST(CliFaultsTest, RunWithFaultsJsonPredictsEveryFigureExactly) {
  const RunResult result = RunCanvass({"run", "--faults", kExampleFaults, "--format", "json"});
  ASSERT_EQ(result.exit_code, kExitMismatch) << Describe(result);
  EXPECT_EQ(result.err, "");
  const json report = ParseJson(result);
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report.at("ground_truth"), "exact");
  EXPECT_EQ(report.at("verdict"), "mismatch");
  EXPECT_EQ(report.at("faults").at("plan"), kExampleFaults);

  // Every fault is listed, and those expected to fire 44 to 880 times did.
  const json& fired = report.at("faults").at("fired");
  ASSERT_TRUE(fired.is_object());
  EXPECT_EQ(fired.size(), FaultNames().size()) << fired.dump();
  for (const std::string& name : FaultNames()) {
    ASSERT_TRUE(fired.contains(name)) << name;
    const uint64_t count = Figure(fired.at(name));
    if (name != "truncate" && name != "double_report") {
      EXPECT_GT(count, 0u) << name;
    }
  }

  // The prediction equals what was counted, figure by figure.
  const json& predicted = report.at("predicted");
  EXPECT_EQ(predicted.at("totals"), report.at("totals"));
  EXPECT_EQ(predicted.at("records"), report.at("records"));
  const json& records = report.at("records");
  const json& rejected = records.at("rejected");
  uint64_t rejected_sum = 0;
  for (const std::string& reason : RejectReasons()) rejected_sum += Figure(rejected.at(reason));
  EXPECT_EQ(Figure(records.at("read")), Figure(records.at("counted")) + rejected_sum);
  EXPECT_EQ(Figure(rejected.at("malformed")), Figure(fired.at("corrupt")));
  EXPECT_EQ(Figure(rejected.at("unknown_station")), Figure(fired.at("unknown_station")));
  EXPECT_EQ(Figure(rejected.at("unknown_choice")), Figure(fired.at("unknown_choice")));
  EXPECT_EQ(Figure(rejected.at("bad_seq")), Figure(fired.at("bad_seq")));
  EXPECT_GT(Figure(rejected.at("duplicate")), 0u);
  EXPECT_GT(Figure(rejected.at("conflict")), 0u);

  // Each delta is counted - reported, and faults only lose ballots.
  const json& totals = report.at("totals");
  const json& reported = report.at("reported");
  const json& delta = report.at("delta");
  for (const char* code : {"JAL", "PEZ", "INV", "cast"}) {
    const int64_t counted = static_cast<int64_t>(Figure(totals.at(code)));
    const int64_t figure = static_cast<int64_t>(Figure(reported.at(code)));
    ASSERT_TRUE(delta.at(code).is_number_integer()) << code;
    EXPECT_EQ(delta.at(code).get<int64_t>(), counted - figure) << code;
    EXPECT_LE(counted, figure) << code;
  }
  EXPECT_LT(Figure(totals.at("cast")), kCast);
  EXPECT_EQ(Figure(reported.at("cast")), kCast);
}

TEST(CliFaultsTest, RunWithFaultsTextSaysGroundTruthExact) {
  const RunResult result = RunCanvass({"run", "--faults", kExampleFaults});
  ASSERT_EQ(result.exit_code, kExitMismatch) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr("ground truth EXACT"));
  EXPECT_THAT(result.out, Not(HasSubstr("DIFFERS")));
  EXPECT_THAT(result.out, HasSubstr(kExampleFaults));
  EXPECT_THAT(result.out, EndsWith("MISMATCH\n"));
  EXPECT_EQ(result.err, "");
}

TEST(CliFaultsTest, RunWithFaultsIsByteIdenticalForEveryThreadCount) {
  std::string first_output;
  for (const char* threads : {"1", "2", "5"}) {
    const RunResult result =
        RunCanvass({"run", "--faults", kExampleFaults, "--seed", "11", "--threads", threads,
                    "--format", "json", "--by", "station"});
    ASSERT_EQ(result.exit_code, kExitMismatch) << "threads " << threads << "\n" << Describe(result);
    if (first_output.empty()) {
      first_output = result.out;
      EXPECT_EQ(ParseJson(result).at("ground_truth"), "exact");
    } else {
      EXPECT_EQ(result.out, first_output) << "threads " << threads;
    }
  }
}

TEST(CliFaultsTest, ProbabilityOutsideZeroToOneIsAUsageErrorNamingTheItem) {
  const RunResult result = RunCanvass({"run", "--faults", "drop=2"});
  EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("drop=2"));
  EXPECT_EQ(result.out, "");
}

TEST(CliFaultsTest, UnknownFaultIsAUsageErrorNamingIt) {
  const RunResult result = RunCanvass({"run", "--faults", "drop=0.1,flood=0.1"});
  EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("flood"));
  EXPECT_EQ(result.out, "");
}

TEST(CliFaultsTest, MalformedFaultSpecsAreUsageErrors) {
  for (const char* spec : {"drop", "drop=abc", "drop=nan", "drop=0.1,drop=0.2", "drop=-0.5"}) {
    const RunResult result = RunCanvass({"run", "--faults", spec});
    EXPECT_EQ(result.exit_code, kExitInputError) << spec << "\n" << Describe(result);
    EXPECT_THAT(result.err, HasSubstr("--faults")) << spec;
    EXPECT_EQ(result.out, "") << spec;
  }
}

// ---- canvass stress ----

TEST(CliStressTest, RoundsEndWithTheSummaryLine) {
  const RunResult result = RunCanvass({"stress", "--rounds", "50", "--seed", "3"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  EXPECT_EQ(LastLine(result.out), "50 passed, 0 failed") << Describe(result);
  EXPECT_THAT(result.out, EndsWith("50 passed, 0 failed\n"));
  EXPECT_THAT(result.out, HasSubstr("rounds asserting each fault fired:"));
  EXPECT_THAT(result.out, Not(HasSubstr("FAILED")));
}

TEST(CliStressTest, SameSeedGivesTheSameOutput) {
  const RunResult first = RunCanvass({"stress", "--rounds", "20", "--seed", "9"});
  const RunResult second = RunCanvass({"stress", "--rounds", "20", "--seed", "9"});
  ASSERT_EQ(first.exit_code, kExitMatch) << Describe(first);
  ASSERT_EQ(second.exit_code, kExitMatch) << Describe(second);
  EXPECT_EQ(first.out, second.out);
  EXPECT_EQ(LastLine(first.out), "20 passed, 0 failed");
}

TEST(CliStressTest, ReplayRunsOneRound) {
  const RunResult result = RunCanvass({"stress", "--replay", "42"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  EXPECT_THAT(result.out, ::testing::StartsWith("round seed 42: "));
  EXPECT_EQ(LastLine(result.out), "1 passed, 0 failed") << Describe(result);
  EXPECT_THAT(result.out, EndsWith("1 passed, 0 failed\n"));
}

// The round a seed stands for does not depend on --threads, apart from the thread count
// itself: "round seed S: ..., T threads (rerun on R), batch size B, faults F".
TEST(CliStressTest, ReplayWithPinnedThreadsDescribesTheSameRound) {
  const RunResult drawn = RunCanvass({"stress", "--replay", "7"});
  const RunResult pinned = RunCanvass({"stress", "--replay", "7", "--threads", "3"});
  ASSERT_EQ(drawn.exit_code, kExitMatch) << Describe(drawn);
  ASSERT_EQ(pinned.exit_code, kExitMatch) << Describe(pinned);
  auto without_threads = [](const std::string& out) {
    std::string line = out.substr(0, out.find('\n'));
    const size_t end = line.find(" threads (");
    const size_t begin = line.rfind(", ", end);
    EXPECT_NE(end, std::string::npos) << line;
    EXPECT_NE(begin, std::string::npos) << line;
    if (begin != std::string::npos && end != std::string::npos) line.erase(begin, end - begin);
    return line;
  };
  EXPECT_THAT(pinned.out, HasSubstr(", 3 threads (rerun on "));
  EXPECT_EQ(without_threads(pinned.out), without_threads(drawn.out));
}

TEST(CliStressTest, ReplayOfTheLargestSeedRuns) {
  const RunResult result = RunCanvass({"stress", "--replay", "18446744073709551615"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  EXPECT_EQ(LastLine(result.out), "1 passed, 0 failed") << Describe(result);
}

TEST(CliStressTest, ZeroRoundsIsAUsageError) {
  const RunResult result = RunCanvass({"stress", "--rounds", "0"});
  EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("--rounds"));
  EXPECT_THAT(result.out, Not(HasSubstr("passed")));
}

TEST(CliStressTest, BadReplaySeedIsAUsageError) {
  for (const char* seed : {"abc", "-1", "18446744073709551616", ""}) {
    const RunResult result = RunCanvass({"stress", "--replay", seed});
    EXPECT_EQ(result.exit_code, kExitInputError) << seed << "\n" << Describe(result);
    EXPECT_THAT(result.out, Not(HasSubstr("passed"))) << seed;
  }
}

TEST(CliStressTest, HelpExitsZeroAndNamesEveryFlag) {
  const RunResult result = RunCanvass({"stress", "--help"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  EXPECT_THAT(result.out, AllOf(HasSubstr("--rounds"), HasSubstr("--seed"), HasSubstr("--threads"),
                                HasSubstr("--replay")));
}

// `--version` names the version, the revision, the kernel in use and what the CPU can run.
TEST(CliKernelTest, VersionNamesTheKernelInUse) {
  const RunResult result = RunCanvass({"--version"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  const std::vector<std::string> lines = absl::StrSplit(result.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u) << result.out;
  EXPECT_THAT(lines[0], ::testing::StartsWith("canvass 0.1.0 (revision "));
  std::vector<std::string> supported;
  for (Kernel kernel : SupportedKernels()) supported.emplace_back(KernelName(kernel));
  EXPECT_EQ(lines[1], absl::StrCat("kernel: ", supported.back(), " (this CPU can run ",
                                   absl::StrJoin(supported, ", "),
                                   "; CANVASS_KERNEL=portable|avx2|avx512 forces one)"));
  // Whether this build runs on mpirun: "yes (...)" or "no (built without MPI...)".
  EXPECT_THAT(lines[2], ::testing::MatchesRegex("mpi: (yes|no) \\(.*\\)"));
  EXPECT_THAT(lines[3], ::testing::StartsWith("build: "));
  for (const std::string& name : supported) {
    const RunResult forced = RunCanvass({"--version"}, {"CANVASS_KERNEL=" + name});
    ASSERT_EQ(forced.exit_code, kExitMatch) << Describe(forced);
    EXPECT_THAT(forced.out, HasSubstr(absl::StrCat("\nkernel: ", name, " (")));
  }
}

TEST(CliKernelTest, AKernelThatIsNotOneOrThatTheCpuLacksIsRefusedBeforeAnyWork) {
  RunResult result = RunCanvass({"run"}, {"CANVASS_KERNEL=sse9"});
  EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
  EXPECT_EQ(result.err,
            "canvass: CANVASS_KERNEL=sse9: not a kernel (expected portable, avx2 or avx512)\n");
  EXPECT_EQ(result.out, "");
  for (Kernel kernel : {Kernel::kAvx2, Kernel::kAvx512}) {
    if (KernelSupported(kernel)) continue;  // this CPU runs it (the test below uses it)
    result = RunCanvass({"run"}, {absl::StrCat("CANVASS_KERNEL=", KernelName(kernel))});
    EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
    EXPECT_THAT(result.err, HasSubstr("this CPU cannot run it (it can run portable"));
    EXPECT_EQ(result.out, "");
  }
}

// Every kernel the CPU can run gives byte-identical reports: on generated CSV and cvb
// folders with record faults and damaged files, and on one CSV whose lines (stations
// interleaved) are shuffled.
TEST(CliKernelTest, EveryKernelGivesTheSameReport) {
  TempDir temp;
  const std::string dir = temp.path().string();
  for (const char* format : {"csv", "cvb"}) {
    const RunResult generated = RunCanvass(
        {"generate", "--out", dir + "/" + format, "--format", format, "--scale", "2", "--seed",
         "17", "--faults", "dup=0.01,conflict=0.002,corrupt=0.002,unknown_choice=0.001",
         "--file-faults", "truncate=0.05,flip=0.05"});
    ASSERT_EQ(generated.exit_code, kExitMatch) << Describe(generated);
  }
  // The CSV files' rows in one file, shuffled (a seeded shuffle: the same file every run).
  std::vector<std::string> rows;
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/csv")) {
    if (entry.path().extension() != ".csv") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) rows.push_back(line);
  }
  std::sort(rows.begin(), rows.end());  // directory order is not fixed; the shuffle's input is
  std::shuffle(rows.begin(), rows.end(), std::mt19937(20240707));
  ASSERT_GT(rows.size(), 170000u);
  std::filesystem::create_directory(dir + "/shuffled");
  {
    std::ofstream out(dir + "/shuffled/all.csv", std::ios::binary);
    out << "station,seq,choice\n";
    for (const std::string& row : rows) out << row << "\n";
  }
  for (const char* folder : {"csv", "cvb", "shuffled"}) {
    SCOPED_TRACE(folder);
    std::string first_report;
    for (Kernel kernel : SupportedKernels()) {
      SCOPED_TRACE(KernelName(kernel));
      const RunResult result = RunCanvass({"reconcile", dir + "/" + folder, "--scale", "2",
                                           "--skip-damaged", "--format", "json", "--by", "station"},
                                          {absl::StrCat("CANVASS_KERNEL=", KernelName(kernel))});
      ASSERT_TRUE(result.exit_code == kExitMatch || result.exit_code == kExitMismatch)
          << Describe(result);
      if (first_report.empty()) {
        first_report = result.out;
        continue;
      }
      EXPECT_TRUE(result.out == first_report) << "the reports differ";
    }
  }
}

// ---- The HTML page (--format html, --html FILE) ----

TEST(CliHtmlTest, FormatHtmlAndHtmlFileWriteTheSamePageWithTheSameExitCode) {
  TempDir directory;
  const std::string page = directory.File("report.html");
  const RunResult html = RunCanvass({"run", "--faults", "drop=0.01", "--format", "html"});
  ASSERT_EQ(html.exit_code, kExitMismatch) << Describe(html);
  EXPECT_TRUE(absl::StartsWith(html.out, "<!DOCTYPE html>")) << html.out.substr(0, 200);
  EXPECT_THAT(html.out, HasSubstr("<b>SYNTHETIC</b>"));
  const RunResult beside =
      RunCanvass({"run", "--faults", "drop=0.01", "--format", "json", "--html", page});
  ASSERT_EQ(beside.exit_code, kExitMismatch) << Describe(beside);
  EXPECT_EQ(ParseJson(beside)["verdict"], "mismatch");
  EXPECT_TRUE(ReadFileBytes(page) == html.out) << "--html FILE differs from --format html";
  // Beside the text too, and for a match.
  const RunResult text = RunCanvass({"run", "--html", page});
  ASSERT_EQ(text.exit_code, kExitMatch) << Describe(text);
  EXPECT_THAT(text.out, HasSubstr("MATCH"));
  EXPECT_THAT(ReadFileBytes(page), HasSubstr("data-key=\"/verdict\">match</span>"));
}

TEST(CliHtmlTest, AggregateAndContestReportsHaveTheirPages) {
  TempDir directory;
  WriteFile(directory.path() / "ballots.csv", "station,seq,choice\nAE-01,1,JAL\nAE-01,x,PEZ\n");
  const RunResult ballots =
      RunCanvass({"aggregate", directory.path().string(), "--format", "html", "--quiet"});
  ASSERT_EQ(ballots.exit_code, kExitMatch) << Describe(ballots);
  EXPECT_THAT(ballots.out, HasSubstr("data-report-version=\"1\""));
  EXPECT_THAT(ballots.out, HasSubstr("ballots.csv:3"));  // the malformed record, located
  const std::string example =
      (std::filesystem::path(CANVASS_SOURCE_DIR) / "datasets" / "contests-example").string();
  const RunResult contests =
      RunCanvass({"reconcile", "--election", example, example + "/cvr.json", "--format", "html"});
  ASSERT_EQ(contests.exit_code, kExitMatch) << Describe(contests);
  EXPECT_THAT(contests.out, HasSubstr("data-report-version=\"2\""));
  EXPECT_THAT(contests.out, HasSubstr("data-key=\"/cells/compared\">39</span>"));
}

TEST(CliHtmlTest, AnHtmlFileThatCannotBeWrittenIsAnInputError) {
  const RunResult result =
      RunCanvass({"run", "--format", "json", "--html", "/nonexistent-canvass-dir/report.html"});
  EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("--html: cannot write the report: /nonexistent-canvass-dir"));
}

// ---- Plausibility warnings: thresholds as flags, the same warnings in every format ----

TEST(CliPlausibilityTest, TheInvalidShareThresholdPicksExactlyTheStationsAboveIt) {
  // 2.5%: above the reference election's 2.2% national share, so the stations whose
  // synthetic split carries more are found. Which they are is worked out here from the
  // same run's station rows: INV * 1000 > 25 * cast, where cast >= 100.
  const RunResult result =
      RunCanvass({"run", "--format", "json", "--by", "station", "--warn-invalid-share", "2.5"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  const json report = ParseJson(result);
  EXPECT_EQ(
      report["plausibility"],
      json({{"invalid_share_permille", 25}, {"blank_share_permille", 100}, {"min_ballots", 100}}));
  std::vector<std::string> expected;
  for (const json& station : report["stations"]) {
    const uint64_t inv = station["counted"]["INV"].get<uint64_t>();
    const uint64_t cast = station["counted"]["cast"].get<uint64_t>();
    if (cast >= 100 && inv * 1000 > 25 * cast) {
      expected.push_back(absl::StrCat(station["station"].get<std::string>(), " ", inv, "/", cast));
    }
  }
  ASSERT_FALSE(expected.empty());
  std::vector<std::string> warned;
  for (const json& w : report["warnings"]) {
    ASSERT_EQ(w["check"], "invalid_share") << w.dump();
    EXPECT_EQ(w["figures"]["threshold_permille"], 25);
    warned.push_back(absl::StrCat(w["unit"].get<std::string>(), " ",
                                  w["figures"]["invalid"].get<uint64_t>(), "/",
                                  w["figures"]["ballots"].get<uint64_t>()));
  }
  EXPECT_EQ(warned, expected);

  // The same warnings as text lines and CSV rows.
  const RunResult text = RunCanvass({"run", "--warn-invalid-share", "2.5"});
  ASSERT_EQ(text.exit_code, kExitMatch) << Describe(text);
  EXPECT_THAT(text.out, HasSubstr(absl::StrCat("\nPlausibility warnings (", expected.size(),
                                               "; they do not change the verdict):\n")));
  const RunResult csv = RunCanvass({"run", "--format", "csv", "--warn-invalid-share", "2.5%"});
  ASSERT_EQ(csv.exit_code, kExitMatch) << Describe(csv);
  for (const json& w : report["warnings"]) {
    EXPECT_THAT(text.out, HasSubstr(absl::StrCat(
                              "  invalid_share: ", w["message"].get<std::string>(), "\n")));
    EXPECT_THAT(csv.out,
                HasSubstr(absl::StrCat("\nwarning,", w["unit"].get<std::string>(),
                                       ",invalid_share,", w["figures"]["invalid"].get<uint64_t>(),
                                       ",", w["figures"]["ballots"].get<uint64_t>(), ",\n")));
  }
  // At the default 5% the reference run has none, and says nothing of them in text.
  const RunResult plain = RunCanvass({"run", "--format", "json"});
  EXPECT_EQ(ParseJson(plain)["warnings"], json::array());
  EXPECT_THAT(RunCanvass({"run"}).out, Not(HasSubstr("Plausibility")));
}

TEST(CliPlausibilityTest, AThresholdThatIsNotAPercentIsAUsageError) {
  for (const char* bad : {"101", "2.55", "-1", "five", "%", ".5", "1e2"}) {
    SCOPED_TRACE(bad);
    const RunResult result = RunCanvass({"run", "--warn-blank-share", bad});
    EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
    EXPECT_EQ(result.out, "");
    EXPECT_THAT(result.err, HasSubstr(absl::StrCat(
                                "--warn-blank-share: expected a percent in 0..100 with at most one "
                                "decimal (e.g. 5 or 2.5), got \"",
                                bad, "\"")));
  }
  const RunResult min = RunCanvass({"run", "--warn-min-ballots", "x"});
  EXPECT_EQ(min.exit_code, kExitInputError) << Describe(min);
  EXPECT_THAT(min.err, HasSubstr("--warn-min-ballots"));
}

TEST(CliPlausibilityTest, ContestReportsCarryTheirWarningsInEveryFormat) {
  // The real Alaska slice: its House contest (7) carries the InvalidContest condition on 73
  // of its 197 ballots (tests/dominion/README.md): 73 of 197 is above 5% at the whole
  // election.
  const std::string alaska =
      (std::filesystem::path(CANVASS_SOURCE_DIR) / "datasets" / "dominion" / "alaska-2024-partial")
          .string();
  const RunResult result = RunCanvass({"aggregate", alaska, "--format", "json"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  const json report = ParseJson(result);
  bool house = false;
  for (const json& w : report["warnings"]) {
    if (w["check"] == "invalid_share" && w["contest"] == "7" && w["unit"] == "election") {
      house = true;
      EXPECT_EQ(w["figures"],
                json({{"invalid", 73}, {"ballots", 197}, {"threshold_permille", 50}}));
    }
  }
  EXPECT_TRUE(house) << report["warnings"].dump();
  const RunResult csv = RunCanvass({"aggregate", alaska, "--format", "csv"});
  ASSERT_EQ(csv.exit_code, kExitMatch) << Describe(csv);
  EXPECT_THAT(csv.out, HasSubstr("\nelection,7,warning:invalid_share,73\n"));
  const RunResult text = RunCanvass({"aggregate", alaska});
  EXPECT_THAT(text.out, HasSubstr("  invalid_share: the whole election, contest '7': 73 invalid of "
                                  "197 ballots (37.1%) is above the 5% threshold\n"));
}

// ---- Input hashes in the provenance ----

TEST(CliInputHashesTest, EveryInputFileCarriesItsSizeAndTheHashItsManifestGives) {
  TempDir directory;
  const std::string folder = (directory.path() / "csv").string();
  const RunResult generated =
      RunCanvass({"generate", "--out", folder, "--format", "csv", "--seed", "3"});
  ASSERT_EQ(generated.exit_code, kExitMatch) << Describe(generated);
  const json manifest = json::parse(ReadFileBytes(std::filesystem::path(folder) / "manifest.json"));
  std::map<std::string, std::pair<uint64_t, std::string>> want;  // path: bytes, xxh3_128
  for (const json& file : manifest["files"]) {
    want[folder + "/" + file["file"].get<std::string>()] = {file["bytes"].get<uint64_t>(),
                                                            file["xxh3_128"].get<std::string>()};
  }
  // Without the flag the report keeps its shape; with it, or with --html, it has them.
  const json plain = ParseJson(RunCanvass({"aggregate", folder, "--format", "json"}));
  EXPECT_FALSE(plain["inputs"].contains("xxh3"));
  const std::string page = (directory.path() / "report.html").string();
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{"--hash-inputs"}, std::vector<std::string>{"--html", page}}) {
    std::vector<std::string> args = {"aggregate", folder, "--format", "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    const RunResult result = RunCanvass(args);
    ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
    const json inputs = ParseJson(result)["inputs"];
    ASSERT_EQ(inputs["paths"].size(), want.size());
    ASSERT_EQ(inputs["xxh3"].size(), want.size());
    ASSERT_EQ(inputs["sizes"].size(), want.size());
    for (size_t f = 0; f < want.size(); ++f) {
      const std::string path = inputs["paths"][f].get<std::string>();
      ASSERT_TRUE(want.count(path)) << path;
      EXPECT_EQ(inputs["sizes"][f].get<uint64_t>(), want[path].first) << path;
      EXPECT_EQ(inputs["xxh3"][f].get<std::string>(), want[path].second) << path;
    }
  }
  // The page shows them, keyed to the JSON.
  EXPECT_THAT(ReadFileBytes(page), HasSubstr(absl::StrCat("<code data-key=\"/inputs/xxh3/0\">",
                                                          want.begin()->second.second, "</code>")));
}

TEST(CliInputHashesTest, AContestReportHashesEachFileAndAChangedByteChangesOnlyItsHash) {
  TempDir directory;
  const std::filesystem::path source =
      std::filesystem::path(CANVASS_SOURCE_DIR) / "datasets" / "dominion" / "alaska-2024-partial";
  const std::filesystem::path copy = directory.path() / "alaska";
  std::filesystem::copy(source, copy);
  const auto hashes = [&]() {
    const RunResult result =
        RunCanvass({"aggregate", copy.string(), "--format", "json", "--hash-inputs"});
    EXPECT_EQ(result.exit_code, kExitMatch) << Describe(result);
    std::map<std::string, std::string> out;
    const json report = ParseJson(result);
    for (const json& input : report["inputs"]) {
      out[input["path"].get<std::string>()] = input["xxh3"].get<std::string>();
    }
    return out;
  };
  const std::map<std::string, std::string> before = hashes();
  ASSERT_EQ(before.size(), 10u);  // the slice's 10 CvrExport files
  for (const auto& [path, hash] : before) {
    EXPECT_EQ(hash.size(), 32u) << path;
    EXPECT_EQ(hash.find_first_not_of("0123456789abcdef"), std::string::npos) << hash;
  }
  // A trailing newline: the same sessions, other bytes.
  const std::string changed = before.begin()->first;
  WriteFile(changed, ReadFileBytes(changed) + "\n");
  const std::map<std::string, std::string> after = hashes();
  for (const auto& [path, hash] : before) {
    if (path == changed) {
      EXPECT_NE(after.at(path), hash);
    } else {
      EXPECT_EQ(after.at(path), hash) << path;
    }
  }
}

// ---- NIST XML reports define their own election ----

TEST(CliNistXmlTest, AnXmlReportAggregatesAsItsJsonTwinWithoutElectionFlags) {
  for (const char* id : {"gen-01", "gen-03", "prim-01"}) {
    SCOPED_TRACE(id);
    const std::string base =
        (std::filesystem::path(CANVASS_SOURCE_DIR) / "datasets" / "nist-cdf" / id / "cvr-")
            .string() +
        id;
    const RunResult xml =
        RunCanvass({"aggregate", base + ".xml", "--format", "json", "--by", "unit"});
    const RunResult from_json =
        RunCanvass({"aggregate", base + ".json", "--format", "json", "--by", "unit"});
    ASSERT_EQ(xml.exit_code, kExitMatch) << Describe(xml);
    ASSERT_EQ(from_json.exit_code, kExitMatch) << Describe(from_json);
    json a = ParseJson(xml);
    json b = ParseJson(from_json);
    EXPECT_EQ(a["election"]["source"], base + ".xml (its Election and GpUnit)");
    for (json* report : {&a, &b}) {
      report->erase("inputs");
      (*report)["election"].erase("source");
    }
    EXPECT_EQ(a, b);
  }
}

TEST(CliNistXmlTest, AReportThatDefinesNoElectionAndNoFlagIsAnInputError) {
  TempDir directory;
  const std::string path = (directory.path() / "bare.xml").string();
  WriteFile(path,
            "<?xml version=\"1.0\"?>\n<CastVoteRecordReport "
            "xmlns=\"http://itl.nist.gov/ns/voting/1500-103/v1\"><Version>1.0.0</Version>"
            "</CastVoteRecordReport>\n");
  const RunResult result = RunCanvass({"aggregate", path, "--format", "json"});
  EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err,
              HasSubstr(absl::StrCat(path,
                                     ": the report defines no election (no Election and GpUnit); "
                                     "give the results report with --reported or --election")));
}

// ---- generate --reported ERR --format cvb: the generated CVRs as contest ballots ----

TEST(CliGenerateCvbTest, TheCvbIsTheConvertedJsonByteForByteAndReconcilesToMatch) {
  TempDir directory;
  for (const char* id : {"gen-01", "gen-03", "prim-01"}) {
    SCOPED_TRACE(id);
    const std::string err = (std::filesystem::path(CANVASS_SOURCE_DIR) / "datasets" / "nist-cdf" /
                             id / absl::StrCat("err-", id, ".json"))
                                .string();
    const std::string json_dir = (directory.path() / absl::StrCat(id, "-json")).string();
    const std::string cvb_dir = (directory.path() / absl::StrCat(id, "-cvb")).string();
    for (const auto& [format, out] :
         {std::pair{"nist-json", json_dir}, std::pair{"cvb", cvb_dir}}) {
      const RunResult generated =
          RunCanvass({"generate", "--reported", err, "--format", format, "--scale", "3", "--seed",
                      "11", "--interleave", "--out", out});
      ASSERT_EQ(generated.exit_code, kExitMatch) << Describe(generated);
    }
    const std::string converted = (directory.path() / absl::StrCat(id, "-converted.cvb")).string();
    const RunResult convert =
        RunCanvass({"convert", json_dir + "/cvr.json", "--to", "cvb", "--out", converted});
    ASSERT_EQ(convert.exit_code, kExitMatch) << Describe(convert);
    EXPECT_EQ(ReadFileBytes(cvb_dir + "/cvr.cvb"), ReadFileBytes(converted));
    const RunResult reconciled = RunCanvass(
        {"reconcile", "--reported", err, "--scale", "3", cvb_dir + "/cvr.cvb", "--format", "json"});
    ASSERT_EQ(reconciled.exit_code, kExitMatch) << Describe(reconciled);
    const json report = ParseJson(reconciled);
    EXPECT_EQ(report["verdict"], "match");
    EXPECT_EQ(report["synthetic"], true);
    EXPECT_EQ(report["cells"]["mismatched"], 0);
    EXPECT_GT(report["cells"]["compared"].get<uint64_t>(), 0u);
    // The folder generate wrote reads as its file does (a .cvb of contest ballots is a
    // cast vote record input of a folder, as .json and .xml reports are), paths aside.
    const RunResult folder =
        RunCanvass({"reconcile", "--reported", err, "--scale", "3", cvb_dir, "--format", "json"});
    ASSERT_EQ(folder.exit_code, kExitMatch) << Describe(folder);
    json from_folder = ParseJson(folder);
    EXPECT_EQ(from_folder["records"], report["records"]);
    EXPECT_EQ(from_folder["cells"], report["cells"]);
    EXPECT_EQ(from_folder["inputs"][0]["path"], cvb_dir + "/cvr.cvb");
  }
}

// ---- generate --reported ERR --faults SPEC: generated CVRs with their ground truth ----

TEST(CliGenerateFaultsTest, ReconcileShowsTheInjectedLossesAndTheExactGroundTruth) {
  TempDir directory;
  const std::string err = (std::filesystem::path(CANVASS_SOURCE_DIR) / "datasets" / "nist-cdf" /
                           "gen-03" / "err-gen-03.json")
                              .string();
  for (const char* format : {"nist-json", "cvb"}) {
    SCOPED_TRACE(format);
    const std::string out = (directory.path() / format).string();
    const RunResult generated = RunCanvass(
        {"generate", "--reported", err, "--format", format, "--scale", "40", "--seed", "3",
         "--interleave", "--faults",
         "drop=0.02,dup=0.02,conflict=0.01,corrupt=0.01,unknown_station=0.01,unknown_choice=0.01,"
         "double_report=0.5",
         "--out", out});
    ASSERT_EQ(generated.exit_code, kExitMatch) << Describe(generated);
    const std::string predicted = out + "-predicted.json";
    EXPECT_THAT(generated.out, HasSubstr(absl::StrCat("predicted figures: ", predicted)));
    const std::string records =
        absl::StrCat(out, "/", std::string(format) == "cvb" ? "cvr.cvb" : "cvr.json");
    const RunResult reconciled =
        RunCanvass({"reconcile", "--reported", err, "--scale", "40", "--predicted", predicted,
                    records, "--format", "json"});
    // The faults lose ballots: the reported figures no longer add up.
    ASSERT_EQ(reconciled.exit_code, kExitMismatch) << Describe(reconciled);
    const json report = ParseJson(reconciled);
    EXPECT_EQ(report["ground_truth"], "exact");
    EXPECT_EQ(report["predicted"]["cells_differing"], 0);
    EXPECT_EQ(report["predicted"]["records"], report["records"]);
    EXPECT_EQ(report["faults"]["plan"],
              "drop=0.02,dup=0.02,conflict=0.01,corrupt=0.01,unknown_station=0.01,"
              "unknown_choice=0.01,double_report=0.5");
    const json prediction = json::parse(ReadFileBytes(predicted));
    EXPECT_EQ(report["faults"]["fired"], prediction["fired"]);
    EXPECT_GT(report["records"]["rejected"]["duplicate"].get<uint64_t>(), 0u);
    EXPECT_GT(report["records"]["rejected"]["malformed"].get<uint64_t>(), 0u);
    EXPECT_GT(report["cells"]["mismatched"].get<uint64_t>(), 0u);
    const RunResult text = RunCanvass(
        {"aggregate", "--reported", err, "--predicted", predicted, records, "--threads", "2"});
    ASSERT_EQ(text.exit_code, kExitMatch) << Describe(text);
    EXPECT_THAT(text.out,
                HasSubstr("ground truth EXACT: every predicted figure reproduced, in every unit"));
  }
}

TEST(CliGenerateFaultsTest, AnEditedPredictionIsShownAsDiffering) {
  TempDir directory;
  const std::string err = (std::filesystem::path(CANVASS_SOURCE_DIR) / "datasets" / "nist-cdf" /
                           "gen-01" / "err-gen-01.json")
                              .string();
  const std::string out = (directory.path() / "g").string();
  const RunResult generated = RunCanvass({"generate", "--reported", err, "--format", "nist-json",
                                          "--faults", "dup=0.5", "--out", out});
  ASSERT_EQ(generated.exit_code, kExitMatch) << Describe(generated);
  json prediction = json::parse(ReadFileBytes(out + "-predicted.json"));
  json& cell = prediction["units"][0]["cells"][0];
  ASSERT_EQ(cell["figure"], "ballots_cast");
  const uint64_t ballots = cell["count"].get<uint64_t>();
  cell["count"] = ballots + 1;
  const std::string edited = (directory.path() / "edited.json").string();
  WriteFile(edited, prediction.dump());
  const RunResult result = RunCanvass({"aggregate", "--reported", err, "--predicted", edited,
                                       out + "/cvr.json", "--format", "json"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  const json report = ParseJson(result);
  EXPECT_EQ(report["ground_truth"], "differs");
  ASSERT_EQ(report["predicted"]["cells_differing"], 1);
  const json& difference = report["predicted"]["differences"][0];
  EXPECT_EQ(difference["unit"], prediction["units"][0]["unit"]);
  EXPECT_EQ(difference["selection"], "ballots_cast");
  EXPECT_EQ(difference["predicted"], ballots + 1);
  EXPECT_EQ(difference["counted"], ballots);
  const RunResult text =
      RunCanvass({"aggregate", "--reported", err, "--predicted", edited, out + "/cvr.json"});
  EXPECT_THAT(text.out, HasSubstr("<-- differs"));
  EXPECT_THAT(text.out, HasSubstr("ground truth DIFFERS"));
}

TEST(CliGenerateFaultsTest, MisusedFaultsAndPredictionsAreInputErrors) {
  TempDir directory;
  const std::string err = (std::filesystem::path(CANVASS_SOURCE_DIR) / "datasets" / "nist-cdf" /
                           "gen-01" / "err-gen-01.json")
                              .string();
  const std::string out = (directory.path() / "g").string();
  const struct {
    std::vector<std::string> args;
    std::string message;
  } cases[] = {
      {{"generate", "--reported", err, "--format", "nist-json", "--faults", "bad_seq=0.1", "--out",
        out},
       "--faults bad_seq: cast vote records have no serial numbers to damage"},
      {{"generate", "--reported", err, "--format", "cvb", "--faults", "reorder=1", "--out", out},
       "--faults reorder: the order of cast vote records is --interleave's"},
      {{"generate", "--reported", err, "--format", "dominion", "--faults", "dup=0.1", "--out", out},
       "a Dominion export is generated without faults"},
      {{"generate", "--reported", err, "--format", "nist-json", "--file-faults", "truncate=0.1",
        "--out", out},
       "--file-faults applies to ballot files (csv, cvb)"},
      {{"aggregate", "--reported", err, "--predicted", out + "-missing.json",
        (std::filesystem::path(CANVASS_SOURCE_DIR) / "datasets" / "nist-cdf" / "gen-01" /
         "cvr-gen-01.json")
            .string()},
       out + "-missing.json"},
      {{"aggregate", "--predicted", err,
        (std::filesystem::path(CANVASS_SOURCE_DIR) / "tests" / "data" / "nist_bad" /
         "csv_ballot_file.csv")
            .string()},
       "--predicted " + err + ": applies to cast vote records generated with faults"},
  };
  for (const auto& c : cases) {
    const RunResult result = RunCanvass(c.args);
    EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
    EXPECT_THAT(result.err, HasSubstr(c.message)) << Describe(result);
    EXPECT_EQ(result.out, "");
  }
  EXPECT_FALSE(std::filesystem::exists(out));
}

// ---- the CVR JSON scanner's kernels ----

// Every NIST catalogue file (strings with brackets, escapes, truncations, broken records)
// and NIST's own reports read to byte-identical output, exit code and message under every
// kernel this CPU runs: the scanner's block classifier is written per kernel.
TEST(CliCvrKernelTest, EveryKernelReadsEveryCatalogueFileAlike) {
  const std::filesystem::path data =
      std::filesystem::path(CANVASS_SOURCE_DIR) / "tests" / "data" / "nist_bad";
  const std::string err = (data / "err-tiny.json").string();
  std::vector<std::vector<std::string>> jobs;
  for (const auto& entry : std::filesystem::directory_iterator(data)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".json" || name == "err-tiny.json") continue;
    jobs.push_back({"aggregate", "--reported", err, "--format", "json", entry.path().string()});
  }
  for (const char* id : {"gen-01", "gen-03", "prim-01"}) {
    const std::filesystem::path base =
        std::filesystem::path(CANVASS_SOURCE_DIR) / "datasets" / "nist-cdf" / id;
    jobs.push_back({"reconcile", "--reported", (base / absl::StrCat("err-", id, ".json")).string(),
                    "--format", "json", "--by", "unit",
                    (base / absl::StrCat("cvr-", id, ".json")).string()});
  }
  std::sort(jobs.begin(), jobs.end());
  ASSERT_GE(jobs.size(), 45u);
  std::vector<std::string> kernels;
  for (const Kernel kernel : SupportedKernels()) kernels.emplace_back(KernelName(kernel));
  for (const std::vector<std::string>& job : jobs) {
    SCOPED_TRACE(job.back());
    const RunResult portable = RunCanvass(job, {"CANVASS_KERNEL=portable"});
    EXPECT_NE(portable.exit_code, 3) << Describe(portable);
    for (const std::string& kernel : kernels) {
      const RunResult result = RunCanvass(job, {"CANVASS_KERNEL=" + kernel});
      EXPECT_EQ(result.exit_code, portable.exit_code) << kernel;
      EXPECT_EQ(result.out, portable.out) << kernel;
      EXPECT_EQ(result.err, portable.err) << kernel;
    }
  }
}

}  // namespace
}  // namespace canvass
