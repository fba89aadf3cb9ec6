// Text, JSON and CSV renderings of a tally and its reconciliation.
#include "engine/report/report.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/base/check.h"
#include "engine/report/html_report.h"
#include "engine/report/internal/warnings.h"
#include "nlohmann/json.hpp"

namespace canvass {
namespace {

using Json = nlohmann::ordered_json;

constexpr absl::string_view kSyntheticNote =
    "the station roster and every per-station split are synthetic; only the national "
    "reported figures are facts";

// One row of a breakdown: a station or a country.
struct BreakdownRow {
  std::string id;
  std::string country;    // stations only
  uint32_t stations = 0;  // countries only
  uint64_t records = 0;
  std::vector<uint64_t> counted;
  uint64_t cast = 0;
};

std::vector<BreakdownRow> BuildRows(const Election& election, const Tally& tally,
                                    Breakdown breakdown) {
  std::vector<BreakdownRow> rows;
  if (breakdown == Breakdown::kNone) return rows;
  const bool by_country = breakdown == Breakdown::kCountry;
  const size_t num_rows = by_country ? election.countries.size() : election.stations.size();
  rows.resize(num_rows);
  for (size_t r = 0; r < num_rows; ++r) {
    rows[r].counted.assign(tally.num_choices, 0);
    if (by_country) rows[r].id = election.countries[r];
  }
  for (StationIndex s = 0; s < election.stations.size(); ++s) {
    BreakdownRow& row = rows[by_country ? election.CountryOf(s) : s];
    if (!by_country) {
      row.id = election.stations[s].id;
      row.country = election.stations[s].country;
    }
    ++row.stations;
    row.records += tally.station_records[s];
    for (ChoiceIndex c = 0; c < tally.num_choices; ++c) {
      row.counted[c] += tally.Counted(s, c);
      row.cast += tally.Counted(s, c);
    }
  }
  return rows;
}

std::vector<PlausibilityWarning> Warnings(const ReportInput& input) {
  return CheckPlausibility(*input.election, *input.tally, input.reconciliation, input.plausibility);
}

bool IsSynthetic(const ReportInput& input) {
  return input.election->synthetic_roster || input.generation.has_value();
}

std::string Grouped(uint64_t value) {
  std::string digits = absl::StrCat(value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string SignedGrouped(int64_t value) {
  if (value == 0) return "0";
  uint64_t magnitude =
      value < 0 ? uint64_t{0} - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
  return absl::StrCat(value < 0 ? "-" : "+", Grouped(magnitude));
}

// A byte string as the text report shows it: control bytes escaped as \n, \r, \t or
// \xHH, and the C1 controls in their UTF-8 form as \uHHHH, so that no id, title or file
// name can start a line of its own (a bare "MATCH"), move the cursor or recolour the
// terminal. Every other byte is shown as it is.
std::string Shown(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const auto next = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0;
    if (byte == '\n') {
      out += "\\n";
    } else if (byte == '\r') {
      out += "\\r";
    } else if (byte == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte == 0x7F) {
      absl::StrAppend(&out, absl::StrFormat("\\x%02X", byte));
    } else if (byte == 0xC2 && next >= 0x80 && next <= 0x9F) {
      absl::StrAppend(&out, absl::StrFormat("\\u%04X", next));
      ++i;
    } else {
      out.push_back(static_cast<char>(byte));
    }
  }
  return out;
}

// A field of the CSV report, quoted as RFC 4180 asks when it holds a separator, a quote or
// a line break (quotes doubled inside).
std::string CsvField(absl::string_view text) {
  if (text.find_first_of(",\"\r\n") == absl::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string LeadText(const Contest& contest, const Lead& lead) {
  if (!lead.leader) return "none (no candidates)";
  const std::string code = Shown(contest.choices[*lead.leader].code);
  if (lead.margin == 0) return absl::StrCat("a tie (", code, " level with the runner-up)");
  return absl::StrCat(code, " by ", Grouped(lead.margin));
}

// Whether the reported figures add up, and if not, why: a choice the source gave no figure
// for is "incomplete", not "inconsistent".
std::string ConsistencyText(const Contest& contest, const Reconciliation& rec) {
  if (rec.reported_consistent) return "internally consistent (choices sum to cast)";
  std::vector<std::string> missing;
  uint64_t sum = 0;
  for (size_t c = 0; c < contest.choices.size(); ++c) {
    if (!rec.choices[c].reported) {
      missing.push_back(Shown(contest.choices[c].code));
    } else {
      sum += *rec.choices[c].reported;
    }
  }
  if (!missing.empty()) {
    return absl::StrCat("incomplete: no reported figure for ", absl::StrJoin(missing, ", "));
  }
  if (!rec.cast.reported) return "incomplete: no reported figure for cast";
  return absl::StrCat("NOT internally consistent (choices sum to ", Grouped(sum), ", cast is ",
                      Grouped(*rec.cast.reported), ")");
}

// ---- JSON ----

Json FiguresJson(const Contest& contest, const std::vector<uint64_t>& per_choice, uint64_t cast) {
  Json figures = Json::object();
  for (size_t c = 0; c < contest.choices.size(); ++c)
    figures[contest.choices[c].code] = per_choice[c];
  figures["cast"] = cast;
  return figures;
}

void AddReconciliationJson(const ReportInput& input, Json* report) {
  const Contest& contest = input.election->contest();
  const Reconciliation& rec = *input.reconciliation;
  Json reported = Json::object(), delta = Json::object();
  for (size_t c = 0; c < contest.choices.size(); ++c) {
    const std::string& code = contest.choices[c].code;
    reported[code] = rec.choices[c].reported ? Json(*rec.choices[c].reported) : Json(nullptr);
    delta[code] = rec.choices[c].delta ? Json(*rec.choices[c].delta) : Json(nullptr);
  }
  reported["cast"] = *rec.cast.reported;
  delta["cast"] = *rec.cast.delta;
  (*report)["reported"] = std::move(reported);
  (*report)["delta"] = std::move(delta);
  (*report)["reported_consistent"] = rec.reported_consistent;
  (*report)["tolerance"] = rec.tolerance;
  (*report)["verdict"] = rec.match ? "match" : "mismatch";
  auto leader_code = [&](const Lead& lead) {
    return lead.leader ? Json(contest.choices[*lead.leader].code) : Json(nullptr);
  };
  (*report)["leader"] = {{"reported", leader_code(rec.reported_lead)},
                         {"counted", leader_code(rec.counted_lead)}};
  (*report)["margin"] = {{"reported", rec.reported_lead.margin},
                         {"counted", rec.counted_lead.margin}};
  (*report)["outcome_at_risk"] = rec.outcome_at_risk;
  (*report)["stations_reporting"] = {{"reporting", rec.stations_reporting},
                                     {"expected", rec.stations_expected}};
}

Json RecordsJson(const Tally& tally) {
  Json rejected = Json::object();
  for (int r = 0; r < kNumRejectReasons; ++r) {
    rejected[std::string(RejectReasonName(static_cast<RejectReason>(r)))] = tally.rejected[r];
  }
  return {{"read", tally.records_read},
          {"counted", tally.TotalCounted()},
          {"rejected", std::move(rejected)}};
}

// "exact", "differs" (the engine disagrees with its own prediction: a bug), or
// "inputs_changed": the folder no longer matches its manifest (files missing, extra or
// edited), so the prediction, which holds for the untouched folder only, is not checked.
absl::string_view GroundTruthVerdict(const ReportInput& input) {
  if (*input.predicted == *input.tally) return "exact";
  if (input.inputs != nullptr && !input.inputs->findings.empty()) return "inputs_changed";
  return "differs";
}

void AddGroundTruthJson(const ReportInput& input, Json* report) {
  const Contest& contest = input.election->contest();
  Json fired = Json::object();
  for (const FaultSummary::Entry& fault : input.faults->faults) fired[fault.name] = fault.fired;
  (*report)["faults"] = {{"plan", input.faults->plan}, {"fired", std::move(fired)}};
  const Tally& predicted = *input.predicted;
  (*report)["predicted"] = {
      {"records", RecordsJson(predicted)},
      {"totals", FiguresJson(contest, predicted.ChoiceTotals(), predicted.TotalCounted())}};
  (*report)["ground_truth"] = std::string(GroundTruthVerdict(input));
}

std::string Lost(const FileOutcome& file) {
  if (!file.declared) return "unknown";
  return absl::StrCat(*file.declared > file.records ? *file.declared - file.records : 0);
}

void AddInputsJson(const InputsSummary& ingest, const std::vector<std::string>* hashes,
                   Json* report) {
  Json paths = Json::array();
  for (const FileOutcome& file : ingest.files) paths.push_back(file.path);
  (*report)["inputs"] = {
      {"files", ingest.files.size()}, {"bytes", ingest.bytes_read}, {"paths", std::move(paths)}};
  if (hashes) {
    Json per_file = Json::array();
    Json sizes = Json::array();
    for (size_t f = 0; f < ingest.files.size(); ++f) {
      const std::string hash = f < hashes->size() ? (*hashes)[f] : "";
      per_file.push_back(hash.empty() ? Json(nullptr) : Json(hash));
      sizes.push_back(ingest.files[f].bytes);
    }
    (*report)["inputs"]["sizes"] = std::move(sizes);
    (*report)["inputs"]["xxh3"] = std::move(per_file);
  }
  // Present only when something was skipped or given twice, so that other reports keep
  // their exact shape.
  if (!ingest.skipped.empty()) {
    Json skipped = Json::array();
    for (const SkippedInput& entry : ingest.skipped) {
      skipped.push_back({{"path", entry.path}, {"reason", entry.reason}});
    }
    (*report)["inputs"]["skipped"] = std::move(skipped);
  }
  if (!ingest.repeated.empty()) {
    Json repeated = Json::array();
    for (const RepeatedInput& entry : ingest.repeated) {
      repeated.push_back({{"path", entry.path}, {"same_as", entry.same_as}});
    }
    (*report)["inputs"]["read_once"] = std::move(repeated);
  }
  Json examples = Json::array();
  for (const MalformedExample& example : ingest.malformed) {
    examples.push_back(example.byte ? absl::StrCat(example.file, "@", *example.byte)
                                    : absl::StrCat(example.file, ":", example.line));
  }
  (*report)["malformed_examples"] = std::move(examples);
  Json damaged = Json::array();
  for (const FileOutcome& file : ingest.files) {
    if (file.damage.empty()) continue;
    Json entry = {{"file", file.path}, {"damage", file.damage}, {"records_read", file.records}};
    entry["records_declared"] = file.declared ? Json(*file.declared) : Json(nullptr);
    entry["records_lost"] =
        file.declared ? Json(*file.declared > file.records ? *file.declared - file.records : 0)
                      : Json(nullptr);
    damaged.push_back(std::move(entry));
  }
  (*report)["damaged_files"] = std::move(damaged);
  if (ingest.manifest_files) {
    Json findings = Json::array();
    for (const ManifestFinding& finding : ingest.findings) {
      findings.push_back(
          {{"file", finding.file}, {"finding", finding.finding}, {"detail", finding.detail}});
    }
    (*report)["manifest"] = {{"files_expected", *ingest.manifest_files},
                             {"findings", std::move(findings)}};
  }
}

std::string RenderJson(const ReportInput& input) {
  const Election& election = *input.election;
  const Contest& contest = election.contest();
  const Tally& tally = *input.tally;
  Json report = Json::object();
  report["report_version"] = 1;
  report["command"] = input.command;
  report["election"] = election.id;
  report["title"] = election.title;
  report["source"] = election.source;
  report["synthetic"] = IsSynthetic(input);
  if (IsSynthetic(input)) report["synthetic_note"] = kSyntheticNote;
  if (input.generation) {
    report["generation"] = {{"seed", input.generation->seed}, {"scale", input.generation->scale}};
  }
  report["records"] = RecordsJson(tally);
  report["totals"] = FiguresJson(contest, tally.ChoiceTotals(), tally.TotalCounted());
  if (input.reconciliation) AddReconciliationJson(input, &report);
  if (input.predicted) AddGroundTruthJson(input, &report);
  if (input.inputs) AddInputsJson(*input.inputs, input.input_hashes, &report);
  if (input.breakdown != Breakdown::kNone) {
    Json rows = Json::array();
    for (const BreakdownRow& row : BuildRows(election, tally, input.breakdown)) {
      Json entry = Json::object();
      if (input.breakdown == Breakdown::kStation) {
        entry["station"] = row.id;
        entry["country"] = row.country;
      } else {
        entry["country"] = row.id;
        entry["stations"] = row.stations;
      }
      entry["records"] = row.records;
      entry["counted"] = FiguresJson(contest, row.counted, row.cast);
      rows.push_back(std::move(entry));
    }
    report[input.breakdown == Breakdown::kStation ? "stations" : "countries"] = std::move(rows);
  }
  report["plausibility"] = report_internal::PlausibilityJson(input.plausibility);
  report["warnings"] = report_internal::WarningsJson(Warnings(input));
  // Strings that are not UTF-8 (a file name or roster id in another encoding) are carried
  // with U+FFFD in place of each invalid byte, never an exception (docs/REPORT.md).
  return report.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

// ---- CSV ----

std::string RenderCsv(const ReportInput& input) {
  const Contest& contest = input.election->contest();
  const Tally& tally = *input.tally;
  std::string out = "scope,id,choice,counted,reported,delta\n";
  const std::vector<uint64_t> totals = tally.ChoiceTotals();
  for (size_t c = 0; c <= contest.choices.size(); ++c) {
    const bool is_cast = c == contest.choices.size();
    std::string reported, delta;
    if (input.reconciliation) {
      const FigureComparison& line =
          is_cast ? input.reconciliation->cast : input.reconciliation->choices[c];
      if (line.reported) reported = absl::StrCat(*line.reported);
      if (line.delta) delta = absl::StrCat(*line.delta);
    }
    absl::StrAppend(&out, "national,", CsvField(input.election->id), ",",
                    is_cast ? "cast" : CsvField(contest.choices[c].code), ",",
                    is_cast ? tally.TotalCounted() : totals[c], ",", reported, ",", delta, "\n");
  }
  const absl::string_view scope = input.breakdown == Breakdown::kStation ? "station" : "country";
  for (const BreakdownRow& row : BuildRows(*input.election, tally, input.breakdown)) {
    for (size_t c = 0; c <= contest.choices.size(); ++c) {
      const bool is_cast = c == contest.choices.size();
      absl::StrAppend(&out, scope, ",", CsvField(row.id), ",",
                      is_cast ? "cast" : CsvField(contest.choices[c].code), ",",
                      is_cast ? row.cast : row.counted[c], ",,\n");
    }
  }
  // Warnings: scope "warning", the station (or the election), the check, its first two
  // figures (docs/REPORT.md, "Plausibility warnings").
  for (const PlausibilityWarning& w : Warnings(input)) {
    absl::StrAppend(&out, "warning,", CsvField(w.unit.empty() ? input.election->id : w.unit), ",",
                    w.check, ",", w.figures.size() > 0 ? absl::StrCat(w.figures[0].second) : "",
                    ",", w.figures.size() > 1 ? absl::StrCat(w.figures[1].second) : "", ",\n");
  }
  return out;
}

// ---- Text ----

void AppendChoiceTable(const ReportInput& input, std::string* out) {
  const Contest& contest = input.election->contest();
  const Tally& tally = *input.tally;
  const Reconciliation* rec = input.reconciliation;
  size_t name_width = 4;
  for (const Choice& choice : contest.choices) {
    name_width = std::max(name_width, Shown(choice.code).size() + 2 + Shown(choice.name).size());
  }
  const std::vector<uint64_t> totals = tally.ChoiceTotals();
  absl::StrAppend(out, absl::StrFormat("  %-*s %15s", name_width, "choice", "counted"));
  if (rec) absl::StrAppend(out, absl::StrFormat(" %15s %12s", "reported", "delta"));
  absl::StrAppend(out, "\n");
  for (size_t c = 0; c <= contest.choices.size(); ++c) {
    const bool is_cast = c == contest.choices.size();
    std::string label = is_cast ? "cast"
                                : absl::StrCat(Shown(contest.choices[c].code), "  ",
                                               Shown(contest.choices[c].name));
    absl::StrAppend(out, absl::StrFormat("  %-*s %15s", name_width, label,
                                         Grouped(is_cast ? tally.TotalCounted() : totals[c])));
    if (rec) {
      const FigureComparison& line = is_cast ? rec->cast : rec->choices[c];
      absl::StrAppend(out,
                      absl::StrFormat(" %15s %12s", line.reported ? Grouped(*line.reported) : "-",
                                      line.delta ? SignedGrouped(*line.delta) : "-"));
    }
    absl::StrAppend(out, "\n");
  }
}

void AppendRecords(const Tally& tally, std::string* out) {
  std::vector<std::string> reasons;
  for (int r = 0; r < kNumRejectReasons; ++r) {
    reasons.push_back(absl::StrCat(RejectReasonName(static_cast<RejectReason>(r)), " ",
                                   Grouped(tally.rejected[r])));
  }
  absl::StrAppend(out, "\n  records    read ", Grouped(tally.records_read), ", counted ",
                  Grouped(tally.TotalCounted()), ", rejected ", Grouped(tally.TotalRejected()),
                  "\n  rejected   ", absl::StrJoin(reasons, ", "), "\n");
}

void AppendReconciliation(const ReportInput& input, std::string* out) {
  const Contest& contest = input.election->contest();
  const Reconciliation& rec = *input.reconciliation;
  absl::StrAppend(out, "  reported   ", ConsistencyText(contest, rec), "\n  leader     reported ",
                  LeadText(contest, rec.reported_lead), "; counted ",
                  LeadText(contest, rec.counted_lead), "\n  at risk    ",
                  rec.outcome_at_risk ? "YES" : "no", " (|delta| sum ",
                  Grouped(rec.absolute_delta_sum), " + rejected ", Grouped(rec.rejected_records),
                  " vs reported margin ", Grouped(rec.reported_lead.margin), ")\n  stations   ",
                  rec.stations_reporting, " of ", rec.stations_expected, " reporting\n");
  if (rec.tolerance > 0) absl::StrAppend(out, "  tolerance  ", Grouped(rec.tolerance), "\n");
}

void AppendInputs(const InputsSummary& ingest, std::string* out) {
  uint64_t damaged = 0;
  for (const FileOutcome& file : ingest.files) damaged += !file.damage.empty();
  absl::StrAppend(out, "\n  inputs     ", ingest.files.size(), " files, ",
                  Grouped(ingest.bytes_read), " bytes",
                  damaged ? absl::StrCat(", ", damaged, " damaged") : "", "\n");
  for (const SkippedInput& entry : ingest.skipped) {
    absl::StrAppend(out, "  skipped    ", Shown(entry.path), ": ", Shown(entry.reason), "\n");
  }
  for (const RepeatedInput& entry : ingest.repeated) {
    absl::StrAppend(out, "  read once  ", Shown(entry.path), ": the same file as ",
                    Shown(entry.same_as), "\n");
  }
  for (const FileOutcome& file : ingest.files) {
    if (file.damage.empty()) continue;
    absl::StrAppend(out, "  DAMAGED    ", Shown(file.damage), "; read ", Grouped(file.records),
                    " records, lost ", Lost(file), "\n");
  }
  if (!ingest.malformed.empty()) {
    absl::StrAppend(out, "  malformed  first ", ingest.malformed.size(), ":\n");
    for (const MalformedExample& example : ingest.malformed) {
      absl::StrAppend(
          out, "             ", Shown(example.file),
          example.byte ? absl::StrCat("@", *example.byte) : absl::StrCat(":", example.line), "\n");
    }
  }
  if (ingest.manifest_files) {
    absl::StrAppend(out, "  manifest   ", *ingest.manifest_files, " files expected, ",
                    ingest.findings.size(), " findings\n");
    for (const ManifestFinding& finding : ingest.findings) {
      absl::StrAppend(out, "  FINDING    ", Shown(finding.file), ": ", Shown(finding.finding), " (",
                      Shown(finding.detail), ")\n");
    }
  }
}

void AppendBreakdown(const ReportInput& input, std::string* out) {
  const Contest& contest = input.election->contest();
  std::vector<BreakdownRow> rows = BuildRows(*input.election, *input.tally, input.breakdown);
  const bool by_station = input.breakdown == Breakdown::kStation;
  absl::StrAppend(out, "\n  ", by_station ? "by station" : "by country",
                  IsSynthetic(input) ? " (synthetic split)" : "", "\n");
  absl::StrAppend(out, absl::StrFormat("  %-12s %-7s", by_station ? "station" : "country",
                                       by_station ? "country" : "stns"));
  for (const Choice& choice : contest.choices)
    absl::StrAppend(out, absl::StrFormat(" %13s", Shown(choice.code)));
  absl::StrAppend(out, absl::StrFormat(" %13s\n", "cast"));
  for (const BreakdownRow& row : rows) {
    absl::StrAppend(out,
                    absl::StrFormat("  %-12s %-7s", Shown(row.id),
                                    by_station ? Shown(row.country) : absl::StrCat(row.stations)));
    for (uint64_t figure : row.counted)
      absl::StrAppend(out, absl::StrFormat(" %13s", Grouped(figure)));
    absl::StrAppend(out, absl::StrFormat(" %13s\n", Grouped(row.cast)));
  }
}

void AppendGroundTruth(const ReportInput& input, std::string* out) {
  const Contest& contest = input.election->contest();
  const Tally& predicted = *input.predicted;
  const Tally& tally = *input.tally;
  std::vector<std::string> fired;
  for (const FaultSummary::Entry& fault : input.faults->faults) {
    if (fault.planned) fired.push_back(absl::StrCat(fault.name, " ", Grouped(fault.fired)));
  }
  absl::StrAppend(
      out, "\n  faults     ", input.faults->plan, "\n  fired      ", absl::StrJoin(fired, ", "),
      "\n\n", absl::StrFormat("  %-26s %15s %15s\n", "ground truth", "predicted", "aggregated"));
  auto row = [&](absl::string_view label, uint64_t expected, uint64_t actual) {
    absl::StrAppend(
        out, absl::StrFormat("  %-26s %15s %15s%s\n", label, Grouped(expected), Grouped(actual),
                             expected == actual ? "" : "  <-- differs"));
  };
  const std::vector<uint64_t> expected_totals = predicted.ChoiceTotals();
  const std::vector<uint64_t> actual_totals = tally.ChoiceTotals();
  for (size_t c = 0; c < contest.choices.size(); ++c) {
    row(Shown(contest.choices[c].code), expected_totals[c], actual_totals[c]);
  }
  row("records read", predicted.records_read, tally.records_read);
  row("counted", predicted.TotalCounted(), tally.TotalCounted());
  for (int r = 0; r < kNumRejectReasons; ++r) {
    row(absl::StrCat("rejected ", RejectReasonName(static_cast<RejectReason>(r))),
        predicted.rejected[r], tally.rejected[r]);
  }
  const absl::string_view verdict = GroundTruthVerdict(input);
  absl::StrAppend(
      out, "  ground truth ",
      verdict == "exact" ? "EXACT: every predicted figure reproduced, per station too"
      : verdict == "inputs_changed"
          ? "NOT CHECKED: the folder does not match its manifest (see the findings), and "
            "the prediction holds only for the untouched folder"
          : "DIFFERS: the aggregator disagrees with the prediction",
      "\n");
}

std::string RenderText(const ReportInput& input) {
  const Election& election = *input.election;
  std::string out = absl::StrCat("Canvass ", input.command, ": ", Shown(election.title),
                                 "\n  election   ", Shown(election.id), "\n");
  if (!election.source.empty()) {
    absl::StrAppend(&out, "  source     ", Shown(election.source), "\n");
  }
  if (IsSynthetic(input)) absl::StrAppend(&out, "  SYNTHETIC  ", kSyntheticNote, "\n");
  if (input.generation) {
    absl::StrAppend(&out, "  generated  seed ", input.generation->seed, ", scale ",
                    Grouped(input.generation->scale), "\n");
  }
  absl::StrAppend(&out, "\n");
  AppendChoiceTable(input, &out);
  AppendRecords(*input.tally, &out);
  if (input.reconciliation) AppendReconciliation(input, &out);
  if (input.predicted) AppendGroundTruth(input, &out);
  if (input.inputs) AppendInputs(*input.inputs, &out);
  if (input.breakdown != Breakdown::kNone) AppendBreakdown(input, &out);
  report_internal::AppendWarningsText(Warnings(input), 20, &out);
  if (input.reconciliation) {
    absl::StrAppend(&out, "\n", input.reconciliation->match ? "MATCH" : "MISMATCH", "\n");
  }
  return out;
}

}  // namespace

absl::StatusOr<ReportFormat> ParseReportFormat(absl::string_view name) {
  if (name == "text") return ReportFormat::kText;
  if (name == "json") return ReportFormat::kJson;
  if (name == "csv") return ReportFormat::kCsv;
  if (name == "html") return ReportFormat::kHtml;
  return absl::InvalidArgumentError(
      absl::StrCat("--format: expected text, json, csv or html, got \"", name, "\""));
}

absl::StatusOr<Breakdown> ParseBreakdown(absl::string_view name) {
  if (name == "station") return Breakdown::kStation;
  if (name == "country") return Breakdown::kCountry;
  return absl::InvalidArgumentError(
      absl::StrCat("--by: expected station or country, got \"", name, "\""));
}

std::string RenderReport(const ReportInput& input, ReportFormat format) {
  CANVASS_CHECK(input.election != nullptr && input.tally != nullptr);
  switch (format) {
    case ReportFormat::kJson:
      return RenderJson(input);
    case ReportFormat::kCsv:
      return RenderCsv(input);
    case ReportFormat::kText:
      return RenderText(input);
    case ReportFormat::kHtml:
      return RenderHtmlOfOwnReport(RenderJson(input));
  }
  return RenderText(input);
}

}  // namespace canvass
