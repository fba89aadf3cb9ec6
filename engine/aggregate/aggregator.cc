// Parallel exactly-once aggregation (see aggregator.h for the design).
#include "engine/aggregate/aggregator.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/ballot/packed_choices.h"
#include "engine/base/check.h"
#include "engine/base/checked_math.h"
#include "engine/base/status_macros.h"

namespace canvass {
namespace {

constexpr uint8_t kUnseen = 0;
constexpr uint8_t kConflicted = 0xFF;

uint8_t* AllocateZeroed(uint64_t bytes) {
  if (bytes == 0) return nullptr;
  void* memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  CANVASS_CHECK(memory != MAP_FAILED);
  // Huge pages cut the page faults of first touch by 512x on big elections.
  madvise(memory, bytes, MADV_HUGEPAGE);
  return static_cast<uint8_t*>(memory);
}

}  // namespace

struct Aggregator::Local {
  int64_t histogram[kMaxChoices] = {};
  uint64_t rejected[kNumRejectReasons] = {};
  uint64_t conflicted_identities = 0;
};

Aggregator::Aggregator(const Election& election, AggregatorOptions options)
    : election_(election),
      num_choices_(static_cast<uint32_t>(election.contest().choices.size())),
      exactly_once_(options.exactly_once) {
  const size_t num_stations = election.stations.size();
  station_base_.resize(num_stations);
  stripe_base_.resize(num_stations);
  size_t stripes = 0;
  for (size_t s = 0; s < num_stations; ++s) {
    station_base_[s] = state_bytes_;
    stripe_base_[s] = stripes;
    if (exactly_once_) state_bytes_ += election.stations[s].capacity;
    stripes += (election.stations[s].capacity + (uint64_t{1} << kStripeBits) - 1) >> kStripeBits;
  }
  state_ = AllocateZeroed(state_bytes_);
  stripe_claimed_ = std::make_unique<std::atomic<uint8_t>[]>(stripes);
  stripe_written_ = std::make_unique<uint8_t[]>(stripes);  // zeroed: nothing written yet
  num_stripes_ = stripes;
  counted_added_ = std::make_unique<std::atomic<uint64_t>[]>(num_stations * num_choices_);
  counted_removed_ = std::make_unique<std::atomic<uint64_t>[]>(num_stations * num_choices_);
  station_records_ = std::make_unique<std::atomic<uint64_t>[]>(num_stations);
}

Aggregator::~Aggregator() {
  if (state_ != nullptr) munmap(state_, state_bytes_);
}

void Aggregator::ClaimStripe(size_t stripe) {
  while (stripe_claimed_[stripe].exchange(1, std::memory_order_acquire) != 0) {
    while (stripe_claimed_[stripe].load(std::memory_order_relaxed) != 0) {
      std::this_thread::yield();
    }
  }
}

void Aggregator::ReleaseStripe(size_t stripe) {
  stripe_claimed_[stripe].store(0, std::memory_order_release);
}

void Aggregator::AddToCounter(std::atomic<uint64_t>& counter, uint64_t n) {
  const uint64_t before = counter.fetch_add(n, std::memory_order_relaxed);
  if (n > kMaxFigure - std::min(before, kMaxFigure)) {
    overflowed_.store(true, std::memory_order_relaxed);
  }
}

void Aggregator::AddMalformed(uint64_t records) {
  AddToCounter(rejected_[static_cast<int>(RejectReason::kMalformed)], records);
}

void Aggregator::StartFrom(const Tally& prior) {
  CANVASS_CHECK(prior.num_stations == election_.stations.size() &&
                prior.num_choices == num_choices_);
  for (size_t i = 0; i < prior.counted.size(); ++i)
    AddToCounter(counted_added_[i], prior.counted[i]);
  for (size_t s = 0; s < prior.station_records.size(); ++s) {
    AddToCounter(station_records_[s], prior.station_records[s]);
  }
  // Settled duplicates and conflicts carry over as they are; unknown-station and
  // malformed records are part of records_read through their reasons.
  for (int r = 0; r < kNumRejectReasons; ++r) AddToCounter(rejected_[r], prior.rejected[r]);
}

void Aggregator::Add(const BatchView& batch) {
  if (batch.size() == 0) return;
  Local local;
  if (batch.station == kUnknownStation) {
    AddToCounter(rejected_[static_cast<int>(RejectReason::kUnknownStation)], batch.size());
    return;
  }
  CANVASS_CHECK(batch.station < election_.stations.size());
  if (!exactly_once_) {
    AddCountOnly(batch, &local);
  } else if (!TryAddContiguous(batch, &local)) {
    AddGeneral(batch, &local);
  }
  Flush(batch.station, batch.size(), local);
}

bool Aggregator::RunInRange(StationIndex s, uint64_t first, size_t count) const {
  const uint64_t capacity = election_.stations[s].capacity;
  // Written so that no intermediate wraps: serials near 2^64 must not alias small ones.
  return first != 0 && first <= capacity && count <= capacity - first + 1;
}

template <typename Mark>
bool Aggregator::MarkUnseenRange(StationIndex s, uint64_t begin, size_t count, Mark&& mark) {
  const size_t first_stripe = StripeOf(s, begin);
  const size_t last_stripe = StripeOf(s, begin + count - 1);
  // Ascending claims: the general path holds one stripe at a time, so no cycle can form.
  bool written = false;
  for (size_t stripe = first_stripe; stripe <= last_stripe; ++stripe) {
    ClaimStripe(stripe);
    written |= stripe_written_[stripe] != 0;
  }
  uint8_t* state = state_ + station_base_[s] + begin;
  if (!written) {
    // Never written: every byte is still zero. Mark without reading them.
    mark(state);
    for (size_t stripe = first_stripe; stripe <= last_stripe; ++stripe) {
      stripe_written_[stripe] = 1;
      ReleaseStripe(stripe);
    }
    return true;
  }
  // Touch each page of the range for writing first (a locked OR of zero changes nothing;
  // the range is ours while claimed): a first read of fresh memory would map the zero page,
  // and the write after it would fault again and flush the other cores' TLBs.
  for (size_t i = 0; i < count; i += 4096) __atomic_fetch_or(state + i, 0, __ATOMIC_RELAXED);
  // One wide OR-reduction: eight bytes per load, vectorized by the compiler.
  uint64_t seen = 0;
  const size_t words = count / 8;
  for (size_t i = 0; i < words; ++i) {
    uint64_t word;
    std::memcpy(&word, state + 8 * i, sizeof(word));
    seen |= word;
  }
  for (size_t i = 8 * words; i < count; ++i) seen |= state[i];
  if (seen == kUnseen) mark(state);
  for (size_t stripe = first_stripe; stripe <= last_stripe; ++stripe) {
    if (seen == kUnseen) stripe_written_[stripe] = 1;
    ReleaseStripe(stripe);
  }
  return seen == kUnseen;
}

void Aggregator::CountChoices(const ChoiceIndex* choice, size_t n, Local* local) const {
  if (num_choices_ <= 16) {
    for (uint32_t c = 0; c < num_choices_; ++c) {
      uint32_t count = 0;
      for (size_t i = 0; i < n; ++i) count += (choice[i] == c);
      local->histogram[c] += count;
    }
  } else {
    for (size_t i = 0; i < n; ++i) ++local->histogram[choice[i]];
  }
}

// The fast path: every record valid, serials consecutive and ascending, none seen before.
// Then the state bytes form one contiguous range written with vector stores, and the
// histogram is a compare-and-count over the choice column.
bool Aggregator::TryAddContiguous(const BatchView& batch, Local* local) {
  const size_t n = batch.size();
  const uint64_t* seq = batch.seq;
  const ChoiceIndex* choice = batch.choice;
  const uint64_t first = seq[0];
  if (!RunInRange(batch.station, first, n)) return false;
  // Two single-width reductions, so the compiler vectorizes both (one loop mixing the
  // 8-byte serials and 1-byte choices stayed scalar).
  uint64_t mismatch = 0;
  for (size_t i = 0; i < n; ++i) mismatch |= seq[i] ^ (first + i);
  ChoiceIndex max_choice = 0;
  for (size_t i = 0; i < n; ++i) max_choice = std::max(max_choice, choice[i]);
  if (mismatch != 0 || max_choice >= num_choices_) return false;
  if (!MarkUnseenRange(batch.station, first - 1, n, [&](uint8_t* state) {
        for (size_t i = 0; i < n; ++i) state[i] = static_cast<uint8_t>(choice[i] + 1);
      })) {
    return false;
  }
  CountChoices(choice, n, local);
  return true;
}

void Aggregator::AddRun(StationIndex station, uint64_t first, size_t count,
                        const uint64_t* packed_choices, int bits) {
  CANVASS_CHECK(IsPackedWidth(bits));
  if (count == 0) return;
  if (station == kUnknownStation) {
    AddToCounter(rejected_[static_cast<int>(RejectReason::kUnknownStation)], count);
    return;
  }
  CANVASS_CHECK(station < election_.stations.size());
  uint64_t counts[kMaxPackedValues] = {};
  CountPackedChoices(packed_choices, count, bits, counts);
  bool valid = true;
  for (uint32_t value = num_choices_; value < (1u << bits); ++value) valid &= counts[value] == 0;
  if (valid && RunInRange(station, first, count) &&
      (!exactly_once_ || MarkUnseenRange(station, first - 1, count, [&](uint8_t* state) {
        UnpackChoices(packed_choices, count, bits, /*add=*/1, state);
      }))) {
    Local local;
    for (uint32_t c = 0; c < std::min(num_choices_, 1u << bits); ++c) {
      local.histogram[c] = static_cast<int64_t>(counts[c]);
    }
    Flush(station, count, local);
    return;
  }
  // Not entirely fresh, valid and in range: the general path decides record by record.
  thread_local BallotBatch expanded;
  expanded.station = station;
  expanded.seq.resize(count);
  expanded.choice.resize(count);
  for (size_t i = 0; i < count; ++i) expanded.seq[i] = first + i;
  UnpackChoices(packed_choices, count, bits, /*add=*/0, expanded.choice.data());
  Add(expanded.View());
}

void Aggregator::AddRun(StationIndex station, uint64_t first, size_t count,
                        const ChoiceIndex* choices) {
  if (count == 0) return;
  if (station == kUnknownStation) {
    AddToCounter(rejected_[static_cast<int>(RejectReason::kUnknownStation)], count);
    return;
  }
  CANVASS_CHECK(station < election_.stations.size());
  ChoiceIndex max_choice = 0;
  for (size_t i = 0; i < count; ++i) max_choice = std::max(max_choice, choices[i]);
  if (max_choice < num_choices_ && RunInRange(station, first, count) &&
      (!exactly_once_ || MarkUnseenRange(station, first - 1, count, [&](uint8_t* state) {
        for (size_t i = 0; i < count; ++i) state[i] = static_cast<uint8_t>(choices[i] + 1);
      }))) {
    Local local;
    CountChoices(choices, count, &local);
    Flush(station, count, local);
    return;
  }
  thread_local std::vector<uint64_t> serials;
  serials.resize(count);
  for (size_t i = 0; i < count; ++i) serials[i] = first + i;
  Add(BatchView{station, serials.data(), choices, count});
}

void Aggregator::AddCountOnly(const BatchView& batch, Local* local) {
  const uint64_t capacity = election_.stations[batch.station].capacity;
  const size_t n = batch.size();
  uint64_t min_seq = UINT64_MAX, max_seq = 0;
  ChoiceIndex max_choice = 0;
  // Single-width reductions, which the compiler vectorizes (see TryAddContiguous).
  for (size_t i = 0; i < n; ++i) {
    min_seq = std::min(min_seq, batch.seq[i]);
    max_seq = std::max(max_seq, batch.seq[i]);
  }
  for (size_t i = 0; i < n; ++i) max_choice = std::max(max_choice, batch.choice[i]);
  if (min_seq >= 1 && max_seq <= capacity && max_choice < num_choices_ && num_choices_ <= 16) {
    for (uint32_t c = 0; c < num_choices_; ++c) {
      uint32_t count = 0;
      for (size_t i = 0; i < n; ++i) count += (batch.choice[i] == c);
      local->histogram[c] += count;
    }
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    if (batch.choice[i] >= num_choices_) {
      ++local->rejected[static_cast<int>(RejectReason::kUnknownChoice)];
    } else if (batch.seq[i] == 0 || batch.seq[i] > capacity) {
      ++local->rejected[static_cast<int>(RejectReason::kBadSeq)];
    } else {
      ++local->histogram[batch.choice[i]];
    }
  }
}

void Aggregator::CountRecord(StationIndex s, uint64_t seq, ChoiceIndex c, uint8_t* state,
                             Local* local) {
  const uint8_t mark = static_cast<uint8_t>(c + 1);
  const uint8_t previous = *state;
  if (previous == kUnseen) {
    *state = mark;
    ++local->histogram[c];
    return;
  }
  // A later copy: settled in Finish() against the final state of its identity.
  later_copies_.push_back(Identity{s, seq});
  if (previous != kConflicted && previous != mark) {
    *state = kConflicted;
    --local->histogram[previous - 1];
    ++local->conflicted_identities;
  }
}

void Aggregator::AddGeneral(const BatchView& batch, Local* local) {
  const StationIndex s = batch.station;
  const uint64_t capacity = election_.stations[s].capacity;
  uint8_t* station_state = state_ + station_base_[s];
  // Valid records grouped by stripe, so that each stripe is claimed once per batch.
  thread_local std::vector<uint32_t> valid, grouped;
  thread_local std::vector<uint32_t> starts;
  valid.clear();
  size_t min_stripe = SIZE_MAX, max_stripe = 0;
  for (uint32_t i = 0; i < batch.size(); ++i) {
    if (batch.choice[i] >= num_choices_) {
      ++local->rejected[static_cast<int>(RejectReason::kUnknownChoice)];
    } else if (batch.seq[i] == 0 || batch.seq[i] > capacity) {
      ++local->rejected[static_cast<int>(RejectReason::kBadSeq)];
    } else {
      valid.push_back(i);
      const size_t stripe = (batch.seq[i] - 1) >> kStripeBits;
      min_stripe = std::min(min_stripe, stripe);
      max_stripe = std::max(max_stripe, stripe);
    }
  }
  if (valid.empty()) return;
  const std::vector<uint32_t>* order = &valid;
  const size_t buckets = max_stripe - min_stripe + 1;
  if (buckets > 4 * valid.size() + 4096) {
    // Serials spread over a huge station: a comparison sort beats a sparse count.
    std::sort(valid.begin(), valid.end(), [&](uint32_t a, uint32_t b) {
      return ((batch.seq[a] - 1) >> kStripeBits) < ((batch.seq[b] - 1) >> kStripeBits);
    });
  } else if (buckets > 1) {
    // Counting sort by stripe.
    starts.assign(buckets + 1, 0);
    for (uint32_t i : valid) ++starts[((batch.seq[i] - 1) >> kStripeBits) - min_stripe + 1];
    for (size_t b = 0; b < buckets; ++b) starts[b + 1] += starts[b];
    grouped.resize(valid.size());
    for (uint32_t i : valid)
      grouped[starts[((batch.seq[i] - 1) >> kStripeBits) - min_stripe]++] = i;
    order = &grouped;
  }
  size_t claimed = SIZE_MAX;
  for (uint32_t i : *order) {
    const size_t stripe = StripeOf(s, batch.seq[i] - 1);
    if (stripe != claimed) {
      if (claimed != SIZE_MAX) ReleaseStripe(claimed);
      ClaimStripe(stripe);
      stripe_written_[stripe] = 1;  // CountRecord writes unless the record is a later copy
      claimed = stripe;
    }
    CountRecord(s, batch.seq[i], batch.choice[i], station_state + batch.seq[i] - 1, local);
  }
  ReleaseStripe(claimed);
}

void Aggregator::Flush(StationIndex s, uint64_t records, const Local& local) {
  const size_t row = static_cast<size_t>(s) * num_choices_;
  for (uint32_t c = 0; c < num_choices_; ++c) {
    const int64_t delta = local.histogram[c];
    if (delta > 0) AddToCounter(counted_added_[row + c], static_cast<uint64_t>(delta));
    if (delta < 0)
      AddToCounter(counted_removed_[row + c], uint64_t{0} - static_cast<uint64_t>(delta));
  }
  for (int r = 0; r < kNumRejectReasons; ++r) {
    if (local.rejected[r] != 0) AddToCounter(rejected_[r], local.rejected[r]);
  }
  if (local.conflicted_identities != 0) {
    AddToCounter(conflicted_identities_, local.conflicted_identities);
  }
  AddToCounter(station_records_[s], records);
}

namespace {

void PutU64(uint64_t value, std::string* out) {
  out->append(reinterpret_cast<const char*>(&value), sizeof(value));
}

bool GetU64(absl::string_view* in, uint64_t* value) {
  if (in->size() < sizeof(*value)) return false;
  std::memcpy(value, in->data(), sizeof(*value));
  in->remove_prefix(sizeof(*value));
  return true;
}

}  // namespace

std::string Aggregator::Snapshot() const {
  const size_t cells = election_.stations.size() * num_choices_;
  std::string out;
  PutU64(election_.stations.size(), &out);
  PutU64(num_choices_, &out);
  PutU64(state_bytes_, &out);
  PutU64(overflowed_.load(std::memory_order_relaxed) ? 1 : 0, &out);
  PutU64(conflicted_identities_.load(std::memory_order_relaxed), &out);
  for (const std::atomic<uint64_t>& counter : rejected_)
    PutU64(counter.load(std::memory_order_relaxed), &out);
  for (size_t i = 0; i < cells; ++i)
    PutU64(counted_added_[i].load(std::memory_order_relaxed), &out);
  for (size_t i = 0; i < cells; ++i)
    PutU64(counted_removed_[i].load(std::memory_order_relaxed), &out);
  for (size_t s = 0; s < election_.stations.size(); ++s) {
    PutU64(station_records_[s].load(std::memory_order_relaxed), &out);
  }
  PutU64(later_copies_.size(), &out);
  for (const Identity& copy : later_copies_) {
    PutU64(copy.station, &out);
    PutU64(copy.seq, &out);
  }
  if (state_bytes_ > 0) out.append(reinterpret_cast<const char*>(state_), state_bytes_);
  return out;
}

absl::Status Aggregator::Restore(absl::string_view in) {
  auto bad = [](absl::string_view what) {
    return absl::DataLossError(absl::StrCat("aggregation state: ", what));
  };
  uint64_t stations = 0, choices = 0, bytes = 0, overflowed = 0, value = 0;
  if (!GetU64(&in, &stations) || !GetU64(&in, &choices) || !GetU64(&in, &bytes) ||
      !GetU64(&in, &overflowed)) {
    return bad("truncated header");
  }
  if (stations != election_.stations.size() || choices != num_choices_ || bytes != state_bytes_) {
    return bad("shaped for another election");
  }
  const size_t cells = stations * choices;
  const size_t fixed = 8 * (1 + kNumRejectReasons + 2 * cells + stations + 1);
  if (in.size() < fixed) return bad("truncated counters");
  overflowed_.store(overflowed != 0, std::memory_order_relaxed);
  GetU64(&in, &value);
  conflicted_identities_.store(value, std::memory_order_relaxed);
  for (std::atomic<uint64_t>& counter : rejected_) {
    GetU64(&in, &value);
    counter.store(value, std::memory_order_relaxed);
  }
  for (size_t i = 0; i < cells; ++i) GetU64(&in, &value), counted_added_[i].store(value);
  for (size_t i = 0; i < cells; ++i) GetU64(&in, &value), counted_removed_[i].store(value);
  for (size_t s = 0; s < stations; ++s) GetU64(&in, &value), station_records_[s].store(value);
  uint64_t copies = 0;
  GetU64(&in, &copies);
  if (copies > in.size() / 16 || in.size() != copies * 16 + state_bytes_) {
    return bad("later copies and state bytes do not add up");
  }
  later_copies_.clear();
  for (uint64_t i = 0; i < copies; ++i) {
    uint64_t station = 0, seq = 0;
    GetU64(&in, &station);
    GetU64(&in, &seq);
    if (station >= stations || seq == 0 || seq > election_.stations[station].capacity) {
      return bad("a later copy outside the roster");
    }
    later_copies_.push_back(Identity{static_cast<StationIndex>(station), seq});
  }
  for (size_t i = 0; i < state_bytes_; ++i) {
    const uint8_t mark = static_cast<uint8_t>(in[i]);
    if (mark > num_choices_ && mark != kConflicted) return bad("an exactly-once byte out of range");
  }
  for (size_t i = 0; i < cells; ++i) {
    if (counted_removed_[i].load() > counted_added_[i].load()) return bad("negative count");
  }
  if (state_bytes_ > 0) std::memcpy(state_, in.data(), state_bytes_);
  std::fill(stripe_written_.get(), stripe_written_.get() + num_stripes_, 1);
  absl::StatusOr<Tally> tally = BuildTally();
  if (!tally.ok() && !absl::IsOutOfRange(tally.status())) {
    return bad(absl::StrCat("inconsistent: ", tally.status().message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<Tally> Aggregator::Finish() {
  if (overflowed_.load(std::memory_order_relaxed)) {
    return absl::OutOfRangeError("a tally counter would pass 2^63 - 1; refusing to wrap");
  }
  absl::StatusOr<Tally> tally = BuildTally();
  // Invariants 1 and 2 (see the header): outside of a restored state, a failure here is a
  // bug in this file.
  if (tally.ok() || absl::IsOutOfRange(tally.status())) return tally;
  std::fprintf(stderr, "%s\n", std::string(tally.status().message()).c_str());
  CANVASS_CHECK(tally.ok());
  return tally;
}

absl::StatusOr<Tally> Aggregator::BuildTally() const {
  const uint32_t num_stations = static_cast<uint32_t>(election_.stations.size());
  Tally tally(num_stations, num_choices_);
  for (size_t i = 0; i < tally.counted.size(); ++i) {
    const uint64_t added = counted_added_[i].load(std::memory_order_relaxed);
    const uint64_t removed = counted_removed_[i].load(std::memory_order_relaxed);
    if (added < removed) return absl::FailedPreconditionError("a count below zero");
    tally.counted[i] = added - removed;
  }
  for (uint32_t s = 0; s < num_stations; ++s) {
    tally.station_records[s] = station_records_[s].load(std::memory_order_relaxed);
  }
  for (int r = 0; r < kNumRejectReasons; ++r) {
    tally.rejected[r] = rejected_[r].load(std::memory_order_relaxed);
  }
  uint64_t& duplicates = tally.rejected[static_cast<int>(RejectReason::kDuplicate)];
  uint64_t& conflicts = tally.rejected[static_cast<int>(RejectReason::kConflict)];
  CANVASS_RETURN_IF_ERROR(
      CheckedAdd(conflicted_identities_.load(std::memory_order_relaxed), &conflicts, "conflicts"));
  for (const Identity& copy : later_copies_) {
    const uint8_t final_state = state_[station_base_[copy.station] + copy.seq - 1];
    CANVASS_RETURN_IF_ERROR(CheckedAdd(1, final_state == kConflicted ? &conflicts : &duplicates,
                                       "duplicates and conflicts"));
  }
  uint64_t records_read = 0;
  for (RejectReason reason : {RejectReason::kUnknownStation, RejectReason::kMalformed}) {
    CANVASS_RETURN_IF_ERROR(CheckedAdd(tally.Rejected(reason), &records_read, "records read"));
  }
  for (uint64_t records : tally.station_records) {
    CANVASS_RETURN_IF_ERROR(CheckedAdd(records, &records_read, "records read"));
  }
  tally.records_read = records_read;
  unsigned __int128 accounted = 0;
  for (uint64_t count : tally.counted) accounted += count;
  for (uint64_t count : tally.rejected) accounted += count;
  if (accounted != records_read) {
    return absl::FailedPreconditionError("invariant 1: records read != counted + rejected");
  }
  for (uint32_t s = 0; s < num_stations; ++s) {
    uint64_t station_counted = 0;
    for (uint32_t c = 0; c < num_choices_; ++c) station_counted += tally.Counted(s, c);
    if (exactly_once_ && station_counted > election_.stations[s].capacity) {
      return absl::FailedPreconditionError("invariant 2: a station counts past its capacity");
    }
  }
  return tally;
}

}  // namespace canvass
