// ReconcileCells: reported cells against counted cells, and each contest's standing.
#include "engine/reconcile/cell_reconciler.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <tuple>

namespace canvass {
namespace {

int64_t Delta(uint64_t counted, uint64_t reported) {
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (counted >= reported) return static_cast<int64_t>(std::min(counted - reported, kMax));
  return -static_cast<int64_t>(std::min(reported - counted, kMax));
}

uint64_t AddSaturating(uint64_t a, uint64_t b) {
  uint64_t sum = 0;
  return __builtin_add_overflow(a, b, &sum) ? std::numeric_limits<uint64_t>::max() : sum;
}

}  // namespace

Standing StandingOf(const ElectionContest& contest, const std::vector<uint64_t>& votes) {
  std::vector<uint32_t> order(votes.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return votes[a] > votes[b]; });
  Standing standing;
  const size_t elected = std::min<size_t>(contest.vote_for, order.size());
  standing.leaders.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(elected));
  if (elected > 0) {
    const uint64_t last = votes[order[elected - 1]];
    standing.margin = elected < order.size() ? last - votes[order[elected]] : last;
  }
  return standing;
}

Reconciliation2 ReconcileCells(const ContestElection& election, const ContestTally& tally,
                               const CellReconcileOptions& options) {
  Reconciliation2 result;
  result.contests.resize(election.contests.size());
  for (uint32_t c = 0; c < election.contests.size(); ++c) result.contests[c].contest = c;
  for (const ReportedCell& reported : election.reported) {
    const uint64_t counted = tally.Cell(reported.unit, reported.cell);
    const CellDelta delta{reported.unit, reported.cell, counted, reported.count,
                          Delta(counted, reported.count)};
    ++result.cells_compared;
    const ContestElection::CellMeaning meaning = election.Meaning(reported.cell);
    ContestReconciliation* contest = meaning.contest ? &result.contests[*meaning.contest] : nullptr;
    if (contest) ++contest->cells_compared;
    if (contest && reported.unit == election.scope()) {
      contest->sum_abs_delta = AddSaturating(contest->sum_abs_delta, delta.magnitude());
    }
    if (delta.magnitude() <= options.tolerance) continue;
    ++result.cells_mismatched;
    result.match = false;
    result.mismatches.push_back(delta);
    if (contest) {
      ++contest->cells_mismatched;
      contest->match = false;
    }
  }
  std::sort(result.mismatches.begin(), result.mismatches.end(),
            [](const CellDelta& a, const CellDelta& b) {
              return std::make_tuple(b.magnitude(), a.unit, a.cell) <
                     std::make_tuple(a.magnitude(), b.unit, b.cell);
            });
  // Counted figures with no reported figure (reported is sorted by unit, cell). Ballot
  // counts are only missing when the source reports ballot counts at all.
  auto is_ballots = [&](uint32_t cell) {
    const ContestElection::CellMeaning meaning = election.Meaning(cell);
    return !meaning.contest || meaning.figure == ContestFigure::kBallots;
  };
  bool source_has_ballots = false;
  for (const ReportedCell& reported : election.reported)
    source_has_ballots |= is_ballots(reported.cell);
  size_t next = 0;
  for (uint32_t unit = 0; unit < tally.num_units; ++unit) {
    for (uint32_t cell = 0; cell < tally.cells_per_unit; ++cell) {
      while (next < election.reported.size() &&
             std::tie(election.reported[next].unit, election.reported[next].cell) <
                 std::tie(unit, cell)) {
        ++next;
      }
      const bool reported = next < election.reported.size() &&
                            election.reported[next].unit == unit &&
                            election.reported[next].cell == cell;
      if (!reported && tally.Cell(unit, cell) > 0 && (source_has_ballots || !is_ballots(cell))) {
        ++result.cells_not_reported;
      }
    }
  }
  const uint64_t not_counted = tally.TotalRejected();
  for (ContestReconciliation& contest : result.contests) {
    const ElectionContest& definition = election.contests[contest.contest];
    std::vector<uint64_t> counted(definition.selections.size());
    std::vector<uint64_t> reported(definition.selections.size());
    bool all_reported = !definition.selections.empty();
    for (uint32_t s = 0; s < definition.selections.size(); ++s) {
      const uint32_t cell = election.SelectionCell(contest.contest, s);
      counted[s] = tally.Cell(election.scope(), cell);
      const std::optional<uint64_t> figure = election.Reported(election.scope(), cell);
      all_reported &= figure.has_value();
      reported[s] = figure.value_or(0);
    }
    contest.counted = StandingOf(definition, counted);
    if (!all_reported) continue;
    contest.reported = StandingOf(definition, reported);
    std::vector<uint32_t> a = contest.counted.leaders;
    std::vector<uint32_t> b = contest.reported->leaders;
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    contest.outcome_at_risk =
        a != b || AddSaturating(contest.sum_abs_delta, not_counted) >= contest.reported->margin;
  }
  return result;
}

}  // namespace canvass
