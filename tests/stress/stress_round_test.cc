// Tests of the stress driver's rounds: each round's world is reproducible from its seed,
// rounds pass with the production aggregator, and the driver's own checks are enforced.
#include <algorithm>
#include <array>
#include <cstdint>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "engine/election/election.h"
#include "engine/stress/stress.h"
#include "engine/synth/fault_plan.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace canvass {

// Readable failure messages (found by argument-dependent lookup).
void PrintTo(Fault fault, std::ostream* out) { *out << FaultName(fault); }
void PrintTo(const FaultPlan& plan, std::ostream* out) { *out << "\"" << plan.ToString() << "\""; }

namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// Everything that defines a round's world, compared field by field.
void ExpectSameRound(const StressRound& a, const StressRound& b) {
  EXPECT_EQ(a.seed, b.seed);
  EXPECT_EQ(a.election.id, b.election.id);
  ASSERT_EQ(a.election.stations.size(), b.election.stations.size());
  for (size_t s = 0; s < a.election.stations.size(); ++s) {
    EXPECT_EQ(a.election.stations[s].id, b.election.stations[s].id);
    EXPECT_EQ(a.election.stations[s].country, b.election.stations[s].country);
    EXPECT_EQ(a.election.stations[s].capacity, b.election.stations[s].capacity);
    EXPECT_EQ(a.election.stations[s].weight, b.election.stations[s].weight);
  }
  ASSERT_EQ(a.election.contest().choices.size(), b.election.contest().choices.size());
  for (size_t c = 0; c < a.election.contest().choices.size(); ++c) {
    EXPECT_EQ(a.election.contest().choices[c].code, b.election.contest().choices[c].code);
    EXPECT_EQ(a.election.contest().choices[c].kind, b.election.contest().choices[c].kind);
  }
  ASSERT_TRUE(a.election.contest().reported.has_value());
  ASSERT_TRUE(b.election.contest().reported.has_value());
  EXPECT_EQ(a.election.contest().reported->cast, b.election.contest().reported->cast);
  EXPECT_EQ(a.election.contest().reported->choices, b.election.contest().reported->choices);
  EXPECT_EQ(a.plan, b.plan);
  EXPECT_EQ(a.must_fire, b.must_fire);
  EXPECT_EQ(a.threads, b.threads);
  EXPECT_EQ(a.second_threads, b.second_threads);
  EXPECT_EQ(a.batch_size, b.batch_size);
  EXPECT_EQ(a.scale_k, b.scale_k);
}

TEST(StressRoundTest, DrawingARoundTwiceGivesTheSameWorld) {
  for (uint64_t seed : {uint64_t{0}, uint64_t{1}, uint64_t{42}, StressRoundSeed(1, 7),
                        StressRoundSeed(3, 123), UINT64_MAX}) {
    SCOPED_TRACE(seed);
    ExpectSameRound(DrawStressRound(seed, 0), DrawStressRound(seed, 0));
  }
}

TEST(StressRoundTest, RoundsAreWellFormed) {
  std::set<uint32_t> batch_sizes;
  std::set<int> thread_counts;
  for (uint64_t index = 0; index < 200; ++index) {
    const StressRound round = DrawStressRound(StressRoundSeed(1, index), 0);
    SCOPED_TRACE(round.seed);
    const Contest& contest = round.election.contest();
    ASSERT_TRUE(contest.reported.has_value());
    EXPECT_TRUE(contest.reported->InternallyConsistent());
    EXPECT_GE(contest.choices.size(), 2u);
    EXPECT_LE(contest.choices.size(), 12u);
    EXPECT_GE(round.election.stations.size(), 1u);
    EXPECT_GE(round.batch_size, 16u);
    EXPECT_LE(round.batch_size, 16384u);
    EXPECT_EQ(round.batch_size & (round.batch_size - 1), 0u);
    EXPECT_GE(round.scale_k, 2u);
    batch_sizes.insert(round.batch_size);
    thread_counts.insert(round.threads);
    for (int f = 0; f < kNumFaults; ++f) {
      EXPECT_GE(round.plan.probability[f], 0.0);
      EXPECT_LE(round.plan.probability[f], 1.0);
    }
    // Only planned faults may be required to fire.
    for (Fault fault : round.must_fire) EXPECT_GT(round.plan[fault], 0.0) << FaultName(fault);
  }
  // The draws really vary the world.
  EXPECT_GE(batch_sizes.size(), 5u);
  EXPECT_GE(thread_counts.size(), 3u);
}

// `canvass stress --threads N` pins the thread count; the round must otherwise be the
// world its seed stands for, or a failing seed printed by a pinned run ("replay with:
// canvass stress --replay SEED") would replay a different election, plan and batch size.
TEST(StressRoundTest, ThreadOverrideChangesOnlyTheThreadCount) {
  const uint64_t seed = StressRoundSeed(1, 3);
  const StressRound drawn = DrawStressRound(seed, 0);
  StressRound pinned = DrawStressRound(seed, 5);
  EXPECT_EQ(pinned.threads, 5);
  pinned.threads = drawn.threads;
  ExpectSameRound(drawn, pinned);
}

TEST(StressRoundTest, RoundsPassWithTheProductionAggregator) {
  for (uint64_t seed :
       {uint64_t{0}, uint64_t{1}, uint64_t{42}, uint64_t{20240707}, StressRoundSeed(1, 0),
        StressRoundSeed(1, 1), StressRoundSeed(3, 0), UINT64_MAX}) {
    const StressRound round = DrawStressRound(seed, 0);
    const StressRoundResult result = RunStressRound(round, ProductionAggregateFn());
    EXPECT_TRUE(result.passed) << "seed " << seed << ": "
                               << (result.failures.empty() ? "" : result.failures.front());
    EXPECT_THAT(result.failures, IsEmpty());
    EXPECT_EQ(result.diff, "");
  }
}

// A round with no faults also checks calibration at scale 1 and K; it passes too.
TEST(StressRoundTest, FaultFreeRoundPassesIncludingCalibration) {
  for (uint64_t index = 0; index < 5; ++index) {
    StressRound round = DrawStressRound(StressRoundSeed(11, index), 0);
    round.plan = FaultPlan();
    round.must_fire.clear();
    const StressRoundResult result = RunStressRound(round, ProductionAggregateFn());
    EXPECT_TRUE(result.passed) << "seed " << round.seed << ": "
                               << (result.failures.empty() ? "" : result.failures.front());
  }
}

// The fired-check is enforced: requiring a fault that is not planned fails the round.
TEST(StressRoundTest, RequiredFaultThatNeverFiresFailsTheRound) {
  StressRound round = DrawStressRound(StressRoundSeed(1, 0), 0);
  round.plan[Fault::kConflict] = 0;
  round.must_fire = {Fault::kConflict};
  const StressRoundResult result = RunStressRound(round, ProductionAggregateFn());
  EXPECT_FALSE(result.passed);
  EXPECT_THAT(result.failures, Contains(HasSubstr("conflict never fired")));
}

// Regression: `canvass stress --rounds 20000 --seed 2` failed rounds 3328 and 3774 with the
// correct production aggregator, "planned fault dup never fired" and "planned fault
// unknown_station never fired". Both rounds truncate one of their few stations far below
// its expected share, so the record faults had far fewer chances to fire than the driver
// assumed when it required them to (it counts the expected surviving ballots,
// cast x (1 - truncate), not the ones actually sent). A round must only require what a
// working injector is all but certain to produce; the aggregator was exact in both.
TEST(StressRoundTest, HeavilyTruncatedRoundsDoNotRequireUnlikelyFaults) {
  for (uint64_t seed : {uint64_t{1377097822796802882}, uint64_t{16747030301178223516u}}) {
    const StressRound round = DrawStressRound(seed, 0);
    ASSERT_GT(round.plan[Fault::kTruncate], 0.0) << seed;
    const StressRoundResult result = RunStressRound(round, ProductionAggregateFn());
    EXPECT_THAT(result.failures, Not(Contains(HasSubstr("ground truth")))) << seed;
    EXPECT_THAT(result.failures, Not(Contains(HasSubstr("reference")))) << seed;
    EXPECT_TRUE(result.passed) << "seed " << seed << ": "
                               << (result.failures.empty() ? "" : result.failures.front());
  }
}

TEST(StressRoundTest, RoundSeedsDifferAcrossIndicesAndRunSeeds) {
  std::set<uint64_t> seeds;
  for (uint64_t run_seed : {1, 2, 3}) {
    for (uint64_t index = 0; index < 1000; ++index) {
      seeds.insert(StressRoundSeed(run_seed, index));
    }
  }
  EXPECT_EQ(seeds.size(), 3000u);
  EXPECT_EQ(StressRoundSeed(1, 5), StressRoundSeed(1, 5));
}

TEST(StressRoundTest, RunStressIsReproducibleAndCountsEveryRound) {
  StressOptions options;
  options.rounds = 40;
  options.seed = 5;
  std::ostringstream log1, log2;
  const StressSummary first = RunStress(options, ProductionAggregateFn(), log1);
  const StressSummary second = RunStress(options, ProductionAggregateFn(), log2);
  EXPECT_EQ(first.passed, 40u);
  EXPECT_EQ(first.failed, 0u) << log1.str();
  EXPECT_EQ(first.passed, second.passed);
  EXPECT_EQ(first.failed, second.failed);
  EXPECT_EQ(first.rounds_with_fault, second.rounds_with_fault);
  EXPECT_EQ(log1.str(), log2.str());
  // rounds_with_fault counts, for each fault, the rounds that required it to fire: the
  // station and window faults planned up front plus the record faults decided after
  // delivery, i.e. each round's asserted_faults.
  std::array<uint64_t, kNumFaults> expected{};
  for (uint64_t index = 0; index < options.rounds; ++index) {
    const StressRound round = DrawStressRound(StressRoundSeed(options.seed, index), 0);
    const StressRoundResult result = RunStressRound(round, ProductionAggregateFn());
    for (Fault fault : round.must_fire) {
      EXPECT_NE(std::find(result.asserted_faults.begin(), result.asserted_faults.end(), fault),
                result.asserted_faults.end());
    }
    for (Fault fault : result.asserted_faults) ++expected[static_cast<int>(fault)];
  }
  EXPECT_EQ(first.rounds_with_fault, expected);
  uint64_t record_faults_asserted = 0;
  for (Fault fault : {Fault::kDrop, Fault::kDup, Fault::kConflict}) {
    record_faults_asserted += first.rounds_with_fault[static_cast<int>(fault)];
  }
  EXPECT_GT(record_faults_asserted, 0u);
}

}  // namespace
}  // namespace canvass
