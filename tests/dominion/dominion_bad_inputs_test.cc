// The bad-input catalogue of Dominion CVR exports (tests/data/dominion_bad/README.md): the real
// `canvass aggregate|reconcile ... EXPORT --format json` on each hand-written case, laid over
// the base export in a scratch folder (or zipped there with libarchive's writer), every exit
// code, message and figure asserted as worked out by hand from the files.
#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/run_canvass.h"
#include "tests/testing/temp_dir.h"

namespace canvass {
namespace {

namespace fs = std::filesystem;
using Json = ::nlohmann::ordered_json;
using ::canvass::testing::Describe;
using ::canvass::testing::kExitInputError;
using ::canvass::testing::kExitMatch;
using ::canvass::testing::kExitMismatch;
using ::canvass::testing::ReadFileBytes;
using ::canvass::testing::RunCanvass;
using ::canvass::testing::RunResult;
using ::canvass::testing::TempDir;
using ::canvass::testing::WriteFileBytes;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string DataPath(absl::string_view name) {
  return (fs::path(CANVASS_SOURCE_DIR) / "tests" / "data" / "dominion_bad" / std::string(name))
      .string();
}

constexpr char kSessions[] = "CvrExport_1.json";
constexpr char kRequired[] =
    "(a Dominion CVR export needs ContestManifest.json, CandidateManifest.json and "
    "PrecinctPortionManifest.json)";
constexpr char kExpectedManifest[] =
    "expected a Dominion manifest, an object {\"Version\": ..., \"List\": [{...}, ...]}";

// Lays case `name` out as an export in `dir`/`name`: every file of base/, less `remove`, then
// the files of the case's own folder (when it has one) over them. Returns the folder.
std::string LayOut(const TempDir& dir, absl::string_view name,
                   const std::vector<std::string>& remove = {}) {
  const fs::path folder = dir.path() / std::string(name);
  fs::create_directories(folder);
  for (const fs::directory_entry& entry : fs::directory_iterator(DataPath("base"))) {
    fs::copy_file(entry.path(), folder / entry.path().filename());
  }
  for (const std::string& file : remove) EXPECT_TRUE(fs::remove(folder / file)) << file;
  if (fs::is_directory(DataPath(name))) {
    for (const fs::directory_entry& entry : fs::directory_iterator(DataPath(name))) {
      fs::copy_file(entry.path(), folder / entry.path().filename(),
                    fs::copy_options::overwrite_existing);
    }
  }
  return folder.string();
}

struct Member {
  std::string name;
  std::string content;
};

// A zip of every file of `folder` (sorted by name), deflated, under "export/", followed by
// `extra` members.
void WriteZip(const std::string& folder, const std::string& zip,
              const std::vector<Member>& extra = {}) {
  std::vector<Member> members;
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
    files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    members.push_back({"export/" + file.filename().string(), ReadFileBytes(file)});
  }
  members.insert(members.end(), extra.begin(), extra.end());
  struct archive* writer = archive_write_new();
  ASSERT_EQ(archive_write_set_format_zip(writer), ARCHIVE_OK);
  ASSERT_EQ(archive_write_open_filename(writer, zip.c_str()), ARCHIVE_OK);
  for (const Member& member : members) {
    ASSERT_EQ(archive_write_zip_set_compression_deflate(writer), ARCHIVE_OK);
    struct archive_entry* header = archive_entry_new();
    archive_entry_set_pathname(header, member.name.c_str());
    archive_entry_set_filetype(header, AE_IFREG);
    archive_entry_set_perm(header, 0644);
    archive_entry_set_size(header, static_cast<la_int64_t>(member.content.size()));
    ASSERT_EQ(archive_write_header(writer, header), ARCHIVE_OK);
    ASSERT_EQ(archive_write_data(writer, member.content.data(), member.content.size()),
              static_cast<la_ssize_t>(member.content.size()));
    archive_entry_free(header);
  }
  ASSERT_EQ(archive_write_close(writer), ARCHIVE_OK);
  archive_write_free(writer);
}

// Where member `name`'s data begins in the zip's bytes (after its local header).
size_t MemberData(const std::string& zip, const std::string& name) {
  const auto le16 = [&](size_t at) {
    return static_cast<size_t>(static_cast<uint8_t>(zip[at])) |
           static_cast<size_t>(static_cast<uint8_t>(zip[at + 1])) << 8;
  };
  for (size_t at = zip.find("PK\3\4"); at != std::string::npos; at = zip.find("PK\3\4", at + 1)) {
    if (at + 30 + name.size() <= zip.size() && le16(at + 26) == name.size() &&
        zip.compare(at + 30, name.size(), name) == 0) {
      return at + 30 + le16(at + 26) + le16(at + 28);
    }
  }
  ADD_FAILURE() << "no local header for " << name;
  return 0;
}

RunResult Aggregate(const std::string& path, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"aggregate", path, "--format", "json"};
  args.insert(args.end(), extra.begin(), extra.end());
  return RunCanvass(args);
}

RunResult Reconcile(const std::string& reported, const std::string& path) {
  return RunCanvass({"reconcile", "--reported", reported, path, "--format", "json"});
}

// Exit 2, nothing on stdout, and one line "canvass: PREFIX..." on stderr holding every one
// of `all_of`.
void ExpectInputError(const RunResult& result, const std::string& prefix,
                      const std::vector<std::string>& all_of) {
  EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
  EXPECT_EQ(result.out, "") << Describe(result);
  EXPECT_THAT(result.err, StartsWith(absl::StrCat("canvass: ", prefix))) << Describe(result);
  EXPECT_TRUE(absl::EndsWith(result.err, "\n")) << Describe(result);
  EXPECT_EQ(result.err.find('\n'), result.err.size() - 1) << "one line\n" << Describe(result);
  for (const std::string& part : all_of) EXPECT_THAT(result.err, HasSubstr(part));
}

// ---- Export-level errors: exit 2, one located line ----

struct ExportErrorCase {
  const char* name;
  std::vector<std::string> remove;  // files of base/ the case lacks
  const char* file;                 // the file the message is about ("": the folder)
  std::vector<std::string> all_of;
};

void PrintTo(const ExportErrorCase& c, std::ostream* os) { *os << c.name; }

// Offsets: README.md works each one out from the bytes of the lines. base/CvrExport_1.json has
// its 67-byte header line (68 with its newline), then one session a line: Sessions[0..4]
// begin at bytes 68, 532, 935, 1399 and 2162 (lines 2 to 6); "]}" is line 7, at byte 2627.
std::vector<ExportErrorCase> ExportErrorCases() {
  return {
      // Each required manifest missing, the others there.
      {"missing_contest_manifest",
       {"ContestManifest.json"},
       "",
       {"ContestManifest.json is missing", kRequired}},
      {"missing_candidate_manifest",
       {"CandidateManifest.json"},
       "",
       {"CandidateManifest.json is missing", kRequired}},
      {"missing_portion_manifest",
       {"PrecinctPortionManifest.json"},
       "",
       {"PrecinctPortionManifest.json is missing", kRequired}},
      // Session files with no manifest at all: still an export (by its CvrExport file), told
      // the first manifest it lacks.
      {"sessions_without_manifests",
       {"ContestManifest.json", "CandidateManifest.json", "PrecinctPortionManifest.json",
        "PrecinctManifest.json", "OutstackConditionManifest.json", "ElectionEventManifest.json"},
       "",
       {"ContestManifest.json is missing", kRequired}},
      // CandidateManifest.json is a CSV table: its first byte is not JSON.
      {"manifest_not_json",
       {},
       "CandidateManifest.json",
       {"not valid JSON at byte 0 (line 1, column 1)", kExpectedManifest}},
      // ContestManifest.json without the ',' after List[0]: lines 1 to 4 are 2 + 26 + 11 + 102
      // = 141 bytes, and List[1]'s '{' is 2 spaces into line 5: byte 143.
      {"manifest_missing_comma",
       {},
       "ContestManifest.json",
       {"not valid JSON at byte 143 (line 5, column 3)", kExpectedManifest}},
      // PrecinctPortionManifest.json with its entries under "Portions".
      {"manifest_no_list",
       {},
       "PrecinctPortionManifest.json",
       {"no \"List\" array", kExpectedManifest}},
      // A sixth candidate (List[5], Zed) of contest 3, which ContestManifest.json lacks.
      {"candidate_unknown_contest",
       {},
       "CandidateManifest.json",
       {"List[5].ContestId: 3 is not a contest of ContestManifest.json"}},
      // Portion 102 (List[1]) of precinct 3, which PrecinctManifest.json lacks.
      {"portion_unknown_precinct",
       {},
       "PrecinctPortionManifest.json",
       {"List[1].PrecinctId: 3 is not a precinct of PrecinctManifest.json"}},
      // The manifests alone.
      {"no_cvr_export", {kSessions}, "", {"no CvrExport*.json session file in the export"}},
      // Sessions[0..3], then Sessions[4] cut before its "Cards": 2257 bytes, no final newline,
      // so the end is line 6, column 2257 - 2162 + 1 = 96.
      {"truncated_mid_session",
       {},
       kSessions,
       {"truncated at byte 2257 (line 6, column 96)",
        "Sessions[4], begun at byte 2162 (line 6, column 1), does not end"}},
      // No ',' after Sessions[2] (line 4 is one byte shorter): Sessions[3]'s '{' is byte 1398,
      // where the ',' or ']' was expected.
      {"missing_comma_between_sessions",
       {},
       kSessions,
       {"byte 1398 (line 5, column 1): Sessions[2]: expected ',' or ']' after it"}},
      // The five sessions in a top-level array ("[" then the sessions): not an object.
      {"not_an_object", {}, kSessions, {"byte 0: not a Dominion CvrExport file (expected '{')"}},
      // The sessions under "Ballots" (1 byte shorter than "Sessions"): line 7's "]}" begins at
      // 2627 - 1 = 2626, so the file's closing '}' is byte 2627 (line 7, column 2), where it
      // ends with no "Sessions" array met.
      {"no_sessions_key",
       {},
       kSessions,
       {"byte 2627 (line 7, column 2): not a Dominion CvrExport file (it ends with no "
        "\"Sessions\" array)"}},
      // "Sessions": {...}: the header line's last byte, the '{', is byte 66.
      {"sessions_not_an_array",
       {},
       kSessions,
       {"byte 66 (line 1, column 67): \"Sessions\" must be an array"}},
      // Sessions[0], Sessions[1], then "42," where Sessions[2] was: byte 935, line 4.
      {"session_is_a_number",
       {},
       kSessions,
       {"byte 935 (line 4, column 1): Sessions[2]: expected a record (an object)"}},
  };
}

class ExportErrorTest : public ::testing::TestWithParam<ExportErrorCase> {};

TEST_P(ExportErrorTest, StopsTheJobNamingTheFileTheOffsetAndWhatWasExpected) {
  const ExportErrorCase& c = GetParam();
  TempDir dir;
  const std::string folder = LayOut(dir, c.name, c.remove);
  const std::string prefix =
      *c.file == '\0' ? absl::StrCat(folder, ": ") : absl::StrCat(folder, "/", c.file, ": ");
  ExpectInputError(Aggregate(folder), prefix, c.all_of);
  // The same from reconcile, before any figure is compared.
  ExpectInputError(Reconcile(DataPath("reported_match.csv"), folder), prefix, c.all_of);
}

INSTANTIATE_TEST_SUITE_P(DominionBad, ExportErrorTest, ::testing::ValuesIn(ExportErrorCases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(DominionBadExportTest, ACvrExportFileGivenWithoutItsExportIsRefused) {
  const std::string file = DataPath("base/CvrExport_1.json");
  ExpectInputError(Aggregate(file), file + ": ",
                   {"a Dominion CvrExport file is read as part of its export, with the export's "
                    "manifests: give the folder or the .zip that holds it"});
}

// ---- Zips: the same rules, errors naming the archive and the member ----

TEST(DominionBadZipTest, ACorruptMemberNamesTheZipAndTheMember) {
  TempDir dir;
  const std::string zip = dir.File("corrupt.zip");
  WriteZip(DataPath("base"), zip);
  std::string bytes = ReadFileBytes(zip);
  // 8 bytes inside the deflated data of the session file (2630 bytes, about 330 deflated).
  const size_t data = MemberData(bytes, "export/CvrExport_1.json");
  ASSERT_GT(data, 0u);
  for (size_t at = data + 40; at < data + 48; ++at) bytes[at] ^= '\xFF';
  WriteFileBytes(zip, bytes);
  // The member is shorter than one inflated block (256 KiB), so the block that fails is its
  // first: byte 0 of the member.
  ExpectInputError(Aggregate(zip), zip + ": ",
                   {"member export/CvrExport_1.json: byte 0 of the member: "});
}

TEST(DominionBadZipTest, ATruncatedZipNamesTheZipAndTheMemberCut) {
  TempDir dir;
  const std::string zip = dir.File("truncated.zip");
  WriteZip(DataPath("base"), zip);
  const std::string bytes = ReadFileBytes(zip);
  // Cut 100 bytes into the session file's deflated data (members in name order: CandidateM...,
  // ContestM..., CvrExport_1.json, ...): no end record, so libarchive walks the local headers
  // and the data of the third member runs out.
  const size_t data = MemberData(bytes, "export/CvrExport_1.json");
  ASSERT_GT(data, 0u);
  WriteFileBytes(zip, bytes.substr(0, data + 100));
  ExpectInputError(Aggregate(zip), zip + ": ",
                   {"member export/CvrExport_1.json: ",
                    "(the archive has no end-of-central-directory record: it was cut short or is "
                    "damaged)"});
}

TEST(DominionBadZipTest, ATruncatedSessionMemberIsLocatedInsideTheMember) {
  TempDir dir;
  const std::string folder = LayOut(dir, "truncated_mid_session");
  const std::string zip = dir.File("export.zip");
  WriteZip(folder, zip);
  ExpectInputError(Aggregate(zip), zip + ":export/CvrExport_1.json: ",
                   {"truncated at byte 2257 (line 6, column 96)",
                    "Sessions[4], begun at byte 2162 (line 6, column 1), does not end"});
}

TEST(DominionBadZipTest, AZipWithoutARequiredManifestNamesIt) {
  TempDir dir;
  const std::string folder = LayOut(dir, "missing_candidate_manifest", {"CandidateManifest.json"});
  const std::string zip = dir.File("export.zip");
  WriteZip(folder, zip);
  ExpectInputError(Aggregate(zip), zip + ": ", {"CandidateManifest.json is missing", kRequired});
}

// ---- Session-level cases: the report's figures ----

// One contest at the scope (`election`): its selections in CandidateManifest order, then its
// figures.
struct Figures {
  std::array<uint64_t, 3> selections{};  // Mayor's first two, or Council's three
  uint64_t overvotes = 0;
  uint64_t undervotes = 0;
  uint64_t ballots = 0;
  uint64_t invalid = 0;
};

// The five base sessions 1-1-1 .. 1-1-5 (README.md):
//   1-1-1 portion 101: Mayor 11; Council 21, 22
//   1-1-2 portion 101: Mayor 12; Council 21 (Undervotes 1)
//   1-1-3 portion 102: Mayor 11; Council 22, 23
//   1-1-4 portion 102: Original (not current) Mayor 12; Modified, current: Mayor 11; Council
//         23 (Undervotes 1): adjudicated
//   1-1-5 portion 102: Mayor with InvalidContest (condition 3); Council 21, 22
// Mayor 11 = 3, 12 = 1, 4 ballots, 1 invalid; Council 21 = 3, 22 = 3, 23 = 2, 2 undervotes,
// 5 ballots.
constexpr Figures kBaseMayor = {{3, 1}, 0, 0, 4, 1};
constexpr Figures kBaseCouncil = {{3, 3, 2}, 0, 2, 5, 0};

struct Example {
  const char* reason;
  const char* why;  // a substring of the reason given
};

struct SessionCase {
  const char* name;
  uint64_t read;
  uint64_t counted;
  // malformed, unknown_unit, unknown_contest, unknown_selection, duplicate, conflict.
  std::array<uint64_t, 6> rejected;
  uint64_t adjudicated;
  // Located at Sessions[5], the trap appended after the base sessions: byte 2628, line 7.
  std::vector<Example> examples;
  Figures mayor;
  Figures council;
};

void PrintTo(const SessionCase& c, std::ostream* os) { *os << c.name; }

constexpr std::array<const char*, 6> kReasons = {
    "malformed", "unknown_unit", "unknown_contest", "unknown_selection", "duplicate", "conflict"};

// A case whose only effect is one located rejection of Sessions[5] (1-1-6, portion 101,
// Mayor 11, with one trap): the base figures.
SessionCase Rejected(const char* name, size_t reason, const char* why) {
  SessionCase c{name, 6, 5, {}, 1, {{kReasons[reason], why}}, kBaseMayor, kBaseCouncil};
  c.rejected[reason] = 1;
  return c;
}

constexpr size_t kMalformed = 0, kUnknownUnit = 1, kUnknownContest = 2, kUnknownSelection = 3;

std::vector<SessionCase> SessionCases() {
  std::vector<SessionCase> cases = {
      // The control: the base export as it is.
      {"base", 5, 5, {0, 0, 0, 0, 0, 0}, 1, {}, kBaseMayor, kBaseCouncil},
      // Sessions[5] is a byte-identical copy of 1-1-1: a duplicate, counted once.
      {"duplicate_session", 6, 5, {0, 0, 0, 0, 1, 0}, 1, {}, kBaseMayor, kBaseCouncil},
      // Sessions[5] is 1-1-2 voting Mayor 11 instead of 12: both copies are conflicts and 1-1-2
      // counts nowhere (Mayor 12 -1, Council 21 -1, 1 undervote less, one ballot less each).
      {"conflicting_session",
       6,
       4,
       {0, 0, 0, 0, 0, 2},
       1,
       {},
       {{3, 0}, 0, 0, 3, 1},
       {{2, 3, 2}, 0, 1, 4, 0}},
      // Sessions[5] is 1-1-"6" (RecordId a string): a sixth ballot at portion 101, Mayor 11.
      {"record_id_as_string", 6, 6, {0, 0, 0, 0, 0, 0}, 1, {}, {{4, 1}, 0, 0, 5, 1}, kBaseCouncil},
      // Sessions[5] is TabulatorId 1, BatchId "1-7", RecordId 6 (portion 101, Mayor 11) and
      // Sessions[6] TabulatorId "1-1", BatchId 7, RecordId 6 (portion 102, Mayor 12): two
      // identities, both counted, though "1-1-7-6" would write both. (Regression: they were
      // joined into one identity and rejected as a conflict.)
      {"dashes_in_string_ids", 7, 7, {0, 0, 0, 0, 0, 0}, 1, {}, {{4, 2}, 0, 0, 6, 1}, kBaseCouncil},
  };
  // `"PrecinctPortionId" 101` (no ':') inside Original; braces and strings balanced.
  cases.push_back(Rejected("session_broken_json", kMalformed, "Original: not a valid session ("));
  cases.push_back(Rejected("no_current_version", kMalformed,
                           "no current version (Original says IsCurrent false and there is no "
                           "current Modified version)"));
  cases.push_back(Rejected("modified_not_current", kMalformed,
                           "no current version (Original says IsCurrent false and there is no "
                           "current Modified version)"));
  cases.push_back(
      Rejected("overvotes_string", kMalformed, "Contests[].Overvotes: not a valid session ("));
  cases.push_back(Rejected("is_vote_string", kMalformed, "Marks[].IsVote: not a valid session ("));
  cases.push_back(Rejected("no_record_id", kMalformed,
                           "no RecordId (a session is identified by TabulatorId, BatchId, "
                           "RecordId)"));
  // Regression: an empty RecordId was an identity ("1-1-").
  cases.push_back(Rejected("empty_record_id", kMalformed,
                           "RecordId is \"\" (expected a number or a non-empty string)"));
  cases.push_back(
      Rejected("no_portion", kMalformed, "the current version has no PrecinctPortionId"));
  cases.push_back(Rejected("no_cards", kMalformed, "the current version has no Cards or Contests"));
  cases.push_back(Rejected("contest_twice", kMalformed, "contest 1 is listed twice in the ballot"));
  cases.push_back(Rejected("unknown_portion", kUnknownUnit,
                           "precinct portion 999 is not in PrecinctPortionManifest.json"));
  cases.push_back(
      Rejected("unknown_contest", kUnknownContest, "contest 9 is not in ContestManifest.json"));
  cases.push_back(Rejected("unknown_candidate", kUnknownSelection,
                           "candidate 21 is not in contest 1 (CandidateManifest.json)"));
  return cases;
}

// The contest `id` of the report (a copy; an empty object when it is missing).
Json ContestOf(const Json& report, absl::string_view id) {
  for (const Json& contest : report.value("contests", Json::array())) {
    if (contest.value("id", "") == id) return contest;
  }
  ADD_FAILURE() << "no contest " << id;
  return Json::object();
}

void ExpectFigures(const Json& contest, const std::vector<const char*>& selections,
                   const Figures& expected, absl::string_view label) {
  SCOPED_TRACE(label);
  const Json totals = contest.value("totals", Json::object());
  EXPECT_EQ(totals.size(), selections.size()) << totals.dump();
  for (size_t s = 0; s < selections.size(); ++s) {
    EXPECT_EQ(totals.value(selections[s], uint64_t{999}), expected.selections[s]) << selections[s];
  }
  EXPECT_EQ(contest.value("overvotes", uint64_t{999}), expected.overvotes);
  EXPECT_EQ(contest.value("undervotes", uint64_t{999}), expected.undervotes);
  EXPECT_EQ(contest.value("ballots", uint64_t{999}), expected.ballots);
  EXPECT_EQ(contest.value("invalid", uint64_t{999}), expected.invalid);
}

// The report of `result` holds every figure of `c`; its one input is `input`, examples are
// located in it, and it skipped nothing.
void ExpectReport(const RunResult& result, const SessionCase& c, const std::string& input,
                  bool skipped_nothing = true) {
  uint64_t rejected_sum = 0;
  for (const uint64_t r : c.rejected) rejected_sum += r;
  ASSERT_EQ(c.read, c.counted + rejected_sum) << "the expectation itself breaks conservation";

  EXPECT_EQ(result.exit_code, kExitMatch) << Describe(result);
  EXPECT_EQ(result.err, "") << Describe(result);
  const Json report = Json::parse(result.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(report.is_object()) << Describe(result);

  const Json records = report.value("records", Json::object());
  const Json rejected = records.value("rejected", Json::object());
  EXPECT_EQ(records.value("read", uint64_t{999}), c.read);
  EXPECT_EQ(records.value("counted", uint64_t{999}), c.counted);
  EXPECT_EQ(records.value("adjudicated", uint64_t{999}), c.adjudicated);
  EXPECT_EQ(rejected.size(), kReasons.size()) << rejected.dump();
  for (size_t r = 0; r < kReasons.size(); ++r) {
    EXPECT_EQ(rejected.value(kReasons[r], uint64_t{999}), c.rejected[r]) << kReasons[r];
  }
  EXPECT_EQ(report.value("ballots", uint64_t{999}), c.counted);

  const Json examples = report.value("rejected_examples", Json::array());
  ASSERT_EQ(examples.size(), c.examples.size()) << examples.dump(2);
  for (size_t i = 0; i < c.examples.size(); ++i) {
    EXPECT_EQ(examples[i].value("reason", ""), c.examples[i].reason);
    EXPECT_EQ(examples[i].value("location", ""),
              absl::StrCat(input, ": byte 2628 (line 7, column 1): Sessions[5]"));
    EXPECT_THAT(examples[i].value("why", ""), HasSubstr(c.examples[i].why));
  }

  const Json inputs = report.value("inputs", Json::array());
  ASSERT_EQ(inputs.size(), 1u) << inputs.dump(2);
  EXPECT_EQ(inputs[0].value("path", ""), input);
  EXPECT_EQ(inputs[0].value("format", ""), "dominion-cvr-json");
  EXPECT_EQ(inputs[0].value("records", uint64_t{999}), c.read);
  if (skipped_nothing) {
    EXPECT_EQ(report.value("skipped", Json::array()), Json::array());
  }

  ExpectFigures(ContestOf(report, "1"), {"11", "12"}, c.mayor, "Mayor");
  ExpectFigures(ContestOf(report, "2"), {"21", "22", "23"}, c.council, "Council");
}

class SessionCaseTest : public ::testing::TestWithParam<SessionCase> {};

TEST_P(SessionCaseTest, EveryFigureIsTheOneWorkedOutByHand) {
  const SessionCase& c = GetParam();
  TempDir dir;
  const std::string folder = LayOut(dir, c.name);
  ExpectReport(Aggregate(folder), c, folder + "/" + kSessions);
}

INSTANTIATE_TEST_SUITE_P(DominionBad, SessionCaseTest, ::testing::ValuesIn(SessionCases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(DominionBadSessionTest, TheBaseExportByUnit) {
  const RunResult result = Aggregate(DataPath("base"), {"--by", "unit"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  const Json report = Json::parse(result.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(report.is_object()) << Describe(result);
  // Portion 101 (precinct 1) holds 1-1-1 and 1-1-2, portion 102 (precinct 2) the other three.
  std::vector<std::string> ballots;
  for (const Json& unit : report.value("units", Json::array())) {
    ballots.push_back(absl::StrCat(unit.value("id", ""), " ", unit.value("ballots", 999)));
  }
  EXPECT_THAT(ballots, ElementsAreArray({"election 5", "precinct-1 2", "precinct-2 3",
                                         "portion-101 2", "portion-102 3"}));
}

TEST(DominionBadSessionTest, EntriesThatAreNeitherSessionsNorManifestsAreListedAsSkipped) {
  TempDir dir;
  const std::string folder = LayOut(dir, "base");
  WriteFileBytes(fs::path(folder) / "notes.txt", "not a session file\n");
  WriteFileBytes(fs::path(folder) / "CvrExport_1.json.bak", "{}\n");
  fs::create_directory(fs::path(folder) / "Images");
  const RunResult result = Aggregate(folder);
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  const Json report = Json::parse(result.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(report.is_object()) << Describe(result);
  // Sorted by name (upper case first).
  std::vector<std::string> skipped;
  for (const Json& entry : report.value("skipped", Json::array())) {
    skipped.push_back(absl::StrCat(entry.value("path", ""), ": ", entry.value("reason", "")));
  }
  const std::string not_sessions = ": not a CvrExport*.json session file or a manifest";
  EXPECT_THAT(skipped, ElementsAreArray({folder + "/CvrExport_1.json.bak" + not_sessions,
                                         folder + "/Images: a folder (folders are not read "
                                                  "recursively)",
                                         folder + "/notes.txt" + not_sessions}));
  EXPECT_EQ(report.value("records", Json::object()).value("counted", 999), 5);
}

TEST(DominionBadZipTest, MembersThatAreNotSessionFilesAreListedAsSkipped) {
  TempDir dir;
  const std::string zip = dir.File("export.zip");
  WriteZip(DataPath("base"), zip,
           {{"export/ReadMe.txt", "Exported by Results Tally and Reporting\n"},
            {"export/Images/1_00001_000001.tif", "II*\0"}});
  const RunResult result = Aggregate(zip);
  SessionCase base = SessionCases().front();
  ExpectReport(result, base, zip + ":export/CvrExport_1.json", /*skipped_nothing=*/false);
  const Json report = Json::parse(result.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(report.is_object()) << Describe(result);
  // In archive order, each named "ZIP:MEMBER".
  const Json skipped = report.value("skipped", Json::array());
  ASSERT_EQ(skipped.size(), 2u) << skipped.dump(2);
  EXPECT_EQ(skipped[0].value("path", ""), zip + ":export/ReadMe.txt");
  EXPECT_EQ(skipped[1].value("path", ""), zip + ":export/Images/1_00001_000001.tif");
  for (const Json& entry : skipped) {
    EXPECT_EQ(entry.value("reason", ""), "not a CvrExport*.json session file or a manifest");
  }
}

// ---- Reported figures: a CSV keyed by the precincts' external ids (N1, S2) ----

std::string MismatchLine(const Json& m) {
  return absl::StrCat(m.value("unit", ""), " ", m.value("contest", ""), " ",
                      m.value("selection", ""), " ", m.value("counted", uint64_t{0}), " ",
                      m.value("reported", uint64_t{0}), " ", m.value("delta", int64_t{0}));
}

// Both CSVs give 14 cells per precinct (ballots cast, 2 + 4 Mayor cells, 3 + 4 Council cells):
// 28 compared. Not reported: the counted figures above 0 of election (10), portion-101 (8)
// and portion-102 (9), which equal their precincts' (README.md): 27.
void ExpectReconciled(const RunResult& result, int exit_code,
                      const std::vector<std::string>& mismatches) {
  EXPECT_EQ(result.exit_code, exit_code) << Describe(result);
  EXPECT_EQ(result.err, "") << Describe(result);
  const Json report = Json::parse(result.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(report.is_object()) << Describe(result);
  const Json cells = report.value("cells", Json::object());
  EXPECT_EQ(cells.value("compared", 999), 28);
  EXPECT_EQ(cells.value("mismatched", 999), static_cast<int>(mismatches.size()));
  EXPECT_EQ(cells.value("not_reported", 999), 27);
  std::vector<std::string> lines;
  for (const Json& m : report.value("mismatches", Json::array())) lines.push_back(MismatchLine(m));
  EXPECT_THAT(lines, ElementsAreArray(mismatches));
  for (const char* id : {"1", "2"}) {
    bool contest_mismatch = false;
    for (const std::string& m : mismatches) {
      const std::vector<std::string> fields = absl::StrSplit(m, ' ');
      contest_mismatch |= fields[1] == id;
    }
    EXPECT_EQ(ContestOf(report, id).value("verdict", ""), contest_mismatch ? "mismatch" : "match")
        << id;
  }
  EXPECT_EQ(report.value("verdict", ""), mismatches.empty() ? "match" : "mismatch");
  EXPECT_EQ(report.value("records", Json::object()).value("counted", 999), 5);
}

TEST(DominionBadReportedTest, ACsvByPrecinctExternalIdsThatMatches) {
  ExpectReconciled(Reconcile(DataPath("reported_match.csv"), DataPath("base")), kExitMatch, {});
}

TEST(DominionBadReportedTest, OneCellOffByOneIsAMismatchNamingUnitContestAndSelection) {
  // S2 (precinct-2) Mayor 11 reported 3; counted 2 (1-1-3 and 1-1-4 from its Modified).
  ExpectReconciled(Reconcile(DataPath("reported_off_by_one.csv"), DataPath("base")), kExitMismatch,
                   {"precinct-2 1 11 2 3 -1"});
}

TEST(DominionBadReportedTest, ARowOfAnUnknownPrecinctNamesItsLine) {
  const std::string csv = DataPath("reported_unknown_precinct.csv");
  ExpectInputError(Reconcile(csv, DataPath("base")), csv + ": ",
                   {"line 5: unknown reporting unit 'N9' (expected a unit id or external id of "
                    "the election)"});
}

TEST(DominionBadReportedTest, AFileThatIsNotAReportedFiguresCsvIsRefused) {
  // The 6-column output of `canvass reconcile --format csv`, and a manifest.
  for (const std::string& file :
       {DataPath("reported_six_columns.csv"), DataPath("base/ContestManifest.json")}) {
    ExpectInputError(Reconcile(file, DataPath("base")), file + ": ",
                     {"not reported figures; for a Dominion export --reported expects a NIST ERR "
                      "JSON results report, or a reported-figures CSV whose first line is the "
                      "header \"unit,contest,selection,count\""});
  }
}

TEST(DominionBadReportedTest, ReconcileWithoutReportedFiguresIsRefused) {
  const std::string folder = DataPath("base");
  ExpectInputError(RunCanvass({"reconcile", folder, "--format", "json"}), folder + ": ",
                   {"no reported figures to reconcile against (give them with --reported)"});
}

// ---- Flags and paths an export does not take ----

TEST(DominionBadFlagsTest, WhatAnExportDoesNotTakeIsRefusedNotIgnored) {
  const std::string folder = DataPath("base");
  const std::string csv = DataPath("reported_match.csv");
  // Regression: --scale was ignored.
  ExpectInputError(
      RunCanvass({"reconcile", "--reported", csv, "--scale", "2", folder, "--format", "json"}),
      "--scale 2: ",
      {"the reported figures of a Dominion export are compared as the --reported CSV gives "
       "them (a generated export's reported CSV is already times its scale); leave --scale "
       "out"});
  ExpectInputError(RunCanvass({"aggregate", "--election", csv, folder, "--format", "json"}),
                   "--election " + csv + ": ",
                   {"a Dominion export defines its own election (its manifests)"});
  ExpectInputError(Aggregate(folder, {folder}), folder + ": ",
                   {"a Dominion export is read on its own (one folder or zip per job)"});
}

// ---- `canvass convert`: the real binary, and the copies read back by the real binary ----

// The aggregate report of `path` by unit, less what names the input (election.source, inputs).
Json FiguresOf(const std::string& path) {
  const RunResult result = Aggregate(path, {"--by", "unit"});
  EXPECT_EQ(result.exit_code, kExitMatch) << Describe(result);
  Json report = Json::parse(result.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(report.is_discarded()) << result.out;
  if (report.is_discarded()) return Json();
  report["election"].erase("source");
  report.erase("inputs");
  return report;
}

// Every case of the catalogue whose export reads (README.md, "Session-level cases"), both
// targets: the cvb copy aggregates to the same report, its rejections named where they were
// first read; the NIST copy to the same figures, less the records it has no form for.
TEST(DominionConvertCliTest, EveryCopyOfEveryReadableCaseAggregatesToTheSameReport) {
  TempDir dir;
  for (const char* name :
       {"base", "conflicting_session", "contest_twice", "dashes_in_string_ids", "duplicate_session",
        "empty_record_id", "is_vote_string", "modified_not_current", "no_cards",
        "no_current_version", "no_portion", "no_record_id", "overvotes_string",
        "record_id_as_string", "session_broken_json", "unknown_candidate", "unknown_contest",
        "unknown_portion"}) {
    SCOPED_TRACE(name);
    const std::string folder = LayOut(dir, name);
    const Json want = FiguresOf(folder);
    for (const char* to : {"nist-json", "cvb"}) {
      SCOPED_TRACE(to);
      const std::string out = (dir.path() / absl::StrCat(name, ".", to)).string();
      const RunResult converted = RunCanvass({"convert", folder, "--to", to, "--out", out});
      ASSERT_EQ(converted.exit_code, kExitMatch) << Describe(converted);
      EXPECT_EQ(converted.err, "");
      EXPECT_THAT(
          converted.out,
          StartsWith(absl::StrCat("converted ", want["records"]["read"].get<int>(), " records of ",
                                  folder, " (1 file) to ", out, " (", to, ", ")));
      EXPECT_FALSE(fs::exists(out + ".partial"));
      Json got = FiguresOf(out);
      ASSERT_EQ(got["rejected_examples"].size(),
                absl::string_view(to) == "cvb" ? want["rejected_examples"].size() : 0u);
      for (size_t e = 0; e < got["rejected_examples"].size(); ++e) {
        const Json& example = got["rejected_examples"][e];
        const Json& first = want["rejected_examples"][e];
        EXPECT_EQ(example["reason"], first["reason"]);
        EXPECT_THAT(example["why"].get<std::string>(),
                    StartsWith(first["why"].get<std::string>() + " (converted from " + folder));
      }
      got.erase("rejected_examples");
      Json expected = want;
      expected.erase("rejected_examples");
      if (absl::string_view(to) == "nist-json") {
        // A NIST report has no form for a record rejected before the identity rules.
        Json& rejected = expected["records"]["rejected"];
        for (const char* reason :
             {"malformed", "unknown_unit", "unknown_contest", "unknown_selection"}) {
          expected["records"]["read"] =
              expected["records"]["read"].get<int>() - rejected[reason].get<int>();
          rejected[reason] = 0;
        }
      }
      EXPECT_EQ(got, expected);
    }
  }
}

TEST(DominionConvertCliTest, TheCopiesReconcileToTheSameVerdictAndMismatch) {
  TempDir dir;
  for (const char* to : {"nist-json", "cvb"}) {
    SCOPED_TRACE(to);
    const std::string out = (dir.path() / absl::StrCat("base.", to)).string();
    const RunResult converted = RunCanvass({"convert", DataPath("base"), "--to", to, "--out", out});
    ASSERT_EQ(converted.exit_code, kExitMatch) << Describe(converted);
    // base/: read 5, counted 5, 1 from its Modified version (README.md).
    EXPECT_THAT(converted.out, HasSubstr("\n  records written: 5\n  ballots counted: 5 (1 from "
                                         "adjudicated versions)\n"));
    ExpectReconciled(Reconcile(DataPath("reported_match.csv"), out), kExitMatch, {});
    ExpectReconciled(Reconcile(DataPath("reported_off_by_one.csv"), out), kExitMismatch,
                     {"precinct-2 1 11 2 3 -1"});
  }
}

TEST(DominionConvertCliTest, ARejectedSessionIsKeptInCvbAndNamedAsNotConvertedInNistJson) {
  TempDir dir;
  const std::string folder = LayOut(dir, "unknown_candidate");
  const std::string json = (dir.path() / "copy.json").string();
  const std::string cvb = (dir.path() / "copy.cvb").string();
  const RunResult to_json = RunCanvass({"convert", folder, "--to", "nist-json", "--out", json});
  ASSERT_EQ(to_json.exit_code, kExitMatch) << Describe(to_json);
  // Sessions[5] (line 7, byte 2628) names candidate 21, a Council candidate, in the Mayor
  // contest: unknown_selection, which a NIST report has no form for.
  EXPECT_THAT(to_json.out,
              HasSubstr("  records written: 5\n  ballots counted: 5 (1 from adjudicated "
                        "versions)\n  rejected unknown_selection: 1 (1 not converted: nist-json "
                        "has no form for them)\n    not converted: " +
                        folder +
                        "/CvrExport_1.json: byte 2628 (line 7, column 1): Sessions[5]: "
                        "candidate 21 is not in contest 1 (CandidateManifest.json)\n"));
  const RunResult to_cvb = RunCanvass({"convert", folder, "--to", "cvb", "--out", cvb});
  ASSERT_EQ(to_cvb.exit_code, kExitMatch) << Describe(to_cvb);
  EXPECT_THAT(to_cvb.out, HasSubstr("  records written: 6\n"));
  EXPECT_THAT(to_cvb.out, HasSubstr("  rejected unknown_selection: 1\n"));

  const Json original = FiguresOf(folder);
  Json from_cvb = FiguresOf(cvb);
  // The cvb copy is rejected on the same record, which names where it was first read.
  ASSERT_EQ(from_cvb["rejected_examples"].size(), 1u);
  EXPECT_EQ(from_cvb["rejected_examples"][0]["why"],
            "candidate 21 is not in contest 1 (CandidateManifest.json) (converted from " + folder +
                "/CvrExport_1.json: byte 2628: Sessions[5])");
  from_cvb.erase("rejected_examples");
  Json want = original;
  want.erase("rejected_examples");
  EXPECT_EQ(from_cvb, want);
  // The NIST copy holds the 5 ballots and their figures, not the rejected session.
  Json from_json = FiguresOf(json);
  EXPECT_EQ(from_json["records"]["read"], 5);
  EXPECT_EQ(from_json["records"]["rejected"]["unknown_selection"], 0);
  EXPECT_EQ(from_json["contests"], original["contests"]);
  EXPECT_EQ(from_json["units"], original["units"]);
}

TEST(DominionConvertCliTest, BadTargetsPathsAndOutputsAreInputErrorsLeavingNothing) {
  TempDir dir;
  const std::string folder = DataPath("base");
  const std::string out = (dir.path() / "copy").string();
  ExpectInputError(RunCanvass({"convert", folder, "--to", "xml", "--out", out}),
                   "--to xml: ", {"expected nist-json (a NIST CVR JSON report) or cvb"});
  const std::string missing = (dir.path() / "nope").string();
  ExpectInputError(RunCanvass({"convert", missing, "--to", "cvb", "--out", out}), missing + ": ",
                   {"no such file or folder"});
  const std::string unwritable = (dir.path() / "no-such-folder" / "copy.cvb").string();
  ExpectInputError(RunCanvass({"convert", folder, "--to", "cvb", "--out", unwritable}),
                   unwritable + ".partial: ", {"cannot be written"});
  ExpectInputError(RunCanvass({"convert", folder, folder, "--to", "cvb", "--out", out}),
                   folder + ": ", {"a Dominion export is converted on its own"});
  // A Dominion export that fails to read leaves neither the copy nor its .partial.
  const std::string broken = LayOut(dir, "truncated_mid_session");
  const RunResult failed = RunCanvass({"convert", broken, "--to", "cvb", "--out", out});
  EXPECT_EQ(failed.exit_code, kExitInputError) << Describe(failed);
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out + ".partial"));
}

}  // namespace
}  // namespace canvass
