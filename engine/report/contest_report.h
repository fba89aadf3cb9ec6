// Renders the tally of a contest election (and, for `reconcile`, its cell-by-cell
// reconciliation) as text, JSON (report_version 2, docs/REPORT.md) or CSV. One report
// model, several renderers: every figure in the text and CSV is the JSON's.
// Pure functions of their input, thread-safe.
#ifndef CANVASS_ENGINE_REPORT_CONTEST_REPORT_H_
#define CANVASS_ENGINE_REPORT_CONTEST_REPORT_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "engine/ballot/cast_ballots.h"
#include "engine/election/contests.h"
#include "engine/io/contest_prediction.h"
#include "engine/io/inputs.h"
#include "engine/io/nist/cvr_reader.h"
#include "engine/reconcile/cell_reconciler.h"
#include "engine/reconcile/plausibility.h"
#include "engine/report/report.h"

namespace canvass {

struct ContestReportInput {
  absl::string_view command;  // "aggregate", "reconcile"
  const ContestElection* election = nullptr;
  const ContestTally* tally = nullptr;
  const Reconciliation2* reconciliation = nullptr;  // null for `aggregate`
  bool by_unit = false;                             // --by unit
  const std::vector<CvrInput>* inputs = nullptr;
  const std::vector<CastRejectExample>* examples = nullptr;
  const std::vector<SkippedInput>* skipped = nullptr;
  const std::vector<RepeatedInput>* repeated = nullptr;
  // Thresholds of the plausibility warnings (reconcile/plausibility.h), in every format.
  PlausibilityOptions plausibility;
  // With `inputs`: the XXH3-128 (hex) of each input, "" where not hashable; null when the
  // run did not hash its inputs (JSON inputs[].xxh3, docs/REPORT.md).
  const std::vector<std::string>* input_hashes = nullptr;
  // Generated records' ground truth (--predicted): compared record by record and cell by
  // cell, in every unit, with the tally (JSON faults, predicted, ground_truth).
  const ContestPrediction* predicted = nullptr;
};

// Requires: election and tally set and of each other.
std::string RenderContestReport(const ContestReportInput& input, ReportFormat format);

// The name of a cell for people and CSV: a selection id, or "overvotes", "undervotes",
// "ballots"; for the unit's own ballots cast, "ballots_cast" with no contest.
std::string CellSelectionName(const ContestElection& election, uint32_t cell);
std::string CellContestId(const ContestElection& election, uint32_t cell);

}  // namespace canvass

#endif  // CANVASS_ENGINE_REPORT_CONTEST_REPORT_H_
