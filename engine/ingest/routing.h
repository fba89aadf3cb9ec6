// Records routed to the rank that owns their identity, for a reading job run by several
// processes (base/rank_group.h). Each rank reads its share of the files' ranges; a record
// whose (station, serial) another rank owns (ballot/owners.h: blocks of 2^23 serials
// shared out by capacity) is queued for that rank and handed over at the end
// of the epoch, so that every identity's exactly-once state lives on one rank and a copy
// read by another rank is caught as a duplicate or a conflict exactly as in one process.
// Records this rank owns, those of unknown stations and malformed ones are counted here
// at once. Runs are cut where a block of serials ends.
//
// What a reader hands over keeps its shape on the wire, so the owner counts it on the
// same path the reader's rank would have: a run of consecutive serials stays a run (its
// choices packed as read, 2 bits a record for the reference election), a station batch
// a batch (one of consecutive serials a run), and records of mixed stations a mixed
// block. Blocks, little-endian; W is a width byte (bit 0: station indexes in 2 bytes,
// bit 1: serials in 4), set when every value of the block fits:
//   run, packed   'P' station u32, first u64, count u32, bits u8, words u64[...]
//   run, bytes    'R' station u32, first u64, count u32, choices u8[count]
//   batch         'B' W, station u32, count u32, serials u32|u64[count], choices u8[count]
//   mixed         'M' W, count u32, stations u16|u32[count], serials u32|u64[count],
//                 choices u8[count]
// So a record of a station file costs a byte on the wire (2 bits when packed), one of an
// interleaved file 7 bytes.
//
// Thread safety: the BallotSink calls are safe from many threads at once (queues are per
// worker); Exchange() is a collective, called from the job's thread between epochs, when
// no worker is adding.
#ifndef CANVASS_ENGINE_INGEST_ROUTING_H_
#define CANVASS_ENGINE_INGEST_ROUTING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/aggregate/aggregator.h"
#include "engine/ballot/owners.h"
#include "engine/ballot/sink.h"
#include "engine/base/rank_group.h"
#include "engine/election/election.h"
#include "tbb/enumerable_thread_specific.h"

namespace canvass {

class RoutingSink final : public BallotSink {
 public:
  // Requires: every argument outlives the sink; `local` counts this rank's share.
  RoutingSink(const Election& election, const RankGroup& ranks, Aggregator* local);

  void Add(const BatchView& batch) override;
  void AddMixed(const MixedBatchView& batch) override;
  void AddRun(StationIndex station, uint64_t first, size_t count, const uint64_t* packed_choices,
              int choice_bits) override;
  void AddRun(StationIndex station, uint64_t first, size_t count,
              const ChoiceIndex* choices) override;
  void AddMalformed(uint64_t records) override { local_->AddMalformed(records); }

  // Collective: sends every queued block to its owner and counts, on `threads` workers,
  // what the other ranks sent here. InvalidArgument naming the rank when what it sent is
  // not whole blocks of stations this rank owns.
  absl::Status Exchange(int threads);

 private:
  // One worker's queue for one rank: encoded blocks, and the mixed records not yet in one.
  struct Queue {
    std::string blocks;
    std::vector<StationIndex> station;
    std::vector<uint64_t> seq;
    std::vector<ChoiceIndex> choice;
  };
  using Queues = std::vector<Queue>;  // per rank

  int Owner(StationIndex station, uint64_t seq) const { return owners_.Owner(station, seq); }
  // Queues records of one station, all owned by rank `to`: as a run when their serials
  // are consecutive, else as a batch.
  void EncodeBatch(int to, StationIndex station, const uint64_t* seq, const ChoiceIndex* choice,
                   size_t count);

  const RankGroup& ranks_;
  Aggregator* local_;
  const IdentityOwners owners_;
  const size_t num_stations_;
  tbb::enumerable_thread_specific<Queues> queues_;
  // Per worker: the records of a mixed batch that stay here.
  struct Kept {
    std::vector<StationIndex> station;
    std::vector<uint64_t> seq;
    std::vector<ChoiceIndex> choice;
    std::vector<size_t> filled;  // per rank: records in its queue (this rank: kept)
    // Per rank: its queue's columns (this rank: the kept ones), for AddMixed.
    std::vector<StationIndex*> station_to;
    std::vector<uint64_t*> seq_to;
    std::vector<ChoiceIndex*> choice_to;
  };
  tbb::enumerable_thread_specific<Kept> kept_;
  // Per worker: a station batch whose serials several ranks own, cut per rank.
  struct Split {
    std::vector<std::vector<uint64_t>> seq;
    std::vector<std::vector<ChoiceIndex>> choice;
  };
  tbb::enumerable_thread_specific<Split> split_;
};

}  // namespace canvass

#endif  // CANVASS_ENGINE_INGEST_ROUTING_H_
