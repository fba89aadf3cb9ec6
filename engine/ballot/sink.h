// Where readers put the ballots they read: the interface between a file format (engine/io)
// and whatever counts its records (the Aggregator, or a test's collector), so that a
// reader never depends on the counting stage above it.
//
// Thread safety: an implementation says; the Aggregator's are safe to call from many
// threads at once. Calls are per batch or per run of serials, never per record, so the
// virtual call costs nothing measurable.
#ifndef CANVASS_ENGINE_BALLOT_SINK_H_
#define CANVASS_ENGINE_BALLOT_SINK_H_

#include <cstddef>
#include <cstdint>

#include "engine/ballot/batch.h"
#include "engine/election/election.h"

namespace canvass {

class BallotSink {
 public:
  virtual ~BallotSink() = default;
  // Records of one station; the view is valid only during the call.
  virtual void Add(const BatchView& batch) = 0;
  // Records of any stations, in any order; the view is valid only during the call.
  virtual void AddMixed(const MixedBatchView& batch) = 0;
  // `count` records of `station` with serials first, first + 1, ...: choices packed
  // `choice_bits` to a field (engine/ballot/packed_choices.h), or one per byte.
  virtual void AddRun(StationIndex station, uint64_t first, size_t count,
                      const uint64_t* packed_choices, int choice_bits) = 0;
  virtual void AddRun(StationIndex station, uint64_t first, size_t count,
                      const ChoiceIndex* choices) = 0;
  // Records that could not be parsed: counted as read and rejected as malformed.
  virtual void AddMalformed(uint64_t records) = 0;
};

}  // namespace canvass

#endif  // CANVASS_ENGINE_BALLOT_SINK_H_
