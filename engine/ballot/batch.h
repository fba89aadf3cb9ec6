// The unit of data flow between stages: a station-homogeneous columnar batch of ballot
// records (or a mixed one, with a station column). Readers and the generator fill
// batches; the aggregator consumes them.
//
// A batch is owned by one thread at a time; it is filled, handed to the aggregator, then
// cleared and reused, so a run of 10^9 ballots never holds all records at once.
#ifndef CANVASS_ENGINE_BALLOT_BATCH_H_
#define CANVASS_ENGINE_BALLOT_BATCH_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "engine/election/election.h"

namespace canvass {

// Station index of a batch whose station id is not in the roster.
inline constexpr StationIndex kUnknownStation = std::numeric_limits<StationIndex>::max();
// Choice value of a record whose choice code is not in the contest.
inline constexpr ChoiceIndex kUnknownChoice = std::numeric_limits<ChoiceIndex>::max();

// Default number of records per batch: 16 Ki records (144 KiB of columns) stay in L2.
inline constexpr uint32_t kDefaultBatchSize = 1 << 14;

// A read-only view of a batch's columns, e.g. straight over a mapped cvb block.
struct BatchView {
  StationIndex station = kUnknownStation;
  const uint64_t* seq = nullptr;
  const ChoiceIndex* choice = nullptr;
  size_t count = 0;
  ContestIndex contest = 0;  // the contest the choices are of (one per batch)
  size_t size() const { return count; }
};

// Records of any stations in the order read (a central scanner's file, a live feed): one
// station column beside the serial and choice columns. kUnknownStation marks a record
// whose station id is not in the roster.
struct MixedBatchView {
  const StationIndex* station = nullptr;
  const uint64_t* seq = nullptr;
  const ChoiceIndex* choice = nullptr;
  size_t count = 0;
  ContestIndex contest = 0;
  size_t size() const { return count; }
};

struct BallotBatch {
  StationIndex station = kUnknownStation;
  ContestIndex contest = 0;
  std::vector<uint64_t> seq;        // ballot serial as written (valid range 1..capacity)
  std::vector<ChoiceIndex> choice;  // index into Contest::choices, or kUnknownChoice

  size_t size() const { return seq.size(); }
  BatchView View() const { return {station, seq.data(), choice.data(), seq.size(), contest}; }
  void Clear() {
    seq.clear();
    choice.clear();
  }
};

}  // namespace canvass

#endif  // CANVASS_ENGINE_BALLOT_BATCH_H_
