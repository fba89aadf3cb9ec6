// The parallel exactly-once aggregator: consumes station-homogeneous batches from any
// number of threads and produces a Tally that is independent of batch order, batch
// boundaries and thread count.
//
// Design (DuckDB's shape: local state per worker, combined once):
//  - Each Add() counts its batch into a local histogram on the calling thread's stack and
//    flushes it into shared per-station x choice counters with one relaxed atomic add
//    per (choice, batch): never an atomic per ballot.
//  - Exactly-once state is one field per issued ballot serial: 0 = not seen, c + 1 = its
//    first copy chose c. Fields are as narrow as the contest allows: 2 bits for up to 3
//    choices (the reference election), 4 for up to 15, else 8, packed as cvb packs choice
//    columns (engine/ballot/packed_choices.h). The state is what a job writes (and the
//    kernel zeroes) per ballot, so its width sets the cost of exactly-once.
//  - The fields are cut into at most 128 regions of whole stripes of 2^14 slots (station
//    bases are aligned to 64 slots, so no 64-bit word holds two stations' serials; a
//    region may hold the end of one station and the start of the next). A batch claims
//    the regions it touches (once per batch and region, never per ballot) and updates
//    their fields with plain loads and stores. Batches from the generator and from
//    station files cover consecutive serials, so claims never contend in practice. A
//    stripe that was never written is known to be all zero without reading it.
//  - Records of many stations in any order (AddMixed: a file whose stations interleave
//    line by line) would each touch a random field. They are checked at once (station,
//    choice, serial) and partitioned by region into buffers of the calling worker (one
//    8-byte entry each); a buffer of 512 is counted under one claim of its region, with
//    each field fetched a few records ahead. Large station batches whose serials lie at
//    random (a shuffled file's cvb blocks) take the same buffers. Finish() and Snapshot()
//    count what the buffers still hold.
//  - When the state is small enough that a copy of it per worker stays in the last-level
//    cache (kOwnStatesBytes for all the workers' copies together, decided at the first
//    mixed or scattered batch), those records skip the region buffers: each worker marks
//    them straight in its own copy of the state, its own first copies, with each field
//    fetched a few records ahead and no claim. The copies are merged into the shared
//    state by CountBuffered() (Finish(), Snapshot()), one word at a time, where the
//    first copies are counted (a word with no field set on both sides is ORed in and its
//    fields counted by value) and a field set on both sides is a later copy, exactly as
//    if the worker's record had arrived then. A worker's own later copies wait in a map
//    (slot -> copies, whether one disagrees with its first) and are settled after its
//    fields, so the outcome is the same multiset outcome as the buffers'. Merging costs
//    the state's size per worker, not the records'.
//  - The first copy of an identity is counted at once. A later copy adds one to its
//    identity's count of later copies, in a map of the calling worker (slot -> copies:
//    one entry per identity that has later copies, however many it has, so that a file of
//    one record repeated 12 million times costs one entry, not 12 million); a copy that
//    disagrees with the first puts the identity in the conflicted set (under a mutex, once
//    per worker and identity) and, the first time, takes back the first copy's count.
//    Finish() settles the counts: the later copies of a conflicted identity are each a
//    `conflict`, of another a `duplicate`, and each conflicted identity adds one more
//    `conflict` for its first copy. The outcome depends only on the multiset of records,
//    as DESIGN.md requires.
//  - Snapshots are sparse: only stripes that were written, and SnapshotChanges() only what
//    changed since the last snapshot (stripes written since, counters that moved, later
//    copies and conflicts added), so that a checkpoint's cost per epoch follows what the
//    epoch did, not the roster's capacity. Each stripe carries two flags (written, and
//    written since the last snapshot), and groups of 4096 stripes a summary of each, so
//    that finding them reads a few bytes per group.
//
// Invariants (checked by Finish()):
//  1. records_read == counted + sum(rejected).
//  2. No identity is counted more than once: counted ballots of station s <= capacity.
//  3. No counter wraps: every shared counter only grows (counts taken back by conflicts
//     go to a separate `removed` counter), each add checks for passing 2^63 - 1, and
//     Finish() reports OutOfRange instead of a wrapped figure.
//
// Thread safety: Add() and AddMalformed() are safe to call from many threads at once.
// Finish() must be called once, after every Add() has returned.
// The election must outlive the Aggregator.
//
// Usage:
//   Aggregator aggregator(election);
//   tbb::parallel_for(..., [&](...) { aggregator.Add(batch); });
//   absl::StatusOr<Tally> tally = aggregator.Finish();
#ifndef CANVASS_ENGINE_AGGREGATE_AGGREGATOR_H_
#define CANVASS_ENGINE_AGGREGATE_AGGREGATOR_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/ballot/batch.h"
#include "engine/ballot/sink.h"
#include "engine/ballot/tally.h"
#include "engine/base/check.h"
#include "engine/base/kernel.h"
#include "engine/election/election.h"

namespace canvass {

struct AggregatorOptions {
  // Off: count-only mode for benchmarks, where every well-formed, in-range record is
  // counted (no identity rules, no exactly-once state, no duplicate or conflict).
  bool exactly_once = true;
  // The instruction-set tier of the counting loops (engine/base/kernel.h); every tier
  // gives the same tally and the same state.
  Kernel kernel = ActiveKernel();
  // Back the exactly-once state with transparent huge pages (2 MiB: 512x fewer first-touch
  // faults). Off in a job of several ranks: each rank writes only its blocks of serials
  // (ballot/owners.h), which do not start on 2 MiB boundaries, so with huge pages most
  // pages held two ranks' blocks and every rank backed nearly the whole state (measured:
  // 292 MiB a rank against 144 MiB without, `run --scale 11400` on 2 ranks).
  bool huge_pages = true;
  // Where records in any order (mixed batches, scattered station batches) are checked
  // against the exactly-once state: kAuto chooses by the state's size (see the design
  // above); the others force one way, for tests and benchmarks. Same outcome either way.
  enum class MixedPath { kAuto, kRegionBuffers, kOwnStates };
  MixedPath mixed_path = MixedPath::kAuto;
};

class Aggregator final : public BallotSink {
 public:
  // Serials per stripe of exactly-once state.
  static constexpr int kStripeBits = 14;

  // The most bytes of exactly-once state an Aggregator maps (a quarter of x86-64's user
  // address space); pages are backed only where serials are written.
  static constexpr uint64_t kMaxStateBytes = uint64_t{1} << 45;

  // OK when the exactly-once state of `election` (state_bits per serial of every station's
  // capacity) fits kMaxStateBytes; else ResourceExhausted saying how many bytes it needs.
  static absl::Status CheckStateFits(const Election& election, AggregatorOptions options = {});

  // Requires: CheckStateFits(election, options) is OK.
  explicit Aggregator(const Election& election, AggregatorOptions options = {});
  ~Aggregator();
  Aggregator(const Aggregator&) = delete;
  Aggregator& operator=(const Aggregator&) = delete;

  // Counts one batch. Safe to call from many threads at once.
  void Add(const BatchView& batch) override;
  void Add(const BallotBatch& batch) {
    CANVASS_CHECK(batch.seq.size() == batch.choice.size());
    Add(batch.View());
  }
  // Counts a run of `count` records of `station` whose serials are first, first + 1, ...,
  // first + count - 1 (as uint64_t arithmetic gives them) and whose choices are packed
  // `bits` bits each (1, 2 or 4; see engine/ballot/packed_choices.h), without expanding
  // them: when the whole run is in range, every choice is in the contest and no serial
  // was seen before, the state fields are checked with one OR-reduction, written from the
  // packed words (shifted and added to, when the state has their width) and the choices
  // counted from popcounts of the words. Otherwise the run
  // is expanded into a batch for Add(). Either way the outcome is exactly that of Add()
  // of the expanded batch. Safe to call from many threads at once.
  // Requires: station is a roster index or kUnknownStation; packed_choices holds
  // PackedWords(count, bits) words whose bits after the last record are zero.
  void AddRun(StationIndex station, uint64_t first, size_t count, const uint64_t* packed_choices,
              int bits) override;
  // The same with one choice byte per record (kUnknownChoice or any index past the last
  // choice is an unknown choice, as in Add()).
  void AddRun(StationIndex station, uint64_t first, size_t count,
              const ChoiceIndex* choices) override;
  // Counts records of any stations in any order (see the design above); the outcome is
  // exactly that of Add() of the same records grouped by station. Safe to call from many
  // threads at once.
  void AddMixed(const MixedBatchView& batch) override;
  // Accounts `records` that a reader could not parse. Safe from many threads.
  void AddMalformed(uint64_t records) override;

  // Starts the counters from `prior` (a tally of earlier input, e.g. a checkpoint).
  // Requires: called before any Add(); prior is shaped for this election.
  void StartFrom(const Tally& prior);

  // Settles duplicates and conflicts and returns the tally, or OutOfRange when a counter
  // would have passed 2^63 - 1.
  // Requires: called once, after every Add() has returned.
  absl::StatusOr<Tally> Finish();

  // The whole aggregation state (counters, the written stripes of exactly-once state,
  // later copies, conflicts) as bytes, for checkpoints, after counting the records that
  // mixed batches left in the workers' buffers. Its size follows what was written, not the
  // roster's capacity. Requires: no Add() in flight.
  std::string Snapshot();
  // What changed since the last Snapshot(), SnapshotChanges() or Restore(): given to
  // Restore() after them, it stands for the state now. Requires: no Add() in flight.
  std::string SnapshotChanges();
  // Replaces the state with a Snapshot() of an Aggregator for the same election followed
  // by the SnapshotChanges() taken after it, in order. DataLoss when the bytes do not fit
  // this election (the state is then empty). Checks only what the snapshots hold: the cost
  // follows their size. Requires: no Add() in flight.
  absl::Status Restore(const std::vector<absl::string_view>& snapshots);
  absl::Status Restore(absl::string_view snapshot) {
    return Restore(std::vector<absl::string_view>{snapshot});
  }

  // Bytes of exactly-once state (state_bits() per issued serial, stations aligned).
  uint64_t state_bytes() const { return state_bytes_; }
  // Bits of exactly-once state per serial: 2, 4 or 8 (see the design above).
  int state_bits() const { return state_bits_; }

 private:
  // Later copies of one identity seen by one worker since its map was last settled.
  struct LaterCopy {
    uint64_t copies = 0;
    bool conflict_noted = false;  // this worker already put the identity in conflicted_
  };
  struct LaterCopies;
  // Per-batch local counts, flushed once per batch.
  struct Local;
  // One worker's buffers of mixed records by bucket, and its counts for them.
  struct MixedBuffers;
  struct MixedState;
  // Records per region buffer of a worker, and the most regions.
  static constexpr size_t kBucketEntries = 512;
  static constexpr size_t kMaxRegions = 128;
  // Station batches at least this large whose serials are not consecutive are counted
  // through the region buffers (AddScattered); smaller ones by AddGeneral.
  static constexpr size_t kScatteredBatch = 256;

  bool TryAddContiguous(const BatchView& batch, Local* local);
  // True when serials first..first+count-1 all lie in 1..capacity of station s.
  bool RunInRange(StationIndex s, uint64_t first, size_t count) const;
  // Claims the stripes of serial indexes [begin, begin + count) of station s; when none of
  // their state fields is set, calls mark(slot of serial index begin) to set them and
  // returns true; else changes nothing and returns false.
  template <typename Mark>
  bool MarkUnseenRange(StationIndex s, uint64_t begin, size_t count, Mark&& mark);
  // State field of a slot (station base + serial index); setting one that is zero.
  uint32_t StateAt(uint64_t slot) const;
  void SetUnseenState(uint64_t slot, uint32_t mark);
  // Whether any field of slots [slot, slot + count) is set.
  bool AnyStateSet(uint64_t slot, size_t count) const;
  // Set the zero fields of slots [slot, slot + count) to choice + 1, from a choice column
  // or a packed one (every choice in the contest).
  void MarkFromChoices(uint64_t slot, const ChoiceIndex* choices, size_t count);
  template <int kBits>
  void MarkFromChoicesOfWidth(uint64_t slot, const ChoiceIndex* choices, size_t count);
  void MarkFromPacked(uint64_t slot, const uint64_t* packed, size_t count, int bits);
  // Adds the choices of a valid batch to the local histogram.
  void CountChoices(const ChoiceIndex* choice, size_t count, Local* local) const;
  void AddCountOnly(const BatchView& batch, Local* local);
  void AddGeneral(const BatchView& batch, Local* local);
  void CountRecord(StationIndex s, uint64_t seq, ChoiceIndex c, uint64_t slot, Local* local);
  void Flush(StationIndex s, uint64_t records, const Local& local);
  void ClaimRegion(size_t region);
  void ReleaseRegion(size_t region);
  static size_t StripeOf(uint64_t slot) { return static_cast<size_t>(slot >> kStripeBits); }
  size_t RegionOf(uint64_t slot) const { return StripeOf(slot) >> region_shift_; }
  // The station whose serials hold `slot`, a slot of `region`.
  StationIndex StationOfSlot(size_t region, uint64_t slot) const;
  // The calling worker's buffers, allocated on first use.
  MixedBuffers& Buffers();
  // Checks a station batch's records and hands the valid ones to the region buffers;
  // returns how many it handed on.
  size_t AddScattered(const BatchView& batch, Local* local);
  // Counts a region's buffered records under its claim and empties the buffer.
  void CountBucket(MixedBuffers& m, size_t region);
  // All the workers' copies of the state together at most this many bytes: records in
  // any order are marked in a worker's own copy (see the design above).
  static constexpr uint64_t kOwnStatesBytes = uint64_t{16} << 20;
  // Whether mixed and scattered records go to the workers' own states; decided once, by
  // the first caller (the size of its task arena sets how many copies there can be).
  bool UseOwnStates();
  // AddMixed() (the station column `stations`) and a scattered station batch (stations
  // null: every record is of `station`) on the worker's own state.
  void AddMixedOwn(const StationIndex* stations, StationIndex station, const uint64_t* seq,
                   const ChoiceIndex* choice, size_t n);
  // A record whose field in the worker's own state is set (kept out of line).
  [[gnu::noinline]] void NoteOwnLaterCopy(MixedBuffers& m, uint64_t slot, StationIndex s,
                                          bool disagrees);
  // Merges a worker's own state and later copies into the shared state and zeroes them.
  // Requires: no Add() in flight.
  void MergeOwnState(MixedBuffers& m);
  // A record whose field is set: a later copy of its identity (rare, kept out of line).
  [[gnu::noinline]] void CountMixedLaterCopy(MixedBuffers& m, uint64_t slot, StationIndex s,
                                             ChoiceIndex c, uint32_t first_copy);
  // Adds the worker's mixed histogram to the shared counters and zeroes it.
  void FlushMixedHistogram(MixedBuffers& m);
  // AddMixed() for elections too large for a worker's station x choice histogram: the
  // records grouped by station (a counting sort) and handed to Add().
  void AddMixedByStation(const MixedBatchView& batch);
  // Counts every buffered record of every worker and settles the workers' later copies
  // into later_copies_. Requires: no Add() in flight.
  void CountBuffered();
  // A later copy of the identity at `slot`; `disagrees` when its choice is not the first
  // copy's. True when it newly makes the identity conflicted (the caller takes back the
  // first copy's count).
  bool NoteLaterCopy(uint64_t slot, bool disagrees) { return NoteLaterCopies(slot, 1, disagrees); }
  // The same for `copies` later copies, of which at least one disagrees when `disagrees`.
  bool NoteLaterCopies(uint64_t slot, uint64_t copies, bool disagrees);
  // Stripe flags (stripe_flags_) and their group summaries.
  static constexpr uint8_t kStripeWritten = 1;
  static constexpr uint8_t kStripeChanged = 2;  // written since the last snapshot
  static constexpr int kGroupBits = 12;         // stripes per group: 2^12
  // Marks a stripe written (and changed). Requires: its region claimed.
  void MarkStripeWritten(size_t stripe) {
    if (stripe_flags_[stripe] == (kStripeWritten | kStripeChanged)) return;
    stripe_flags_[stripe] = kStripeWritten | kStripeChanged;
    group_written_[stripe >> kGroupBits].store(1, std::memory_order_relaxed);
    group_changed_[stripe >> kGroupBits].store(1, std::memory_order_relaxed);
  }
  // Bytes of state of stripe `stripe` (the last one may be short), and where they start.
  uint64_t StripeBytes(size_t stripe) const;
  uint8_t* StripeData(size_t stripe) const {
    return reinterpret_cast<uint8_t*>(state_) + (uint64_t{stripe} << kStripeBits) / 8 * state_bits_;
  }
  // Snapshot() (changes_only false) and SnapshotChanges().
  std::string Encode(bool changes_only);
  // Applies one snapshot's bytes; `restored` collects the stripes it wrote.
  absl::Status Apply(absl::string_view in, bool first, std::vector<size_t>* restored);
  // Back to the state of a new Aggregator (counters, state, flags, later copies).
  void Reset();
  // Makes the current state the baseline of the next SnapshotChanges().
  void MarkSnapshotTaken();

  const Election& election_;
  const uint32_t num_choices_;
  const bool exactly_once_;
  const Kernel kernel_;
  const int state_bits_;  // bits per serial: 2, 4 or 8
  const bool huge_pages_;
  const AggregatorOptions::MixedPath mixed_path_;
  uint64_t state_bytes_ = 0;
  uint64_t* state_ = nullptr;           // exactly-once fields, all stations back to back
  std::vector<uint64_t> station_base_;  // slot of station s's first serial (a multiple of 64)
  std::vector<uint64_t> capacity_;      // of station s, as in the roster
  // Per stripe: kStripeWritten when any of its state bytes may be nonzero, kStripeChanged
  // when it may have changed since the last snapshot. Read and written only by the
  // stripe's holder (the claim orders them). A run over unwritten stripes is known unseen
  // without reading its bytes: on fresh memory that read is half the traffic.
  uint8_t* stripe_flags_ = nullptr;  // mapped zeroed: pages appear as stripes are written
  size_t num_stripes_ = 0;
  // Per group of 2^kGroupBits stripes: whether any is written, or changed (set by any
  // stripe holder, cleared only with no Add() in flight).
  std::unique_ptr<std::atomic<uint8_t>[]> group_written_, group_changed_;
  size_t num_groups_ = 0;
  int region_shift_ = 0;  // region of a stripe: stripe >> region_shift_
  size_t num_regions_ = 0;
  struct alignas(64) RegionClaim {  // one cache line each: claims of two regions never share
    std::atomic<uint8_t> held{0};
  };
  std::unique_ptr<RegionClaim[]> region_claimed_;
  // The stations whose serials hold region r's first and last slots: those between them
  // are the only ones with serials in it.
  std::vector<StationIndex> region_first_station_, region_last_station_;
  std::unique_ptr<MixedState> mixed_;  // null: AddMixed() groups by station instead

  // Adds `n` to a shared counter, noting an overflow past kMaxFigure.
  void AddToCounter(std::atomic<uint64_t>& counter, uint64_t n);
  // The tally the current state stands for; FailedPrecondition naming the broken
  // invariant when the state is inconsistent (only a bad Restore() can make it so).
  absl::StatusOr<Tally> BuildTally() const;

  // Shared counters, all monotonic. counted = added - removed (conflicts take back).
  std::unique_ptr<std::atomic<uint64_t>[]> counted_added_;    // station x choice
  std::unique_ptr<std::atomic<uint64_t>[]> counted_removed_;  // station x choice
  std::unique_ptr<std::atomic<uint64_t>[]> station_records_;
  std::atomic<uint64_t> rejected_[kNumRejectReasons] = {};
  std::atomic<uint64_t> conflicted_identities_{0};
  std::atomic<bool> overflowed_{false};
  std::unique_ptr<LaterCopies> later_workers_;  // each worker's unsettled later copies
  // Settled by CountBuffered(): later copies per slot, and the slots changed since the
  // last snapshot.
  absl::flat_hash_map<uint64_t, uint64_t> later_copies_;
  absl::flat_hash_set<uint64_t> later_changed_;
  // Slots of the identities whose copies disagree, under conflicted_mutex_ (a std::mutex:
  // ThreadSanitizer sees pthread mutexes, not an uninstrumented absl::Mutex), and those
  // added since the last snapshot.
  mutable std::mutex conflicted_mutex_;
  absl::flat_hash_set<uint64_t> conflicted_;
  std::vector<uint64_t> conflicted_added_;
  // The counters as the last snapshot left them (station x choice, then per station).
  std::vector<uint64_t> emitted_added_, emitted_removed_, emitted_records_;

  static_assert(std::atomic<uint64_t>::is_always_lock_free, "shared counters must be lock-free");
  static_assert(std::atomic<uint8_t>::is_always_lock_free, "stripe claims must be lock-free");
};

}  // namespace canvass

#endif  // CANVASS_ENGINE_AGGREGATE_AGGREGATOR_H_
