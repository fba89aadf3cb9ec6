// End-to-end tests of the `canvass` command line: runs the real binary as a child process
// and checks its output, exit codes and error messages against the DESIGN.md contract.
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

extern char** environ;

namespace canvass {
namespace {

using ::nlohmann::json;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kExitMatch = 0;
constexpr int kExitInputError = 2;

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

// What a finished child process left behind.
struct RunResult {
  int exit_code = -1;  // exit status, or 128 + signal number when killed by a signal
  std::string out;
  std::string err;
};

// Prints the captured streams when an assertion about a run fails.
std::string Describe(const RunResult& result) {
  return absl::StrCat("exit ", result.exit_code, "\n--- stdout ---\n", result.out.substr(0, 4000),
                      "\n--- stderr ---\n", result.err.substr(0, 4000));
}

// Runs the real canvass binary with `args` (no shell), capturing stdout, stderr and the
// exit code separately. Both pipes are drained with poll() so that a child writing a lot
// to one stream never blocks on the other.
RunResult RunCanvass(const std::vector<std::string>& args) {
  RunResult result;
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2: " << std::strerror(errno);
    return result;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);

  std::vector<std::string> argv_strings = {CANVASS_BINARY};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);

  pid_t pid = 0;
  const int spawn_error =
      posix_spawn(&pid, CANVASS_BINARY, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (spawn_error != 0) {
    ADD_FAILURE() << "posix_spawn " << CANVASS_BINARY << ": " << std::strerror(spawn_error);
    close(out_pipe[0]);
    close(err_pipe[0]);
    return result;
  }

  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_streams = 2;
  char buffer[65536];
  while (open_streams > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      ADD_FAILURE() << "poll: " << std::strerror(errno);
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_streams;
      }
    }
  }
  for (const pollfd& fd : fds) {
    if (fd.fd >= 0) close(fd.fd);
  }

  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      ADD_FAILURE() << "waitpid: " << std::strerror(errno);
      return result;
    }
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.exit_code = 128 + WTERMSIG(status);
  }
  return result;
}

// Parses stdout as JSON; a parse failure is a test failure and yields null.
json ParseJson(const RunResult& result) {
  json parsed = json::parse(result.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(parsed.is_discarded()) << "stdout is not JSON\n" << Describe(result);
  return parsed;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
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
  const std::string text = ReadFile(ReferenceDatasetDirectory() / "roster.csv");
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
    std::string election = ReadFile(ReferenceDatasetDirectory() / "election.json");
    std::string roster = ReadFile(ReferenceDatasetDirectory() / "roster.csv");
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
  WriteFile(directory / "roster.csv", ReadFile(ReferenceDatasetDirectory() / "roster.csv"));
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

}  // namespace
}  // namespace canvass
