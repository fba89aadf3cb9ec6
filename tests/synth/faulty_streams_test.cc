// Tests of FaultyStreams: each fault alone and all together, the predicted ground truth
// against the serial reference and the production aggregator, and determinism.
#include "engine/synth/faulty_streams.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/aggregate/reference_aggregator.h"
#include "engine/ballot/batch.h"
#include "engine/ballot/tally.h"
#include "engine/election/election.h"
#include "engine/pipeline/pipeline.h"
#include "engine/reconcile/reconciler.h"
#include "engine/synth/fault_plan.h"
#include "engine/synth/generator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace canvass {
namespace {

using ::canvass::testing::IsOk;

constexpr char kExampleSpec[] =
    "drop=0.01,dup=0.005,conflict=0.001,corrupt=0.001,unknown_station=0.0005,"
    "unknown_choice=0.0005,bad_seq=0.0005,reorder=1,truncate=0.01,double_report=0.02";

// A small election through the real loader: 20 stations, 3 choices, 2,000 ballots.
const Election& SmallElection() {
  static const Election* const kElection = [] {
    std::string roster = "station,country,capacity\n";
    for (int s = 0; s < 20; ++s) {
      absl::StrAppend(&roster, absl::StrFormat("S%02d,X%c,%d\n", s, 'A' + s % 5, 100 + 10 * s));
    }
    const std::string json = R"({"id": "faulty-small", "title": "fault injection test",
        "roster": "r.csv", "synthetic_roster": true,
        "choices": [{"code": "A", "name": "Alpha", "kind": "candidate"},
                    {"code": "B", "name": "Beta", "kind": "candidate"},
                    {"code": "INV", "name": "Invalid", "kind": "invalid"}],
        "reported": {"cast": 2000, "choices": {"A": 1100, "B": 800, "INV": 100}}})";
    absl::StatusOr<Election> election = ParseElection(json, "election.json", roster, "r.csv");
    EXPECT_THAT(election, IsOk());
    return new Election(*std::move(election));
  }();
  return *kElection;
}

enum class Which { kSmall, kReference };

const Election& GetElection(Which which) {
  return which == Which::kSmall ? SmallElection() : ReferenceElection();
}

// Small units on the small election so that it spans many work items.
uint32_t CleanBatchSize(Which which) { return which == Which::kSmall ? 16 : 1024; }

uint64_t ReportedCast(const Election& election) { return election.contest().reported->cast; }

std::vector<uint64_t> ReportedChoices(const Election& election) {
  std::vector<uint64_t> figures;
  for (const std::optional<uint64_t>& figure : election.contest().reported->choices) {
    figures.push_back(*figure);
  }
  return figures;
}

Tally EmptyTally(const Election& election) {
  return Tally(static_cast<uint32_t>(election.stations.size()),
               static_cast<uint32_t>(election.contest().choices.size()));
}

std::array<uint64_t, kNumRejectReasons> Rejections(
    std::initializer_list<std::pair<RejectReason, uint64_t>> reasons) {
  std::array<uint64_t, kNumRejectReasons> rejected{};
  for (const auto& [reason, n] : reasons) rejected[static_cast<int>(reason)] = n;
  return rejected;
}

// The figures where two tallies differ, for failure messages.
std::string Diff(const Tally& expected, const Tally& actual) {
  std::string diff;
  auto line = [&](const std::string& what, uint64_t want, uint64_t got) {
    if (want != got) absl::StrAppend(&diff, what, ": expected ", want, ", got ", got, "\n");
  };
  line("records read", expected.records_read, actual.records_read);
  for (int r = 0; r < kNumRejectReasons; ++r) {
    line(std::string(RejectReasonName(static_cast<RejectReason>(r))), expected.rejected[r],
         actual.rejected[r]);
  }
  if (expected.counted.size() != actual.counted.size() ||
      expected.station_records.size() != actual.station_records.size()) {
    return diff + "shapes differ\n";
  }
  for (size_t i = 0; i < expected.counted.size(); ++i) {
    line(absl::StrCat("counted[", i, "]"), expected.counted[i], actual.counted[i]);
  }
  for (size_t s = 0; s < expected.station_records.size(); ++s) {
    line(absl::StrCat("station_records[", s, "]"), expected.station_records[s],
         actual.station_records[s]);
  }
  return diff;
}

bool SameBatch(const BallotBatch& a, const BallotBatch& b) {
  return a.station == b.station && a.seq == b.seq && a.choice == b.choice;
}

bool SameOutput(const FaultyOutput& a, const FaultyOutput& b) {
  if (a.batches.size() != b.batches.size() || a.corrupt.size() != b.corrupt.size()) return false;
  for (size_t i = 0; i < a.batches.size(); ++i) {
    if (!SameBatch(a.batches[i], b.batches[i])) return false;
  }
  for (size_t i = 0; i < a.corrupt.size(); ++i) {
    if (a.corrupt[i].station != b.corrupt[i].station || a.corrupt[i].seq != b.corrupt[i].seq ||
        a.corrupt[i].choice != b.corrupt[i].choice) {
      return false;
    }
  }
  return true;
}

CalibratedStreams PlanOrDie(const Election& election, uint64_t seed, uint32_t batch_size) {
  absl::StatusOr<CalibratedStreams> streams =
      CalibratedStreams::Plan(election, GeneratorOptions{seed, batch_size});
  EXPECT_THAT(streams, IsOk());
  return *std::move(streams);
}

// Everything FaultyStreams delivered, item by item, with its prediction.
struct Delivery {
  std::vector<FaultyOutput> items;  // per item, in item order
  std::vector<Tally> item_truths;   // each item's prediction alone
  std::vector<FaultCounts> item_fired;
  Tally truth;                       // sum of the item predictions
  FaultCounts fired;                 // sum over items
  std::vector<BallotBatch> batches;  // all items' batches, in item order
  uint64_t corrupt = 0;              // records damaged in transit
};

// Generates every item of `streams`, forwards or backwards; the result is kept in item
// order either way.
Delivery Deliver(const Election& election, const FaultyStreams& streams, bool reverse = false) {
  Delivery delivery;
  const size_t n = streams.num_items();
  delivery.items.resize(n);
  delivery.item_truths.assign(n, EmptyTally(election));
  delivery.item_fired.resize(n);
  for (size_t k = 0; k < n; ++k) {
    const size_t item = reverse ? n - 1 - k : k;
    streams.Generate(item, &delivery.items[item], &delivery.item_truths[item],
                     &delivery.item_fired[item]);
  }
  delivery.truth = EmptyTally(election);
  for (size_t item = 0; item < n; ++item) {
    delivery.truth.Merge(delivery.item_truths[item]);
    delivery.fired.Merge(delivery.item_fired[item]);
    for (const BallotBatch& batch : delivery.items[item].batches) {
      delivery.batches.push_back(batch);
    }
    delivery.corrupt += delivery.items[item].corrupt.size();
  }
  return delivery;
}

// The prediction equals the serial reference and the production aggregator on the same
// records, on one and on several threads.
void ExpectPredictionHolds(const Election& election, const Delivery& delivery) {
  const Tally reference = ReferenceAggregate(election, delivery.batches, delivery.corrupt);
  EXPECT_TRUE(delivery.truth == reference) << "predicted vs reference:\n"
                                           << Diff(reference, delivery.truth);
  for (int threads : {1, 3}) {
    absl::StatusOr<Tally> aggregated =
        AggregateBatches(election, delivery.batches, delivery.corrupt, threads);
    ASSERT_THAT(aggregated, IsOk());
    EXPECT_TRUE(delivery.truth == *aggregated) << threads << " threads, predicted vs aggregated:\n"
                                               << Diff(delivery.truth, *aggregated);
  }
  const Tally& truth = delivery.truth;
  EXPECT_EQ(truth.records_read, truth.TotalCounted() + truth.TotalRejected());
}

bool AscendingConsecutive(const BallotBatch& batch) {
  for (size_t i = 1; i < batch.size(); ++i) {
    if (batch.seq[i] != batch.seq[i - 1] + 1) return false;
  }
  return true;
}

using Record = std::tuple<StationIndex, uint64_t, ChoiceIndex>;

std::vector<Record> SortedRecords(const std::vector<BallotBatch>& batches) {
  std::vector<Record> records;
  for (const BallotBatch& batch : batches) {
    for (size_t i = 0; i < batch.size(); ++i) {
      records.emplace_back(batch.station, batch.seq[i], batch.choice[i]);
    }
  }
  std::sort(records.begin(), records.end());
  return records;
}

std::vector<BallotBatch> CleanBatches(const CalibratedStreams& clean) {
  std::vector<BallotBatch> batches(clean.num_units());
  for (size_t u = 0; u < clean.num_units(); ++u) clean.Generate(u, &batches[u]);
  return batches;
}

// ---------------------------------------------------------------------------------------
// Each fault alone.

struct SingleFault {
  Fault fault;
  double probability;
};

class SingleFaultTest : public ::testing::TestWithParam<std::tuple<SingleFault, Which, uint64_t>> {
 protected:
  Fault fault() const { return std::get<0>(GetParam()).fault; }
  const Election& election() const { return GetElection(std::get<1>(GetParam())); }
  uint64_t seed() const { return std::get<2>(GetParam()); }
  FaultPlan plan() const {
    FaultPlan plan;
    plan[fault()] = std::get<0>(GetParam()).probability;
    return plan;
  }
};

TEST_P(SingleFaultTest, PredictionIsExactAndOnlyTheFaultsReasonAppears) {
  const Election& election = this->election();
  const CalibratedStreams clean =
      PlanOrDie(election, seed(), CleanBatchSize(std::get<1>(GetParam())));
  const FaultyStreams streams(election, clean, plan(), seed());
  const Delivery delivery = Deliver(election, streams);
  ExpectPredictionHolds(election, delivery);

  // The fault fired, and no other did.
  const uint64_t fired = delivery.fired[fault()];
  EXPECT_GT(fired, 0u);
  for (int f = 0; f < kNumFaults; ++f) {
    if (f != static_cast<int>(fault())) {
      EXPECT_EQ(delivery.fired.fired[f], 0u) << FaultName(static_cast<Fault>(f));
    }
  }

  const Tally& truth = delivery.truth;
  const uint64_t reported = ReportedCast(election);
  const uint64_t counted = truth.TotalCounted();
  // Faults only ever lose ballots: no choice gains any.
  const std::vector<uint64_t> totals = truth.ChoiceTotals();
  const std::vector<uint64_t> reported_choices = ReportedChoices(election);
  for (size_t c = 0; c < totals.size(); ++c) EXPECT_LE(totals[c], reported_choices[c]) << c;
  if (fault() != Fault::kCorrupt) {
    EXPECT_EQ(delivery.corrupt, 0u);
  }

  switch (fault()) {
    case Fault::kDrop:
      EXPECT_EQ(truth.rejected, Rejections({}));
      EXPECT_EQ(counted, reported - fired);
      EXPECT_EQ(truth.records_read, counted);
      break;
    case Fault::kDup:
      EXPECT_EQ(truth.rejected, Rejections({{RejectReason::kDuplicate, fired}}));
      EXPECT_EQ(counted, reported);
      EXPECT_EQ(totals, reported_choices);
      EXPECT_EQ(truth.records_read, reported + fired);
      break;
    case Fault::kConflict:
      EXPECT_EQ(truth.rejected, Rejections({{RejectReason::kConflict, 2 * fired}}));
      EXPECT_EQ(counted, reported - fired);
      EXPECT_EQ(truth.records_read, reported + fired);
      break;
    case Fault::kCorrupt:
      EXPECT_EQ(truth.rejected, Rejections({{RejectReason::kMalformed, fired}}));
      EXPECT_EQ(delivery.corrupt, fired);
      EXPECT_EQ(counted, reported - fired);
      EXPECT_EQ(truth.records_read, reported);
      break;
    case Fault::kUnknownStation: {
      EXPECT_EQ(truth.rejected, Rejections({{RejectReason::kUnknownStation, fired}}));
      EXPECT_EQ(counted, reported - fired);
      EXPECT_EQ(truth.records_read, reported);
      uint64_t misrouted = 0;
      for (const BallotBatch& batch : delivery.batches) {
        if (batch.station == kUnknownStation) misrouted += batch.size();
      }
      EXPECT_EQ(misrouted, fired);
      break;
    }
    case Fault::kUnknownChoice:
      EXPECT_EQ(truth.rejected, Rejections({{RejectReason::kUnknownChoice, fired}}));
      EXPECT_EQ(counted, reported - fired);
      EXPECT_EQ(truth.records_read, reported);
      break;
    case Fault::kBadSeq:
      EXPECT_EQ(truth.rejected, Rejections({{RejectReason::kBadSeq, fired}}));
      EXPECT_EQ(counted, reported - fired);
      EXPECT_EQ(truth.records_read, reported);
      break;
    case Fault::kReorder: {
      EXPECT_EQ(truth.rejected, Rejections({}));
      EXPECT_EQ(counted, reported);
      EXPECT_EQ(totals, reported_choices);
      EXPECT_EQ(fired, streams.num_items());  // reorder=1: every window is shuffled
      // The same records as the clean streams, no longer in serial order.
      const std::vector<BallotBatch> clean_batches = CleanBatches(clean);
      EXPECT_EQ(SortedRecords(delivery.batches), SortedRecords(clean_batches));
      EXPECT_TRUE(std::all_of(clean_batches.begin(), clean_batches.end(), AscendingConsecutive));
      EXPECT_FALSE(
          std::all_of(delivery.batches.begin(), delivery.batches.end(), AscendingConsecutive));
      break;
    }
    case Fault::kTruncate: {
      EXPECT_EQ(truth.rejected, Rejections({}));
      EXPECT_EQ(counted, reported - fired);
      EXPECT_EQ(truth.records_read, counted);
      // A truncated stream is a prefix: each station's delivered serials are 1..k.
      std::map<StationIndex, std::set<uint64_t>> serials;
      for (const BallotBatch& batch : delivery.batches) {
        serials[batch.station].insert(batch.seq.begin(), batch.seq.end());
      }
      for (const auto& [station, seqs] : serials) {
        EXPECT_EQ(*seqs.rbegin(), seqs.size()) << "station " << station;
      }
      break;
    }
    case Fault::kDoubleReport: {
      const uint64_t duplicate = truth.Rejected(RejectReason::kDuplicate);
      const uint64_t conflict = truth.Rejected(RejectReason::kConflict);
      EXPECT_EQ(truth.rejected, Rejections({{RejectReason::kDuplicate, duplicate},
                                            {RejectReason::kConflict, conflict}}));
      EXPECT_GT(duplicate + conflict, 0u);
      // Each station sent its stream once or twice, whole.
      uint64_t doubled = 0;
      for (StationIndex s = 0; s < election.stations.size(); ++s) {
        uint64_t planned = 0;
        for (ChoiceIndex c = 0; c < truth.num_choices; ++c) planned += clean.planned(s, c);
        const uint64_t read = truth.station_records[s];
        EXPECT_TRUE(read == planned || read == 2 * planned) << "station " << s << ": " << read;
        if (planned > 0 && read == 2 * planned) ++doubled;
      }
      EXPECT_GT(doubled, 0u);
      // A resend with changes loses the changed identity (2 conflicting copies).
      EXPECT_EQ(conflict % 2, 0u);
      EXPECT_EQ(counted, reported - conflict / 2);
      break;
    }
  }
}

std::string SingleFaultName(
    const ::testing::TestParamInfo<std::tuple<SingleFault, Which, uint64_t>>& info) {
  return absl::StrCat(FaultName(std::get<0>(info.param).fault),
                      std::get<1>(info.param) == Which::kSmall ? "_small" : "_reference", "_seed",
                      std::get<2>(info.param));
}

INSTANTIATE_TEST_SUITE_P(
    EachFault, SingleFaultTest,
    ::testing::Combine(
        ::testing::Values(SingleFault{Fault::kDrop, 0.05}, SingleFault{Fault::kDup, 0.05},
                          SingleFault{Fault::kConflict, 0.05}, SingleFault{Fault::kCorrupt, 0.05},
                          SingleFault{Fault::kUnknownStation, 0.05},
                          SingleFault{Fault::kUnknownChoice, 0.05},
                          SingleFault{Fault::kBadSeq, 0.05}, SingleFault{Fault::kReorder, 1.0},
                          SingleFault{Fault::kTruncate, 0.5},
                          SingleFault{Fault::kDoubleReport, 0.5}),
        ::testing::Values(Which::kSmall, Which::kReference),
        ::testing::Values(uint64_t{1}, uint64_t{20240707})),
    SingleFaultName);

// With probability 1 every record (or station) is hit: the prediction still holds.
TEST(FaultyStreamsTest, CertainFaultsHitEverything) {
  const Election& election = SmallElection();
  const CalibratedStreams clean = PlanOrDie(election, 5, 16);
  const uint64_t reported = ReportedCast(election);
  {
    FaultPlan plan;
    plan[Fault::kDrop] = 1;
    const Delivery delivery = Deliver(election, FaultyStreams(election, clean, plan, 5));
    ExpectPredictionHolds(election, delivery);
    EXPECT_EQ(delivery.fired[Fault::kDrop], reported);
    EXPECT_EQ(delivery.truth.records_read, 0u);
  }
  {
    FaultPlan plan;
    plan[Fault::kConflict] = 1;
    const Delivery delivery = Deliver(election, FaultyStreams(election, clean, plan, 5));
    ExpectPredictionHolds(election, delivery);
    EXPECT_EQ(delivery.truth.TotalCounted(), 0u);
    EXPECT_EQ(delivery.truth.Rejected(RejectReason::kConflict), 2 * reported);
  }
  {
    FaultPlan plan;
    plan[Fault::kDoubleReport] = 1;
    plan[Fault::kDup] = 1;
    plan[Fault::kConflict] = 1;
    const Delivery delivery = Deliver(election, FaultyStreams(election, clean, plan, 5));
    ExpectPredictionHolds(election, delivery);
    EXPECT_EQ(delivery.truth.records_read, 6 * reported);  // 3 copies, each resent
    EXPECT_EQ(delivery.truth.TotalCounted(), 0u);
  }
  {
    FaultPlan plan;
    plan[Fault::kTruncate] = 1;
    const Delivery delivery = Deliver(election, FaultyStreams(election, clean, plan, 5));
    ExpectPredictionHolds(election, delivery);
    EXPECT_LT(delivery.truth.TotalCounted(), reported);
    EXPECT_EQ(delivery.truth.TotalCounted(), reported - delivery.fired[Fault::kTruncate]);
  }
}

// A faultless plan delivers exactly the calibrated streams.
TEST(FaultyStreamsTest, EmptyPlanDeliversTheCleanStreams) {
  const Election& election = SmallElection();
  const CalibratedStreams clean = PlanOrDie(election, 9, 16);
  const Delivery delivery = Deliver(election, FaultyStreams(election, clean, FaultPlan(), 9));
  ExpectPredictionHolds(election, delivery);
  EXPECT_EQ(delivery.fired, FaultCounts());
  EXPECT_EQ(delivery.truth.rejected, Rejections({}));
  EXPECT_EQ(delivery.truth.ChoiceTotals(), ReportedChoices(election));
  EXPECT_EQ(SortedRecords(delivery.batches), SortedRecords(CleanBatches(clean)));
}

// ---------------------------------------------------------------------------------------
// Determinism.

TEST(FaultyStreamsTest, SameSeedGivesTheSameDeliveryInAnyOrderOfGeneration) {
  for (Which which : {Which::kSmall, Which::kReference}) {
    const Election& election = GetElection(which);
    const CalibratedStreams clean = PlanOrDie(election, 77, CleanBatchSize(which));
    absl::StatusOr<FaultPlan> plan = FaultPlan::Parse(
        "drop=0.05,dup=0.05,conflict=0.05,corrupt=0.05,unknown_station=0.05,"
        "unknown_choice=0.05,bad_seq=0.05,reorder=0.5,truncate=0.3,double_report=0.3");
    ASSERT_THAT(plan, IsOk());
    const FaultyStreams streams(election, clean, *plan, 77);
    const FaultyStreams same(election, clean, *plan, 77);
    const Delivery forward = Deliver(election, streams, /*reverse=*/false);
    const Delivery backward = Deliver(election, same, /*reverse=*/true);
    ASSERT_EQ(forward.items.size(), backward.items.size());
    for (size_t item = 0; item < forward.items.size(); ++item) {
      EXPECT_TRUE(SameOutput(forward.items[item], backward.items[item])) << "item " << item;
      EXPECT_TRUE(forward.item_truths[item] == backward.item_truths[item]) << "item " << item;
      EXPECT_EQ(forward.item_fired[item], backward.item_fired[item]) << "item " << item;
    }
    EXPECT_TRUE(forward.truth == backward.truth);
    EXPECT_EQ(forward.fired, backward.fired);
    ExpectPredictionHolds(election, forward);
    // Generating an item again replaces the output and adds the same prediction again.
    FaultyOutput again;
    Tally twice = EmptyTally(election);
    FaultCounts fired;
    streams.Generate(0, &again, &twice, &fired);
    streams.Generate(0, &again, &twice, &fired);
    EXPECT_TRUE(SameOutput(again, forward.items[0]));
    Tally expected = EmptyTally(election);
    expected.Merge(forward.item_truths[0]);
    expected.Merge(forward.item_truths[0]);
    EXPECT_TRUE(twice == expected);
  }
}

TEST(FaultyStreamsTest, ParallelPipelineMatchesSerialGeneration) {
  const Election& election = ReferenceElection();
  const CalibratedStreams clean = PlanOrDie(election, 3, 1024);
  absl::StatusOr<FaultPlan> plan = FaultPlan::Parse(kExampleSpec);
  ASSERT_THAT(plan, IsOk());
  const FaultyStreams streams(election, clean, *plan, 3);
  const Delivery serial = Deliver(election, streams);
  for (int threads : {1, 2, 4}) {
    Tally predicted;
    FaultCounts fired;
    absl::StatusOr<Tally> tally =
        AggregateFaultyStreams(election, streams, threads, &predicted, &fired);
    ASSERT_THAT(tally, IsOk());
    EXPECT_TRUE(predicted == serial.truth) << threads << " threads\n"
                                           << Diff(serial.truth, predicted);
    EXPECT_TRUE(*tally == serial.truth) << threads << " threads\n" << Diff(serial.truth, *tally);
    EXPECT_EQ(fired, serial.fired) << threads << " threads";
  }
}

TEST(FaultyStreamsTest, DifferentSeedsGiveDifferentDeliveries) {
  const Election& election = ReferenceElection();
  absl::StatusOr<FaultPlan> plan = FaultPlan::Parse("drop=0.05,dup=0.05,reorder=1");
  ASSERT_THAT(plan, IsOk());
  // Same clean streams, different fault seeds.
  const CalibratedStreams clean = PlanOrDie(election, 1, 1024);
  const Delivery one = Deliver(election, FaultyStreams(election, clean, *plan, 1));
  const Delivery two = Deliver(election, FaultyStreams(election, clean, *plan, 2));
  ASSERT_EQ(one.items.size(), two.items.size());
  size_t differing_items = 0;
  for (size_t item = 0; item < one.items.size(); ++item) {
    differing_items += !SameOutput(one.items[item], two.items[item]);
  }
  EXPECT_GT(differing_items, one.items.size() / 2);
  EXPECT_NE(SortedRecords(one.batches), SortedRecords(two.batches));
  EXPECT_FALSE(one.truth == two.truth);
  EXPECT_NE(one.fired, two.fired);
  ExpectPredictionHolds(election, one);
  ExpectPredictionHolds(election, two);
}

// ---------------------------------------------------------------------------------------
// Every fault at once.

TEST(FaultyStreamsTest, ExampleSpecOnTheReferenceElectionIsPredictedExactly) {
  const Election& election = ReferenceElection();
  absl::StatusOr<FaultPlan> plan = FaultPlan::Parse(kExampleSpec);
  ASSERT_THAT(plan, IsOk());
  for (uint64_t seed : {1, 2, 3, 1000}) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    const CalibratedStreams clean = PlanOrDie(election, seed, kDefaultBatchSize);
    const Delivery delivery = Deliver(election, FaultyStreams(election, clean, *plan, seed));
    ExpectPredictionHolds(election, delivery);
    // Record faults are expected to fire 44 to 880 times each: silence would be a bug.
    for (Fault fault :
         {Fault::kDrop, Fault::kDup, Fault::kConflict, Fault::kCorrupt, Fault::kUnknownStation,
          Fault::kUnknownChoice, Fault::kBadSeq, Fault::kReorder}) {
      EXPECT_GT(delivery.fired[fault], 0u) << FaultName(fault);
    }
    EXPECT_EQ(delivery.fired[Fault::kReorder],
              FaultyStreams(election, clean, *plan, seed).num_items());
    EXPECT_EQ(delivery.truth.Rejected(RejectReason::kMalformed), delivery.fired[Fault::kCorrupt]);
    EXPECT_EQ(delivery.truth.Rejected(RejectReason::kUnknownStation),
              delivery.fired[Fault::kUnknownStation]);
    EXPECT_EQ(delivery.truth.Rejected(RejectReason::kUnknownChoice),
              delivery.fired[Fault::kUnknownChoice]);
    EXPECT_EQ(delivery.truth.Rejected(RejectReason::kBadSeq), delivery.fired[Fault::kBadSeq]);

    // The whole pipeline gives the same prediction and reproduces it.
    SyntheticRunOptions options;
    options.generator.seed = seed;
    options.threads = 2;
    options.faults = *plan;
    absl::StatusOr<SyntheticRun> run = RunSynthetic(election, options);
    ASSERT_THAT(run, IsOk());
    ASSERT_TRUE(run->predicted.has_value());
    EXPECT_TRUE(*run->predicted == delivery.truth) << Diff(delivery.truth, *run->predicted);
    EXPECT_TRUE(run->tally == *run->predicted) << Diff(*run->predicted, run->tally);
    EXPECT_EQ(run->fired, delivery.fired);

    // Reconciliation: each delta (counted - reported) is minus that choice's loss
    // (reported - predicted counted), and cast's is minus the total loss.
    const Reconciliation reconciliation = Reconcile(run->election, run->tally, ReconcileOptions{});
    const std::vector<uint64_t> reported = ReportedChoices(election);
    const std::vector<uint64_t> predicted = run->predicted->ChoiceTotals();
    int64_t total_loss = 0;
    ASSERT_EQ(reconciliation.choices.size(), reported.size());
    for (size_t c = 0; c < reported.size(); ++c) {
      ASSERT_GE(reported[c], predicted[c]) << c;
      const int64_t loss = static_cast<int64_t>(reported[c] - predicted[c]);
      total_loss += loss;
      ASSERT_TRUE(reconciliation.choices[c].delta.has_value());
      EXPECT_EQ(*reconciliation.choices[c].delta, -loss) << election.contest().choices[c].code;
      EXPECT_EQ(reconciliation.choices[c].counted, predicted[c]);
    }
    EXPECT_GT(total_loss, 0);
    ASSERT_TRUE(reconciliation.cast.delta.has_value());
    EXPECT_EQ(*reconciliation.cast.delta, -total_loss);
    EXPECT_FALSE(reconciliation.match);
  }
}

}  // namespace
}  // namespace canvass
