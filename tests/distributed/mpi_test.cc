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

#include "absl/strings/match.h"
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
using ::testing::HasSubstr;

constexpr uint64_t kCast = 88325;
constexpr char kFaults[] =
    "drop=0.01,dup=0.005,conflict=0.001,corrupt=0.001,unknown_station=0.0005,"
    "unknown_choice=0.0005,bad_seq=0.0005,reorder=1,truncate=0.01,double_report=0.02";

// Open MPI 4.1's runtime (its libevent) now and then warns on mpirun's stderr when a
// rank's connection closes under it: "[warn] Epoll MOD(1) on fd 27 failed. Old events were
// 6; read change was 0 (none); write change was 2 (del); close change was 0 (none): Bad
// file descriptor". It is mpirun's line, not the job's (it made CI fail by chance once):
// those lines, and nothing else, are taken out of `err`.
std::string WithoutRuntimeWarnings(const std::string& err) {
  std::string kept;
  for (absl::string_view line : absl::StrSplit(err, absl::ByString("\n"))) {
    if (absl::StartsWith(line, "[warn] Epoll ") && absl::StrContains(line, " on fd ") &&
        absl::StrContains(line, " failed.")) {
      continue;
    }
    absl::StrAppend(&kept, line, "\n");
  }
  kept.pop_back();  // StrSplit gave one more piece than the text has line ends
  return kept;
}

// `canvass ARGS` as a job of `ranks` ranks (as root here: mpirun needs to be told).
RunResult RunOnRanks(int ranks, const std::vector<std::string>& args) {
  std::vector<std::string> mpirun_args = {
      "--allow-run-as-root", "--oversubscribe", "--quiet", "-np",
      absl::StrCat(ranks),   CANVASS_BINARY};
  mpirun_args.insert(mpirun_args.end(), args.begin(), args.end());
  RunResult result = RunProgram(CANVASS_MPIRUN, mpirun_args);
  result.err = WithoutRuntimeWarnings(result.err);
  return result;
}

// Runs `args` in one process, then on every rank count and thread count given (none: as
// `args` says, for commands whose work depends on --threads, as stress rounds' draws do),
// and expects the same stdout, stderr and exit code each time. Returns the one-process run.
RunResult ExpectSameOnRanks(const std::vector<std::string>& args, std::vector<int> rank_counts,
                            std::vector<int> thread_counts) {
  const RunResult one = RunCanvass(args);
  const bool as_given = thread_counts.empty();
  if (as_given) thread_counts = {0};
  for (int ranks : rank_counts) {
    for (int threads : thread_counts) {
      std::vector<std::string> with_threads = args;
      if (!as_given) {
        with_threads.push_back("--threads");
        with_threads.push_back(absl::StrCat(threads));
      }
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
    const RunResult one = ExpectSameOnRanks({"run", "--scale", "12", "--seed", "11", "--faults",
                                             kFaults, "--format", format, "--by", "station"},
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
    const RunResult generated = RunCanvass(
        {"generate", "--out", folder, "--format", format, "--scale", "3", "--seed", "5", "--faults",
         kFaults, "--file-faults", "truncate=0.05,flip=0.05,missing=0.02,extra=1"});
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
  ASSERT_EQ(
      RunCanvass({"generate", "--out", stations, "--format", "csv", "--scale", "6"}).exit_code,
      kExitMatch);
  std::vector<std::string> rows;
  for (const auto& entry : std::filesystem::directory_iterator(stations)) {
    if (entry.path().extension() != ".csv") continue;
    const std::string text = ReadFileBytes(entry.path().string());
    std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
    rows.insert(rows.end(), lines.begin() + 1, lines.end());  // past the header
  }
  std::sort(rows.begin(), rows.end());  // directory order is not fixed; the shuffle is
  std::shuffle(rows.begin(), rows.end(), std::mt19937_64(20240705));
  ASSERT_EQ(rows.size(), 6 * kCast);
  const std::string folder = dir.File("interleaved");
  std::filesystem::create_directory(folder);
  WriteAll(folder + "/all.csv",
           absl::StrCat("station,seq,choice\n", absl::StrJoin(rows, "\n"), "\n"));
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
      {"aggregate", folder, "--scale", "6", "--format", "json", "--by", "station"}, {1, 2, 3, 4},
      {1, 2});
  ASSERT_EQ(one.exit_code, kExitMatch) << Describe(one);
  const json records = json::parse(one.out)["records"];
  EXPECT_EQ(records["read"], 6 * kCast + kCopies);
  EXPECT_EQ(records["counted"], 6 * kCast - altered);
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
  const std::vector<Case> cases = {
      {{"generate", "--out", dir.File("g")}, "canvass generate runs in one process"},
      {{"convert", CANVASS_SOURCE_DIR "/tests/data/bad_inputs/duplicate.csv", "--to", "cvb",
        "--out", dir.File("c.cvb")},
       "canvass convert runs in one process"},
  };
  for (const Case& c : cases) {
    const RunResult result = RunOnRanks(2, c.args);
    EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
    EXPECT_THAT(result.err, HasSubstr(c.message)) << Describe(result);
    EXPECT_TRUE(result.out.empty()) << Describe(result);
  }
  EXPECT_FALSE(std::filesystem::exists(dir.File("g")));
  EXPECT_FALSE(std::filesystem::exists(dir.File("c.cvb")));
}

// `sh -c SCRIPT` with $CANVASS and $MPIRUN (mpirun with the flags root needs) set.
RunResult Shell(const std::string& script) {
  return RunProgram(
      "/bin/sh", {"-c", script},
      {absl::StrCat("CANVASS=", CANVASS_BINARY),
       absl::StrCat("MPIRUN=", CANVASS_MPIRUN, " --allow-run-as-root --oversubscribe --quiet")});
}

// A stream (a pipe on stdin, a named FIFO) read by a job of several ranks: rank 0 reads it
// and sends its bytes to the others (engine/ingest/streams.h), so the report is the one
// process gives. The FIFO shows that no other rank opens the stream (two readers would
// split its bytes); the CSV of 22.7 MB goes to 4 ranks in two pieces (21.3 MiB and the rest).
TEST(MpiStreamTest, APipeOrAFifoIsReadByRankZeroAndSharedWithTheOthers) {
  TempDir dir;
  for (const auto& [format, scale] :
       std::vector<std::pair<std::string, std::string>>{{"csv", "16"}, {"cvb", "3"}}) {
    SCOPED_TRACE(format);
    const std::string folder = dir.File(format);
    ASSERT_EQ(RunCanvass({"generate", "--out", folder, "--format", format, "--scale", scale,
                          "--seed", "8", "--faults", "dup=0.02,conflict=0.01,corrupt=0.01"})
                  .exit_code,
              kExitMatch);
    std::string file = folder + "/AE-01." + format;
    if (format == "csv") {
      // Every station's file in one stream (each file's header line is a malformed line).
      file = dir.File("all.csv");
      ASSERT_EQ(Shell(absl::StrCat("cat '", folder, "'/*.csv > '", file, "'")).exit_code, 0);
      ASSERT_GT(std::filesystem::file_size(file), (64u << 20) / 3);  // two pieces on 4 ranks
    }
    const std::string job =
        absl::StrCat(" aggregate --scale ", scale, " --format json --by station ");
    const RunResult one = Shell(absl::StrCat("cat '", file, "' | \"$CANVASS\"", job, "/dev/stdin"));
    ASSERT_EQ(one.exit_code, kExitMatch) << Describe(one);
    EXPECT_THAT(one.out, HasSubstr("\"/dev/stdin\""));
    for (const int ranks : {2, 4}) {
      SCOPED_TRACE(ranks);
      const RunResult piped = Shell(absl::StrCat("cat '", file, "' | $MPIRUN -np ", ranks,
                                                 " \"$CANVASS\"", job, "/dev/stdin"));
      EXPECT_EQ(piped.exit_code, kExitMatch) << Describe(piped);
      EXPECT_EQ(piped.out, one.out);
      EXPECT_EQ(WithoutRuntimeWarnings(piped.err), one.err);
    }
    const std::string fifo = dir.File("fifo-" + format);
    const RunResult fifo_one = Shell(absl::StrCat(
        "mkfifo '", fifo, "' && { cat '", file, "' > '", fifo, "' & writer=$!; }; \"$CANVASS\"",
        job, "'", fifo, "'; status=$?; kill $writer 2>/dev/null; exit $status"));
    ASSERT_EQ(fifo_one.exit_code, kExitMatch) << Describe(fifo_one);
    const RunResult fifo_ranks = Shell(
        absl::StrCat("{ cat '", file, "' > '", fifo, "' & writer=$!; }; $MPIRUN -np 3 \"$CANVASS\"",
                     job, "'", fifo, "'; status=$?; kill $writer 2>/dev/null; exit $status"));
    EXPECT_EQ(fifo_ranks.exit_code, kExitMatch) << Describe(fifo_ranks);
    EXPECT_EQ(fifo_ranks.out, fifo_one.out);
  }
}

// ---- Cast vote records (NIST CDF JSON and XML, contest cvb, Dominion) on ranks ----

const std::string kNistBad = CANVASS_SOURCE_DIR "/tests/data/nist_bad";
const std::string kTinyErr = kNistBad + "/err-tiny.json";

// The entries of the CVR catalogue (records rejected for every reason, the two folders
// whose files a rank each reads, files that stop the job) on 2 ranks, and the three NIST
// elections in both syntaxes on 2 and 3: the one-process output, exit code and message.
TEST(MpiCvrTest, EveryCatalogueEntryReadsAsInOneProcess) {
  std::vector<std::string> entries;
  for (const auto& entry : std::filesystem::directory_iterator(kNistBad)) {
    const std::string name = entry.path().filename().string();
    if (name == "err-tiny.json" || name == "README.md") continue;
    entries.push_back(entry.path().string());
  }
  std::sort(entries.begin(), entries.end());
  ASSERT_GE(entries.size(), 45u);
  // Entries that stop the job cost mpirun a second each to wind down (any nonzero exit):
  // the first five of them, and every entry whose records are counted or rejected.
  int stopped = 0, compared = 0;
  for (const std::string& entry : entries) {
    const std::vector<std::string> job = {"aggregate", "--reported", kTinyErr, "--format",
                                          "json",      "--by",       "unit",   entry};
    if (RunCanvass(job).exit_code == kExitInputError && ++stopped > 5) continue;
    ExpectSameOnRanks(job, {2}, {1});
    ++compared;
  }
  EXPECT_GE(stopped, 10);  // the catalogue's files that are not CVR reports, cut, broken...
  EXPECT_GE(compared, 35);
  for (const char* id : {"gen-01", "gen-03", "prim-01"}) {
    for (const char* syntax : {".json", ".xml"}) {
      const std::string base = absl::StrCat(CANVASS_SOURCE_DIR, "/datasets/nist-cdf/", id, "/");
      const RunResult one = ExpectSameOnRanks(
          {"reconcile", "--reported", absl::StrCat(base, "err-", id, ".json"), "--format", "json",
           "--by", "unit", absl::StrCat(base, "cvr-", id, syntax)},
          {2, 3}, {1});
      EXPECT_EQ(one.exit_code, kExitMatch) << id << syntax << ": " << Describe(one);
    }
  }
}

// The second file of a folder marks a contest not to be counted: read by rank 1, it makes
// every rank read again with the `invalid` figure, as one process does.
TEST(MpiCvrTest, AContestInvalidatedInAFileOfAnotherRankIsShown) {
  const RunResult one = ExpectSameOnRanks({"aggregate", "--reported", kTinyErr, "--format", "json",
                                           kNistBad + "/folder_invalidated_in_second_file"},
                                          {2, 3}, {1});
  ASSERT_EQ(one.exit_code, kExitMatch) << Describe(one);
  EXPECT_THAT(one.out, HasSubstr("\"invalid\""));
}

// A report large enough for several chunks (shared out among the ranks), with every record
// fault: the copies the generator writes after all first records lie in later chunks, so
// on other ranks than their originals, and must be caught exactly. JSON and cvb, against
// the generator's prediction, for 2 to 4 ranks and 1 or 2 threads.
TEST(MpiCvrTest, GeneratedReportsWithEveryFaultAreExactOnEveryRankCount) {
  TempDir dir;
  const std::string err = CANVASS_SOURCE_DIR "/datasets/nist-cdf/gen-01/err-gen-01.json";
  for (const char* format : {"nist-json", "cvb"}) {
    SCOPED_TRACE(format);
    const std::string out = dir.File(format);
    const RunResult generated = RunCanvass(
        {"generate", "--reported", err, "--format", format, "--scale",
         std::string(format) == "cvb" ? "2000" : "100", "--seed", "3", "--interleave", "--faults",
         "drop=0.01,dup=0.01,conflict=0.005,corrupt=0.002,unknown_station=0.001,"
         "unknown_choice=0.001,double_report=0.02",
         "--out", out});
    ASSERT_EQ(generated.exit_code, kExitMatch) << Describe(generated);
    uint64_t bytes = 0;
    for (const auto& entry : std::filesystem::directory_iterator(out)) bytes += entry.file_size();
    ASSERT_GT(bytes, 9u << 20) << "fewer than three chunks";
    const RunResult one =
        ExpectSameOnRanks({"reconcile", "--reported", err, "--predicted", out + "-predicted.json",
                           "--format", "json", "--by", "unit", out},
                          {2, 3, 4}, {1, 2});
    EXPECT_EQ(one.exit_code, kExitMismatch) << Describe(one);
    const json report = json::parse(one.out);
    EXPECT_EQ(report["ground_truth"], "exact");
    EXPECT_GT(report["records"]["rejected"]["duplicate"].get<uint64_t>(), 0u);
    EXPECT_GT(report["records"]["rejected"]["conflict"].get<uint64_t>(), 0u);
    EXPECT_GT(report["records"]["rejected"]["malformed"].get<uint64_t>(), 0u);
    ExpectSameOnRanks({"reconcile", "--reported", err, "--format", "text", out}, {3}, {1});
  }
}

// A rank killed while it reads cast vote records: exit 2, no report, and the supervisor's
// line naming the rank and the bytes of the file it was decoding.
TEST(MpiCvrTest, ARankKilledWhileDecodingEndsTheJobNamingTheRankAndTheInput) {
  TempDir dir;
  const std::string err = CANVASS_SOURCE_DIR "/datasets/nist-cdf/gen-01/err-gen-01.json";
  const std::string out = dir.File("cvr");
  ASSERT_EQ(RunCanvass({"generate", "--reported", err, "--format", "nist-json", "--scale", "100",
                        "--out", out})
                .exit_code,
            kExitMatch);
  const RunResult killed =
      RunProgram(CANVASS_MPIRUN,
                 {"--allow-run-as-root", "--oversubscribe", "--quiet", "-x", "CANVASS_CRASH_AT",
                  "-x", "CANVASS_CRASH_RANK", "-np", "2", CANVASS_BINARY, "reconcile", "--reported",
                  err, "--scale", "100", "--threads", "1", out},
                 {"CANVASS_CRASH_AT=chunk:1", "CANVASS_CRASH_RANK=1"});
  EXPECT_EQ(killed.exit_code, kExitInputError) << Describe(killed);
  EXPECT_TRUE(killed.out.empty()) << "a killed job printed a report";
  EXPECT_THAT(killed.err, HasSubstr(absl::StrCat("canvass: rank 1 of 2 died of signal 9 (Killed); "
                                                 "its last activity: reading ",
                                                 out, "/cvr.json (bytes ")));
  EXPECT_THAT(killed.err, HasSubstr("; the job ends without a report"));
}

// One report given three times under three names: each copy is read by another rank, and
// every record of the second and third is a duplicate of the first, exactly.
TEST(MpiCvrTest, CopiesOfAReportReadByDifferentRanksAreDuplicates) {
  TempDir dir;
  const std::string base = CANVASS_SOURCE_DIR "/datasets/nist-cdf/gen-03/";
  const std::string folder = dir.File("three");
  std::filesystem::create_directory(folder);
  for (const char* name : {"a.json", "b.json", "c.json"}) {
    std::filesystem::copy_file(base + "cvr-gen-03.json", folder + "/" + name);
  }
  const RunResult single = RunCanvass({"aggregate", "--reported", base + "err-gen-03.json",
                                       "--format", "json", base + "cvr-gen-03.json"});
  ASSERT_EQ(single.exit_code, kExitMatch) << Describe(single);
  const uint64_t records = json::parse(single.out)["records"]["read"].get<uint64_t>();
  ASSERT_GT(records, 0u);
  const RunResult one = ExpectSameOnRanks(
      {"aggregate", "--reported", base + "err-gen-03.json", "--format", "json", folder}, {2, 3, 4},
      {1});
  ASSERT_EQ(one.exit_code, kExitMatch) << Describe(one);
  const json report = json::parse(one.out)["records"];
  EXPECT_EQ(report["read"], 3 * records);
  EXPECT_EQ(report["counted"], records);
  EXPECT_EQ(report["rejected"]["duplicate"], 2 * records);
}

// A folder whose second and third files are broken: on 3 ranks they are read by ranks 1
// and 2, and the job ends with the second file's message (the first in file order), exit
// 2, no report; so with the broken files the other way round.
TEST(MpiCvrTest, TheFirstBrokenFileInOrderEndsTheJobWhicheverRankReadsIt) {
  TempDir dir;
  for (const auto& [second, third] : std::vector<std::pair<std::string, std::string>>{
           {"truncated_mid_record.json", "not_json.json"},
           {"not_json.json", "truncated_mid_record.json"}}) {
    const std::string folder = dir.File(second);
    std::filesystem::create_directory(folder);
    std::filesystem::copy_file(kNistBad + "/valid.json", folder + "/1.json");
    std::filesystem::copy_file(kNistBad + "/" + second, folder + "/2.json");
    std::filesystem::copy_file(kNistBad + "/" + third, folder + "/3.json");
    std::filesystem::copy_file(kNistBad + "/valid.json", folder + "/4.json");
    const RunResult one = ExpectSameOnRanks(
        {"aggregate", "--reported", kTinyErr, "--format", "json", folder}, {2, 3, 4}, {1});
    EXPECT_EQ(one.exit_code, kExitInputError) << Describe(one);
    EXPECT_TRUE(one.out.empty());
    EXPECT_THAT(one.err, HasSubstr(folder + "/2.json"));
  }
}

// Dominion exports: the real Alaska slice (ten session files, shared out among the ranks)
// and the hand-made exports of the test data, each as one process reads it.
TEST(MpiCvrTest, DominionExportsReadAsInOneProcess) {
  const RunResult alaska =
      ExpectSameOnRanks({"aggregate", CANVASS_SOURCE_DIR "/datasets/dominion/alaska-2024-partial",
                         "--format", "json", "--by", "unit"},
                        {2, 3}, {1, 2});
  EXPECT_EQ(alaska.exit_code, kExitMatch) << Describe(alaska);
  for (const auto& entry :
       std::filesystem::directory_iterator(CANVASS_SOURCE_DIR "/tests/data/dominion")) {
    if (!entry.is_directory()) continue;
    ExpectSameOnRanks({"aggregate", entry.path().string(), "--format", "json"}, {2}, {1});
  }
}

// Seeded stress rounds shared out among the ranks: the same log and summary as one process
// running every round, for both kinds of rounds.
TEST(MpiStressTest, RoundsAcrossRanksGiveTheOneProcessLog) {
  const RunResult rounds =
      ExpectSameOnRanks({"stress", "--rounds", "40", "--seed", "9", "--threads", "2"}, {2, 3}, {});
  EXPECT_EQ(rounds.exit_code, kExitMatch) << Describe(rounds);
  EXPECT_THAT(rounds.out, HasSubstr("40 passed, 0 failed"));
  const RunResult contests = ExpectSameOnRanks(
      {"stress", "--contests", "--rounds", "6", "--seed", "9", "--threads", "1"}, {2, 4}, {});
  EXPECT_EQ(contests.exit_code, kExitMatch) << Describe(contests);
  EXPECT_THAT(contests.out, HasSubstr("canary caught"));
  EXPECT_THAT(contests.out, HasSubstr("6 passed, 0 failed"));
}

// One rank killed (SIGKILL, at a fixed point of the job: CANVASS_CRASH_AT, in that rank
// only: CANVASS_CRASH_RANK) while the job checkpoints: exit 2, no report, and a message
// naming the rank and what it was reading or writing; the same command again resumes
// every rank from the latest epoch all of them saved and prints exactly the report of an
// uninterrupted job, then removes every rank's checkpoint files.
TEST(MpiCheckpointTest, AJobKilledOnAnyRankResumesToTheUninterruptedReport) {
  TempDir dir;
  const std::string stations = dir.File("stations");
  ASSERT_EQ(RunCanvass({"generate", "--out", stations, "--format", "csv", "--scale", "12",
                        "--faults", "dup=0.01,conflict=0.005"})
                .exit_code,
            kExitMatch);
  const std::vector<std::string> job = {"reconcile", stations,  "--format",  "json",
                                        "--by",      "station", "--threads", "1"};
  const RunResult uninterrupted = RunCanvass(job);
  ASSERT_EQ(uninterrupted.exit_code, kExitMismatch) << Describe(uninterrupted);
  const std::string checkpoint = dir.File("job.ckpt");
  std::vector<std::string> checkpointed = job;
  for (const char* arg : {"--checkpoint", checkpoint.c_str(), "--checkpoint-every", "1"}) {
    checkpointed.push_back(arg);
  }
  for (const char* point : {"range:7", "before-rename:2", "checkpoint:3"}) {
    for (int rank : {0, 2}) {
      SCOPED_TRACE(absl::StrCat(point, " on rank ", rank, " of 3"));
      std::vector<std::string> killed = {"--allow-run-as-root",
                                         "--oversubscribe",
                                         "--quiet",
                                         "-x",
                                         "CANVASS_CRASH_AT",
                                         "-x",
                                         "CANVASS_CRASH_RANK",
                                         "-np",
                                         "3",
                                         CANVASS_BINARY};
      killed.insert(killed.end(), checkpointed.begin(), checkpointed.end());
      const RunResult crashed = RunProgram(
          CANVASS_MPIRUN, killed,
          {absl::StrCat("CANVASS_CRASH_AT=", point), absl::StrCat("CANVASS_CRASH_RANK=", rank)});
      // The rank's supervisor names it and what it was last doing, and ends the job
      // with 2 (canvass_main.cc, SuperviseRank).
      EXPECT_EQ(crashed.exit_code, kExitInputError) << Describe(crashed);
      EXPECT_TRUE(crashed.out.empty()) << "a killed job printed a report";
      EXPECT_THAT(crashed.err, HasSubstr(absl::StrCat("canvass: rank ", rank,
                                                      " of 3 died of signal 9 (Killed); its "
                                                      "last activity: ")));
      EXPECT_THAT(crashed.err, HasSubstr("; the job ends without a report"));
      if (absl::StartsWith(point, "range")) {
        EXPECT_THAT(crashed.err, HasSubstr(absl::StrCat("reading ", stations, "/")));
      } else {
        // Killed as its slot file is renamed into place, or just after: the slot it writes.
        EXPECT_THAT(crashed.err, HasSubstr(absl::StrCat("writing its checkpoint ", checkpoint,
                                                        ".rank-", rank, "-of-3.")));
      }
      EXPECT_TRUE(std::filesystem::exists(absl::StrCat(checkpoint, ".rank-", rank, "-of-3.lock")));
      const RunResult resumed = RunOnRanks(3, checkpointed);
      EXPECT_EQ(resumed.exit_code, uninterrupted.exit_code) << Describe(resumed);
      EXPECT_EQ(resumed.out, uninterrupted.out);
      for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
        EXPECT_EQ(entry.path().string().find(checkpoint), std::string::npos)
            << entry.path() << " left behind";
      }
    }
  }
}

TEST(MpiVersionTest, VersionSaysTheBuildRunsOnMpirun) {
  const RunResult version = RunCanvass({"--version"});
  EXPECT_THAT(version.out, HasSubstr("mpi: yes"));
}

}  // namespace
}  // namespace canvass
