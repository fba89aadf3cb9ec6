// Seeded stress rounds of random multi-contest elections read from NIST cast vote records
// (the contest side of `canvass stress --contests`, docs/STRESS.md "Contest elections").
//
// Each round draws, from its round seed alone, a ContestElection (1-4 levels of reporting
// units, sometimes a precinct composed into two districts, 1-6 contests of vote_for 1-3,
// write-ins, sometimes a ranked contest) and a set of cast vote records with record faults
// (exact and reformatted duplicates, conflicting copies, malformed records, unknown units,
// contests and selections). An independent model (ExpectContestTally, written from the
// counting rules of docs/FORMAT.md "NIST cast vote records" and io/nist/cvr_builder.h, and
// sharing no code with the reader or the aggregator) predicts every figure: each cell of
// each unit rolled up the hierarchy, records read, counted and every rejection reason. The
// records are then written as CVR JSON files, read back through the real reading pipeline
// (ReadCvrFiles) and the tally is checked against the prediction exactly, on the round's
// thread count and on one thread. A canary perturbs the prediction by one vote in one cell;
// the round must then fail, which proves that the checker can.
//
// Thread safety: every function here owns its state; rounds may run concurrently as long as
// each has its own scratch folder.
//
// Usage:
//   ContestStressResult result =
//       ContestStressRound(/*seed=*/1, /*round=*/0, /*threads=*/4, "/tmp/scratch");
//   if (!result.passed) { ...result.failures, result.diff, replay with result.seed... }
#ifndef CANVASS_ENGINE_STRESS_CONTEST_STRESS_H_
#define CANVASS_ENGINE_STRESS_CONTEST_STRESS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/ballot/cast_ballots.h"
#include "engine/election/contests.h"
#include "engine/io/nist/cvr_builder.h"

namespace canvass {

// A NumberVotes value as written: absent (1 vote), a decimal integer, or text that is not
// an integer 0 .. 2^64 - 1 (`"x"`, `-1`, `1.5`: the record is malformed).
struct StressNumberVotes {
  enum class Kind : uint8_t { kAbsent, kInteger, kText };
  Kind kind = Kind::kAbsent;
  uint64_t value = 0;  // kInteger
  std::string text;    // kText: the JSON token written, e.g. "\"x\""
};

// One SelectionPosition. Consecutive marks of one selection are written as the positions of
// one CVRContestSelection.
struct StressMark {
  std::string selection;       // ContestSelectionId (possibly not in the contest)
  std::string has_indication;  // "yes", "no" or "" (absent)
  std::string is_allocable;    // "yes", "no", "unknown" or "" (absent)
  StressNumberVotes number_votes;
  uint64_t rank = 0;          // 0: no Rank written
  std::string write_in_text;  // a CVRWriteIn Text when not empty (never counted)
};

struct StressContest {
  std::string contest;                 // ContestId (possibly not in the election)
  std::optional<uint64_t> overvotes;   // the record's declared Overvotes
  std::optional<uint64_t> undervotes;  // the record's declared Undervotes
  std::vector<StressMark> marks;
};

struct StressSnapshot {
  std::string id;  // @id
  std::string type = "original";
  std::vector<StressContest> contests;
};

// One cast vote record, by what it says; `layout` only chooses how it is written (key order,
// white space, string escapes), never what it means.
struct StressRecord {
  // UniqueId, BallotPrePrintedId, BallotAuditId (CvrIdentityField order), when written.
  std::array<std::optional<std::string>, kNumCvrIdentityFields> ids;
  std::optional<std::string> device;            // CreatingDeviceId
  std::optional<std::string> unit;              // BallotStyleUnitId
  std::optional<std::string> current_snapshot;  // CurrentSnapshotId
  std::vector<StressSnapshot> snapshots;
  // Written as broken JSON (braces, brackets and strings still balanced, so the file's
  // structure holds): malformed, whatever else the record says.
  enum class Break : uint8_t {
    kNone,
    kMissingColon,  // a top-level key without its ':'
    kUnreadValue,   // an extra top-level key whose value is not JSON ({"a" 1}); the rounds
                    // do not draw it (see docs/STRESS.md, "Contest elections")
  };
  Break broken_json = Break::kNone;
  uint64_t layout = 0;
};

// One CVR JSON report of a round: its file name and the records it holds, in order.
struct StressFile {
  std::string name;  // e.g. "cvr-03.json"
  std::vector<size_t> records;
  uint64_t layout = 0;  // the report's own keys and separators
};

// Everything a round is made of.
struct ContestStressWorld {
  uint64_t seed = 0;
  // Finalized by DrawContestStressWorld; RunContestStressRound finalizes its own copy (a
  // hand-made world need not) and fails the round when Finalize() refuses it.
  ContestElection election;
  std::vector<StressRecord> records;
  std::vector<StressFile> files;
  uint64_t ballots = 0;             // distinct ballots drawn, before copies and faults
  uint64_t chunk_bytes = 4u << 20;  // the reading job's chunk size
  int threads = 1;                  // the reading job's workers (also rerun on one)
};

// The seed of round `round` of a run started with `seed`.
uint64_t ContestStressRoundSeed(uint64_t seed, uint64_t round);

// Draws round `round_seed`'s world. `threads` > 0 pins its thread count; 0 draws it.
ContestStressWorld DrawContestStressWorld(uint64_t round_seed, int threads);

// What the model predicts for one record.
struct StressRecordOutcome {
  std::optional<CastReject> rejected;  // a reader's reason (never duplicate or conflict)
  CvrIdentityField identity_field = CvrIdentityField::kUniqueId;
  std::string identity;  // field, device and id, when not rejected
  uint32_t unit = 0;
  std::vector<CellVotes> cells;  // sorted by cell, no zero figure, no cell twice
  bool adjudicated = false;      // its current snapshot is of Type "modified"
};

// The model of one record against `election` (only its public contests, units and scope;
// none of its indexes).
StressRecordOutcome ModelStressRecord(const ContestElection& election, const StressRecord& record);

// The model's tally of `records` (in any order): exactly-once over whole ballots, rolled up
// the unit hierarchy (a unit nobody composes is a part of the scope), as ReadCvrFiles must
// report it. InvalidArgument when the election's hierarchy has a cycle or names an unknown
// unit (a bug in the caller: the election should be finalized).
absl::StatusOr<ContestTally> ExpectContestTally(const ContestElection& election,
                                                const std::vector<StressRecord>& records);

// A record as CVR JSON, as a report's CVR array holds it.
std::string RenderStressRecord(const StressRecord& record);

struct ContestStressResult {
  uint64_t seed = 0;  // the round seed: DrawContestStressWorld(seed, threads) replays it
  bool passed = true;
  std::vector<std::string> failures;  // one line per broken check
  std::string diff;                   // expected against actual, figure by figure
  std::string description;            // what the round drew, one line
  uint64_t files = 0;
  uint64_t records = 0;
  uint64_t ballots = 0;
  int threads = 1;
  ContestTally expected;  // the prediction (perturbed when the round is a canary)
  ContestTally actual;    // what ReadCvrFiles reported on `threads` workers
  // The canary's perturbed cell (unit, cell), when the round is one.
  std::optional<std::pair<uint32_t, uint32_t>> canary_cell;
};

// Writes `world`'s files into a fresh folder under `scratch_dir` (removed afterwards), reads
// them with ReadCvrFiles twice: the folder on world.threads workers, and the files in
// reverse order, the first of them given twice, on one worker (three when world.threads is
// one). Checks: each tally equals the prediction exactly (every cell of every unit, records
// read, counted, every reason); records read == counted + sum(rejected) and the scope's
// ballots cast == counted; the two tallies are equal; per file, its records and those that
// passed the record checks by identity field; the first min(5, n) located examples of each
// reader's reason; the repeated file reported once. `canary`: the prediction is first
// perturbed by one vote in one cell (drawn from the seed), so the round must fail.
ContestStressResult RunContestStressRound(const ContestStressWorld& world,
                                          const std::string& scratch_dir, bool canary);

// Draws round `round` of a run started with `seed` and runs it. `threads` > 0 pins the
// thread count; 0 draws it (1, 2, 3, 4 or 8).
ContestStressResult ContestStressRound(uint64_t seed, uint64_t round, int threads,
                                       const std::string& scratch_dir, bool canary = false);

}  // namespace canvass

#endif  // CANVASS_ENGINE_STRESS_CONTEST_STRESS_H_
