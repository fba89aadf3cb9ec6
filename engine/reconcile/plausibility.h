// Plausibility checks: figures that add up and may still be wrong, as results systems
// check them before anyone signs (the Dutch Abacus system, most counting offices). Each
// warning is named, carries the figures it rests on, and never changes a verdict or an
// exit code: a warning asks a person to look. The checks (docs/REPORT.md, "Plausibility
// warnings"):
//
//   invalid_share         a station's or unit's invalid ballots (choices of kind invalid;
//                         overvotes and invalidated contests) above a share of its ballots
//   blank_share           the same for blank ballots (choices of kind blank; undervotes)
//   over_capacity         more records read for a station than ballot serials it issued
//   empty_station         a station of the roster, or a unit with reported ballots, with no
//                         ballots counted
//   leader_changed        a unit whose counted figures lead with another selection (set of
//                         selections) than its reported figures
//   reported_not_summing  reported figures that do not add up: choices against cast; a
//                         unit's figure against the sum of its parts' when every part
//                         reports it; a contest's votes, overvotes and undervotes against
//                         vote_for times its ballots
//
// Shares are checked only where at least `min_ballots` ballots were counted, so that a
// station of three ballots with one invalid is not a finding.
//
// Pure functions of their inputs: safe to call from many threads at once.
#ifndef CANVASS_ENGINE_RECONCILE_PLAUSIBILITY_H_
#define CANVASS_ENGINE_RECONCILE_PLAUSIBILITY_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/ballot/cast_ballots.h"
#include "engine/ballot/tally.h"
#include "engine/election/contests.h"
#include "engine/election/election.h"
#include "engine/reconcile/cell_reconciler.h"
#include "engine/reconcile/reconciler.h"

namespace canvass {

struct PlausibilityOptions {
  // Shares in permille (an exact integer comparison: share > threshold when
  // part * 1000 > threshold * whole).
  uint64_t invalid_permille = 50;  // --warn-invalid-share 5%
  uint64_t blank_permille = 100;   // --warn-blank-share 10%
  uint64_t min_ballots = 100;      // --warn-min-ballots
};

// A threshold in permille as the percent it was given as: "5", "2.5", "100" (the flags'
// defaults and the warnings' text write it so; with_sign adds "%").
std::string PermilleAsPercent(uint64_t permille, bool with_sign = true);

struct PlausibilityWarning {
  std::string check;    // "invalid_share", ... (above)
  std::string unit;     // a station or unit id; empty: the whole election
  std::string contest;  // a contest id (contest elections); empty: none or the only one
  // The figures the warning rests on, by name ("invalid", "ballots", "threshold_permille",
  // "records", "capacity", ...), in a fixed order per check.
  std::vector<std::pair<std::string, uint64_t>> figures;
  std::string message;  // one line for people, the figures in it
};

// A single-contest election: per station and for the whole election. `reconciliation` may
// be null (aggregate): then only the checks of counted figures run.
std::vector<PlausibilityWarning> CheckPlausibility(const Election& election, const Tally& tally,
                                                   const Reconciliation* reconciliation,
                                                   const PlausibilityOptions& options);

// A contest election: per unit and contest, in unit order, then contest order. The checks of
// reported figures run only with a `reconciliation` (reconcile), never for aggregate.
std::vector<PlausibilityWarning> CheckContestPlausibility(const ContestElection& election,
                                                          const ContestTally& tally,
                                                          const Reconciliation2* reconciliation,
                                                          const PlausibilityOptions& options);

}  // namespace canvass

#endif  // CANVASS_ENGINE_RECONCILE_PLAUSIBILITY_H_
