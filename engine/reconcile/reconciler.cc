// Reconciliation of a tally against reported figures.
#include "engine/reconcile/reconciler.h"

#include "engine/base/check.h"

namespace canvass {
namespace {

FigureComparison Compare(uint64_t counted, std::optional<uint64_t> reported) {
  FigureComparison line;
  line.counted = counted;
  line.reported = reported;
  if (reported) {
    // Both figures are below 2^63 (the loader and the counters guarantee it).
    line.delta = static_cast<int64_t>(counted) - static_cast<int64_t>(*reported);
  }
  return line;
}

uint64_t Magnitude(int64_t delta) {
  return delta < 0 ? uint64_t{0} - static_cast<uint64_t>(delta) : static_cast<uint64_t>(delta);
}

}  // namespace

Lead FindLead(const Contest& contest, const std::vector<uint64_t>& figures) {
  Lead lead;
  std::optional<uint64_t> best, second;
  for (size_t c = 0; c < contest.choices.size(); ++c) {
    if (contest.choices[c].kind != ChoiceKind::kCandidate) continue;
    if (!best || figures[c] > *best) {
      second = best;
      best = figures[c];
      lead.leader = static_cast<ChoiceIndex>(c);
    } else if (!second || figures[c] > *second) {
      second = figures[c];
    }
  }
  if (best) lead.margin = *best - second.value_or(0);
  return lead;
}

Reconciliation Reconcile(const Election& election, const Tally& tally,
                         const ReconcileOptions& options) {
  const Contest& contest = election.contest();
  CANVASS_CHECK(contest.reported.has_value());
  CANVASS_CHECK(tally.num_choices == contest.choices.size());
  const ReportedFigures& reported = *contest.reported;
  Reconciliation result;
  result.tolerance = options.tolerance;
  const std::vector<uint64_t> totals = tally.ChoiceTotals();
  std::vector<uint64_t> reported_or_zero(contest.choices.size(), 0);
  result.match = true;
  for (size_t c = 0; c < contest.choices.size(); ++c) {
    FigureComparison line = Compare(totals[c], reported.choices[c]);
    if (line.delta) {
      result.absolute_delta_sum += Magnitude(*line.delta);
      result.match &= Magnitude(*line.delta) <= options.tolerance;
    }
    reported_or_zero[c] = reported.choices[c].value_or(0);
    result.choices.push_back(line);
  }
  result.cast = Compare(tally.TotalCounted(), reported.cast);
  result.match &= Magnitude(*result.cast.delta) <= options.tolerance;
  result.reported_consistent = reported.InternallyConsistent();
  result.reported_lead = FindLead(contest, reported_or_zero);
  result.counted_lead = FindLead(contest, totals);
  result.rejected_records = tally.TotalRejected();
  // An election without candidates (a referendum's invalid/blank only, a test) has no
  // outcome to put at risk.
  const bool has_candidates = result.reported_lead.leader || result.counted_lead.leader;
  result.outcome_at_risk =
      has_candidates &&
      (result.reported_lead.leader != result.counted_lead.leader ||
       result.absolute_delta_sum + result.rejected_records >= result.reported_lead.margin);
  result.stations_reporting = tally.StationsReporting();
  result.stations_expected = static_cast<uint32_t>(election.stations.size());
  return result;
}

}  // namespace canvass
