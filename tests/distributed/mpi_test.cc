// The multi-process mode end to end: the real `canvass` binary under a real `mpirun` with
// 1 to 4 ranks, against the same binary run as one process. Every report must be byte
// for byte the one-process report, whatever the ranks and threads, and copies of one
// ballot read by different ranks must be caught exactly as in one process.
// (tests/tools/golden_test.sh, under CANVASS_LAUNCHER, runs the whole golden catalogue
// through mpirun as well: ctest's GoldenReportTest.*UnderMpirun.)
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/run_canvass.h"
#include "tests/testing/temp_dir.h"

namespace canvass {
namespace {

using ::canvass::testing::Describe;
using ::canvass::testing::kExitInputError;
using ::canvass::testing::kExitMatch;
using ::canvass::testing::kExitMismatch;
using ::canvass::testing::RunCanvass;
using ::canvass::testing::RunProgram;
using ::canvass::testing::RunResult;
using ::canvass::testing::TempDir;
using ::nlohmann::json;
using ::testing::HasSubstr;

constexpr uint64_t kCast = 88325;
constexpr char kFaults[] =
    "drop=0.01,dup=0.005,conflict=0.001,corrupt=0.001,unknown_station=0.0005,"
    "unknown_choice=0.0005,bad_seq=0.0005,reorder=1,truncate=0.01,double_report=0.02";

// `canvass ARGS` as a job of `ranks` ranks (as root here: mpirun needs to be told).
RunResult RunOnRanks(int ranks, const std::vector<std::string>& args) {
  std::vector<std::string> mpirun_args = {"--allow-run-as-root", "--oversubscribe", "--quiet",
                                          "-np", absl::StrCat(ranks), CANVASS_BINARY};
  mpirun_args.insert(mpirun_args.end(), args.begin(), args.end());
  return RunProgram(CANVASS_MPIRUN, mpirun_args);
}

// Runs `args` in one process, then on every rank count and thread count given, and
// expects the same stdout, stderr and exit code each time. Returns the one-process run.
RunResult ExpectSameOnRanks(const std::vector<std::string>& args, std::vector<int> rank_counts,
                            std::vector<int> thread_counts) {
  const RunResult one = RunCanvass(args);
  for (int ranks : rank_counts) {
    for (int threads : thread_counts) {
      std::vector<std::string> with_threads = args;
      with_threads.push_back("--threads");
      with_threads.push_back(absl::StrCat(threads));
      const RunResult many = RunOnRanks(ranks, with_threads);
      SCOPED_TRACE(absl::StrCat(ranks, " ranks x ", threads, " threads: canvass ",
                                absl::StrJoin(args, " ")));
      EXPECT_EQ(many.exit_code, one.exit_code) << Describe(many);
      EXPECT_EQ(many.out, one.out);
      EXPECT_EQ(many.err, one.err);
    }
  }
  return one;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteAll(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

TEST(MpiRunTest, ReferenceElectionIsByteIdenticalForEveryRankAndThreadCount) {
  const RunResult one =
      ExpectSameOnRanks({"run", "--format", "json", "--by", "station"}, {1, 2, 3, 4}, {1, 2});
  ASSERT_EQ(one.exit_code, kExitMatch) << Describe(one);
  const json report = json::parse(one.out);
  EXPECT_EQ(report["records"]["read"], kCast);
  EXPECT_EQ(report["records"]["counted"], kCast);
}

TEST(MpiRunTest, FaultsAtScaleAreByteIdenticalInEveryFormat) {
  for (const char* format : {"json", "text", "csv"}) {
    const RunResult one = ExpectSameOnRanks(
        {"run", "--scale", "4", "--seed", "11", "--faults", kFaults, "--format", format, "--by",
         "station"},
        {2, 4}, {1});
    // Faults make the totals miss the reported figures: exit 1, with the exact prediction.
    EXPECT_EQ(one.exit_code, kExitMismatch) << Describe(one);
  }
}

// A generated folder with every record fault and every file fault, read as CSV and as
// cvb, aggregated and reconciled, with and without --skip-damaged.
TEST(MpiFilesTest, FaultyFoldersAreByteIdenticalForEveryRankCount) {
  TempDir dir;
  for (const char* format : {"csv", "cvb"}) {
    const std::string folder = dir.File(format);
    const RunResult generated =
        RunCanvass({"generate", "--out", folder, "--format", format, "--scale", "3", "--seed",
                    "5", "--faults", kFaults, "--file-faults",
                    "truncate=0.05,flip=0.05,missing=0.02,extra=1"});
    ASSERT_EQ(generated.exit_code, kExitMatch) << Describe(generated);
    const RunResult skipping = ExpectSameOnRanks(
        {"reconcile", folder, "--skip-damaged", "--format", "json", "--by", "station"},
        {1, 2, 3, 4}, {1});
    EXPECT_EQ(skipping.exit_code, kExitMismatch) << Describe(skipping);
    const json report = json::parse(skipping.out);
    EXPECT_GT(report["records"]["rejected"]["duplicate"].get<uint64_t>(), 0u);
    EXPECT_GT(report["records"]["rejected"]["conflict"].get<uint64_t>(), 0u);
    ExpectSameOnRanks({"aggregate", folder, "--skip-damaged", "--format", "text"}, {3}, {2});
    ExpectSameOnRanks({"reconcile", folder, "--skip-damaged", "--format", "csv"}, {2}, {1});
    // Without --skip-damaged a damaged cvb block ends the job: exit 2, the one message of
    // one process. (A cut or flipped CSV file reads as lines; the manifest check finds it.)
    const RunResult stopped = ExpectSameOnRanks({"reconcile", folder}, {2, 4}, {1});
    if (std::string(format) == "cvb") {
      EXPECT_EQ(stopped.exit_code, kExitInputError) << Describe(stopped);
      EXPECT_THAT(stopped.err, HasSubstr("--skip-damaged"));
    } else {
      EXPECT_EQ(stopped.exit_code, kExitMismatch) << Describe(stopped);
      EXPECT_THAT(stopped.out, HasSubstr("FINDING"));
    }
  }
}

// One file of every ballot with the stations interleaved line by line (cut into several
// ranges, read by different ranks), and a second file holding copies of its first 30,000
// lines, every 7th with another choice: each copy lies on another rank than its original
// for most ranks, and must still be a duplicate or a conflict, exactly.
TEST(MpiFilesTest, CopiesReadByDifferentRanksAreCaughtExactly) {
  TempDir dir;
  const std::string stations = dir.File("stations");
  ASSERT_EQ(RunCanvass({"generate", "--out", stations, "--format", "csv", "--scale", "3"})
                .exit_code,
            kExitMatch);
  std::vector<std::string> rows;
  for (const auto& entry : std::filesystem::directory_iterator(stations)) {
    if (entry.path().extension() != ".csv") continue;
    const std::string text = ReadAll(entry.path().string());
    std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
    rows.insert(rows.end(), lines.begin() + 1, lines.end());  // past the header
  }
  std::sort(rows.begin(), rows.end());  // directory order is not fixed; the shuffle is
  std::shuffle(rows.begin(), rows.end(), std::mt19937_64(20240705));
  ASSERT_EQ(rows.size(), 3 * kCast);
  const std::string folder = dir.File("interleaved");
  std::filesystem::create_directory(folder);
  WriteAll(folder + "/all.csv", absl::StrCat("station,seq,choice\n", absl::StrJoin(rows, "\n"), "\n"));
  ASSERT_GT(std::filesystem::file_size(folder + "/all.csv"), 3u << 20);  // several ranges
  constexpr uint64_t kCopies = 30000;
  uint64_t altered = 0;
  std::string copies = "station,seq,choice\n";
  for (uint64_t i = 0; i < kCopies; ++i) {
    std::vector<std::string> fields = absl::StrSplit(rows[i], ',');
    if (i % 7 == 6) {
      fields[2] = fields[2] == "JAL" ? "PEZ" : "JAL";
      ++altered;
    }
    absl::StrAppend(&copies, absl::StrJoin(fields, ","), "\n");
  }
  WriteAll(folder + "/copies.csv", copies);
  const RunResult one = ExpectSameOnRanks(
      {"aggregate", folder, "--scale", "3", "--format", "json", "--by", "station"}, {1, 2, 3, 4},
      {1, 2});
  ASSERT_EQ(one.exit_code, kExitMatch) << Describe(one);
  const json records = json::parse(one.out)["records"];
  EXPECT_EQ(records["read"], 3 * kCast + kCopies);
  EXPECT_EQ(records["counted"], 3 * kCast - altered);
  EXPECT_EQ(records["rejected"]["duplicate"], kCopies - altered);
  // Both copies of each conflicting identity are quarantined.
  EXPECT_EQ(records["rejected"]["conflict"], 2 * altered);
}

TEST(MpiRefusalsTest, CommandsOfOneProcessSayWhyOnSeveralRanks) {
  TempDir dir;
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::string checkpoint = dir.File("job.ckpt");
  const std::vector<Case> cases = {
      {{"generate", "--out", dir.File("g")}, "canvass generate runs in one process"},
      {{"stress", "--rounds", "1"}, "canvass stress runs in one process"},
      {{"aggregate", CANVASS_SOURCE_DIR "/tests/data/bad_inputs/duplicate.csv", "--election",
        CANVASS_SOURCE_DIR "/tests/data/tiny_election", "--checkpoint", checkpoint},
       "a job of several ranks is not checkpointed yet"},
  };
  for (const Case& c : cases) {
    const RunResult result = RunOnRanks(2, c.args);
    EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
    EXPECT_THAT(result.err, HasSubstr(c.message)) << Describe(result);
    EXPECT_TRUE(result.out.empty()) << Describe(result);
  }
  EXPECT_FALSE(std::filesystem::exists(dir.File("g")));
  EXPECT_FALSE(std::filesystem::exists(checkpoint));
  // The same commands on one rank are the one-process program.
  const RunResult one_rank = RunOnRanks(1, {"stress", "--rounds", "2", "--seed", "3"});
  EXPECT_EQ(one_rank.exit_code, kExitMatch) << Describe(one_rank);
}

TEST(MpiVersionTest, VersionSaysTheBuildRunsOnMpirun) {
  const RunResult version = RunCanvass({"--version"});
  EXPECT_THAT(version.out, HasSubstr("mpi: yes"));
}

}  // namespace
}  // namespace canvass
