// Synthetic cast vote records from a results report: a NIST SP 1500-103 CVR JSON report
// whose ballots reproduce every figure the report gives at its lowest reported units
// (votes per selection, overvotes and undervotes per contest), at any scale, seeded.
// It turns any published results report into a realistic load with an exactly known
// outcome: `canvass reconcile --reported ERR --scale K` of the written file is `match`
// wherever the report's own levels add up.
//
// The plan (docs/FORMAT.md, "Generated cast vote records"):
//  - Ballots are generated at the *generating units*: units with reported figures and no
//    reported unit below them (the scope itself when nothing else is reported).
//  - Per unit and contest, with N = vote_for, V votes, O overvotes, U undervotes (all
//    times the scale): ceil(O / N) overvoted ballots mark N + 1 selections; M =
//    max(ceil((V + U) / N), largest selection's votes) ballots share the votes, dealt
//    round-robin in selection order so that no ballot marks a selection twice; each
//    ballot states its Overvotes and Undervotes, so the few figures the counting rules
//    alone cannot give (a remainder) are exact too.
//  - A unit's ballots are as many as its largest contest needs (or its reported ballots
//    cast, when larger); each contest sits on a seeded selection of them.
//  - Records are written unit by unit, or with `interleave` in a seeded order over all
//    units (a bijection on the record numbers); UniqueId is "<unit>-<n>".
//
// Thread safety: a CvrGenerator is immutable after Plan(); Write() may run from one
// thread at a time per output. The election must outlive the generator.
#ifndef CANVASS_ENGINE_SYNTH_CVR_GENERATOR_H_
#define CANVASS_ENGINE_SYNTH_CVR_GENERATOR_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/election/contests.h"

namespace canvass {

struct CvrGeneratorOptions {
  uint64_t scale = 1;
  uint64_t seed = 1;
  // Records in a seeded order across all units (as a central count or a live feed
  // delivers them) instead of unit by unit.
  bool interleave = false;
};

class CvrGenerator {
 public:
  // InvalidArgument when the figures cannot be reproduced (an overvote in a contest with
  // no more selections than vote_for, a scaled figure past 2^40 per unit).
  static absl::StatusOr<CvrGenerator> Plan(const ContestElection& election,
                                           const CvrGeneratorOptions& options);

  uint64_t ballots() const { return ballots_; }
  const std::vector<uint32_t>& generating_units() const { return generating_units_; }

  // What one generated ballot marks in one contest: its selections (indexes into the
  // contest's), and the Overvotes and Undervotes it states.
  struct BallotContest {
    uint32_t contest = 0;
    std::vector<uint32_t> marks;
    uint64_t overvotes = 0;
    uint64_t undervotes = 0;
  };
  // Record r (0 <= r < ballots()) in the written order: its unit (an election unit index),
  // its number within the unit (from 0), and its contests (replacing *contests), for
  // writers of other syntaxes (synth/dominion_generator.h).
  void Record(uint64_t r, uint32_t* unit, uint64_t* ballot,
              std::vector<BallotContest>* contests) const;

  // Writes the whole report (Election, GpUnit, then the CVR records) to `out`; returns
  // the bytes written. DataLoss naming `out_name` when a write fails.
  absl::StatusOr<uint64_t> Write(std::FILE* out, const std::string& out_name) const;
  // The same records, in the same order, as a cvb file of contest ballots (version 3,
  // io/cvb/contest_cvb.h), marked synthetic; returns the bytes written. Read back, it
  // gives the figures of the JSON report exactly.
  absl::StatusOr<uint64_t> WriteCvb(std::FILE* out, const std::string& out_name) const;

 private:
  struct ContestPlan {
    uint32_t contest = 0;
    uint64_t overvoted = 0;             // ballots
    uint64_t overvotes = 0;             // figure
    uint64_t shared = 0;                // M: ballots sharing the votes
    uint64_t votes = 0;                 // V
    uint64_t under_excess = 0;          // N*M - V - U: taken off the stated undervotes, in order
    std::vector<uint64_t> vote_prefix;  // per selection, votes before it in the dealing
    uint64_t stride = 1;                // the contest's bijection on the unit's ballots
    uint64_t offset = 0;
  };
  struct UnitPlan {
    uint32_t unit = 0;
    uint64_t ballots = 0;
    std::vector<ContestPlan> contests;
  };
  explicit CvrGenerator(const ContestElection& election) : election_(&election) {}
  void Contents(const UnitPlan& unit, uint64_t ballot, std::vector<BallotContest>* out) const;
  void AppendBallot(const UnitPlan& unit, uint64_t ballot, std::string* out) const;
  // The position of record r in the units laid end to end.
  uint64_t RecordOrder(uint64_t r) const;
  std::string Header() const;

  const ContestElection* election_;
  CvrGeneratorOptions options_;
  std::vector<UnitPlan> units_;
  std::vector<uint32_t> generating_units_;
  uint64_t ballots_ = 0;
  std::vector<uint64_t> unit_end_;  // per planned unit, records up to its end
  uint64_t stride_ = 1;             // the file order: record r is stride_ * r + offset_
  uint64_t offset_ = 0;
};

}  // namespace canvass

#endif  // CANVASS_ENGINE_SYNTH_CVR_GENERATOR_H_
