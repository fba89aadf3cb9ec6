// FaultPlan: which faults to inject into synthetic streams and how often, parsed from the
// `--faults` spec, e.g. "drop=0.01,dup=0.005,conflict=0.001,reorder=1".
//
// Every fault is a probability in [0, 1]. Record faults (drop, dup, conflict, corrupt,
// unknown_station, unknown_choice, bad_seq) apply to each ballot independently; station
// faults (truncate, double_report) to each station; reorder to each window of units.
// The meaning of each fault and the exact outcome it must produce are in docs/STRESS.md.
// A plain value; thread-safe to read.
#ifndef CANVASS_ENGINE_SYNTH_FAULT_PLAN_H_
#define CANVASS_ENGINE_SYNTH_FAULT_PLAN_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace canvass {

enum class Fault : uint8_t {
  kDrop = 0,        // a record never arrives (a serial gap)
  kDup,             // a record is delivered again with the same choice
  kConflict,        // a second copy with a different choice
  kCorrupt,         // a record damaged so the reader rejects it as malformed
  kUnknownStation,  // a record misrouted to a station not in the roster
  kUnknownChoice,   // a record whose choice code is not in the contest
  kBadSeq,          // a record whose serial is 0 or past capacity
  kReorder,         // records shuffled across batches and stations (per window of units)
  kTruncate,        // a station's stream cut short (per station)
  kDoubleReport,    // a station's whole stream sent twice (per station)
};
inline constexpr int kNumFaults = 10;
// The spec name: "drop", "dup", ..., "double_report".
absl::string_view FaultName(Fault fault);

struct FaultPlan {
  std::array<double, kNumFaults> probability{};

  double operator[](Fault fault) const { return probability[static_cast<int>(fault)]; }
  double& operator[](Fault fault) { return probability[static_cast<int>(fault)]; }
  bool Any() const;

  // Parses "name=p,name=p,...". InvalidArgument naming the bad item for an unknown name,
  // a repeated name, a missing '=', a value that is not a number or outside [0, 1].
  // The empty spec is the empty plan.
  static absl::StatusOr<FaultPlan> Parse(absl::string_view spec);
  // The canonical spec: every non-zero fault in enum order, in plain decimal notation
  // with the shortest digits that parse back to the same probability.
  std::string ToString() const;

  friend bool operator==(const FaultPlan&, const FaultPlan&) = default;
};

// How many times each fault fired while generating, to prove the plan was exercised.
struct FaultCounts {
  std::array<uint64_t, kNumFaults> fired{};
  uint64_t operator[](Fault fault) const { return fired[static_cast<int>(fault)]; }
  void Add(Fault fault, uint64_t n = 1) { fired[static_cast<int>(fault)] += n; }
  void Merge(const FaultCounts& other) {
    for (int f = 0; f < kNumFaults; ++f) fired[f] += other.fired[f];
  }
  friend bool operator==(const FaultCounts&, const FaultCounts&) = default;
};

}  // namespace canvass

#endif  // CANVASS_ENGINE_SYNTH_FAULT_PLAN_H_
