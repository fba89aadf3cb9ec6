// Tests of the calibrated generator: calibration, determinism, units, layout, scaling, errors.
#include "engine/synth/generator.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/ballot/batch.h"
#include "engine/ballot/tally.h"
#include "engine/election/election.h"
#include "engine/pipeline/pipeline.h"
#include "engine/synth/internal/permutation.h"
#include "engine/synth/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tbb/global_control.h"
#include "tests/testing/status_matchers.h"

namespace canvass {
namespace {

using ::canvass::testing::IsOk;
using ::canvass::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The reported figures of the reference election (DESIGN.md).
constexpr uint64_t kJalili = 50206;
constexpr uint64_t kPezeshkian = 36169;
constexpr uint64_t kInvalid = 1950;
constexpr uint64_t kCast = 88325;

ChoiceIndex IndexOf(const Election& election, const std::string& code) {
  std::optional<ChoiceIndex> index = election.contest().FindChoice(code);
  EXPECT_TRUE(index.has_value()) << code;
  return index.value_or(0);
}

// Per-choice totals of the reference election's tally, in the order JAL, PEZ, INV.
std::vector<uint64_t> ReferenceTotals(const Election& election, const Tally& tally) {
  std::vector<uint64_t> totals = tally.ChoiceTotals();
  return {totals[IndexOf(election, "JAL")], totals[IndexOf(election, "PEZ")],
          totals[IndexOf(election, "INV")]};
}

// An election through the real loader. `choices` is a JSON array, `reported` a JSON
// object or empty for none.
Election LoadElection(const std::string& choices, const std::string& reported,
                      const std::string& roster) {
  std::string json = absl::StrCat(R"({"id": "synth-test", "title": "generator test",)",
                                  R"( "roster": "r.csv", "choices": )", choices);
  if (!reported.empty()) absl::StrAppend(&json, R"(, "reported": )", reported);
  json += "}";
  absl::StatusOr<Election> election = ParseElection(json, "election.json", roster, "r.csv");
  EXPECT_THAT(election, IsOk());
  return *std::move(election);
}

CalibratedStreams PlanOrDie(const Election& election, const GeneratorOptions& options) {
  absl::StatusOr<CalibratedStreams> streams = CalibratedStreams::Plan(election, options);
  EXPECT_THAT(streams, IsOk());
  return *std::move(streams);
}

Tally AggregateOk(const Election& election, const CalibratedStreams& streams, int threads) {
  absl::StatusOr<Tally> tally = AggregateStreams(election, streams, threads);
  EXPECT_THAT(tally, IsOk());
  return tally.ok() ? *std::move(tally) : Tally();
}

std::vector<BallotBatch> GenerateAll(const CalibratedStreams& streams) {
  std::vector<BallotBatch> batches(streams.num_units());
  for (size_t u = 0; u < streams.num_units(); ++u) streams.Generate(u, &batches[u]);
  return batches;
}

uint64_t PlannedStationBallots(const CalibratedStreams& streams, const Election& election,
                               StationIndex s) {
  uint64_t ballots = 0;
  for (size_t c = 0; c < election.contest().choices.size(); ++c) {
    ballots += streams.planned(s, static_cast<ChoiceIndex>(c));
  }
  return ballots;
}

// ---------------------------------------------------------------------------------------
// The layout permutation.

TEST(SmallPermutationTest, IsABijectionForEveryWidthAndKey) {
  const std::vector<uint64_t> keys = {
      0, 1, 2, 42, 0x9e3779b97f4a7c15ULL, std::numeric_limits<uint64_t>::max()};
  for (int bits = 1; bits <= 16; ++bits) {
    const uint32_t size = uint32_t{1} << bits;
    for (uint64_t key : keys) {
      SCOPED_TRACE(absl::StrCat("bits ", bits, " key ", key));
      const internal::SmallPermutation permutation(bits, key);
      std::vector<bool> hit(size, false);
      for (uint32_t x = 0; x < size; ++x) {
        const uint32_t y = permutation(x);
        ASSERT_LT(y, size);
        ASSERT_FALSE(hit[y]) << "two inputs map to " << y;
        hit[y] = true;
      }
    }
  }
}

TEST(SmallPermutationTest, DifferentKeysGiveDifferentPermutations) {
  for (int bits = 4; bits <= 16; ++bits) {
    const internal::SmallPermutation first(bits, 1), second(bits, 2);
    uint32_t differ = 0, fixed_points = 0;
    for (uint32_t x = 0; x < (uint32_t{1} << bits); ++x) {
      differ += first(x) != second(x);
      fixed_points += first(x) == x;
    }
    EXPECT_GT(differ, 0u) << "bits " << bits;
    EXPECT_LT(fixed_points, uint32_t{1} << (bits - 1)) << "bits " << bits;
  }
}

// ---------------------------------------------------------------------------------------
// Calibration: a fault-free synthetic run reproduces the reported totals exactly.

void ExpectCalibrated(const SyntheticRun& run, uint64_t scale) {
  const Tally& tally = run.tally;
  EXPECT_THAT(ReferenceTotals(run.election, tally),
              ElementsAre(kJalili * scale, kPezeshkian * scale, kInvalid * scale));
  EXPECT_EQ(tally.TotalCounted(), kCast * scale);
  EXPECT_EQ(tally.records_read, kCast * scale);
  EXPECT_EQ(tally.TotalRejected(), 0u);
  EXPECT_THAT(tally.rejected, ElementsAre(0, 0, 0, 0, 0, 0));
  EXPECT_EQ(run.election.contest().reported->cast, kCast * scale);
}

TEST(CalibrationTest, ReferenceElectionAtScaleOne) {
  SyntheticRunOptions options;
  options.threads = 2;
  absl::StatusOr<SyntheticRun> run = RunSynthetic(ReferenceElection(), options);
  ASSERT_THAT(run, IsOk());
  ExpectCalibrated(*run, 1);
  EXPECT_EQ(run->tally.num_stations, ReferenceElection().stations.size());
}

TEST(CalibrationTest, ReferenceElectionAtScaleThousand) {
  SyntheticRunOptions options;
  options.scale = 1000;
  options.generator.seed = 7;
  absl::StatusOr<SyntheticRun> run = RunSynthetic(ReferenceElection(), options);
  ASSERT_THAT(run, IsOk());
  ExpectCalibrated(*run, 1000);
}

TEST(CalibrationTest, CustomBatchSizesStayExact) {
  for (uint32_t batch_size : {16u, 1024u, 65536u}) {
    for (uint64_t scale : {1u, 10u}) {
      SCOPED_TRACE(absl::StrCat("batch_size ", batch_size, " scale ", scale));
      SyntheticRunOptions options;
      options.scale = scale;
      options.generator.batch_size = batch_size;
      options.threads = 2;
      absl::StatusOr<SyntheticRun> run = RunSynthetic(ReferenceElection(), options);
      ASSERT_THAT(run, IsOk());
      ExpectCalibrated(*run, scale);
    }
  }
}

TEST(CalibrationTest, PlannedSplitSumsToReportedAndFitsCapacities) {
  for (uint64_t scale : {1u, 1000u}) {
    SCOPED_TRACE(absl::StrCat("scale ", scale));
    absl::StatusOr<Election> election = ScaleElection(ReferenceElection(), scale);
    ASSERT_THAT(election, IsOk());
    const CalibratedStreams streams = PlanOrDie(*election, GeneratorOptions{});
    EXPECT_EQ(streams.total_ballots(), kCast * scale);
    const std::vector<std::pair<std::string, uint64_t>> reported = {
        {"JAL", kJalili}, {"PEZ", kPezeshkian}, {"INV", kInvalid}};
    for (const auto& [code, figure] : reported) {
      const ChoiceIndex c = IndexOf(*election, code);
      uint64_t sum = 0;
      for (StationIndex s = 0; s < election->stations.size(); ++s) sum += streams.planned(s, c);
      EXPECT_EQ(sum, figure * scale) << code;
    }
    for (StationIndex s = 0; s < election->stations.size(); ++s) {
      EXPECT_LE(PlannedStationBallots(streams, *election, s), election->stations[s].capacity)
          << election->stations[s].id;
    }
  }
}

TEST(CalibrationTest, PerStationCountsEqualThePlan) {
  for (uint64_t scale : {1u, 7u}) {
    SCOPED_TRACE(absl::StrCat("scale ", scale));
    absl::StatusOr<Election> election = ScaleElection(ReferenceElection(), scale);
    ASSERT_THAT(election, IsOk());
    GeneratorOptions options;
    options.batch_size = 1024;
    const CalibratedStreams streams = PlanOrDie(*election, options);
    const Tally tally = AggregateOk(*election, streams, 3);
    const uint32_t num_choices = static_cast<uint32_t>(election->contest().choices.size());
    for (StationIndex s = 0; s < election->stations.size(); ++s) {
      for (ChoiceIndex c = 0; c < num_choices; ++c) {
        ASSERT_EQ(tally.Counted(s, c), streams.planned(s, c))
            << election->stations[s].id << " choice " << int{c};
      }
      ASSERT_EQ(tally.station_records[s], PlannedStationBallots(streams, *election, s));
    }
    EXPECT_EQ(tally.TotalRejected(), 0u);
  }
}

// ---------------------------------------------------------------------------------------
// Determinism.

TEST(DeterminismTest, ForwardAndReverseUnitOrderGiveIdenticalBatches) {
  for (uint64_t seed : {1u, 2u, 99u}) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    GeneratorOptions options;
    options.seed = seed;
    options.batch_size = 1024;
    const CalibratedStreams streams = PlanOrDie(ReferenceElection(), options);
    ASSERT_GT(streams.num_units(), ReferenceElection().stations.size());
    const std::vector<BallotBatch> forward = GenerateAll(streams);
    // Reverse order, into one reused batch: Generate must replace what a bigger or
    // different unit left there.
    BallotBatch reused;
    for (size_t u = streams.num_units(); u-- > 0;) {
      streams.Generate(u, &reused);
      ASSERT_EQ(reused.station, forward[u].station) << "unit " << u;
      ASSERT_EQ(reused.seq, forward[u].seq) << "unit " << u;
      ASSERT_EQ(reused.choice, forward[u].choice) << "unit " << u;
    }
    // A second plan from the same inputs gives the same streams.
    const CalibratedStreams again = PlanOrDie(ReferenceElection(), options);
    ASSERT_EQ(again.num_units(), streams.num_units());
    for (size_t u = 0; u < again.num_units(); u += 17) {
      again.Generate(u, &reused);
      ASSERT_EQ(reused.choice, forward[u].choice) << "unit " << u;
    }
  }
}

TEST(DeterminismTest, AggregateStreamsGivesTheSameTallyForAnyThreadCount) {
  // Let the 8-thread arena really have 8 threads on a small machine.
  tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism, 8);
  absl::StatusOr<Election> election = ScaleElection(ReferenceElection(), 5);
  ASSERT_THAT(election, IsOk());
  for (uint64_t seed : {1u, 2u, 99u}) {
    GeneratorOptions options;
    options.seed = seed;
    options.batch_size = 256;
    const CalibratedStreams streams = PlanOrDie(*election, options);
    const Tally one_thread = AggregateOk(*election, streams, 1);
    EXPECT_EQ(one_thread.TotalCounted(), 5 * kCast);
    for (int threads : {2, 3, 8}) {
      EXPECT_EQ(AggregateOk(*election, streams, threads), one_thread)
          << "seed " << seed << " threads " << threads;
    }
  }
}

TEST(DeterminismTest, DifferentSeedsGiveDifferentBatchesButTheSameStationTotals) {
  GeneratorOptions options;
  options.batch_size = 1024;
  std::vector<std::vector<BallotBatch>> batches;
  std::vector<Tally> tallies;
  std::vector<std::vector<uint64_t>> plans;
  for (uint64_t seed : {1u, 2u, 99u}) {
    options.seed = seed;
    const CalibratedStreams streams = PlanOrDie(ReferenceElection(), options);
    batches.push_back(GenerateAll(streams));
    tallies.push_back(AggregateOk(ReferenceElection(), streams, 2));
    std::vector<uint64_t> plan;
    for (StationIndex s = 0; s < ReferenceElection().stations.size(); ++s) {
      for (ChoiceIndex c = 0; c < 3; ++c) plan.push_back(streams.planned(s, c));
    }
    plans.push_back(std::move(plan));
  }
  for (size_t i = 1; i < batches.size(); ++i) {
    ASSERT_EQ(batches[i].size(), batches[0].size());
    size_t units_that_differ = 0;
    for (size_t u = 0; u < batches[0].size(); ++u) {
      EXPECT_EQ(batches[i][u].station, batches[0][u].station);
      EXPECT_EQ(batches[i][u].seq, batches[0][u].seq);
      units_that_differ += batches[i][u].choice != batches[0][u].choice;
    }
    // Every unit of more than a handful of ballots of mixed choices is laid out anew.
    EXPECT_GT(units_that_differ, batches[0].size() * 9 / 10) << "seed index " << i;
    EXPECT_EQ(plans[i], plans[0]);
    EXPECT_EQ(tallies[i], tallies[0]);
  }
}

// ---------------------------------------------------------------------------------------
// Units.

TEST(UnitTest, UnitsCoverEachStationsSerialsInOrderWithoutGaps) {
  absl::StatusOr<Election> election = ScaleElection(ReferenceElection(), 10);
  ASSERT_THAT(election, IsOk());
  const size_t num_stations = election->stations.size();
  for (uint32_t batch_size : {16u, 1024u, kDefaultBatchSize, 65536u}) {
    SCOPED_TRACE(absl::StrCat("batch_size ", batch_size));
    GeneratorOptions options;
    options.batch_size = batch_size;
    options.seed = 3;
    const CalibratedStreams streams = PlanOrDie(*election, options);
    std::vector<uint64_t> last_seq(num_stations, 0);
    std::vector<uint64_t> counts(num_stations * 3, 0);
    size_t max_units_of_a_station = 0, units_of_station = 0;
    BallotBatch batch;
    for (size_t u = 0; u < streams.num_units(); ++u) {
      streams.Generate(u, &batch);
      const StationIndex s = streams.unit_station(u);
      ASSERT_EQ(batch.station, s);
      ASSERT_LT(s, num_stations);
      if (u > 0) {
        ASSERT_LE(streams.unit_station(u - 1), s) << "units in station order";
      }
      units_of_station = (u > 0 && streams.unit_station(u - 1) == s) ? units_of_station + 1 : 1;
      max_units_of_a_station = std::max(max_units_of_a_station, units_of_station);
      ASSERT_GE(batch.size(), 1u);
      ASSERT_LE(batch.size(), batch_size);
      ASSERT_EQ(batch.choice.size(), batch.size());
      // The first unit of a station starts at 1; later ones continue where the last ended.
      ASSERT_EQ(batch.seq[0], last_seq[s] + 1) << "unit " << u;
      for (size_t i = 0; i < batch.size(); ++i) {
        ASSERT_EQ(batch.seq[i], batch.seq[0] + i) << "unit " << u;
        ASSERT_LT(batch.choice[i], 3);
        ++counts[s * 3 + batch.choice[i]];
      }
      last_seq[s] = batch.seq.back();
    }
    for (StationIndex s = 0; s < num_stations; ++s) {
      EXPECT_EQ(last_seq[s], PlannedStationBallots(streams, *election, s));
      EXPECT_LE(last_seq[s], election->stations[s].capacity);
      for (ChoiceIndex c = 0; c < 3; ++c) EXPECT_EQ(counts[s * 3 + c], streams.planned(s, c));
    }
    // Big stations really are split into several units.
    if (batch_size <= kDefaultBatchSize) {
      EXPECT_GT(max_units_of_a_station, 1u);
    }
  }
}

// Step 3 of the documented layout: a unit's choices, cut into runs by their cumulative
// counts, are laid over its positions in the order of SmallPermutation keyed by
// KeyedRandom(seed, 2, station, first serial). This pins the vectorized 16-bit loop of
// full power-of-two units and the cycle walk of partial units to that permutation.
TEST(UnitTest, LayoutFollowsTheKeyedPermutation) {
  const Election election =
      LoadElection(R"([{"code": "A"}, {"code": "B"}, {"code": "C"}, {"code": "D"}])",
                   R"({"cast": 70001, "choices": {"A": 30000, "B": 25000, "C": 0, "D": 15001}})",
                   "station,country,capacity\nBIG,AA,70001\n");
  for (uint32_t batch_size : {16u, 1024u, 65536u}) {
    GeneratorOptions options;
    options.batch_size = batch_size;
    options.seed = 11;
    const CalibratedStreams streams = PlanOrDie(election, options);
    BallotBatch batch;
    for (size_t u = 0; u < streams.num_units(); ++u) {
      streams.Generate(u, &batch);
      const uint32_t size = static_cast<uint32_t>(batch.size());
      uint32_t counts[4] = {};
      for (ChoiceIndex c : batch.choice) ++counts[c];
      const uint32_t thresholds[3] = {counts[0], counts[0] + counts[1],
                                      counts[0] + counts[1] + counts[2]};
      const int bits = std::max(1, static_cast<int>(std::bit_width(size - 1)));
      const internal::SmallPermutation permutation(
          bits, KeyedRandom(options.seed, 2, batch.station, batch.seq[0]));
      for (uint32_t p = 0; p < size; ++p) {
        uint32_t y = permutation(p);
        while (y >= size) y = permutation(y);
        const ChoiceIndex expected = static_cast<ChoiceIndex>(
            (y >= thresholds[0]) + (y >= thresholds[1]) + (y >= thresholds[2]));
        ASSERT_EQ(batch.choice[p], expected)
            << "batch_size " << batch_size << " unit " << u << " position " << p;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// ScaleElection.

TEST(ScaleElectionTest, MultipliesFiguresAndCapacitiesButNotWeights) {
  const Election& reference = ReferenceElection();
  absl::StatusOr<Election> scaled = ScaleElection(reference, 3);
  ASSERT_THAT(scaled, IsOk());
  const ReportedFigures& figures = *scaled->contest().reported;
  EXPECT_EQ(figures.cast, 3 * kCast);
  EXPECT_EQ(figures.choices[IndexOf(*scaled, "JAL")], 3 * kJalili);
  EXPECT_EQ(figures.choices[IndexOf(*scaled, "PEZ")], 3 * kPezeshkian);
  EXPECT_EQ(figures.choices[IndexOf(*scaled, "INV")], 3 * kInvalid);
  EXPECT_TRUE(figures.InternallyConsistent());
  ASSERT_EQ(scaled->stations.size(), reference.stations.size());
  for (size_t s = 0; s < reference.stations.size(); ++s) {
    EXPECT_EQ(scaled->stations[s].id, reference.stations[s].id);
    EXPECT_EQ(scaled->stations[s].capacity, 3 * reference.stations[s].capacity);
    EXPECT_EQ(scaled->stations[s].weight, reference.stations[s].weight);
    // The scaled copy's own indexes work.
    EXPECT_EQ(scaled->FindStation(reference.stations[s].id), s);
  }
  EXPECT_EQ(scaled->countries, reference.countries);
  // Scale 1 changes nothing.
  absl::StatusOr<Election> same = ScaleElection(reference, 1);
  ASSERT_THAT(same, IsOk());
  EXPECT_EQ(same->contest().reported->cast, kCast);
  EXPECT_EQ(same->stations[0].capacity, reference.stations[0].capacity);
}

TEST(ScaleElectionTest, OverflowIsOutOfRange) {
  EXPECT_THAT(ScaleElection(ReferenceElection(), uint64_t{1} << 62),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("x scale")));
  EXPECT_THAT(ScaleElection(ReferenceElection(), std::numeric_limits<uint64_t>::max()),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("x scale")));
  SyntheticRunOptions options;
  options.scale = uint64_t{1} << 62;
  EXPECT_THAT(RunSynthetic(ReferenceElection(), options),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("x scale")));
}

// A product of 2^63 - 1 is the largest figure; 2^63 is out of range.
TEST(ScaleElectionTest, BoundaryAtTwoToTheSixtyThird) {
  const Election election =
      LoadElection(R"([{"code": "X"}])", R"({"cast": 1, "choices": {"X": 1}})",
                   "station,country,capacity\nONE,AA,1\n");
  constexpr uint64_t kLargest = (uint64_t{1} << 63) - 1;
  absl::StatusOr<Election> scaled = ScaleElection(election, kLargest);
  ASSERT_THAT(scaled, IsOk());
  EXPECT_EQ(scaled->contest().reported->cast, kLargest);
  EXPECT_EQ(scaled->contest().reported->choices[0], kLargest);
  EXPECT_EQ(scaled->stations[0].capacity, kLargest);
  EXPECT_THAT(ScaleElection(election, kLargest + 1),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("x scale")));
}

// ---------------------------------------------------------------------------------------
// Plan's preconditions.

TEST(PlanTest, WithoutReportedFiguresIsFailedPrecondition) {
  const Election election =
      LoadElection(R"([{"code": "X"}, {"code": "Y"}])", "", "station,country,capacity\nS,AA,5\n");
  ASSERT_FALSE(election.contest().reported.has_value());
  EXPECT_THAT(CalibratedStreams::Plan(election, GeneratorOptions{}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("reported figures")));
  EXPECT_THAT(RunSynthetic(election, SyntheticRunOptions{}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("reported figures")));
}

TEST(PlanTest, InconsistentReportedFiguresAreFailedPrecondition) {
  const std::string roster = "station,country,capacity\nS,AA,50\n";
  // Choices sum to 4, cast says 5.
  const Election short_sum = LoadElection(R"([{"code": "X"}, {"code": "Y"}])",
                                          R"({"cast": 5, "choices": {"X": 2, "Y": 2}})", roster);
  EXPECT_THAT(CalibratedStreams::Plan(short_sum, GeneratorOptions{}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("sum to cast")));
  // Y not reported.
  const Election missing = LoadElection(R"([{"code": "X"}, {"code": "Y"}])",
                                        R"({"cast": 2, "choices": {"X": 2}})", roster);
  EXPECT_THAT(CalibratedStreams::Plan(missing, GeneratorOptions{}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("every choice")));
}

// Weights 7:3 split 2 ballots as 1 + 1 (largest remainder), which fits capacities 1 and
// 1, so the loader accepts the election. At scale 10 the split is 14 + 6 against
// capacities 10 and 10: station A's share exceeds its capacity.
TEST(PlanTest, ShareAboveCapacityAfterScalingIsInvalidArgument) {
  const Election election =
      LoadElection(R"([{"code": "X"}])", R"({"cast": 2, "choices": {"X": 2}})",
                   "station,country,capacity,weight\nA,AA,1,7\nB,BB,1,3\n");
  const CalibratedStreams streams = PlanOrDie(election, GeneratorOptions{});
  EXPECT_EQ(streams.planned(0, 0), 1u);
  EXPECT_EQ(streams.planned(1, 0), 1u);

  absl::StatusOr<Election> scaled = ScaleElection(election, 10);
  ASSERT_THAT(scaled, IsOk());
  EXPECT_THAT(CalibratedStreams::Plan(*scaled, GeneratorOptions{}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("station A has capacity 10 but its weighted share is 14")));
  SyntheticRunOptions options;
  options.scale = 10;
  EXPECT_THAT(RunSynthetic(election, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("capacities too small")));
}

// The same over-capacity split at scale 1, which the loader rejects: built by hand, the
// Election reaches Plan, which rejects it with the same code.
TEST(PlanTest, ShareAboveCapacityIsRejectedByPlanAsByTheLoader) {
  const std::string roster = "station,country,capacity,weight\nA,AA,1,1\nB,BB,5,1\n";
  EXPECT_THAT(ParseElection(R"({"id": "e", "title": "t", "roster": "r.csv",
                                "choices": [{"code": "X"}],
                                "reported": {"cast": 3, "choices": {"X": 3}}})",
                            "election.json", roster, "r.csv"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("station A")));

  Election election;
  election.id = "hand-built";
  election.title = "hand-built";
  Contest contest;
  contest.id = "hand-built";
  contest.choices.push_back(Choice{"X", "X", ChoiceKind::kCandidate});
  contest.reported = ReportedFigures{3, {3}};
  election.contests.push_back(std::move(contest));
  election.stations.push_back(Station{"A", "AA", 1, 1});
  election.stations.push_back(Station{"B", "BB", 5, 1});
  election.BuildIndexes();
  // 3 over weights 1:1 is 2 + 1 (ties go to the lower index): 2 > capacity 1.
  EXPECT_THAT(CalibratedStreams::Plan(election, GeneratorOptions{}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("station A has capacity 1 but its weighted share is 2")));
  // With capacity 2 it fits.
  election.stations[0].capacity = 2;
  const CalibratedStreams streams = PlanOrDie(election, GeneratorOptions{});
  EXPECT_EQ(streams.planned(0, 0), 2u);
  EXPECT_EQ(streams.planned(1, 0), 1u);
  EXPECT_EQ(streams.total_ballots(), 3u);
}

// ---------------------------------------------------------------------------------------
// Uniformity sanity check.

// One station of 2^20 ballots, 64 units of 2^14. For each choice, its share among the
// first half of the station's serials and among the second half, and likewise among the
// first and second halves of every unit's positions (the within-unit layout), differ by
// less than 1% absolute. For a uniform shuffle the difference has a standard deviation
// near 0.1%; a generator that ignored the layout step would be off by tens of percent.
TEST(UniformityTest, FirstAndSecondHalvesHaveTheSameShares) {
  constexpr uint64_t kBallots = uint64_t{1} << 20;
  const Election election =
      LoadElection(R"([{"code": "A"}, {"code": "B"}, {"code": "C"}])",
                   R"({"cast": 1048576, "choices": {"A": 500000, "B": 400000, "C": 148576}})",
                   "station,country,capacity\nBIG,AA,1048576\n");
  for (uint64_t seed : {1u, 2u, 99u}) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    GeneratorOptions options;
    options.seed = seed;
    const CalibratedStreams streams = PlanOrDie(election, options);
    ASSERT_EQ(streams.num_units(), 64u);
    uint64_t station_halves[2][3] = {}, unit_halves[2][3] = {};
    BallotBatch batch;
    for (size_t u = 0; u < streams.num_units(); ++u) {
      streams.Generate(u, &batch);
      for (size_t i = 0; i < batch.size(); ++i) {
        ++station_halves[batch.seq[i] > kBallots / 2][batch.choice[i]];
        ++unit_halves[2 * i >= batch.size()][batch.choice[i]];
      }
    }
    const double half = static_cast<double>(kBallots / 2);
    for (int c = 0; c < 3; ++c) {
      EXPECT_EQ(station_halves[0][c] + station_halves[1][c], streams.planned(0, c));
      EXPECT_EQ(unit_halves[0][c] + unit_halves[1][c], streams.planned(0, c));
      const double station_difference = std::abs(static_cast<double>(station_halves[0][c]) -
                                                 static_cast<double>(station_halves[1][c])) /
                                        half;
      const double unit_difference = std::abs(static_cast<double>(unit_halves[0][c]) -
                                              static_cast<double>(unit_halves[1][c])) /
                                     half;
      EXPECT_LT(station_difference, 0.01) << "choice " << c;
      EXPECT_LT(unit_difference, 0.01) << "choice " << c;
    }
  }
}

// The generating loops are compiled per kernel (engine/base/kernel.h): every kernel the
// CPU can run generates the portable kernel's batches, full and partial units alike.
TEST(DeterminismTest, EveryKernelGeneratesTheSameBatches) {
  for (uint32_t batch_size : {16u, 1024u, 65536u}) {
    SCOPED_TRACE(absl::StrCat("batch size ", batch_size));
    GeneratorOptions options;
    options.seed = 5;
    options.batch_size = batch_size;
    options.kernel = Kernel::kPortable;
    const std::vector<BallotBatch> portable = GenerateAll(PlanOrDie(ReferenceElection(), options));
    for (Kernel kernel : SupportedKernels()) {
      SCOPED_TRACE(KernelName(kernel));
      options.kernel = kernel;
      const std::vector<BallotBatch> batches = GenerateAll(PlanOrDie(ReferenceElection(), options));
      ASSERT_EQ(batches.size(), portable.size());
      for (size_t u = 0; u < batches.size(); ++u) {
        ASSERT_EQ(batches[u].station, portable[u].station) << "unit " << u;
        ASSERT_EQ(batches[u].seq, portable[u].seq) << "unit " << u;
        ASSERT_EQ(batches[u].choice, portable[u].choice) << "unit " << u;
      }
    }
  }
}

}  // namespace
}  // namespace canvass
