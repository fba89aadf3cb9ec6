// Tests for the HTML page of a report (engine/report/html_report.h): every figure cell's
// data-key names the JSON value the cell shows, strings are escaped, a synthetic report
// carries its banner, and text that is not a known report is an InvalidArgument error.
#include "engine/report/html_report.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "engine/report/report.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/elections.h"
#include "tests/testing/status_matchers.h"

namespace canvass {
namespace {

using canvass::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

using Json = nlohmann::ordered_json;

// Three stations in two countries; `title` and the first station id come from the caller so
// that a test can put markup in them.
Election MakeElection(bool synthetic_roster, const std::string& title = "HTML test",
                      const std::string& first_station = "S1") {
  return testing::ElectionBuilder("html-test", title)
      .Source("unit test")
      .AddChoice("JAL", "candidate", "Saeed Jalili")
      .AddChoice("PEZ", "candidate", "Masoud Pezeshkian")
      .AddChoice("INV", "invalid", "invalid")
      .Reported(88325, {{"JAL", 50206}, {"PEZ", 36169}, {"INV", 1950}})
      .AddStation(first_station, "FR", 50000)
      .AddStation("S2", "DE", 30000)
      .AddStation("S3", "FR", 20000)
      .SyntheticRoster(synthetic_roster)
      .Build();
}

// JAL 50206, PEZ 36169, INV 1949 (one short of the reported 1950); 5 records rejected.
Tally MakeTally() {
  Tally tally(3, 3);
  tally.counted = {25000, 18000, 1000, 15206, 10000, 500, 10000, 8169, 449};
  tally.station_records = {44000, 25706, 18618};
  tally.rejected[static_cast<int>(RejectReason::kMalformed)] = 2;
  tally.rejected[static_cast<int>(RejectReason::kUnknownStation)] = 3;
  tally.records_read = 88329;
  return tally;
}

FigureComparison Line(uint64_t counted, uint64_t reported) {
  FigureComparison line;
  line.counted = counted;
  line.reported = reported;
  line.delta = static_cast<int64_t>(counted) - static_cast<int64_t>(reported);
  return line;
}

Reconciliation MakeReconciliation() {
  Reconciliation rec;
  rec.choices = {Line(50206, 50206), Line(36169, 36169), Line(1949, 1950)};
  rec.cast = Line(88324, 88325);
  rec.reported_consistent = true;
  rec.reported_lead = Lead{0, 14037};
  rec.counted_lead = Lead{0, 14037};
  rec.absolute_delta_sum = 1;
  rec.rejected_records = 5;
  rec.stations_reporting = 3;
  rec.stations_expected = 3;
  return rec;
}

// What the page's text of a figure means (html_report.h): separators and '+' dropped, '—'
// for null.
Json FigureFromText(std::string text) {
  if (text == "\u2014") return nullptr;
  text = absl::StrReplaceAll(text, {{",", ""}, {"+", ""}});
  if (text == "true") return true;
  if (text == "false") return false;
  if (!text.empty() && std::all_of(text.begin() + (text[0] == '-'), text.end(), ::isdigit)) {
    return Json::parse(text);
  }
  return text;
}

std::string Unescape(std::string text) {
  return absl::StrReplaceAll(
      text, {{"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&amp;", "&"}});
}

// The text between `open` (searched from `*at`) and `close`; moves *at past it.
std::optional<std::string> Between(const std::string& text, const std::string& open,
                                   const std::string& close, size_t* at, size_t limit) {
  const size_t begin = text.find(open, *at);
  if (begin == std::string::npos || begin >= limit) return std::nullopt;
  const size_t end = text.find(close, begin + open.size());
  if (end == std::string::npos) return std::nullopt;
  *at = end + close.size();
  return text.substr(begin + open.size(), end - begin - open.size());
}

// Every (pointer, text) of the page: data-key cells and spans, and the cells of compact rows
// (a row's data-row joined with its column's data-col).
std::vector<std::pair<std::string, std::string>> KeyedFigures(const std::string& html) {
  std::vector<std::pair<std::string, std::string>> figures;
  size_t at = 0;
  while (std::optional<std::string> pointer =
             Between(html, "data-key=\"", "\">", &at, html.size())) {
    const size_t end = html.find('<', at);
    figures.emplace_back(Unescape(*pointer), Unescape(html.substr(at, end - at)));
  }
  at = 0;
  while (std::optional<std::string> table = Between(html, "<table", "</table>", &at, html.size())) {
    std::vector<std::string> columns;
    size_t in = 0;
    while (std::optional<std::string> head = Between(*table, "<th", ">", &in, table->size())) {
      if (absl::StartsWith(*head, "ead")) continue;  // <thead>
      size_t col = 0;
      std::optional<std::string> key = Between(*head, "data-col=\"", "\"", &col, head->size());
      columns.push_back(key ? Unescape(*key) : "");
    }
    in = 0;
    while (std::optional<std::string> prefix =
               Between(*table, "<tr data-row=\"", "\">", &in, table->size())) {
      const size_t row_end = table->find("</tr>", in);
      for (size_t index = 0;; ++index) {
        size_t cell_at = in;
        if (!Between(*table, "<td", ">", &cell_at, row_end)) break;
        const size_t text_end = table->find("</td>", cell_at);
        if (index < columns.size() && !columns[index].empty()) {
          figures.emplace_back(Unescape(*prefix) + "/" + columns[index],
                               Unescape(table->substr(cell_at, text_end - cell_at)));
        }
        in = text_end + 5;
      }
    }
  }
  return figures;
}

// Checks every keyed figure of `html` against `report`; returns how many were checked.
size_t ExpectFiguresMatch(const std::string& html, const Json& report) {
  const std::vector<std::pair<std::string, std::string>> figures = KeyedFigures(html);
  for (const auto& [pointer, text] : figures) {
    const Json::json_pointer at(pointer);
    if (!report.contains(at)) {
      ADD_FAILURE() << pointer << " is not in the JSON report";
      continue;
    }
    EXPECT_EQ(FigureFromText(text), report.at(at)) << pointer;
  }
  return figures.size();
}

class HtmlReportTest : public ::testing::Test {
 protected:
  ReportInput Input(const Election& election, Breakdown breakdown) const {
    ReportInput input;
    input.command = "reconcile";
    input.election = &election;
    input.tally = &tally_;
    input.reconciliation = &reconciliation_;
    input.breakdown = breakdown;
    return input;
  }

  Election election_ = MakeElection(/*synthetic_roster=*/false);
  Tally tally_ = MakeTally();
  Reconciliation reconciliation_ = MakeReconciliation();
};

TEST_F(HtmlReportTest, EveryKeyedFigureIsTheJsonValueAtItsPointer) {
  for (const Breakdown breakdown : {Breakdown::kNone, Breakdown::kStation, Breakdown::kCountry}) {
    const std::string json = RenderReport(Input(election_, breakdown), ReportFormat::kJson);
    const std::string html = RenderReport(Input(election_, breakdown), ReportFormat::kHtml);
    absl::StatusOr<std::string> from_json = RenderHtmlReport(json);
    ASSERT_TRUE(from_json.ok()) << from_json.status();
    EXPECT_EQ(html, *from_json);
    const size_t checked = ExpectFiguresMatch(html, Json::parse(json));
    // Totals, reported and delta of 4 keys, 6 reasons, records, margins...; 3 stations or
    // 2 countries of 6 or 7 figures in the drill-down.
    EXPECT_GE(checked, breakdown == Breakdown::kNone ? 25u : 37u);
  }
}

TEST_F(HtmlReportTest, DrillDownRowsAreCompactAndComplete) {
  const std::string html = RenderReport(Input(election_, Breakdown::kStation), ReportFormat::kHtml);
  EXPECT_THAT(html, HasSubstr("<th class=\"n\" data-col=\"counted/JAL\">JAL</th>"));
  EXPECT_THAT(html, HasSubstr("<tr data-row=\"/stations/1\"><td>S2</td><td>DE</td>"
                              "<td>25,706</td><td>15,206</td><td>10,000</td><td>500</td>"
                              "<td>25,706</td></tr>"));
}

TEST_F(HtmlReportTest, MismatchingCellsAreListedWorstFirst) {
  const std::string html = RenderReport(Input(election_, Breakdown::kNone), ReportFormat::kHtml);
  EXPECT_THAT(html, HasSubstr("<span class=\"big\" data-key=\"/verdict\">mismatch</span>"));
  const size_t table = html.find("id=\"discrepancy-table\"");
  ASSERT_NE(table, std::string::npos);
  // INV and cast are each one short: both listed, in key order on a tie.
  const size_t inv = html.find("<td>INV</td>", table);
  const size_t cast = html.find("<td>cast</td>", table);
  EXPECT_NE(inv, std::string::npos);
  EXPECT_LT(inv, cast);
  EXPECT_EQ(html.find("<td>JAL</td>", table), std::string::npos);
}

TEST_F(HtmlReportTest, SyntheticReportsCarryTheBannerFirst) {
  const Election synthetic = MakeElection(/*synthetic_roster=*/true);
  const std::string html = RenderReport(Input(synthetic, Breakdown::kNone), ReportFormat::kHtml);
  const size_t banner = html.find("<div class=\"synthetic\" id=\"synthetic\"");
  ASSERT_NE(banner, std::string::npos);
  EXPECT_LT(banner, html.find("<h1>"));
  EXPECT_THAT(html, HasSubstr("<b>SYNTHETIC</b> the station roster and every per-station split "
                              "are synthetic"));
  EXPECT_THAT(html, HasSubstr("<title>SYNTHETIC"));
  const std::string factual = RenderReport(Input(election_, Breakdown::kNone), ReportFormat::kHtml);
  EXPECT_THAT(factual, Not(HasSubstr("id=\"synthetic\"")));
}

TEST_F(HtmlReportTest, StringsFromTheInputsAreEscaped) {
  const Election hostile =
      MakeElection(false, "<script>alert(1)</script> & \"co\"", "<img src=x onerror=alert(2)>");
  const std::string json = RenderReport(Input(hostile, Breakdown::kStation), ReportFormat::kJson);
  const std::string html = RenderReport(Input(hostile, Breakdown::kStation), ReportFormat::kHtml);
  EXPECT_THAT(html, Not(HasSubstr("<script>alert")));
  EXPECT_THAT(html, Not(HasSubstr("<img")));
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;co&quot;"));
  EXPECT_THAT(html, HasSubstr("<td>&lt;img src=x onerror=alert(2)&gt;</td>"));
  // One script element: the page's own.
  size_t scripts = 0;
  for (size_t at = html.find("<script"); at != std::string::npos;
       at = html.find("<script", at + 1)) {
    ++scripts;
  }
  EXPECT_EQ(scripts, 1u);
  ExpectFiguresMatch(html, Json::parse(json));
}

TEST(HtmlEscapeTest, ReplacesMarkupAndControlCharacters) {
  EXPECT_EQ(HtmlEscape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
  EXPECT_EQ(HtmlEscape(std::string("x\x01y\x7f\tz\n", 7)), "x\uFFFDy\uFFFD\tz\n");
  EXPECT_EQ(HtmlEscape("Pezeshkian \u067e"), "Pezeshkian \u067e");
}

TEST(HtmlReportErrorTest, TextThatIsNotAKnownReportIsInvalidArgument) {
  EXPECT_THAT(RenderHtmlReport("{\"report_version\": 1,").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("report JSON")));
  EXPECT_THAT(RenderHtmlReport("").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("report JSON")));
  EXPECT_THAT(RenderHtmlReport("[1, 2]").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("expected an object")));
  EXPECT_THAT(RenderHtmlReport("{\"report_version\": 3}").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("report_version")));
  EXPECT_THAT(RenderHtmlReport("{\"command\": \"run\"}").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("report_version")));
}

// A contest report (report_version 2) as docs/REPORT.md shows it, cut down by hand.
constexpr char kContestReport[] = R"json({
  "report_version": 2, "command": "reconcile",
  "election": {"id": "e1", "name": "Test <County>", "scope": "county", "source": "err.json"},
  "synthetic": true,
  "inputs": [{"path": "cvr.json", "bytes": 1234, "format": "nist-cvr-json", "records": 7,
              "synthetic": true, "identity": {"UniqueId": 7}}],
  "skipped": [], "repeated": [],
  "records": {"read": 8, "counted": 7, "rejected": {"malformed": 1, "unknown_unit": 0}},
  "rejected_examples": [{"reason": "malformed", "location": "cvr.json: byte 9 (line 2)",
                         "why": "expected <an object>"}],
  "ballots": 7, "ballots_reported": null,
  "contests": [{"id": "c1", "name": "Mayor", "vote_for": 1, "kind": "plurality",
                "totals": {"s1": 4, "s2": 3}, "overvotes": 0, "undervotes": 0, "ballots": 7,
                "reported": {"s1": 5, "s2": 3, "overvotes": 0, "undervotes": null,
                             "ballots": null},
                "delta": {"s1": -1, "s2": 0, "overvotes": 0, "undervotes": null,
                          "ballots": null},
                "verdict": "mismatch", "cells_compared": 3, "cells_mismatched": 1,
                "leader": ["s1"], "margin": 1, "reported_leader": ["s1"], "reported_margin": 2,
                "outcome_at_risk": true}],
  "cells": {"compared": 3, "mismatched": 1, "not_reported": 0},
  "mismatches": [{"unit": "p/1", "contest": "c1", "selection": "s1", "counted": 4,
                  "reported": 5, "delta": -1}],
  "units": [{"id": "p/1", "name": "Precinct ~1", "type": "precinct", "level": 1,
             "ballots": 7, "ballots_reported": null,
             "contests": [{"id": "c1", "totals": {"s/1": 4}, "overvotes": 0, "undervotes": 0,
                           "ballots": 7, "reported": {"s/1": 5, "overvotes": null,
                           "undervotes": null, "ballots": null},
                           "delta": {"s/1": -1, "overvotes": null, "undervotes": null,
                                     "ballots": null}}]}],
  "verdict": "mismatch"
})json";

TEST(HtmlReportContestTest, EveryKeyedFigureIsTheJsonValueAtItsPointer) {
  absl::StatusOr<std::string> html = RenderHtmlReport(kContestReport);
  ASSERT_TRUE(html.ok()) << html.status();
  const size_t checked = ExpectFiguresMatch(*html, Json::parse(kContestReport));
  EXPECT_GE(checked, 40u);
  // Pointer tokens escape '/' and '~' (RFC 6901).
  EXPECT_THAT(*html, HasSubstr("data-key=\"/units/0/contests/0/totals/s~11\">4<"));
  EXPECT_THAT(*html, HasSubstr("id=\"synthetic\""));
  EXPECT_THAT(*html, HasSubstr("Test &lt;County&gt;"));
  EXPECT_THAT(*html, HasSubstr("expected &lt;an object&gt;"));
  EXPECT_THAT(*html, HasSubstr("<td class=\"n neg\" data-key=\"/mismatches/0/delta\">-1</td>"));
  EXPECT_THAT(*html, HasSubstr("<b class=\"risk\">at risk</b>"));
}

TEST(HtmlReportContestTest, ThePageFetchesNothing) {
  absl::StatusOr<std::string> html = RenderHtmlReport(kContestReport);
  ASSERT_TRUE(html.ok());
  EXPECT_THAT(*html, Not(HasSubstr("src=")));
  EXPECT_THAT(*html, Not(HasSubstr("http:")));
  EXPECT_THAT(*html, Not(HasSubstr("https:")));
  EXPECT_THAT(*html, Not(HasSubstr("@import")));
  EXPECT_THAT(*html, Not(HasSubstr("url(")));
}

TEST(ParseReportFormatTest, HtmlIsAFormat) {
  absl::StatusOr<ReportFormat> format = ParseReportFormat("html");
  ASSERT_TRUE(format.ok());
  EXPECT_EQ(*format, ReportFormat::kHtml);
  EXPECT_THAT(ParseReportFormat("pdf").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("text, json, csv or html")));
}

}  // namespace
}  // namespace canvass
