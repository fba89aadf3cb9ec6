// The HTML page of a JSON report: read with simdjson's DOM, every section written from it.
#include "engine/report/html_report.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/base/check.h"
#include "engine/report/internal/html_assets.h"
#include "simdjson.h"

namespace canvass {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

// ---- Reading the JSON ----

std::optional<element> Get(element parent, absl::string_view key) {
  element value;
  if (parent.type() != element_type::OBJECT ||
      parent[std::string_view(key.data(), key.size())].get(value) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  return value;
}

std::string GetString(element parent, absl::string_view key) {
  std::optional<element> value = Get(parent, key);
  std::string_view text;
  if (!value || value->get_string().get(text) != simdjson::SUCCESS) return "";
  return std::string(text);
}

bool GetBool(element parent, absl::string_view key) {
  std::optional<element> value = Get(parent, key);
  bool flag = false;
  return value && value->get_bool().get(flag) == simdjson::SUCCESS && flag;
}

bool IsNumber(const element& value) {
  return value.type() == element_type::UINT64 || value.type() == element_type::INT64;
}

// A count (uint64) or a delta (int64) as its magnitude and sign; null for anything else.
struct Figure {
  uint64_t magnitude = 0;
  bool negative = false;
  bool null = true;
};

Figure FigureOf(const element& value) {
  Figure figure;
  if (value.type() == element_type::UINT64) {
    figure = {uint64_t(value.get_uint64().value_unsafe()), false, false};
  } else if (value.type() == element_type::INT64) {
    const int64_t signed_value = value.get_int64().value_unsafe();
    figure.null = false;
    figure.negative = signed_value < 0;
    figure.magnitude = figure.negative ? uint64_t{0} - static_cast<uint64_t>(signed_value)
                                       : static_cast<uint64_t>(signed_value);
  }
  return figure;
}

uint64_t MagnitudeOf(std::optional<element> value) {
  return value && IsNumber(*value) ? FigureOf(*value).magnitude : 0;
}

std::vector<std::pair<std::string, element>> Fields(std::optional<element> value) {
  std::vector<std::pair<std::string, element>> fields;
  object entries;
  if (!value || value->get_object().get(entries) != simdjson::SUCCESS) return fields;
  for (const auto field : entries) fields.emplace_back(std::string(field.key), field.value);
  return fields;
}

std::vector<element> Items(std::optional<element> value) {
  std::vector<element> items;
  array entries;
  if (!value || value->get_array().get(entries) != simdjson::SUCCESS) return items;
  for (const element item : entries) items.push_back(item);
  return items;
}

// ---- Writing HTML ----

std::string Grouped(uint64_t value) {
  const std::string digits = absl::StrCat(value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

// A figure as people read it; the test reads it back by dropping ',' and '+'.
std::string FigureText(const element& value, bool signed_delta) {
  switch (value.type()) {
    case element_type::UINT64:
    case element_type::INT64: {
      const Figure figure = FigureOf(value);
      if (figure.magnitude == 0) return "0";
      const char* sign = figure.negative ? "-" : (signed_delta ? "+" : "");
      return absl::StrCat(sign, Grouped(figure.magnitude));
    }
    case element_type::NULL_VALUE:
      return "\u2014";
    case element_type::BOOL:
      return value.get_bool().value_unsafe() ? "true" : "false";
    case element_type::STRING: {
      const std::string_view text = value.get_string().value_unsafe();
      return HtmlEscape(absl::string_view(text.data(), text.size()));
    }
    default:
      return "?";
  }
}

// A JSON Pointer token (RFC 6901: '~' is "~0", '/' is "~1") after `base`.
std::string Pointer(absl::string_view base, absl::string_view token) {
  std::string out(base);
  out.push_back('/');
  for (const char c : token) {
    if (c == '~') {
      out.append("~0");
    } else if (c == '/') {
      out.append("~1");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string Pointer(absl::string_view base, size_t index) { return absl::StrCat(base, "/", index); }

const char* DeltaClass(const element& value) {
  const Figure figure = FigureOf(value);
  if (figure.null || figure.magnitude == 0) return "n";
  return figure.negative ? "n neg" : "n pos";
}

// <td data-key="POINTER">figure</td> for parent[key]; an empty cell when it is absent.
void FigureCell(std::optional<element> parent, absl::string_view key, absl::string_view base,
                bool signed_delta, std::string* out) {
  std::optional<element> value = parent ? Get(*parent, key) : std::nullopt;
  if (!value) {
    out->append("<td class=\"n\"></td>");
    return;
  }
  absl::StrAppend(out, "<td class=\"", signed_delta ? DeltaClass(*value) : "n", "\" data-key=\"",
                  HtmlEscape(Pointer(base, key)), "\">", FigureText(*value, signed_delta), "</td>");
}

// A figure cell of a compact row: the row and its column name the pointer.
void CompactCell(std::optional<element> parent, absl::string_view key, std::string* out) {
  std::optional<element> value = parent ? Get(*parent, key) : std::nullopt;
  absl::StrAppend(out, "<td>", value ? FigureText(*value, false) : "", "</td>");
}

void TextCell(absl::string_view text, std::string* out) {
  absl::StrAppend(out, "<td>", HtmlEscape(text), "</td>");
}

struct Column {
  Column(std::string label_text, bool is_numeric = false, std::string column_key = "")
      : label(std::move(label_text)), numeric(is_numeric), key(std::move(column_key)) {}
  std::string label;
  bool numeric;
  std::string key;  // data-col of a compact table
};

// Opens a table in its scrolling wrapper; `id` names it for the filters. Closed by EndTable.
void BeginTable(absl::string_view id, const std::vector<Column>& columns, bool sortable,
                std::string* out) {
  absl::StrAppend(out, "<div class=\"tw\"><table", id.empty() ? "" : " id=\"", id,
                  id.empty() ? "" : "\"", sortable ? " class=\"sortable\"" : "", "><thead><tr>");
  for (const Column& column : columns) {
    absl::StrAppend(out, "<th", column.numeric ? " class=\"n\"" : "");
    if (!column.key.empty()) absl::StrAppend(out, " data-col=\"", HtmlEscape(column.key), "\"");
    absl::StrAppend(out, ">", HtmlEscape(column.label), "</th>");
  }
  out->append("</tr></thead><tbody>");
}

void EndTable(std::string* out) { out->append("</tbody></table></div>"); }

// A search box, hidden until the page's script shows it (it does nothing without one).
void FilterBox(absl::string_view table_id, absl::string_view placeholder, int columns,
               std::string* out) {
  absl::StrAppend(out, "<p class=\"controls\" hidden><input type=\"search\" data-filter=\"",
                  table_id, "\" data-columns=\"", columns, "\" placeholder=\"",
                  HtmlEscape(placeholder), "\" aria-label=\"", HtmlEscape(placeholder),
                  "\"> <span class=\"count\"></span></p>");
}

void Term(absl::string_view name, absl::string_view html_value, std::string* out) {
  absl::StrAppend(out, "<dt>", HtmlEscape(name), "</dt><dd>", html_value, "</dd>");
}

// A figure as a definition-list value carrying its pointer.
std::string KeyedSpan(element parent, absl::string_view key, absl::string_view base) {
  std::optional<element> value = Get(parent, key);
  if (!value) return "";
  return absl::StrCat("<span data-key=\"", HtmlEscape(Pointer(base, key)), "\">",
                      FigureText(*value, false), "</span>");
}

// Opens a section of `rows` table rows that the browser lays out only when it is scrolled
// into view (content-visibility: auto), sized meanwhile by an estimate: a page of 10,000
// stations then opens in about the time of an empty one (docs/PERFORMANCE.md).
void BeginLongSection(absl::string_view id, absl::string_view title, size_t rows,
                      std::string* out) {
  absl::StrAppend(out, "<section id=\"", id, "\"");
  if (rows > 200) {
    absl::StrAppend(out, " class=\"lazy\" style=\"contain-intrinsic-size:auto ", 160 + rows * 28,
                    "px\"");
  }
  absl::StrAppend(out, "><h2>", title, "</h2>");
}

// ---- Charts (inline SVG) ----

struct Bar {
  std::string label;
  uint64_t counted = 0;
  std::optional<uint64_t> reported;
};

// A chart label: at most `bytes` bytes of `text`, never cut inside a UTF-8 sequence.
std::string Label(const std::string& text, size_t bytes = 24) {
  if (text.size() <= bytes) return HtmlEscape(text);
  while (bytes > 0 && (static_cast<unsigned char>(text[bytes]) & 0xC0) == 0x80) --bytes;
  return HtmlEscape(text.substr(0, bytes)) + "\u2026";
}

double Width(uint64_t value, uint64_t largest, double span) {
  return largest == 0 ? 0.0 : span * static_cast<double>(value) / static_cast<double>(largest);
}

// Counted (and reported, where given) per selection, as pairs of horizontal bars.
void BarChart(absl::string_view title, const std::vector<Bar>& bars, std::string* out) {
  if (bars.empty()) return;
  uint64_t largest = 0;
  for (const Bar& bar : bars) largest = std::max({largest, bar.counted, bar.reported.value_or(0)});
  const int row_height = 34;
  const int height = static_cast<int>(bars.size()) * row_height + 24;
  absl::StrAppend(out, "<figure><svg viewBox=\"0 0 720 ", height, "\" role=\"img\" aria-label=\"",
                  HtmlEscape(title), "\">");
  absl::StrAppend(
      out,
      "<rect class=\"bc\" x=\"170\" y=\"4\" width=\"10\" height=\"10\"/><text x=\"184\" "
      "y=\"13\">counted</text><rect class=\"br\" x=\"250\" y=\"4\" width=\"10\" "
      "height=\"10\"/><text x=\"264\" y=\"13\">reported</text>");
  for (size_t i = 0; i < bars.size(); ++i) {
    const Bar& bar = bars[i];
    const int y = 24 + static_cast<int>(i) * row_height;
    absl::StrAppend(out, "<text x=\"164\" y=\"", y + 16, "\" text-anchor=\"end\">",
                    Label(bar.label), "</text>");
    const double counted_width = Width(bar.counted, largest, 440);
    absl::StrAppendFormat(out,
                          "<rect class=\"bc\" x=\"170\" y=\"%d\" width=\"%.1f\" height=\"13\"/>"
                          "<text x=\"%.1f\" y=\"%d\">%s</text>",
                          y, counted_width, 174 + counted_width, y + 11, Grouped(bar.counted));
    if (bar.reported) {
      const double reported_width = Width(*bar.reported, largest, 440);
      absl::StrAppendFormat(out,
                            "<rect class=\"br\" x=\"170\" y=\"%d\" width=\"%.1f\" height=\"13\"/>"
                            "<text x=\"%.1f\" y=\"%d\">%s</text>",
                            y + 15, reported_width, 174 + reported_width, y + 26,
                            Grouped(*bar.reported));
    }
  }
  absl::StrAppend(out, "</svg><figcaption>", HtmlEscape(title), "</figcaption></figure>");
}

// The largest shares of a quantity (discrepancies, records not counted) by unit, at most 20.
void HotspotChart(absl::string_view title, std::vector<std::pair<std::string, uint64_t>> shares,
                  std::string* out) {
  std::stable_sort(shares.begin(), shares.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  while (!shares.empty() && shares.back().second == 0) shares.pop_back();
  if (shares.empty()) return;
  const size_t total = shares.size();
  if (shares.size() > 20) shares.resize(20);
  const int row_height = 20;
  const int height = static_cast<int>(shares.size()) * row_height + 8;
  absl::StrAppend(out, "<figure><svg viewBox=\"0 0 720 ", height, "\" role=\"img\" aria-label=\"",
                  HtmlEscape(title), "\">");
  for (size_t i = 0; i < shares.size(); ++i) {
    const int y = 4 + static_cast<int>(i) * row_height;
    const double width = Width(shares[i].second, shares.front().second, 440);
    absl::StrAppendFormat(out,
                          "<text x=\"164\" y=\"%d\" text-anchor=\"end\">%s</text><rect "
                          "class=\"bh\" x=\"170\" y=\"%d\" width=\"%.1f\" height=\"14\"/><text "
                          "x=\"%.1f\" y=\"%d\">%s</text>",
                          y + 12, Label(shares[i].first), y, width, 174 + width, y + 12,
                          Grouped(shares[i].second));
  }
  absl::StrAppend(out, "</svg><figcaption>", HtmlEscape(title),
                  total > shares.size() ? absl::StrCat(" (the largest 20 of ", total, ")") : "",
                  "</figcaption></figure>");
}

// ---- Sections shared by both report versions ----

void Banner(element report, std::string* out) {
  if (!GetBool(report, "synthetic")) return;
  std::string note = GetString(report, "synthetic_note");
  if (note.empty()) {
    note =
        "the cast vote records or the election of this report are synthetic: its figures are "
        "no real election's";
  }
  absl::StrAppend(out, "<div class=\"synthetic\" id=\"synthetic\" role=\"note\"><b>SYNTHETIC</b> ",
                  HtmlEscape(note), "</div>");
}

void Navigation(bool faults, std::string* out) {
  out->append(
      "<nav><a href=\"#verdict\">Verdict</a><a href=\"#warnings\">Warnings</a><a "
      "href=\"#provenance\">Provenance</a><a "
      "href=\"#contests\">Counted vs reported</a><a href=\"#discrepancies\">Discrepancies</a>"
      "<a href=\"#rejected\">Rejected</a>");
  if (faults) out->append("<a href=\"#faults\">Faults</a>");
  out->append("<a href=\"#units\">Drill-down</a></nav>");
}

void RejectedTable(element report, std::string* out) {
  std::optional<element> records = Get(report, "records");
  std::optional<element> rejected = records ? Get(*records, "rejected") : std::nullopt;
  BeginTable("rejected-table", {{"reason"}, {"records", true}}, false, out);
  for (const auto& [reason, value] : Fields(rejected)) {
    out->append("<tr>");
    TextCell(reason, out);
    FigureCell(rejected, reason, "/records/rejected", false, out);
    out->append("</tr>");
  }
  EndTable(out);
}

uint64_t RejectedSum(element report) {
  std::optional<element> records = Get(report, "records");
  uint64_t sum = 0;
  for (const auto& [reason, value] : Fields(records ? Get(*records, "rejected") : std::nullopt)) {
    sum += MagnitudeOf(value);
  }
  return sum;
}

void RecordsTerms(element report, std::string* out) {
  std::optional<element> records = Get(report, "records");
  if (!records) return;
  Term("records read", KeyedSpan(*records, "read", "/records"), out);
  Term("records counted", KeyedSpan(*records, "counted", "/records"), out);
  Term("records rejected", Grouped(RejectedSum(report)), out);
  if (Get(*records, "adjudicated")) {
    Term("ballots adjudicated", KeyedSpan(*records, "adjudicated", "/records"), out);
  }
}

void Script(std::string* out) {
  absl::StrAppend(out, "<script>", internal::kHtmlScript, "</script>");
}

// ---- report_version 1: one contest, stations and countries ----

std::string LeaderText(element report, absl::string_view which) {
  std::optional<element> leader = Get(report, "leader");
  std::optional<element> code = leader ? Get(*leader, which) : std::nullopt;
  if (!code || code->type() != element_type::STRING) return "none";
  return absl::StrCat("<span data-key=\"/leader/", which, "\">", FigureText(*code, false),
                      "</span>");
}

uint64_t DeltaSum(std::optional<element> delta) {
  uint64_t sum = 0;
  for (const auto& [key, value] : Fields(delta)) {
    if (key != "cast") sum += MagnitudeOf(value);
  }
  return sum;
}

// Why the outcome is or is not at risk, in the reconciler's terms (docs/REPORT.md).
std::string RiskReasonV1(element report) {
  std::optional<element> leader = Get(report, "leader");
  std::optional<element> margin = Get(report, "margin");
  const std::string reported_leader = leader ? GetString(*leader, "reported") : "";
  const std::string counted_leader = leader ? GetString(*leader, "counted") : "";
  if (reported_leader.empty() && counted_leader.empty()) {
    return "The contest has no candidate: there is no outcome to put at risk.";
  }
  if (reported_leader != counted_leader) {
    return absl::StrCat("The counted leader (", HtmlEscape(counted_leader),
                        ") is not the reported leader (", HtmlEscape(reported_leader), ").");
  }
  const uint64_t deltas = DeltaSum(Get(report, "delta"));
  const uint64_t rejected = RejectedSum(report);
  const uint64_t reported_margin = margin ? MagnitudeOf(Get(*margin, "reported")) : 0;
  const bool reaches = deltas + rejected >= reported_margin;
  return absl::StrCat("The discrepancies, sum of |delta| ", Grouped(deltas), " plus ",
                      Grouped(rejected), " records rejected = ", Grouped(deltas + rejected), ", ",
                      reaches ? "reach" : "stay below", " the reported margin of ",
                      Grouped(reported_margin), reaches ? "." : ": they cannot change the leader.");
}

// The verdict word and, beside it, `risk` (HTML): whether the outcome is at risk.
void VerdictBox(absl::string_view verdict, absl::string_view risk, std::string* out) {
  if (verdict.empty()) {
    out->append(
        "<div class=\"verdict tally\"><span class=\"big\">tally</span><span>aggregate: the "
        "counted figures alone, compared with nothing</span></div>");
    return;
  }
  absl::StrAppend(out, "<div class=\"verdict ", HtmlEscape(verdict),
                  "\"><span class=\"big\" data-key=\"/verdict\">", HtmlEscape(verdict), "</span>",
                  risk, "</div>");
}

void VerdictV1(element report, std::string* out) {
  out->append("<section id=\"verdict\"><h2>Verdict</h2>");
  const std::string verdict = GetString(report, "verdict");
  std::optional<element> margin = Get(report, "margin");
  const uint64_t discrepancies = DeltaSum(Get(report, "delta")) + RejectedSum(report);
  VerdictBox(verdict,
             absl::StrCat(
                 GetBool(report, "outcome_at_risk") ? "<span class=\"risk\">outcome at risk</span>"
                                                    : "<span>outcome not at risk</span>",
                 "<span>discrepancies ", Grouped(discrepancies), " against a reported margin of ",
                 Grouped(margin ? MagnitudeOf(Get(*margin, "reported")) : 0), "</span>"),
             out);
  out->append("<dl class=\"kv\">");
  if (!verdict.empty()) {
    Term("why", RiskReasonV1(report), out);
    Term("leader (reported / counted)",
         absl::StrCat(LeaderText(report, "reported"), " / ", LeaderText(report, "counted")), out);
    if (margin) {
      Term("margin (reported / counted)",
           absl::StrCat(KeyedSpan(*margin, "reported", "/margin"), " / ",
                        KeyedSpan(*margin, "counted", "/margin")),
           out);
    }
    Term("sum of |delta| (every choice)", Grouped(DeltaSum(Get(report, "delta"))), out);
    Term("tolerance", KeyedSpan(report, "tolerance", ""), out);
    Term("reported figures consistent",
         GetBool(report, "reported_consistent") ? "yes: they sum to the reported cast"
                                                : "<b class=\"bad\">no</b>",
         out);
  }
  RecordsTerms(report, out);
  if (std::optional<element> reporting = Get(report, "stations_reporting")) {
    Term("stations reporting",
         absl::StrCat(KeyedSpan(*reporting, "reporting", "/stations_reporting"), " of ",
                      KeyedSpan(*reporting, "expected", "/stations_reporting")),
         out);
  }
  const std::string truth = GetString(report, "ground_truth");
  if (!truth.empty()) {
    Term("ground truth (faults injected)",
         absl::StrCat("<span data-key=\"/ground_truth\" class=\"", truth == "exact" ? "ok" : "bad",
                      "\">", HtmlEscape(truth), "</span>"),
         out);
  }
  out->append("</dl></section>");
}

void PathTable(absl::string_view id, std::optional<element> entries, absl::string_view base,
               const std::vector<std::pair<std::string, std::string>>& columns, std::string* out) {
  const std::vector<element> items = Items(entries);
  if (items.empty()) return;
  std::vector<Column> heads;
  for (const auto& column : columns) heads.push_back({column.second, false, ""});
  BeginTable(id, heads, false, out);
  for (size_t i = 0; i < items.size(); ++i) {
    out->append("<tr>");
    for (const auto& column : columns) {
      std::optional<element> value = Get(items[i], column.first);
      if (value && IsNumber(*value)) {
        FigureCell(items[i], column.first, Pointer(base, i), false, out);
      } else {
        absl::StrAppend(out, "<td>", value ? FigureText(*value, false) : "", "</td>");
      }
    }
    out->append("</tr>");
  }
  EndTable(out);
}

void InputsV1(element report, std::string* out) {
  std::optional<element> inputs = Get(report, "inputs");
  if (!inputs) return;
  out->append("<h3>Inputs</h3><dl class=\"kv\">");
  Term("files", KeyedSpan(*inputs, "files", "/inputs"), out);
  Term("bytes", KeyedSpan(*inputs, "bytes", "/inputs"), out);
  out->append("</dl>");
  const std::vector<element> paths = Items(Get(*inputs, "paths"));
  const std::vector<element> hashes = Items(Get(*inputs, "xxh3"));
  const std::vector<element> sizes = Items(Get(*inputs, "sizes"));
  if (!paths.empty() && hashes.size() == paths.size() && sizes.size() == paths.size()) {
    // Hashed inputs: which bytes exactly were counted, file by file.
    absl::StrAppend(out, "<details", paths.size() <= 20 ? " open" : "",
                    "><summary>files, in reading order, with their sizes and XXH3-128</summary>");
    BeginTable("inputs-table", {{"path"}, {"bytes", true}, {"xxh3"}}, false, out);
    for (size_t f = 0; f < paths.size(); ++f) {
      absl::StrAppend(out, "<tr><td><code>", FigureText(paths[f], false), "</code></td>",
                      "<td class=\"n\" data-key=\"/inputs/sizes/", f, "\">",
                      FigureText(sizes[f], false), "</td><td><code data-key=\"/inputs/xxh3/", f,
                      "\">", FigureText(hashes[f], false), "</code></td></tr>");
    }
    EndTable(out);
    out->append("</details>");
  } else if (!paths.empty()) {
    out->append("<details><summary>paths, in reading order</summary><ol class=\"paths\">");
    for (const element& path : paths) {
      absl::StrAppend(out, "<li><code>", FigureText(path, false), "</code></li>");
    }
    out->append("</ol></details>");
  }
  PathTable("skipped-table", Get(*inputs, "skipped"), "/inputs/skipped",
            {{"path", "skipped path"}, {"reason", "reason"}}, out);
  PathTable("read-once-table", Get(*inputs, "read_once"), "/inputs/read_once",
            {{"path", "path given again"}, {"same_as", "same file as"}}, out);
}

void ManifestV1(element report, std::string* out) {
  std::optional<element> manifest = Get(report, "manifest");
  if (!manifest) return;
  out->append("<h3>Manifest</h3><dl class=\"kv\">");
  Term("files expected", KeyedSpan(*manifest, "files_expected", "/manifest"), out);
  const std::vector<element> findings = Items(Get(*manifest, "findings"));
  Term("findings",
       findings.empty() ? "none: every file is as the manifest lists it (size, hash, records)"
                        : absl::StrCat("<b class=\"bad\">", findings.size(), "</b>"),
       out);
  out->append("</dl>");
  PathTable("findings-table", Get(*manifest, "findings"), "/manifest/findings",
            {{"file", "file"}, {"finding", "finding"}, {"detail", "detail"}}, out);
}

void ProvenanceV1(element report, std::string* out) {
  out->append("<section id=\"provenance\"><h2>Provenance</h2><dl class=\"kv\">");
  Term("election", absl::StrCat("<code>", HtmlEscape(GetString(report, "election")), "</code>"),
       out);
  Term("title", HtmlEscape(GetString(report, "title")), out);
  Term("reported figures from", HtmlEscape(GetString(report, "source")), out);
  Term("command", absl::StrCat("canvass ", HtmlEscape(GetString(report, "command"))), out);
  Term("synthetic",
       GetBool(report, "synthetic") ? absl::StrCat("<b class=\"bad\">yes</b>: ",
                                                   HtmlEscape(GetString(report, "synthetic_note")))
                                    : "no",
       out);
  if (std::optional<element> generation = Get(report, "generation")) {
    Term("generated with seed", KeyedSpan(*generation, "seed", "/generation"), out);
    Term("at scale", KeyedSpan(*generation, "scale", "/generation"), out);
  }
  out->append("</dl>");
  InputsV1(report, out);
  ManifestV1(report, out);
  out->append("</section>");
}

void CountedVsReportedV1(element report, std::string* out) {
  out->append("<section id=\"contests\"><h2>Counted vs reported</h2>");
  absl::StrAppend(out, "<h3>", HtmlEscape(GetString(report, "title")), "</h3>");
  std::optional<element> totals = Get(report, "totals");
  std::optional<element> reported = Get(report, "reported");
  std::optional<element> delta = Get(report, "delta");
  std::vector<Column> columns = {{"choice"}, {"counted", true}};
  if (reported) columns.insert(columns.end(), {{"reported", true}, {"delta", true}});
  BeginTable("contest-0", columns, false, out);
  std::vector<Bar> bars;
  for (const auto& [code, value] : Fields(totals)) {
    absl::StrAppend(out, code == "cast" ? "<tr class=\"sum\">" : "<tr>");
    TextCell(code == "cast" ? "ballots cast" : code, out);
    FigureCell(totals, code, "/totals", false, out);
    if (reported) {
      FigureCell(reported, code, "/reported", false, out);
      FigureCell(delta, code, "/delta", true, out);
    }
    out->append("</tr>");
    if (code == "cast") continue;
    std::optional<element> reported_value = reported ? Get(*reported, code) : std::nullopt;
    bars.push_back({code, MagnitudeOf(value),
                    reported_value && IsNumber(*reported_value)
                        ? std::optional<uint64_t>(MagnitudeOf(reported_value))
                        : std::nullopt});
  }
  EndTable(out);
  BarChart("Counted and reported figures per choice", bars, out);
  out->append(
      "<p class=\"note\">One choice per ballot: invalid ballots are a counted choice; this "
      "election model has no over- or undervotes.</p></section>");
}

// The columns of a table of cells: where each is, and its counted, reported and delta.
const std::vector<Column>& CellColumns() {
  static const std::vector<Column>* const columns = new std::vector<Column>{
      {"unit"}, {"contest"}, {"selection"}, {"counted", true}, {"reported", true}, {"delta", true}};
  return *columns;
}

// The discrepancy table of both report versions: its filter box and header row.
void BeginDiscrepancyTable(absl::string_view filter_placeholder, std::string* out) {
  FilterBox("discrepancy-table", filter_placeholder, 3, out);
  BeginTable("discrepancy-table", CellColumns(), true, out);
}

// Where one figure of a discrepancy row is: the object holding it, its key, and the JSON
// pointer of that object (the data-key of its cell).
struct FigureAt {
  std::optional<element> parent;
  absl::string_view key;
  std::string base;
};

void DiscrepancyRow(absl::string_view unit, absl::string_view contest, absl::string_view selection,
                    const FigureAt& counted, const FigureAt& reported, const FigureAt& delta,
                    std::string* out) {
  out->append("<tr>");
  TextCell(unit, out);
  TextCell(contest, out);
  TextCell(selection, out);
  FigureCell(counted.parent, counted.key, counted.base, false, out);
  FigureCell(reported.parent, reported.key, reported.base, false, out);
  FigureCell(delta.parent, delta.key, delta.base, true, out);
  out->append("</tr>");
}

// The rows of a drill-down (stations or countries), as id and figure.
std::vector<std::pair<std::string, uint64_t>> NotCountedByRow(element report,
                                                              absl::string_view rows_key,
                                                              absl::string_view id_key) {
  std::vector<std::pair<std::string, uint64_t>> shares;
  for (const element& row : Items(Get(report, rows_key))) {
    const uint64_t records = MagnitudeOf(Get(row, "records"));
    std::optional<element> counted = Get(row, "counted");
    const uint64_t cast = counted ? MagnitudeOf(Get(*counted, "cast")) : 0;
    shares.emplace_back(GetString(row, id_key), records > cast ? records - cast : 0);
  }
  return shares;
}

void DiscrepanciesV1(element report, std::string* out) {
  out->append("<section id=\"discrepancies\"><h2>Discrepancies</h2>");
  std::optional<element> delta = Get(report, "delta");
  if (!delta) {
    out->append("<p class=\"note\">aggregate compares nothing with reported figures.</p>");
  } else {
    std::vector<std::pair<std::string, element>> cells;
    for (const auto& [code, value] : Fields(delta)) {
      if (MagnitudeOf(value) > 0) cells.emplace_back(code, value);
    }
    std::stable_sort(cells.begin(), cells.end(), [](const auto& a, const auto& b) {
      return MagnitudeOf(a.second) > MagnitudeOf(b.second);
    });
    absl::StrAppend(out, "<p>", cells.size(),
                    cells.size() == 1 ? " figure differs" : " figures differ",
                    " from the reported ones (stations report no figures of their own: every "
                    "cell is national).</p>");
    if (!cells.empty()) {
      BeginDiscrepancyTable("filter the discrepancies", out);
      for (const auto& [code, value] : cells) {
        DiscrepancyRow("national", GetString(report, "election"), code,
                       {Get(report, "totals"), code, "/totals"},
                       {Get(report, "reported"), code, "/reported"}, {delta, code, "/delta"}, out);
      }
      EndTable(out);
    }
  }
  const bool by_station = Get(report, "stations").has_value();
  if (by_station || Get(report, "countries")) {
    HotspotChart(by_station ? "Records read but not counted, by station"
                            : "Records read but not counted, by country",
                 NotCountedByRow(report, by_station ? "stations" : "countries",
                                 by_station ? "station" : "country"),
                 out);
  }
  out->append("</section>");
}

void RejectedV1(element report, std::string* out) {
  out->append("<section id=\"rejected\"><h2>Rejected records</h2>");
  RejectedTable(report, out);
  const std::vector<element> examples = Items(Get(report, "malformed_examples"));
  if (!examples.empty()) {
    out->append("<h3>Malformed records, located</h3><ul class=\"located\">");
    for (const element& example : examples) {
      absl::StrAppend(out, "<li><code>", FigureText(example, false), "</code></li>");
    }
    out->append("</ul>");
  }
  if (!Items(Get(report, "damaged_files")).empty()) {
    out->append("<h3>Damaged files</h3>");
    PathTable("damaged-table", Get(report, "damaged_files"), "/damaged_files",
              {{"file", "file"},
               {"damage", "damage"},
               {"records_read", "records read"},
               {"records_declared", "declared"},
               {"records_lost", "lost"}},
              out);
  }
  out->append("</section>");
}

// Both versions: the plan, what fired, the predicted records beside the counted ones, and
// (version 1) the predicted totals or (version 2) every cell where they differ.
void Faults(element report, std::string* out) {
  std::optional<element> faults = Get(report, "faults");
  if (!faults) return;
  out->append("<section id=\"faults\"><h2>Injected faults</h2><dl class=\"kv\">");
  Term("plan", absl::StrCat("<code>", HtmlEscape(GetString(*faults, "plan")), "</code>"), out);
  Term("ground truth", KeyedSpan(report, "ground_truth", ""), out);
  out->append("</dl>");
  std::optional<element> fired = Get(*faults, "fired");
  BeginTable("fired-table", {{"fault"}, {"fired", true}}, false, out);
  for (const auto& [name, value] : Fields(fired)) {
    out->append("<tr>");
    TextCell(name, out);
    FigureCell(fired, name, "/faults/fired", false, out);
    out->append("</tr>");
  }
  EndTable(out);
  out->append("<h3>Predicted vs counted</h3>");
  BeginTable("predicted-table", {{"figure"}, {"predicted", true}, {"counted", true}}, false, out);
  std::optional<element> predicted = Get(report, "predicted");
  const auto row = [&](absl::string_view label, std::optional<element> left,
                       std::optional<element> right, absl::string_view left_base,
                       absl::string_view right_base, absl::string_view key) {
    const bool same = left && right && Get(*left, key) && Get(*right, key) &&
                      MagnitudeOf(Get(*left, key)) == MagnitudeOf(Get(*right, key));
    absl::StrAppend(out, same ? "<tr>" : "<tr class=\"differs\">");
    TextCell(label, out);
    FigureCell(left, key, left_base, false, out);
    FigureCell(right, key, right_base, false, out);
    out->append("</tr>");
  };
  std::optional<element> predicted_records = predicted ? Get(*predicted, "records") : std::nullopt;
  std::optional<element> records = Get(report, "records");
  row("records read", predicted_records, records, "/predicted/records", "/records", "read");
  row("records counted", predicted_records, records, "/predicted/records", "/records", "counted");
  std::optional<element> predicted_rejected =
      predicted_records ? Get(*predicted_records, "rejected") : std::nullopt;
  std::optional<element> rejected = records ? Get(*records, "rejected") : std::nullopt;
  for (const auto& [reason, value] : Fields(rejected)) {
    row(absl::StrCat("rejected: ", reason), predicted_rejected, rejected,
        "/predicted/records/rejected", "/records/rejected", reason);
  }
  if (predicted_records && Get(*predicted_records, "adjudicated")) {
    row("counted from adjudicated versions", predicted_records, records, "/predicted/records",
        "/records", "adjudicated");
  }
  std::optional<element> predicted_totals = predicted ? Get(*predicted, "totals") : std::nullopt;
  if (predicted_totals) {
    for (const auto& [code, value] : Fields(Get(report, "totals"))) {
      row(code == "cast" ? "ballots cast" : absl::StrCat("counted: ", code), predicted_totals,
          Get(report, "totals"), "/predicted/totals", "/totals", code);
    }
  }
  EndTable(out);
  std::optional<element> differences = predicted ? Get(*predicted, "differences") : std::nullopt;
  if (differences) {
    const std::vector<element> rows = Items(differences);
    absl::StrAppend(out, "<h3>Cells where count and prediction differ: ",
                    KeyedSpan(*predicted, "cells_differing", "/predicted"), "</h3>");
    if (!rows.empty()) {
      PathTable("differences-table", differences, "/predicted/differences",
                {{"unit", "unit"},
                 {"contest", "contest"},
                 {"selection", "selection"},
                 {"predicted", "predicted"},
                 {"counted", "counted"}},
                out);
    }
  }
  out->append("</section>");
}

// Compact rows: the row names its object, each column its key below it (html_report.h).
void DrillDownV1(element report, std::string* out) {
  const bool by_station = Get(report, "stations").has_value();
  const char* rows_key = by_station ? "stations" : "countries";
  const std::vector<element> rows = Items(Get(report, rows_key));
  BeginLongSection("units", "Drill-down", rows.size(), out);
  if (rows.empty()) {
    out->append(
        "<p class=\"note\">No drill-down in this report: give <code>--by station</code> or "
        "<code>--by country</code>.</p></section>");
    return;
  }
  std::vector<std::string> codes;
  for (const auto& [code, value] : Fields(Get(report, "totals"))) codes.push_back(code);
  std::vector<Column> columns = {{by_station ? "station" : "country"}};
  columns.push_back(by_station ? Column{"country"} : Column{"stations", true, "stations"});
  columns.push_back({"records", true, "records"});
  for (const std::string& code : codes) {
    columns.push_back({code, true, Pointer("counted", code)});
  }
  FilterBox("unit-table", by_station ? "search stations (id or country)" : "search countries", 2,
            out);
  BeginTable("unit-table", columns, true, out);
  const std::string base = absl::StrCat("/", rows_key);
  for (size_t i = 0; i < rows.size(); ++i) {
    absl::StrAppend(out, "<tr data-row=\"", base, "/", i, "\">");
    TextCell(GetString(rows[i], by_station ? "station" : "country"), out);
    if (by_station) {
      TextCell(GetString(rows[i], "country"), out);
    } else {
      CompactCell(rows[i], "stations", out);
    }
    CompactCell(rows[i], "records", out);
    std::optional<element> counted = Get(rows[i], "counted");
    for (const std::string& code : codes) CompactCell(counted, code, out);
    out->append("</tr>");
  }
  EndTable(out);
  out->append("</section>");
}

// Plausibility warnings (both report versions): the thresholds, then one row per warning
// with its figures, each keyed to its JSON value. Long lists are laid out lazily.
void Warnings(element report, std::string* out) {
  const std::vector<element> warnings = Items(Get(report, "warnings"));
  BeginLongSection("warnings", "Plausibility warnings", warnings.size(), out);
  std::optional<element> thresholds = Get(report, "plausibility");
  if (thresholds) {
    out->append(
        "<p>Figures that add up and may still be wrong; a warning does not change the "
        "verdict. Thresholds (permille of the ballots): invalid ");
    out->append(KeyedSpan(*thresholds, "invalid_share_permille", "/plausibility"));
    out->append(", blank ");
    out->append(KeyedSpan(*thresholds, "blank_share_permille", "/plausibility"));
    out->append(", checked where at least ");
    out->append(KeyedSpan(*thresholds, "min_ballots", "/plausibility"));
    out->append(" ballots were counted.</p>");
  }
  if (warnings.empty()) {
    out->append("<p class=\"ok\">No warnings.</p></section>");
    return;
  }
  FilterBox("warnings-table", "Filter warnings", 3, out);
  BeginTable("warnings-table", {{"check"}, {"unit"}, {"contest"}, {"figures"}, {"what"}}, true,
             out);
  for (size_t i = 0; i < warnings.size(); ++i) {
    const std::string base = Pointer("/warnings", i);
    out->append("<tr>");
    TextCell(GetString(warnings[i], "check"), out);
    const std::string unit = GetString(warnings[i], "unit");
    TextCell(unit.empty() ? "the whole election" : unit, out);
    TextCell(GetString(warnings[i], "contest"), out);
    out->append("<td>");
    std::optional<element> figures = Get(warnings[i], "figures");
    bool first = true;
    for (const auto& [name, value] : Fields(figures)) {
      absl::StrAppend(out, first ? "" : ", ", HtmlEscape(name), " ",
                      KeyedSpan(*figures, name, absl::StrCat(base, "/figures")));
      first = false;
    }
    out->append("</td>");
    TextCell(GetString(warnings[i], "message"), out);
    out->append("</tr>");
  }
  EndTable(out);
  out->append("</section>");
}

void RenderV1(element report, std::string* out) {
  VerdictV1(report, out);
  Warnings(report, out);
  ProvenanceV1(report, out);
  CountedVsReportedV1(report, out);
  DiscrepanciesV1(report, out);
  RejectedV1(report, out);
  Faults(report, out);
  DrillDownV1(report, out);
}

// ---- report_version 2: contest elections, cells at every reporting unit ----

std::string LeaderList(std::optional<element> leaders) {
  if (!leaders || leaders->type() != element_type::ARRAY) return "\u2014";
  std::string out;
  for (const element& leader : Items(leaders)) {
    absl::StrAppend(&out, out.empty() ? "" : ", ", FigureText(leader, false));
  }
  return out.empty() ? "none" : out;
}

// The contest's figures at the scope, beside its selections (docs/REPORT.md).
std::vector<std::string> FigureKeys(element contest) {
  std::vector<std::string> keys;
  for (const char* key : {"overvotes", "undervotes", "invalid", "ballots"}) {
    if (Get(contest, key)) keys.emplace_back(key);
  }
  return keys;
}

uint64_t ContestDeltaSum(element contest) {
  uint64_t sum = 0;
  for (const auto& [key, value] : Fields(Get(contest, "delta"))) sum += MagnitudeOf(value);
  return sum;
}

void VerdictV2(element report, std::string* out) {
  out->append("<section id=\"verdict\"><h2>Verdict</h2>");
  const std::string verdict = GetString(report, "verdict");
  const std::vector<element> contests = Items(Get(report, "contests"));
  size_t at_risk = 0;
  for (const element& contest : contests) at_risk += GetBool(contest, "outcome_at_risk");
  VerdictBox(verdict,
             at_risk == 0 ? std::string("<span>no contest's outcome at risk</span>")
                          : absl::StrCat("<span class=\"risk\">outcome at risk in ", at_risk,
                                         " of ", contests.size(), " contests</span>"),
             out);
  out->append("<dl class=\"kv\">");
  if (std::optional<element> cells = Get(report, "cells")) {
    Term("reported cells compared", KeyedSpan(*cells, "compared", "/cells"), out);
    Term("mismatched", KeyedSpan(*cells, "mismatched", "/cells"), out);
    Term("counted, not reported", KeyedSpan(*cells, "not_reported", "/cells"), out);
  }
  RecordsTerms(report, out);
  Term("ballots", KeyedSpan(report, "ballots", ""), out);
  if (Get(report, "ballots_reported")) {
    Term("ballots reported", KeyedSpan(report, "ballots_reported", ""), out);
  }
  out->append("</dl>");
  if (verdict.empty()) {
    out->append("</section>");
    return;
  }
  out->append("<h3>What the verdict rests on, per contest</h3>");
  BeginTable("risk-table",
             {{"contest"},
              {"verdict"},
              {"leader"},
              {"margin", true},
              {"reported leader"},
              {"reported margin", true},
              {"sum |delta|", true},
              {"not counted", true},
              {"outcome"}},
             false, out);
  const uint64_t not_counted = RejectedSum(report);
  for (size_t c = 0; c < contests.size(); ++c) {
    const std::string base = Pointer("/contests", c);
    const bool risk = GetBool(contests[c], "outcome_at_risk");
    out->append(risk ? "<tr class=\"differs\">" : "<tr>");
    TextCell(GetString(contests[c], "id"), out);
    TextCell(GetString(contests[c], "verdict"), out);
    absl::StrAppend(out, "<td>", LeaderList(Get(contests[c], "leader")), "</td>");
    FigureCell(contests[c], "margin", base, false, out);
    absl::StrAppend(out, "<td>", LeaderList(Get(contests[c], "reported_leader")), "</td>");
    FigureCell(contests[c], "reported_margin", base, false, out);
    absl::StrAppend(out, "<td class=\"n\">", Grouped(ContestDeltaSum(contests[c])),
                    "</td><td class=\"n\">", Grouped(not_counted), "</td><td>",
                    risk ? "<b class=\"risk\">at risk</b>" : "not at risk", "</td></tr>");
  }
  EndTable(out);
  out->append(
      "<p class=\"note\">A contest's outcome is at risk when its leaders differ by counted and "
      "by reported figures, or when its sum of |delta| at the election scope plus the records "
      "not counted reaches the reported margin (a tie, margin 0, is always at risk).</p>"
      "</section>");
}

void ProvenanceV2(element report, std::string* out) {
  out->append("<section id=\"provenance\"><h2>Provenance</h2><dl class=\"kv\">");
  std::optional<element> election = Get(report, "election");
  if (election) {
    Term("election", absl::StrCat("<code>", HtmlEscape(GetString(*election, "id")), "</code>"),
         out);
    Term("name", HtmlEscape(GetString(*election, "name")), out);
    Term("scope", absl::StrCat("<code>", HtmlEscape(GetString(*election, "scope")), "</code>"),
         out);
    Term("election and reported figures from", HtmlEscape(GetString(*election, "source")), out);
  }
  Term("command", absl::StrCat("canvass ", HtmlEscape(GetString(report, "command"))), out);
  Term(
      "synthetic",
      GetBool(report, "synthetic") ? "<b class=\"bad\">yes</b>: generated cast vote records" : "no",
      out);
  out->append("</dl><h3>Inputs</h3>");
  const std::vector<element> inputs = Items(Get(report, "inputs"));
  BeginTable("inputs-table",
             {{"path"}, {"format"}, {"bytes", true}, {"records", true}, {"identity"}, {"xxh3"}},
             false, out);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string base = Pointer("/inputs", i);
    out->append("<tr>");
    absl::StrAppend(out, "<td><code>", HtmlEscape(GetString(inputs[i], "path")), "</code></td>");
    TextCell(GetString(inputs[i], "format"), out);
    FigureCell(inputs[i], "bytes", base, false, out);
    FigureCell(inputs[i], "records", base, false, out);
    std::string identity;
    for (const auto& [field, value] : Fields(Get(inputs[i], "identity"))) {
      if (MagnitudeOf(value) == 0) continue;
      absl::StrAppend(&identity, identity.empty() ? "" : ", ", HtmlEscape(field), " ",
                      FigureText(value, false));
    }
    absl::StrAppend(out, "<td>", identity, "</td>");
    std::optional<element> hash = Get(inputs[i], "xxh3");
    absl::StrAppend(
        out, "<td><code",
        hash ? absl::StrCat(" data-key=\"", HtmlEscape(Pointer(base, "xxh3")), "\"") : "", ">",
        hash ? FigureText(*hash, false) : "", "</code></td></tr>");
  }
  EndTable(out);
  PathTable("skipped-table", Get(report, "skipped"), "/skipped",
            {{"path", "skipped path"}, {"reason", "reason"}}, out);
  PathTable("repeated-table", Get(report, "repeated"), "/repeated",
            {{"path", "path given again"}, {"same_as", "same file as"}}, out);
  out->append("</section>");
}

// One row per selection, then the contest's own figures, counted and (reconcile) reported.
void ContestTable(element contest, absl::string_view base, absl::string_view id,
                  std::vector<Bar>* bars, std::string* out) {
  std::optional<element> totals = Get(contest, "totals");
  std::optional<element> reported = Get(contest, "reported");
  std::optional<element> delta = Get(contest, "delta");
  std::vector<Column> columns = {{"selection"}, {"counted", true}};
  if (reported) columns.insert(columns.end(), {{"reported", true}, {"delta", true}});
  BeginTable(id, columns, false, out);
  const std::string totals_base = absl::StrCat(base, "/totals");
  const std::string reported_base = absl::StrCat(base, "/reported");
  const std::string delta_base = absl::StrCat(base, "/delta");
  for (const auto& [selection, value] : Fields(totals)) {
    out->append("<tr>");
    TextCell(selection, out);
    FigureCell(totals, selection, totals_base, false, out);
    if (reported) {
      FigureCell(reported, selection, reported_base, false, out);
      FigureCell(delta, selection, delta_base, true, out);
    }
    out->append("</tr>");
    if (bars == nullptr) continue;
    std::optional<element> figure = reported ? Get(*reported, selection) : std::nullopt;
    bars->push_back({selection, MagnitudeOf(value),
                     figure && IsNumber(*figure) ? std::optional<uint64_t>(MagnitudeOf(figure))
                                                 : std::nullopt});
  }
  for (const std::string& key : FigureKeys(contest)) {
    out->append(key == "ballots" ? "<tr class=\"sum\">" : "<tr>");
    TextCell(key, out);
    FigureCell(contest, key, base, false, out);
    if (reported) {
      FigureCell(reported, key, reported_base, false, out);
      FigureCell(delta, key, delta_base, true, out);
    }
    out->append("</tr>");
  }
  EndTable(out);
}

void CountedVsReportedV2(element report, std::string* out) {
  out->append("<section id=\"contests\"><h2>Counted vs reported</h2>");
  const std::vector<element> contests = Items(Get(report, "contests"));
  for (size_t c = 0; c < contests.size(); ++c) {
    const std::string base = Pointer("/contests", c);
    absl::StrAppend(
        out, "<h3>", HtmlEscape(GetString(contests[c], "name")), " <code>",
        HtmlEscape(GetString(contests[c], "id")), "</code></h3><p class=\"sub\">",
        HtmlEscape(GetString(contests[c], "kind")), ", vote for ",
        KeyedSpan(contests[c], "vote_for", base),
        GetBool(contests[c], "first_preferences_only") ? " (ranked: first preferences only)" : "");
    if (!GetString(contests[c], "verdict").empty()) {
      absl::StrAppend(out, "; <span class=\"", HtmlEscape(GetString(contests[c], "verdict")), "\">",
                      HtmlEscape(GetString(contests[c], "verdict")), "</span>, ",
                      KeyedSpan(contests[c], "cells_mismatched", base), " of ",
                      KeyedSpan(contests[c], "cells_compared", base), " cells mismatched");
    }
    out->append("</p>");
    std::vector<Bar> bars;
    ContestTable(contests[c], base, absl::StrCat("contest-", c), &bars, out);
    BarChart(
        absl::StrCat("Counted and reported votes per selection: ", GetString(contests[c], "id")),
        bars, out);
  }
  out->append("</section>");
}

void DiscrepanciesV2(element report, std::string* out) {
  std::optional<element> mismatches = Get(report, "mismatches");
  BeginLongSection("discrepancies", "Discrepancies", Items(mismatches).size(), out);
  if (!mismatches) {
    out->append("<p class=\"note\">aggregate compares nothing with reported figures.</p>");
    out->append("</section>");
    return;
  }
  const std::vector<element> cells = Items(mismatches);
  absl::StrAppend(out, "<p>", cells.size(), cells.size() == 1 ? " cell differs" : " cells differ",
                  " from the reported figures, worst first.</p>");
  if (!cells.empty()) {
    BeginDiscrepancyTable("filter by unit, contest or selection", out);
    std::vector<std::pair<std::string, uint64_t>> by_unit;
    for (size_t i = 0; i < cells.size(); ++i) {
      const std::string base = Pointer("/mismatches", i);
      const std::string unit = GetString(cells[i], "unit");
      DiscrepancyRow(unit, GetString(cells[i], "contest"), GetString(cells[i], "selection"),
                     {cells[i], "counted", base}, {cells[i], "reported", base},
                     {cells[i], "delta", base}, out);
      auto found = std::find_if(by_unit.begin(), by_unit.end(),
                                [&](const auto& entry) { return entry.first == unit; });
      if (found == by_unit.end()) found = by_unit.insert(by_unit.end(), {unit, 0});
      found->second += MagnitudeOf(Get(cells[i], "delta"));
    }
    EndTable(out);
    HotspotChart("Where the discrepancies lie: sum of |delta| by reporting unit", by_unit, out);
  }
  out->append("</section>");
}

void RejectedV2(element report, std::string* out) {
  out->append("<section id=\"rejected\"><h2>Rejected records</h2>");
  RejectedTable(report, out);
  if (!Items(Get(report, "rejected_examples")).empty()) {
    out->append("<h3>Examples, located</h3>");
    PathTable("examples-table", Get(report, "rejected_examples"), "/rejected_examples",
              {{"reason", "reason"}, {"location", "where"}, {"why", "why"}}, out);
  }
  out->append("</section>");
}

void UnitCellRows(element unit, absl::string_view unit_id, absl::string_view base,
                  std::string* out) {
  const std::vector<element> contests = Items(Get(unit, "contests"));
  for (size_t c = 0; c < contests.size(); ++c) {
    const std::string contest_base = Pointer(absl::StrCat(base, "/contests"), c);
    const std::string contest_id = GetString(contests[c], "id");
    std::optional<element> reported = Get(contests[c], "reported");
    std::optional<element> delta = Get(contests[c], "delta");
    const auto row = [&](absl::string_view selection, std::optional<element> counted,
                         absl::string_view counted_base) {
      out->append("<tr>");
      TextCell(unit_id, out);
      TextCell(contest_id, out);
      TextCell(selection, out);
      FigureCell(counted, selection, counted_base, false, out);
      FigureCell(reported, selection, absl::StrCat(contest_base, "/reported"), false, out);
      FigureCell(delta, selection, absl::StrCat(contest_base, "/delta"), true, out);
      out->append("</tr>");
    };
    for (const auto& [selection, value] : Fields(Get(contests[c], "totals"))) {
      row(selection, Get(contests[c], "totals"), absl::StrCat(contest_base, "/totals"));
    }
    for (const std::string& key : FigureKeys(contests[c])) row(key, contests[c], contest_base);
  }
}

void DrillDownV2(element report, std::string* out) {
  const std::vector<element> units = Items(Get(report, "units"));
  size_t rows = units.size();
  for (const element& unit : units) {
    for (const element& contest : Items(Get(unit, "contests"))) {
      rows += Fields(Get(contest, "totals")).size() + FigureKeys(contest).size();
    }
  }
  BeginLongSection("units", "Drill-down by reporting unit", rows, out);
  if (units.empty()) {
    out->append(
        "<p class=\"note\">No drill-down in this report: give <code>--by unit</code>.</p>"
        "</section>");
    return;
  }
  FilterBox("unit-table unit-cells", "search units (id or name)", 2, out);
  BeginTable("unit-table",
             {{"unit"},
              {"name"},
              {"type"},
              {"level", true},
              {"ballots", true},
              {"ballots reported", true}},
             true, out);
  for (size_t u = 0; u < units.size(); ++u) {
    const std::string base = Pointer("/units", u);
    out->append("<tr>");
    TextCell(GetString(units[u], "id"), out);
    TextCell(GetString(units[u], "name"), out);
    TextCell(GetString(units[u], "type"), out);
    FigureCell(units[u], "level", base, false, out);
    FigureCell(units[u], "ballots", base, false, out);
    FigureCell(units[u], "ballots_reported", base, false, out);
    out->append("</tr>");
  }
  EndTable(out);
  out->append("<h3>Cells per unit</h3>");
  BeginTable("unit-cells", CellColumns(), true, out);
  for (size_t u = 0; u < units.size(); ++u) {
    UnitCellRows(units[u], GetString(units[u], "id"), Pointer("/units", u), out);
  }
  EndTable(out);
  out->append("</section>");
}

void RenderV2(element report, std::string* out) {
  VerdictV2(report, out);
  Warnings(report, out);
  ProvenanceV2(report, out);
  CountedVsReportedV2(report, out);
  DiscrepanciesV2(report, out);
  RejectedV2(report, out);
  Faults(report, out);
  DrillDownV2(report, out);
}

std::string PageTitle(element report, uint64_t version) {
  if (version == 1) return GetString(report, "title");
  std::optional<element> election = Get(report, "election");
  if (!election) return "";
  const std::string name = GetString(*election, "name");
  return name.empty() ? GetString(*election, "id") : name;
}

void PageHead(element report, uint64_t version, std::string* out) {
  const std::string title = PageTitle(report, version);
  absl::StrAppend(out,
                  "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                  // The page may load nothing: the policy blocks any fetch a future edit might add.
                  "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                  "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
                  "<meta name=\"generator\" content=\"canvass\"><title>",
                  GetBool(report, "synthetic") ? "SYNTHETIC \u00b7 " : "", HtmlEscape(title),
                  " \u00b7 canvass ", HtmlEscape(GetString(report, "command")), "</title><style>",
                  internal::kHtmlStyle, "</style></head><body data-report-version=\"", version,
                  "\">");
  Banner(report, out);
  absl::StrAppend(out, "<header><h1>", HtmlEscape(title), "</h1><p class=\"sub\">canvass ",
                  HtmlEscape(GetString(report, "command")), " \u00b7 report_version ", version,
                  "</p></header>");
  Navigation(Get(report, "faults").has_value(), out);
}

}  // namespace

absl::StatusOr<std::string> RenderHtmlReport(absl::string_view json_report) {
  simdjson::dom::parser parser;
  element report;
  if (const simdjson::error_code error =
          parser.parse(json_report.data(), json_report.size()).get(report);
      error != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(
        absl::StrCat("report JSON: ", simdjson::error_message(error)));
  }
  if (report.type() != element_type::OBJECT) {
    return absl::InvalidArgumentError("report JSON: expected an object");
  }
  std::optional<element> version_value = Get(report, "report_version");
  uint64_t version = 0;
  if (!version_value || version_value->get_uint64().get(version) != simdjson::SUCCESS ||
      (version != 1 && version != 2)) {
    return absl::InvalidArgumentError(
        "report JSON: expected \"report_version\" 1 or 2 (docs/REPORT.md)");
  }
  std::string out;
  out.reserve(json_report.size() + (64 << 10));
  PageHead(report, version, &out);
  out.append("<main>");
  if (version == 1) {
    RenderV1(report, &out);
  } else {
    RenderV2(report, &out);
  }
  out.append(
      "</main><footer>Made by canvass from the JSON report of the same run "
      "(<code>--format json</code>, docs/REPORT.md): every figure here is the JSON's, and "
      "each figure cell names its JSON Pointer in <code>data-key</code>. The page loads "
      "nothing from the network.</footer>");
  Script(&out);
  out.append("</body></html>\n");
  return out;
}

std::string RenderHtmlOfOwnReport(absl::string_view own_json_report) {
  absl::StatusOr<std::string> html = RenderHtmlReport(own_json_report);
  CANVASS_CHECK(html.ok());
  return *std::move(html);
}

std::string HtmlEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out.append("&amp;");
        break;
      case '<':
        out.append("&lt;");
        break;
      case '>':
        out.append("&gt;");
        break;
      case '"':
        out.append("&quot;");
        break;
      case '\'':
        out.append("&#39;");
        break;
      default:
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') ||
            c == 0x7f) {
          out.append("\xEF\xBF\xBD");
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

}  // namespace canvass
