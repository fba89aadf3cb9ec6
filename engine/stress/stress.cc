// The stress driver (see stress.h).
#include "engine/stress/stress.h"

#include <algorithm>
#include <cmath>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "engine/aggregate/reference_aggregator.h"
#include "engine/base/apportion.h"
#include "engine/base/bytes.h"
#include "engine/pipeline/pipeline.h"
#include "engine/reconcile/reconciler.h"
#include "engine/report/report.h"
#include "engine/synth/faulty_streams.h"
#include "engine/synth/generator.h"
#include "engine/synth/random.h"
#include "tbb/global_control.h"
#include "tbb/parallel_for.h"

namespace canvass {
namespace {

constexpr uint64_t kStressStream = 7;

// Draws for building one round's world, from its seed.
class RoundRandom {
 public:
  explicit RoundRandom(uint64_t seed) : seed_(seed) {}
  uint64_t Bits() { return KeyedRandom(seed_, kStressStream, counter_++); }
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Bits() % n; }
  double Unit() { return UnitOpen(Bits()); }
  // Log-uniform integer in [low, high].
  uint64_t LogUniform(uint64_t low, uint64_t high) {
    double value = std::exp(
        std::log(static_cast<double>(low)) +
        Unit() * (std::log(static_cast<double>(high) + 1) - std::log(static_cast<double>(low))));
    return std::clamp<uint64_t>(static_cast<uint64_t>(value), low, high);
  }

 private:
  uint64_t seed_;
  uint64_t counter_ = 0;
};

Election DrawElection(RoundRandom& random, uint64_t seed) {
  Election election;
  election.id = absl::StrCat("stress-", seed);
  election.title = "stress round";
  election.synthetic_roster = true;
  Contest contest;
  contest.id = election.id;
  const uint32_t num_choices = 2 + static_cast<uint32_t>(random.Below(11));  // 2..12
  for (uint32_t c = 0; c < num_choices; ++c) {
    Choice choice{absl::StrCat("C", c), absl::StrCat("choice ", c), ChoiceKind::kCandidate};
    if (c + 1 == num_choices && random.Below(2) == 0) choice.kind = ChoiceKind::kInvalid;
    contest.choices.push_back(std::move(choice));
  }
  // Reported figures: a cast total split over the choices by random shares.
  ReportedFigures reported;
  reported.cast = random.Below(4) == 0 ? random.Below(50) : random.LogUniform(1, 40000);
  std::vector<uint64_t> shares(num_choices);
  for (uint64_t& share : shares) share = 1 + random.Below(1000);
  for (uint64_t figure : ApportionLargestRemainder(reported.cast, shares)) {
    reported.choices.push_back(figure);
  }
  // Stations: log-uniform count, heavily skewed weights, some empty.
  const uint64_t num_stations = random.LogUniform(1, 2000);
  std::vector<uint64_t> weights(num_stations);
  for (uint64_t& weight : weights) {
    weight =
        random.Below(7) == 0 ? 0 : static_cast<uint64_t>(1000.0 / std::pow(random.Unit(), 1.5));
  }
  if (random.Below(3) == 0) weights[random.Below(num_stations)] *= 1000;  // one giant
  if (std::all_of(weights.begin(), weights.end(), [](uint64_t w) { return w == 0; }))
    weights[0] = 1;
  std::vector<uint64_t> ballots(num_stations, 0);
  for (const std::optional<uint64_t>& figure : reported.choices) {
    std::vector<uint64_t> parts = ApportionLargestRemainder(*figure, weights);
    for (size_t s = 0; s < num_stations; ++s) ballots[s] += parts[s];
  }
  for (uint64_t s = 0; s < num_stations; ++s) {
    Station station;
    station.id = absl::StrCat("S", s);
    station.country = absl::StrCat("K", random.Below(1 + num_stations / 4));
    station.weight = weights[s];
    // Room for the largest-remainder split at any scale K: a station's share at scale K
    // is at most K x its exact share + (choices), so `choices + 1` spare serials suffice.
    station.capacity = ballots[s] + num_choices + 1 + random.Below(1 + ballots[s] / 2);
    election.stations.push_back(std::move(station));
  }
  contest.reported = std::move(reported);
  election.contests.push_back(std::move(contest));
  election.BuildIndexes();
  return election;
}

// A fault must fire when a working injector would stay silent with probability below
// 1e-9: (1 - p)^opportunities < 1e-9.
bool MustFire(double p, double opportunities) {
  if (p <= 0 || opportunities < 1) return false;
  return p >= 1 || opportunities * std::log1p(-p) < std::log(1e-9);
}

// Record faults: opportunities are the records that reach each decision, in the order
// FaultyStreams takes them, starting from the records truncation left.
std::vector<Fault> RecordFaultsThatMustFire(const FaultPlan& plan, uint64_t records_sent,
                                            uint32_t num_choices) {
  std::vector<Fault> must_fire;
  double reach = static_cast<double>(records_sent);
  for (Fault fault : {Fault::kDrop, Fault::kCorrupt, Fault::kUnknownStation, Fault::kUnknownChoice,
                      Fault::kBadSeq}) {
    if (MustFire(plan[fault], reach)) must_fire.push_back(fault);
    reach *= 1 - plan[fault];
  }
  if (MustFire(plan[Fault::kDup], reach)) must_fire.push_back(Fault::kDup);
  if (num_choices >= 2 && MustFire(plan[Fault::kConflict], reach)) {
    must_fire.push_back(Fault::kConflict);
  }
  return must_fire;
}

// Each fault is off (40%) or on: record faults with a probability from 1e-4 to 0.3 and
// station faults from 0.01 to 0.6, log-uniform; reorder is 1 half the time. Then a planned
// fault must fire when a working injector would stay silent with probability below
// 1e-9, i.e. (1 - p)^opportunities < 1e-9.
void DrawPlan(RoundRandom& random, StressRound* round) {
  auto log_uniform = [&](double low, double high) {
    return std::exp(std::log(low) + random.Unit() * (std::log(high) - std::log(low)));
  };
  for (int f = 0; f < kNumFaults; ++f) {
    if (random.Below(5) < 2) continue;
    const bool station_fault =
        f == static_cast<int>(Fault::kTruncate) || f == static_cast<int>(Fault::kDoubleReport);
    round->plan.probability[f] = station_fault ? log_uniform(0.01, 0.6) : log_uniform(1e-4, 0.3);
  }
  if (random.Below(2) == 0) round->plan[Fault::kReorder] = 1;
  const FaultPlan& plan = round->plan;
  const ReportedFigures& reported = *round->election.contest().reported;
  // Stations with ballots (the ones station faults can hit) and units (for windows).
  std::vector<uint64_t> weights, ballots(round->election.stations.size(), 0);
  for (const Station& station : round->election.stations) weights.push_back(station.weight);
  for (const std::optional<uint64_t>& figure : reported.choices) {
    std::vector<uint64_t> parts = ApportionLargestRemainder(*figure, weights);
    for (size_t s = 0; s < parts.size(); ++s) ballots[s] += parts[s];
  }
  uint64_t nonempty = 0, units = 0;
  for (uint64_t n : ballots) {
    nonempty += n > 0;
    units += (n + round->batch_size - 1) / round->batch_size;
  }
  // Opportunities of the station and window decisions; record faults are decided after
  // delivery, from the records truncation actually left (see RecordFaultsThatMustFire).
  std::array<double, kNumFaults> opportunities{};
  opportunities[static_cast<int>(Fault::kTruncate)] = static_cast<double>(nonempty);
  opportunities[static_cast<int>(Fault::kDoubleReport)] = static_cast<double>(nonempty);
  opportunities[static_cast<int>(Fault::kReorder)] = static_cast<double>(
      (units + FaultyStreams::kUnitsPerItem - 1) / FaultyStreams::kUnitsPerItem);
  for (Fault fault : {Fault::kTruncate, Fault::kDoubleReport, Fault::kReorder}) {
    if (MustFire(plan[fault], opportunities[static_cast<int>(fault)])) {
      round->must_fire.push_back(fault);
    }
  }
}

struct Delivery {
  std::vector<BallotBatch> batches;
  uint64_t malformed = 0;
  Tally predicted;
  FaultCounts fired;
};

Delivery Deliver(const StressRound& round, const CalibratedStreams& clean) {
  FaultyStreams faulty(round.election, clean, round.plan, round.seed);
  Delivery delivery;
  delivery.predicted = Tally(static_cast<uint32_t>(round.election.stations.size()),
                             static_cast<uint32_t>(round.election.contest().choices.size()));
  FaultyOutput output;
  for (size_t item = 0; item < faulty.num_items(); ++item) {
    faulty.Generate(item, &output, &delivery.predicted, &delivery.fired);
    for (BallotBatch& batch : output.batches) delivery.batches.push_back(std::move(batch));
    delivery.malformed += output.corrupt.size();
  }
  return delivery;
}

std::string TallyDiff(const Election& election, const Tally& expected, const Tally& actual) {
  std::string diff;
  auto line = [&](const std::string& what, uint64_t want, uint64_t got) {
    if (want != got) absl::StrAppend(&diff, "    ", what, ": expected ", want, ", got ", got, "\n");
  };
  line("records read", expected.records_read, actual.records_read);
  for (int r = 0; r < kNumRejectReasons; ++r) {
    line(absl::StrCat("rejected ", RejectReasonName(static_cast<RejectReason>(r))),
         expected.rejected[r], actual.rejected[r]);
  }
  const Contest& contest = election.contest();
  for (StationIndex s = 0; s < expected.num_stations && s < actual.num_stations; ++s) {
    for (ChoiceIndex c = 0; c < expected.num_choices && c < actual.num_choices; ++c) {
      line(absl::StrCat("station ", election.stations[s].id, " ", contest.choices[c].code),
           expected.Counted(s, c), actual.Counted(s, c));
    }
    line(absl::StrCat("station ", election.stations[s].id, " records"), expected.station_records[s],
         actual.station_records[s]);
  }
  return diff;
}

std::string ReportJson(const Election& election, const Tally& tally) {
  Reconciliation reconciliation = Reconcile(election, tally, ReconcileOptions{});
  ReportInput input;
  input.command = "stress";
  input.election = &election;
  input.tally = &tally;
  input.reconciliation = &reconciliation;
  input.breakdown = Breakdown::kStation;
  return RenderReport(input, ReportFormat::kJson);
}

class RoundChecker {
 public:
  explicit RoundChecker(StressRoundResult* result) : result_(result) {}
  void Check(bool ok, const std::string& failure) {
    if (!ok) {
      result_->passed = false;
      result_->failures.push_back(failure);
    }
  }

 private:
  StressRoundResult* result_;
};

void CheckCalibration(const StressRound& round, const CalibratedStreams& clean,
                      const AggregateFn& aggregate, const Tally& tally, RoundChecker& check) {
  const ReportedFigures& reported = *round.election.contest().reported;
  const std::vector<uint64_t> totals = tally.ChoiceTotals();
  for (size_t c = 0; c < totals.size(); ++c) {
    check.Check(totals[c] == *reported.choices[c],
                absl::StrCat("invariant 6 (calibration): choice ", c, " counted ", totals[c],
                             ", reported ", *reported.choices[c]));
  }
  // The same election at scale K reproduces K times every figure.
  absl::StatusOr<Election> scaled = ScaleElection(round.election, round.scale_k);
  if (!scaled.ok()) return;
  absl::StatusOr<CalibratedStreams> streams =
      CalibratedStreams::Plan(*scaled, GeneratorOptions{round.seed, round.batch_size});
  check.Check(streams.ok(), "invariant 6: plan at scale K failed");
  if (!streams.ok()) return;
  std::vector<BallotBatch> batches(streams->num_units());
  for (size_t u = 0; u < batches.size(); ++u) streams->Generate(u, &batches[u]);
  absl::StatusOr<Tally> scaled_tally = aggregate(*scaled, batches, 0, round.threads);
  check.Check(scaled_tally.ok(), "invariant 6: aggregation at scale K failed");
  if (!scaled_tally.ok()) return;
  const std::vector<uint64_t> scaled_totals = scaled_tally->ChoiceTotals();
  for (size_t c = 0; c < scaled_totals.size(); ++c) {
    check.Check(scaled_totals[c] == round.scale_k * *reported.choices[c],
                absl::StrCat("invariant 6 (calibration at scale ", round.scale_k, "): choice ", c,
                             " counted ", scaled_totals[c]));
  }
}

void CheckTally(const StressRound& round, const Tally& tally, RoundChecker& check) {
  check.Check(tally.records_read == tally.TotalCounted() + tally.TotalRejected(),
              absl::StrCat("invariant 1 (conservation): read ", tally.records_read, " != counted ",
                           tally.TotalCounted(), " + rejected ", tally.TotalRejected()));
  uint64_t national = 0;
  for (uint64_t total : tally.ChoiceTotals()) national += total;
  check.Check(national == tally.TotalCounted(), "invariant 2: choices do not sum to counted");
  for (StationIndex s = 0; s < tally.num_stations; ++s) {
    uint64_t station_counted = 0;
    for (ChoiceIndex c = 0; c < tally.num_choices; ++c) station_counted += tally.Counted(s, c);
    check.Check(station_counted <= round.election.stations[s].capacity,
                absl::StrCat("invariant 4 (exactly-once): station ", round.election.stations[s].id,
                             " counted ", station_counted, " > capacity"));
  }
}

}  // namespace

AggregateFn ProductionAggregateFn() {
  return [](const Election& election, const std::vector<BallotBatch>& batches, uint64_t malformed,
            int threads) { return AggregateBatches(election, batches, malformed, threads); };
}

uint64_t StressRoundSeed(uint64_t seed, uint64_t index) {
  return KeyedRandom(seed, kStressStream, index, 0x5eed);
}

StressRound DrawStressRound(uint64_t seed, int threads_override) {
  RoundRandom random(seed);
  StressRound round;
  round.seed = seed;
  round.election = DrawElection(random, seed);
  constexpr int kThreadChoices[] = {1, 2, 3, 4, 8};
  // Drawn even when pinned, so that pinning the thread count changes nothing else.
  round.threads = kThreadChoices[random.Below(5)];
  if (threads_override > 0) round.threads = threads_override;
  round.second_threads = kThreadChoices[random.Below(5)];
  round.batch_size = 1u << (4 + random.Below(11));  // 16 .. 16384
  round.scale_k = 2 + random.Below(3);
  DrawPlan(random, &round);
  return round;
}

StressRoundResult RunStressRound(const StressRound& round, const AggregateFn& aggregate) {
  StressRoundResult result;
  RoundChecker check(&result);
  absl::StatusOr<CalibratedStreams> clean =
      CalibratedStreams::Plan(round.election, GeneratorOptions{round.seed, round.batch_size});
  check.Check(clean.ok(), absl::StrCat("plan failed: ", clean.status().ToString()));
  if (!clean.ok()) return result;
  Delivery delivery = Deliver(round, *clean);
  std::vector<Fault> must_fire = round.must_fire;
  for (Fault fault : RecordFaultsThatMustFire(
           round.plan, clean->total_ballots() - delivery.fired[Fault::kTruncate],
           static_cast<uint32_t>(round.election.contest().choices.size()))) {
    must_fire.push_back(fault);
  }
  result.asserted_faults = must_fire;
  for (Fault fault : must_fire) {
    check.Check(delivery.fired[fault] > 0,
                absl::StrCat("planned fault ", FaultName(fault), " never fired"));
  }
  absl::StatusOr<Tally> tally =
      aggregate(round.election, delivery.batches, delivery.malformed, round.threads);
  check.Check(tally.ok(), absl::StrCat("aggregation failed: ", tally.status().ToString()));
  if (!tally.ok()) return result;
  CheckTally(round, *tally, check);
  // Invariant 5: the generator's ground truth, figure by figure.
  check.Check(*tally == delivery.predicted,
              "invariant 5 (ground truth): tally differs from prediction");
  if (!(*tally == delivery.predicted)) {
    absl::StrAppend(&result.diff, "  ground truth (expected) vs aggregated (got):\n",
                    TallyDiff(round.election, delivery.predicted, *tally));
  }
  // The serial reference aggregator on the same records.
  Tally reference = ReferenceAggregate(round.election, delivery.batches, delivery.malformed);
  check.Check(*tally == reference, "reference: tally differs from the serial reference aggregator");
  if (!(*tally == reference)) {
    absl::StrAppend(&result.diff, "  reference (expected) vs aggregated (got):\n",
                    TallyDiff(round.election, reference, *tally));
  }
  // Invariant 3: another thread count and the batches in reverse order, same JSON.
  std::vector<BallotBatch> reversed(delivery.batches.rbegin(), delivery.batches.rend());
  absl::StatusOr<Tally> again =
      aggregate(round.election, reversed, delivery.malformed, round.second_threads);
  check.Check(
      again.ok() && ReportJson(round.election, *again) == ReportJson(round.election, *tally),
      absl::StrCat("invariant 3 (determinism): JSON differs between ", round.threads, " and ",
                   round.second_threads, " threads"));
  if (!round.plan.Any()) CheckCalibration(round, *clean, aggregate, *tally, check);
  return result;
}

namespace {

// Every rank's counts summed, and every rank's log entries, on every rank.
void ShareStress(const RankGroup& ranks, StressSummary* summary,
                 std::vector<std::pair<uint64_t, std::string>>* entries) {
  std::string mine;
  PutLittleEndian<uint64_t>(summary->passed, &mine);
  PutLittleEndian<uint64_t>(summary->failed, &mine);
  for (uint64_t count : summary->rounds_with_fault) PutLittleEndian(count, &mine);
  for (const auto& [index, entry] : *entries) {
    PutLittleEndian<uint64_t>(index, &mine);
    PutLittleEndian<uint64_t>(entry.size(), &mine);
    mine += entry;
  }
  *summary = StressSummary();
  entries->clear();
  for (const std::string& theirs : ranks.AllGather(mine)) {
    absl::string_view in = theirs;
    uint64_t value = 0;
    ConsumeLittleEndian(&in, &value);
    summary->passed += value;
    ConsumeLittleEndian(&in, &value);
    summary->failed += value;
    for (uint64_t& count : summary->rounds_with_fault) {
      ConsumeLittleEndian(&in, &value);
      count += value;
    }
    uint64_t index = 0, bytes = 0;
    while (ConsumeLittleEndian(&in, &index) && ConsumeLittleEndian(&in, &bytes)) {
      entries->emplace_back(index, std::string(in.substr(0, bytes)));
      in.remove_prefix(std::min<uint64_t>(bytes, in.size()));
    }
  }
}

}  // namespace

StressSummary RunStress(const StressOptions& options, const AggregateFn& aggregate,
                        std::ostream& log) {
  StressSummary summary;
  std::mutex mutex;
  // Rounds run side by side, each on its own thread count (up to 8, more than the cores
  // here): one limit for the whole run, so no round's limit caps another's.
  tbb::global_control allow(tbb::global_control::max_allowed_parallelism,
                            std::max<size_t>(8, static_cast<size_t>(options.threads)));
  std::vector<std::pair<uint64_t, StressRoundResult>> failures;
  const uint64_t rank = options.ranks ? static_cast<uint64_t>(options.ranks->rank()) : 0;
  const uint64_t ranks = options.ranks ? static_cast<uint64_t>(options.ranks->size()) : 1;
  tbb::parallel_for(uint64_t{0}, options.rounds, [&](uint64_t index) {
    if (index % ranks != rank) return;
    const uint64_t seed = StressRoundSeed(options.seed, index);
    StressRound round = DrawStressRound(seed, options.threads);
    StressRoundResult result = RunStressRound(round, aggregate);
    std::lock_guard<std::mutex> lock(mutex);
    for (Fault fault : result.asserted_faults) ++summary.rounds_with_fault[static_cast<int>(fault)];
    if (result.passed) {
      ++summary.passed;
    } else {
      ++summary.failed;
      failures.emplace_back(index, std::move(result));
    }
  });
  // Each failing round's log entry, by round index.
  std::vector<std::pair<uint64_t, std::string>> entries;
  for (const auto& [index, result] : failures) {
    const uint64_t seed = StressRoundSeed(options.seed, index);
    std::string entry =
        absl::StrCat("round ", index, " FAILED, replay with: canvass stress --replay ", seed,
                     options.threads > 0 ? absl::StrCat(" --threads ", options.threads) : "", "\n");
    for (const std::string& failure : result.failures) absl::StrAppend(&entry, "  ", failure, "\n");
    entries.emplace_back(index, std::move(entry));
  }
  if (options.ranks != nullptr) ShareStress(*options.ranks, &summary, &entries);
  // Report failures in round order, so the log does not depend on scheduling.
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [index, entry] : entries) {
    summary.failing_seeds.push_back(StressRoundSeed(options.seed, index));
    log << entry;
  }
  return summary;
}

}  // namespace canvass
