// Canaries for the stress driver: deliberately broken aggregators that the driver must
// catch, beside the same serial aggregator without the bug and the production one,
// which must pass the same rounds (so a canary fails because of its bug alone).
#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/ballot/batch.h"
#include "engine/ballot/tally.h"
#include "engine/election/election.h"
#include "engine/stress/stress.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace canvass {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr uint64_t kRounds = 300;
constexpr uint64_t kRunSeed = 1;

enum class Bug {
  kNone,
  // A conflicted identity counts its first copy (in delivery order) instead of none; its
  // other copies are still rejected as `conflict`, so conservation holds.
  kCountFirstConflictingCopy,
  // One valid record of every batch of odd size is flushed twice: counted, read and
  // station records all grow by one, so conservation and the national sums still hold.
  kDoubleFlushOddBatches,
};

// A serial aggregator applying DESIGN.md's counting rules, with `bug` injected.
Tally SerialAggregate(const Election& election, const std::vector<BallotBatch>& batches,
                      uint64_t malformed, Bug bug) {
  const uint32_t num_choices = static_cast<uint32_t>(election.contest().choices.size());
  Tally tally(static_cast<uint32_t>(election.stations.size()), num_choices);
  tally.records_read = malformed;
  tally.rejected[static_cast<int>(RejectReason::kMalformed)] = malformed;
  auto reject = [&](RejectReason reason, uint64_t n) {
    tally.rejected[static_cast<int>(reason)] += n;
  };
  auto valid = [&](StationIndex s, uint64_t seq, ChoiceIndex c) {
    return c < num_choices && seq >= 1 && seq <= election.stations[s].capacity;
  };
  // Copies of each well-formed identity, in delivery order.
  std::map<std::pair<StationIndex, uint64_t>, std::vector<ChoiceIndex>> copies;
  for (const BallotBatch& batch : batches) {
    tally.records_read += batch.size();
    if (batch.station == kUnknownStation) {
      reject(RejectReason::kUnknownStation, batch.size());
      continue;
    }
    tally.station_records[batch.station] += batch.size();
    for (size_t i = 0; i < batch.size(); ++i) {
      if (batch.choice[i] >= num_choices) {
        reject(RejectReason::kUnknownChoice, 1);
      } else if (!valid(batch.station, batch.seq[i], batch.choice[i])) {
        reject(RejectReason::kBadSeq, 1);
      } else {
        copies[{batch.station, batch.seq[i]}].push_back(batch.choice[i]);
      }
    }
    if (bug == Bug::kDoubleFlushOddBatches && batch.size() % 2 == 1 &&
        valid(batch.station, batch.seq[0], batch.choice[0])) {
      ++tally.counted[static_cast<size_t>(batch.station) * num_choices + batch.choice[0]];
      ++tally.station_records[batch.station];
      ++tally.records_read;
    }
  }
  for (const auto& [identity, choices] : copies) {
    bool agree = true;
    for (ChoiceIndex c : choices) agree &= c == choices.front();
    const size_t row = static_cast<size_t>(identity.first) * num_choices;
    if (agree) {
      ++tally.counted[row + choices.front()];
      reject(RejectReason::kDuplicate, choices.size() - 1);
    } else if (bug == Bug::kCountFirstConflictingCopy) {
      ++tally.counted[row + choices.front()];
      reject(RejectReason::kConflict, choices.size() - 1);
    } else {
      reject(RejectReason::kConflict, choices.size());
    }
  }
  return tally;
}

AggregateFn SerialAggregateFn(Bug bug) {
  return [bug](const Election& election, const std::vector<BallotBatch>& batches,
               uint64_t malformed, int /*threads*/) -> absl::StatusOr<Tally> {
    return SerialAggregate(election, batches, malformed, bug);
  };
}

StressSummary RunCanaryRounds(const AggregateFn& aggregate, std::string* log_text) {
  StressOptions options;
  options.rounds = kRounds;
  options.seed = kRunSeed;
  std::ostringstream log;
  StressSummary summary = RunStress(options, aggregate, log);
  *log_text = log.str();
  return summary;
}

TEST(CanaryTest, ProductionAggregatorPassesTheCanaryRounds) {
  std::string log;
  const StressSummary summary = RunCanaryRounds(ProductionAggregateFn(), &log);
  EXPECT_EQ(summary.failed, 0u) << log;
  EXPECT_EQ(summary.passed, kRounds);
}

// The canaries' serial aggregator is right when its bug is off: the canaries below fail
// because of their bugs, not because of the harness.
TEST(CanaryTest, SerialAggregatorWithoutItsBugPasses) {
  std::string log;
  const StressSummary summary = RunCanaryRounds(SerialAggregateFn(Bug::kNone), &log);
  EXPECT_EQ(summary.failed, 0u) << log;
  EXPECT_EQ(summary.passed, kRounds);
}

// Checks that a broken aggregator is caught: some rounds fail, each failing seed is
// logged with its replay command, and replaying one reports the ground-truth failure
// with a figure-by-figure diff, while the production aggregator passes that round.
// Returns the rounds' summary and log (so that a test can look further without running
// them again).
StressSummary ExpectCaught(Bug bug, const std::string& diff_fragment, std::string* log_out) {
  const AggregateFn broken = SerialAggregateFn(bug);
  std::string& log = *log_out;
  const StressSummary summary = RunCanaryRounds(broken, &log);
  EXPECT_GT(summary.failed, 0u);
  EXPECT_EQ(summary.passed + summary.failed, kRounds);
  EXPECT_FALSE(summary.failing_seeds.empty());
  if (summary.failing_seeds.empty()) return summary;
  EXPECT_EQ(summary.failing_seeds.size(), summary.failed);
  for (uint64_t seed : summary.failing_seeds) {
    EXPECT_THAT(log, HasSubstr("canvass stress --replay " + std::to_string(seed) + "\n"));
  }
  EXPECT_THAT(log, HasSubstr("invariant 5 (ground truth)"));

  const StressRound round = DrawStressRound(summary.failing_seeds.front(), 0);
  const StressRoundResult result = RunStressRound(round, broken);
  EXPECT_FALSE(result.passed);
  EXPECT_THAT(result.failures, Contains(HasSubstr("ground truth")));
  EXPECT_THAT(result.failures, Contains(HasSubstr("serial reference")));
  EXPECT_NE(result.diff, "");
  EXPECT_THAT(result.diff, HasSubstr("expected"));
  EXPECT_THAT(result.diff, HasSubstr(diff_fragment));

  const StressRoundResult production = RunStressRound(round, ProductionAggregateFn());
  EXPECT_TRUE(production.passed);
  return summary;
}

TEST(CanaryTest, CountingTheFirstCopyOfAConflictIsCaught) {
  // Conservation holds for this bug, so only the ground truth and the reference see it;
  // every failing round planned a fault that makes conflicts.
  std::string log;
  const StressSummary summary =
      ExpectCaught(Bug::kCountFirstConflictingCopy, "rejected conflict", &log);
  EXPECT_THAT(log, Not(HasSubstr("invariant 1")));
  for (uint64_t seed : summary.failing_seeds) {
    const StressRound round = DrawStressRound(seed, 0);
    EXPECT_TRUE(round.plan[Fault::kConflict] > 0 || round.plan[Fault::kDoubleReport] > 0)
        << "seed " << seed;
  }
}

TEST(CanaryTest, DoubleFlushingOddBatchesIsCaught) {
  std::string log;
  ExpectCaught(Bug::kDoubleFlushOddBatches, "records read", &log);
}

}  // namespace
}  // namespace canvass
