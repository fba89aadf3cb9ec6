// Records routed to the rank that owns their station, for a reading job run by several
// processes (base/rank_group.h). Each rank reads its share of the files' ranges; a record
// of a station another rank owns (StationOwner of its id) is queued for that rank and
// handed over at the end of the epoch, so that every identity's exactly-once state lives
// on one rank and a copy read by another rank is caught as a duplicate or a conflict
// exactly as in one process. Records of stations this rank owns, of unknown stations and
// malformed ones are counted here at once.
//
// On the wire, per destination: blocks of (count u64, then count station indexes u32,
// serials u64 and choices u8), little-endian: 13 bytes a record.
//
// Thread safety: the BallotSink calls are safe from many threads at once (queues are per
// worker); Exchange() is a collective, called from the job's thread between epochs, when
// no worker is adding.
#ifndef CANVASS_ENGINE_INGEST_ROUTING_H_
#define CANVASS_ENGINE_INGEST_ROUTING_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "engine/aggregate/aggregator.h"
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

  // Collective: sends every queued record to its owner and counts, on `threads` workers,
  // what the other ranks sent here. InvalidArgument naming the rank when what it sent is
  // not a whole encoding (every rank then returns an error: AgreeOnStatus).
  absl::Status Exchange(int threads);

  uint64_t records_sent() const { return records_sent_; }

 private:
  struct Queue {  // one worker's records for one rank
    std::vector<StationIndex> station;
    std::vector<uint64_t> seq;
    std::vector<ChoiceIndex> choice;
  };
  using Queues = std::vector<Queue>;  // per rank

  bool Local(StationIndex station) const {
    return station == kUnknownStation || owner_[station] == ranks_.rank();
  }
  void Queue1(Queues& queues, StationIndex station, uint64_t seq, ChoiceIndex choice) {
    Queue& queue = queues[owner_[station]];
    queue.station.push_back(station);
    queue.seq.push_back(seq);
    queue.choice.push_back(choice);
  }

  const RankGroup& ranks_;
  Aggregator* local_;
  std::vector<int> owner_;  // per station
  tbb::enumerable_thread_specific<Queues> queues_;
  // Per worker: the records of a mixed batch that stay here.
  tbb::enumerable_thread_specific<Queue> kept_;
  uint64_t records_sent_ = 0;
};

}  // namespace canvass

#endif  // CANVASS_ENGINE_INGEST_ROUTING_H_
