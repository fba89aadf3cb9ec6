// Fault injection over calibrated streams, with the exact predicted outcome.
#include "engine/synth/faulty_streams.h"

#include <algorithm>
#include <utility>

#include "engine/base/check.h"
#include "engine/synth/random.h"

namespace canvass {
namespace {

constexpr uint64_t kStationFaultStream = 3;
constexpr uint64_t kRecordFaultStream = 4;
constexpr uint64_t kWindowStream = 5;
constexpr uint64_t kResendStream = 6;

// Independent uniform draws for one record, one per decision.
class Draws {
 public:
  explicit Draws(uint64_t key) : key_(key) {}
  double Uniform(int decision) const {
    return UnitOpen(Mix64(key_ + 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(decision + 1)));
  }
  uint64_t Bits(int decision) const {
    return Mix64(key_ ^ (0xd1b54a32d192ed03ULL * static_cast<uint64_t>(decision + 1)));
  }

 private:
  uint64_t key_;
};

// Another choice than `choice`, drawn from `bits`. Requires: num_choices >= 2.
ChoiceIndex OtherChoice(ChoiceIndex choice, uint32_t num_choices, uint64_t bits) {
  return static_cast<ChoiceIndex>((choice + 1 + bits % (num_choices - 1)) % num_choices);
}

void Reject(Tally* truth, RejectReason reason) { ++truth->rejected[static_cast<int>(reason)]; }

}  // namespace

FaultyStreams::FaultyStreams(const Election& election, const CalibratedStreams& clean,
                             const FaultPlan& plan, uint64_t seed)
    : election_(election),
      clean_(clean),
      plan_(plan),
      seed_(seed),
      num_choices_(static_cast<uint32_t>(election.contest().choices.size())),
      batch_size_(kDefaultBatchSize),
      station_faults_(election.stations.size()) {
  for (StationIndex s = 0; s < election.stations.size(); ++s) {
    uint64_t ballots = 0;
    for (ChoiceIndex c = 0; c < num_choices_; ++c) ballots += clean.planned(s, c);
    Draws draws(KeyedRandom(seed, kStationFaultStream, s));
    StationFaults& faults = station_faults_[s];
    if (ballots > 0 && draws.Uniform(0) < plan[Fault::kTruncate]) {
      faults.kept_serials = draws.Bits(1) % ballots;  // 0 .. ballots - 1: at least one is cut
    }
    if (ballots > 0 && draws.Uniform(2) < plan[Fault::kDoubleReport]) {
      faults.double_report = (num_choices_ >= 2 && (draws.Bits(3) & 1)) ? 2 : 1;
    }
  }
}

void FaultyStreams::Generate(size_t item, FaultyOutput* out, Tally* truth,
                             FaultCounts* fired) const {
  out->Clear();
  const size_t first_unit = item * kUnitsPerItem;
  const size_t last_unit = std::min(clean_.num_units(), first_unit + kUnitsPerItem);
  Draws window(KeyedRandom(seed_, kWindowStream, item));
  const bool shuffle = window.Uniform(0) < plan_[Fault::kReorder];
  if (shuffle) fired->Add(Fault::kReorder);
  // First deliveries, later copies (dup, conflict) and resent station streams go out in
  // that order, so that extra copies arrive in other batches than their originals.
  std::vector<BallotRecord> first, later, resent;
  for (size_t unit = first_unit; unit < last_unit; ++unit) {
    EmitUnit(unit, &first, &later, &resent, out, truth, fired);
  }
  if (shuffle) {
    first.insert(first.end(), later.begin(), later.end());
    first.insert(first.end(), resent.begin(), resent.end());
    Batch(&first, /*shuffle=*/true, window.Bits(1), out);
  } else {
    Batch(&first, false, 0, out);
    Batch(&later, false, 0, out);
    Batch(&resent, false, 0, out);
  }
  for (const BallotBatch& batch : out->batches) {
    truth->records_read += batch.size();
    if (batch.station != kUnknownStation) truth->station_records[batch.station] += batch.size();
  }
  truth->records_read += out->corrupt.size();
}

void FaultyStreams::EmitUnit(size_t unit, std::vector<BallotRecord>* first,
                             std::vector<BallotRecord>* later, std::vector<BallotRecord>* resent,
                             FaultyOutput* out, Tally* truth, FaultCounts* fired) const {
  thread_local BallotBatch clean;
  clean_.Generate(unit, &clean);
  const StationIndex s = clean.station;
  const StationFaults& station = station_faults_[s];
  const uint64_t capacity = election_.stations[s].capacity;
  for (size_t i = 0; i < clean.size(); ++i) {
    const uint64_t seq = clean.seq[i];
    const ChoiceIndex choice = clean.choice[i];
    if (seq > station.kept_serials) {
      fired->Add(Fault::kTruncate);
      continue;  // never sent: a lost ballot
    }
    const Draws draws(KeyedRandom(seed_, kRecordFaultStream, s, seq));
    if (draws.Uniform(0) < plan_[Fault::kDrop]) {
      fired->Add(Fault::kDrop);
      continue;
    }
    if (draws.Uniform(1) < plan_[Fault::kCorrupt]) {
      fired->Add(Fault::kCorrupt);
      out->corrupt.push_back({s, seq, choice});
      Reject(truth, RejectReason::kMalformed);
      continue;
    }
    if (draws.Uniform(2) < plan_[Fault::kUnknownStation]) {
      fired->Add(Fault::kUnknownStation);
      first->push_back({kUnknownStation, seq, choice});
      Reject(truth, RejectReason::kUnknownStation);
      continue;
    }
    if (draws.Uniform(3) < plan_[Fault::kUnknownChoice]) {
      fired->Add(Fault::kUnknownChoice);
      first->push_back({s, seq, kUnknownChoice});
      Reject(truth, RejectReason::kUnknownChoice);
      continue;
    }
    if (draws.Uniform(4) < plan_[Fault::kBadSeq]) {
      fired->Add(Fault::kBadSeq);
      first->push_back({s, (draws.Bits(4) & 1) ? capacity + 1 : 0, choice});
      Reject(truth, RejectReason::kBadSeq);
      continue;
    }
    // The identity's well-formed copies, as delivered.
    ChoiceIndex copies[6];
    int num_copies = 0;
    copies[num_copies++] = choice;
    first->push_back({s, seq, choice});
    if (draws.Uniform(5) < plan_[Fault::kDup]) {
      fired->Add(Fault::kDup);
      copies[num_copies++] = choice;
      later->push_back({s, seq, choice});
    }
    if (num_choices_ >= 2 && draws.Uniform(6) < plan_[Fault::kConflict]) {
      fired->Add(Fault::kConflict);
      copies[num_copies] = OtherChoice(choice, num_choices_, draws.Bits(6));
      later->push_back({s, seq, copies[num_copies++]});
    }
    if (station.double_report != 0) {
      const int sent = num_copies;
      for (int k = 0; k < sent; ++k) {
        ChoiceIndex resent_choice = copies[k];
        const Draws resend(KeyedRandom(seed_, kResendStream, s, seq * 8 + k));
        if (station.double_report == 2 && resend.Uniform(0) < 0.25) {
          resent_choice = OtherChoice(resent_choice, num_choices_, resend.Bits(1));
        }
        copies[num_copies++] = resent_choice;
        resent->push_back({s, seq, resent_choice});
      }
    }
    // The counting rules of DESIGN.md, applied to this identity's copies.
    bool agree = true;
    for (int k = 1; k < num_copies; ++k) agree &= copies[k] == copies[0];
    if (agree) {
      ++truth->counted[static_cast<size_t>(s) * num_choices_ + copies[0]];
      truth->rejected[static_cast<int>(RejectReason::kDuplicate)] += num_copies - 1;
    } else {
      truth->rejected[static_cast<int>(RejectReason::kConflict)] += num_copies;
    }
  }
  // A double-reported station counts once per unit here; per station in docs/STRESS.md
  // terms it is the number of units resent, which is what proves the fault fired.
  if (station.double_report != 0 && clean.size() > 0) fired->Add(Fault::kDoubleReport);
}

void FaultyStreams::Batch(std::vector<BallotRecord>* records, bool shuffle, uint64_t key,
                          FaultyOutput* out) const {
  if (records->empty()) return;
  if (shuffle) {
    // Fisher-Yates with keyed draws, then station-homogeneous batches in shuffled order.
    for (size_t i = records->size() - 1; i > 0; --i) {
      std::swap((*records)[i], (*records)[Mix64(key + i) % (i + 1)]);
    }
  }
  // Group by station, keeping each station's records in delivery order.
  std::stable_sort(
      records->begin(), records->end(),
      [](const BallotRecord& a, const BallotRecord& b) { return a.station < b.station; });
  const size_t first_batch = out->batches.size();
  for (size_t i = 0; i < records->size();) {
    BallotBatch& batch = out->batches.emplace_back();
    batch.station = (*records)[i].station;
    for (; i < records->size() && (*records)[i].station == batch.station &&
           batch.size() < batch_size_;
         ++i) {
      batch.seq.push_back((*records)[i].seq);
      batch.choice.push_back((*records)[i].choice);
    }
  }
  if (shuffle) {
    for (size_t i = out->batches.size() - 1; i > first_batch; --i) {
      std::swap(out->batches[i],
                out->batches[first_batch +
                             Mix64(key ^ (i * 0x9e3779b97f4a7c15ULL)) % (i - first_batch + 1)]);
    }
  }
  records->clear();
}

}  // namespace canvass
