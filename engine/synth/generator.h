// The calibrated synthetic generator: splits each reported figure across the roster in
// proportion to station weight (exact integer sums), then lays each station's ballots
// over its serials 1..n in a seeded pseudorandom order, as station-homogeneous columnar
// batches produced on demand.
//
// Work is cut into units of at most `batch_size` consecutive serials of one station, so a
// station holding half of all ballots still spreads over every worker. Each unit's
// content is a pure function of (seed, station, unit), so the streams are identical for
// any thread count and any order of generation.
//
// How choices are laid over serials (documented in docs/FORMAT.md, "Synthetic streams"):
//  1. Station split: for each choice, reported figure x scale is apportioned over stations
//     by weight (largest remainder), so per-choice sums are exact.
//  2. Unit split: walking a station's units in order, each unit draws its share of every
//     choice from the hypergeometric law of drawing the unit's serials without
//     replacement from what is left of the station (normal approximation, clamped to the
//     feasible range, so the sums stay exact). This is the marginal a uniform shuffle of
//     the whole station would give.
//  3. Within a unit, the unit's multiset of choices is laid out in order of a keyed
//     pseudorandom permutation of the unit's positions.
//
// Thread safety: a CalibratedStreams is immutable after Plan(); Generate() is safe to
// call from many threads at once, each with its own batch.
//
// Usage:
//   CANVASS_ASSIGN_OR_RETURN(CalibratedStreams streams, CalibratedStreams::Plan(e, options));
//   BallotBatch batch;
//   for (size_t u = 0; u < streams.num_units(); ++u) { streams.Generate(u, &batch); ... }
#ifndef CANVASS_ENGINE_SYNTH_GENERATOR_H_
#define CANVASS_ENGINE_SYNTH_GENERATOR_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/ballot/batch.h"
#include "engine/base/kernel.h"
#include "engine/election/election.h"

namespace canvass {

struct GeneratorOptions {
  uint64_t seed = 1;
  // Records per unit (= per batch): a power of two in [2^4, 2^16].
  uint32_t batch_size = kDefaultBatchSize;
  // The instruction-set tier of the generating loops (engine/base/kernel.h); every tier
  // generates the same batches.
  Kernel kernel = ActiveKernel();
};

// Returns `election` with every reported figure and every station capacity multiplied by
// `scale` (weights unchanged). OutOfRange when a product reaches 2^63.
// Requires: scale >= 1.
absl::StatusOr<Election> ScaleElection(const Election& election, uint64_t scale);

class CalibratedStreams {
 public:
  // Plans the streams for `election`'s reported figures (which must be present and
  // internally consistent). InvalidArgument when a station's share exceeds its capacity.
  // The election must outlive the returned object.
  static absl::StatusOr<CalibratedStreams> Plan(const Election& election,
                                                const GeneratorOptions& options);

  size_t num_units() const { return units_.size(); }
  uint64_t total_ballots() const { return total_ballots_; }
  // Ballots planned for station s and choice c: the calibrated ground truth.
  uint64_t planned(StationIndex s, ChoiceIndex c) const {
    return planned_[static_cast<size_t>(s) * num_choices_ + c];
  }
  StationIndex unit_station(size_t unit) const { return units_[unit].station; }
  uint64_t unit_first_seq(size_t unit) const { return units_[unit].first_seq; }

  // Replaces `batch`'s content with unit `unit`'s records, serials ascending.
  // Requires: unit < num_units().
  void Generate(size_t unit, BallotBatch* batch) const;

 private:
  struct Unit {
    StationIndex station;
    uint32_t size;       // records in the unit
    uint64_t first_seq;  // serial of the first record
    uint64_t counts_at;  // offset of the unit's per-choice counts in unit_counts_
  };

  CalibratedStreams() = default;
  void SplitStationIntoUnits(StationIndex s, uint64_t station_ballots, size_t first_unit);

  const Election* election_ = nullptr;
  GeneratorOptions options_;
  uint32_t num_choices_ = 0;
  uint64_t total_ballots_ = 0;
  std::vector<uint64_t> planned_;      // station x choice
  std::vector<Unit> units_;            // station order, then serial order
  std::vector<uint32_t> unit_counts_;  // unit x choice
};

}  // namespace canvass

#endif  // CANVASS_ENGINE_SYNTH_GENERATOR_H_
