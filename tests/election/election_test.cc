// Tests for the election model and its loader: every rejected election.json or roster names
// the file and the field or line, and every accepted one yields the exact model.
#include "engine/election/election.h"

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/status_matchers.h"

namespace canvass {
namespace {

using canvass::testing::IsOk;
using canvass::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using Json = nlohmann::json;

constexpr absl::StatusCode kInvalidArgument = absl::StatusCode::kInvalidArgument;
constexpr absl::StatusCode kNotFound = absl::StatusCode::kNotFound;

// A small, valid election: two candidates and an invalid category, consistent reported
// figures (60 + 30 + 10 = 100), and a roster with enough capacity for them.
Json ValidElectionJson() {
  return Json::parse(R"json({
    "id": "test-election",
    "title": "Test election",
    "source": "unit test",
    "choices": [
      {"code": "AAA", "name": "Alice", "kind": "candidate"},
      {"code": "BBB", "name": "Bob", "kind": "candidate"},
      {"code": "INV", "name": "invalid", "kind": "invalid"}
    ],
    "reported": {"cast": 100, "choices": {"AAA": 60, "BBB": 30, "INV": 10}},
    "roster": "roster.csv",
    "synthetic_roster": false
  })json");
}

// Capacities 60 + 50 + 40 = 150. With weight = capacity the reported figures split to
// 40, 33 and 27 ballots per station, within every capacity.
constexpr char kValidRoster[] =
    "station,country,capacity\n"
    "S1,FR,60\n"
    "S2,DE,50\n"
    "S3,FR,40\n";

absl::StatusOr<Election> Parse(const Json& json, absl::string_view roster = kValidRoster) {
  const std::string text = json.dump();
  return ParseElection(text, "election.json", roster, "roster.csv");
}

absl::StatusOr<Election> ParseRoster(absl::string_view roster) {
  return Parse(ValidElectionJson(), roster);
}

// ---- election.json: structure and fields ----

TEST(ElectionParseTest, ValidElectionLoadsEveryField) {
  absl::StatusOr<Election> election = Parse(ValidElectionJson());
  ASSERT_THAT(election, IsOk());
  EXPECT_EQ(election->id, "test-election");
  EXPECT_EQ(election->title, "Test election");
  EXPECT_EQ(election->source, "unit test");
  EXPECT_FALSE(election->synthetic_roster);
  ASSERT_EQ(election->contests.size(), 1u);
  const Contest& contest = election->contest();
  EXPECT_EQ(contest.id, "test-election");
  ASSERT_EQ(contest.choices.size(), 3u);
  EXPECT_EQ(contest.choices[0].code, "AAA");
  EXPECT_EQ(contest.choices[0].name, "Alice");
  EXPECT_EQ(contest.choices[0].kind, ChoiceKind::kCandidate);
  EXPECT_EQ(contest.choices[1].code, "BBB");
  EXPECT_EQ(contest.choices[1].kind, ChoiceKind::kCandidate);
  EXPECT_EQ(contest.choices[2].code, "INV");
  EXPECT_EQ(contest.choices[2].kind, ChoiceKind::kInvalid);
  ASSERT_TRUE(contest.reported.has_value());
  EXPECT_EQ(contest.reported->cast, 100u);
  EXPECT_THAT(contest.reported->choices,
              ElementsAre(std::optional<uint64_t>(60), std::optional<uint64_t>(30),
                          std::optional<uint64_t>(10)));
  ASSERT_EQ(election->stations.size(), 3u);
  EXPECT_EQ(election->stations[0].id, "S1");
  EXPECT_EQ(election->stations[0].country, "FR");
  EXPECT_EQ(election->stations[0].capacity, 60u);
  EXPECT_EQ(election->stations[1].id, "S2");
  EXPECT_EQ(election->stations[1].capacity, 50u);
  EXPECT_EQ(election->stations[2].id, "S3");
  EXPECT_EQ(election->stations[2].capacity, 40u);
}

TEST(ElectionParseTest, NotJsonNamesTheFileAndByte) {
  // nlohmann counts bytes from 1: the unexpected '}' is the tenth byte.
  EXPECT_THAT(ParseElection(R"({"id": 1,})", "election.json", kValidRoster, "roster.csv"),
              StatusIs(kInvalidArgument, AllOf(HasSubstr("election.json"), HasSubstr("byte 10"))));
  EXPECT_THAT(ParseElection("not json", "election.json", kValidRoster, "roster.csv"),
              StatusIs(kInvalidArgument, AllOf(HasSubstr("election.json"), HasSubstr("byte"))));
  EXPECT_THAT(ParseElection("", "election.json", kValidRoster, "roster.csv"),
              StatusIs(kInvalidArgument, AllOf(HasSubstr("election.json"), HasSubstr("byte"))));
}

TEST(ElectionParseTest, TopLevelMustBeAnObject) {
  EXPECT_THAT(ParseElection("[1, 2]", "election.json", kValidRoster, "roster.csv"),
              StatusIs(kInvalidArgument, AllOf(HasSubstr("election.json"), HasSubstr("top level"),
                                               HasSubstr("array"))));
  EXPECT_THAT(
      ParseElection("42", "election.json", kValidRoster, "roster.csv"),
      StatusIs(kInvalidArgument, AllOf(HasSubstr("election.json"), HasSubstr("top level"))));
}

TEST(ElectionParseTest, MissingIdIsNamed) {
  Json json = ValidElectionJson();
  json.erase("id");
  EXPECT_THAT(Parse(json),
              StatusIs(kInvalidArgument,
                       AllOf(HasSubstr("election.json"), HasSubstr("'id'"), HasSubstr("missing"))));
}

TEST(ElectionParseTest, EmptyIdIsRejected) {
  Json json = ValidElectionJson();
  json["id"] = "";
  EXPECT_THAT(Parse(json),
              StatusIs(kInvalidArgument,
                       AllOf(HasSubstr("election.json"), HasSubstr("'id'"), HasSubstr("empty"))));
}

TEST(ElectionParseTest, IdOfWrongTypeIsNamed) {
  Json json = ValidElectionJson();
  json["id"] = 5;
  EXPECT_THAT(Parse(json),
              StatusIs(kInvalidArgument, AllOf(HasSubstr("election.json"), HasSubstr("'id'"),
                                               HasSubstr("expected a string"), HasSubstr("5"))));
}

TEST(ElectionParseTest, MissingRosterFieldIsNamed) {
  Json json = ValidElectionJson();
  json.erase("roster");
  EXPECT_THAT(Parse(json),
              StatusIs(kInvalidArgument, AllOf(HasSubstr("election.json"), HasSubstr("'roster'"))));
}

TEST(ElectionParseTest, ChoicesOfWrongTypeIsNamed) {
  Json json = ValidElectionJson();
  json["choices"] = Json::object();
  EXPECT_THAT(Parse(json),
              StatusIs(kInvalidArgument, AllOf(HasSubstr("election.json"), HasSubstr("'choices'"),
                                               HasSubstr("expected an array"))));
}

TEST(ElectionParseTest, MissingChoicesIsNamed) {
  Json json = ValidElectionJson();
  json.erase("choices");
  EXPECT_THAT(Parse(json),
              StatusIs(kInvalidArgument, AllOf(HasSubstr("election.json"), HasSubstr("'choices'"),
                                               HasSubstr("missing"))));
}

TEST(ElectionParseTest, EmptyChoicesIsRejected) {
  Json json = ValidElectionJson();
  json["choices"] = Json::array();
  json.erase("reported");
  EXPECT_THAT(Parse(json),
              StatusIs(kInvalidArgument, AllOf(HasSubstr("election.json"), HasSubstr("'choices'"),
                                               HasSubstr("at least one"))));
}

TEST(ElectionParseTest, ChoiceThatIsNotAnObjectIsNamed) {
  Json json = ValidElectionJson();
  json["choices"][1] = "BBB";
  EXPECT_THAT(Parse(json), StatusIs(kInvalidArgument,
                                    AllOf(HasSubstr("election.json"), HasSubstr("'choices[1]'"))));
}

TEST(ElectionParseTest, ChoiceWithoutCodeIsNamed) {
  Json json = ValidElectionJson();
  json["choices"][2].erase("code");
  EXPECT_THAT(Parse(json), StatusIs(kInvalidArgument,
                                    AllOf(HasSubstr("election.json"),
                                          HasSubstr("'choices[2].code'"), HasSubstr("missing"))));
}

TEST(ElectionParseTest, UnknownChoiceKindIsNamed) {
  Json json = ValidElectionJson();
  json["choices"][1]["kind"] = "write-in";
  EXPECT_THAT(Parse(json), StatusIs(kInvalidArgument,
                                    AllOf(HasSubstr("election.json"),
                                          HasSubstr("'choices[1].kind'"), HasSubstr("write-in"))));
  json["choices"][1]["kind"] = 1;
  EXPECT_THAT(Parse(json), StatusIs(kInvalidArgument, AllOf(HasSubstr("election.json"),
                                                            HasSubstr("'choices[1].kind'"))));
}

TEST(ElectionParseTest, DuplicateChoiceCodeIsNamed) {
  Json json = ValidElectionJson();
  json["choices"][1]["code"] = "AAA";
  json["reported"]["choices"].erase("BBB");
  EXPECT_THAT(
      Parse(json),
      StatusIs(kInvalidArgument, AllOf(HasSubstr("election.json"), HasSubstr("'choices[1].code'"),
                                       HasSubstr("duplicate"), HasSubstr("\"AAA\""))));
}

TEST(ElectionParseTest, ChoiceKindAndNameHaveDefaults) {
  Json json = ValidElectionJson();
  json["choices"][0].erase("kind");
  json["choices"][1].erase("name");
  json["choices"][2]["kind"] = "blank";
  absl::StatusOr<Election> election = Parse(json);
  ASSERT_THAT(election, IsOk());
  const Contest& contest = election->contest();
  EXPECT_EQ(contest.choices[0].kind, ChoiceKind::kCandidate);
  EXPECT_EQ(contest.choices[0].name, "Alice");
  EXPECT_EQ(contest.choices[1].name, "BBB");
  EXPECT_EQ(contest.choices[2].kind, ChoiceKind::kBlank);
  EXPECT_EQ(ChoiceKindName(ChoiceKind::kCandidate), "candidate");
  EXPECT_EQ(ChoiceKindName(ChoiceKind::kInvalid), "invalid");
  EXPECT_EQ(ChoiceKindName(ChoiceKind::kBlank), "blank");
}

TEST(ElectionParseTest, SyntheticRosterMustBeABool) {
  Json json = ValidElectionJson();
  json["synthetic_roster"] = "yes";
  EXPECT_THAT(Parse(json), StatusIs(kInvalidArgument, AllOf(HasSubstr("election.json"),
                                                            HasSubstr("'synthetic_roster'"))));
  json["synthetic_roster"] = 1;
  EXPECT_THAT(Parse(json), StatusIs(kInvalidArgument, AllOf(HasSubstr("election.json"),
                                                            HasSubstr("'synthetic_roster'"))));
}

TEST(ElectionParseTest, SyntheticRosterDefaultsToFalse) {
  Json json = ValidElectionJson();
  json.erase("synthetic_roster");
  absl::StatusOr<Election> election = Parse(json);
  ASSERT_THAT(election, IsOk());
  EXPECT_FALSE(election->synthetic_roster);
  json["synthetic_roster"] = true;
  election = Parse(json);
  ASSERT_THAT(election, IsOk());
  EXPECT_TRUE(election->synthetic_roster);
}

// ---- election.json: reported figures ----

TEST(ElectionReportedTest, NegativeFigureIsRejected) {
  Json json = ValidElectionJson();
  json["reported"]["choices"]["AAA"] = -5;
  EXPECT_THAT(Parse(json), StatusIs(kInvalidArgument,
                                    AllOf(HasSubstr("election.json"),
                                          HasSubstr("'reported.choices.AAA'"), HasSubstr("-5"))));
}

TEST(ElectionReportedTest, FractionalFigureIsRejected) {
  Json json = ValidElectionJson();
  json["reported"]["choices"]["BBB"] = 1.5;
  EXPECT_THAT(Parse(json), StatusIs(kInvalidArgument,
                                    AllOf(HasSubstr("election.json"),
                                          HasSubstr("'reported.choices.BBB'"), HasSubstr("1.5"))));
}

TEST(ElectionReportedTest, StringFigureIsRejected) {
  Json json = ValidElectionJson();
  json["reported"]["choices"]["INV"] = "10";
  EXPECT_THAT(Parse(json), StatusIs(kInvalidArgument, AllOf(HasSubstr("election.json"),
                                                            HasSubstr("'reported.choices.INV'"),
                                                            HasSubstr("non-negative integer"))));
}

TEST(ElectionReportedTest, FigureAtTwoTo63IsRejected) {
  Json json = ValidElectionJson();
  json["reported"]["choices"]["AAA"] = uint64_t{9223372036854775808u};
  EXPECT_THAT(Parse(json), StatusIs(kInvalidArgument, AllOf(HasSubstr("election.json"),
                                                            HasSubstr("'reported.choices.AAA'"),
                                                            HasSubstr("9223372036854775808"))));
  json = ValidElectionJson();
  json["reported"]["cast"] = uint64_t{9223372036854775808u};
  EXPECT_THAT(Parse(json), StatusIs(kInvalidArgument, AllOf(HasSubstr("election.json"),
                                                            HasSubstr("'reported.cast'"))));
}

TEST(ElectionReportedTest, FigureAboveTwoTo64IsRejected) {
  // Too large even for uint64_t: the JSON parser yields a float.
  const std::string text = R"({"id": "x", "title": "", "roster": "roster.csv",
      "choices": [{"code": "AAA"}],
      "reported": {"cast": 18446744073709551616, "choices": {"AAA": 1}}})";
  EXPECT_THAT(
      ParseElection(text, "election.json", kValidRoster, "roster.csv"),
      StatusIs(kInvalidArgument, AllOf(HasSubstr("election.json"), HasSubstr("'reported.cast'"))));
}

TEST(ElectionReportedTest, LargestFigureIsAccepted) {
  Json json = ValidElectionJson();
  json["reported"]["cast"] = uint64_t{9223372036854775807u};
  json["reported"]["choices"]["AAA"] = uint64_t{9223372036854775807u};
  json["reported"]["choices"]["BBB"] = 0;
  json["reported"]["choices"]["INV"] = 0;
  absl::StatusOr<Election> election =
      Parse(json, "station,country,capacity\nS1,FR,9223372036854775807\n");
  ASSERT_THAT(election, IsOk());
  EXPECT_EQ(election->contest().reported->cast, uint64_t{9223372036854775807u});
  EXPECT_EQ(election->stations[0].capacity, uint64_t{9223372036854775807u});
}

TEST(ElectionReportedTest, FigureForUnknownCodeIsNamed) {
  Json json = ValidElectionJson();
  json["reported"]["choices"]["ZZZ"] = 1;
  EXPECT_THAT(Parse(json), StatusIs(kInvalidArgument, AllOf(HasSubstr("election.json"),
                                                            HasSubstr("'reported.choices.ZZZ'"),
                                                            HasSubstr("unknown choice code"))));
}

TEST(ElectionReportedTest, MissingCastIsNamed) {
  Json json = ValidElectionJson();
  json["reported"].erase("cast");
  EXPECT_THAT(Parse(json), StatusIs(kInvalidArgument,
                                    AllOf(HasSubstr("election.json"), HasSubstr("'reported.cast'"),
                                          HasSubstr("missing"))));
}

TEST(ElectionReportedTest, ReportedOfWrongTypeIsNamed) {
  Json json = ValidElectionJson();
  json["reported"] = Json::array({100});
  EXPECT_THAT(Parse(json), StatusIs(kInvalidArgument,
                                    AllOf(HasSubstr("election.json"), HasSubstr("'reported'"))));
  json = ValidElectionJson();
  json["reported"]["choices"] = Json::array({60, 30, 10});
  EXPECT_THAT(Parse(json), StatusIs(kInvalidArgument, AllOf(HasSubstr("election.json"),
                                                            HasSubstr("'reported.choices'"))));
}

TEST(ElectionReportedTest, ReportedIsOptional) {
  Json json = ValidElectionJson();
  json.erase("reported");
  // Without reported figures no capacity is too small.
  absl::StatusOr<Election> election = Parse(json, "station,country,capacity\nS1,FR,1\n");
  ASSERT_THAT(election, IsOk());
  EXPECT_FALSE(election->contest().reported.has_value());
}

TEST(ElectionReportedTest, UnreportedChoiceIsNullopt) {
  Json json = ValidElectionJson();
  json["reported"]["choices"].erase("INV");
  absl::StatusOr<Election> election = Parse(json);
  ASSERT_THAT(election, IsOk());
  const ReportedFigures& reported = *election->contest().reported;
  EXPECT_THAT(reported.choices,
              ElementsAre(std::optional<uint64_t>(60), std::optional<uint64_t>(30), std::nullopt));
  EXPECT_FALSE(reported.InternallyConsistent());
}

TEST(ElectionReportedTest, InternallyConsistent) {
  absl::StatusOr<Election> election = Parse(ValidElectionJson());
  ASSERT_THAT(election, IsOk());
  EXPECT_TRUE(election->contest().reported->InternallyConsistent());

  Json json = ValidElectionJson();
  json["reported"]["cast"] = 101;
  election = Parse(json);
  ASSERT_THAT(election, IsOk());
  EXPECT_FALSE(election->contest().reported->InternallyConsistent());

  ReportedFigures reference;
  reference.cast = 88325;
  reference.choices = {50206, 36169, 1950};
  EXPECT_TRUE(reference.InternallyConsistent());
  reference.choices[2] = 1949;
  EXPECT_FALSE(reference.InternallyConsistent());
  reference.choices[2] = 1951;
  EXPECT_FALSE(reference.InternallyConsistent());
  reference.choices[2] = std::nullopt;
  reference.cast = 50206 + 36169;
  EXPECT_FALSE(reference.InternallyConsistent());
}

TEST(ElectionReportedTest, InternallyConsistentDoesNotWrap) {
  // 2^63 + 2^63 wraps to 0 in 64 bits: the sum must not be taken there.
  ReportedFigures reported;
  reported.cast = 0;
  reported.choices = {uint64_t{1} << 63, uint64_t{1} << 63};
  EXPECT_FALSE(reported.InternallyConsistent());
}

// ---- the roster ----

TEST(RosterTest, WeightDefaultsToCapacity) {
  absl::StatusOr<Election> election = ParseRoster(kValidRoster);
  ASSERT_THAT(election, IsOk());
  EXPECT_EQ(election->stations[0].weight, 60u);
  EXPECT_EQ(election->stations[1].weight, 50u);
  EXPECT_EQ(election->stations[2].weight, 40u);
}

TEST(RosterTest, WeightColumnIsRead) {
  absl::StatusOr<Election> election = ParseRoster(
      "station,country,capacity,weight\n"
      "S1,FR,60,5\n"
      "S2,DE,50,3\n"
      "S3,FR,40,2\n");
  ASSERT_THAT(election, IsOk());
  EXPECT_EQ(election->stations[0].capacity, 60u);
  EXPECT_EQ(election->stations[0].weight, 5u);
  EXPECT_EQ(election->stations[1].weight, 3u);
  EXPECT_EQ(election->stations[2].weight, 2u);
}

// Weights split the reported figures; with every weight 0 there is nothing to split by.
// A loader error naming the roster and the column, for any nonzero figure (a choice's
// figure when cast is 0 too: such figures are inconsistent, not impossible), never an
// abort; with every figure 0 nothing needs splitting and the election loads.
TEST(RosterTest, AllWeightsZeroIsAnErrorWhenAnyFigureIsNonzero) {
  const std::string zero_weights =
      "station,country,capacity,weight\nS1,FR,60,0\nS2,DE,50,0\nS3,FR,40,0\n";
  const std::string expected =
      "roster.csv: every station has weight 0 (column weight); cannot split the reported "
      "figures across stations";
  EXPECT_THAT(ParseRoster(zero_weights), StatusIs(kInvalidArgument, expected));
  Json cast_zero = ValidElectionJson();
  cast_zero["reported"]["cast"] = 0;
  cast_zero["reported"]["choices"] = {{"AAA", 0}, {"BBB", 7}, {"INV", 0}};
  EXPECT_THAT(Parse(cast_zero, zero_weights), StatusIs(kInvalidArgument, expected));
  Json all_zero = ValidElectionJson();
  all_zero["reported"]["cast"] = 0;
  all_zero["reported"]["choices"] = {{"AAA", 0}, {"BBB", 0}, {"INV", 0}};
  absl::StatusOr<Election> election = Parse(all_zero, zero_weights);
  ASSERT_THAT(election, IsOk());
  EXPECT_EQ(election->stations[1].weight, 0u);
}

// NUL separates the fields of the election fingerprint, so an id, a code or a station id
// holding one would make two different elections fingerprint alike: each is refused,
// named by file and field (or line and column).
TEST(ElectionParseTest, NulBytesInFingerprintedFieldsAreRefused) {
  constexpr char kNul[] =
      "must not contain a NUL byte (the election fingerprint separates fields with it)";
  Json id = ValidElectionJson();
  id["id"] = std::string("t\0A", 3);
  EXPECT_THAT(Parse(id), StatusIs(kInvalidArgument, HasSubstr(absl::StrCat("field 'id': ", kNul))));
  Json code = ValidElectionJson();
  code["choices"][1]["code"] = std::string("B\0B", 3);
  EXPECT_THAT(Parse(code), StatusIs(kInvalidArgument,
                                    HasSubstr(absl::StrCat("field 'choices[1].code': ", kNul))));
  static constexpr char kRoster[] = "station,country,capacity\nS1,FR,60\nS\0002,DE,50\nS3,FR,40\n";
  EXPECT_THAT(ParseRoster(std::string(kRoster, sizeof(kRoster) - 1)),
              StatusIs(kInvalidArgument, absl::StrCat("roster.csv:3: column 'station': ", kNul)));
}

TEST(RosterTest, CrlfAndByteOrderMarkAreAccepted) {
  absl::StatusOr<Election> election = ParseRoster(
      "\xEF\xBB\xBFstation,country,capacity\r\n"
      "S1,FR,60\r\n"
      "S2,DE,50\r\n"
      "S3,FR,40\r\n");
  ASSERT_THAT(election, IsOk());
  ASSERT_EQ(election->stations.size(), 3u);
  EXPECT_EQ(election->stations[0].id, "S1");
  EXPECT_EQ(election->stations[2].id, "S3");
  EXPECT_EQ(election->stations[2].capacity, 40u);
  EXPECT_EQ(election->stations[2].weight, 40u);
  EXPECT_EQ(election->FindStation("S2"), std::optional<StationIndex>(1));
}

TEST(RosterTest, FinalLineWithoutNewlineIsRead) {
  absl::StatusOr<Election> election =
      ParseRoster("station,country,capacity\nS1,FR,60\nS2,DE,50\nS3,FR,40");
  ASSERT_THAT(election, IsOk());
  ASSERT_EQ(election->stations.size(), 3u);
  EXPECT_EQ(election->stations[2].capacity, 40u);
}

TEST(RosterTest, WrongHeaderIsNamed) {
  EXPECT_THAT(ParseRoster("station,country,seats\nS1,FR,60\nS2,DE,50\n"),
              StatusIs(kInvalidArgument, AllOf(HasSubstr("roster.csv:1"), HasSubstr("header"),
                                               HasSubstr("station,country,seats"))));
  // A data line where the header should be.
  EXPECT_THAT(ParseRoster("S1,FR,60\nS2,DE,50\nS3,FR,40\n"),
              StatusIs(kInvalidArgument, AllOf(HasSubstr("roster.csv:1"), HasSubstr("header"))));
}

TEST(RosterTest, MissingHeaderAfterBlankLineIsRejected) {
  // Blank lines are skipped, but that must not let a roster without its header through.
  EXPECT_THAT(ParseRoster("\nS1,FR,60\nS2,DE,50\nS3,FR,40\n"),
              StatusIs(kInvalidArgument, AllOf(HasSubstr("roster.csv"), HasSubstr("header"))));
}

TEST(RosterTest, WrongFieldCountNamesTheLine) {
  EXPECT_THAT(ParseRoster("station,country,capacity\nS1,FR,60\nS2,DE\nS3,FR,40\n"),
              StatusIs(kInvalidArgument,
                       AllOf(HasSubstr("roster.csv:3"), HasSubstr("expected 3 fields, got 2"))));
  EXPECT_THAT(ParseRoster("station,country,capacity,weight\nS1,FR,60,1\nS2,DE,50,1\nS3,FR,40\n"),
              StatusIs(kInvalidArgument,
                       AllOf(HasSubstr("roster.csv:4"), HasSubstr("expected 4 fields, got 3"))));
}

TEST(RosterTest, EmptyStationIdNamesTheLine) {
  EXPECT_THAT(ParseRoster("station,country,capacity\nS1,FR,60\n,DE,50\nS3,FR,40\n"),
              StatusIs(kInvalidArgument, AllOf(HasSubstr("roster.csv:3"), HasSubstr("station"))));
  EXPECT_THAT(ParseRoster("station,country,capacity\nS1,FR,60\nS2,,50\nS3,FR,40\n"),
              StatusIs(kInvalidArgument, AllOf(HasSubstr("roster.csv:3"), HasSubstr("country"))));
}

TEST(RosterTest, ZeroCapacityNamesTheLineAndStation) {
  EXPECT_THAT(ParseRoster("station,country,capacity\nS1,FR,60\nS2,DE,50\nS3,FR,40\nS4,FR,0\n"),
              StatusIs(kInvalidArgument,
                       AllOf(HasSubstr("roster.csv:5"), HasSubstr("'capacity'"), HasSubstr("S4"))));
}

TEST(RosterTest, NonNumericCapacityNamesTheLine) {
  EXPECT_THAT(ParseRoster("station,country,capacity\nS1,FR,sixty\nS2,DE,50\nS3,FR,40\n"),
              StatusIs(kInvalidArgument, AllOf(HasSubstr("roster.csv:2"), HasSubstr("'capacity'"),
                                               HasSubstr("\"sixty\""))));
  EXPECT_THAT(
      ParseRoster("station,country,capacity\nS1,FR,60\nS2,DE, 50\nS3,FR,40\n"),
      StatusIs(kInvalidArgument, AllOf(HasSubstr("roster.csv:3"), HasSubstr("'capacity'"))));
  EXPECT_THAT(
      ParseRoster("station,country,capacity\nS1,FR,60\nS2,DE,+50\nS3,FR,40\n"),
      StatusIs(kInvalidArgument, AllOf(HasSubstr("roster.csv:3"), HasSubstr("'capacity'"))));
}

TEST(RosterTest, NegativeCapacityNamesTheLine) {
  EXPECT_THAT(ParseRoster("station,country,capacity\nS1,FR,60\nS2,DE,-1\nS3,FR,40\n"),
              StatusIs(kInvalidArgument, AllOf(HasSubstr("roster.csv:3"), HasSubstr("'capacity'"),
                                               HasSubstr("\"-1\""))));
}

TEST(RosterTest, CapacityAtTwoTo63IsRejected) {
  EXPECT_THAT(
      ParseRoster("station,country,capacity\nS1,FR,9223372036854775808\n"),
      StatusIs(kInvalidArgument, AllOf(HasSubstr("roster.csv:2"), HasSubstr("'capacity'"))));
}

TEST(RosterTest, BadWeightNamesTheLine) {
  EXPECT_THAT(ParseRoster("station,country,capacity,weight\nS1,FR,60,1\nS2,DE,50,x\n"),
              StatusIs(kInvalidArgument, AllOf(HasSubstr("roster.csv:3"), HasSubstr("'weight'"))));
}

TEST(RosterTest, DuplicateStationNamesBothLines) {
  EXPECT_THAT(ParseRoster("station,country,capacity\nS1,FR,60\nS2,DE,50\nS1,FR,40\n"),
              StatusIs(kInvalidArgument, AllOf(HasSubstr("roster.csv:4"), HasSubstr("duplicate"),
                                               HasSubstr("\"S1\""), HasSubstr("line 2"))));
}

TEST(RosterTest, EmptyRosterIsRejected) {
  EXPECT_THAT(ParseRoster(""),
              StatusIs(kInvalidArgument, AllOf(HasSubstr("roster.csv"), HasSubstr("empty"))));
}

TEST(RosterTest, HeaderOnlyRosterIsRejected) {
  EXPECT_THAT(ParseRoster("station,country,capacity\n"),
              StatusIs(kInvalidArgument, AllOf(HasSubstr("roster.csv"), HasSubstr("no stations"))));
  EXPECT_THAT(ParseRoster("station,country,capacity,weight\r\n\r\n"),
              StatusIs(kInvalidArgument, AllOf(HasSubstr("roster.csv"), HasSubstr("no stations"))));
}

TEST(RosterTest, TotalCapacityBelowCastIsRejected) {
  // 30 + 20 = 50 serials issued, 100 ballots reported cast.
  EXPECT_THAT(
      ParseRoster("station,country,capacity\nS1,FR,30\nS2,DE,20\n"),
      StatusIs(kInvalidArgument, AllOf(HasSubstr("roster.csv"), HasSubstr("capacities too small"),
                                       HasSubstr("50"), HasSubstr("100"))));
}

TEST(RosterTest, StationShareAboveItsCapacityIsNamed) {
  // Total capacity 150 covers 100 cast, but weights {1, 1, 8} give S3 60*0.8 + 30*0.8 +
  // 10*0.8 = 80 ballots against a capacity of 40.
  EXPECT_THAT(ParseRoster("station,country,capacity,weight\n"
                          "S1,FR,60,1\n"
                          "S2,DE,50,1\n"
                          "S3,FR,40,8\n"),
              StatusIs(kInvalidArgument, AllOf(HasSubstr("roster.csv"), HasSubstr("station S3"),
                                               HasSubstr("capacity 40"), HasSubstr("80 ballots"))));
}

TEST(RosterTest, StationShareEqualToItsCapacityIsAccepted) {
  // Weights {3, 1}, each reported figure split on its own: 60 -> 45, 15; 30 -> 22.5, 7.5
  // -> 23, 7 (the tied remainder goes to the lower index); 10 -> 7.5, 2.5 -> 8, 2.
  // So S1 needs 45 + 23 + 8 = 76 serials and S2 needs 15 + 7 + 2 = 24.
  absl::StatusOr<Election> election =
      ParseRoster("station,country,capacity,weight\nS1,FR,76,3\nS2,DE,24,1\n");
  ASSERT_THAT(election, IsOk());
  EXPECT_THAT(ParseRoster("station,country,capacity,weight\nS1,FR,75,3\nS2,DE,25,1\n"),
              StatusIs(kInvalidArgument, AllOf(HasSubstr("roster.csv"), HasSubstr("station S1"),
                                               HasSubstr("capacity 75"), HasSubstr("76 ballots"))));
}

TEST(RosterTest, AllZeroWeightsAreRejectedWhenBallotsWereCast) {
  EXPECT_THAT(ParseRoster("station,country,capacity,weight\nS1,FR,60,0\nS2,DE,50,0\n"),
              StatusIs(kInvalidArgument, AllOf(HasSubstr("roster.csv"), HasSubstr("weight 0"))));
}

TEST(RosterTest, CapacitySumOverflowNamesTheRoster) {
  // Each capacity is legal, their sum passes 2^63 - 1.
  EXPECT_THAT(ParseRoster("station,country,capacity\n"
                          "S1,FR,9223372036854775807\n"
                          "S2,DE,9223372036854775807\n"),
              StatusIs(absl::StatusCode::kOutOfRange,
                       AllOf(HasSubstr("roster.csv"), HasSubstr("capacities"))));
}

// ---- indexes ----

TEST(ElectionIndexTest, CountriesAreSortedAndDistinct) {
  absl::StatusOr<Election> election = ParseRoster(
      "station,country,capacity\n"
      "S1,FR,60\n"
      "S2,DE,50\n"
      "S3,FR,40\n"
      "S4,AE,10\n");
  ASSERT_THAT(election, IsOk());
  EXPECT_THAT(election->countries, ElementsAre("AE", "DE", "FR"));
  EXPECT_EQ(election->CountryOf(0), 2u);  // FR
  EXPECT_EQ(election->CountryOf(1), 1u);  // DE
  EXPECT_EQ(election->CountryOf(2), 2u);  // FR
  EXPECT_EQ(election->CountryOf(3), 0u);  // AE
}

TEST(ElectionIndexTest, FindStationAndChoice) {
  absl::StatusOr<Election> election = Parse(ValidElectionJson());
  ASSERT_THAT(election, IsOk());
  EXPECT_EQ(election->FindStation("S1"), std::optional<StationIndex>(0));
  EXPECT_EQ(election->FindStation("S3"), std::optional<StationIndex>(2));
  EXPECT_EQ(election->FindStation("S4"), std::nullopt);
  EXPECT_EQ(election->FindStation("s1"), std::nullopt);
  EXPECT_EQ(election->FindStation(""), std::nullopt);
  const Contest& contest = election->contest();
  EXPECT_EQ(contest.FindChoice("AAA"), std::optional<ChoiceIndex>(0));
  EXPECT_EQ(contest.FindChoice("BBB"), std::optional<ChoiceIndex>(1));
  EXPECT_EQ(contest.FindChoice("INV"), std::optional<ChoiceIndex>(2));
  EXPECT_EQ(contest.FindChoice("bbb"), std::nullopt);
  EXPECT_EQ(contest.FindChoice("ZZZ"), std::nullopt);
}

TEST(ElectionIndexTest, IndexesSurviveACopy) {
  absl::StatusOr<Election> loaded = Parse(ValidElectionJson());
  ASSERT_THAT(loaded, IsOk());
  const Election copy = *loaded;
  EXPECT_EQ(copy.FindStation("S2"), std::optional<StationIndex>(1));
  EXPECT_EQ(copy.contest().FindChoice("INV"), std::optional<ChoiceIndex>(2));
  EXPECT_EQ(copy.CountryOf(1), 0u);  // DE among {DE, FR}
}

// ---- LoadElectionDirectory on real files ----

class ElectionDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "canvass_election_XXXXXX");
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    directory_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    if (!directory_.empty()) std::filesystem::remove_all(directory_, ignored);
  }

  void WriteFile(const std::string& name, const std::string& contents) {
    std::ofstream out(directory_ + "/" + name, std::ios::binary);
    out << contents;
    ASSERT_TRUE(out.good()) << name;
  }

  std::string directory_;
};

TEST_F(ElectionDirectoryTest, LoadsAValidDirectory) {
  WriteFile("election.json", ValidElectionJson().dump(2));
  WriteFile("roster.csv", kValidRoster);
  absl::StatusOr<Election> election = LoadElectionDirectory(directory_);
  ASSERT_THAT(election, IsOk());
  EXPECT_EQ(election->id, "test-election");
  ASSERT_EQ(election->stations.size(), 3u);
  EXPECT_EQ(election->stations[1].id, "S2");
  EXPECT_EQ(election->contest().reported->cast, 100u);
}

TEST_F(ElectionDirectoryTest, RosterFileNameComesFromTheJson) {
  Json json = ValidElectionJson();
  json["roster"] = "stations-2024.csv";
  WriteFile("election.json", json.dump());
  WriteFile("stations-2024.csv", kValidRoster);
  absl::StatusOr<Election> election = LoadElectionDirectory(directory_);
  ASSERT_THAT(election, IsOk());
  EXPECT_EQ(election->stations.size(), 3u);
}

// Regression (issue "Hardening", inputs that never end): an election.json or roster that is
// /dev/zero (here through a symlink) was read until memory ran out. The loaders read at
// most one byte past their documented limit and say so.
TEST_F(ElectionDirectoryTest, AnElectionJsonThatNeverEndsIsOutOfRangeAfterABoundedRead) {
  std::filesystem::create_symlink("/dev/zero", directory_ + "/election.json");
  EXPECT_THAT(LoadElectionDirectory(directory_),
              StatusIs(absl::StatusCode::kOutOfRange,
                       HasSubstr(absl::StrCat(directory_, "/election.json: more than ",
                                              kMaxElectionJsonBytes, " bytes"))));
}

TEST_F(ElectionDirectoryTest, ARosterThatNeverEndsIsOutOfRangeAfterABoundedRead) {
  WriteFile("election.json", ValidElectionJson().dump());
  std::filesystem::create_symlink("/dev/zero", directory_ + "/roster.csv");
  EXPECT_THAT(LoadElectionDirectory(directory_),
              StatusIs(absl::StatusCode::kOutOfRange,
                       HasSubstr(absl::StrCat(directory_, "/roster.csv: more than ",
                                              kMaxRosterBytes, " bytes"))));
}

TEST_F(ElectionDirectoryTest, AnElectionJsonAtTheLimitIsReadWhole) {
  // Valid JSON padded with spaces to exactly the limit: read and parsed, not refused.
  std::string text = ValidElectionJson().dump();
  text.resize(kMaxElectionJsonBytes, ' ');
  WriteFile("election.json", text);
  WriteFile("roster.csv", kValidRoster);
  EXPECT_THAT(LoadElectionDirectory(directory_), IsOk());
}

TEST_F(ElectionDirectoryTest, MissingElectionJsonIsNotFound) {
  EXPECT_THAT(LoadElectionDirectory(directory_),
              StatusIs(kNotFound, HasSubstr(directory_ + "/election.json")));
}

TEST_F(ElectionDirectoryTest, MissingDirectoryIsNotFound) {
  EXPECT_THAT(LoadElectionDirectory(directory_ + "/no-such-dir"),
              StatusIs(kNotFound, HasSubstr(directory_ + "/no-such-dir/election.json")));
}

TEST_F(ElectionDirectoryTest, MissingRosterIsNotFound) {
  WriteFile("election.json", ValidElectionJson().dump());
  EXPECT_THAT(LoadElectionDirectory(directory_),
              StatusIs(kNotFound, HasSubstr(directory_ + "/roster.csv")));
}

TEST_F(ElectionDirectoryTest, RosterPathWithSlashIsRejected) {
  Json json = ValidElectionJson();
  json["roster"] = "../roster.csv";
  WriteFile("election.json", json.dump());
  WriteFile("roster.csv", kValidRoster);
  EXPECT_THAT(LoadElectionDirectory(directory_),
              StatusIs(kInvalidArgument, AllOf(HasSubstr(directory_ + "/election.json"),
                                               HasSubstr("'roster'"), HasSubstr("../roster.csv"))));
  json["roster"] = "sub/roster.csv";
  WriteFile("election.json", json.dump());
  EXPECT_THAT(LoadElectionDirectory(directory_),
              StatusIs(kInvalidArgument,
                       AllOf(HasSubstr(directory_ + "/election.json"), HasSubstr("'roster'"))));
}

TEST_F(ElectionDirectoryTest, NotJsonNamesThePathAndByte) {
  WriteFile("election.json", "{\"id\": 1,}");
  WriteFile("roster.csv", kValidRoster);
  EXPECT_THAT(LoadElectionDirectory(directory_),
              StatusIs(kInvalidArgument,
                       AllOf(HasSubstr(directory_ + "/election.json"), HasSubstr("byte 10"))));
}

TEST_F(ElectionDirectoryTest, RosterErrorNamesTheRosterPathAndLine) {
  WriteFile("election.json", ValidElectionJson().dump());
  WriteFile("roster.csv", "station,country,capacity\nS1,FR,60\nS2,DE\n");
  EXPECT_THAT(LoadElectionDirectory(directory_),
              StatusIs(kInvalidArgument, HasSubstr(directory_ + "/roster.csv:3")));
}

TEST_F(ElectionDirectoryTest, FieldErrorNamesTheJsonPath) {
  Json json = ValidElectionJson();
  json["choices"][0]["kind"] = "party";
  WriteFile("election.json", json.dump());
  WriteFile("roster.csv", kValidRoster);
  EXPECT_THAT(LoadElectionDirectory(directory_),
              StatusIs(kInvalidArgument, AllOf(HasSubstr(directory_ + "/election.json"),
                                               HasSubstr("'choices[0].kind'"))));
}

// ---- the reference election ----

TEST(ReferenceElectionTest, HasTheReportedFigures) {
  const Election& election = ReferenceElection();
  EXPECT_EQ(election.id, "ir-2024-runoff-overseas");
  EXPECT_TRUE(election.synthetic_roster);
  ASSERT_EQ(election.contests.size(), 1u);
  const Contest& contest = election.contest();
  ASSERT_EQ(contest.choices.size(), 3u);
  EXPECT_EQ(contest.choices[0].code, "JAL");
  EXPECT_EQ(contest.choices[0].kind, ChoiceKind::kCandidate);
  EXPECT_EQ(contest.choices[1].code, "PEZ");
  EXPECT_EQ(contest.choices[1].kind, ChoiceKind::kCandidate);
  EXPECT_EQ(contest.choices[2].code, "INV");
  EXPECT_EQ(contest.choices[2].kind, ChoiceKind::kInvalid);
  ASSERT_TRUE(contest.reported.has_value());
  EXPECT_EQ(contest.reported->cast, 88325u);
  EXPECT_THAT(contest.reported->choices,
              ElementsAre(std::optional<uint64_t>(50206), std::optional<uint64_t>(36169),
                          std::optional<uint64_t>(1950)));
  EXPECT_TRUE(contest.reported->InternallyConsistent());
  EXPECT_EQ(election.stations.size(), 138u);
  EXPECT_EQ(election.countries.size(), 98u);
}

TEST(ReferenceElectionTest, ShippedDirectoryMatchesTheEmbeddedCopy) {
  absl::StatusOr<Election> loaded =
      LoadElectionDirectory(CANVASS_SOURCE_DIR "/datasets/ir-2024-runoff-overseas");
  ASSERT_THAT(loaded, IsOk());
  const Election& embedded = ReferenceElection();
  EXPECT_EQ(loaded->id, embedded.id);
  EXPECT_EQ(loaded->title, embedded.title);
  EXPECT_EQ(loaded->source, embedded.source);
  EXPECT_EQ(loaded->synthetic_roster, embedded.synthetic_roster);
  EXPECT_EQ(loaded->countries, embedded.countries);
  ASSERT_EQ(loaded->stations.size(), embedded.stations.size());
  for (size_t s = 0; s < embedded.stations.size(); ++s) {
    EXPECT_EQ(loaded->stations[s].id, embedded.stations[s].id) << "station " << s;
    EXPECT_EQ(loaded->stations[s].country, embedded.stations[s].country) << "station " << s;
    EXPECT_EQ(loaded->stations[s].capacity, embedded.stations[s].capacity) << "station " << s;
    EXPECT_EQ(loaded->stations[s].weight, embedded.stations[s].weight) << "station " << s;
  }
  const Contest& contest = loaded->contest();
  ASSERT_EQ(contest.choices.size(), 3u);
  for (size_t c = 0; c < contest.choices.size(); ++c) {
    EXPECT_EQ(contest.choices[c].code, embedded.contest().choices[c].code);
    EXPECT_EQ(contest.choices[c].name, embedded.contest().choices[c].name);
    EXPECT_EQ(contest.choices[c].kind, embedded.contest().choices[c].kind);
  }
  ASSERT_TRUE(contest.reported.has_value());
  EXPECT_EQ(contest.reported->cast, 88325u);
  EXPECT_EQ(contest.reported->choices, embedded.contest().reported->choices);
}

}  // namespace
}  // namespace canvass

namespace canvass {
namespace {

// Found by the election loader fuzzer: a number too large for a double made nlohmann
// throw out_of_range, which escaped the loader and terminated the process.
TEST(ElectionFuzzRegressionTest, NumberTooLargeForADoubleIsInvalidJsonNotACrash) {
  EXPECT_THAT(ParseElection(R"({"id": "e", "title": 777777777e77777})", "election.json",
                            "station,country,capacity\nS1,AA,1\n", "roster.csv"),
              ::canvass::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                           ::testing::HasSubstr("election.json: not valid JSON")));
}

}  // namespace
}  // namespace canvass
