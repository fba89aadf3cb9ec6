// Memory bound of reading files: `canvass aggregate` over a CSV folder larger than 256 MiB
// peaks below the exactly-once state (2 bits per ballot serial for the reference's three
// choices, each station rounded up to 64 serials) plus 256 MiB, measured as the child's
// maximum resident set size by /usr/bin/time -v.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/run_canvass.h"
#include "tests/testing/temp_dir.h"

namespace canvass {
namespace {

namespace fs = std::filesystem;
using ::canvass::testing::Describe;
using ::canvass::testing::ReadFileBytes;
using ::canvass::testing::RunCanvass;
using ::canvass::testing::RunProgram;
using ::canvass::testing::RunResult;
using ::canvass::testing::TempDir;

constexpr char kTimeProgram[] = "/usr/bin/time";
constexpr uint64_t kScale = 250;
constexpr uint64_t kReferenceCast = 88325;
constexpr uint64_t kMebibyte = uint64_t{1} << 20;
constexpr uint64_t kHeadroomBytes = 256 * kMebibyte;

// Sum of the capacity column of the reference dataset's roster at `scale`, each rounded
// up to 64 serials, read independently of the engine.
uint64_t ReferenceSerialSlots(uint64_t scale) {
  const std::string roster = ReadFileBytes(fs::path(CANVASS_SOURCE_DIR) / "datasets" /
                                           "ir-2024-runoff-overseas" / "roster.csv");
  uint64_t total = 0;
  bool header = true;
  for (absl::string_view line : absl::StrSplit(roster, '\n', absl::SkipEmpty())) {
    if (header) {
      header = false;
      EXPECT_TRUE(absl::StartsWith(line, "station,country,capacity")) << line;
      continue;
    }
    std::vector<absl::string_view> fields = absl::StrSplit(line, ',');
    uint64_t capacity = 0;
    EXPECT_TRUE(fields.size() >= 3 && absl::SimpleAtoi(fields[2], &capacity)) << line;
    total += (capacity * scale + 63) / 64 * 64;
  }
  return total;
}

// The figure after "Maximum resident set size (kbytes): " in /usr/bin/time -v output.
bool MaxResidentKibibytes(const std::string& time_output, uint64_t* kibibytes) {
  const std::string kLabel = "Maximum resident set size (kbytes): ";
  const size_t at = time_output.find(kLabel);
  if (at == std::string::npos) return false;
  const size_t begin = at + kLabel.size();
  return absl::SimpleAtoi(time_output.substr(begin, time_output.find('\n', begin) - begin),
                          kibibytes);
}

TEST(MemoryTest, AggregatingMoreThan256MiBOfCsvStaysWithinStatePlus256MiB) {
  ASSERT_TRUE(fs::exists(kTimeProgram))
      << kTimeProgram << " is missing: install the Debian package `time` "
      << "(tools/install-deps.sh should install it)";
  TempDir temp;
  const std::string folder = temp.File("scale250");
  const RunResult generated =
      RunCanvass({"generate", "--out", folder, "--scale", absl::StrCat(kScale), "--format", "csv"});
  ASSERT_EQ(generated.exit_code, 0) << Describe(generated);
  uint64_t input_bytes = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
    if (entry.path().extension() == ".csv") input_bytes += entry.file_size();
  }
  ASSERT_GT(input_bytes, kHeadroomBytes) << "the input must not fit in the headroom";

  const RunResult timed =
      RunProgram(kTimeProgram, {"-v", ::canvass::testing::CanvassBinary(), "aggregate", "--quiet",
                                "--format", "json", folder});
  ASSERT_EQ(timed.exit_code, 0) << Describe(timed);
  const nlohmann::json report = nlohmann::json::parse(timed.out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << Describe(timed);
  EXPECT_EQ(report["records"]["read"], kReferenceCast * kScale);
  EXPECT_EQ(report["records"]["counted"], kReferenceCast * kScale);

  uint64_t peak_kibibytes = 0;
  ASSERT_TRUE(MaxResidentKibibytes(timed.err, &peak_kibibytes)) << timed.err;
  const uint64_t state_bytes = ReferenceSerialSlots(kScale) * 2 / 8;
  ASSERT_GT(state_bytes, 0u);
  const uint64_t peak_bytes = peak_kibibytes * 1024;
  EXPECT_LE(peak_bytes, state_bytes + kHeadroomBytes)
      << "peak RSS " << peak_bytes / kMebibyte << " MiB for " << input_bytes / kMebibyte
      << " MiB of input; exactly-once state " << state_bytes / kMebibyte << " MiB";
  RecordProperty("input_bytes", absl::StrCat(input_bytes));
  RecordProperty("peak_rss_bytes", absl::StrCat(peak_bytes));
}

// Hardening #9: a file of one record repeated 24 million times (288 MB). Before, every
// later copy cost 16 bytes (384 MB here) and every checkpoint rewrote them all; now an
// identity's later copies are one count, so memory stays within the same bound as unique
// records, and a checkpoint of the job stays as small as its state.
TEST(MemoryTest, ManyCopiesOfOneRecordStayWithinTheBoundAndCheckpointSmall) {
  ASSERT_TRUE(fs::exists(kTimeProgram)) << kTimeProgram << " is missing";
  TempDir temp;
  const std::string file = temp.File("one.csv");
  constexpr uint64_t kCopies = 24'000'000;
  {
    std::ofstream out(file, std::ios::binary);
    out << "station,seq,choice\n";
    const std::string block = [] {
      std::string lines;
      for (int i = 0; i < 100'000; ++i) lines += "AE-01,1,PEZ\n";
      return lines;
    }();
    for (uint64_t i = 0; i < kCopies / 100'000; ++i) out << block;
  }
  ASSERT_GT(fs::file_size(file), kHeadroomBytes) << "the input must not fit in the headroom";
  const RunResult timed =
      RunProgram(kTimeProgram, {"-v", ::canvass::testing::CanvassBinary(), "aggregate", "--quiet",
                                "--threads", "2", "--format", "json", file});
  ASSERT_EQ(timed.exit_code, 0) << Describe(timed);
  const nlohmann::json report = nlohmann::json::parse(timed.out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << Describe(timed);
  EXPECT_EQ(report["records"]["read"], kCopies);
  EXPECT_EQ(report["records"]["counted"], 1u);
  EXPECT_EQ(report["records"]["rejected"]["duplicate"], kCopies - 1);
  uint64_t peak_kibibytes = 0;
  ASSERT_TRUE(MaxResidentKibibytes(timed.err, &peak_kibibytes)) << timed.err;
  EXPECT_LE(peak_kibibytes * 1024, kHeadroomBytes)
      << "peak RSS " << peak_kibibytes / 1024 << " MiB for " << kCopies << " copies";

  // Checkpointed after every range (1 MiB), killed at the 200th checkpoint: the file holds
  // the whole frame and the appends since, each a few hundred bytes of changed counters.
  const std::string checkpoint = temp.File("job.ckpt");
  const std::vector<std::string> command = {
      "aggregate",    "--quiet",  "--threads",          "2", "--format", "json",
      "--checkpoint", checkpoint, "--checkpoint-every", "1", file};
  const RunResult killed = RunCanvass(command, {"CANVASS_CRASH_AT=checkpoint:200"});
  ASSERT_EQ(killed.exit_code, 128 + 9) << Describe(killed);
  EXPECT_LT(fs::file_size(checkpoint), 256 * 1024u);
  const RunResult resumed = RunCanvass(command);
  ASSERT_EQ(resumed.exit_code, 0) << Describe(resumed);
  EXPECT_EQ(resumed.out, timed.out);
}

// Hardening #8: one line of 512 MiB (zero bytes after the header, as a crash leaves; and
// a quoted field of the same length) is read in linear time within the same bound: the
// range that owns the line gives its bytes back as it reads them. Before, the line's
// pages (and a quoted field's copy) stayed until the line ended: more than 512 MiB.
TEST(MemoryTest, ALineOf512MiBStaysWithinTheBound) {
  ASSERT_TRUE(fs::exists(kTimeProgram)) << kTimeProgram << " is missing";
  TempDir temp;
  for (const bool quoted : {false, true}) {
    SCOPED_TRACE(quoted ? "a quoted field" : "zero bytes");
    const std::string file = temp.File(quoted ? "quoted.csv" : "zeros.csv");
    {
      std::ofstream out(file, std::ios::binary);
      out << "station,seq,choice\nAE-01,1,PEZ\n" << (quoted ? "AE-01,2,\"" : "");
      const std::string block(1 << 20, quoted ? 'P' : '\0');
      for (int i = 0; i < 512; ++i) out << block;
      out << (quoted ? "\"\n" : "\n") << "AE-01,3,JAL\n";
    }
    const RunResult timed =
        RunProgram(kTimeProgram, {"-v", ::canvass::testing::CanvassBinary(), "aggregate", "--quiet",
                                  "--threads", "2", "--format", "json", file});
    ASSERT_EQ(timed.exit_code, 0) << Describe(timed);
    const nlohmann::json report = nlohmann::json::parse(timed.out, nullptr, false);
    ASSERT_TRUE(report.is_object()) << Describe(timed);
    EXPECT_EQ(report["records"]["read"], 3u);
    EXPECT_EQ(report["records"]["counted"], 2u);
    EXPECT_EQ(report["records"]["rejected"][quoted ? "unknown_choice" : "malformed"], 1u);
    uint64_t peak_kibibytes = 0;
    ASSERT_TRUE(MaxResidentKibibytes(timed.err, &peak_kibibytes)) << timed.err;
    EXPECT_LE(peak_kibibytes * 1024, kHeadroomBytes)
        << "peak RSS " << peak_kibibytes / 1024 << " MiB for a line of 512 MiB";
  }
}

// Cast vote records: a NIST CVR JSON report larger than 512 MiB is reconciled with its pages
// given back behind the reader, so the peak stays below half the file (the exactly-once
// state of its 240,000 ballots included). Regression: a pass that searched every input for
// "invalidated-rules" before the job mapped the whole file (a peak of the file's size, and
// every input read twice); the job now finds such records itself.
TEST(MemoryTest, ReconcilingACvrReportOfMoreThan512MiBStaysBelowHalfOfIt) {
  ASSERT_TRUE(fs::exists(kTimeProgram)) << kTimeProgram << " is missing";
  TempDir temp;
  const std::string err =
      (fs::path(CANVASS_SOURCE_DIR) / "datasets" / "nist-cdf" / "gen-01" / "err-gen-01.json")
          .string();
  const std::string folder = temp.File("cvrs");
  const RunResult generated = RunCanvass({"generate", "--reported", err, "--format", "nist-json",
                                          "--scale", "6000", "--interleave", "--out", folder});
  ASSERT_EQ(generated.exit_code, 0) << Describe(generated);
  const std::string file = folder + "/cvr.json";
  const uint64_t input_bytes = fs::file_size(file);
  ASSERT_GT(input_bytes, 2 * kHeadroomBytes) << "the input must not fit in 512 MiB";
  const RunResult timed = RunProgram(
      kTimeProgram, {"-v", ::canvass::testing::CanvassBinary(), "reconcile", "--reported", err,
                     "--scale", "6000", "--threads", "2", "--format", "json", file});
  ASSERT_EQ(timed.exit_code, 0) << Describe(timed);
  const nlohmann::json report = nlohmann::json::parse(timed.out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << Describe(timed);
  EXPECT_EQ(report["verdict"], "match");
  EXPECT_EQ(report["records"]["counted"], 240000u);  // 10 ballots a unit, 4 units, x 6000
  uint64_t peak_kibibytes = 0;
  ASSERT_TRUE(MaxResidentKibibytes(timed.err, &peak_kibibytes)) << timed.err;
  EXPECT_LE(peak_kibibytes * 1024, input_bytes / 2)
      << "peak RSS " << peak_kibibytes / 1024 << " MiB for " << input_bytes / kMebibyte
      << " MiB of cast vote records";
  RecordProperty("input_bytes", absl::StrCat(input_bytes));
  RecordProperty("peak_rss_bytes", absl::StrCat(peak_kibibytes * 1024));
}

}  // namespace
}  // namespace canvass
