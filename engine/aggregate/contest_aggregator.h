// The exactly-once aggregator of contest elections (election/contests.h): consumes
// batches of decoded cast ballots (ballot/cast_ballots.h) from any number of threads and
// produces a ContestTally, rolled up the unit hierarchy, that is independent of batch
// order, batch boundaries and thread count.
//
// Design (DuckDB's shape: local state per worker, combined once):
//  - Identities are arbitrary strings (a NIST CVR's UniqueId, a Dominion session's
//    tabulator/batch/record): each is keyed by its 128-bit XXH3 hash. Two different
//    identities share a key with probability about n^2 / 2^129 (below 10^-20 for a
//    billion ballots); docs/FORMAT.md says so.
//  - The exactly-once state is cut into kShards shards by key. Add() hashes its batch,
//    groups it by shard on the calling worker, and takes each shard's mutex once per batch
//    (never per ballot). A shard maps key -> {copies, conflicted, first copy}; the first
//    copy's unit and cells are kept, compactly, in the shard's arena, so that a later copy
//    is compared with it exactly (not by a hash) and a conflict can take it back.
//  - Nothing is counted while ballots arrive: Finish() adds up the kept first copies of
//    identities that are not in conflict, shard by shard in parallel, each task into its
//    own local cells, combined in shard order. A later copy that equals the first is a
//    `duplicate`; once any copy differs, every copy of the identity is a `conflict`.
//    The outcome depends only on the multiset of records, as DESIGN.md requires.
//  - Records a reader could not decode arrive through AddRejected() with their reason;
//    they count as read, and take no part in the identity rules.
//  - A job of several processes (base/rank_group.h) runs one aggregator per rank, each
//    fed the records its rank read. Finish(ranks) hands every shard to the rank that owns
//    it (shard % ranks), whose aggregator merges each identity's entries as one process
//    would have built them (copies added; conflicted when any side is, or when the first
//    copies differ); then each rank counts its shards and the tallies are summed exactly.
//    The sum is the one process's tally, whatever the share of records each rank read.
//
// Invariants (checked by Finish()):
//  1. records_read == counted + sum(rejected).
//  2. No identity is counted more than once: counted == number of identities not in
//     conflict, and the scope's ballots-cast cell == counted.
//  3. No figure wraps: every add is checked against 2^64 - 1 (OutOfRange).
//
// Memory: per distinct identity one map entry (32 bytes) and its first copy (2 words plus
// about one word per cell it adds), whatever the number of copies.
//
// Thread safety: Add() and AddRejected() are safe to call from many threads at once.
// Finish() must be called once, after every Add() has returned. The election must
// outlive the ContestAggregator.
//
// Usage:
//   ContestAggregator aggregator(election);
//   tbb::parallel_for(..., [&](...) { aggregator.Add(batch); });
//   absl::StatusOr<ContestTally> tally = aggregator.Finish();
#ifndef CANVASS_ENGINE_AGGREGATE_CONTEST_AGGREGATOR_H_
#define CANVASS_ENGINE_AGGREGATE_CONTEST_AGGREGATOR_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "engine/ballot/cast_ballots.h"
#include "engine/base/rank_group.h"
#include "engine/election/contests.h"

namespace canvass {

class ContestAggregator {
 public:
  static constexpr uint32_t kShards = 256;

  explicit ContestAggregator(const ContestElection& election);
  ~ContestAggregator();
  ContestAggregator(const ContestAggregator&) = delete;
  ContestAggregator& operator=(const ContestAggregator&) = delete;

  // Takes the batch's ballots into the exactly-once state.
  // Requires: every unit and cell of the batch lies within the election.
  void Add(const CastBallotBatch& batch);
  // Accounts `records` records read and rejected for `reason` by a reader.
  // Requires: reason is not kDuplicate or kConflict (those are the aggregator's to find).
  void AddRejected(CastReject reason, uint64_t records);

  // The tally, rolled up. OutOfRange when a figure would pass 2^64 - 1; Internal when an
  // invariant fails (a bug, never bad input).
  //
  // With `ranks` of more than one process, a collective: the whole job's tally on every
  // rank (shards exchanged, tallies summed; OutOfRange past 2^63 - 1, the limit of a sum
  // over ranks), and InvalidArgument naming the rank when what it sent is not whole
  // entries of shards this rank owns.
  absl::StatusOr<ContestTally> Finish(const RankGroup* ranks = nullptr);

 private:
  struct Shard;
  // Hands every shard another rank owns to it (emptying it here) and merges the entries
  // of the shards this rank owns that the others send.
  absl::Status ExchangeShards(const RankGroup& ranks);
  // Merges one rank's encoded entries into the shards (ExchangeShards).
  absl::Status MergeShards(int from, absl::string_view in, const RankGroup& ranks);
  const ContestElection& election_;
  std::unique_ptr<Shard[]> shards_;
  std::array<std::atomic<uint64_t>, kNumCastRejects> rejected_by_reader_{};
  std::atomic<uint64_t> records_read_{0};
};

}  // namespace canvass

#endif  // CANVASS_ENGINE_AGGREGATE_CONTEST_AGGREGATOR_H_
