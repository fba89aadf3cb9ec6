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
//  - With a fault plan (synth/fault_plan.h): every decision is a pure function of (seed,
//    unit, ballot) or (seed, unit), taken in the order of docs/STRESS.md's table. A unit
//    is `truncate`d after a uniform number of its ballots (the rest lost); a ballot is
//    `drop`ped (lost), `corrupt` (its bytes damaged so that the reader rejects it as
//    malformed, located), `unknown_station` (its BallotStyleUnitId names no unit:
//    unknown_unit), `unknown_choice` (a mark of a selection its contest lacks:
//    unknown_selection), or delivered intact; an intact ballot may get a `dup` (an equal
//    copy) and a `conflict` (a copy that differs: its last contest left out, or an
//    undervote added to a ballot with none), and a `double_report` unit sends each intact
//    ballot again (half the units identically, half changing each resent copy with
//    probability 1/4). The copies follow every first record in the file. `bad_seq` and
//    `reorder` are refused: records have no serials, and the order is --interleave's.
//    Write() then also gives the ground truth (io/contest_prediction.h), predicted from
//    what was written by DESIGN.md's rules, never by aggregating.
//
// Thread safety: a CvrGenerator is immutable after Plan(); Write() may run from one
// thread at a time per output. The election must outlive the generator.
#ifndef CANVASS_ENGINE_SYNTH_CVR_GENERATOR_H_
#define CANVASS_ENGINE_SYNTH_CVR_GENERATOR_H_

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/election/contests.h"
#include "engine/io/contest_prediction.h"
#include "engine/synth/fault_plan.h"

namespace canvass {

struct CvrGeneratorOptions {
  uint64_t scale = 1;
  uint64_t seed = 1;
  // Records in a seeded order across all units (as a central count or a live feed
  // delivers them) instead of unit by unit.
  bool interleave = false;
  // Faults to inject (docs/STRESS.md); the empty plan writes every ballot once, intact.
  FaultPlan faults;
};

// Where `canvass generate --reported ... --faults ... --out OUT` writes its prediction:
// OUT-predicted.json beside the folder (OUT without its trailing '/'), since every .json
// inside it is read as cast vote records.
std::string CvrPredictionPath(const std::string& out);

class CvrGenerator {
 public:
  // InvalidArgument when the figures cannot be reproduced (an overvote in a contest with
  // no more selections than vote_for, a scaled figure past 2^40 per unit), or the fault
  // plan has a fault records cannot take (bad_seq, reorder).
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
  // writers of other syntaxes (synth/dominion_generator.h). Faults are not applied.
  void Record(uint64_t r, uint32_t* unit, uint64_t* ballot,
              std::vector<BallotContest>* contests) const;

  // Writes the whole report (Election, GpUnit, then the CVR records, faults applied) to
  // `out`; returns the bytes written, and when `predicted` is set, what a correct engine
  // must count from them (its election, seed, scale and faults filled in). DataLoss
  // naming `out_name` when a write fails.
  absl::StatusOr<uint64_t> Write(std::FILE* out, const std::string& out_name,
                                 ContestPrediction* predicted = nullptr) const;
  // The same records, in the same order, as a cvb file of contest ballots (version 3,
  // io/cvb/contest_cvb.h), marked synthetic; returns the bytes written. Read back, it
  // gives the figures of the JSON report exactly. A record the JSON's reader rejects for
  // its unit or selection is written as a rejected record with that reason (as `canvass
  // convert` writes one), a corrupt one as a record of an unknown kind (malformed).
  absl::StatusOr<uint64_t> WriteCvb(std::FILE* out, const std::string& out_name,
                                    ContestPrediction* predicted = nullptr) const;

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
    uint64_t delivered = 0;  // ballots before the truncation point (all without one)
    uint8_t resend = 0;      // double_report: 0 no, 1 identical copies, 2 changing copies
  };
  // What the fault plan makes of one ballot.
  enum class Delivery : uint8_t { kIntact, kChanged, kCorrupt, kUnknownUnit, kUnknownSelection };
  struct Fate {
    bool lost = false;  // truncated away or dropped
    Delivery first = Delivery::kIntact;
    bool dup = false;
    bool conflict = false;
    bool resend = false;
    bool resend_changed = false;
  };
  Fate FateOf(const UnitPlan& unit, uint64_t ballot) const;
  // The contents of a copy that differs from `contents` in its cells.
  void Change(std::vector<BallotContest>* contents) const;
  // Every written record in file order, faults applied: first records, then the copies.
  // `emit` returns a write error to stop at. Fills *predicted when set.
  absl::Status Deliver(
      const std::function<absl::Status(uint32_t unit, uint64_t ballot, Delivery delivery,
                                       const std::vector<BallotContest>& contents)>& emit,
      ContestPrediction* predicted) const;
  explicit CvrGenerator(const ContestElection& election) : election_(&election) {}
  void Contents(const UnitPlan& unit, uint64_t ballot, std::vector<BallotContest>* out) const;
  void AppendBallot(uint32_t unit, uint64_t ballot, Delivery delivery,
                    const std::vector<BallotContest>& contents, std::string* out) const;
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
  std::string misrouted_unit_;     // unknown_station: a unit id the election lacks
  std::string unknown_selection_;  // unknown_choice: a selection id no contest has
};

}  // namespace canvass

#endif  // CANVASS_ENGINE_SYNTH_CVR_GENERATOR_H_
