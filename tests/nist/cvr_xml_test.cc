// Tests of the NIST CVR XML reader: on NIST's sample elections it gives record for record
// the ballots the JSON reader gives; format sniffing; bad input with exact outcomes.
#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "engine/ballot/cast_ballots.h"
#include "engine/election/contests.h"
#include "engine/io/nist/cvr_builder.h"
#include "engine/io/nist/cvr_reader.h"
#include "engine/io/nist/err_json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace canvass {
namespace {

using ::canvass::testing::ReadFileBytes;

using ::canvass::testing::IsOk;
using ::canvass::testing::StatusIs;
using ::testing::HasSubstr;

std::string DatasetPath(absl::string_view election, absl::string_view file) {
  return absl::StrCat(CANVASS_SOURCE_DIR, "/datasets/nist-cdf/", election, "/", file);
}

// Every span of `text`, `max_bytes` per Next() call; *calls counts the calls.
absl::StatusOr<std::vector<CvrSpan>> ScanAll(CvrFormat format, absl::string_view text,
                                             uint64_t max_bytes = 1 << 22, int* calls = nullptr) {
  std::unique_ptr<CvrScanner> scanner = NewCvrScanner(format, "in.cvr", text);
  std::vector<CvrSpan> spans;
  if (calls != nullptr) *calls = 0;
  while (true) {
    if (calls != nullptr) ++*calls;
    absl::StatusOr<bool> more = scanner->Next(max_bytes, &spans);
    if (!more.ok()) return more.status();
    if (!*more) return spans;
  }
}

// What each record decoded to: the counted ones in `batch`, in order; per record its
// reject (nullopt when counted) and the builder's reason.
struct Decoded {
  CastBallotBatch batch;
  std::vector<std::optional<CastReject>> rejects;
  std::vector<std::string> whys;
};

Decoded DecodeAll(CvrFormat format, absl::string_view text, const std::vector<CvrSpan>& spans,
                  const ContestElection& election) {
  Decoded out;
  std::unique_ptr<CvrDecoder> decoder = NewCvrDecoder(format);
  CvrBuilder builder(election);
  for (const CvrSpan& span : spans) {
    builder.Begin();
    decoder->Decode(text, span, &builder);
    out.rejects.push_back(builder.End(&out.batch));
    out.whys.push_back(builder.why());
  }
  return out;
}

void ExpectSameBatches(const CastBallotBatch& a, const CastBallotBatch& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a.identity(i), b.identity(i)) << "record " << i;
    EXPECT_EQ(a.unit(i), b.unit(i)) << "record " << i;
    const std::vector<CellVotes> cells_a(a.cells(i).begin(), a.cells(i).end());
    const std::vector<CellVotes> cells_b(b.cells(i).begin(), b.cells(i).end());
    EXPECT_TRUE(cells_a == cells_b) << "record " << i;
  }
}

// One unit "u"; contest "c" (vote for 1) with selections "a" and "b".
ContestElection TinyElection() {
  ContestElection election;
  election.id = "tiny";
  election.scope_id = "u";
  election.units.emplace_back().id = "u";
  ElectionContest contest;
  contest.id = "c";
  contest.vote_for = 1;
  contest.selections.resize(2);
  contest.selections[0].id = "a";
  contest.selections[1].id = "b";
  election.contests.push_back(contest);
  EXPECT_THAT(election.Finalize("tiny"), IsOk());
  return election;
}

// One record for TinyElection: `id` marks `selection` with `number_votes` in snapshot
// `snapshot` (the current one is "s").
std::string Record(absl::string_view id, absl::string_view selection = "a",
                   absl::string_view number_votes = "1", absl::string_view snapshot = "s") {
  return absl::StrCat("<CVR><UniqueId>", id,
                      "</UniqueId><BallotStyleUnitId>u</BallotStyleUnitId>"
                      "<CurrentSnapshotId>s</CurrentSnapshotId><CVRSnapshot ObjectId=\"",
                      snapshot,
                      "\"><CVRContest><ContestId>c</ContestId><CVRContestSelection>"
                      "<ContestSelectionId>",
                      selection,
                      "</ContestSelectionId><SelectionPosition><HasIndication>yes</HasIndication>"
                      "<IsAllocable>yes</IsAllocable><NumberVotes>",
                      number_votes,
                      "</NumberVotes></SelectionPosition></CVRContestSelection></CVRContest>"
                      "</CVRSnapshot></CVR>\n");
}

std::string Report(absl::string_view records) {
  return absl::StrCat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<CastVoteRecordReport xmlns=\"http://itl.nist.gov/ns/voting/1500-103/v1\">\n",
      records, "<Version>1.0.0</Version>\n</CastVoteRecordReport>\n");
}

class SampleElectionTest : public ::testing::TestWithParam<std::pair<const char*, size_t>> {};

TEST_P(SampleElectionTest, XmlGivesTheJsonBallotsRecordForRecord) {
  const std::string election_id = GetParam().first;
  const size_t expected_records = GetParam().second;
  const std::string err_path = DatasetPath(election_id, absl::StrCat("err-", election_id, ".json"));
  absl::StatusOr<ContestElection> election =
      ParseResultsReportJson(err_path, ReadFileBytes(err_path));
  ASSERT_THAT(election, IsOk());
  const std::string json =
      ReadFileBytes(DatasetPath(election_id, absl::StrCat("cvr-", election_id, ".json")));
  const std::string xml =
      ReadFileBytes(DatasetPath(election_id, absl::StrCat("cvr-", election_id, ".xml")));

  absl::StatusOr<std::vector<CvrSpan>> json_spans = ScanAll(CvrFormat::kJson, json);
  absl::StatusOr<std::vector<CvrSpan>> xml_spans = ScanAll(CvrFormat::kXml, xml);
  ASSERT_THAT(json_spans, IsOk());
  ASSERT_THAT(xml_spans, IsOk());
  ASSERT_EQ(json_spans->size(), expected_records);
  ASSERT_EQ(xml_spans->size(), expected_records);
  for (size_t i = 0; i < xml_spans->size(); ++i) {
    const CvrSpan& span = (*xml_spans)[i];
    EXPECT_EQ(span.index, i);
    // Each span is exactly one <CVR> (or <prefix:CVR>) element.
    const absl::string_view bytes =
        absl::string_view(xml).substr(span.begin, span.end - span.begin);
    EXPECT_TRUE(absl::StartsWith(bytes, "<CVR>") || absl::StartsWith(bytes, "<cdf:CVR "))
        << bytes.substr(0, 20);
    EXPECT_TRUE(absl::EndsWith(bytes, "</CVR>") || absl::EndsWith(bytes, "</cdf:CVR>"));
  }

  const Decoded from_json = DecodeAll(CvrFormat::kJson, json, *json_spans, *election);
  const Decoded from_xml = DecodeAll(CvrFormat::kXml, xml, *xml_spans, *election);
  for (size_t i = 0; i < expected_records; ++i) {
    EXPECT_EQ(from_json.rejects[i], std::nullopt)
        << "JSON record " << i << ": " << from_json.whys[i];
    EXPECT_EQ(from_xml.rejects[i], std::nullopt) << "XML record " << i << ": " << from_xml.whys[i];
  }
  ASSERT_EQ(from_xml.batch.size(), expected_records);
  ExpectSameBatches(from_json.batch, from_xml.batch);
}

// The report's own Election and GpUnit (an XML report read without --election or
// --reported): the same election as the JSON report of the same election defines.
ContestElection ElectionOfReport(CvrFormat format, const std::string& path) {
  const std::string text = ReadFileBytes(path);
  std::unique_ptr<CvrScanner> scanner = NewCvrScanner(format, path, text);
  std::vector<CvrSpan> spans;
  while (true) {
    absl::StatusOr<bool> more = scanner->Next(1 << 22, &spans);
    EXPECT_THAT(more, IsOk());
    if (!more.ok() || !*more) break;
  }
  absl::StatusOr<ContestElection> election =
      ParseCvrElectionJson(path, scanner->Definition(), /*invalid_figure=*/false);
  EXPECT_THAT(election, IsOk()) << scanner->Definition().substr(0, 400);
  return election.ok() ? *std::move(election) : ContestElection();
}

TEST_P(SampleElectionTest, XmlDefinesTheElectionTheJsonDefines) {
  const std::string id = GetParam().first;
  const ContestElection json =
      ElectionOfReport(CvrFormat::kJson, DatasetPath(id, absl::StrCat("cvr-", id, ".json")));
  const ContestElection xml =
      ElectionOfReport(CvrFormat::kXml, DatasetPath(id, absl::StrCat("cvr-", id, ".xml")));
  EXPECT_EQ(xml.id, json.id);
  EXPECT_EQ(xml.name, json.name);
  EXPECT_EQ(xml.scope_id, json.scope_id);
  ASSERT_EQ(xml.contests.size(), json.contests.size());
  ASSERT_FALSE(json.contests.empty());
  for (size_t c = 0; c < json.contests.size(); ++c) {
    const ElectionContest& a = json.contests[c];
    const ElectionContest& b = xml.contests[c];
    EXPECT_EQ(b.id, a.id);
    EXPECT_EQ(b.name, a.name);
    EXPECT_EQ(b.vote_for, a.vote_for) << a.id;
    EXPECT_EQ(b.kind, a.kind) << a.id;
    EXPECT_EQ(b.external_id, a.external_id) << a.id;
    ASSERT_EQ(b.selections.size(), a.selections.size()) << a.id;
    for (size_t k = 0; k < a.selections.size(); ++k) {
      EXPECT_EQ(b.selections[k].id, a.selections[k].id);
      EXPECT_EQ(b.selections[k].name, a.selections[k].name) << a.selections[k].id;
      EXPECT_EQ(b.selections[k].write_in, a.selections[k].write_in) << a.selections[k].id;
    }
  }
  ASSERT_EQ(xml.units.size(), json.units.size());
  for (size_t u = 0; u < json.units.size(); ++u) {
    EXPECT_EQ(xml.units[u].id, json.units[u].id);
    EXPECT_EQ(xml.units[u].name, json.units[u].name);
    EXPECT_EQ(xml.units[u].type, json.units[u].type);
    EXPECT_EQ(xml.units[u].composing, json.units[u].composing) << json.units[u].id;
  }
}

TEST(CvrXmlDefinitionTest, PrefixedElementsIdListsAndTypedValuesBecomeTheJsonForm) {
  const std::string xml =
      "<?xml version=\"1.0\"?>\n"
      "<cdf:CastVoteRecordReport xmlns:cdf=\"http://itl.nist.gov/ns/voting/1500-103/v1\" "
      "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n"
      "<cdf:Election ObjectId=\"e\"><cdf:Name>Hand</cdf:Name>"
      "<cdf:Candidate ObjectId=\"ca\"><cdf:Name>Ann &amp; Co</cdf:Name></cdf:Candidate>"
      "<cdf:Contest ObjectId=\"c\" xsi:type=\"cdf:CandidateContest\"><cdf:Name>Mayor</cdf:Name>"
      "<cdf:VotesAllowed> 2 </cdf:VotesAllowed>"
      "<cdf:ContestSelection ObjectId=\"s1\" xsi:type=\"cdf:CandidateSelection\">"
      "<cdf:CandidateIds>ca</cdf:CandidateIds></cdf:ContestSelection>"
      "<cdf:ContestSelection ObjectId=\"s2\" xsi:type=\"cdf:CandidateSelection\">"
      "<cdf:IsWriteIn>true</cdf:IsWriteIn></cdf:ContestSelection></cdf:Contest>"
      "<cdf:ElectionScopeId>all</cdf:ElectionScopeId></cdf:Election>\n"
      "<cdf:GpUnit ObjectId=\"all\"><cdf:Type>county</cdf:Type>"
      "<cdf:ComposingGpUnitIds> p1\n p2 </cdf:ComposingGpUnitIds></cdf:GpUnit>\n"
      "<cdf:GpUnit ObjectId=\"p1\"><cdf:Type>precinct</cdf:Type></cdf:GpUnit>\n"
      "<cdf:GpUnit ObjectId=\"p2\"><cdf:Type>precinct</cdf:Type></cdf:GpUnit>\n"
      "<cdf:Version>1.0.0</cdf:Version>\n</cdf:CastVoteRecordReport>\n";
  std::unique_ptr<CvrScanner> scanner = NewCvrScanner(CvrFormat::kXml, "hand.xml", xml);
  std::vector<CvrSpan> spans;
  ASSERT_THAT(scanner->Next(1 << 20, &spans), IsOk());
  EXPECT_TRUE(spans.empty());
  EXPECT_EQ(
      scanner->Definition(),
      "{\"Election\":[{\"@id\":\"e\",\"Name\":\"Hand\",\"Candidate\":[{\"@id\":\"ca\","
      "\"Name\":\"Ann & Co\"}],\"Contest\":[{\"@id\":\"c\",\"@type\":\"CVR.CandidateContest\","
      "\"Name\":\"Mayor\",\"VotesAllowed\":2,\"ContestSelection\":[{\"@id\":\"s1\","
      "\"@type\":\"CVR.CandidateSelection\",\"CandidateIds\":[\"ca\"]},{\"@id\":\"s2\","
      "\"@type\":\"CVR.CandidateSelection\",\"IsWriteIn\":true}]}],"
      "\"ElectionScopeId\":\"all\"}],\"GpUnit\":[{\"@id\":\"all\",\"Type\":\"county\","
      "\"ComposingGpUnitIds\":[\"p1\",\"p2\"]},{\"@id\":\"p1\",\"Type\":\"precinct\"},"
      "{\"@id\":\"p2\",\"Type\":\"precinct\"}]}");
  absl::StatusOr<ContestElection> election =
      ParseCvrElectionJson("hand.xml", scanner->Definition(), false);
  ASSERT_THAT(election, IsOk());
  ASSERT_EQ(election->contests.size(), 1u);
  EXPECT_EQ(election->contests[0].vote_for, 2u);
  EXPECT_EQ(election->contests[0].selections[0].name, "Ann & Co");
  EXPECT_TRUE(election->contests[0].selections[1].write_in);
  EXPECT_EQ(election->units[0].composing, (std::vector<std::string>{"p1", "p2"}));
}

TEST(CvrXmlDefinitionTest, AReportWithoutAnElectionDefinesNone) {
  const std::string xml = Report("");
  std::unique_ptr<CvrScanner> scanner = NewCvrScanner(CvrFormat::kXml, "bare.xml", xml);
  std::vector<CvrSpan> spans;
  ASSERT_THAT(scanner->Next(1 << 20, &spans), IsOk());
  EXPECT_EQ(scanner->Definition(), "");
}

INSTANTIATE_TEST_SUITE_P(NistCdf, SampleElectionTest,
                         ::testing::Values(std::make_pair("gen-01", size_t{40}),
                                           std::make_pair("gen-03", size_t{20}),
                                           std::make_pair("prim-01", size_t{40})),
                         [](const auto& info) {
                           return absl::StrReplaceAll(info.param.first, {{"-", "_"}});
                         });

TEST(CvrXmlSniffTest, RecognisesTheSyntaxes) {
  for (const char* election : {"gen-01", "gen-03", "prim-01"}) {
    const std::string xml =
        ReadFileBytes(DatasetPath(election, absl::StrCat("cvr-", election, ".xml")));
    const std::string json =
        ReadFileBytes(DatasetPath(election, absl::StrCat("cvr-", election, ".json")));
    const std::string err =
        ReadFileBytes(DatasetPath(election, absl::StrCat("err-", election, ".xml")));
    EXPECT_EQ(SniffCvrFormat(absl::string_view(xml).substr(0, 4096)), CvrFormat::kXml) << election;
    EXPECT_EQ(SniffCvrFormat(absl::string_view(json).substr(0, 4096)), CvrFormat::kJson)
        << election;
    EXPECT_EQ(SniffCvrFormat(absl::string_view(err).substr(0, 4096)), std::nullopt) << election;
  }
  EXPECT_EQ(SniffCvrFormat("\xEF\xBB\xBF<!-- a -->\n<?pi x?><cdf:CastVoteRecordReport>"),
            CvrFormat::kXml);
  EXPECT_EQ(SniffCvrFormat("<CastVoteRecordReportX>"), std::nullopt);
  EXPECT_EQ(SniffCvrFormat("<CastVoteRecordRep"), std::nullopt);  // cut in the name
  EXPECT_EQ(SniffCvrFormat("garbage <CastVoteRecordReport>"), std::nullopt);
  EXPECT_EQ(SniffCvrFormat("\x01\x02 binary"), std::nullopt);
  EXPECT_EQ(SniffCvrFormat(""), std::nullopt);
}

TEST(CvrXmlScannerTest, HandsOutRecordsAcrossSeveralCallsInOrder) {
  const std::string xml = ReadFileBytes(DatasetPath("gen-01", "cvr-gen-01.xml"));
  absl::StatusOr<std::vector<CvrSpan>> whole = ScanAll(CvrFormat::kXml, xml);
  ASSERT_THAT(whole, IsOk());
  ASSERT_EQ(whole->size(), 40u);
  // One record per call at max_bytes 1 (at least one record a call), 40 calls and the one
  // that says the end was reached.
  int calls = 0;
  absl::StatusOr<std::vector<CvrSpan>> one_by_one = ScanAll(CvrFormat::kXml, xml, 1, &calls);
  ASSERT_THAT(one_by_one, IsOk());
  EXPECT_EQ(calls, 41);
  // About 20 KB a call: several records a call, several calls.
  absl::StatusOr<std::vector<CvrSpan>> chunked = ScanAll(CvrFormat::kXml, xml, 20000, &calls);
  ASSERT_THAT(chunked, IsOk());
  EXPECT_GT(calls, 3);
  EXPECT_LT(calls, 20);
  for (const std::vector<CvrSpan>* spans : {&*one_by_one, &*chunked}) {
    ASSERT_EQ(spans->size(), 40u);
    for (size_t i = 0; i < spans->size(); ++i) {
      EXPECT_EQ((*spans)[i].index, i);
      EXPECT_EQ((*spans)[i].begin, (*whole)[i].begin);
      EXPECT_EQ((*spans)[i].end, (*whole)[i].end);
      if (i > 0) {
        EXPECT_GT((*spans)[i].begin, (*spans)[i - 1].end);
      }
    }
  }
}

TEST(CvrXmlScannerTest, TruncatedFileIsDataLossNamingTheByte) {
  const std::string xml = ReadFileBytes(DatasetPath("gen-01", "cvr-gen-01.xml"));
  absl::StatusOr<std::vector<CvrSpan>> whole = ScanAll(CvrFormat::kXml, xml);
  ASSERT_THAT(whole, IsOk());
  // Cut in the middle of the third record.
  const CvrSpan third = (*whole)[2];
  const std::string cut = xml.substr(0, (third.begin + third.end) / 2);
  std::unique_ptr<CvrScanner> scanner = NewCvrScanner(CvrFormat::kXml, "cut.xml", cut);
  std::vector<CvrSpan> spans;
  absl::StatusOr<bool> more = scanner->Next(1 << 22, &spans);
  EXPECT_THAT(
      more,
      StatusIs(absl::StatusCode::kDataLoss,
               HasSubstr(absl::StrCat("cut.xml: truncated at byte ", cut.size(), " (line "))));
  EXPECT_THAT(more, StatusIs(absl::StatusCode::kDataLoss, HasSubstr("does not end")));
  EXPECT_EQ(spans.size(), 2u);  // the two whole records before the cut
}

TEST(CvrXmlScannerTest, NotACvrReportIsInvalidArgument) {
  EXPECT_THAT(ScanAll(CvrFormat::kXml, "this is not XML"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("in.cvr: byte 0 (line 1, column 1): not a NIST CVR XML report")));
  EXPECT_THAT(ScanAll(CvrFormat::kXml, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a NIST CVR XML report")));
  EXPECT_THAT(ScanAll(CvrFormat::kXml, "<?xml version=\"1.0\"?><!-- never closed"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a NIST CVR XML report")));
  const std::string err = ReadFileBytes(DatasetPath("gen-01", "err-gen-01.xml"));
  EXPECT_THAT(ScanAll(CvrFormat::kXml, err),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("byte 39 (line 2, column 1): not a NIST CVR XML report (the root "
                                 "element is <ElectionReport>")));
}

TEST(CvrXmlScannerTest, UnclosedRecordIsDataLoss) {
  // The second record lacks its </CVR>: the report's end tag closes it, which it cannot.
  std::string second = Record("2");
  second.erase(second.rfind("</CVR>"), 6);
  const std::string text = Report(absl::StrCat(Record("1"), second, Record("3")));
  const size_t root_end = text.rfind("</CastVoteRecordReport>");
  const size_t second_begin = text.find("<CVR>", 1 + text.find("<CVR>"));
  EXPECT_THAT(
      ScanAll(CvrFormat::kXml, text),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr(absl::StrCat("byte ", root_end, " (line "))));
  EXPECT_THAT(ScanAll(CvrFormat::kXml, text),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr(absl::StrCat("</CastVoteRecordReport> closes <CVR> begun at byte ",
                                              second_begin))));
}

TEST(CvrXmlScannerTest, UnmatchedTagsBetweenRecordsAreDataLoss) {
  const std::string stray_end = Report(absl::StrCat(Record("1"), "</Election>", Record("2")));
  EXPECT_THAT(ScanAll(CvrFormat::kXml, stray_end),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr(absl::StrCat("byte ", stray_end.find("</Election>"),
                                              " (line 4, column 1): </Election> closes "
                                              "<CastVoteRecordReport> begun at byte 39"))));
  const std::string crossed =
      Report(absl::StrCat(Record("1"), "<Election><Name>x</Election></Name>", Record("2")));
  EXPECT_THAT(ScanAll(CvrFormat::kXml, crossed),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr(absl::StrCat("byte ", crossed.find("</Election>"),
                                              " (line 4, column 18): </Election> closes <Name>"))));
  EXPECT_THAT(ScanAll(CvrFormat::kXml, Report(Record("1")) + "<CVR/>"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("text after the report's closing")));
}

TEST(CvrXmlScannerTest, QuotedGreaterThanCommentsAndCdataDoNotConfuseIt) {
  const ContestElection election = TinyElection();
  const std::string text = Report(absl::StrCat(
      "<!-- <CVR> a commented record </CVR> -->\n",
      absl::StrReplaceAll(Record("1"), {{"<CVR>", "<CVR note=\"a > b\" other='</CVR>'>"}}),
      "<CVRSnapshot ObjectId=\"s\"/>\n",  // not a record
      "<Election>x > y <![CDATA[ <CVR> ]]></Election>\n",
      absl::StrReplaceAll(Record("2"), {{"<UniqueId>",
                                         "<BallotStyleId><![CDATA[</CVR>]]>"
                                         "</BallotStyleId><UniqueId>"}}),
      "<?pi <CVR> ?>\n", Record("3")));
  absl::StatusOr<std::vector<CvrSpan>> spans = ScanAll(CvrFormat::kXml, text);
  ASSERT_THAT(spans, IsOk());
  ASSERT_EQ(spans->size(), 3u);
  const Decoded decoded = DecodeAll(CvrFormat::kXml, text, *spans, election);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(decoded.rejects[i], std::nullopt) << decoded.whys[i];
  ASSERT_EQ(decoded.batch.size(), 3u);
  EXPECT_EQ(decoded.batch.identity(0), "0|1");
  EXPECT_EQ(decoded.batch.identity(1), "0|2");
  EXPECT_EQ(decoded.batch.identity(2), "0|3");
}

TEST(CvrXmlDecoderTest, BadNumberVotesRejectsThatRecordOnly) {
  const ContestElection election = TinyElection();
  const std::string text =
      Report(absl::StrCat(Record("1"), Record("2", "b", "x"), Record("3", "b")));
  absl::StatusOr<std::vector<CvrSpan>> spans = ScanAll(CvrFormat::kXml, text);
  ASSERT_THAT(spans, IsOk());
  ASSERT_EQ(spans->size(), 3u);
  const Decoded decoded = DecodeAll(CvrFormat::kXml, text, *spans, election);
  EXPECT_EQ(decoded.rejects[0], std::nullopt);
  EXPECT_EQ(decoded.rejects[1], CastReject::kMalformed);
  EXPECT_THAT(decoded.whys[1], HasSubstr("NumberVotes: expected a small integer, found 'x'"));
  EXPECT_EQ(decoded.rejects[2], std::nullopt);
  ASSERT_EQ(decoded.batch.size(), 2u);
  EXPECT_EQ(decoded.batch.identity(1), "0|3");
  // Record 3's cells: ballots cast, b's vote, and the contest's ballots.
  const uint32_t b = election.SelectionCell(0, 1);
  const std::vector<CellVotes> cells(decoded.batch.cells(1).begin(), decoded.batch.cells(1).end());
  EXPECT_TRUE(
      (cells == std::vector<CellVotes>{{ContestElection::kBallotsCastCell, 1},
                                       {b, 1},
                                       {election.FigureCell(0, ContestFigure::kBallots), 1}}));
  // Negative and signed counts are not counts either.
  for (const char* bad : {"-1", "+1", "1.0", "", "99999999999999999999999"}) {
    const std::string one = Report(Record("1", "a", bad));
    const Decoded d = DecodeAll(CvrFormat::kXml, one, *ScanAll(CvrFormat::kXml, one), election);
    EXPECT_EQ(d.rejects[0], CastReject::kMalformed) << bad;
    EXPECT_THAT(d.whys[0], HasSubstr("NumberVotes: expected a small integer")) << bad;
  }
}

TEST(CvrXmlDecoderTest, NoMatchingSnapshotIsMalformed) {
  const ContestElection election = TinyElection();
  const std::string text = Report(absl::StrCat(Record("1", "a", "1", "other"), Record("2")));
  absl::StatusOr<std::vector<CvrSpan>> spans = ScanAll(CvrFormat::kXml, text);
  ASSERT_THAT(spans, IsOk());
  const Decoded decoded = DecodeAll(CvrFormat::kXml, text, *spans, election);
  ASSERT_EQ(decoded.rejects.size(), 2u);
  EXPECT_EQ(decoded.rejects[0], CastReject::kMalformed);
  EXPECT_THAT(decoded.whys[0], HasSubstr("no CVRSnapshot has the current @id 's'"));
  EXPECT_EQ(decoded.rejects[1], std::nullopt);
  // Two snapshots with the current id: malformed too.
  std::string twice = Record("3");
  const size_t snapshot = twice.find("<CVRSnapshot");
  const size_t snapshot_end = twice.find("</CVRSnapshot>") + 14;
  twice.insert(snapshot_end, twice.substr(snapshot, snapshot_end - snapshot));
  const std::string two = Report(twice);
  const Decoded d = DecodeAll(CvrFormat::kXml, two, *ScanAll(CvrFormat::kXml, two), election);
  EXPECT_EQ(d.rejects[0], CastReject::kMalformed);
  EXPECT_THAT(d.whys[0], HasSubstr("two CVRSnapshots have @id 's'"));
}

TEST(CvrXmlDecoderTest, BrokenXmlInsideARecordIsMalformed) {
  const ContestElection election = TinyElection();
  const std::string text = Report(absl::StrCat(
      Record("1"), absl::StrReplaceAll(Record("2"), {{"ObjectId=\"s\"", "ObjectId=s"}}),
      Record("3")));
  absl::StatusOr<std::vector<CvrSpan>> spans = ScanAll(CvrFormat::kXml, text);
  ASSERT_THAT(spans, IsOk());
  ASSERT_EQ(spans->size(), 3u);
  const Decoded decoded = DecodeAll(CvrFormat::kXml, text, *spans, election);
  EXPECT_EQ(decoded.rejects[0], std::nullopt);
  EXPECT_EQ(decoded.rejects[1], CastReject::kMalformed);
  // pugixml's reason, and the file's byte where it stopped: the unquoted value.
  EXPECT_EQ(decoded.whys[1],
            absl::StrCat("not well-formed XML (Error parsing element attribute at byte ",
                         text.find("ObjectId=s") + 9, ")"));
  EXPECT_EQ(decoded.rejects[2], std::nullopt);
}

TEST(CvrXmlDecoderTest, PrefixedNamespaceDecodesAsUnprefixed) {
  const ContestElection election = TinyElection();
  const std::string records = absl::StrCat(Record("1"), Record("2", "b"), Record("3", "a", "2"));
  const std::string plain = Report(records);
  // Every element prefixed, the root binding the prefix.
  std::string prefixed = absl::StrReplaceAll(records, {{"<", "<cdf:"}});
  prefixed = absl::StrReplaceAll(prefixed, {{"<cdf:/", "</cdf:"}});
  prefixed = absl::StrCat(
      "<?xml version=\"1.0\"?>\n<cdf:CastVoteRecordReport "
      "xmlns:cdf=\"http://itl.nist.gov/ns/voting/1500-103/v1\">\n",
      prefixed, "</cdf:CastVoteRecordReport>\n");
  ASSERT_THAT(prefixed, HasSubstr("<cdf:CVR><cdf:UniqueId>1</cdf:UniqueId>"));
  EXPECT_EQ(SniffCvrFormat(prefixed), CvrFormat::kXml);
  absl::StatusOr<std::vector<CvrSpan>> plain_spans = ScanAll(CvrFormat::kXml, plain);
  absl::StatusOr<std::vector<CvrSpan>> prefixed_spans = ScanAll(CvrFormat::kXml, prefixed);
  ASSERT_THAT(plain_spans, IsOk());
  ASSERT_THAT(prefixed_spans, IsOk());
  ASSERT_EQ(prefixed_spans->size(), 3u);
  const Decoded a = DecodeAll(CvrFormat::kXml, plain, *plain_spans, election);
  const Decoded b = DecodeAll(CvrFormat::kXml, prefixed, *prefixed_spans, election);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(a.rejects[i], std::nullopt) << a.whys[i];
    EXPECT_EQ(b.rejects[i], std::nullopt) << b.whys[i];
  }
  ASSERT_EQ(b.batch.size(), 3u);
  ExpectSameBatches(a.batch, b.batch);
  // Record 3 gives 2 votes to a in a vote-for-1 contest: an overvote.
  const std::vector<CellVotes> cells(b.batch.cells(2).begin(), b.batch.cells(2).end());
  EXPECT_TRUE(
      (cells == std::vector<CellVotes>{{ContestElection::kBallotsCastCell, 1},
                                       {election.FigureCell(0, ContestFigure::kOvervotes), 1},
                                       {election.FigureCell(0, ContestFigure::kBallots), 1}}));
}

}  // namespace
}  // namespace canvass
