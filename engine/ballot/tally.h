// Tally: the result of aggregation. Counted ballots per station x choice, rejected
// records by reason, and records read: everything the reconciler and the reports need.
// A plain value: copy it, compare it, read it from many threads.
#ifndef CANVASS_ENGINE_BALLOT_TALLY_H_
#define CANVASS_ENGINE_BALLOT_TALLY_H_

#include <array>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/base/rank_group.h"
#include "engine/election/election.h"

namespace canvass {

// Why a record was not counted, in the order DESIGN.md tests them: a record gets the
// first reason that applies.
enum class RejectReason : uint8_t {
  kMalformed = 0,
  kUnknownStation,
  kUnknownChoice,
  kBadSeq,
  kDuplicate,
  kConflict,
};
inline constexpr int kNumRejectReasons = 6;
// The stable name used in reports: "malformed", "unknown_station", ...
absl::string_view RejectReasonName(RejectReason reason);

struct Tally {
  ContestIndex contest = 0;  // the contest these figures are of
  uint32_t num_stations = 0;
  uint32_t num_choices = 0;
  uint64_t records_read = 0;
  std::array<uint64_t, kNumRejectReasons> rejected{};
  std::vector<uint64_t> counted;          // station x choice, station-major
  std::vector<uint64_t> station_records;  // records read per station (roster stations only)

  Tally() = default;
  Tally(uint32_t stations, uint32_t choices)
      : num_stations(stations),
        num_choices(choices),
        counted(static_cast<size_t>(stations) * choices, 0),
        station_records(stations, 0) {}

  uint64_t Counted(StationIndex s, ChoiceIndex c) const {
    return counted[static_cast<size_t>(s) * num_choices + c];
  }
  uint64_t Rejected(RejectReason reason) const { return rejected[static_cast<int>(reason)]; }
  // Counted ballots per choice, summed over stations.
  std::vector<uint64_t> ChoiceTotals() const;
  uint64_t TotalCounted() const;
  uint64_t TotalRejected() const;
  // Stations with at least one record read.
  uint32_t StationsReporting() const;
  // Adds every figure of `other`. Requires: same shape.
  void Merge(const Tally& other);

  friend bool operator==(const Tally&, const Tally&) = default;
};

// A collective (base/rank_group.h): every rank's `mine`, summed figure by figure, on every
// rank. Each rank counts a disjoint share of the records (the stations it owns, the
// rejections of what it read), so the sum is the tally of the whole job. OutOfRange when
// a figure would pass 2^63 - 1. Requires: the same shape on every rank.
absl::StatusOr<Tally> SumTallyOverRanks(const RankGroup& group, const Tally& mine);

}  // namespace canvass

#endif  // CANVASS_ENGINE_BALLOT_TALLY_H_
