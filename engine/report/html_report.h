// Renders a report's JSON document (report_version 1 or 2, docs/REPORT.md) as one
// self-contained HTML page for people: inline CSS, inline SVG charts and a little plain
// JavaScript (sorting, filtering, search), readable without it, printable, and fine at phone
// width. The page fetches nothing: no fonts, scripts, images or links to load.
//
// The page is made from the JSON text alone, so its figures are the JSON's by construction
// (one report model, several renderers). Every figure cell names the JSON Pointer (RFC 6901)
// of its value, so a test can compare the page with the JSON figure by figure:
//
//   <td data-key="/totals/JAL">50,206</td>
//
// and, in the compact rows of a drill-down, the row names its object and the column its
// key below it (`<tr data-row="/stations/17">` under `<th data-col="counted/JAL">`). A
// figure's text is its value with thousands separators, a `+` on a positive delta and `—`
// for null (docs/REPORT.md, "HTML report"). Every string from the JSON is HTML-escaped.
//
// A pure function of its input; safe to call from many threads at once.
//
// Usage:
//   const std::string json = RenderReport(input, ReportFormat::kJson);
//   absl::StatusOr<std::string> html = RenderHtmlReport(json);
#ifndef CANVASS_ENGINE_REPORT_HTML_REPORT_H_
#define CANVASS_ENGINE_REPORT_HTML_REPORT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace canvass {

// The HTML page of `json_report`, a report as RenderReport or RenderContestReport write it
// in JSON. InvalidArgument when the text is not JSON, not an object, or not a report of a
// report_version this renderer knows (1 or 2).
absl::StatusOr<std::string> RenderHtmlReport(absl::string_view json_report);

// The page of a JSON report this build rendered itself (RenderReport, RenderContestReport
// with ReportFormat::kJson), for their ReportFormat::kHtml.
// Requires: `own_json_report` is such a report; anything else is a programmer error.
std::string RenderHtmlOfOwnReport(absl::string_view own_json_report);

// `text` with the characters that could open or end markup (& < > " ') replaced by their
// character references, and control characters other than tab, CR and LF by U+FFFD: safe
// as HTML text and as a quoted attribute value.
std::string HtmlEscape(absl::string_view text);

}  // namespace canvass

#endif  // CANVASS_ENGINE_REPORT_HTML_REPORT_H_
