// Pipelines that wire the stages together for the command line, the tests and the
// benchmarks: generate calibrated streams on oneTBB workers and feed them straight into
// the aggregator, batch by batch, so no run ever holds all of its records.
//
// Thread safety: each function runs one job on its own oneTBB workers and returns when
// the job is done; separate jobs may run from separate threads (they share no state).
#ifndef CANVASS_ENGINE_PIPELINE_PIPELINE_H_
#define CANVASS_ENGINE_PIPELINE_PIPELINE_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/aggregate/aggregator.h"
#include "engine/ballot/tally.h"
#include "engine/base/rank_group.h"
#include "engine/base/workers.h"
#include "engine/election/election.h"
#include "engine/synth/fault_plan.h"
#include "engine/synth/faulty_streams.h"
#include "engine/synth/generator.h"

namespace canvass {

struct SyntheticRunOptions {
  GeneratorOptions generator;
  uint64_t scale = 1;
  int threads = 0;   // 0: all hardware threads
  FaultPlan faults;  // empty: clean calibrated streams
  // A job of several processes (base/rank_group.h): this one generates and counts the
  // units of the streams whose identities it owns (ballot/owners.h; with faults, the work
  // items whose first unit it owns: every copy of an identity lies in its unit's item),
  // and every figure of the returned run is the whole group's, summed, on every rank.
  // Null: one process does everything.
  const RankGroup* ranks = nullptr;
};

struct SyntheticRun {
  Election election;  // the scaled election the tally belongs to
  Tally tally;        // what the aggregator counted
  // With faults: the generator's independent prediction of `tally`, and what fired.
  std::optional<Tally> predicted;
  FaultCounts fired;
};

// Scales `election`, plans its calibrated streams and aggregates them on `threads`
// workers (with options.ranks: this rank's share of them, then summed over the group;
// a failure on any rank is every rank's, as AgreeOnStatus gives it). Errors: OutOfRange (scale
// overflows a figure), InvalidArgument (capacities too small), FailedPrecondition (no consistent
// reported figures).
absl::StatusOr<SyntheticRun> RunSynthetic(const Election& election,
                                          const SyntheticRunOptions& options);

// Aggregates already planned streams on `threads` workers (0: all hardware threads).
// OutOfRange if a counter would pass 2^63 - 1.
// Requires: streams were planned for `election`.
absl::StatusOr<Tally> AggregateStreams(const Election& election, const CalibratedStreams& streams,
                                       int threads, AggregatorOptions options = {});

// Generates faulty streams on `threads` workers, feeds them to a fresh Aggregator and
// returns the aggregated tally; `*predicted` and `*fired` receive the ground truth.
absl::StatusOr<Tally> AggregateFaultyStreams(const Election& election, const FaultyStreams& streams,
                                             int threads, Tally* predicted, FaultCounts* fired);

// Aggregates in-memory batches (plus `malformed` unparsable records) on `threads`
// workers with a fresh Aggregator.
absl::StatusOr<Tally> AggregateBatches(const Election& election,
                                       const std::vector<BallotBatch>& batches, uint64_t malformed,
                                       int threads);

}  // namespace canvass

#endif  // CANVASS_ENGINE_PIPELINE_PIPELINE_H_
