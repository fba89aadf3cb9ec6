// Cast ballots of a contest election (election/contests.h) as readers hand them on: a
// columnar batch of decoded ballots (identity, unit, the cells each adds) and the tally
// they add up to. Plain values; a batch has one owner at a time, a tally is read-only.
//
// A reader (io/nist/) decodes each cast vote record into its cells by the counting rules
// (docs/FORMAT.md): per contest, the selections' votes or the overvote, the undervotes,
// and one "ballots" cell; and the unit's ballots-cast cell. The aggregator
// (aggregate/contest_aggregator.h) decides exactly-once on the identities and adds the
// cells of the ballots it counts.
#ifndef CANVASS_ENGINE_BALLOT_CAST_BALLOTS_H_
#define CANVASS_ENGINE_BALLOT_CAST_BALLOTS_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "engine/election/contests.h"

namespace canvass {

// Why a cast vote record was not counted, in the order they are tested: a record gets the
// first reason that applies (docs/FORMAT.md). Only well-formed records of known units,
// contests and selections take part in the identity rules.
enum class CastReject : uint8_t {
  kMalformed = 0,     // not a cast vote record (bad JSON or XML inside it, schema broken)
  kUnknownUnit,       // its unit is not a reporting unit of the election
  kUnknownContest,    // a contest id not in the election
  kUnknownSelection,  // a selection id not in its contest
  kDuplicate,         // an extra identical copy of a counted ballot
  kConflict,          // every copy of an identity whose copies differ
};
inline constexpr int kNumCastRejects = 6;
// "malformed", "unknown_unit", "unknown_contest", "unknown_selection", "duplicate",
// "conflict": the keys of report_version 2.
absl::string_view CastRejectName(CastReject reason);

// A ballot read from an adjudicated version of its record (Dominion's Modified).
inline constexpr uint8_t kBallotAdjudicated = 1;

struct CellVotes {
  uint32_t cell = 0;
  uint32_t votes = 0;
  friend bool operator==(const CellVotes&, const CellVotes&) = default;
};

// Decoded ballots, columnar: ballot i has identity bytes [identity_end[i-1], identity_end[i])
// of `identity_bytes`, unit `units[i]`, and cells [cells_end[i-1], cells_end[i]) of
// `cells`, sorted by cell with no cell twice (Add merges them).
class CastBallotBatch {
 public:
  // Appends one ballot. `cells` may be in any order and name a cell more than once.
  // `flags` (kBallotAdjudicated) say how the ballot was read; they are not part of its
  // content (two copies that differ only in them are the same ballot).
  // Requires: unit < election units, every cell < cells_per_unit.
  void Add(absl::string_view identity, uint32_t unit, std::span<const CellVotes> cells,
           uint8_t flags = 0);
  void Clear();

  size_t size() const { return units_.size(); }
  bool empty() const { return units_.empty(); }
  absl::string_view identity(size_t i) const {
    const uint32_t begin = i == 0 ? 0 : identity_end_[i - 1];
    return absl::string_view(identity_bytes_.data() + begin, identity_end_[i] - begin);
  }
  uint32_t unit(size_t i) const { return units_[i]; }
  uint8_t flags(size_t i) const { return flags_[i]; }
  std::span<const CellVotes> cells(size_t i) const {
    const uint32_t begin = i == 0 ? 0 : cells_end_[i - 1];
    return std::span<const CellVotes>(cells_.data() + begin, cells_end_[i] - begin);
  }
  size_t identity_bytes() const { return identity_bytes_.size(); }

 private:
  std::string identity_bytes_;
  std::vector<uint32_t> identity_end_;
  std::vector<uint32_t> units_;
  std::vector<uint8_t> flags_;
  std::vector<CellVotes> cells_;
  std::vector<uint32_t> cells_end_;
};

// What aggregation found. `cells` holds every unit's figures rolled up its hierarchy
// (unit-major, cells_per_unit per unit): a unit's figure is the sum over the counted
// ballots of the unit and of every unit below it.
struct ContestTally {
  uint32_t num_units = 0;
  uint32_t cells_per_unit = 0;
  uint64_t records_read = 0;
  uint64_t counted = 0;
  // Counted ballots with a copy read kBallotAdjudicated (equal copies: any of them, so
  // that the figure does not depend on the order copies arrive in).
  uint64_t adjudicated = 0;
  std::array<uint64_t, kNumCastRejects> rejected{};
  std::vector<uint64_t> cells;

  uint64_t Cell(uint32_t unit, uint32_t cell) const {
    return cells[static_cast<size_t>(unit) * cells_per_unit + cell];
  }
  uint64_t Rejected(CastReject reason) const { return rejected[static_cast<int>(reason)]; }
  uint64_t TotalRejected() const;

  friend bool operator==(const ContestTally&, const ContestTally&) = default;
};

}  // namespace canvass

#endif  // CANVASS_ENGINE_BALLOT_CAST_BALLOTS_H_
