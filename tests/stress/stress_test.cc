// The long stress run: 10,000 seeded rounds of random elections with injected faults, all
// checked against the generator's ground truth and the serial reference aggregator.
// Its own binary, labelled `stress` for ctest (about 30 s in Release on 2 cores).
#include "engine/stress/stress.h"

#include <cstdint>
#include <sstream>

#include "engine/synth/fault_plan.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace canvass {
namespace {

TEST(StressTest, TenThousandRounds) {
  StressOptions options;
  options.rounds = 10000;
  options.seed = 1;
  options.threads = 0;  // drawn per round
  std::ostringstream log;
  const StressSummary summary = RunStress(options, ProductionAggregateFn(), log);
  EXPECT_EQ(summary.failed, 0u) << log.str();
  EXPECT_EQ(summary.passed, 10000u);
  EXPECT_TRUE(summary.failing_seeds.empty());
  EXPECT_EQ(log.str(), "");
  // Every fault was planned often enough, in enough rounds, that the check that it fired
  // really ran.
  for (int f = 0; f < kNumFaults; ++f) {
    EXPECT_GE(summary.rounds_with_fault[f], 50u) << FaultName(static_cast<Fault>(f));
  }
}

}  // namespace
}  // namespace canvass
