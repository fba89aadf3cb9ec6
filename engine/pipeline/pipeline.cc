// Generate-and-aggregate pipeline on oneTBB.
#include "engine/pipeline/pipeline.h"

#include <algorithm>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/aggregate/aggregator.h"
#include "engine/ballot/owners.h"
#include "engine/base/activity.h"
#include "engine/base/status_macros.h"
#include "tbb/blocked_range.h"
#include "tbb/enumerable_thread_specific.h"
#include "tbb/global_control.h"
#include "tbb/parallel_for.h"
#include "tbb/task_arena.h"

namespace canvass {
namespace {

// Per unit of the streams: whether this process generates it (all of them without a
// group): whether it owns the unit's identities (ballot/owners.h). A unit's serials lie in
// one block of kOwnedSerials (units are at most 2^16 serials, starting at 1 + k x size).
std::vector<uint8_t> OwnedUnits(const Election& election, const CalibratedStreams& streams,
                                const RankGroup* ranks) {
  std::vector<uint8_t> owned(streams.num_units(), 1);
  if (ranks == nullptr) return owned;
  const IdentityOwners owners(election, ranks->size());
  for (size_t u = 0; u < owned.size(); ++u) {
    owned[u] = owners.Owner(streams.unit_station(u), streams.unit_first_seq(u)) == ranks->rank();
  }
  return owned;
}

absl::StatusOr<Tally> AggregateOwnedStreams(const Election& election,
                                            const CalibratedStreams& streams, int threads,
                                            AggregatorOptions options,
                                            const std::vector<uint8_t>& owned) {
  CANVASS_RETURN_IF_ERROR(Aggregator::CheckStateFits(election, options));
  Aggregator aggregator(election, options);
  tbb::enumerable_thread_specific<BallotBatch> batches;
  RunOnWorkers(threads, [&] {
    tbb::parallel_for(tbb::blocked_range<size_t>(0, streams.num_units()),
                      [&](const tbb::blocked_range<size_t>& units) {
                        BallotBatch& batch = batches.local();  // once per chunk of units
                        for (size_t u = units.begin(); u != units.end(); ++u) {
                          if (!owned[u]) continue;
                          streams.Generate(u, &batch);
                          aggregator.Add(batch);
                        }
                      });
  });
  return aggregator.Finish();
}

absl::StatusOr<Tally> AggregateOwnedFaultyStreams(const Election& election,
                                                  const CalibratedStreams& clean,
                                                  const FaultyStreams& streams, int threads,
                                                  AggregatorOptions options,
                                                  const std::vector<uint8_t>& owned,
                                                  Tally* predicted, FaultCounts* fired) {
  CANVASS_RETURN_IF_ERROR(Aggregator::CheckStateFits(election, options));
  Aggregator aggregator(election, options);
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
                          // Every copy of an identity lies in its unit's item, so an item
                          // is counted whole by one process.
                          if (!owned[item * FaultyStreams::kUnitsPerItem]) continue;
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

// A run's figures summed over the group: every rank's tally, prediction and faults fired.
absl::Status SumOverGroup(const RankGroup& ranks, SyntheticRun* run) {
  CANVASS_ASSIGN_OR_RETURN(run->tally, SumTallyOverRanks(ranks, run->tally));
  if (!run->predicted) return absl::OkStatus();
  CANVASS_ASSIGN_OR_RETURN(run->predicted, SumTallyOverRanks(ranks, *run->predicted));
  const std::vector<uint64_t> fired(run->fired.fired.begin(), run->fired.fired.end());
  CANVASS_ASSIGN_OR_RETURN(const std::vector<uint64_t> all, SumOverRanks(ranks, fired));
  std::copy(all.begin(), all.end(), run->fired.fired.begin());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Tally> AggregateStreams(const Election& election, const CalibratedStreams& streams,
                                       int threads, AggregatorOptions options) {
  return AggregateOwnedStreams(election, streams, threads, options,
                               OwnedUnits(election, streams, nullptr));
}

absl::StatusOr<Tally> AggregateFaultyStreams(const Election& election, const FaultyStreams& streams,
                                             int threads, Tally* predicted, FaultCounts* fired) {
  return AggregateOwnedFaultyStreams(election, streams.clean(), streams, threads, {},
                                     OwnedUnits(election, streams.clean(), nullptr), predicted,
                                     fired);
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
  // (Every rank plans the same streams, so a failure up to here is every rank's.)
  CANVASS_RETURN_IF_ERROR(Aggregator::CheckStateFits(run.election));
  CANVASS_ASSIGN_OR_RETURN(CalibratedStreams streams,
                           CalibratedStreams::Plan(run.election, options.generator));
  const std::vector<uint8_t> owned = OwnedUnits(run.election, streams, options.ranks);
  // A rank of several writes only its blocks of the state: small pages (aggregator.h).
  AggregatorOptions aggregation;
  aggregation.huge_pages = options.ranks == nullptr || options.ranks->size() == 1;
  if (options.ranks != nullptr) {
    SetActivity(absl::StrCat("generating and counting the synthetic ballots of its ",
                             std::count(owned.begin(), owned.end(), 1), " units"));
  }
  absl::Status counted;
  if (!options.faults.Any()) {
    absl::StatusOr<Tally> tally =
        AggregateOwnedStreams(run.election, streams, options.threads, aggregation, owned);
    counted = tally.status();
    if (tally.ok()) run.tally = *std::move(tally);
  } else {
    FaultyStreams faulty(run.election, streams, options.faults, options.generator.seed);
    Tally predicted;
    absl::StatusOr<Tally> tally = AggregateOwnedFaultyStreams(
        run.election, streams, faulty, options.threads, aggregation, owned, &predicted, &run.fired);
    counted = tally.status();
    if (tally.ok()) run.tally = *std::move(tally);
    run.predicted = std::move(predicted);
  }
  if (options.ranks == nullptr) {
    CANVASS_RETURN_IF_ERROR(counted);
    return run;
  }
  CANVASS_RETURN_IF_ERROR(AgreeOnStatus(*options.ranks, counted));
  CANVASS_RETURN_IF_ERROR(SumOverGroup(*options.ranks, &run));
  return run;
}

}  // namespace canvass
