// Faulty synthetic streams with exact ground truth: takes calibrated streams and injects
// the faults of a FaultPlan, deterministically from the seed, while predicting the exact
// outcome a correct aggregator must report (records read, counted per station x choice,
// every rejection reason). The prediction follows each identity's copies as they are
// emitted; it never runs an aggregator.
//
// Work is cut into items of kUnitsPerItem consecutive units (a window: reorder shuffles
// records within it, across batches and stations). An item's output and prediction are
// pure functions of (seed, item), so any thread count gives the same streams.
//
// Thread safety: immutable after construction; Generate() is safe from many threads at
// once, each with its own output. The CalibratedStreams and Election must outlive it.
#ifndef CANVASS_ENGINE_SYNTH_FAULTY_STREAMS_H_
#define CANVASS_ENGINE_SYNTH_FAULTY_STREAMS_H_

#include <cstdint>
#include <vector>

#include "engine/ballot/batch.h"
#include "engine/ballot/tally.h"
#include "engine/election/election.h"
#include "engine/synth/fault_plan.h"
#include "engine/synth/generator.h"

namespace canvass {

// One ballot record outside a batch (the corrupt ones, which a file writer damages).
struct BallotRecord {
  StationIndex station;
  uint64_t seq;
  ChoiceIndex choice;
};

// What one work item delivers, in delivery order.
struct FaultyOutput {
  std::vector<BallotBatch> batches;   // station-homogeneous; station may be kUnknownStation
  std::vector<BallotRecord> corrupt;  // records damaged in transit: readers see `malformed`
  void Clear() {
    batches.clear();
    corrupt.clear();
  }
};

class FaultyStreams {
 public:
  static constexpr size_t kUnitsPerItem = 8;

  // Requires: `clean` was planned for `election`.
  FaultyStreams(const Election& election, const CalibratedStreams& clean, const FaultPlan& plan,
                uint64_t seed);

  size_t num_items() const { return (clean_.num_units() + kUnitsPerItem - 1) / kUnitsPerItem; }
  // The clean streams the faults are injected into.
  const CalibratedStreams& clean() const { return clean_; }

  // Replaces `out` with item `item`'s delivery, adds its predicted outcome to `*truth`
  // (a Tally shaped for the election) and the faults that fired to `*fired`.
  void Generate(size_t item, FaultyOutput* out, Tally* truth, FaultCounts* fired) const;

 private:
  struct StationFaults {
    uint64_t kept_serials = UINT64_MAX;  // serials above this are never sent (truncate)
    uint8_t double_report = 0;           // 0 no, 1 identical resend, 2 resend with changes
  };

  void EmitUnit(size_t unit, std::vector<BallotRecord>* first, std::vector<BallotRecord>* later,
                std::vector<BallotRecord>* resent, FaultyOutput* out, Tally* truth,
                FaultCounts* fired) const;
  void Batch(std::vector<BallotRecord>* records, bool shuffle, uint64_t key,
             FaultyOutput* out) const;

  const Election& election_;
  const CalibratedStreams& clean_;
  const FaultPlan plan_;
  const uint64_t seed_;
  const uint32_t num_choices_;
  const uint32_t batch_size_;
  std::vector<StationFaults> station_faults_;
};

}  // namespace canvass

#endif  // CANVASS_ENGINE_SYNTH_FAULTY_STREAMS_H_
