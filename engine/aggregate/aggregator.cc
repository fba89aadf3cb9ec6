// Parallel exactly-once aggregation (see aggregator.h for the design).
#include "engine/aggregate/aggregator.h"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/ballot/packed_choices.h"
#include "engine/base/bytes.h"
#include "engine/base/check.h"
#include "engine/base/checked_math.h"
#include "engine/base/status_macros.h"
#include "tbb/enumerable_thread_specific.h"
#include "tbb/task_arena.h"

namespace canvass {
namespace {

// The narrowest state width (2, 4 or 8 bits per serial) that holds 0 (unseen) and
// choice + 1 for every choice.
int StateBitsFor(uint32_t num_choices) { return num_choices <= 3 ? 2 : num_choices <= 15 ? 4 : 8; }

// Station bases are multiples of this many serial slots, so that a 64-bit word of state
// never holds two stations' serials (nor two stripes').
constexpr uint64_t kStationAlignment = 64;

// The lowest bit of every field of a word of kBits-bit fields.
template <int kBits>
constexpr uint64_t kFieldOnes = kBits == 2   ? 0x5555555555555555u
                                : kBits == 4 ? 0x1111111111111111u
                                             : 0x0101010101010101u;

// Eight bytes, each below 2^kBits, gathered into 8 * kBits bits (byte i to field i).
template <int kBits>
[[gnu::always_inline]] inline uint64_t GatherFields(uint64_t x) {
  static_assert(kBits == 2 || kBits == 4);
  if constexpr (kBits == 2) {
    x = (x | (x >> 6)) & 0x000F000F000F000Fu;
    x = (x | (x >> 12)) & 0x000000FF000000FFu;
    return (x | (x >> 24)) & 0xFFFFu;
  } else {
    x = (x | (x >> 4)) & 0x00FF00FF00FF00FFu;
    x = (x | (x >> 8)) & 0x0000FFFF0000FFFFu;
    return (x | (x >> 16)) & 0xFFFFFFFFu;
  }
}

// out[j] = the words of fields choice + 1 for the 64 / kBits * words choices, which are
// each below 2^kBits - 1.
template <int kBits>
[[gnu::always_inline]] inline void PackMarks(const ChoiceIndex* choices, size_t words,
                                             uint64_t* out) {
  constexpr int kChunks = 8 / kBits;  // eight-byte chunks per output word
  for (size_t j = 0; j < words; ++j) {
    uint64_t word = 0;
    for (int chunk = 0; chunk < kChunks; ++chunk) {
      uint64_t x;
      std::memcpy(&x, choices + (j * kChunks + static_cast<size_t>(chunk)) * 8, 8);
      word |= GatherFields<kBits>(x + 0x0101010101010101u) << (chunk * 8 * kBits);
    }
    out[j] = word;
  }
}

// Slots of exactly-once state a roster needs (each station's capacity rounded up to the
// alignment), as a 128-bit figure that cannot wrap.
unsigned __int128 StateSlots(const Election& election) {
  unsigned __int128 slots = 0;
  for (const Station& station : election.stations) {
    slots += (static_cast<unsigned __int128>(station.capacity) + kStationAlignment - 1) /
             kStationAlignment * kStationAlignment;
  }
  return slots;
}

// States (and stripe flags) up to this size come from the heap: no mapping, which costs
// system calls and page faults per aggregator, and tests, the fuzzers and small elections
// build aggregators by the thousand.
constexpr uint64_t kHeapStateBytes = uint64_t{1} << 20;

uint64_t* AllocateZeroed(uint64_t bytes, bool huge_pages) {
  if (bytes == 0) return nullptr;
  if (bytes <= kHeapStateBytes) {
    void* memory = std::calloc(static_cast<size_t>(bytes), 1);
    CANVASS_CHECK(memory != nullptr);
    return static_cast<uint64_t*>(memory);
  }
  void* memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  CANVASS_CHECK(memory != MAP_FAILED);
  // Huge pages cut the page faults of first touch by 512x on big elections; a rank of a
  // job of several asks for small ones (AggregatorOptions::huge_pages).
  madvise(memory, bytes, huge_pages ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  return static_cast<uint64_t*>(memory);
}

void FreeZeroed(void* memory, uint64_t bytes) {
  if (memory == nullptr) return;
  if (bytes <= kHeapStateBytes) {
    std::free(memory);
  } else {
    munmap(memory, static_cast<size_t>(bytes));
  }
}

}  // namespace

struct Aggregator::Local {
  int64_t histogram[kMaxChoices] = {};
  uint64_t rejected[kNumRejectReasons] = {};
  uint64_t conflicted_identities = 0;
};

// A mixed entry: the slot within its region, the station less the region's first station
// (kFarStation: as far or farther; looked up), the choice.
constexpr int kStationShift = 8;
constexpr int kSlotShift = 21;
constexpr uint32_t kFarStation = (1u << (kSlotShift - kStationShift)) - 1;

struct Aggregator::MixedBuffers {
  // Region r's records are entries [r * kBucketEntries, + fill[r]) (see kSlotShift).
  std::vector<uint64_t> entries;
  std::vector<uint32_t> fill;
  // Counted (or taken back) per station x choice, and records read per station, since the
  // last flush; zero after it. A buffered record is read when its region is counted.
  std::vector<int64_t> histogram;
  std::vector<uint64_t> records;
  std::vector<uint8_t> histogram_marked;  // per station: listed in histogram_stations
  std::vector<StationIndex> histogram_stations;
  uint64_t conflicted_identities = 0;
  // The worker's own copy of the state (UseOwnStates()): the first copy it read of each
  // identity not yet merged; own_bytes of them, null until its first record. Its later
  // copies by slot. own_dirty: something to merge.
  struct OwnLater {
    uint64_t copies = 0;
    StationIndex station = kUnknownStation;
    bool disagrees = false;  // some copy's choice differs from the own state's first
  };
  uint64_t* own_state = nullptr;
  uint64_t own_bytes = 0;
  absl::flat_hash_map<uint64_t, OwnLater> own_later;
  bool own_dirty = false;

  MixedBuffers() = default;
  MixedBuffers(const MixedBuffers&) = delete;
  MixedBuffers& operator=(const MixedBuffers&) = delete;
  ~MixedBuffers() { FreeZeroed(own_state, own_bytes); }
};

struct Aggregator::MixedState {
  tbb::enumerable_thread_specific<MixedBuffers> workers;
  std::once_flag decided;
  bool own_states = false;  // set once, under `decided`
};

struct Aggregator::LaterCopies {
  tbb::enumerable_thread_specific<absl::flat_hash_map<uint64_t, LaterCopy>> workers;
};

absl::Status Aggregator::CheckStateFits(const Election& election, AggregatorOptions options) {
  if (!options.exactly_once) return absl::OkStatus();
  const unsigned __int128 slots = StateSlots(election);
  const int bits = StateBitsFor(static_cast<uint32_t>(election.contest().choices.size()));
  const unsigned __int128 bytes = slots / 8 * static_cast<unsigned>(bits);
  auto decimal = [](unsigned __int128 n) {
    std::string digits;
    do {
      digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(n % 10)));
      n /= 10;
    } while (n != 0);
    return digits;
  };
  auto needs = [&] {
    return absl::StrCat("the exactly-once state of election ", election.id, " needs ",
                        decimal(bytes), " bytes (", bits, " bits for each of the ", decimal(slots),
                        " serials its roster's capacities allow)");
  };
  if (bytes > kMaxStateBytes) {
    return absl::ResourceExhaustedError(absl::StrCat(needs(), "; at most ", kMaxStateBytes,
                                                     " bytes can be mapped: lower the capacities "
                                                     "or the scale"));
  }
  // Try the mapping itself (no memory is committed): limits on the address space, or a
  // sanitizer's layout, may refuse less than kMaxStateBytes.
  if (bytes <= kHeapStateBytes) return absl::OkStatus();  // from the heap (AllocateZeroed)
  void* probe = mmap(nullptr, static_cast<size_t>(bytes), PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (probe == MAP_FAILED) {
    return absl::ResourceExhaustedError(
        absl::StrCat(needs(), "; this process cannot map them: ", std::strerror(errno)));
  }
  munmap(probe, static_cast<size_t>(bytes));
  return absl::OkStatus();
}

Aggregator::Aggregator(const Election& election, AggregatorOptions options)
    : election_(election),
      num_choices_(static_cast<uint32_t>(election.contest().choices.size())),
      exactly_once_(options.exactly_once),
      kernel_(options.kernel),
      state_bits_(StateBitsFor(num_choices_)),
      huge_pages_(options.huge_pages),
      mixed_path_(options.mixed_path) {
  // The kernel is checked once here, not in every packed-choice call of the hot path.
  CANVASS_CHECK(KernelSupported(kernel_));
  CANVASS_CHECK(CheckStateFits(election, options).ok());  // so no figure below wraps
  const size_t num_stations = election.stations.size();
  station_base_.resize(num_stations);
  capacity_.resize(num_stations);
  uint64_t slots = 0;
  for (size_t s = 0; s < num_stations; ++s) {
    station_base_[s] = slots;
    const uint64_t capacity = election.stations[s].capacity;
    capacity_[s] = capacity;
    if (exactly_once_)
      slots += (capacity + kStationAlignment - 1) / kStationAlignment * kStationAlignment;
  }
  const size_t stripes =
      static_cast<size_t>((slots + (uint64_t{1} << kStripeBits) - 1) >> kStripeBits);
  state_bytes_ = slots / 64 * static_cast<uint64_t>(state_bits_) * 8;
  state_ = AllocateZeroed(state_bytes_, options.huge_pages);
  stripe_flags_ = reinterpret_cast<uint8_t*>(
      AllocateZeroed(stripes, options.huge_pages));  // nothing written yet
  num_stripes_ = stripes;
  num_groups_ = (stripes >> kGroupBits) + 1;
  group_written_ = std::make_unique<std::atomic<uint8_t>[]>(num_groups_);
  group_changed_ = std::make_unique<std::atomic<uint8_t>[]>(num_groups_);
  later_workers_ = std::make_unique<LaterCopies>();
  while (((num_stripes_ + (size_t{1} << region_shift_) - 1) >> region_shift_) > kMaxRegions) {
    ++region_shift_;
  }
  num_regions_ = (num_stripes_ + (size_t{1} << region_shift_) - 1) >> region_shift_;
  region_claimed_ = std::make_unique<RegionClaim[]>(num_regions_);
  region_first_station_.resize(num_regions_);
  region_last_station_.resize(num_regions_);
  for (size_t r = 0; r < num_regions_; ++r) {
    const uint64_t first_slot = uint64_t{r} << (region_shift_ + kStripeBits);
    const uint64_t last_slot =
        std::min(slots, uint64_t{r + 1} << (region_shift_ + kStripeBits)) - 1;
    // The last station whose base is at or before the slot: stations without serials share
    // their base with the next one, and this skips them.
    auto station_at = [&](uint64_t slot) {
      return static_cast<StationIndex>(
          std::upper_bound(station_base_.begin(), station_base_.end(), slot) -
          station_base_.begin() - 1);
    };
    region_first_station_[r] = station_at(first_slot);
    region_last_station_[r] = station_at(last_slot);
  }
  // A worker's mixed histogram is one counter per station and choice, and an entry packs
  // a slot of its region in 43 bits: past 2^20 counters (8 MiB a worker) or 2^50 slots
  // (more than a mapping can hold), mixed batches are grouped by station instead.
  if (num_stations * num_choices_ <= (size_t{1} << 20) && slots < (uint64_t{1} << 50)) {
    mixed_ = std::make_unique<MixedState>();
  }
  counted_added_ = std::make_unique<std::atomic<uint64_t>[]>(num_stations * num_choices_);
  counted_removed_ = std::make_unique<std::atomic<uint64_t>[]>(num_stations * num_choices_);
  station_records_ = std::make_unique<std::atomic<uint64_t>[]>(num_stations);
  emitted_added_.assign(num_stations * num_choices_, 0);
  emitted_removed_.assign(num_stations * num_choices_, 0);
  emitted_records_.assign(num_stations, 0);
}

Aggregator::~Aggregator() {
  FreeZeroed(state_, state_bytes_);
  FreeZeroed(stripe_flags_, num_stripes_);
}

void Aggregator::ClaimRegion(size_t region) {
  std::atomic<uint8_t>& held = region_claimed_[region].held;
  while (held.exchange(1, std::memory_order_acquire) != 0) {
    while (held.load(std::memory_order_relaxed) != 0) {
      std::this_thread::yield();
    }
  }
}

void Aggregator::ReleaseRegion(size_t region) {
  region_claimed_[region].held.store(0, std::memory_order_release);
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
  // One contest per aggregator for now (the election's only one); multi-contest ballots
  // will give each contest its own state.
  CANVASS_CHECK(batch.contest == 0);
  Local local;
  if (batch.station == kUnknownStation) {
    AddToCounter(rejected_[static_cast<int>(RejectReason::kUnknownStation)], batch.size());
    return;
  }
  CANVASS_CHECK(batch.station < election_.stations.size());
  if (!exactly_once_) {
    AddCountOnly(batch, &local);
  } else if (!TryAddContiguous(batch, &local)) {
    // Serials at random over the station (a shuffled file's blocks): large batches go
    // through the region buffers, as mixed ones do.
    if (mixed_ != nullptr && batch.size() >= kScatteredBatch) {
      if (UseOwnStates()) {
        // Read and counted there, records and rejections included.
        return AddMixedOwn(nullptr, batch.station, batch.seq, batch.choice, batch.size());
      }
      // The buffered records are read when their regions are counted.
      Flush(batch.station, batch.size() - AddScattered(batch, &local), local);
      return;
    } else {
      AddGeneral(batch, &local);
    }
  }
  Flush(batch.station, batch.size(), local);
}

bool Aggregator::RunInRange(StationIndex s, uint64_t first, size_t count) const {
  const uint64_t capacity = election_.stations[s].capacity;
  // Written so that no intermediate wraps: serials near 2^64 must not alias small ones.
  return first != 0 && first <= capacity && count <= capacity - first + 1;
}

uint32_t Aggregator::StateAt(uint64_t slot) const {
  const uint64_t bit = slot * static_cast<uint64_t>(state_bits_);
  return static_cast<uint32_t>((state_[bit >> 6] >> (bit & 63)) & ((1u << state_bits_) - 1));
}

void Aggregator::SetUnseenState(uint64_t slot, uint32_t mark) {
  const uint64_t bit = slot * static_cast<uint64_t>(state_bits_);
  state_[bit >> 6] |= static_cast<uint64_t>(mark) << (bit & 63);
}

bool Aggregator::AnyStateSet(uint64_t slot, size_t count) const {
  const uint64_t bit_begin = slot * static_cast<uint64_t>(state_bits_);
  const uint64_t bit_end = (slot + count) * static_cast<uint64_t>(state_bits_);
  const uint64_t first = bit_begin >> 6, last = (bit_end - 1) >> 6;
  const uint64_t head = ~uint64_t{0} << (bit_begin & 63);
  const uint64_t tail = ~uint64_t{0} >> (63 - ((bit_end - 1) & 63));
  if (first == last) return (state_[first] & head & tail) != 0;
  const uint64_t seen = RunForKernel(
      kernel_,
      [](const uint64_t* words, uint64_t begin, uint64_t end) CANVASS_KERNEL_BODY {
        uint64_t any = 0;
        for (uint64_t w = begin; w < end; ++w) any |= words[w];  // vectorized OR-reduction
        return any;
      },
      static_cast<const uint64_t*>(state_), first + 1, last);
  return (seen | (state_[first] & head) | (state_[last] & tail)) != 0;
}

template <int kBits>
void Aggregator::MarkFromChoicesOfWidth(uint64_t slot, const ChoiceIndex* choices, size_t count) {
  constexpr size_t kPerWord = 64 / kBits;
  size_t i = 0;
  for (; i < count && (slot + i) % kPerWord != 0; ++i) SetUnseenState(slot + i, choices[i] + 1u);
  const size_t words = (count - i) / kPerWord;
  if constexpr (kBits == 8) {
    RunForKernel(
        kernel_,
        [](uint8_t* out, const ChoiceIndex* in, size_t n) CANVASS_KERNEL_BODY {
          for (size_t k = 0; k < n; ++k) out[k] = static_cast<uint8_t>(in[k] + 1);
        },
        reinterpret_cast<uint8_t*>(state_) + slot + i, choices + i, words * kPerWord);
  } else {
    RunForKernel(
        kernel_,
        [](const ChoiceIndex* in, size_t n, uint64_t* out)
            CANVASS_KERNEL_BODY { PackMarks<kBits>(in, n, out); },
        choices + i, words, state_ + (slot + i) / kPerWord);
  }
  for (i += words * kPerWord; i < count; ++i) SetUnseenState(slot + i, choices[i] + 1u);
}

void Aggregator::MarkFromChoices(uint64_t slot, const ChoiceIndex* choices, size_t count) {
  switch (state_bits_) {
    case 2:
      return MarkFromChoicesOfWidth<2>(slot, choices, count);
    case 4:
      return MarkFromChoicesOfWidth<4>(slot, choices, count);
    default:
      return MarkFromChoicesOfWidth<8>(slot, choices, count);
  }
}

void Aggregator::MarkFromPacked(uint64_t slot, const uint64_t* packed, size_t count, int bits) {
  if (bits != state_bits_) {
    thread_local std::vector<ChoiceIndex> choices;
    choices.resize(count);
    UnpackChoices(packed, count, bits, /*add=*/0, choices.data());
    MarkFromChoices(slot, choices.data(), count);
    return;
  }
  // Same width: the packed words are the marks less one per field, shifted into place.
  const size_t per_word = 64 / static_cast<size_t>(bits);
  const uint64_t field_mask = (uint64_t{1} << bits) - 1;
  auto field = [&](size_t i) {
    const size_t bit = i * static_cast<size_t>(bits);
    return static_cast<uint32_t>((packed[bit >> 6] >> (bit & 63)) & field_mask);
  };
  size_t i = 0;
  for (; i < count && (slot + i) % per_word != 0; ++i) SetUnseenState(slot + i, field(i) + 1);
  const size_t words = (count - i) / per_word;
  const uint64_t ones = bits == 2 ? kFieldOnes<2> : kFieldOnes<4>;
  const size_t shift = (i * static_cast<size_t>(bits)) & 63;
  const uint64_t* in = packed + i * static_cast<size_t>(bits) / 64;
  uint64_t* out = state_ + (slot + i) / per_word;
  RunForKernel(
      kernel_,
      [](uint64_t* to, const uint64_t* from, size_t n, size_t by, uint64_t add)
          CANVASS_KERNEL_BODY {
            if (by == 0) {
              for (size_t k = 0; k < n; ++k) to[k] = from[k] + add;
            } else {
              // Output word k takes the high part of from[k] and the low `by` bits of
              // from[k + 1], which holds the word's last records (by >= bits), so from[k + 1]
              // always exists.
              for (size_t k = 0; k < n; ++k) {
                to[k] = ((from[k] >> by) | (from[k + 1] << (64 - by))) + add;
              }
            }
          },
      out, in, words, shift, ones);
  for (i += words * per_word; i < count; ++i) SetUnseenState(slot + i, field(i) + 1);
}

template <typename Mark>
bool Aggregator::MarkUnseenRange(StationIndex s, uint64_t begin, size_t count, Mark&& mark) {
  const size_t first_stripe = StripeOf(station_base_[s] + begin);
  const size_t last_stripe = StripeOf(station_base_[s] + begin + count - 1);
  const size_t first_region = first_stripe >> region_shift_;
  const size_t last_region = last_stripe >> region_shift_;
  // Ascending claims; the general and mixed paths hold one region at a time, so no cycle
  // can form.
  for (size_t region = first_region; region <= last_region; ++region) ClaimRegion(region);
  bool written = false;
  for (size_t stripe = first_stripe; stripe <= last_stripe; ++stripe) {
    written |= stripe_flags_[stripe] != 0;
  }
  const uint64_t slot = station_base_[s] + begin;
  if (!written) {
    // Never written: every field is still zero. Mark without reading them.
    mark(slot);
    for (size_t stripe = first_stripe; stripe <= last_stripe; ++stripe) MarkStripeWritten(stripe);
    for (size_t region = first_region; region <= last_region; ++region) ReleaseRegion(region);
    return true;
  }
  // Touch each page of the range for writing first (a locked OR of zero changes nothing;
  // the range is ours while claimed): a first read of fresh memory would map the zero page,
  // and the write after it would fault again and flush the other cores' TLBs.
  uint8_t* bytes = reinterpret_cast<uint8_t*>(state_);
  const uint64_t bits = static_cast<uint64_t>(state_bits_);
  const uint64_t byte_end = ((slot + count) * bits + 7) / 8;
  for (uint64_t b = slot * bits / 8; b < byte_end; b += 4096) {
    __atomic_fetch_or(bytes + b, 0, __ATOMIC_RELAXED);
  }
  const bool seen = AnyStateSet(slot, count);
  if (!seen) mark(slot);
  for (size_t stripe = first_stripe; stripe <= last_stripe; ++stripe) {
    if (!seen) MarkStripeWritten(stripe);
  }
  for (size_t region = first_region; region <= last_region; ++region) ReleaseRegion(region);
  return !seen;
}

void Aggregator::CountChoices(const ChoiceIndex* choice, size_t n, Local* local) const {
  if (num_choices_ <= 16) {
    RunForKernel(
        kernel_,
        [](const ChoiceIndex* in, size_t size, uint32_t choices, int64_t* histogram)
            CANVASS_KERNEL_BODY {
              for (uint32_t c = 0; c < choices; ++c) {
                uint32_t count = 0;
                for (size_t i = 0; i < size; ++i) count += (in[i] == c);
                histogram[c] += count;
              }
            },
        choice, n, num_choices_, local->histogram);
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
  const bool plain = RunForKernel(
      kernel_,
      [](const uint64_t* serials, const ChoiceIndex* choices, size_t size, uint64_t from,
         uint32_t num_choices) CANVASS_KERNEL_BODY {
        uint64_t mismatch = 0;
        for (size_t i = 0; i < size; ++i) mismatch |= serials[i] ^ (from + i);
        ChoiceIndex max_choice = 0;
        for (size_t i = 0; i < size; ++i) max_choice = std::max(max_choice, choices[i]);
        return mismatch == 0 && max_choice < num_choices;
      },
      seq, choice, n, first, num_choices_);
  if (!plain) return false;
  if (!MarkUnseenRange(batch.station, first - 1, n,
                       [&](uint64_t slot) { MarkFromChoices(slot, choice, n); })) {
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
      (!exactly_once_ || MarkUnseenRange(station, first - 1, count, [&](uint64_t slot) {
        MarkFromPacked(slot, packed_choices, count, bits);
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
  const ChoiceIndex max_choice = RunForKernel(
      kernel_,
      [](const ChoiceIndex* in, size_t size) CANVASS_KERNEL_BODY {
        ChoiceIndex max = 0;
        for (size_t i = 0; i < size; ++i) max = std::max(max, in[i]);
        return max;
      },
      choices, count);
  if (max_choice < num_choices_ && RunInRange(station, first, count) &&
      (!exactly_once_ || MarkUnseenRange(station, first - 1, count, [&](uint64_t slot) {
        MarkFromChoices(slot, choices, count);
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
  const bool plain = RunForKernel(
      kernel_,
      [](const uint64_t* serials, const ChoiceIndex* choices, size_t size, uint64_t limit,
         uint32_t num_choices) CANVASS_KERNEL_BODY {
        uint64_t min_seq = UINT64_MAX, max_seq = 0;
        ChoiceIndex max_choice = 0;
        // Single-width reductions, which the compiler vectorizes (see TryAddContiguous).
        for (size_t i = 0; i < size; ++i) {
          min_seq = std::min(min_seq, serials[i]);
          max_seq = std::max(max_seq, serials[i]);
        }
        for (size_t i = 0; i < size; ++i) max_choice = std::max(max_choice, choices[i]);
        return min_seq >= 1 && max_seq <= limit && max_choice < num_choices && num_choices <= 16;
      },
      batch.seq, batch.choice, n, capacity, num_choices_);
  if (plain) {
    CountChoices(batch.choice, n, local);
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

void Aggregator::CountRecord(StationIndex s, uint64_t seq, ChoiceIndex c, uint64_t slot,
                             Local* local) {
  const uint32_t mark = c + 1u;
  const uint32_t first_copy = StateAt(slot);
  if (first_copy == 0) {
    SetUnseenState(slot, mark);
    ++local->histogram[c];
    return;
  }
  // A later copy: settled in Finish() by whether its identity is conflicted by then.
  if (NoteLaterCopy(slot, first_copy != mark)) {
    --local->histogram[first_copy - 1];
    ++local->conflicted_identities;
  }
}

bool Aggregator::NoteLaterCopies(uint64_t slot, uint64_t copies, bool disagrees) {
  LaterCopy& copy = later_workers_->workers.local()[slot];
  copy.copies += copies;
  if (!disagrees || copy.conflict_noted) return false;
  copy.conflict_noted = true;
  std::lock_guard<std::mutex> lock(conflicted_mutex_);
  if (!conflicted_.insert(slot).second) return false;
  conflicted_added_.push_back(slot);
  return true;
}

void Aggregator::AddGeneral(const BatchView& batch, Local* local) {
  const StationIndex s = batch.station;
  const uint64_t capacity = election_.stations[s].capacity;
  const uint64_t station_slot = station_base_[s];
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
      const size_t stripe = StripeOf(station_slot + batch.seq[i] - 1);
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
      return batch.seq[a] < batch.seq[b];  // the same order of stripes
    });
  } else if (buckets > 1) {
    // Counting sort by stripe.
    starts.assign(buckets + 1, 0);
    for (uint32_t i : valid) ++starts[StripeOf(station_slot + batch.seq[i] - 1) - min_stripe + 1];
    for (size_t b = 0; b < buckets; ++b) starts[b + 1] += starts[b];
    grouped.resize(valid.size());
    for (uint32_t i : valid)
      grouped[starts[StripeOf(station_slot + batch.seq[i] - 1) - min_stripe]++] = i;
    order = &grouped;
  }
  size_t claimed = SIZE_MAX;
  for (uint32_t i : *order) {
    const uint64_t slot = station_slot + batch.seq[i] - 1;
    const size_t region = RegionOf(slot);
    if (region != claimed) {
      if (claimed != SIZE_MAX) ReleaseRegion(claimed);
      ClaimRegion(region);
      claimed = region;
    }
    MarkStripeWritten(StripeOf(slot));  // CountRecord writes unless it is a later copy
    CountRecord(s, batch.seq[i], batch.choice[i], slot, local);
  }
  ReleaseRegion(claimed);
}

Aggregator::MixedBuffers& Aggregator::Buffers() {
  MixedBuffers& m = mixed_->workers.local();
  if (m.fill.empty()) {
    const size_t num_stations = election_.stations.size();
    m.fill.assign(std::max<size_t>(num_regions_, 1), 0);
    if (exactly_once_) m.entries.resize(num_regions_ * kBucketEntries);
    m.records.assign(num_stations, 0);
    m.histogram.assign(num_stations * num_choices_, 0);
    m.histogram_marked.assign(num_stations, 0);
  }
  if (mixed_->own_states && m.own_state == nullptr) {
    m.own_bytes = state_bytes_;
    m.own_state = AllocateZeroed(state_bytes_, huge_pages_);
  }
  return m;
}

bool Aggregator::UseOwnStates() {
  std::call_once(mixed_->decided, [this] {
    const uint64_t copies =
        static_cast<uint64_t>(std::max(1, tbb::this_task_arena::max_concurrency()));
    using MixedPath = AggregatorOptions::MixedPath;
    mixed_->own_states =
        exactly_once_ && state_bytes_ > 0 &&
        (mixed_path_ == MixedPath::kOwnStates ||
         (mixed_path_ == MixedPath::kAuto && state_bytes_ <= kOwnStatesBytes / copies));
  });
  return mixed_->own_states;
}

StationIndex Aggregator::StationOfSlot(size_t region, uint64_t slot) const {
  const StationIndex first = region_first_station_[region];
  const StationIndex last = region_last_station_[region];
  if (first == last) return first;
  return static_cast<StationIndex>(
      std::upper_bound(station_base_.begin() + first, station_base_.begin() + last + 1, slot) -
      station_base_.begin() - 1);
}

void Aggregator::AddMixed(const MixedBatchView& batch) {
  const size_t n = batch.size();
  if (n == 0) return;
  CANVASS_CHECK(batch.contest == 0);
  if (mixed_ == nullptr) return AddMixedByStation(batch);
  if (UseOwnStates())
    return AddMixedOwn(batch.station, kUnknownStation, batch.seq, batch.choice, n);
  MixedBuffers& m = Buffers();
  const StationIndex num_stations = static_cast<StationIndex>(election_.stations.size());
  // Plain pointers: the buffers never move while records are added, and the compiler
  // need not reload the vectors' storage after every store through them.
  uint64_t* const entries = m.entries.data();
  uint32_t* const fill = m.fill.data();
  const uint64_t* const capacity = capacity_.data();
  const uint64_t* const station_base = station_base_.data();
  const int region_bits = region_shift_ + kStripeBits;
  const uint64_t region_mask = (uint64_t{1} << region_bits) - 1;
  const StationIndex* const region_first = region_first_station_.data();
  uint64_t rejected[kNumRejectReasons] = {};
  for (size_t i = 0; i < n; ++i) {
    const StationIndex s = batch.station[i];
    if (s == kUnknownStation) {
      ++rejected[static_cast<int>(RejectReason::kUnknownStation)];
      continue;
    }
    CANVASS_CHECK(s < num_stations);
    const ChoiceIndex c = batch.choice[i];
    const uint64_t seq = batch.seq[i];
    const bool valid = c < num_choices_ && seq != 0 && seq <= capacity[s];
    if (!valid || !exactly_once_) {
      // Read now: rejected, or counted at once in count-only mode.
      if (!m.histogram_marked[s]) {
        m.histogram_marked[s] = 1;
        m.histogram_stations.push_back(s);
      }
      ++m.records[s];
      if (valid) {
        ++m.histogram[static_cast<size_t>(s) * num_choices_ + c];
      } else {
        ++rejected[static_cast<int>(c >= num_choices_ ? RejectReason::kUnknownChoice
                                                      : RejectReason::kBadSeq)];
      }
      continue;
    }
    const uint64_t slot = station_base[s] + seq - 1;
    const size_t region = static_cast<size_t>(slot >> region_bits);
    const uint32_t at = fill[region]++;
    const uint64_t local = std::min<uint64_t>(s - region_first[region], kFarStation);
    entries[region * kBucketEntries + at] =
        (slot & region_mask) << kSlotShift | local << kStationShift | c;
    if (at + 1 == kBucketEntries) CountBucket(m, region);
  }
  for (int r = 0; r < kNumRejectReasons; ++r) {
    if (rejected[r] != 0) AddToCounter(rejected_[r], rejected[r]);
  }
  FlushMixedHistogram(m);
}

void Aggregator::AddMixedOwn(const StationIndex* stations, StationIndex station,
                             const uint64_t* seq, const ChoiceIndex* choice, size_t n) {
  MixedBuffers& m = Buffers();
  const StationIndex num_stations = static_cast<StationIndex>(election_.stations.size());
  uint64_t* const own = m.own_state;
  const uint64_t* const capacity = capacity_.data();
  const uint64_t* const station_base = station_base_.data();
  const uint64_t bits = static_cast<uint64_t>(state_bits_);
  const uint64_t field_mask = (uint64_t{1} << state_bits_) - 1;
  uint64_t* const records = m.records.data();
  uint8_t* const marked = m.histogram_marked.data();
  uint64_t rejected[kNumRejectReasons] = {};
  // Fields lie at random in a state larger than the core's own caches: each is fetched
  // this many records ahead (the loads of different records overlap).
  constexpr size_t kAhead = 16;
  const uint64_t last_word = state_bytes_ / 8 - 1;
  auto mark = [&](auto station_at) {
    for (size_t i = 0; i < n; ++i) {
      if (i + kAhead < n) {
        const StationIndex ahead = station_at(i + kAhead);
        if (ahead < num_stations) {
          // Clamped: a serial out of range must not take the address out of the state.
          const uint64_t word = ((station_base[ahead] + seq[i + kAhead] - 1) * bits) >> 6;
          __builtin_prefetch(own + std::min(word, last_word), 1);
        }
      }
      const StationIndex s = station_at(i);
      if (s == kUnknownStation) {
        ++rejected[static_cast<int>(RejectReason::kUnknownStation)];
        continue;
      }
      CANVASS_CHECK(s < num_stations);
      if (!marked[s]) {
        marked[s] = 1;
        m.histogram_stations.push_back(s);
      }
      ++records[s];
      const ChoiceIndex c = choice[i];
      const uint64_t serial = seq[i];
      if (c >= num_choices_ || serial == 0 || serial > capacity[s]) {
        ++rejected[static_cast<int>(c >= num_choices_ ? RejectReason::kUnknownChoice
                                                      : RejectReason::kBadSeq)];
        continue;
      }
      const uint64_t slot = station_base[s] + serial - 1;
      const uint64_t bit = slot * bits;
      uint64_t& word = own[bit >> 6];
      const uint64_t first_copy = (word >> (bit & 63)) & field_mask;
      if (first_copy == 0) {
        word |= static_cast<uint64_t>(c + 1u) << (bit & 63);
      } else {
        NoteOwnLaterCopy(m, slot, s, first_copy != c + 1u);
      }
    }
  };
  if (stations != nullptr) {
    mark([stations](size_t i) { return stations[i]; });
  } else {
    mark([station](size_t) { return station; });
  }
  m.own_dirty = true;
  for (int r = 0; r < kNumRejectReasons; ++r) {
    if (rejected[r] != 0) AddToCounter(rejected_[r], rejected[r]);
  }
  FlushMixedHistogram(m);  // the records read; first copies are counted when merged
}

void Aggregator::NoteOwnLaterCopy(MixedBuffers& m, uint64_t slot, StationIndex s, bool disagrees) {
  MixedBuffers::OwnLater& later = m.own_later[slot];
  ++later.copies;
  later.station = s;
  later.disagrees |= disagrees;
}

void Aggregator::MergeOwnState(MixedBuffers& m) {
  if (!m.own_dirty) return;
  m.own_dirty = false;
  uint64_t* const own = m.own_state;
  const uint64_t bits = static_cast<uint64_t>(state_bits_);
  const uint64_t fields = 64 / bits;
  const uint64_t field_mask = (uint64_t{1} << state_bits_) - 1;
  const uint64_t stripe_words = (uint64_t{1} << kStripeBits) / fields;
  // Words of one stripe that hold an identity on both sides (2-bit fields), or every
  // nonzero word (wider fields): merged field by field.
  std::vector<uint64_t> slow(static_cast<size_t>(stripe_words));
  for (size_t s = 0; s < election_.stations.size(); ++s) {
    if (capacity_[s] == 0) continue;
    const auto station = static_cast<StationIndex>(s);
    // Stations start on whole words (kStationAlignment slots): no word holds two.
    const uint64_t first_word = station_base_[s] * bits / 64;
    const uint64_t end_word = ((station_base_[s] + capacity_[s]) * bits + 63) / 64;
    Local local;
    for (uint64_t begin = first_word; begin < end_word;) {
      const uint64_t end = std::min(end_word, (begin / stripe_words + 1) * stripe_words);
      size_t num_slow = 0;
      uint64_t counts[3] = {};
      bool any = false;
      if (bits == 2) {
        // Words with no identity on both sides are ORed in, their fields counted by value.
        num_slow = RunForKernel(
            kernel_,
            [](uint64_t* mine, uint64_t* shared, uint64_t n, uint64_t* counted, uint64_t* wait,
               bool* touched) CANVASS_KERNEL_BODY {
              constexpr uint64_t kLow = 0x5555555555555555ULL;
              size_t waiting = 0;
              uint64_t nonzero = 0, ones = 0, twos = 0, threes = 0;
              for (uint64_t w = 0; w < n; ++w) {
                const uint64_t own_word = mine[w];
                nonzero |= own_word;
                if (own_word == 0) continue;
                const uint64_t shared_word = shared[w];
                if (((shared_word | shared_word >> 1) & (own_word | own_word >> 1) & kLow) != 0) {
                  wait[waiting++] = w;
                  continue;
                }
                mine[w] = 0;
                shared[w] = shared_word | own_word;
                const uint64_t low = own_word & kLow, high = (own_word >> 1) & kLow;
                ones += static_cast<uint64_t>(std::popcount(low & ~high));
                twos += static_cast<uint64_t>(std::popcount(high & ~low));
                threes += static_cast<uint64_t>(std::popcount(low & high));
              }
              counted[0] = ones;
              counted[1] = twos;
              counted[2] = threes;
              *touched = nonzero != 0;
              return waiting;
            },
            own + begin, state_ + begin, end - begin, counts, slow.data(), &any);
        for (size_t c = 0; c < 3; ++c) local.histogram[c] += static_cast<int64_t>(counts[c]);
      } else {
        for (uint64_t w = begin; w < end; ++w) {
          if (own[w] != 0) slow[num_slow++] = w - begin;
        }
        any = num_slow != 0;
      }
      if (any) MarkStripeWritten(StripeOf(begin * fields));
      // As if each of these records arrived now (a later copy where the shared state has
      // one).
      for (size_t i = 0; i < num_slow; ++i) {
        const uint64_t w = begin + slow[i];
        const uint64_t mine = own[w];
        own[w] = 0;
        for (uint64_t k = 0; k < fields; ++k) {
          const auto first_copy = static_cast<uint32_t>((mine >> (k * bits)) & field_mask);
          if (first_copy == 0) continue;
          CountRecord(station, 0, static_cast<ChoiceIndex>(first_copy - 1), w * fields + k, &local);
        }
      }
      begin = end;
    }
    Flush(station, 0, local);
  }
  // The worker's later copies, after its first copies: each identity's field is set now.
  for (const auto& [slot, later] : m.own_later) {
    if (NoteLaterCopies(slot, later.copies, later.disagrees)) {
      Local local;
      --local.histogram[StateAt(slot) - 1];
      ++local.conflicted_identities;
      Flush(later.station, 0, local);
    }
  }
  m.own_later.clear();
}

size_t Aggregator::AddScattered(const BatchView& batch, Local* local) {
  MixedBuffers& m = Buffers();
  const StationIndex s = batch.station;
  const uint64_t capacity = capacity_[s];
  const uint64_t station_slot = station_base_[s];
  uint64_t* const entries = m.entries.data();
  uint32_t* const fill = m.fill.data();
  const int region_bits = region_shift_ + kStripeBits;
  const uint64_t region_mask = (uint64_t{1} << region_bits) - 1;
  size_t buffered = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    const ChoiceIndex c = batch.choice[i];
    const uint64_t seq = batch.seq[i];
    if (c >= num_choices_) {
      ++local->rejected[static_cast<int>(RejectReason::kUnknownChoice)];
      continue;
    }
    if (seq == 0 || seq > capacity) {
      ++local->rejected[static_cast<int>(RejectReason::kBadSeq)];
      continue;
    }
    const uint64_t slot = station_slot + seq - 1;
    const size_t region = static_cast<size_t>(slot >> region_bits);
    const uint32_t at = fill[region]++;
    const uint64_t station = std::min<uint64_t>(s - region_first_station_[region], kFarStation);
    entries[region * kBucketEntries + at] =
        (slot & region_mask) << kSlotShift | station << kStationShift | c;
    ++buffered;
    if (at + 1 == kBucketEntries) CountBucket(m, region);
  }
  return buffered;
}

void Aggregator::CountMixedLaterCopy(MixedBuffers& m, uint64_t slot, StationIndex s, ChoiceIndex c,
                                     uint32_t first_copy) {
  // Settled in Finish() as in CountRecord().
  if (NoteLaterCopy(slot, first_copy != c + 1u)) {
    --m.histogram[static_cast<size_t>(s) * num_choices_ + first_copy - 1];
    ++m.conflicted_identities;
  }
}

void Aggregator::CountBucket(MixedBuffers& m, size_t region) {
  const size_t n = m.fill[region];
  m.fill[region] = 0;
  if (n == 0) return;
  const uint64_t* const entries = m.entries.data() + region * kBucketEntries;
  int64_t* const histogram = m.histogram.data();
  const StationIndex first_station = region_first_station_[region];
  const StationIndex last_station = region_last_station_[region];
  const uint64_t bits = static_cast<uint64_t>(state_bits_);
  const uint32_t field_mask = (1u << state_bits_) - 1;
  const uint64_t region_slot = uint64_t{region} << (region_shift_ + kStripeBits);
  // The fields lie at random in the region, which other regions have pushed out of the
  // cache since it was last counted: each is fetched a few records ahead.
  constexpr size_t kAhead = 48;
  ClaimRegion(region);
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) {
      __builtin_prefetch(
          state_ + (((region_slot + (entries[i + kAhead] >> kSlotShift)) * bits) >> 6), 1);
    }
    const uint64_t entry = entries[i];
    const uint64_t slot = region_slot + (entry >> kSlotShift);
    const ChoiceIndex c = static_cast<ChoiceIndex>(entry & 0xFF);
    const uint32_t local = static_cast<uint32_t>(entry >> kStationShift) & kFarStation;
    const StationIndex s =
        local != kFarStation ? first_station + local : StationOfSlot(region, slot);
    if (first_station != last_station) ++m.records[s];
    const uint64_t bit = slot * bits;
    uint64_t& word = state_[bit >> 6];
    const uint32_t first_copy = static_cast<uint32_t>(word >> (bit & 63)) & field_mask;
    if (first_copy == 0) {
      word |= static_cast<uint64_t>(c + 1u) << (bit & 63);
      ++histogram[static_cast<size_t>(s) * num_choices_ + c];
      MarkStripeWritten(StripeOf(slot));
    } else {
      CountMixedLaterCopy(m, slot, s, c, first_copy);
    }
  }
  ReleaseRegion(region);
  if (first_station == last_station) m.records[first_station] += n;
  for (StationIndex s = first_station; s <= last_station; ++s) {
    if (!m.histogram_marked[s]) {
      m.histogram_marked[s] = 1;
      m.histogram_stations.push_back(s);
    }
  }
  FlushMixedHistogram(m);
}

void Aggregator::FlushMixedHistogram(MixedBuffers& m) {
  for (StationIndex s : m.histogram_stations) {
    const size_t row = static_cast<size_t>(s) * num_choices_;
    for (uint32_t c = 0; c < num_choices_; ++c) {
      const int64_t delta = m.histogram[row + c];
      if (delta > 0) AddToCounter(counted_added_[row + c], static_cast<uint64_t>(delta));
      if (delta < 0)
        AddToCounter(counted_removed_[row + c], uint64_t{0} - static_cast<uint64_t>(delta));
      m.histogram[row + c] = 0;
    }
    if (m.records[s] != 0) AddToCounter(station_records_[s], m.records[s]);
    m.records[s] = 0;
    m.histogram_marked[s] = 0;
  }
  m.histogram_stations.clear();
  if (m.conflicted_identities != 0) {
    AddToCounter(conflicted_identities_, m.conflicted_identities);
    m.conflicted_identities = 0;
  }
}

void Aggregator::AddMixedByStation(const MixedBatchView& batch) {
  // Sorted by station, stably, so each station's records keep their order.
  thread_local std::vector<uint32_t> order;
  thread_local std::vector<uint64_t> seq;
  thread_local std::vector<ChoiceIndex> choice;
  const size_t n = batch.size();
  order.resize(n);
  for (uint32_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return batch.station[a] < batch.station[b]; });
  seq.resize(n);
  choice.resize(n);
  for (size_t i = 0; i < n; ++i) {
    seq[i] = batch.seq[order[i]];
    choice[i] = batch.choice[order[i]];
  }
  size_t begin = 0;
  for (size_t i = 1; i <= n; ++i) {
    if (i < n && batch.station[order[i]] == batch.station[order[begin]]) continue;
    Add(BatchView{batch.station[order[begin]], seq.data() + begin, choice.data() + begin, i - begin,
                  batch.contest});
    begin = i;
  }
}

void Aggregator::CountBuffered() {
  if (mixed_ != nullptr) {
    for (MixedBuffers& m : mixed_->workers) {
      MergeOwnState(m);
      for (size_t bucket = 0; bucket < m.fill.size(); ++bucket) {
        if (m.fill[bucket] != 0) CountBucket(m, bucket);
      }
    }
  }
  for (absl::flat_hash_map<uint64_t, LaterCopy>& worker : later_workers_->workers) {
    for (const auto& [slot, copy] : worker) {
      later_copies_[slot] += copy.copies;  // no more than records read: cannot wrap
      later_changed_.insert(slot);
    }
    worker.clear();
  }
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

void PutU64(uint64_t value, std::string* out) { PutLittleEndian(value, out); }
bool GetU64(absl::string_view* in, uint64_t* value) { return ConsumeLittleEndian(in, value); }

// The two kinds of snapshot: the whole state, and the changes since the one before.
constexpr uint64_t kWholeSnapshot = 0;
constexpr uint64_t kChangesSnapshot = 1;

}  // namespace

uint64_t Aggregator::StripeBytes(size_t stripe) const {
  const uint64_t per_stripe = (uint64_t{1} << kStripeBits) / 8 * static_cast<uint64_t>(state_bits_);
  const uint64_t begin = per_stripe * stripe;
  return std::min(per_stripe, state_bytes_ - begin);
}

std::string Aggregator::Snapshot() { return Encode(/*changes_only=*/false); }
std::string Aggregator::SnapshotChanges() { return Encode(/*changes_only=*/true); }

// Layout (little-endian 64-bit words): kind, stations, choices, state bytes; overflowed,
// conflicted identities, the rejected counters; then five lists, each a count and its
// entries: counters (cell, added, removed), station records (station, records), later
// copies (slot, copies; by slot), conflicted slots (ascending), stripes (stripe, then its
// StripeBytes() of state; ascending). A whole snapshot lists every counter, station,
// later copy, conflict and written stripe; a changes snapshot only those changed since the
// snapshot before.
std::string Aggregator::Encode(bool changes_only) {
  CountBuffered();
  const size_t stations = election_.stations.size();
  const size_t cells = stations * num_choices_;
  std::string out;
  PutU64(changes_only ? kChangesSnapshot : kWholeSnapshot, &out);
  PutU64(stations, &out);
  PutU64(num_choices_, &out);
  PutU64(state_bytes_, &out);
  PutU64(overflowed_.load(std::memory_order_relaxed) ? 1 : 0, &out);
  PutU64(conflicted_identities_.load(std::memory_order_relaxed), &out);
  for (const std::atomic<uint64_t>& counter : rejected_)
    PutU64(counter.load(std::memory_order_relaxed), &out);
  std::string list;
  uint64_t n = 0;
  for (size_t i = 0; i < cells; ++i) {
    const uint64_t added = counted_added_[i].load(std::memory_order_relaxed);
    const uint64_t removed = counted_removed_[i].load(std::memory_order_relaxed);
    if (changes_only && added == emitted_added_[i] && removed == emitted_removed_[i]) continue;
    PutU64(i, &list), PutU64(added, &list), PutU64(removed, &list), ++n;
  }
  PutU64(n, &out), out += list, list.clear(), n = 0;
  for (size_t s = 0; s < stations; ++s) {
    const uint64_t records = station_records_[s].load(std::memory_order_relaxed);
    if (changes_only && records == emitted_records_[s]) continue;
    PutU64(s, &list), PutU64(records, &list), ++n;
  }
  PutU64(n, &out), out += list, list.clear();
  std::vector<std::pair<uint64_t, uint64_t>> later;
  if (changes_only) {
    for (uint64_t slot : later_changed_) later.emplace_back(slot, later_copies_.at(slot));
  } else {
    later.assign(later_copies_.begin(), later_copies_.end());
  }
  std::sort(later.begin(), later.end());
  PutU64(later.size(), &out);
  for (const auto& [slot, copies] : later) PutU64(slot, &out), PutU64(copies, &out);
  {
    std::lock_guard<std::mutex> lock(conflicted_mutex_);
    std::vector<uint64_t> conflicted =
        changes_only ? conflicted_added_
                     : std::vector<uint64_t>(conflicted_.begin(), conflicted_.end());
    std::sort(conflicted.begin(), conflicted.end());
    PutU64(conflicted.size(), &out);
    for (uint64_t slot : conflicted) PutU64(slot, &out);
  }
  const uint8_t wanted = changes_only ? kStripeChanged : kStripeWritten;
  std::vector<size_t> stripes;
  for (size_t g = 0; g < num_groups_; ++g) {
    const auto& group = changes_only ? group_changed_[g] : group_written_[g];
    if (group.load(std::memory_order_relaxed) == 0) continue;
    const size_t end = std::min(num_stripes_, (g + 1) << kGroupBits);
    for (size_t stripe = g << kGroupBits; stripe < end; ++stripe) {
      if ((stripe_flags_[stripe] & wanted) != 0) stripes.push_back(stripe);
    }
  }
  PutU64(stripes.size(), &out);
  for (size_t stripe : stripes) {
    PutU64(stripe, &out);
    out.append(reinterpret_cast<const char*>(StripeData(stripe)), StripeBytes(stripe));
  }
  MarkSnapshotTaken();
  return out;
}

void Aggregator::MarkSnapshotTaken() {
  const size_t cells = election_.stations.size() * num_choices_;
  for (size_t i = 0; i < cells; ++i) {
    emitted_added_[i] = counted_added_[i].load(std::memory_order_relaxed);
    emitted_removed_[i] = counted_removed_[i].load(std::memory_order_relaxed);
  }
  for (size_t s = 0; s < election_.stations.size(); ++s) {
    emitted_records_[s] = station_records_[s].load(std::memory_order_relaxed);
  }
  later_changed_.clear();
  {
    std::lock_guard<std::mutex> lock(conflicted_mutex_);
    conflicted_added_.clear();
  }
  for (size_t g = 0; g < num_groups_; ++g) {
    if (group_changed_[g].load(std::memory_order_relaxed) == 0) continue;
    const size_t end = std::min(num_stripes_, (g + 1) << kGroupBits);
    for (size_t stripe = g << kGroupBits; stripe < end; ++stripe) {
      stripe_flags_[stripe] &= static_cast<uint8_t>(~kStripeChanged);
    }
    group_changed_[g].store(0, std::memory_order_relaxed);
  }
}

void Aggregator::Reset() {
  // Records still buffered belong to the state being replaced.
  if (mixed_ != nullptr) {
    for (MixedBuffers& m : mixed_->workers) {
      std::fill(m.fill.begin(), m.fill.end(), 0);
      if (m.own_dirty && m.own_state != nullptr) std::memset(m.own_state, 0, m.own_bytes);
      m.own_later.clear();
      m.own_dirty = false;
    }
  }
  for (auto& worker : later_workers_->workers) worker.clear();
  const size_t cells = election_.stations.size() * num_choices_;
  for (size_t i = 0; i < cells; ++i) {
    counted_added_[i].store(0, std::memory_order_relaxed);
    counted_removed_[i].store(0, std::memory_order_relaxed);
  }
  for (size_t s = 0; s < election_.stations.size(); ++s) {
    station_records_[s].store(0, std::memory_order_relaxed);
  }
  for (std::atomic<uint64_t>& counter : rejected_) counter.store(0, std::memory_order_relaxed);
  conflicted_identities_.store(0, std::memory_order_relaxed);
  overflowed_.store(false, std::memory_order_relaxed);
  // Only written stripes can hold anything: the cost follows what was written.
  for (size_t g = 0; g < num_groups_; ++g) {
    if (group_written_[g].load(std::memory_order_relaxed) == 0) continue;
    const size_t end = std::min(num_stripes_, (g + 1) << kGroupBits);
    for (size_t stripe = g << kGroupBits; stripe < end; ++stripe) {
      if (stripe_flags_[stripe] == 0) continue;
      std::memset(StripeData(stripe), 0, StripeBytes(stripe));
      stripe_flags_[stripe] = 0;
    }
    group_written_[g].store(0, std::memory_order_relaxed);
    group_changed_[g].store(0, std::memory_order_relaxed);
  }
  later_copies_.clear();
  {
    std::lock_guard<std::mutex> lock(conflicted_mutex_);
    conflicted_.clear();
  }
  MarkSnapshotTaken();
}

absl::Status Aggregator::Apply(absl::string_view in, bool first, std::vector<size_t>* restored) {
  auto bad = [](absl::string_view what) {
    return absl::DataLossError(absl::StrCat("aggregation state: ", what));
  };
  uint64_t kind = 0, stations = 0, choices = 0, bytes = 0, overflowed = 0, value = 0;
  if (!GetU64(&in, &kind) || !GetU64(&in, &stations) || !GetU64(&in, &choices) ||
      !GetU64(&in, &bytes) || !GetU64(&in, &overflowed)) {
    return bad("truncated header");
  }
  if (kind != (first ? kWholeSnapshot : kChangesSnapshot)) {
    return bad(first ? "the first snapshot is not a whole one"
                     : "a whole snapshot after the first");
  }
  if (stations != election_.stations.size() || choices != num_choices_ || bytes != state_bytes_) {
    return bad("shaped for another election");
  }
  if (in.size() < 8 * (1 + kNumRejectReasons)) return bad("truncated counters");
  overflowed_.store(overflowed != 0, std::memory_order_relaxed);
  GetU64(&in, &value);
  conflicted_identities_.store(value, std::memory_order_relaxed);
  for (std::atomic<uint64_t>& counter : rejected_) {
    GetU64(&in, &value);
    counter.store(value, std::memory_order_relaxed);
  }
  // Reads a list's count, refusing one whose entries of `entry_bytes` cannot all be there.
  auto count = [&](uint64_t entry_bytes, uint64_t* n) {
    return GetU64(&in, n) && *n <= in.size() / entry_bytes;
  };
  const uint64_t cells = stations * choices;
  uint64_t n = 0;
  if (!count(24, &n)) return bad("truncated counters");
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t cell = 0, added = 0, removed = 0;
    GetU64(&in, &cell), GetU64(&in, &added), GetU64(&in, &removed);
    if (cell >= cells) return bad("a counter outside the election");
    if (removed > added) return bad("negative count");
    counted_added_[cell].store(added, std::memory_order_relaxed);
    counted_removed_[cell].store(removed, std::memory_order_relaxed);
  }
  if (!count(16, &n)) return bad("truncated station counters");
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t station = 0;
    GetU64(&in, &station), GetU64(&in, &value);
    if (station >= stations) return bad("a station outside the roster");
    station_records_[station].store(value, std::memory_order_relaxed);
  }
  const uint64_t slots = state_bits_ == 0 ? 0 : state_bytes_ * 8 / state_bits_;
  if (!count(16, &n)) return bad("later copies past the end");
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t slot = 0;
    GetU64(&in, &slot), GetU64(&in, &value);
    if (slot >= slots || value == 0) return bad("a later copy outside the roster");
    later_copies_[slot] = value;
  }
  if (!count(8, &n)) return bad("conflicted identities past the end");
  {
    std::lock_guard<std::mutex> lock(conflicted_mutex_);
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t slot = 0;
      GetU64(&in, &slot);
      if (slot >= slots || !conflicted_.insert(slot).second) {
        return bad("a conflicted identity outside the roster, or listed twice");
      }
    }
  }
  if (!GetU64(&in, &n) || n > num_stripes_) return bad("stripes past the end");
  for (uint64_t i = 0, last = 0; i < n; ++i) {
    uint64_t stripe = 0;
    if (!GetU64(&in, &stripe) || stripe >= num_stripes_ || (i > 0 && stripe <= last)) {
      return bad("a stripe outside the state, or out of order");
    }
    last = stripe;
    const uint64_t stripe_bytes = StripeBytes(stripe);
    if (in.size() < stripe_bytes) return bad("a stripe past the end");
    std::memcpy(StripeData(stripe), in.data(), stripe_bytes);
    in.remove_prefix(stripe_bytes);
    stripe_flags_[stripe] = kStripeWritten;
    group_written_[stripe >> kGroupBits].store(1, std::memory_order_relaxed);
    restored->push_back(stripe);
  }
  if (!in.empty()) return bad("bytes after its end");
  return absl::OkStatus();
}

absl::Status Aggregator::Restore(const std::vector<absl::string_view>& snapshots) {
  auto bad = [&](absl::string_view what) {
    Reset();
    return absl::DataLossError(absl::StrCat("aggregation state: ", what));
  };
  Reset();
  if (snapshots.empty()) return bad("no snapshot");
  std::vector<size_t> restored;
  for (size_t i = 0; i < snapshots.size(); ++i) {
    if (absl::Status applied = Apply(snapshots[i], i == 0, &restored); !applied.ok()) {
      Reset();
      return applied;
    }
  }
  // Every field of the stripes restored is unseen or choice + 1, and zero outside each
  // station's serials; nothing else can be set.
  std::sort(restored.begin(), restored.end());
  restored.erase(std::unique(restored.begin(), restored.end()), restored.end());
  const size_t stations = election_.stations.size();
  const uint64_t slots = state_bytes_ * 8 / static_cast<uint64_t>(state_bits_);
  for (size_t stripe : restored) {
    const uint64_t begin = uint64_t{stripe} << kStripeBits;
    const uint64_t end = std::min(slots, begin + (uint64_t{1} << kStripeBits));
    size_t s =
        static_cast<size_t>(std::upper_bound(station_base_.begin(), station_base_.end(), begin) -
                            station_base_.begin() - 1);
    for (uint64_t slot = begin; slot < end; ++slot) {
      while (s + 1 < stations && station_base_[s + 1] <= slot) ++s;
      const uint32_t mark = StateAt(slot);
      if (mark > num_choices_ || (mark != 0 && slot - station_base_[s] >= capacity_[s])) {
        return bad("an exactly-once field out of range");
      }
    }
  }
  const char* conflicts_wrong = nullptr;  // bad() takes the mutex: called after it
  {
    std::lock_guard<std::mutex> lock(conflicted_mutex_);
    for (uint64_t slot : conflicted_) {
      if (StateAt(slot) == 0) conflicts_wrong = "a conflicted identity never seen";
    }
    if (conflicted_.size() != conflicted_identities_.load()) {
      conflicts_wrong = "conflicted identities do not match their count";
    }
  }
  if (conflicts_wrong != nullptr) return bad(conflicts_wrong);
  for (const auto& [slot, copies] : later_copies_) {
    if (StateAt(slot) == 0) return bad("a later copy of an identity never seen");
  }
  absl::StatusOr<Tally> tally = BuildTally();
  if (!tally.ok() && !absl::IsOutOfRange(tally.status())) {
    return bad(absl::StrCat("inconsistent: ", tally.status().message()));
  }
  MarkSnapshotTaken();
  return absl::OkStatus();
}

absl::StatusOr<Tally> Aggregator::Finish() {
  CountBuffered();
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
  std::lock_guard<std::mutex> lock(conflicted_mutex_);
  for (const auto& [slot, copies] : later_copies_) {
    const bool conflicted = conflicted_.contains(slot);
    CANVASS_RETURN_IF_ERROR(
        CheckedAdd(copies, conflicted ? &conflicts : &duplicates, "duplicates and conflicts"));
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
