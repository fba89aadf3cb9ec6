// Reconciliation of a contest election, cell by cell: every reported figure (unit, contest,
// selection or over/under/ballots) against the counted figure of the same cell, rolled up
// the unit hierarchy (each level against the roll-up of the counted ballots below it; two
// levels are never summed). Plus, per contest at the election scope, the leader and
// margin by counted and by reported figures and whether the outcome is at risk.
//
// A pure function of its inputs: safe to call from many threads at once.
#ifndef CANVASS_ENGINE_RECONCILE_CELL_RECONCILER_H_
#define CANVASS_ENGINE_RECONCILE_CELL_RECONCILER_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "engine/ballot/cast_ballots.h"
#include "engine/election/contests.h"

namespace canvass {

struct CellDelta {
  uint32_t unit = 0;
  uint32_t cell = 0;
  uint64_t counted = 0;
  uint64_t reported = 0;
  int64_t delta = 0;  // counted - reported (saturating at the int64 range)
  uint64_t magnitude() const { return delta < 0 ? 0 - static_cast<uint64_t>(delta) : delta; }
};

// The standing of one contest's selections by one set of figures: the vote_for leading
// selections (ties broken by ballot order) and the margin between the last of them and
// the first selection after it (its own votes when every selection is elected).
struct Standing {
  std::vector<uint32_t> leaders;
  uint64_t margin = 0;
};
Standing StandingOf(const ElectionContest& contest, const std::vector<uint64_t>& votes);

struct ContestReconciliation {
  uint32_t contest = 0;
  bool match = true;  // every reported cell of the contest, at every unit
  uint64_t cells_compared = 0;
  uint64_t cells_mismatched = 0;
  uint64_t sum_abs_delta = 0;  // over the contest's cells at the election scope
  Standing counted;
  std::optional<Standing> reported;  // when every selection is reported at the scope
  // Leaders differ, or sum_abs_delta plus the records not counted reaches the reported
  // margin (those records could have carried the difference).
  bool outcome_at_risk = false;
};

struct Reconciliation2 {
  bool match = true;
  uint64_t cells_compared = 0;
  uint64_t cells_mismatched = 0;
  // Counted figures > 0 the source gives no figure for (ballot counts only when the source
  // reports ballot counts somewhere): not a mismatch, since sources report some levels only.
  uint64_t cells_not_reported = 0;
  std::vector<CellDelta> mismatches;  // worst first: |delta| descending, then unit, cell
  std::vector<ContestReconciliation> contests;
};

struct CellReconcileOptions {
  uint64_t tolerance = 0;  // a cell matches when |delta| <= tolerance
};

// Requires: `tally` is of `election` (same units and cells).
Reconciliation2 ReconcileCells(const ContestElection& election, const ContestTally& tally,
                               const CellReconcileOptions& options);

}  // namespace canvass

#endif  // CANVASS_ENGINE_RECONCILE_CELL_RECONCILER_H_
