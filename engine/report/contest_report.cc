// RenderContestReport: report_version 2 as JSON, text and CSV from one model.
#include "engine/report/contest_report.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/report/html_report.h"
#include "engine/report/internal/warnings.h"
#include "nlohmann/json.hpp"

namespace canvass {
namespace {

using Json = nlohmann::ordered_json;

constexpr size_t kTextMismatches = 50;  // mismatching cells the text report lists

std::string Quote(absl::string_view field) {
  if (field.find_first_of(",\"\r\n") == absl::string_view::npos) return std::string(field);
  std::string out = "\"";
  for (const char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

Json Optional(std::optional<uint64_t> value) { return value ? Json(*value) : Json(nullptr); }

std::optional<int64_t> DeltaOf(uint64_t counted, std::optional<uint64_t> reported) {
  if (!reported) return std::nullopt;
  return counted >= *reported ? static_cast<int64_t>(counted - *reported)
                              : -static_cast<int64_t>(*reported - counted);
}

Json OptionalDelta(std::optional<int64_t> delta) { return delta ? Json(*delta) : Json(nullptr); }

// The figures of one contest at one unit: totals per selection and the three figures,
// with reported and delta when reconciling.
Json ContestCells(const ContestReportInput& input, uint32_t unit, uint32_t c) {
  const ContestElection& election = *input.election;
  const ElectionContest& contest = election.contests[c];
  Json totals = Json::object();
  Json reported = Json::object();
  Json delta = Json::object();
  auto add = [&](Json& object_counted, const std::string& key, uint32_t cell) {
    const uint64_t counted = input.tally->Cell(unit, cell);
    object_counted[key] = counted;
    if (input.reconciliation) {
      const std::optional<uint64_t> figure = election.Reported(unit, cell);
      reported[key] = Optional(figure);
      delta[key] = OptionalDelta(DeltaOf(counted, figure));
    }
  };
  for (uint32_t s = 0; s < contest.selections.size(); ++s) {
    add(totals, contest.selections[s].id, election.SelectionCell(c, s));
  }
  Json out = Json::object();
  out["totals"] = std::move(totals);
  for (uint32_t f = 0; f < election.figures_per_contest(); ++f) {
    const ContestFigure figure = static_cast<ContestFigure>(f);
    const std::string key(ContestFigureName(figure));
    add(out, key, election.FigureCell(c, figure));
  }
  if (input.reconciliation) {
    out["reported"] = std::move(reported);
    out["delta"] = std::move(delta);
  }
  return out;
}

Json Leaders(const ElectionContest& contest, const Standing& standing) {
  Json leaders = Json::array();
  for (const uint32_t s : standing.leaders) leaders.push_back(contest.selections[s].id);
  return leaders;
}

std::vector<PlausibilityWarning> Warnings(const ContestReportInput& input) {
  return CheckContestPlausibility(*input.election, *input.tally, input.reconciliation,
                                  input.plausibility);
}

// The records' ground truth beside the tally: `faults` (plan, fired), `predicted` (its
// records, and every cell where prediction and count differ, unit by unit, in unit and
// cell order) and `ground_truth`: "exact" when every figure agrees, else "differs" (the
// engine disagrees with the generator's prediction: a bug, or records edited after they
// were written).
void AddGroundTruth(const ContestReportInput& input, Json* report) {
  const ContestElection& election = *input.election;
  const ContestPrediction& prediction = *input.predicted;
  const ContestTally& predicted = prediction.tally;
  const ContestTally& tally = *input.tally;
  Json fired = Json::object();
  for (const auto& [name, count] : prediction.fired) fired[name] = count;
  (*report)["faults"] = {{"plan", prediction.faults}, {"fired", std::move(fired)}};
  Json rejected = Json::object();
  for (int r = 0; r < kNumCastRejects; ++r) {
    rejected[std::string(CastRejectName(static_cast<CastReject>(r)))] = predicted.rejected[r];
  }
  Json differences = Json::array();
  for (uint32_t u = 0; u < election.units.size(); ++u) {
    for (uint32_t cell = 0; cell < election.cells_per_unit(); ++cell) {
      const uint64_t expected = predicted.Cell(u, cell);
      const uint64_t counted = tally.Cell(u, cell);
      if (expected == counted) continue;
      differences.push_back({{"unit", election.units[u].id},
                             {"contest", CellContestId(election, cell)},
                             {"selection", CellSelectionName(election, cell)},
                             {"predicted", expected},
                             {"counted", counted}});
    }
  }
  const bool exact = predicted == tally;
  (*report)["predicted"] = {{"records",
                             {{"read", predicted.records_read},
                              {"counted", predicted.counted},
                              {"rejected", std::move(rejected)},
                              {"adjudicated", predicted.adjudicated}}},
                            {"cells_differing", differences.size()},
                            {"differences", std::move(differences)}};
  (*report)["ground_truth"] = exact ? "exact" : "differs";
}

// The ground truth in the text report: the plan, what fired, the records figure by figure
// and the cells that differ.
void AppendGroundTruthText(const Json& model, std::string* out) {
  const Json& faults = model["faults"];
  std::string fired;
  for (const auto& [name, count] : faults["fired"].items()) {
    absl::StrAppend(&fired, fired.empty() ? "" : ", ", name, " ", count.get<uint64_t>());
  }
  absl::StrAppend(out, "\n  faults  ", faults["plan"].get<std::string>(), "\n  fired   ", fired,
                  "\n",
                  absl::StrFormat("  %-28s %10s %10s\n", "ground truth", "predicted", "counted"));
  const auto row = [&](absl::string_view label, const Json& expected, const Json& actual) {
    const uint64_t e = expected.get<uint64_t>();
    const uint64_t a = actual.get<uint64_t>();
    absl::StrAppend(
        out, absl::StrFormat("  %-28s %10d %10d%s\n", label, e, a, e == a ? "" : "  <-- differs"));
  };
  const Json& predicted = model["predicted"]["records"];
  const Json& records = model["records"];
  row("records read", predicted["read"], records["read"]);
  row("counted", predicted["counted"], records["counted"]);
  for (const auto& [reason, count] : predicted["rejected"].items()) {
    row(absl::StrCat("rejected ", reason), count, records["rejected"][reason]);
  }
  const Json& differences = model["predicted"]["differences"];
  for (size_t i = 0; i < differences.size() && i < kTextMismatches; ++i) {
    const Json& d = differences[i];
    row(absl::StrCat(d["unit"].get<std::string>(), " ", d["contest"].get<std::string>(), " ",
                     d["selection"].get<std::string>()),
        d["predicted"], d["counted"]);
  }
  if (differences.size() > kTextMismatches) {
    absl::StrAppend(out, "  ... ", differences.size() - kTextMismatches,
                    " more cells differ (--format json lists them all)\n");
  }
  absl::StrAppend(out, "  ground truth ",
                  model["ground_truth"] == "exact"
                      ? "EXACT: every predicted figure reproduced, in every unit"
                      : "DIFFERS: the count disagrees with the generator's prediction",
                  "\n");
}

Json Model(const ContestReportInput& input) {
  const ContestElection& election = *input.election;
  const ContestTally& tally = *input.tally;
  const Reconciliation2* rec = input.reconciliation;
  Json report;
  report["report_version"] = 2;
  report["command"] = std::string(input.command);
  report["election"] = {{"id", election.id},
                        {"name", election.name},
                        {"scope", election.scope_id},
                        {"source", election.source}};
  bool synthetic = election.synthetic;
  if (input.inputs) {
    for (const CvrInput& file : *input.inputs) synthetic |= file.synthetic;
  }
  report["synthetic"] = synthetic;
  Json inputs = Json::array();
  if (input.inputs) {
    for (size_t i = 0; i < input.inputs->size(); ++i) {
      const CvrInput& file = (*input.inputs)[i];
      Json identity = Json::object();
      const bool dominion = file.format == CvrFormat::kDominionJson;
      if (dominion) {
        // A session's identity is always (TabulatorId, BatchId, RecordId).
        identity["TabulatorId/BatchId/RecordId"] = file.identity_fields[0];
      } else {
        for (int f = 0; f < kNumCvrIdentityFields; ++f) {
          identity[std::string(CvrIdentityFieldName(static_cast<CvrIdentityField>(f)))] =
              file.identity_fields[f];
        }
      }
      Json entry = {{"path", file.path},
                    {"bytes", file.bytes},
                    {"format", std::string(CvrFormatName(file.format))},
                    {"records", file.records},
                    {"synthetic", file.synthetic},
                    {"identity", std::move(identity)}};
      if (input.input_hashes) {
        const std::string hash = i < input.input_hashes->size() ? (*input.input_hashes)[i] : "";
        entry["xxh3"] = hash.empty() ? Json(nullptr) : Json(hash);
      }
      inputs.push_back(std::move(entry));
    }
  }
  report["inputs"] = std::move(inputs);
  Json skipped = Json::array();
  if (input.skipped) {
    for (const SkippedInput& entry : *input.skipped) {
      skipped.push_back({{"path", entry.path}, {"reason", entry.reason}});
    }
  }
  report["skipped"] = std::move(skipped);
  Json repeated = Json::array();
  if (input.repeated) {
    for (const RepeatedInput& entry : *input.repeated) {
      repeated.push_back({{"path", entry.path}, {"same_as", entry.same_as}});
    }
  }
  report["repeated"] = std::move(repeated);
  Json rejected = Json::object();
  for (int r = 0; r < kNumCastRejects; ++r) {
    rejected[std::string(CastRejectName(static_cast<CastReject>(r)))] = tally.rejected[r];
  }
  report["records"] = {
      {"read", tally.records_read}, {"counted", tally.counted}, {"rejected", std::move(rejected)}};
  bool dominion = false;
  if (input.inputs) {
    for (const CvrInput& file : *input.inputs) dominion |= file.format == CvrFormat::kDominionJson;
  }
  // How many of the counted ballots came from an adjudicated version (Dominion's Modified,
  // a NIST snapshot of Type "modified").
  report["records"]["adjudicated"] = tally.adjudicated;
  Json examples = Json::array();
  if (input.examples) {
    for (const CastRejectExample& example : *input.examples) {
      examples.push_back({{"reason", std::string(CastRejectName(example.reason))},
                          {"location", example.location},
                          {"why", example.why}});
    }
  }
  report["rejected_examples"] = std::move(examples);
  report["ballots"] = tally.Cell(election.scope(), ContestElection::kBallotsCastCell);
  if (rec) {
    report["ballots_reported"] =
        Optional(election.Reported(election.scope(), ContestElection::kBallotsCastCell));
  }
  Json contests = Json::array();
  for (uint32_t c = 0; c < election.contests.size(); ++c) {
    const ElectionContest& contest = election.contests[c];
    Json entry = {{"id", contest.id},
                  {"name", contest.name},
                  {"vote_for", contest.vote_for},
                  {"kind", std::string(ContestKindName(contest.kind))}};
    if (contest.kind == ContestKind::kRanked) entry["first_preferences_only"] = true;
    entry.update(ContestCells(input, election.scope(), c));
    if (rec) {
      const ContestReconciliation& cr = rec->contests[c];
      entry["verdict"] = cr.match ? "match" : "mismatch";
      entry["cells_compared"] = cr.cells_compared;
      entry["cells_mismatched"] = cr.cells_mismatched;
      entry["leader"] = Leaders(contest, cr.counted);
      entry["margin"] = cr.counted.margin;
      entry["reported_leader"] = cr.reported ? Leaders(contest, *cr.reported) : Json(nullptr);
      entry["reported_margin"] = cr.reported ? Json(cr.reported->margin) : Json(nullptr);
      entry["outcome_at_risk"] = cr.outcome_at_risk;
    } else {
      entry["leader"] =
          Leaders(contest, StandingOf(contest, [&] {
                    std::vector<uint64_t> votes;
                    for (uint32_t s = 0; s < contest.selections.size(); ++s) {
                      votes.push_back(tally.Cell(election.scope(), election.SelectionCell(c, s)));
                    }
                    return votes;
                  }()));
    }
    contests.push_back(std::move(entry));
  }
  report["contests"] = std::move(contests);
  if (rec) {
    report["cells"] = {{"compared", rec->cells_compared},
                       {"mismatched", rec->cells_mismatched},
                       {"not_reported", rec->cells_not_reported}};
    Json mismatches = Json::array();
    for (const CellDelta& delta : rec->mismatches) {
      mismatches.push_back({{"unit", election.units[delta.unit].id},
                            {"contest", CellContestId(election, delta.cell)},
                            {"selection", CellSelectionName(election, delta.cell)},
                            {"counted", delta.counted},
                            {"reported", delta.reported},
                            {"delta", delta.delta}});
    }
    report["mismatches"] = std::move(mismatches);
  }
  if (input.by_unit) {
    Json units = Json::array();
    for (uint32_t u = 0; u < election.units.size(); ++u) {
      const ReportingUnit& unit = election.units[u];
      Json entry = {{"id", unit.id},
                    {"name", unit.name},
                    {"type", unit.type},
                    {"level", election.Level(u)},
                    {"ballots", tally.Cell(u, ContestElection::kBallotsCastCell)}};
      if (rec) {
        entry["ballots_reported"] =
            Optional(election.Reported(u, ContestElection::kBallotsCastCell));
      }
      Json unit_contests = Json::array();
      for (uint32_t c = 0; c < election.contests.size(); ++c) {
        const bool counted = tally.Cell(u, election.FigureCell(c, ContestFigure::kBallots)) > 0 ||
                             (election.invalid_figure &&
                              tally.Cell(u, election.FigureCell(c, ContestFigure::kInvalid)) > 0);
        bool reported = false;
        if (rec) {
          for (uint32_t s = 0; s < election.contests[c].selections.size() && !reported; ++s) {
            reported = election.Reported(u, election.SelectionCell(c, s)).has_value();
          }
        }
        if (!counted && !reported) continue;
        Json cells = {{"id", election.contests[c].id}};
        cells.update(ContestCells(input, u, c));
        unit_contests.push_back(std::move(cells));
      }
      entry["contests"] = std::move(unit_contests);
      units.push_back(std::move(entry));
    }
    report["units"] = std::move(units);
  }
  report["plausibility"] = report_internal::PlausibilityJson(input.plausibility);
  report["warnings"] = report_internal::WarningsJson(Warnings(input));
  if (input.predicted) AddGroundTruth(input, &report);
  if (rec) report["verdict"] = rec->match ? "match" : "mismatch";
  return report;
}

std::string RenderText(const ContestReportInput& input, const Json& model) {
  const ContestElection& election = *input.election;
  std::string out = absl::StrCat("canvass ", input.command, ": ",
                                 election.name.empty() ? election.id : election.name, "\n");
  if (election.synthetic) {
    absl::StrAppend(&out, "  SYNTHETIC  the election says its figures are synthetic\n");
  } else if (model["synthetic"].get<bool>()) {
    absl::StrAppend(&out,
                    "  SYNTHETIC  the cast vote records are generated (their report's Notes say "
                    "so); only the reported figures are facts\n");
  }
  const Json& records = model["records"];
  absl::StrAppend(&out, "  records  read ", records["read"].get<uint64_t>(), ", counted ",
                  records["counted"].get<uint64_t>());
  for (const auto& [reason, count] : records["rejected"].items()) {
    if (count.get<uint64_t>() > 0) absl::StrAppend(&out, ", ", reason, " ", count.get<uint64_t>());
  }
  absl::StrAppend(&out, "\n");
  if (records["adjudicated"].get<uint64_t>() > 0) {
    absl::StrAppend(&out, "  counted from an adjudicated (Modified) version: ",
                    records["adjudicated"].get<uint64_t>(), "\n");
  }
  for (const Json& example : model["rejected_examples"]) {
    absl::StrAppend(&out, "    ", example["reason"].get<std::string>(), "  ",
                    example["location"].get<std::string>(), ": ", example["why"].get<std::string>(),
                    "\n");
  }
  if (model.contains("mismatches") && !model["mismatches"].empty()) {
    const Json& mismatches = model["mismatches"];
    absl::StrAppend(&out, "\nMismatching cells, worst first (", mismatches.size(), "):\n");
    absl::StrAppend(&out, absl::StrFormat("  %-22s %-26s %-26s %10s %10s %8s\n", "unit", "contest",
                                          "selection", "counted", "reported", "delta"));
    for (size_t i = 0; i < mismatches.size() && i < kTextMismatches; ++i) {
      const Json& m = mismatches[i];
      absl::StrAppend(
          &out, absl::StrFormat("  %-22s %-26s %-26s %10d %10d %+8d\n",
                                m["unit"].get<std::string>(), m["contest"].get<std::string>(),
                                m["selection"].get<std::string>(), m["counted"].get<uint64_t>(),
                                m["reported"].get<uint64_t>(), m["delta"].get<int64_t>()));
    }
    if (mismatches.size() > kTextMismatches) {
      absl::StrAppend(&out, "  ... ", mismatches.size() - kTextMismatches,
                      " more (--format json lists them all)\n");
    }
  }
  absl::StrAppend(&out, "\n");
  const bool reconcile = input.reconciliation != nullptr;
  for (size_t c = 0; c < model["contests"].size(); ++c) {
    const Json& contest = model["contests"][c];
    absl::StrAppend(
        &out,
        contest["name"].get<std::string>().empty() ? contest["id"].get<std::string>()
                                                   : contest["name"].get<std::string>(),
        "  (", contest["id"].get<std::string>(), ", vote for ", contest["vote_for"].get<uint32_t>(),
        contest.contains("first_preferences_only") ? ", first preferences only" : "", ")",
        reconcile ? absl::StrCat("  ", contest["verdict"].get<std::string>()) : "", "\n");
    auto line = [&](const std::string& key, uint64_t counted, const Json& reported,
                    const Json& delta) {
      absl::StrAppend(&out, absl::StrFormat("  %-28s %10d", key, counted));
      if (reconcile) {
        absl::StrAppend(&out, reported.is_null()
                                  ? absl::StrFormat(" %10s %8s", "-", "")
                                  : absl::StrFormat(" %10d %+8d", reported.get<uint64_t>(),
                                                    delta.get<int64_t>()));
      }
      absl::StrAppend(&out, "\n");
    };
    for (const auto& [key, counted] : contest["totals"].items()) {
      // Numeric ids (a Dominion export's) mean nothing to a reader: the name follows them.
      std::string label = key;
      if (!key.empty() &&
          std::all_of(key.begin(), key.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
        const std::optional<uint32_t> s = election.FindSelection(static_cast<uint32_t>(c), key);
        if (s && !election.contests[c].selections[*s].name.empty()) {
          label = absl::StrCat(key, " ", election.contests[c].selections[*s].name);
        }
      }
      line(label, counted.get<uint64_t>(), reconcile ? contest["reported"][key] : Json(),
           reconcile ? contest["delta"][key] : Json());
    }
    for (const char* key : {"overvotes", "undervotes", "ballots", "invalid"}) {
      if (!contest.contains(key)) continue;  // "invalid": only where the election has it
      line(key, contest[key].get<uint64_t>(), reconcile ? contest["reported"][key] : Json(),
           reconcile ? contest["delta"][key] : Json());
    }
    if (reconcile && contest["outcome_at_risk"].get<bool>()) {
      absl::StrAppend(&out, "  outcome at risk (margin ",
                      contest["reported_margin"].is_null()
                          ? std::string("not reported")
                          : std::to_string(contest["reported_margin"].get<uint64_t>()),
                      ")\n");
    }
  }
  report_internal::AppendWarningsText(Warnings(input), kTextMismatches, &out);
  if (model.contains("ground_truth")) AppendGroundTruthText(model, &out);
  if (reconcile) {
    const Json& cells = model["cells"];
    absl::StrAppend(&out, "\ncells compared ", cells["compared"].get<uint64_t>(), ", mismatched ",
                    cells["mismatched"].get<uint64_t>(), ", counted but not reported ",
                    cells["not_reported"].get<uint64_t>(),
                    "\nverdict: ", model["verdict"].get<std::string>(), "\n");
  }
  return out;
}

std::string RenderCsv(const ContestReportInput& input) {
  const ContestElection& election = *input.election;
  const bool reconcile = input.reconciliation != nullptr;
  std::string out = reconcile ? "unit,contest,selection,counted,reported,delta\n"
                              : "unit,contest,selection,counted\n";
  for (uint32_t u = 0; u < election.units.size(); ++u) {
    if (!input.by_unit && u != election.scope()) continue;
    for (uint32_t cell = 0; cell < election.cells_per_unit(); ++cell) {
      const uint64_t counted = input.tally->Cell(u, cell);
      const std::optional<uint64_t> reported =
          reconcile ? election.Reported(u, cell) : std::nullopt;
      if (input.by_unit && counted == 0 && !reported) continue;
      absl::StrAppend(&out, Quote(election.units[u].id), ",", Quote(CellContestId(election, cell)),
                      ",", Quote(CellSelectionName(election, cell)), ",", counted);
      if (reconcile) {
        const std::optional<int64_t> delta = DeltaOf(counted, reported);
        absl::StrAppend(&out, ",", reported ? std::to_string(*reported) : "", ",",
                        delta ? std::to_string(*delta) : "");
      }
      absl::StrAppend(&out, "\n");
    }
  }
  // Warnings: the unit, the contest, "warning:" and the check, its first figure (and with
  // reconcile its second), docs/REPORT.md "Plausibility warnings".
  for (const PlausibilityWarning& w : Warnings(input)) {
    absl::StrAppend(&out, Quote(w.unit), ",", Quote(w.contest), ",warning:", w.check, ",",
                    w.figures.empty() ? "" : absl::StrCat(w.figures[0].second));
    if (reconcile) {
      absl::StrAppend(&out, ",", w.figures.size() > 1 ? absl::StrCat(w.figures[1].second) : "",
                      ",");
    }
    absl::StrAppend(&out, "\n");
  }
  return out;
}

}  // namespace

std::string CellSelectionName(const ContestElection& election, uint32_t cell) {
  const ContestElection::CellMeaning meaning = election.Meaning(cell);
  if (!meaning.contest) return "ballots_cast";
  if (meaning.selection)
    return election.contests[*meaning.contest].selections[*meaning.selection].id;
  return std::string(ContestFigureName(*meaning.figure));
}

std::string CellContestId(const ContestElection& election, uint32_t cell) {
  const ContestElection::CellMeaning meaning = election.Meaning(cell);
  return meaning.contest ? election.contests[*meaning.contest].id : "";
}

std::string RenderContestReport(const ContestReportInput& input, ReportFormat format) {
  if (format == ReportFormat::kCsv) return RenderCsv(input);
  const Json model = Model(input);
  if (format == ReportFormat::kJson || format == ReportFormat::kHtml) {
    std::string json = model.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
    return format == ReportFormat::kJson ? json : RenderHtmlOfOwnReport(json);
  }
  return RenderText(input, model);
}

}  // namespace canvass
