// Generate-and-aggregate pipeline on oneTBB.
#include "engine/pipeline/pipeline.h"

#include <optional>
#include <thread>

#include "engine/aggregate/aggregator.h"
#include "engine/base/status_macros.h"
#include "tbb/blocked_range.h"
#include "tbb/enumerable_thread_specific.h"
#include "tbb/global_control.h"
#include "tbb/parallel_for.h"
#include "tbb/task_arena.h"

namespace canvass {

absl::StatusOr<Tally> AggregateStreams(const Election& election, const CalibratedStreams& streams,
                                       int threads, AggregatorOptions options) {
  CANVASS_RETURN_IF_ERROR(Aggregator::CheckStateFits(election, options));
  Aggregator aggregator(election, options);
  tbb::enumerable_thread_specific<BallotBatch> batches;
  RunOnWorkers(threads, [&] {
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

absl::StatusOr<Tally> AggregateFaultyStreams(const Election& election, const FaultyStreams& streams,
                                             int threads, Tally* predicted, FaultCounts* fired) {
  CANVASS_RETURN_IF_ERROR(Aggregator::CheckStateFits(election));
  Aggregator aggregator(election);
  const uint32_t num_stations = static_cast<uint32_t>(election.stations.size());
  const uint32_t num_choices = static_cast<uint32_t>(election.contest().choices.size());
  tbb::enumerable_thread_specific<FaultyOutput> outputs;
  tbb::enumerable_thread_specific<Tally> truths(Tally(num_stations, num_choices));
  tbb::enumerable_thread_specific<FaultCounts> fired_counts;
  RunOnWorkers(threads, [&] {
    tbb::parallel_for(tbb::blocked_range<size_t>(0, streams.num_items()),
                      [&](const tbb::blocked_range<size_t>& items) {
                        FaultyOutput& output = outputs.local();
                        Tally& truth = truths.local();
                        FaultCounts& counts = fired_counts.local();
                        for (size_t item = items.begin(); item != items.end(); ++item) {
                          streams.Generate(item, &output, &truth, &counts);
                          for (const BallotBatch& batch : output.batches) aggregator.Add(batch);
                          aggregator.AddMalformed(output.corrupt.size());
                        }
                      });
  });
  *predicted = Tally(num_stations, num_choices);
  *fired = FaultCounts();
  for (const Tally& truth : truths) predicted->Merge(truth);
  for (const FaultCounts& counts : fired_counts) fired->Merge(counts);
  return aggregator.Finish();
}

absl::StatusOr<Tally> AggregateBatches(const Election& election,
                                       const std::vector<BallotBatch>& batches, uint64_t malformed,
                                       int threads) {
  CANVASS_RETURN_IF_ERROR(Aggregator::CheckStateFits(election));
  Aggregator aggregator(election);
  aggregator.AddMalformed(malformed);
  RunOnWorkers(threads, [&] {
    tbb::parallel_for(tbb::blocked_range<size_t>(0, batches.size()),
                      [&](const tbb::blocked_range<size_t>& range) {
                        for (size_t b = range.begin(); b != range.end(); ++b) {
                          aggregator.Add(batches[b]);
                        }
                      });
  });
  return aggregator.Finish();
}

absl::StatusOr<SyntheticRun> RunSynthetic(const Election& election,
                                          const SyntheticRunOptions& options) {
  CANVASS_ASSIGN_OR_RETURN(Election scaled, ScaleElection(election, options.scale));
  SyntheticRun run{std::move(scaled), Tally(), std::nullopt, FaultCounts{}};
  // Before the streams are planned: a scale whose state cannot be mapped is exit 2 at once.
  CANVASS_RETURN_IF_ERROR(Aggregator::CheckStateFits(run.election));
  CANVASS_ASSIGN_OR_RETURN(CalibratedStreams streams,
                           CalibratedStreams::Plan(run.election, options.generator));
  if (!options.faults.Any()) {
    CANVASS_ASSIGN_OR_RETURN(run.tally, AggregateStreams(run.election, streams, options.threads));
    return run;
  }
  FaultyStreams faulty(run.election, streams, options.faults, options.generator.seed);
  Tally predicted;
  CANVASS_ASSIGN_OR_RETURN(run.tally, AggregateFaultyStreams(run.election, faulty, options.threads,
                                                             &predicted, &run.fired));
  run.predicted = std::move(predicted);
  return run;
}

}  // namespace canvass
