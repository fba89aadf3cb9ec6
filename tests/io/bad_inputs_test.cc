// The bad-input catalogue: every file under tests/data/bad_inputs/, and cvb files damaged
// here at every byte, read by the real `canvass aggregate` (and IngestFiles in-process)
// against tests/data/tiny_election, each outcome asserted exactly per DESIGN.md.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "engine/ballot/batch.h"
#include "engine/election/election.h"
#include "engine/ingest/ingest.h"
#include "engine/io/csv/csv_format.h"
#include "engine/io/cvb/cvb_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/csv_builder.h"
#include "tests/testing/run_canvass.h"
#include "tests/testing/sanitizers.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "xxhash.h"

namespace canvass {
namespace {

namespace fs = std::filesystem;
using Json = ::nlohmann::ordered_json;
using ::canvass::testing::Describe;
using ::canvass::testing::IsOk;
using ::canvass::testing::kExitInputError;
using ::canvass::testing::kExitMatch;
using ::canvass::testing::kExitMismatch;
using ::canvass::testing::ReadFileBytes;
using ::canvass::testing::RunCanvass;
using ::canvass::testing::RunResult;
using ::canvass::testing::StatusIs;
using ::canvass::testing::TempDir;
using ::canvass::testing::WriteFileBytes;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

fs::path DataDir() { return fs::path(CANVASS_SOURCE_DIR) / "tests" / "data"; }
fs::path CatalogueDir() { return DataDir() / "bad_inputs"; }
std::string CataloguePath(absl::string_view name) {
  return (CatalogueDir() / std::string(name)).string();
}
std::string TinyElectionDir() { return (DataDir() / "tiny_election").string(); }

// tests/data/tiny_election: choices A, B, INV; stations S1 (capacity 10), S2 (5), S3 (3).
const absl::StatusOr<Election>& TinyElection() {
  static const auto* const kElection =
      new absl::StatusOr<Election>(LoadElectionDirectory(TinyElectionDir()));
  return *kElection;
}

// `canvass aggregate --election tiny --format json --threads N [extra...] PATH...`.
RunResult Aggregate(const std::vector<std::string>& paths,
                    const std::vector<std::string>& extra = {}, int threads = 1) {
  std::vector<std::string> args = {"aggregate", "--election", TinyElectionDir(),    "--format",
                                   "json",      "--threads",  absl::StrCat(threads)};
  args.insert(args.end(), extra.begin(), extra.end());
  args.insert(args.end(), paths.begin(), paths.end());
  return RunCanvass(args);
}

Json ParseReport(const RunResult& result) {
  Json report = Json::parse(result.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_TRUE(report.is_object()) << "stdout is not a JSON object\n" << Describe(result);
  return report.is_object() ? report : Json::object();
}

// What reading some records must give: every reject reason and every choice total.
struct Expected {
  uint64_t read = 0;
  uint64_t malformed = 0;
  uint64_t unknown_station = 0;
  uint64_t unknown_choice = 0;
  uint64_t bad_seq = 0;
  uint64_t duplicate = 0;
  uint64_t conflict = 0;
  uint64_t a = 0;
  uint64_t b = 0;
  uint64_t inv = 0;

  uint64_t Counted() const { return a + b + inv; }
  uint64_t Rejected() const {
    return malformed + unknown_station + unknown_choice + bad_seq + duplicate + conflict;
  }
};

// The report's "records" object for `expected`, in the report's key order.
Json RecordsJson(const Expected& expected) {
  Json rejected = Json::object();
  rejected["malformed"] = expected.malformed;
  rejected["unknown_station"] = expected.unknown_station;
  rejected["unknown_choice"] = expected.unknown_choice;
  rejected["bad_seq"] = expected.bad_seq;
  rejected["duplicate"] = expected.duplicate;
  rejected["conflict"] = expected.conflict;
  Json records = Json::object();
  records["read"] = expected.read;
  records["counted"] = expected.Counted();
  records["rejected"] = std::move(rejected);
  return records;
}

Json TotalsJson(const Expected& expected) {
  Json totals = Json::object();
  totals["A"] = expected.a;
  totals["B"] = expected.b;
  totals["INV"] = expected.inv;
  totals["cast"] = expected.Counted();
  return totals;
}

// Asserts the report's records and totals equal `expected`, figure by figure.
void ExpectOutcome(const Json& report, const Expected& expected, absl::string_view label) {
  ASSERT_EQ(expected.read, expected.Counted() + expected.Rejected())
      << label << ": the expectation itself breaks conservation";
  EXPECT_EQ(report.value("records", Json()), RecordsJson(expected)) << label;
  EXPECT_EQ(report.value("totals", Json()), TotalsJson(expected)) << label;
}

// "path:line" for each line, as malformed_examples lists them.
Json MalformedExamples(const std::string& path, const std::vector<uint64_t>& lines) {
  Json examples = Json::array();
  for (uint64_t line : lines) examples.push_back(absl::StrCat(path, ":", line));
  return examples;
}

// ---- The CSV catalogue: files that are ballot files, with bad records in them ----

struct CountedCase {
  const char* file;
  Expected expected;
  std::vector<uint64_t> malformed_lines;  // 1-based; the header is line 1
};

const std::vector<CountedCase>& CountedCases() {
  static const auto* const kCases = new std::vector<CountedCase>{
      {"header_only.csv", {}, {}},
      {"header_without_newline.csv", {}, {}},
      {"bom_crlf.csv", {.read = 4, .malformed = 1, .a = 1, .b = 1, .inv = 1}, {6}},
      {"quoted_fields.csv", {.read = 3, .a = 1, .b = 1, .inv = 1}, {}},
      // RFC 4180 quoting applies to the header too.
      {"quoted_header.csv", {.read = 2, .a = 1, .b = 1}, {}},
      // "S""1" is the station S"1; "A""" is the choice A".
      {"quoted_escaped_quote.csv",
       {.read = 3, .unknown_station = 1, .unknown_choice = 1, .a = 1},
       {}},
      // "S1,S2" is one station id; "A,B" is one choice code.
      {"quoted_embedded_comma.csv",
       {.read = 3, .unknown_station = 1, .unknown_choice = 1, .b = 1},
       {}},
      // A quoted line break is part of the field and still counts as a line.
      {"quoted_line_break.csv",
       {.read = 5, .malformed = 2, .unknown_station = 1, .unknown_choice = 1, .a = 1},
       {4, 8}},
      // NUL in a serial: not digits; in a choice or station: an unknown code.
      {"nul_byte.csv",
       {.read = 5, .malformed = 1, .unknown_station = 1, .unknown_choice = 1, .a = 2},
       {3}},
      {"seq_zero.csv", {.read = 3, .bad_seq = 2, .a = 1}, {}},
      {"seq_past_capacity.csv", {.read = 7, .bad_seq = 4, .a = 1, .b = 1, .inv = 1}, {}},
      {"seq_not_a_number.csv", {.read = 7, .malformed = 6, .a = 1}, {2, 3, 4, 5, 6, 7}},
      {"seq_2_pow_64.csv", {.read = 3, .malformed = 2, .a = 1}, {2, 3}},
      {"seq_2_pow_64_minus_1.csv", {.read = 3, .bad_seq = 2, .b = 1}, {}},
      // 007 and 7 are the same serial.
      {"seq_leading_zeros.csv", {.read = 3, .duplicate = 1, .a = 1, .b = 1}, {}},
      // DESIGN.md: "decimal digits only and must fit in 64 bits" bounds the value, not
      // the digit count: 22 digits with value 10 and 39 digits with value 3 are serials.
      {"seq_leading_zeros_past_20_digits.csv", {.read = 3, .duplicate = 1, .a = 1, .b = 1}, {}},
      {"seq_negative.csv", {.read = 3, .malformed = 2, .a = 1}, {2, 3}},
      {"seq_leading_plus.csv", {.read = 3, .malformed = 2, .a = 1}, {2, 3}},
      // Spaces are part of a field: " S1" is unknown, "1 " is not a number, " A" unknown.
      {"spaces_around_fields.csv",
       {.read = 8, .malformed = 3, .unknown_station = 2, .unknown_choice = 2, .a = 1},
       {4, 5, 9}},
      // Includes an unknown station with an unknown choice, and with serial 0.
      {"unknown_station.csv", {.read = 6, .unknown_station = 5, .a = 1}, {}},
      // Includes an unknown choice with serial 0: unknown_choice comes first.
      {"unknown_choice.csv", {.read = 5, .unknown_choice = 4, .a = 1}, {}},
      {"too_few_fields.csv", {.read = 3, .malformed = 2, .a = 1}, {2, 3}},
      {"too_many_fields.csv", {.read = 3, .malformed = 2, .a = 1}, {2, 3}},
      {"empty_fields.csv", {.read = 7, .malformed = 6, .a = 1}, {2, 3, 4, 5, 6, 7}},
      {"trailing_comma.csv", {.read = 2, .malformed = 1, .a = 1}, {2}},
      // Blank lines (LF and CRLF) are not records but are lines.
      {"blank_lines.csv", {.read = 3, .malformed = 1, .a = 1, .b = 1}, {8}},
      {"whitespace_line.csv", {.read = 3, .malformed = 1, .a = 2}, {3}},
      {"no_final_newline.csv", {.read = 2, .a = 1, .b = 1}, {}},
      // A lone CR is not a line end: "S1,1,A\rS1,2,B" is one record of five fields.
      {"lone_cr.csv", {.read = 2, .malformed = 1, .a = 1}, {2}},
      {"duplicate.csv", {.read = 5, .duplicate = 3, .a = 1, .b = 1}, {}},
      {"conflict.csv", {.read = 6, .conflict = 5, .b = 1}, {}},
      // Rejected copies take no part in the identity rules.
      {"identity_rules_ignore_rejected.csv",
       {.read = 6, .malformed = 1, .unknown_choice = 2, .bad_seq = 1, .a = 1, .b = 1},
       {4}},
      // An unterminated quote runs to the end of the file: one malformed record.
      {"unterminated_quote.csv", {.read = 2, .malformed = 1, .a = 1}, {3}},
      {"quote_inside_field.csv", {.read = 3, .malformed = 2, .a = 1}, {2, 3}},
      // 25 malformed records: only the first 20 are listed.
      {"many_malformed.csv",
       {.read = 26, .malformed = 25, .a = 1},
       {3, 4, 5, 6, 8, 9, 10, 11, 13, 14, 15, 16, 18, 19, 20, 21, 23, 24, 25, 26}},
  };
  return *kCases;
}

void PrintTo(const CountedCase& test_case, std::ostream* out) { *out << test_case.file; }

std::string TestName(absl::string_view file) {
  std::string name(file);
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

class CountedCatalogueTest : public ::testing::TestWithParam<CountedCase> {};

TEST_P(CountedCatalogueTest, OutcomeIsExact) {
  const CountedCase& test_case = GetParam();
  const std::string path = CataloguePath(test_case.file);
  const RunResult result = Aggregate({path});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  EXPECT_EQ(result.err, "");
  const Json report = ParseReport(result);
  ExpectOutcome(report, test_case.expected, test_case.file);
  EXPECT_EQ(report.value("malformed_examples", Json()),
            MalformedExamples(path, test_case.malformed_lines));
  EXPECT_EQ(report.value("damaged_files", Json()), Json::array());
  const Json& inputs = report.value("inputs", Json::object());
  EXPECT_EQ(inputs.value("files", Json()), 1);
  EXPECT_EQ(inputs.value("bytes", Json()), fs::file_size(path));

  // The same bytes on two threads give the same report, byte for byte.
  const RunResult two_threads = Aggregate({path}, {}, /*threads=*/2);
  EXPECT_EQ(two_threads.exit_code, kExitMatch);
  EXPECT_EQ(two_threads.out, result.out);
}

INSTANTIATE_TEST_SUITE_P(Catalogue, CountedCatalogueTest, ::testing::ValuesIn(CountedCases()),
                         [](const ::testing::TestParamInfo<CountedCase>& info) {
                           return TestName(info.param.file);
                         });

// ---- The CSV catalogue: files that are not ballot files at all (exit 2) ----

struct InputErrorCase {
  const char* file;
  uint64_t byte;  // the offset the message names
  const char* what;
  // False where the bytes could be a ballot file cut short (an empty file, a lone BOM),
  // which --skip-damaged may account as damage instead.
  bool error_with_skip_damaged;
};

const std::vector<InputErrorCase>& InputErrorCases() {
  static const auto* const kCases = new std::vector<InputErrorCase>{
      {"empty.csv", 0, "not a ballot file", false},
      {"bom_only.csv", 3, "not a ballot file", false},
      {"wrong_header.csv", 0, "expected the header \"station,seq,choice\"", true},
      {"header_uppercase.csv", 0, "expected the header \"station,seq,choice\"", true},
      {"cr_only_line_ends.csv", 0, "expected the header \"station,seq,choice\"", true},
      {"binary_garbage.csv", 0, "not a ballot file", true},
  };
  return *kCases;
}

void PrintTo(const InputErrorCase& test_case, std::ostream* out) { *out << test_case.file; }

class InputErrorCatalogueTest : public ::testing::TestWithParam<InputErrorCase> {};

TEST_P(InputErrorCatalogueTest, ExitsTwoNamingFileAndByte) {
  const InputErrorCase& test_case = GetParam();
  const std::string path = CataloguePath(test_case.file);
  const RunResult result = Aggregate({path});
  EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err, HasSubstr(absl::StrCat(path, ": byte ", test_case.byte, ": ")));
  EXPECT_THAT(result.err, HasSubstr(test_case.what));
}

INSTANTIATE_TEST_SUITE_P(Catalogue, InputErrorCatalogueTest, ::testing::ValuesIn(InputErrorCases()),
                         [](const ::testing::TestParamInfo<InputErrorCase>& info) {
                           return TestName(info.param.file);
                         });

// The input errors that cannot be a ballot file cut short.
std::vector<InputErrorCase> NotBallotFileCases() {
  std::vector<InputErrorCase> cases;
  for (const InputErrorCase& test_case : InputErrorCases()) {
    if (test_case.error_with_skip_damaged) cases.push_back(test_case);
  }
  return cases;
}

class NotBallotFileTest : public ::testing::TestWithParam<InputErrorCase> {};

// DESIGN.md: "a file that is not a ballot CSV at all (missing or wrong header, binary
// content) is an input error"; files.h lists it among the exit-2 errors (InvalidArgument)
// apart from the damaged files that --skip-damaged accounts.
// The batch-files issue: "a file that is not a ballot file ... is exit 2 naming the file
// and byte offset, unless --skip-damaged: then the report accounts the lost records".
TEST_P(NotBallotFileTest, IsExitTwoUnlessSkipDamagedAccountsIt) {
  const InputErrorCase& test_case = GetParam();
  const std::string path = CataloguePath(test_case.file);
  const RunResult stopped = Aggregate({path, CataloguePath("duplicate.csv")}, {});
  EXPECT_EQ(stopped.exit_code, kExitInputError) << Describe(stopped);
  EXPECT_EQ(stopped.out, "");
  EXPECT_THAT(stopped.err, HasSubstr(absl::StrCat(path, ": byte ", test_case.byte, ": ")));

  const RunResult skipped = Aggregate({path, CataloguePath("duplicate.csv")}, {"--skip-damaged"});
  ASSERT_EQ(skipped.exit_code, 0) << Describe(skipped);
  const nlohmann::json report = nlohmann::json::parse(skipped.out);
  ASSERT_EQ(report["damaged_files"].size(), 1u);
  EXPECT_EQ(report["damaged_files"][0]["file"], path);
  EXPECT_THAT(report["damaged_files"][0]["damage"].get<std::string>(),
              HasSubstr(absl::StrCat("byte ", test_case.byte, ": not a ballot file")));
  EXPECT_EQ(report["damaged_files"][0]["records_read"], 0);

  ASSERT_THAT(TinyElection(), IsOk());
  IngestOptions options;
  EXPECT_THAT(IngestFiles(*TinyElection(), {path}, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(absl::StrCat(path, ": byte ", test_case.byte))));
  options.skip_damaged = true;
  const absl::StatusOr<IngestResult> ingest = IngestFiles(*TinyElection(), {path}, options);
  ASSERT_THAT(ingest, IsOk());
  EXPECT_EQ(ingest->tally.records_read, 0u);
  EXPECT_THAT(ingest->files[0].damage, HasSubstr("not a ballot file"));
}

INSTANTIATE_TEST_SUITE_P(Catalogue, NotBallotFileTest, ::testing::ValuesIn(NotBallotFileCases()),
                         [](const ::testing::TestParamInfo<InputErrorCase>& info) {
                           return TestName(info.param.file);
                         });

// The cvb files of the catalogue, checked in and rebuilt by CvbCatalogue() below.
const std::vector<std::string>& CvbCatalogueFiles() {
  static const auto* const kFiles = new std::vector<std::string>{
      "valid.cvb",          "truncated.cvb",      "flipped_bit.cvb",
      "wrong_election.cvb", "future_version.cvb", "trailing_garbage.cvb"};
  return *kFiles;
}

TEST(BadInputsCatalogueTest, EveryFileHasAnExpectedOutcome) {
  std::set<std::string> expected;
  for (const CountedCase& test_case : CountedCases()) expected.insert(test_case.file);
  for (const InputErrorCase& test_case : InputErrorCases()) expected.insert(test_case.file);
  for (const std::string& file : CvbCatalogueFiles()) expected.insert(file);
  std::set<std::string> present;
  for (const fs::directory_entry& entry : fs::directory_iterator(CatalogueDir())) {
    present.insert(entry.path().filename().string());
  }
  EXPECT_EQ(present, expected);
  EXPECT_GE(present.size(), 30u);
}

// ---- Malformed examples across files ----

TEST(MalformedExamplesTest, FirstTwentyInFileAndLineOrderAcrossFiles) {
  const std::string many = CataloguePath("many_malformed.csv");
  const std::string one = CataloguePath("trailing_comma.csv");
  const RunResult result = Aggregate({one, many});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  Json expected = MalformedExamples(one, {2});
  for (uint64_t line : {3, 4, 5, 6, 8, 9, 10, 11, 13, 14, 15, 16, 18, 19, 20, 21, 23, 24, 25}) {
    expected.push_back(absl::StrCat(many, ":", line));
  }
  EXPECT_EQ(ParseReport(result).value("malformed_examples", Json()), expected);
  ExpectOutcome(ParseReport(result), {.read = 28, .malformed = 26, .a = 2}, "two files");
}

// ---- Long lines, written at test time ----

using ::canvass::testing::CsvBuilder;

// One mebibyte in a station, a serial, a choice and a quoted field of 1,024 lines.
CsvBuilder LongLines() {
  constexpr size_t kMebibyte = size_t{1} << 20;
  CsvBuilder csv;
  csv.Add(absl::StrCat(std::string(kMebibyte, 'S'), ",1,A\n"));
  csv.AddMalformed(absl::StrCat("S1,", std::string(kMebibyte, '1'), ",A\n"));
  csv.Add("S1,1,A\n");
  csv.Add(absl::StrCat("S1,2,", std::string(kMebibyte, 'A'), "\n"));
  std::string quoted = "\"";
  for (int line = 0; line < 1024; ++line) absl::StrAppend(&quoted, std::string(1023, 'x'), "\n");
  csv.Add(absl::StrCat(quoted, "\",1,A\n"));
  csv.AddMalformed("S1,y,A\n");
  csv.Add("S1,3,B\n");
  return csv;
}

TEST(LongLineTest, MebibyteFieldsAreRecordsLikeAnyOther) {
  const CsvBuilder csv = LongLines();
  EXPECT_THAT(csv.malformed_lines(), ElementsAre(3u, 1031u));
  TempDir temp;
  const std::string path = temp.File("long_lines.csv");
  WriteFileBytes(path, csv.text());
  const Expected expected = {
      .read = 7, .malformed = 2, .unknown_station = 2, .unknown_choice = 1, .a = 1, .b = 1};
  const RunResult result = Aggregate({path}, {}, /*threads=*/2);
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  const Json report = ParseReport(result);
  ExpectOutcome(report, expected, "long lines");
  EXPECT_EQ(report.value("malformed_examples", Json()),
            MalformedExamples(path, csv.malformed_lines()));

  // In-process with ranges far shorter than the lines: the same records and lines.
  ASSERT_THAT(TinyElection(), IsOk());
  for (size_t range_bytes : {size_t{4096}, size_t{1} << 30}) {
    IngestOptions options;
    options.threads = 2;
    options.range_bytes = range_bytes;
    absl::StatusOr<IngestResult> ingest = IngestFiles(*TinyElection(), {path}, options);
    ASSERT_THAT(ingest, IsOk());
    EXPECT_EQ(ingest->tally.records_read, expected.read) << range_bytes;
    EXPECT_EQ(ingest->tally.TotalCounted(), expected.Counted()) << range_bytes;
    std::vector<uint64_t> lines;
    for (const MalformedExample& example : ingest->malformed) lines.push_back(example.line);
    EXPECT_EQ(lines, csv.malformed_lines()) << range_bytes;
  }
}

// ---- cvb: a small valid file and every way to damage it ----

struct TestBlock {
  StationIndex station;
  std::vector<uint64_t> seq;
  std::vector<ChoiceIndex> choice;
  uint32_t malformed;
  uint64_t Records() const { return seq.size() + malformed; }
};

constexpr ChoiceIndex kA = 0, kB = 1, kInv = 2;

// S1 4 ballots; S2 3 ballots + 1 damaged record; S1 again with an unknown choice, a serial
// past capacity and a copy of S1's serial 1; one record for a station not in the roster.
const std::vector<TestBlock>& ValidBlocks() {
  static const auto* const kBlocks = new std::vector<TestBlock>{
      {0, {1, 2, 3, 4}, {kA, kB, kA, kInv}, 0},
      {1, {1, 2, 3}, {kB, kB, kA}, 1},
      {0, {5, 6, 11, 1}, {kA, kUnknownChoice, kA, kA}, 0},
      {kUnknownStation, {1}, {kB}, 0},
  };
  return *kBlocks;
}
// The checked-in catalogue files are version 1 (the compatibility fixtures); the damage
// tests below run on both versions.
constexpr uint64_t kValidCvbBytes = 280;
constexpr uint64_t kBlockOffsets[] = {32, 96, 152, 216};
constexpr uint64_t kTrailerOffset = 256;
constexpr uint32_t kTinyChoices = 3;

// Bytes of block `b` of ValidBlocks() in a file of `version`.
BallotBatch ValidBatch(size_t b) {
  const TestBlock& block = ValidBlocks()[b];
  BallotBatch batch;
  batch.station = block.station;
  batch.seq = block.seq;
  batch.choice = block.choice;
  return batch;
}
uint64_t BlockBytes(size_t b, uint16_t version = 1) {
  const BallotBatch batch = ValidBatch(b);
  const uint32_t records = static_cast<uint32_t>(batch.size());
  return version == 1 ? CvbBlockBytesV1(records)
                      : CvbBlockBytes(records, ChooseCvbEncoding(batch, kTinyChoices));
}

// Where the blocks and the trailer of the full valid file of `version` start, and its size.
struct ValidLayout {
  std::vector<uint64_t> block_offsets;
  uint64_t trailer_offset = 0;
  uint64_t size = 0;
};
ValidLayout LayoutOf(uint16_t version) {
  ValidLayout layout;
  uint64_t offset = kCvbHeaderBytes;
  for (size_t b = 0; b < ValidBlocks().size(); ++b) {
    layout.block_offsets.push_back(offset);
    offset += BlockBytes(b, version);
  }
  layout.trailer_offset = offset;
  layout.size = offset + kCvbTrailerBytes;
  return layout;
}

// The outcome of reading the first `blocks` blocks of ValidBlocks().
Expected PrefixOutcome(size_t blocks) {
  static const Expected kOutcomes[] = {
      {},
      {.read = 4, .a = 2, .b = 1, .inv = 1},
      {.read = 8, .malformed = 1, .a = 3, .b = 3, .inv = 1},
      {.read = 12,
       .malformed = 1,
       .unknown_choice = 1,
       .bad_seq = 1,
       .duplicate = 1,
       .a = 4,
       .b = 3,
       .inv = 1},
      {.read = 13,
       .malformed = 1,
       .unknown_station = 1,
       .unknown_choice = 1,
       .bad_seq = 1,
       .duplicate = 1,
       .a = 4,
       .b = 3,
       .inv = 1},
  };
  return kOutcomes[blocks];
}

// A cvb file of `version` holding the blocks of ValidBlocks() whose bit is set in
// `block_mask`.
std::string WriteCvb(uint64_t fingerprint, uint32_t block_mask = 0xF, uint16_t version = 1) {
  std::string bytes;
  AppendCvbHeader(fingerprint, &bytes, version);
  uint32_t blocks = 0;
  uint64_t records = 0;
  for (size_t b = 0; b < ValidBlocks().size(); ++b) {
    if ((block_mask & (1u << b)) == 0) continue;
    const TestBlock& block = ValidBlocks()[b];
    if (version == 1) {
      AppendCvbBlockV1(ValidBatch(b), block.malformed, &bytes);
    } else {
      AppendCvbBlock(ValidBatch(b), block.malformed, kTinyChoices, &bytes);
    }
    ++blocks;
    records += block.Records();
  }
  AppendCvbTrailer(blocks, records, &bytes);
  return bytes;
}

// Reads `path` with --skip-damaged and checks that its records and totals are exactly
// those of `reference_bytes` (the same file without the damaged part), written to
// `reference_path`; returns the --skip-damaged report for further checks.
Json SkippedReportEqualsFile(const std::string& path, const std::string& reference_path,
                             const std::string& reference_bytes) {
  WriteFileBytes(reference_path, reference_bytes);
  const RunResult reference = Aggregate({reference_path});
  EXPECT_EQ(reference.exit_code, kExitMatch) << Describe(reference);
  const RunResult skipped = Aggregate({path}, {"--skip-damaged"});
  EXPECT_EQ(skipped.exit_code, kExitMatch) << Describe(skipped);
  if (reference.exit_code != kExitMatch || skipped.exit_code != kExitMatch) return Json::object();
  const Json report = ParseReport(skipped);
  EXPECT_EQ(report.value("records", Json()), ParseReport(reference).value("records", Json()));
  EXPECT_EQ(report.value("totals", Json()), ParseReport(reference).value("totals", Json()));
  return report;
}

std::string FlipBit(std::string bytes, uint64_t offset, int bit) {
  bytes[offset] = static_cast<char>(bytes[offset] ^ (1 << bit));
  return bytes;
}

// The catalogue's cvb files, built from the writer.
std::vector<std::pair<std::string, std::string>> CvbCatalogue(const Election& election) {
  const std::string valid = WriteCvb(ElectionFingerprint(election));
  std::string future = valid;
  future[8] = 4;  // version 4, with the header checksum made right again
  const uint64_t checksum = XXH3_64bits(future.data(), 24);
  future.replace(24, 8, reinterpret_cast<const char*>(&checksum), 8);
  return {
      {"valid.cvb", valid},
      {"truncated.cvb", valid.substr(0, 200)},      // inside the third block
      {"flipped_bit.cvb", FlipBit(valid, 170, 0)},  // a serial of the third block
      {"wrong_election.cvb", WriteCvb(ElectionFingerprint(ReferenceElection()))},
      {"future_version.cvb", future},
      {"trailing_garbage.cvb", valid + "GARBAGE\n"},
  };
}

// The checked-in files are the version 1 writer's output: the version 1 format cannot drift,
// and this build keeps reading it.
TEST(CvbCatalogueTest, CheckedInFilesAreWhatTheWriterWrites) {
  ASSERT_THAT(TinyElection(), IsOk());
  for (const auto& [name, bytes] : CvbCatalogue(*TinyElection())) {
    const std::string checked_in = ReadFileBytes(CatalogueDir() / name);
    if (checked_in != bytes) {
      const fs::path fresh = fs::path(::testing::TempDir()) / name;
      WriteFileBytes(fresh, bytes);
      ADD_FAILURE() << name << " differs from the writer's output; if the format changed on "
                    << "purpose, copy " << fresh << " into " << CatalogueDir();
    }
  }
  const std::string valid = ReadFileBytes(CatalogueDir() / "valid.cvb");
  EXPECT_EQ(valid.size(), kValidCvbBytes);
  for (size_t b = 0; b < ValidBlocks().size(); ++b) {
    const uint64_t end = b + 1 < ValidBlocks().size() ? kBlockOffsets[b + 1] : kTrailerOffset;
    EXPECT_EQ(end - kBlockOffsets[b], BlockBytes(b)) << b;
  }
}

TEST(CvbCatalogueTest, ValidFileCountsEveryRecordExactly) {
  const std::string path = CataloguePath("valid.cvb");
  const RunResult result = Aggregate({path});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  EXPECT_EQ(result.err, "");
  const Json report = ParseReport(result);
  ExpectOutcome(report, PrefixOutcome(4), "valid.cvb");
  EXPECT_EQ(report.value("damaged_files", Json()), Json::array());
}

// MalformedExample and report.cc give cvb damaged records as "file@byte" of their block,
// in input order with the CSV lines (files.h: "the first 20, in file and line order").
TEST(CvbCatalogueTest, MalformedRecordsAreListedByTheirBlockOffset) {
  const std::string path = CataloguePath("valid.cvb");
  const std::string csv = CataloguePath("trailing_comma.csv");
  const RunResult result = Aggregate({path, csv});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  EXPECT_EQ(ParseReport(result).value("malformed_examples", Json()),
            Json::array({absl::StrCat(path, "@", kBlockOffsets[1]), absl::StrCat(csv, ":2")}));
}

std::vector<std::string> SkipDamagedFlag(bool skip_damaged) {
  return skip_damaged ? std::vector<std::string>{"--skip-damaged"} : std::vector<std::string>{};
}

TEST(CvbCatalogueTest, WrongElectionIsAnInputErrorEvenWithSkipDamaged) {
  const std::string path = CataloguePath("wrong_election.cvb");
  for (bool skip_damaged : {false, true}) {
    const RunResult result = Aggregate({path}, SkipDamagedFlag(skip_damaged));
    EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
    EXPECT_EQ(result.out, "");
    EXPECT_THAT(result.err, HasSubstr(absl::StrCat(path, ": byte 16: ")));
    EXPECT_THAT(result.err, HasSubstr("another election"));
  }
}

TEST(CvbCatalogueTest, FutureVersionIsAnInputErrorEvenWithSkipDamaged) {
  const std::string path = CataloguePath("future_version.cvb");
  for (bool skip_damaged : {false, true}) {
    const RunResult result = Aggregate({path}, SkipDamagedFlag(skip_damaged));
    EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
    EXPECT_EQ(result.out, "");
    EXPECT_THAT(result.err, HasSubstr(absl::StrCat(path, ": byte 8: ")));
    EXPECT_THAT(result.err, HasSubstr("cvb version 4 is not supported"));
  }
}

// One damaged file, its damage at `byte`: exit 2 without --skip-damaged; with it, exit 0,
// `expected` counted and the file listed with the records it gave.
void ExpectDamage(const std::string& path, uint64_t byte, absl::string_view what,
                  const Expected& expected) {
  const RunResult stopped = Aggregate({path});
  EXPECT_EQ(stopped.exit_code, kExitInputError) << Describe(stopped);
  EXPECT_EQ(stopped.out, "");
  EXPECT_THAT(stopped.err, HasSubstr(absl::StrCat(path, ": byte ", byte, ": ", what)));
  const RunResult skipped = Aggregate({path}, {"--skip-damaged"});
  ASSERT_EQ(skipped.exit_code, kExitMatch) << Describe(skipped);
  const Json report = ParseReport(skipped);
  ExpectOutcome(report, expected, path);
  const Json damaged = report.value("damaged_files", Json::array());
  ASSERT_EQ(damaged.size(), 1u) << damaged.dump();
  EXPECT_EQ(damaged[0].value("file", ""), path);
  EXPECT_EQ(damaged[0].value("records_read", Json()), expected.read);
  EXPECT_THAT(damaged[0].value("damage", ""), HasSubstr(absl::StrCat("byte ", byte, ": ")));
}

TEST(CvbCatalogueTest, TruncatedFileKeepsTheBlocksBeforeTheCut) {
  ExpectDamage(CataloguePath("truncated.cvb"), kBlockOffsets[2], "truncated", PrefixOutcome(2));
}

TEST(CvbCatalogueTest, FlippedBitLosesItsBlockOnly) {
  // The first, second and fourth blocks: S1's serial 1 is no longer a duplicate.
  ExpectDamage(CataloguePath("flipped_bit.cvb"), kBlockOffsets[2], "block checksum mismatch",
               {.read = 9, .malformed = 1, .unknown_station = 1, .a = 3, .b = 3, .inv = 1});
}

TEST(CvbCatalogueTest, TrailingGarbageIsDamageAfterEveryRecord) {
  ExpectDamage(CataloguePath("trailing_garbage.cvb"), kValidCvbBytes,
               "unexpected bytes after the trailer", PrefixOutcome(4));
}

TEST(CvbCatalogueTest, DamageIsDataLossInProcess) {
  ASSERT_THAT(TinyElection(), IsOk());
  const std::vector<std::pair<std::string, uint64_t>> damaged = {
      {"truncated.cvb", kBlockOffsets[2]},
      {"flipped_bit.cvb", kBlockOffsets[2]},
      {"trailing_garbage.cvb", kValidCvbBytes}};
  for (const auto& [name, byte] : damaged) {
    const std::string path = CataloguePath(name);
    const absl::StatusOr<IngestResult> ingest =
        IngestFiles(*TinyElection(), {path}, IngestOptions());
    EXPECT_THAT(ingest, StatusIs(absl::StatusCode::kDataLoss,
                                 HasSubstr(absl::StrCat(path, ": byte ", byte))))
        << ingest.status();
  }
  for (const char* name : {"wrong_election.cvb", "future_version.cvb"}) {
    IngestOptions options;
    options.skip_damaged = true;
    const absl::StatusOr<IngestResult> ingest =
        IngestFiles(*TinyElection(), {CataloguePath(name)}, options);
    EXPECT_THAT(ingest,
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(CataloguePath(name))))
        << ingest.status();
  }
}

// The byte offset named after "PATH: byte " in `message`, or -1.
int64_t NamedByte(const std::string& message, const std::string& path) {
  const std::string marker = absl::StrCat(path, ": byte ");
  const size_t at = message.find(marker);
  if (at == std::string::npos) return -1;
  const size_t begin = at + marker.size();
  const size_t end = message.find(':', begin);
  int64_t byte = -1;
  if (!absl::SimpleAtoi(message.substr(begin, end - begin), &byte)) return -1;
  return byte;
}

// The start of the unit of the file (header, block or trailer) that byte `offset` is in.
uint64_t UnitStart(const ValidLayout& layout, uint64_t offset) {
  uint64_t start = 0;
  std::vector<uint64_t> units = layout.block_offsets;
  units.push_back(layout.trailer_offset);
  for (uint64_t unit : units) {
    if (unit <= offset) start = unit;
  }
  return start;
}

// The damage tests run on a version 1 file (the checked-in catalogue's) and on the same
// blocks in version 2 (run + packed, plain + plain and run + packed blocks).
class CvbDamageTest : public ::testing::TestWithParam<uint16_t> {
 protected:
  uint16_t version() const { return GetParam(); }
  uint64_t Fingerprint() const { return ElectionFingerprint(*TinyElection()); }
  std::string Valid() const { return WriteCvb(Fingerprint(), 0xF, version()); }
};

TEST_P(CvbDamageTest, TheValidFileCountsEveryRecordExactly) {
  ASSERT_THAT(TinyElection(), IsOk());
  const ValidLayout layout = LayoutOf(version());
  const std::string valid = Valid();
  ASSERT_EQ(valid.size(), layout.size);
  EXPECT_EQ(layout.size, version() == 1 ? 280u : 272u);
  TempDir temp;
  const std::string path = temp.File("valid.cvb");
  WriteFileBytes(path, valid);
  const RunResult result = Aggregate({path});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  ExpectOutcome(ParseReport(result), PrefixOutcome(4), path);
}

TEST_P(CvbDamageTest, TruncationAtEveryByteIsLocatedAndNeverMiscounted) {
  ASSERT_THAT(TinyElection(), IsOk());
  const ValidLayout layout = LayoutOf(version());
  const std::string valid = version() == 1 ? ReadFileBytes(CataloguePath("valid.cvb")) : Valid();
  ASSERT_EQ(valid.size(), layout.size);
  TempDir temp;
  const std::string path = temp.File("cut.cvb");
  // Every byte in the release suite; every third under a sanitizer.
  for (uint64_t size = 0; size < valid.size(); size += testing::SampleStride(3)) {
    SCOPED_TRACE(absl::StrCat("truncated to ", size, " bytes"));
    WriteFileBytes(path, valid.substr(0, size));
    const RunResult stopped = Aggregate({path});
    EXPECT_EQ(stopped.exit_code, kExitInputError) << Describe(stopped);
    EXPECT_EQ(stopped.out, "");
    const int64_t byte = NamedByte(stopped.err, path);
    EXPECT_GE(byte, static_cast<int64_t>(UnitStart(layout, size))) << stopped.err;
    EXPECT_LE(byte, static_cast<int64_t>(size)) << stopped.err;

    size_t whole_blocks = 0;
    while (whole_blocks < ValidBlocks().size() &&
           layout.block_offsets[whole_blocks] + BlockBytes(whole_blocks, version()) <= size) {
      ++whole_blocks;
    }
    const RunResult skipped = Aggregate({path}, {"--skip-damaged"});
    ASSERT_EQ(skipped.exit_code, kExitMatch) << Describe(skipped);
    const Json report = ParseReport(skipped);
    ExpectOutcome(report, PrefixOutcome(whole_blocks), path);
    const Json damaged = report.value("damaged_files", Json::array());
    ASSERT_EQ(damaged.size(), 1u) << damaged.dump();
    EXPECT_EQ(damaged[0].value("records_read", Json()), PrefixOutcome(whole_blocks).read);
  }
}

TEST_P(CvbDamageTest, FlippedBitInEachBlockLosesThatBlockAlone) {
  ASSERT_THAT(TinyElection(), IsOk());
  const ValidLayout layout = LayoutOf(version());
  const std::string valid = Valid();
  const uint64_t first_serial = version() == 1 ? kCvbBlockHeaderBytesV1 : kCvbBlockHeaderBytes;
  TempDir temp;
  const std::string path = temp.File("flipped.cvb");
  const std::string reference_path = temp.File("without_block.cvb");
  for (size_t b = 0; b < ValidBlocks().size(); ++b) {
    SCOPED_TRACE(absl::StrCat("block ", b));
    const uint64_t block = layout.block_offsets[b];
    WriteFileBytes(path, FlipBit(valid, block + first_serial, 3));  // its first serial
    const RunResult stopped = Aggregate({path});
    EXPECT_EQ(stopped.exit_code, kExitInputError) << Describe(stopped);
    EXPECT_THAT(stopped.err, HasSubstr(absl::StrCat(path, ": byte ", block, ": block checksum")));

    // With --skip-damaged: exactly what a file without that block gives.
    const Json report = SkippedReportEqualsFile(
        path, reference_path, WriteCvb(Fingerprint(), 0xF & ~(1u << b), version()));
    const Json damaged = report.value("damaged_files", Json::array());
    ASSERT_EQ(damaged.size(), 1u);
    EXPECT_EQ(damaged[0].value("records_declared", Json()), 13);
    EXPECT_EQ(damaged[0].value("records_lost", Json()), ValidBlocks()[b].Records());
    EXPECT_EQ(damaged[0].value("records_read", Json()), 13 - ValidBlocks()[b].Records());
  }
}

// Records and totals of every file made of a subset of the valid blocks.
std::set<std::string> SubsetOutcomes(uint64_t fingerprint, uint16_t version, const TempDir& temp) {
  std::set<std::string> outcomes;
  const std::string path = temp.File("subset.cvb");
  for (uint32_t mask = 0; mask < 16; ++mask) {
    WriteFileBytes(path, WriteCvb(fingerprint, mask, version));
    const RunResult result = Aggregate({path});
    EXPECT_EQ(result.exit_code, kExitMatch) << Describe(result);
    const Json report = ParseReport(result);
    outcomes.insert(
        Json::array({report.value("records", Json()), report.value("totals", Json())}).dump());
  }
  return outcomes;
}

TEST_P(CvbDamageTest, FlippedBitAtEveryByteIsDetectedAndNeverMiscounted) {
  ASSERT_THAT(TinyElection(), IsOk());
  const std::string valid = Valid();
  TempDir temp;
  const std::set<std::string> subsets = SubsetOutcomes(Fingerprint(), version(), temp);
  const std::string path = temp.File("flipped.cvb");
  // Every byte in the release suite; every third under a sanitizer (3 is co-prime with 8,
  // so every bit position is still flipped).
  for (uint64_t offset = 0; offset < valid.size(); offset += testing::SampleStride(3)) {
    SCOPED_TRACE(absl::StrCat("bit ", offset % 8, " of byte ", offset));
    WriteFileBytes(path, FlipBit(valid, offset, static_cast<int>(offset % 8)));
    const RunResult stopped = Aggregate({path});
    EXPECT_EQ(stopped.exit_code, kExitInputError) << Describe(stopped);
    EXPECT_GE(NamedByte(stopped.err, path), 0) << stopped.err;

    // Skipping the damage may only ever count whole blocks.
    const RunResult skipped = Aggregate({path}, {"--skip-damaged"});
    if (skipped.exit_code == kExitInputError) {
      EXPECT_GE(NamedByte(skipped.err, path), 0) << skipped.err;
      continue;
    }
    ASSERT_EQ(skipped.exit_code, kExitMatch) << Describe(skipped);
    const Json report = ParseReport(skipped);
    const std::string outcome =
        Json::array({report.value("records", Json()), report.value("totals", Json())}).dump();
    EXPECT_TRUE(subsets.count(outcome))
        << "not the outcome of any set of whole blocks: " << outcome;
    EXPECT_EQ(report.value("damaged_files", Json::array()).size(), 1u);
  }
}

// ---- cvb version 2: blocks whose checksum verifies but whose contents are impossible ----

// `bytes` with the block at `block` (of `block_bytes` bytes) given a fresh checksum.
std::string Reseal(std::string bytes, uint64_t block, uint64_t block_bytes) {
  const uint64_t checksum = XXH3_64bits(bytes.data() + block, block_bytes - 8);
  bytes.replace(block + block_bytes - 8, 8, reinterpret_cast<const char*>(&checksum), 8);
  return bytes;
}

struct ImpossibleBlockCase {
  const char* name;
  size_t block;         // which of ValidBlocks() is changed
  uint64_t at;          // byte offset inside the block
  std::string bytes;    // written there
  const char* message;  // what the damage says
};

std::vector<ImpossibleBlockCase> ImpossibleBlockCases() {
  const uint64_t max_serial = UINT64_MAX;
  std::string wrapping(8, '\0');
  const uint64_t first = max_serial - 2;  // four serials from 2^64 - 3 wrap to 0
  std::memcpy(wrapping.data(), &first, 8);
  return {
      {"UnknownSerialEncoding", 0, 20, std::string(1, '\x02'), "unknown block encoding"},
      {"UnknownChoiceEncoding", 0, 21, std::string(1, '\x02'), "unknown block encoding"},
      {"PackedWidthThree", 0, 22, std::string(1, '\x03'), "unknown block encoding"},
      {"PlainChoicesWithFourBits", 2, 22, std::string(1, '\x04'), "unknown block encoding"},
      {"ReservedByteSet", 1, 23, std::string(1, '\x01'), "unknown block encoding"},
      // Block 0's packed choices A B A INV are 0b10'00'01'00; 0b11 in the last field is 3.
      {"PackedValuePastTheLastChoice", 0, 32, std::string(1, '\xC4'), "packed choice 3"},
      {"PackedPaddingSet", 0, 33, std::string(1, '\x01'), "nonzero bits after the last"},
      {"RunPassingTheLargestSerial", 0, 24, wrapping, "passes 2^64 - 1"},
      {"SerialEncodingDisagreesWithTheSize", 0, 20, std::string(1, '\x00'),
       "disagrees with its encodings"},
  };
}

class CvbImpossibleBlockTest : public ::testing::TestWithParam<ImpossibleBlockCase> {};

// Each is damage located to its block, like a bad checksum: the other blocks count, and
// nothing of the damaged block does.
TEST_P(CvbImpossibleBlockTest, IsDamageLocatedToTheBlock) {
  ASSERT_THAT(TinyElection(), IsOk());
  const ImpossibleBlockCase& test_case = GetParam();
  const uint64_t fingerprint = ElectionFingerprint(*TinyElection());
  const ValidLayout layout = LayoutOf(2);
  const uint64_t block = layout.block_offsets[test_case.block];
  std::string bytes = WriteCvb(fingerprint, 0xF, 2);
  bytes.replace(block + test_case.at, test_case.bytes.size(), test_case.bytes);
  bytes = Reseal(bytes, block, BlockBytes(test_case.block, 2));
  TempDir temp;
  const std::string path = temp.File("impossible.cvb");
  WriteFileBytes(path, bytes);
  const RunResult stopped = Aggregate({path});
  EXPECT_EQ(stopped.exit_code, kExitInputError) << Describe(stopped);
  EXPECT_THAT(stopped.err, HasSubstr(absl::StrCat(path, ": byte ", block, ": ")));
  EXPECT_THAT(stopped.err, HasSubstr(test_case.message));

  SkippedReportEqualsFile(path, temp.File("without_block.cvb"),
                          WriteCvb(fingerprint, 0xF & ~(1u << test_case.block), 2));
}

INSTANTIATE_TEST_SUITE_P(Version2, CvbImpossibleBlockTest,
                         ::testing::ValuesIn(ImpossibleBlockCases()),
                         [](const ::testing::TestParamInfo<ImpossibleBlockCase>& info) {
                           return std::string(info.param.name);
                         });

INSTANTIATE_TEST_SUITE_P(Versions, CvbDamageTest, ::testing::Values(1, 2),
                         [](const ::testing::TestParamInfo<uint16_t>& info) {
                           return absl::StrCat("V", info.param);
                         });

// ---- An input changed by another process while the job reads it ----

// The job stops itself after its first range (CANVASS_STOP_AT, a point of its own
// progress), the test truncates the file the job has mapped, and the job goes on: the next
// range touches pages past the file's new end (SIGBUS), which must be exit 2 naming the
// file, with nothing on stdout, not a death by signal.
TEST(ChangedWhileReadTest, AnInputTruncatedWhileMappedIsExitTwoNamingTheFile) {
  TempDir temp;
  const std::string path = temp.File("big.csv");
  std::string csv = "station,seq,choice\n";
  for (uint64_t seq = 1; csv.size() < (uint64_t{6} << 20); ++seq) {
    absl::StrAppend(&csv, "AE-01,", seq, seq % 2 == 0 ? ",JAL\n" : ",PEZ\n");
  }
  WriteFileBytes(path, csv);
  const std::string out_path = temp.File("stdout"), err_path = temp.File("stderr");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) _exit(127);
    setenv("CANVASS_STOP_AT", "range:1", 1);
    execl(::canvass::testing::CanvassBinary(), ::canvass::testing::CanvassBinary(), "aggregate",
          path.c_str(), "--threads", "1", "--quiet", static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, WUNTRACED), pid);
  ASSERT_TRUE(WIFSTOPPED(status)) << "the job did not stop at its first range (status " << status
                                  << ")";
  ASSERT_EQ(truncate(path.c_str(), 4096), 0) << std::strerror(errno);
  ASSERT_EQ(kill(pid, SIGCONT), 0);
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "the job died of signal "
                                 << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), kExitInputError);
  EXPECT_EQ(ReadFileBytes(out_path), "");
  EXPECT_EQ(ReadFileBytes(err_path),
            absl::StrCat("canvass: ", path,
                         ": changed while being read (the file was truncated or shortened "
                         "while mapped); no report was printed\n"));
}

// ---- What a folder holds besides ballot files, and the same file given twice ----

// Ballot files are *.csv and *.cvb in any case; every other entry of a folder (but its
// manifest) is listed as skipped with the reason, not read, and not silently dropped.
TEST(FolderRulesTest, SuffixesInAnyCaseAreReadAndEveryOtherEntryIsListed) {
  ASSERT_THAT(TinyElection(), IsOk());
  TempDir temp;
  const std::string folder = temp.File("ballots");
  std::filesystem::create_directories(folder + "/sub");
  WriteFileBytes(folder + "/A.CSV", "station,seq,choice\nS1,1,A\nS1,2,B\n");
  WriteFileBytes(folder + "/b.Csv", "station,seq,choice\nS2,1,A\n");
  WriteFileBytes(folder + "/notes.txt", "not ballots\n");
  ASSERT_EQ(mkfifo((folder + "/pipe.csv").c_str(), 0644), 0) << std::strerror(errno);
  std::filesystem::create_symlink(temp.File("nowhere.csv"), folder + "/gone.csv");
  absl::StatusOr<IngestResult> ingest = IngestFiles(*TinyElection(), {folder}, IngestOptions{});
  ASSERT_THAT(ingest, IsOk());
  ASSERT_EQ(ingest->files.size(), 2u);
  EXPECT_EQ(ingest->files[0].path, folder + "/A.CSV");
  EXPECT_EQ(ingest->files[1].path, folder + "/b.Csv");
  EXPECT_EQ(ingest->tally.records_read, 3u);
  std::vector<std::string> skipped;
  for (const SkippedInput& entry : ingest->skipped) {
    skipped.push_back(absl::StrCat(entry.path, ": ", entry.reason));
  }
  EXPECT_THAT(skipped, ElementsAre(folder + "/gone.csv: a link to nothing",
                                   folder + "/notes.txt: not a .csv or .cvb file",
                                   folder + "/pipe.csv: not a regular file",
                                   folder + "/sub: a folder (folders are not read recursively)"));
  // The report lists them.
  const RunResult text = RunCanvass({"aggregate", "--election", TinyElectionDir(), folder});
  ASSERT_EQ(text.exit_code, kExitMatch) << Describe(text);
  EXPECT_THAT(text.out,
              HasSubstr(absl::StrCat("  skipped    ", folder,
                                     "/sub: a folder (folders are not read recursively)\n")));
}

// A job that finds nothing to read is an input error, not "0 files" and exit 0.
TEST(FolderRulesTest, NoBallotFileAtAllIsExitTwo) {
  TempDir temp;
  const std::string folder = temp.File("empty");
  std::filesystem::create_directories(folder + "/sub");
  const RunResult result = RunCanvass({"aggregate", "--election", TinyElectionDir(), folder});
  EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(
      result.err,
      HasSubstr(absl::StrCat("no ballot files to read in ", folder, " (1 entries skipped: ", folder,
                             "/sub: a folder (folders are not read recursively))")));
}

// The same file under several paths (twice, through its folder, through another spelling
// of its path) is read once, and the report says so: no record becomes a duplicate of
// itself.
TEST(RepeatedInputTest, TheSameFileGivenTwiceIsReadOnce) {
  ASSERT_THAT(TinyElection(), IsOk());
  TempDir temp;
  const std::string folder = temp.File("ballots");
  std::filesystem::create_directories(folder);
  const std::string path = folder + "/a.csv";
  WriteFileBytes(path, "station,seq,choice\nS1,1,A\nS1,2,B\nS2,1,A\n");
  const std::string other_spelling = folder + "/../ballots/./a.csv";
  absl::StatusOr<IngestResult> ingest =
      IngestFiles(*TinyElection(), {path, path, folder, other_spelling}, IngestOptions{});
  ASSERT_THAT(ingest, IsOk());
  ASSERT_EQ(ingest->files.size(), 1u);
  EXPECT_EQ(ingest->tally.records_read, 3u);
  EXPECT_EQ(ingest->tally.Rejected(RejectReason::kDuplicate), 0u);
  std::vector<std::string> repeated;
  for (const RepeatedInput& entry : ingest->repeated) {
    repeated.push_back(absl::StrCat(entry.path, " = ", entry.same_as));
  }
  EXPECT_THAT(repeated,
              ElementsAre(path + " = " + path, path + " = " + path, other_spelling + " = " + path));
  const RunResult json = Aggregate({path, path});
  ASSERT_EQ(json.exit_code, kExitMatch) << Describe(json);
  const Json report = Json::parse(json.out);
  EXPECT_EQ(report["inputs"]["files"], 1);
  EXPECT_EQ(
      report["inputs"]["read_once"],
      Json::parse(absl::StrCat(R"([{"path": ")", path, R"(", "same_as": ")", path, R"("}])")));
}

}  // namespace
}  // namespace canvass
