// Generate-and-aggregate pipeline on oneTBB.
#include "engine/pipeline/pipeline.h"

#include <thread>

#include "engine/aggregate/aggregator.h"
#include "engine/base/status_macros.h"
#include "tbb/blocked_range.h"
#include "tbb/enumerable_thread_specific.h"
#include "tbb/parallel_for.h"
#include "tbb/task_arena.h"

namespace canvass {

int ResolveThreads(int threads) {
  if (threads > 0) return threads;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

Tally AggregateStreams(const Election& election, const CalibratedStreams& streams, int threads) {
  Aggregator aggregator(election);
  tbb::enumerable_thread_specific<BallotBatch> batches;
  tbb::task_arena arena(ResolveThreads(threads));
  arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<size_t>(0, streams.num_units()),
                      [&](const tbb::blocked_range<size_t>& units) {
                        BallotBatch& batch = batches.local();  // once per chunk of units
                        for (size_t u = units.begin(); u != units.end(); ++u) {
                          streams.Generate(u, &batch);
                          aggregator.Add(batch);
                        }
                      });
  });
  return aggregator.Finish();
}

absl::StatusOr<SyntheticRun> RunSynthetic(const Election& election,
                                          const SyntheticRunOptions& options) {
  CANVASS_ASSIGN_OR_RETURN(Election scaled, ScaleElection(election, options.scale));
  SyntheticRun run{std::move(scaled), Tally()};
  CANVASS_ASSIGN_OR_RETURN(CalibratedStreams streams,
                           CalibratedStreams::Plan(run.election, options.generator));
  run.tally = AggregateStreams(run.election, streams, options.threads);
  return run;
}

}  // namespace canvass
