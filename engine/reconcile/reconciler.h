// The reconciler: compares a Tally with the election's reported figures, choice by
// choice and for `cast`, and decides the verdict, the leaders and whether the outcome
// is at risk (DESIGN.md, "Reconciliation"). A pure function of its inputs.
#ifndef CANVASS_ENGINE_RECONCILE_RECONCILER_H_
#define CANVASS_ENGINE_RECONCILE_RECONCILER_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "engine/ballot/tally.h"
#include "engine/election/election.h"

namespace canvass {

struct ReconcileOptions {
  // A choice (or cast) matches when |counted - reported| <= tolerance.
  uint64_t tolerance = 0;
};

// One line of the comparison: a choice, or cast.
struct FigureComparison {
  uint64_t counted = 0;
  std::optional<uint64_t> reported;  // nullopt: the source gave no figure
  std::optional<int64_t> delta;      // counted - reported, when reported
};

// The leading candidate (kind == candidate only) and its margin over the runner-up.
struct Lead {
  std::optional<ChoiceIndex> leader;  // nullopt when the contest has no candidate
  uint64_t margin = 0;                // leader minus runner-up (0 on a tie)
};

struct Reconciliation {
  std::vector<FigureComparison> choices;  // parallel to Contest::choices
  FigureComparison cast;
  bool reported_consistent = false;  // every choice reported and they sum to cast
  Lead reported_lead;
  Lead counted_lead;
  uint64_t absolute_delta_sum = 0;  // sum over reported choices of |delta|
  uint64_t rejected_records = 0;
  // Leaders differ, or absolute_delta_sum + rejected_records >= reported margin; never
  // when the contest has no candidate (there is no outcome).
  bool outcome_at_risk = false;
  uint32_t stations_reporting = 0;
  uint32_t stations_expected = 0;
  uint64_t tolerance = 0;
  bool match = false;  // every reported delta (and cast's) within tolerance
};

// Leader and margin among the candidate choices of `contest` for `figures`.
Lead FindLead(const Contest& contest, const std::vector<uint64_t>& figures);

// Requires: election.contest().reported is set; tally was made for this election.
Reconciliation Reconcile(const Election& election, const Tally& tally,
                         const ReconcileOptions& options);

}  // namespace canvass

#endif  // CANVASS_ENGINE_RECONCILE_RECONCILER_H_
