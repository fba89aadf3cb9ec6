// Reading files in-process (IngestFiles and the CSV range parser), where the reading's
// own threads and buffers are under test: any range size and thread count gives the same
// tally and line numbers, a whole-file task hashes exactly what it parses, --threads 1 uses
// no worker. Built in every preset, so that ASan, UBSan and TSan see these paths; the
// end-to-end suites (label e2e) only start processes and run once, against each build's
// `canvass` (CANVASS_BINARY_UNDER_TEST).
#include "engine/ingest/ingest.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "engine/aggregate/reference_aggregator.h"
#include "engine/ballot/batch.h"
#include "engine/election/election.h"
#include "engine/io/csv/csv_format.h"
#include "engine/io/cvb/cvb_writer.h"
#include "engine/synth/generator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tbb/task_scheduler_observer.h"
#include "tests/testing/csv_builder.h"
#include "tests/testing/elections.h"
#include "tests/testing/run_canvass.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/thread_ranks.h"

namespace canvass {
namespace {

namespace fs = std::filesystem;
using ::canvass::testing::CsvBuilder;
using ::canvass::testing::Describe;
using ::canvass::testing::GenerateFolder;
using ::canvass::testing::IsOk;
using ::canvass::testing::kExampleFaults;
using ::canvass::testing::kExitMatch;
using ::canvass::testing::ReadFileBytes;
using ::canvass::testing::RunCanvass;
using ::canvass::testing::RunResult;
using ::canvass::testing::TempDir;
using ::canvass::testing::ThreadRanks;
using ::canvass::testing::WriteFileBytes;
using ::testing::StartsWith;

std::string TinyElectionDir() {
  return (fs::path(CANVASS_SOURCE_DIR) / "tests" / "data" / "tiny_election").string();
}

// tests/data/tiny_election: choices A, B, INV; stations S1 (capacity 10), S2 (5), S3 (3).
const absl::StatusOr<Election>& TinyElection() {
  static const auto* const kElection =
      new absl::StatusOr<Election>(LoadElectionDirectory(TinyElectionDir()));
  return *kElection;
}

// ---- Thread count ----

// Counts the worker threads that enter the default arena. One for the whole program,
// never destroyed: oneTBB frees an observer's bookkeeping lazily, after observe(false),
// which LeakSanitizer would report at exit.
class WorkerEntries : public tbb::task_scheduler_observer {
 public:
  static WorkerEntries& Get() {
    static WorkerEntries* observer = new WorkerEntries;
    return *observer;
  }
  void on_scheduler_entry(bool is_worker) override {
    if (is_worker) ++entries_;
  }
  int entries() const { return entries_.load(); }

 private:
  WorkerEntries() { observe(true); }
  std::atomic<int> entries_{0};
};

// Regression: the manifest's hashes were computed outside the job's arena, on every core,
// whatever --threads said. With threads = 1 no worker may take part in any of the job.
TEST(FolderThreadsTest, OneThreadMeansNoWorkerInAnyPartOfTheJob) {
  if (std::thread::hardware_concurrency() < 2) {
    GTEST_SKIP() << "one hardware thread: a stray worker could not show";
  }
  // At scale 30 (2.6 million ballots, 139 files) the hashing is long enough that a loop
  // on the default arena always drew the idle worker in (20 of 20 runs before the fix).
  TempDir temp;
  const std::string folder = temp.File("ballots");
  ASSERT_NO_FATAL_FAILURE(GenerateFolder(folder, 3, "", "csv", {"--scale", "30"}));
  absl::StatusOr<Election> election = ScaleElection(ReferenceElection(), 30);
  ASSERT_THAT(election, IsOk());
  IngestOptions one_thread;
  one_thread.threads = 1;
  one_thread.whole_file_bytes = 0;  // every file hashed in the manifest's own pass
  const int before = WorkerEntries::Get().entries();
  absl::StatusOr<IngestResult> result = IngestFiles(*election, {folder}, one_thread);
  ASSERT_THAT(result, IsOk());
  ASSERT_TRUE(result->manifest.has_value());  // the hashes were computed
  EXPECT_TRUE(result->findings.empty());
  EXPECT_EQ(WorkerEntries::Get().entries(), before);
}

// ---- Range-parallel reading of one CSV file ----

// The reference reading: one thread, each file one range, hashed in the manifest's own pass.
IngestOptions OneRange() {
  IngestOptions options;
  options.threads = 1;
  options.range_bytes = size_t{1} << 30;
  options.whole_file_bytes = 0;
  return options;
}

// Each file of a manifest folder one task, hashed as it is read.
IngestOptions HashedWholeFiles(int threads) {
  IngestOptions options;
  options.threads = threads;
  options.whole_file_bytes = UINT64_MAX;
  return options;
}

// Everything a reading of a folder reports but the manifest check.
void ExpectSameReading(const IngestResult& actual, const IngestResult& expected) {
  EXPECT_EQ(actual.tally, expected.tally);
  ASSERT_EQ(actual.files.size(), expected.files.size());
  for (size_t f = 0; f < expected.files.size(); ++f) {
    EXPECT_EQ(actual.files[f].records, expected.files[f].records) << expected.files[f].path;
    EXPECT_EQ(actual.files[f].malformed, expected.files[f].malformed) << expected.files[f].path;
  }
  ASSERT_EQ(actual.malformed.size(), expected.malformed.size());
  for (size_t m = 0; m < expected.malformed.size(); ++m) {
    EXPECT_EQ(actual.malformed[m].file, expected.malformed[m].file);
    EXPECT_EQ(actual.malformed[m].line, expected.malformed[m].line);
  }
}

// The three ways a CSV file of a folder with a manifest is read: one range (the
// reference), small ranges on two threads with a second pass to hash, and one task per
// file hashing as it parses (in steps of 256 KiB: the largest file takes five).
TEST(FolderRangeTest, SmallRangesAndHashedWholeFilesGiveTheSameReadingAsOneRange) {
  TempDir temp;
  const std::string folder = temp.File("ballots");
  ASSERT_NO_FATAL_FAILURE(GenerateFolder(folder, 7, kExampleFaults, "csv", {"--scale", "8"}));
  uint64_t largest_bytes = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
    largest_bytes = std::max<uint64_t>(largest_bytes, entry.file_size());
  }
  ASSERT_GT(largest_bytes, uint64_t{4} << 20 >> 2) << "no file spans four hashing steps";
  absl::StatusOr<Election> election = ScaleElection(ReferenceElection(), 8);
  ASSERT_THAT(election, IsOk());

  absl::StatusOr<IngestResult> whole = IngestFiles(*election, {folder}, OneRange());
  ASSERT_THAT(whole, IsOk());
  ASSERT_TRUE(whole->manifest.has_value());
  ASSERT_TRUE(whole->manifest->predicted.has_value());
  EXPECT_EQ(whole->tally, *whole->manifest->predicted);
  EXPECT_GT(whole->tally.Rejected(RejectReason::kMalformed), uint64_t{0});
  EXPECT_TRUE(whole->findings.empty());

  IngestOptions small_ranges;
  small_ranges.threads = 2;
  small_ranges.range_bytes = 4096;
  small_ranges.whole_file_bytes = 0;
  absl::StatusOr<IngestResult> ranged = IngestFiles(*election, {folder}, small_ranges);
  ASSERT_THAT(ranged, IsOk());
  ExpectSameReading(*ranged, *whole);
  EXPECT_TRUE(ranged->findings.empty());

  for (int threads : {1, 2}) {
    absl::StatusOr<IngestResult> fused =
        IngestFiles(*election, {folder}, HashedWholeFiles(threads));
    ASSERT_THAT(fused, IsOk());
    ExpectSameReading(*fused, *whole);
    EXPECT_TRUE(fused->findings.empty()) << "a hash taken while parsing differs from the file's";
  }
}

// cvb files of a folder with a manifest are hashed block by block as they are read, or in
// a second pass: the same reading and the same findings, for files damaged at random.
TEST(FolderRangeTest, CvbHashedWholeFilesGiveTheSameFindingsAsASecondPass) {
  TempDir temp;
  const std::string folder = temp.File("ballots");
  ASSERT_NO_FATAL_FAILURE(
      GenerateFolder(folder, 4, kExampleFaults, "cvb",
                     {"--scale", "4", "--file-faults", "truncate=0.1,flip=0.1"}));
  absl::StatusOr<Election> election = ScaleElection(ReferenceElection(), 4);
  ASSERT_THAT(election, IsOk());
  IngestOptions second_pass;
  second_pass.threads = 2;
  second_pass.skip_damaged = true;
  second_pass.range_bytes = 4096;
  second_pass.whole_file_bytes = 0;
  absl::StatusOr<IngestResult> expected = IngestFiles(*election, {folder}, second_pass);
  ASSERT_THAT(expected, IsOk());
  IngestOptions hashed = second_pass;
  hashed.whole_file_bytes = UINT64_MAX;
  absl::StatusOr<IngestResult> actual = IngestFiles(*election, {folder}, hashed);
  ASSERT_THAT(actual, IsOk());
  ExpectSameReading(*actual, *expected);
  size_t hash_mismatches = 0;
  ASSERT_EQ(actual->findings.size(), expected->findings.size());
  for (size_t i = 0; i < expected->findings.size(); ++i) {
    EXPECT_EQ(actual->findings[i].file, expected->findings[i].file);
    EXPECT_EQ(actual->findings[i].finding, expected->findings[i].finding);
    EXPECT_EQ(actual->findings[i].detail, expected->findings[i].detail);
    hash_mismatches += expected->findings[i].finding == "hash_mismatch";
  }
  EXPECT_GT(hash_mismatches, 0u) << "no file was damaged: the test shows nothing";
  for (size_t f = 0; f < expected->files.size(); ++f) {
    EXPECT_EQ(actual->files[f].damage, expected->files[f].damage);
  }
}

// The hashing steps of a whole-file task: a quoted line break across a step's end, and
// malformed records on either side of every step's end, are read exactly as one range
// reads them, at the same line numbers; a changed byte in any step, the header or the
// last byte is a hash mismatch.
TEST(FolderRangeTest, HashingStepsMeetExactly) {
  TempDir temp;
  const std::string folder = temp.File("ballots");
  ASSERT_NO_FATAL_FAILURE(GenerateFolder(folder, 5, "", "csv", {"--scale", "8"}));
  absl::StatusOr<Election> election = ScaleElection(ReferenceElection(), 8);
  ASSERT_THAT(election, IsOk());
  // Keep the largest file alone (the others are then missing, in every reading alike).
  fs::path largest;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
    if (entry.path().extension() != ".csv") continue;
    if (largest.empty() || entry.file_size() > fs::file_size(largest)) largest = entry.path();
  }
  for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
    if (entry.path().extension() == ".csv" && entry.path() != largest) fs::remove(entry.path());
  }
  const std::string original = ReadFileBytes(largest);
  std::string bytes = original;
  constexpr size_t kStep = 256u << 10;
  ASSERT_GT(bytes.size(), 4 * kStep);
  // The line starting just before offset `at`.
  auto line_start = [&](size_t at) { return bytes.rfind('\n', at - 1) + 1; };
  // Step 1's end falls inside a quoted choice holding a line break: an unknown choice.
  {
    const size_t start = line_start(kStep - 16);
    const size_t end = bytes.find('\n', start);
    const size_t comma = bytes.rfind(',', end);
    ASSERT_LT(comma + 2, kStep);
    const std::string quoted = "\"" + std::string(kStep - comma - 2, 'x') + "\nR\"";
    bytes.replace(comma + 1, end - comma - 1, quoted);
    ASSERT_EQ(bytes[kStep], '\n');
    ASSERT_EQ(bytes.substr(kStep - 1, 4), "x\nR\"");
  }
  // Malformed records (a letter in the serial) on the last and first line of steps 2 to 4.
  std::vector<uint64_t> expected_lines;
  for (size_t step = 2; step <= 4; ++step) {
    for (size_t at : {line_start(step * kStep), bytes.find('\n', step * kStep) + 1}) {
      const size_t seq = bytes.find(',', at) + 1;
      bytes[seq] = 'z';
      expected_lines.push_back(1 +
                               static_cast<uint64_t>(std::count(
                                   bytes.begin(), bytes.begin() + static_cast<long>(at), '\n')));
    }
  }
  WriteFileBytes(largest, bytes);
  absl::StatusOr<IngestResult> reference = IngestFiles(*election, {folder}, OneRange());
  ASSERT_THAT(reference, IsOk());
  const IngestOptions hashed = HashedWholeFiles(2);
  absl::StatusOr<IngestResult> fused = IngestFiles(*election, {folder}, hashed);
  ASSERT_THAT(fused, IsOk());
  ExpectSameReading(*fused, *reference);
  EXPECT_EQ(fused->tally.Rejected(RejectReason::kMalformed), expected_lines.size());
  EXPECT_EQ(fused->tally.Rejected(RejectReason::kUnknownChoice), 1u);
  std::vector<uint64_t> lines;
  for (const MalformedExample& example : fused->malformed) lines.push_back(example.line);
  EXPECT_EQ(lines, expected_lines);
  const uint64_t records = fused->files.at(0).records;
  EXPECT_EQ(records, static_cast<uint64_t>(std::count(bytes.begin(), bytes.end(), '\n')) - 2)
      << "every line but the header and the quoted break is one record";

  // The file's bytes changed, so its hash no longer matches the manifest, in both readings.
  const std::string name = largest.filename().string();
  auto has_hash_mismatch = [&](const IngestResult& result) {
    for (const ManifestFinding& finding : result.findings) {
      if (finding.file == name && finding.finding == "hash_mismatch") return true;
    }
    return false;
  };
  EXPECT_TRUE(has_hash_mismatch(*reference));
  EXPECT_TRUE(has_hash_mismatch(*fused));
  // Restored, it matches; one flipped bit in the first record, at either side of a step's
  // end, inside a step or in the last byte is a mismatch.
  WriteFileBytes(largest, original);
  absl::StatusOr<IngestResult> restored = IngestFiles(*election, {folder}, hashed);
  ASSERT_THAT(restored, IsOk());
  EXPECT_FALSE(has_hash_mismatch(*restored));
  const size_t records_begin = original.find('\n') + 1;
  for (size_t offset : {records_begin, kStep - 1, kStep, 2 * kStep + 3, original.size() - 1}) {
    std::string flipped = original;
    flipped[offset] = static_cast<char>(flipped[offset] ^ 0x20);
    WriteFileBytes(largest, flipped);
    absl::StatusOr<IngestResult> result = IngestFiles(*election, {folder}, hashed);
    ASSERT_THAT(result, IsOk());
    EXPECT_TRUE(has_hash_mismatch(*result)) << "byte " << offset;
  }
}

// ---- Line numbers do not depend on how a file is cut into ranges ----

// About 400 records: plain, CRLF, blank lines, quoted line breaks, 60 malformed.
CsvBuilder MixedRecords() {
  CsvBuilder csv;
  for (int i = 0; i < 400; ++i) {
    const std::string seq = absl::StrCat(i % 12 + 1);
    switch (i % 10) {
      case 0:
        csv.AddMalformed(absl::StrCat("S1,x", i, ",A\n"));
        break;
      case 1:
        csv.Add(absl::StrCat("S2,", seq, ",B\r\n"));
        break;
      case 2:
        csv.Add("\n");
        break;
      case 3:
        csv.Add(absl::StrCat("\"S\n", i, "\",", seq, ",A\n"));  // unknown station
        break;
      case 4:
        csv.AddMalformed(absl::StrCat("\"S1\",\"1\n", i, "\",A\n"));  // a serial with a break
        break;
      case 5:
        csv.Add("\r\n");
        break;
      case 6:
        csv.Add(absl::StrCat("S3,", seq, ",INV\n"));
        break;
      case 7:
        csv.Add(absl::StrCat("\"S1\",", seq, ",\"A\"\n"));
        break;
      default:
        csv.Add(absl::StrCat("S1,", seq, ",", i % 3 == 0 ? "A" : "B", "\n"));
        break;
    }
  }
  return csv;
}

TEST(CsvRangeTest, LineNumbersAndTallyAreTheSameForEveryRangeSize) {
  ASSERT_THAT(TinyElection(), IsOk());
  const CsvBuilder csv = MixedRecords();
  ASSERT_EQ(csv.malformed_lines().size(), 80u);
  TempDir temp;
  const std::string path = temp.File("mixed.csv");
  WriteFileBytes(path, csv.text());
  const std::vector<uint64_t> first_twenty(csv.malformed_lines().begin(),
                                           csv.malformed_lines().begin() + 20);
  IngestOptions whole;
  whole.range_bytes = size_t{1} << 30;
  absl::StatusOr<IngestResult> reference = IngestFiles(*TinyElection(), {path}, whole);
  ASSERT_THAT(reference, IsOk());
  EXPECT_EQ(reference->tally.records_read, 320u);
  EXPECT_EQ(reference->tally.Rejected(RejectReason::kMalformed), 80u);
  for (size_t range_bytes : {1, 2, 3, 5, 8, 13, 31, 64, 100, 4096}) {
    for (int threads : {1, 2}) {
      IngestOptions options;
      options.range_bytes = range_bytes;
      options.threads = threads;
      absl::StatusOr<IngestResult> ingest = IngestFiles(*TinyElection(), {path}, options);
      ASSERT_THAT(ingest, IsOk());
      EXPECT_EQ(ingest->tally, reference->tally) << range_bytes << " bytes, " << threads;
      std::vector<uint64_t> lines;
      for (const MalformedExample& example : ingest->malformed) lines.push_back(example.line);
      EXPECT_EQ(lines, first_twenty) << range_bytes << " bytes, " << threads << " threads";
    }
  }
}

// Found by the CSV reader fuzzer: a serial of more than 19 digits running to the end of
// the data made the plain-record fast path read past the end of the buffer (ASan: heap
// overflow). The record must be malformed, and nothing read out of bounds.
TEST(CsvFuzzRegressionTest, LongDigitRunAtTheEndOfTheDataIsMalformed) {
  absl::StatusOr<Election> election =
      ParseElection(R"({"id":"fuzz","title":"t","choices":[{"code":"A"}],"roster":"r.csv"})",
                    "election.json", "station,country,capacity\nS1,AA,10\n", "r.csv");
  ASSERT_TRUE(election.ok());
  const std::string text = "station,seq,choice\nS1,1,A\nS1," + std::string(60, '3') + "1";
  // An exact-size heap copy, so that ASan sees any read past the end.
  std::unique_ptr<uint8_t[]> data(new uint8_t[text.size()]);
  std::memcpy(data.get(), text.data(), text.size());
  uint64_t counted = 0;
  CsvRangeParser parser(*election, [&](const BatchView& batch) { counted += batch.size(); });
  const absl::StatusOr<size_t> header = CheckCsvHeader("fuzz.csv", data.get(), text.size());
  ASSERT_TRUE(header.ok());
  const CsvRangeResult result =
      parser.Parse(data.get(), text.size(), *header, text.size(), /*first_range=*/true);
  parser.Flush();
  EXPECT_EQ(result.records, 2u);
  EXPECT_EQ(result.malformed, 1u);
  EXPECT_EQ(counted, 1u);
  EXPECT_EQ(result.malformed_lines, std::vector<uint64_t>({1}));
}

}  // namespace
}  // namespace canvass

namespace canvass {
namespace {

// Regression (issue "Hardening", #8): every range inside one long line searched to the end
// of the file for its first record, so a line spanning R ranges took R times its length
// (a 1 GB file of zero bytes: 202 s). A range inside the line now starts no record and
// reads nothing; the outcome is the same for every range size and thread count.
TEST(LongLineRangeTest, ALineOfZeroBytesAcrossManyRangesIsOneMalformedRecord) {
  ASSERT_THAT(TinyElection(), IsOk());
  TempDir temp;
  const std::string zeros = std::string("station,seq,choice\n") + std::string(1 << 20, '\0');
  const std::string path = temp.File("zeros.csv");
  WriteFileBytes(path, zeros);
  const std::string followed = temp.File("followed.csv");
  WriteFileBytes(followed, zeros + "\nS1,1,A\nS2,2,B\n");
  for (size_t range_bytes : {size_t{4096}, size_t{65536}, size_t{1} << 30}) {
    for (int threads : {1, 2}) {
      IngestOptions options;
      options.range_bytes = range_bytes;
      options.threads = threads;
      absl::StatusOr<IngestResult> alone = IngestFiles(*TinyElection(), {path}, options);
      ASSERT_THAT(alone, IsOk());
      EXPECT_EQ(alone->tally.records_read, 1u) << range_bytes << " bytes, " << threads;
      EXPECT_EQ(alone->tally.Rejected(RejectReason::kMalformed), 1u);
      absl::StatusOr<IngestResult> then = IngestFiles(*TinyElection(), {followed}, options);
      ASSERT_THAT(then, IsOk());
      EXPECT_EQ(then->tally.records_read, 3u) << range_bytes << " bytes, " << threads;
      EXPECT_EQ(then->tally.Rejected(RejectReason::kMalformed), 1u);
      EXPECT_EQ(then->tally.TotalCounted(), 2u);
      ASSERT_EQ(then->malformed.size(), 1u);
      EXPECT_EQ(then->malformed[0].line, 2u);
    }
  }
}

// A cvb file written from records in any order: blocks stay station-homogeneous (one per
// block_records records of a station), and reading the file back, on any thread count and
// range size, counts exactly what the reference counts for the same records.
TEST(CvbStreamWriterTest, InterleavedRecordsReadBackExactly) {
  const Election election = testing::ElectionBuilder("cvb-writer", "cvb writer test")
                                .AddChoices(3)
                                .AddStations({5000, 40, 1, 700}, {"AA"})
                                .Build();
  std::mt19937_64 rng(20261201);
  std::vector<BallotBatch> batches;  // one record each, in the order written
  CvbStreamWriter writer(election, /*block_records=*/100);
  std::vector<uint64_t> per_station(election.stations.size() + 1, 0);
  for (int i = 0; i < 20000; ++i) {
    const uint64_t kind = rng() % 100;
    BallotBatch batch;
    batch.station = kind == 0 ? kUnknownStation : static_cast<StationIndex>(rng() % 4);
    const uint64_t capacity = kind == 0 ? 10 : election.stations[batch.station].capacity;
    batch.seq = {kind == 1 ? capacity + 1 : 1 + rng() % capacity};  // copies come by chance
    batch.choice = {kind == 2 ? kUnknownChoice : static_cast<ChoiceIndex>(rng() % 3)};
    writer.Add(batch.station, batch.seq[0], batch.choice[0]);
    ++per_station[batch.station == kUnknownStation ? 4 : batch.station];
    batches.push_back(std::move(batch));
  }
  TempDir temp;
  const std::string path = (temp.path() / "interleaved.cvb").string();
  WriteFileBytes(path, writer.Finish());
  uint32_t expected_blocks = 0;
  for (uint64_t n : per_station) expected_blocks += static_cast<uint32_t>((n + 99) / 100);
  EXPECT_EQ(writer.blocks(), expected_blocks);
  const Tally expected = ReferenceAggregate(election, batches);
  EXPECT_GT(expected.Rejected(RejectReason::kDuplicate), 100u);
  EXPECT_GT(expected.Rejected(RejectReason::kConflict), 100u);
  for (int threads : {1, 2}) {
    for (size_t range_bytes : {size_t{4096}, size_t{1} << 20}) {
      IngestOptions options;
      options.threads = threads;
      options.range_bytes = range_bytes;
      absl::StatusOr<IngestResult> result = IngestFiles(election, {path}, options);
      ASSERT_THAT(result, IsOk());
      EXPECT_EQ(result->tally, expected) << threads << " threads, ranges of " << range_bytes;
    }
  }
}

// ---- A manifest folder read by several ranks ----

// Every file hashed in the manifest's pass (whole_file_bytes 0: no task hashes one): on
// three in-process ranks each hashes a share of the files and rank 0 checks them all. The
// findings, one file's hash mismatch among them, and the tally are the one process's.
TEST(RankGroupManifestTest, FilesHashedAShareEachGiveTheOneProcessFindings) {
  TempDir temp;
  const std::string folder = temp.File("ballots");
  ASSERT_NO_FATAL_FAILURE(GenerateFolder(folder, 3, "", "csv", {"--scale", "2"}));
  absl::StatusOr<Election> election = ScaleElection(ReferenceElection(), 2);
  ASSERT_THAT(election, IsOk());
  // One serial of one file changed, its length kept: the same records, another hash.
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (entry.path().extension() == ".csv") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());
  std::string text = ReadFileBytes(files[files.size() / 2]);
  const size_t digit = text.find_last_of("0123456789");
  ASSERT_NE(digit, std::string::npos);
  text[digit] = text[digit] == '1' ? '2' : '1';
  WriteFileBytes(files[files.size() / 2], text);
  IngestOptions options;
  options.threads = 1;
  options.whole_file_bytes = 0;
  absl::StatusOr<IngestResult> alone = IngestFiles(*election, {folder}, options);
  ASSERT_THAT(alone, IsOk());
  ASSERT_TRUE(alone->manifest.has_value());
  ASSERT_EQ(alone->findings.size(), 1u);
  EXPECT_EQ(alone->findings[0].finding, "hash_mismatch");
  std::vector<absl::StatusOr<IngestResult>> results(3, absl::UnknownError("not run"));
  ThreadRanks::Run(3, [&](const RankGroup& group) {
    IngestOptions on_ranks = options;
    on_ranks.ranks = &group;
    results[static_cast<size_t>(group.rank())] = IngestFiles(*election, {folder}, on_ranks);
  });
  for (const absl::StatusOr<IngestResult>& result : results) {
    ASSERT_THAT(result, IsOk());
    EXPECT_EQ(result->tally, alone->tally);
  }
  ASSERT_TRUE(results[0]->manifest.has_value());  // rank 0 checks the manifest
  ASSERT_EQ(results[0]->findings.size(), 1u);
  EXPECT_EQ(results[0]->findings[0].file, alone->findings[0].file);
  EXPECT_EQ(results[0]->findings[0].finding, "hash_mismatch");
  EXPECT_EQ(results[0]->findings[0].detail, alone->findings[0].detail);
}

}  // namespace
}  // namespace canvass
