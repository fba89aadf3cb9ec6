// Synthetic Dominion Democracy Suite CVR exports from a results report: the ballots of
// CvrGenerator (synth/cvr_generator.h: every figure of the report's lowest units, at any
// scale, seeded), written as Dominion writes them: manifests and CvrExport_N.json files of
// sessions, in a folder or a .zip (deflated members, as counties publish them). Beside the
// export, OUT-reported.csv (DominionReportedPath) gives the report's figures times the
// scale, keyed by the export's own ids (units by their external ids: the report's unit
// ids), so that `canvass reconcile --reported OUT-reported.csv OUT` is a match.
//
// Mapping (docs/FORMAT.md, "Generated Dominion exports"):
//  - contests are numbered 1.. in the report's order (ExternalId: the report's id),
//    candidates 1.. across contests; ranked contests get NumOfRanks = their selections;
//  - each generating unit is one precinct and one precinct portion (Id k, ExternalId: the
//    report's unit id); every unit above them but the scope is a district composing the
//    portions below it;
//  - counting groups "Election Day" (1) and "Absentee" (2), a seeded half each;
//  - sessions: TabulatorId 5000 + file number % 100, BatchId = file number, RecordId = its
//    place in the file; every 25th session (seeded) was adjudicated: its Original
//    (IsCurrent false) marks nothing, its Modified holds the ballot; a plurality overvote is
//    written as Dominion does (its marks IsVote false, Overvotes stated); the report's
//    every figure is reproduced exactly.
//
// Thread safety: immutable after Plan(); Write() from one thread at a time.
#ifndef CANVASS_ENGINE_SYNTH_DOMINION_GENERATOR_H_
#define CANVASS_ENGINE_SYNTH_DOMINION_GENERATOR_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "engine/election/contests.h"
#include "engine/synth/cvr_generator.h"

namespace canvass {

struct DominionGeneratorOptions {
  CvrGeneratorOptions ballots;  // scale, seed, interleave (sessions across units)
  uint64_t sessions_per_file = 1000;
};

struct DominionWriteSummary {
  uint64_t sessions = 0;
  uint64_t files = 0;
  uint64_t bytes = 0;  // of the CvrExport files, uncompressed
};

// Where Write(out) puts the reported figures: "DIR-reported.csv" for DIR or DIR.zip.
std::string DominionReportedPath(const std::string& out);

class DominionGenerator {
 public:
  // As CvrGenerator::Plan; InvalidArgument also for sessions_per_file 0.
  static absl::StatusOr<DominionGenerator> Plan(const ContestElection& election,
                                                const DominionGeneratorOptions& options);

  uint64_t sessions() const { return ballots_.ballots(); }

  // Writes the export to `out`: a folder (created; it must not hold an export already)
  // or, when `out` ends in ".zip", a zip archive; and the reported figures to
  // DominionReportedPath(out). DataLoss / InvalidArgument naming the path when a write
  // fails.
  absl::StatusOr<DominionWriteSummary> Write(const std::string& out) const;

 private:
  DominionGenerator(const ContestElection& election, CvrGenerator ballots,
                    const DominionGeneratorOptions& options)
      : election_(&election), ballots_(std::move(ballots)), options_(options) {}

  const ContestElection* election_;
  CvrGenerator ballots_;
  DominionGeneratorOptions options_;
};

}  // namespace canvass

#endif  // CANVASS_ENGINE_SYNTH_DOMINION_GENERATOR_H_
