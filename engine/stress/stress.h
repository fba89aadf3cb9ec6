// The stress driver behind `canvass stress`: each round draws its own election, fault
// mix, thread count and batch size from its round seed, generates faulty streams with
// exact ground truth, aggregates them, and checks DESIGN.md's invariants 1-6 against the
// ground truth and against the serial reference aggregator. Modelled on TigerBeetle's
// simulator (each seed its own world, an independent model predicts the outcome, any
// failure replays from its seed) and on Flink's exactly-once tests (lost = 0,
// duplicates = 0, and a check that the planned faults really fired).
//
// The aggregator under test is injected (AggregateFn), so a deliberately broken one can
// prove that the driver fails when it should (tests/stress/canary_test.cc).
//
// Thread safety: RunStressRound and RunStress may run concurrently with each other; each
// call owns all of its state.
#ifndef CANVASS_ENGINE_STRESS_STRESS_H_
#define CANVASS_ENGINE_STRESS_STRESS_H_

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/ballot/batch.h"
#include "engine/ballot/tally.h"
#include "engine/base/rank_group.h"
#include "engine/election/election.h"
#include "engine/synth/fault_plan.h"

namespace canvass {

// Aggregates `batches` plus `malformed` unparsable records on `threads` workers.
using AggregateFn = std::function<absl::StatusOr<Tally>(const Election& election,
                                                        const std::vector<BallotBatch>& batches,
                                                        uint64_t malformed, int threads)>;

// The production aggregator (canvass::Aggregator on oneTBB workers).
AggregateFn ProductionAggregateFn();

// Everything a round is made of, drawn from its seed.
struct StressRound {
  uint64_t seed = 0;
  Election election;
  FaultPlan plan;
  // Station and window faults frequent enough that silence is a bug; record faults are
  // added after delivery, from the records truncation left.
  std::vector<Fault> must_fire;
  int threads = 1;
  int second_threads = 1;  // the determinism check reruns with this many
  uint32_t batch_size = 0;
  uint64_t scale_k = 1;  // calibration is also checked at this scale when fault-free
};

struct StressRoundResult {
  bool passed = true;
  std::vector<std::string> failures;   // one line per broken check
  std::string diff;                    // expected vs actual, figure by figure, when failing
  std::vector<Fault> asserted_faults;  // the faults this round required to fire
};

// Draws round `seed`'s world. `threads_override` > 0 pins the thread count.
StressRound DrawStressRound(uint64_t seed, int threads_override);

// Runs one round and checks it.
StressRoundResult RunStressRound(const StressRound& round, const AggregateFn& aggregate);

// The seed of round `index` of a run started with `seed`.
uint64_t StressRoundSeed(uint64_t seed, uint64_t index);

struct StressOptions {
  uint64_t rounds = 1000;
  uint64_t seed = 1;
  int threads = 0;  // 0: drawn per round
  // A job of several processes (base/rank_group.h): rank r runs the rounds whose index
  // is r modulo the group's size, and the summary and the log are the whole group's, on
  // every rank, exactly what one process running every round gives. Null: every round.
  const RankGroup* ranks = nullptr;
};

struct StressSummary {
  uint64_t passed = 0;
  uint64_t failed = 0;
  std::vector<uint64_t> failing_seeds;
  std::array<uint64_t, kNumFaults> rounds_with_fault{};  // rounds that asserted it fired
};

// Runs `options.rounds` rounds (in parallel across rounds), printing each failing round's
// seed and failures to `log`, and returns the summary. Rounds are independent, so the
// outcome does not depend on how they are scheduled.
StressSummary RunStress(const StressOptions& options, const AggregateFn& aggregate,
                        std::ostream& log);

}  // namespace canvass

#endif  // CANVASS_ENGINE_STRESS_STRESS_H_
