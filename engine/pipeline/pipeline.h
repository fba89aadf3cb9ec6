// Pipelines that wire the stages together for the command line, the tests and the
// benchmarks: generate calibrated streams on oneTBB workers and feed them straight into
// the aggregator, batch by batch, so no run ever holds all of its records.
#ifndef CANVASS_ENGINE_PIPELINE_PIPELINE_H_
#define CANVASS_ENGINE_PIPELINE_PIPELINE_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "engine/aggregate/tally.h"
#include "engine/election/election.h"
#include "engine/synth/generator.h"

namespace canvass {

struct SyntheticRunOptions {
  GeneratorOptions generator;
  uint64_t scale = 1;
  int threads = 0;  // 0: all hardware threads
};

struct SyntheticRun {
  Election election;  // the scaled election the tally belongs to
  Tally tally;
};

// Scales `election`, plans its calibrated streams and aggregates them on `threads`
// workers. Errors: OutOfRange (scale overflows a figure), InvalidArgument (capacities
// too small), FailedPrecondition (no consistent reported figures).
absl::StatusOr<SyntheticRun> RunSynthetic(const Election& election,
                                          const SyntheticRunOptions& options);

// Aggregates already planned streams on `threads` workers (0: all hardware threads).
// Requires: streams were planned for `election`.
Tally AggregateStreams(const Election& election, const CalibratedStreams& streams, int threads);

// Number of worker threads `threads` stands for (0: all hardware threads).
int ResolveThreads(int threads);

}  // namespace canvass

#endif  // CANVASS_ENGINE_PIPELINE_PIPELINE_H_
