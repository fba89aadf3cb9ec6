// Same-answer checks for Aggregator::AddRun: a run of serials with packed (or plain) choices
// counts exactly what Add() of the expanded batch counts, in every case the fast path must
// refuse (seen serials, duplicates, conflicts, serial 0, serials past capacity, runs near
// and across 2^64, choices past the contest, unknown stations).
#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/aggregate/aggregator.h"
#include "engine/aggregate/reference_aggregator.h"
#include "engine/ballot/batch.h"
#include "engine/ballot/packed_choices.h"
#include "engine/election/election.h"
#include "gtest/gtest.h"
#include "tests/testing/elections.h"
#include "tests/testing/sanitizers.h"
#include "tests/testing/status_matchers.h"

namespace canvass {
namespace {

using ::canvass::testing::IsOk;

constexpr uint64_t kStripe = uint64_t{1} << Aggregator::kStripeBits;
constexpr uint64_t kMaxSerial = UINT64_MAX;

// Choices C0..C{num_choices-1} and stations S0..S{n-1} in one country, with these capacities.
Election MakeElection(int num_choices, const std::vector<uint64_t>& capacities) {
  return testing::ElectionBuilder("run-test", "t")
      .AddChoices(num_choices)
      .AddStations(capacities, {"AA"})
      .Build();
}

// One run as AddRun receives it, and the batch it stands for.
struct TestRun {
  StationIndex station;
  uint64_t first;
  std::vector<ChoiceIndex> choices;  // below 2^bits when packed
  int bits;                          // 1, 2, 4, or 8 for plain bytes

  BallotBatch Expanded() const {
    BallotBatch batch;
    batch.station = station;
    for (size_t i = 0; i < choices.size(); ++i) batch.seq.push_back(first + i);
    batch.choice = choices;
    return batch;
  }
  void AddTo(Aggregator& aggregator) const {
    if (bits == 8) {
      aggregator.AddRun(station, first, choices.size(), choices.data());
      return;
    }
    std::vector<uint64_t> words(PackedWords(choices.size(), bits));
    PackChoices(choices.data(), choices.size(), bits, words.data());
    aggregator.AddRun(station, first, choices.size(), words.data(), bits);
  }
};

class RunBuilder {
 public:
  RunBuilder(const Election& election, uint64_t seed)
      : election_(election),
        num_choices_(static_cast<uint32_t>(election.contest().choices.size())),
        rng_(seed) {}

  uint64_t Uniform(uint64_t low, uint64_t high) {
    return std::uniform_int_distribution<uint64_t>(low, high)(rng_);
  }

  TestRun Next() {
    TestRun run;
    const uint64_t station_draw = Uniform(0, 99);
    run.station = station_draw < 3
                      ? kUnknownStation
                      : static_cast<StationIndex>(Uniform(0, election_.stations.size() - 1));
    const uint64_t capacity =
        run.station == kUnknownStation ? 1000 : election_.stations[run.station].capacity;
    const uint64_t count = Uniform(0, 9) == 0 ? Uniform(1, 3 * kStripe) : Uniform(1, 3000);
    // Mostly in range; also serial 0, ending at capacity, one past, far past, near 2^64.
    const uint64_t kind = Uniform(0, 99);
    if (kind < 60 || count > capacity) {
      run.first = Uniform(1, capacity);
    } else if (kind < 65) {
      run.first = 0;
    } else if (kind < 75) {
      run.first = capacity - count + 1;
    } else if (kind < 80) {
      run.first = capacity - count + 2;
    } else if (kind < 85) {
      run.first = Uniform(capacity + 1, uint64_t{1} << 62);
    } else if (kind < 90) {
      run.first = kMaxSerial - count + 1;  // ends at the largest serial
    } else if (kind < 95) {
      run.first = kMaxSerial - Uniform(0, count - 1);  // wraps to 0, 1, ...
    } else if (!earlier_.empty()) {
      return Replay();
    } else {
      run.first = 1;
    }
    run.bits = std::vector<int>{1, 2, 4, 8}[Uniform(0, 3)];
    const uint32_t values = run.bits == 8 ? 256 : 1u << run.bits;
    // Mostly every choice in the contest; sometimes one or a few past it.
    const uint32_t valid = std::min(values, num_choices_);
    const bool some_invalid = Uniform(0, 9) == 0;
    for (uint64_t i = 0; i < count; ++i) {
      const bool invalid = some_invalid && Uniform(0, 99) < 2 && valid < values;
      run.choices.push_back(
          static_cast<ChoiceIndex>(invalid ? Uniform(valid, values - 1) : Uniform(0, valid - 1)));
    }
    earlier_.push_back(run);
    return run;
  }

 private:
  // Part of an earlier run again: same choices (duplicates) or some changed (conflicts).
  TestRun Replay() {
    const TestRun& earlier = earlier_[Uniform(0, earlier_.size() - 1)];
    const size_t begin = Uniform(0, earlier.choices.size() - 1);
    const size_t end = Uniform(begin + 1, earlier.choices.size());
    TestRun run = earlier;
    run.first = earlier.first + begin;
    run.choices.assign(earlier.choices.begin() + begin, earlier.choices.begin() + end);
    const uint64_t mode = Uniform(0, 2);
    const uint32_t values = run.bits == 8 ? num_choices_ : std::min(1u << run.bits, num_choices_);
    for (ChoiceIndex& choice : run.choices) {
      if (choice < values && (mode == 1 || (mode == 2 && Uniform(0, 9) == 0))) {
        choice = static_cast<ChoiceIndex>((choice + 1) % values);
      }
    }
    return run;
  }

  const Election& election_;
  const uint32_t num_choices_;
  std::mt19937_64 rng_;
  std::vector<TestRun> earlier_;
};

// Feeds the same runs to one aggregator through AddRun and to another through Add() of the
// expanded batches; also mixes in plain batches that touch the same serials.
void ExpectAddRunEqualsAdd(const Election& election, uint64_t seed, int runs,
                           AggregatorOptions options) {
  RunBuilder builder(election, seed);
  Aggregator with_runs(election, options), with_batches(election, options);
  std::vector<BallotBatch> all;
  for (int r = 0; r < runs; ++r) {
    const TestRun run = builder.Next();
    SCOPED_TRACE(absl::StrCat("run ", r, ": station ", run.station, " first ", run.first, " count ",
                              run.choices.size(), " bits ", run.bits));
    const BallotBatch expanded = run.Expanded();
    run.AddTo(with_runs);
    with_batches.Add(expanded);
    all.push_back(expanded);
    if (r % 5 == 0 && run.station != kUnknownStation && !run.choices.empty()) {
      // A loose copy of the run's first record, through Add() on both.
      BallotBatch copy = expanded;
      copy.seq.resize(1);
      copy.choice.resize(1);
      with_runs.Add(copy);
      with_batches.Add(copy);
      all.push_back(copy);
    }
    // The whole state every 50th run and after the last: a snapshot sorts the conflict
    // set, which took 80% of this test when it ran after every run (254 s under ASan;
    // 136 s with one every tenth run).
    if (options.exactly_once && (r % 50 == 49 || r + 1 == runs)) {
      ASSERT_EQ(with_runs.Snapshot(), with_batches.Snapshot())
          << "state differs after run " << r << " (and not after run " << r - 50 << ")";
    }
  }
  absl::StatusOr<Tally> run_tally = with_runs.Finish();
  absl::StatusOr<Tally> batch_tally = with_batches.Finish();
  ASSERT_THAT(run_tally, IsOk());
  ASSERT_THAT(batch_tally, IsOk());
  EXPECT_EQ(*run_tally, *batch_tally);
  if (options.exactly_once) {
    EXPECT_EQ(*run_tally, ReferenceAggregate(election, all));
  }
  EXPECT_EQ(run_tally->records_read, run_tally->TotalCounted() + run_tally->TotalRejected());
}

TEST(AddRunTest, EqualsAddOfTheExpandedBatchOnRandomRuns) {
  const std::vector<std::pair<int, std::vector<uint64_t>>> elections = {
      {2, {3 * kStripe + 5, 7, 1}},
      {3, {100000, 5000, 17}},
      {4, {kStripe + 63, 64, 65}},
      {5, {2 * kStripe, 1, 300}},
      {15, {3 * kStripe + 1, 2}},
      {16, {70000, 40}},
      {17, {50000, 3}},
      {200, {20000}},
  };
  for (size_t e = 0; e < elections.size(); ++e) {
    const Election election = MakeElection(elections[e].first, elections[e].second);
    for (uint64_t seed = 0; seed < 4; seed += testing::SampleStride(2)) {
      SCOPED_TRACE(absl::StrCat("election ", e, ", seed ", seed));
      ExpectAddRunEqualsAdd(election, 100 * e + seed, 150, AggregatorOptions{});
      ExpectAddRunEqualsAdd(election, 100 * e + seed, 150, AggregatorOptions{false});
    }
  }
}

TEST(AddRunTest, FreshRunIsCountedWithoutSideList) {
  const Election election = MakeElection(3, {3 * kStripe});
  std::vector<ChoiceIndex> choices(2 * kStripe + 10);  // ends 41 serials before capacity
  for (size_t i = 0; i < choices.size(); ++i) choices[i] = static_cast<ChoiceIndex>(i % 3);
  const TestRun run{0, kStripe - 50, choices, 2};
  Aggregator aggregator(election);
  run.AddTo(aggregator);
  absl::StatusOr<Tally> tally = aggregator.Finish();
  ASSERT_THAT(tally, IsOk());
  EXPECT_EQ(tally->Counted(0, 0), (choices.size() + 2) / 3);
  EXPECT_EQ(tally->Counted(0, 1), (choices.size() + 1) / 3);
  EXPECT_EQ(tally->Counted(0, 2), choices.size() / 3);
  EXPECT_EQ(tally->TotalRejected(), 0u);
  EXPECT_EQ(*tally, ReferenceAggregate(election, {run.Expanded()}));
}

TEST(AddRunTest, SpecialRunsEqualAdd) {
  const Election election = MakeElection(3, {100, 10});
  const std::vector<TestRun> runs = {
      {0, 0, {0, 1, 2}, 2},                           // serial 0
      {0, 98, {0, 1, 2}, 2},                          // one past capacity
      {0, 98, {0, 1, 2}, 8},                          // the same, plain choices
      {0, kMaxSerial - 1, {0, 1, 2, 0}, 2},           // wraps to 0 and 1
      {0, kMaxSerial - 3, {0, 1, 2, 0}, 4},           // ends at the largest serial
      {1, 1, {3, 0, 1}, 2},                           // a packed value past the contest
      {1, 4, {0, 1, kUnknownChoice}, 8},              // plain unknown choice
      {kUnknownStation, 1, {0, 1}, 1},                // unknown station
      {1, 1, {0, 0, 1}, 1},                           // partly seen: duplicate, conflict
      {0, 1, {}, 2},                                  // empty
      {0, 90, {2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, 2},  // ends at capacity
      {0, 90, {2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1}, 8},  // all seen again, one conflict
  };
  Aggregator with_runs(election), with_batches(election);
  std::vector<BallotBatch> all;
  for (const TestRun& run : runs) {
    run.AddTo(with_runs);
    with_batches.Add(run.Expanded());
    all.push_back(run.Expanded());
  }
  absl::StatusOr<Tally> tally = with_runs.Finish();
  ASSERT_THAT(tally, IsOk());
  EXPECT_EQ(*tally, *with_batches.Finish());
  EXPECT_EQ(*tally, ReferenceAggregate(election, all));
  EXPECT_EQ(tally->records_read, 50u);
}

}  // namespace
}  // namespace canvass
