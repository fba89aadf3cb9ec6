// The bad-input catalogue of NIST CVR JSON reports (tests/data/nist_bad/README.md): the real
// `canvass reconcile --reported err-tiny.json FILE --format json` on each hand-written case,
// every exit code, message and figure asserted as worked out by hand from the files.
#include <array>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
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
using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAreArray;

std::string CasePath(absl::string_view name) {
  return (fs::path(CANVASS_SOURCE_DIR) / "tests" / "data" / "nist_bad" / std::string(name))
      .string();
}

// A case's file name as a test name: "not_json.json" -> "not_json_json".
std::string TestName(absl::string_view file) {
  std::string name;
  for (const char ch : file) name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return name;
}

RunResult Reconcile(const std::vector<std::string>& paths) {
  std::vector<std::string> args = {"reconcile", "--reported", CasePath("err-tiny.json")};
  args.insert(args.end(), paths.begin(), paths.end());
  args.insert(args.end(), {"--format", "json"});
  return RunCanvass(args);
}

// ---- File-level errors: exit 2, nothing on stdout, one located line on stderr ----

struct FileErrorCase {
  const char* file;
  // Every one of these is in the message.
  std::vector<std::string> all_of;
  // At least one of these is (where two offsets are equally right); empty: no such check.
  std::vector<std::string> any_of;
};

void PrintTo(const FileErrorCase& c, std::ostream* os) { *os << c.file; }

const char kNotAReport[] = "not a NIST cast vote record report";
const char kExpectedReport[] = "expected a JSON object with a \"CVR\" array";

// Offsets: README.md works each one out from the file's bytes (the records are one per line,
// the header line "{... \"CVR\": [" is 149 bytes and the base records b1..b5 begin at bytes
// 149, 742, 1229, 1889 and 2412, each line ending in "},\n" or "}\n").
std::vector<FileErrorCase> FileErrorCases() {
  return {
      // Plain text: nothing of a report at byte 0.
      {"not_json.json", {"byte 0", kNotAReport, kExpectedReport}, {}},
      // 0 bytes.
      {"empty.json", {"byte 0", kNotAReport, kExpectedReport}, {}},
      // A ballot file of the house CSV format given as a cast vote record report.
      {"csv_ballot_file.csv", {"byte 0", kNotAReport, kExpectedReport}, {}},
      // b5 (CVR[4], at byte 2412) cut after `"Type": "original", `: 2571 bytes, no final
      // newline, so the end is line 6, column 2571 - 2412 + 1 = 160. The message names the
      // record that was cut (its byte or its index).
      {"truncated_mid_record.json",
       {"truncated at byte 2571 (line 6, column 160)", "does not end"},
       {"byte 2412", "CVR[4]"}},
      // b5's closing '}' then "\n": 3004 bytes, 6 lines, the end is line 7, column 1.
      {"truncated_after_last_record.json",
       {"truncated at byte 3004 (line 7, column 1)"},
       {"CVR[4]: expected ',' or ']' after it", "the \"CVR\" array does not end"}},
      // `{"CVR": [` (10 bytes), b1..b5 (b5 ends at byte 2864), then `\n], "Election": [{...`
      // cut off: the Election value begins at byte 2880 (line 7, column 16), the file ends at
      // 2926 (line 7, column 62). The message names where the unended value began.
      {"truncated_in_election.json",
       {"truncated at byte 2926 (line 7, column 62)", "a value begun at byte 2880 does not end"},
       {}},
      // b1..b4, then `{"UniqueId": "b5-this-string-never-ends\n`: no '"' after it; 2452 bytes.
      {"unterminated_string.json",
       {"truncated at byte 2452 (line 7, column 1)", "a string does not end"},
       {}},
      // "},\n]}\n" after b5: the ']' is at 2412 + 591 + 2 = 3005, line 7, column 1.
      {"comma_before_bracket.json",
       {"byte 3005 (line 7, column 1)", "a ',' before the \"CVR\" array's ']'"},
       {}},
      // valid.json (3007 bytes) followed by `{"CVR": []}\n`: its '{' is byte 3007, line 8.
      {"text_after_closing_brace.json",
       {"byte 3007 (line 8, column 1)", "text after the report's closing '}'"},
       {}},
      // The records under "CastVoteRecords": the report ends with '}' at byte 3017 (line 7,
      // column 2) and "\n" (3019 bytes); either is where the "CVR" array was missed.
      {"no_cvr_key.json",
       {"no \"CVR\" array"},
       {"byte 3017 (line 7, column 2)", "byte 3019 (line 8, column 1)"}},
      // `"CVR": {` on line 1: the header without its " [\n" is 147 bytes, so '{' is byte 147.
      {"cvr_not_an_array.json", {"byte 147 (line 1, column 148)", "\"CVR\" must be an array"}, {}},
      // b1, b2, then "42" (CVR[2]) where b3 was: byte 1229, line 4.
      {"record_is_a_number.json",
       {"byte 1229 (line 4, column 1)", "CVR[2]: expected a record (an object)"},
       {}},
      // "\n],\n}\n" after b5 (ends at 3003): ',' at 3005 (line 7, column 2), '}' at 3007.
      {"comma_before_brace.json",
       {"','"},
       {"byte 3005 (line 7, column 2)", "byte 3007 (line 8, column 1)"}},
      // b1..b3, "\n],\n", then a second `"CVR": [` with b4, b5: its '"' is byte 1891 (line 6).
      {"two_cvr_keys.json",
       {"a second \"CVR\" key"},
       {"byte 1891 (line 6, column 1)", "byte 1892 (line 6, column 2)"}},
  };
}

class FileErrorTest : public ::testing::TestWithParam<FileErrorCase> {};

TEST_P(FileErrorTest, StopsTheJobWithTheFileTheOffsetAndWhatWasExpected) {
  const FileErrorCase& c = GetParam();
  const std::string path = CasePath(c.file);
  const RunResult result = Reconcile({path});
  EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
  EXPECT_EQ(result.out, "") << Describe(result);
  EXPECT_THAT(result.err, StartsWith(absl::StrCat("canvass: ", path, ": "))) << Describe(result);
  EXPECT_TRUE(absl::EndsWith(result.err, "\n")) << Describe(result);
  EXPECT_EQ(result.err.find('\n'), result.err.size() - 1) << "one line\n" << Describe(result);
  for (const std::string& part : c.all_of) EXPECT_THAT(result.err, HasSubstr(part));
  if (!c.any_of.empty()) {
    bool found = false;
    for (const std::string& part : c.any_of) found |= absl::StrContains(result.err, part);
    EXPECT_TRUE(found) << "none of the expected locations (" << c.any_of.front() << ", ...) in\n"
                       << result.err;
  }
}

INSTANTIATE_TEST_SUITE_P(NistBad, FileErrorTest, ::testing::ValuesIn(FileErrorCases()),
                         [](const auto& info) { return TestName(info.param.file); });

// ---- Record-level cases: the report, figure by figure ----

// One contest at the election scope (the county): its selections in ballot order, then the
// three figures.
struct Figures {
  std::array<uint64_t, 3> selections{};
  uint64_t overvotes = 0;
  uint64_t undervotes = 0;
  uint64_t ballots = 0;
};

// The five base ballots b1..b5 (README.md), which err-tiny.json reports exactly:
//   b1 p1: mayor ann; council cy, dee      b2 p1: mayor bob; council cy (1 undervote)
//   b3 p2: mayor ann; council dee, eve     b4 p2: mayor wi;  council eve (1 undervote)
//   b5 p2: mayor ann; council cy, dee
// County: mayor ann 3, bob 1, wi 1; council cy 3, dee 3, eve 2, undervotes 2; 5 ballots each.
constexpr Figures kBaseMayor = {{3, 1, 1}, 0, 0, 5};
constexpr Figures kBaseCouncil = {{3, 3, 2}, 0, 2, 5};

struct Example {
  const char* reason;
  uint64_t byte;
  uint64_t line;
  uint64_t column;
  uint64_t index;
  const char* why;  // a substring of the reason given
};

struct RecordCase {
  const char* file;
  int exit_code;
  uint64_t read;
  uint64_t counted;
  // malformed, unknown_unit, unknown_contest, unknown_selection, duplicate, conflict.
  std::array<uint64_t, 6> rejected;
  std::vector<Example> examples;
  Figures mayor;
  Figures council;
  // Every mismatching cell: "unit contest selection counted reported delta".
  std::vector<std::string> mismatches;
};

void PrintTo(const RecordCase& c, std::ostream* os) { *os << c.file; }

constexpr std::array<const char*, 6> kReasons = {
    "malformed", "unknown_unit", "unknown_contest", "unknown_selection", "duplicate", "conflict"};
constexpr std::array<const char*, 3> kMayor = {"mayor-ann", "mayor-bob", "mayor-wi"};
constexpr std::array<const char*, 3> kCouncil = {"council-cy", "council-dee", "council-eve"};

// The trap record of most cases is CVR[5], appended after b1..b5: byte 3005, line 7.
Example Trap(const char* reason, const char* why) { return {reason, 3005, 7, 1, 5, why}; }

// A case whose only effect is one located rejection of CVR[5]: the base figures, a match.
RecordCase Rejected(const char* file, int reason, const char* why) {
  RecordCase c{file,       kExitMatch,   6, 5, {}, {Trap(kReasons[reason], why)},
               kBaseMayor, kBaseCouncil, {}};
  c.rejected[reason] = 1;
  return c;
}

// Indexes into RecordCase::rejected (and kReasons).
constexpr int kMalformed = 0, kUnknownUnit = 1, kUnknownContest = 2, kUnknownSelection = 3;

std::vector<RecordCase> RecordCases() {
  std::vector<RecordCase> cases = {
      // The control: b1..b5 as err-tiny.json reports them.
      {"valid.json", kExitMatch, 5, 5, {}, {}, kBaseMayor, kBaseCouncil, {}},
      // b1..b5 with the report's and every record's keys in unusual orders (CVR first,
      // CVRSnapshot before CurrentSnapshotId, ContestId after CVRContestSelection, @id after
      // CVRContest, ContestSelectionId after SelectionPosition): the same five ballots.
      {"unusual_key_order.json", kExitMatch, 5, 5, {}, {}, kBaseMayor, kBaseCouncil, {}},
      // b2's current snapshot is its second ("modified": mayor bob; council cy), b4's its first
      // ("modified": mayor wi; council eve); their originals (b2: ann and bob, cy, dee; b4: ann;
      // cy, dee, eve) must not count. Counted from the current ones: the base figures.
      {"modified_snapshot_current.json", kExitMatch, 5, 5, {}, {}, kBaseMayor, kBaseCouncil, {}},
      // b5's UniqueId is `b5 "}] {[ , \` and its device `scan-1\`: one record, the base.
      {"strings_with_brackets.json", kExitMatch, 5, 5, {}, {}, kBaseMayor, kBaseCouncil, {}},
      // A UTF-8 byte order mark before the '{', and CVR[5] (b6, unit p9) unknown: offsets count
      // the mark's 3 bytes, so CVR[5] is at byte 3005 + 3 = 3008 (still line 7, column 1).
      {"bom.json",
       kExitMatch,
       6,
       5,
       {0, 1, 0, 0, 0, 0},
       {{"unknown_unit", 3008, 7, 1, 5, "unit 'p9' is not a reporting unit of the election"}},
       kBaseMayor,
       kBaseCouncil,
       {}},
      // CRLF line ends: each of lines 1..6 has one more byte, so CVR[5] (b6, unit p9) is at
      // byte 3005 + 6 = 3011, line 7, column 1.
      {"crlf_line_ends.json",
       kExitMatch,
       6,
       5,
       {0, 1, 0, 0, 0, 0},
       {{"unknown_unit", 3011, 7, 1, 5, "unit 'p9' is not a reporting unit of the election"}},
       kBaseMayor,
       kBaseCouncil,
       {}},
      // b5 written with \u escapes in its values and in the keys read by iteration (UniqueId,
      // BallotStyleUnitId, HasIndication), and CVR[5] = b1 with UniqueId "\u0062\u0031" and
      // device "\u0073can-1": the same strings as "b1" and "scan-1", so a duplicate of b1.
      {"unicode_escapes.json",
       kExitMatch,
       6,
       5,
       {0, 0, 0, 0, 1, 0},
       {},
       kBaseMayor,
       kBaseCouncil,
       {}},
      // b5's snapshot key "@id" written "\u0040id": the same JSON string, so b5 counts.
      {"escaped_snapshot_id_key.json", kExitMatch, 5, 5, {}, {}, kBaseMayor, kBaseCouncil, {}},
      // b5's snapshot key "CVRContest" written "CVRCont\u0065st": the same JSON string, so b5
      // counts its contests (it is not a ballot of no contests).
      {"escaped_cvrcontest_key.json", kExitMatch, 5, 5, {}, {}, kBaseMayor, kBaseCouncil, {}},
      // CVR[5] is a byte-identical copy of b1: one duplicate, b1 counted once.
      {"duplicate_copy.json",
       kExitMatch,
       6,
       5,
       {0, 0, 0, 0, 1, 0},
       {},
       kBaseMayor,
       kBaseCouncil,
       {}},
      // CVR[5] is b3 with other key order, spacing and mark order (and NumberVotes left to its
      // default 1 on one mark): the same ballot, so a duplicate, not a conflict.
      {"duplicate_reformatted.json",
       kExitMatch,
       6,
       5,
       {0, 0, 0, 0, 1, 0},
       {},
       kBaseMayor,
       kBaseCouncil,
       {}},
      // CVR[5] is b2 (same UniqueId and device) with mayor ann instead of bob: both copies are
      // conflicts and b2 is counted nowhere. p1 loses b2: mayor bob 1 -> 0, council cy 2 -> 1,
      // council undervotes 1 -> 0; the county likewise (bob 0, cy 2, undervotes 1).
      {"conflicting_copies.json",
       kExitMismatch,
       6,
       4,
       {0, 0, 0, 0, 0, 2},
       {},
       {{3, 0, 1}, 0, 0, 4},
       {{2, 3, 2}, 0, 1, 4},
       {"p1 mayor mayor-bob 0 1 -1", "p1 council council-cy 1 2 -1", "p1 council undervotes 0 1 -1",
        "county mayor mayor-bob 0 1 -1", "county council council-cy 2 3 -1",
        "county council undervotes 1 2 -1"}},
      // CVR[5] has UniqueId b1 but device scan-2 (b1's is scan-1): a sixth ballot, at p2:
      // mayor bob; council cy (1 undervote). p2: bob 0 -> 1, cy 1 -> 2, undervotes 1 -> 2.
      {"same_id_two_devices.json",
       kExitMismatch,
       6,
       6,
       {},
       {},
       {{3, 2, 1}, 0, 0, 6},
       {{4, 3, 2}, 0, 3, 6},
       {"p2 mayor mayor-bob 1 0 1", "p2 council council-cy 2 1 1", "p2 council undervotes 2 1 1",
        "county mayor mayor-bob 2 1 1", "county council council-cy 4 3 1",
        "county council undervotes 3 2 1"}},
      // CVR[5] (b6, p1): mayor ann; council cy, dee and eve, 3 marks in a vote-for-2 contest:
      // no council mark counts, overvotes 2 (= vote for), undervotes 0.
      {"overvote.json",
       kExitMismatch,
       6,
       6,
       {},
       {},
       {{4, 1, 1}, 0, 0, 6},
       {{3, 3, 2}, 2, 2, 6},
       {"p1 mayor mayor-ann 2 1 1", "p1 council overvotes 2 0 2", "county mayor mayor-ann 4 3 1",
        "county council overvotes 2 0 2"}},
      // CVR[5] (b6, p2): mayor ann with HasIndication "no"; council cy IsAllocable "no", dee
      // IsAllocable "unknown", eve "yes"/"yes". Only eve counts: mayor 1 undervote, council
      // eve +1 and 1 undervote. p2: mayor undervotes 0 -> 1, eve 2 -> 3, undervotes 1 -> 2.
      {"not_indicated_or_not_allocable.json",
       kExitMismatch,
       6,
       6,
       {},
       {},
       {{3, 1, 1}, 0, 1, 6},
       {{3, 3, 3}, 0, 3, 6},
       {"p2 mayor undervotes 1 0 1", "p2 council council-eve 3 2 1", "p2 council undervotes 2 1 1",
        "county mayor undervotes 1 0 1", "county council council-eve 3 2 1",
        "county council undervotes 3 2 1"}},
  };
  // CVR[5] is b6 at p1 (mayor ann, one mark) with one trap each; it is rejected, the base
  // ballots are all counted and match.
  cases.push_back(Rejected("record_broken_json.json", kMalformed, "not a valid record ("));
  cases.push_back(
      Rejected("number_votes_string.json", kMalformed, "NumberVotes: expected a small integer ("));
  cases.push_back(Rejected("number_votes_negative.json", kMalformed,
                           "NumberVotes: expected a small integer ("));
  cases.push_back(Rejected("number_votes_fraction.json", kMalformed,
                           "NumberVotes: expected a small integer ("));
  cases.push_back(Rejected("number_votes_2_pow_64.json", kMalformed,
                           "NumberVotes: expected a small integer ("));
  cases.push_back(
      Rejected("number_votes_above_max.json", kMalformed,
               "NumberVotes 1048577 of selection 'mayor-ann'; expected at most 1048576"));
  cases.push_back(Rejected("no_current_snapshot_id.json", kMalformed, "no CurrentSnapshotId"));
  cases.push_back(Rejected("current_snapshot_missing.json", kMalformed,
                           "no CVRSnapshot has the current @id 'b6-s2'"));
  cases.push_back(
      Rejected("two_current_snapshots.json", kMalformed, "two CVRSnapshots have @id 'b6-s1'"));
  cases.push_back(Rejected("no_identity.json", kMalformed,
                           "no identity: none of UniqueId, BallotPrePrintedId, BallotAuditId"));
  cases.push_back(Rejected("no_unit.json", kMalformed, "no BallotStyleUnitId"));
  cases.push_back(Rejected("unknown_unit.json", kUnknownUnit,
                           "unit 'p9' is not a reporting unit of the election"));
  cases.push_back(Rejected("unknown_contest.json", kUnknownContest,
                           "contest 'sheriff' is not in the election"));
  cases.push_back(Rejected("unknown_selection.json", kUnknownSelection,
                           "selection 'mayor-zed' is not in contest 'mayor'"));
  cases.push_back(Rejected("contest_listed_twice.json", kMalformed,
                           "contest 'mayor' is listed twice in the snapshot"));
  // Unit p9, contest sheriff and selection council-zed at once: the first reason in the
  // table's order (unknown_unit) wins, whatever order the record states them in.
  cases.push_back(Rejected("first_reason_wins.json", kUnknownUnit,
                           "unit 'p9' is not a reporting unit of the election"));
  return cases;
}

std::string MismatchLine(const Json& m) {
  return absl::StrCat(m.value("unit", ""), " ", m.value("contest", ""), " ",
                      m.value("selection", ""), " ", m.value("counted", uint64_t{0}), " ",
                      m.value("reported", uint64_t{0}), " ", m.value("delta", int64_t{0}));
}

// The contest `id` of the report (a copy; an empty object when it is missing).
Json ContestOf(const Json& report, absl::string_view id) {
  if (report.contains("contests") && report["contests"].is_array()) {
    for (const Json& contest : report["contests"]) {
      if (contest.value("id", "") == id) return contest;
    }
  }
  ADD_FAILURE() << "no contest " << id;
  return Json::object();
}

void ExpectFigures(const Json& contest, const std::array<const char*, 3>& selections,
                   const Figures& expected, absl::string_view label) {
  SCOPED_TRACE(label);
  const Json totals = contest.value("totals", Json::object());
  EXPECT_EQ(totals.size(), 3u) << totals.dump();
  for (size_t s = 0; s < selections.size(); ++s) {
    EXPECT_EQ(totals.value(selections[s], uint64_t{999}), expected.selections[s]) << selections[s];
  }
  EXPECT_EQ(contest.value("overvotes", uint64_t{999}), expected.overvotes);
  EXPECT_EQ(contest.value("undervotes", uint64_t{999}), expected.undervotes);
  EXPECT_EQ(contest.value("ballots", uint64_t{999}), expected.ballots);
}

// Asserts every figure of `c` in the report of `result`: examples are located in
// `located_path`, and the report lists `inputs` (path, records) in that order.
void ExpectReport(const RunResult& result, const RecordCase& c, const std::string& located_path,
                  const std::vector<std::pair<std::string, uint64_t>>& inputs) {
  uint64_t rejected_sum = 0;
  for (const uint64_t r : c.rejected) rejected_sum += r;
  ASSERT_EQ(c.read, c.counted + rejected_sum) << "the expectation itself breaks conservation";

  EXPECT_EQ(result.exit_code, c.exit_code) << Describe(result);
  EXPECT_EQ(result.err, "") << Describe(result);
  const Json report = Json::parse(result.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(report.is_object()) << Describe(result);

  const Json records = report.value("records", Json::object());
  const Json rejected = records.value("rejected", Json::object());
  EXPECT_EQ(records.value("read", uint64_t{999}), c.read);
  EXPECT_EQ(records.value("counted", uint64_t{999}), c.counted);
  EXPECT_EQ(rejected.size(), kReasons.size()) << rejected.dump();
  uint64_t reported_rejected = 0;
  for (size_t r = 0; r < kReasons.size(); ++r) {
    EXPECT_EQ(rejected.value(kReasons[r], uint64_t{999}), c.rejected[r]) << kReasons[r];
    reported_rejected += rejected.value(kReasons[r], uint64_t{0});
  }
  // The invariant, on the report's own figures.
  EXPECT_EQ(records.value("read", uint64_t{0}),
            records.value("counted", uint64_t{0}) + reported_rejected);
  EXPECT_EQ(report.value("ballots", uint64_t{999}), c.counted);

  const Json examples = report.value("rejected_examples", Json::array());
  ASSERT_EQ(examples.size(), c.examples.size()) << examples.dump(2);
  for (size_t i = 0; i < c.examples.size(); ++i) {
    const Example& e = c.examples[i];
    EXPECT_EQ(examples[i].value("reason", ""), e.reason);
    EXPECT_EQ(examples[i].value("location", ""),
              absl::StrCat(located_path, ": byte ", e.byte, " (line ", e.line, ", column ",
                           e.column, "): CVR[", e.index, "]"));
    EXPECT_THAT(examples[i].value("why", ""), HasSubstr(e.why));
  }

  const Json report_inputs = report.value("inputs", Json::array());
  ASSERT_EQ(report_inputs.size(), inputs.size()) << report_inputs.dump(2);
  for (size_t i = 0; i < inputs.size(); ++i) {
    EXPECT_EQ(report_inputs[i].value("path", ""), inputs[i].first);
    EXPECT_EQ(report_inputs[i].value("format", ""), "nist-cvr-json");
    EXPECT_EQ(report_inputs[i].value("records", uint64_t{999}), inputs[i].second);
  }

  ExpectFigures(ContestOf(report, "mayor"), kMayor, c.mayor, "mayor");
  ExpectFigures(ContestOf(report, "council"), kCouncil, c.council, "council");

  std::vector<std::string> mismatches;
  for (const Json& m : report.value("mismatches", Json::array())) {
    mismatches.push_back(MismatchLine(m));
  }
  EXPECT_THAT(mismatches, UnorderedElementsAreArray(c.mismatches));
  // 2 contests x (3 selections + overvotes + undervotes) x 3 units are reported.
  const Json cells = report.value("cells", Json::object());
  EXPECT_EQ(cells.value("compared", uint64_t{999}), 30u);
  EXPECT_EQ(cells.value("mismatched", uint64_t{999}), c.mismatches.size());
  EXPECT_EQ(cells.value("not_reported", uint64_t{999}), 0u);
  for (const char* id : {"mayor", "council"}) {
    bool contest_mismatch = false;
    for (const std::string& m : c.mismatches) {
      contest_mismatch |= absl::StrContains(m, absl::StrCat(" ", id, " "));
    }
    EXPECT_EQ(ContestOf(report, id).value("verdict", ""), contest_mismatch ? "mismatch" : "match")
        << id;
  }
  EXPECT_EQ(report.value("verdict", ""), c.mismatches.empty() ? "match" : "mismatch");
}

class RecordCaseTest : public ::testing::TestWithParam<RecordCase> {};

TEST_P(RecordCaseTest, EveryFigureIsTheOneWorkedOutByHand) {
  const RecordCase& c = GetParam();
  const std::string path = CasePath(c.file);
  ExpectReport(Reconcile({path}), c, path, {{path, c.read}});
}

INSTANTIATE_TEST_SUITE_P(NistBad, RecordCaseTest, ::testing::ValuesIn(RecordCases()),
                         [](const auto& info) { return TestName(info.param.file); });

// ---- Copies across files ----

// part-1.json holds b1, b2, b3; part-2.json holds b4, b5 and b3 again (its CVR[2]): 6 read,
// 5 counted, 1 duplicate, the base figures, whichever file comes first.
RecordCase AcrossFiles() {
  return {"folder_duplicate_across_files",
          kExitMatch,
          6,
          5,
          {0, 0, 0, 0, 1, 0},
          {},
          kBaseMayor,
          kBaseCouncil,
          {}};
}

TEST(NistBadFolderTest, ARecordCopiedIntoASecondFileIsADuplicate) {
  const std::string folder = CasePath("folder_duplicate_across_files");
  ExpectReport(Reconcile({folder}), AcrossFiles(), "",
               {{folder + "/part-1.json", 3}, {folder + "/part-2.json", 3}});
}

TEST(NistBadFolderTest, TheSameTwoFilesInTheOtherOrderGiveTheSameFigures) {
  TempDir dir;
  const std::string folder = CasePath("folder_duplicate_across_files");
  // Named so that the folder lists part-2's records first.
  WriteFileBytes(dir.path() / "a.json", ReadFileBytes(folder + "/part-2.json"));
  WriteFileBytes(dir.path() / "b.json", ReadFileBytes(folder + "/part-1.json"));
  ExpectReport(Reconcile({dir.path().string()}), AcrossFiles(), "",
               {{dir.File("a.json"), 3}, {dir.File("b.json"), 3}});
  // And as two paths on the command line.
  ExpectReport(Reconcile({folder + "/part-2.json", folder + "/part-1.json"}), AcrossFiles(), "",
               {{folder + "/part-2.json", 3}, {folder + "/part-1.json", 3}});
}

// `folder_invalidated_in_second_file/`: part-1.json holds b1, b2, b3; part-2.json b4, b5 and
// b6 (p1), whose one contest, mayor (ann), is marked Status "invalidated-rules". Only the
// second file names it, and the results report has no such figure: the contest is counted
// nowhere, so the job's election gets the `invalid` figure, which shows it (regression: the
// first file alone was looked at, and b6's mayor contest was left out of every figure).
TEST(NistBadFolderTest, AContestInvalidatedInALaterFileIsShownInItsOwnFigure) {
  const std::string folder = CasePath("folder_invalidated_in_second_file");
  const RunResult result = Reconcile({folder});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  const Json report = Json::parse(result.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(report.is_discarded()) << Describe(result);
  EXPECT_EQ(report["verdict"], "match");
  EXPECT_EQ(report["records"]["read"], 6);
  EXPECT_EQ(report["records"]["counted"], 6);
  ASSERT_EQ(report["contests"].size(), 2u);
  const Json& mayor = report["contests"][0];
  const Json& council = report["contests"][1];
  ASSERT_EQ(mayor["id"], "mayor");
  // The base figures (b6 adds no vote and no mayor ballot), and b6's contest in `invalid`.
  EXPECT_EQ(mayor["totals"], Json::parse(R"({"mayor-ann": 3, "mayor-bob": 1, "mayor-wi": 1})"));
  EXPECT_EQ(mayor["ballots"], 5);
  EXPECT_EQ(mayor["invalid"], 1);
  EXPECT_EQ(council["invalid"], 0);
  EXPECT_EQ(council["ballots"], 5);
  // The two files in the other order: the same figures.
  TempDir dir;
  WriteFileBytes(dir.path() / "a.json", ReadFileBytes(folder + "/part-2.json"));
  WriteFileBytes(dir.path() / "b.json", ReadFileBytes(folder + "/part-1.json"));
  const RunResult swapped = Reconcile({dir.path().string()});
  EXPECT_EQ(swapped.exit_code, kExitMatch) << Describe(swapped);
  const Json again = Json::parse(swapped.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(again.is_discarded()) << Describe(swapped);
  EXPECT_EQ(again["contests"], report["contests"]);
}

}  // namespace
}  // namespace canvass
