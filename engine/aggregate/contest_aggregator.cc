// ContestAggregator: sharded exactly-once state over identity keys, counted at Finish().
#include "engine/aggregate/contest_aggregator.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "engine/base/bytes.h"
#include "engine/base/check.h"
#include "engine/base/status_macros.h"
#include "engine/base/xxhash.h"
#include "tbb/blocked_range.h"
#include "tbb/enumerable_thread_specific.h"
#include "tbb/parallel_for.h"

namespace canvass {
namespace {

struct Key {
  uint64_t low = 0;
  uint64_t high = 0;
  friend bool operator==(const Key&, const Key&) = default;
  template <typename H>
  friend H AbslHashValue(H state, const Key& key) {
    // The key is a hash already: its low word spreads as well as any rehash would.
    return H::combine(std::move(state), key.low);
  }
};

Key KeyOf(absl::string_view identity) {
  const XXH128_hash_t hash = XXH3_128bits(identity.data(), identity.size());
  return Key{hash.low64, hash.high64};
}

uint32_t ShardOf(const Key& key) {
  return static_cast<uint32_t>(key.high >> 56) % ContestAggregator::kShards;
}

// A ballot's unit and cells as words: unit, number of words after this one, then per
// cell (cell << 1 | votes != 1) and, when flagged, the votes.
void Encode(const CastBallotBatch& batch, size_t i, std::vector<uint32_t>* out) {
  out->push_back(batch.unit(i));
  const size_t length_at = out->size();
  out->push_back(0);
  for (const CellVotes& cell : batch.cells(i)) {
    if (cell.votes == 1) {
      out->push_back(cell.cell << 1);
    } else {
      out->push_back((cell.cell << 1) | 1);
      out->push_back(cell.votes);
    }
  }
  (*out)[length_at] = static_cast<uint32_t>(out->size() - length_at - 1);
}

struct Entry {
  uint64_t first = 0;  // offset of the first copy in the shard's arena
  uint32_t copies = 0;
  bool conflicted = false;
  uint8_t flags = 0;  // the copies' CastBallotBatch::flags, OR-ed
};

bool AddChecked(uint64_t* sum, uint64_t value) { return !__builtin_add_overflow(*sum, value, sum); }

}  // namespace

// std::mutex, not absl::Mutex: Debian's Abseil is not built with ThreadSanitizer, and
// absl::Mutex's deadlock bookkeeping inside it reads as a race under TSan.
struct ContestAggregator::Shard {
  std::mutex mu;
  absl::flat_hash_map<Key, Entry> entries;  // guarded by mu
  std::vector<uint32_t> arena;              // guarded by mu
};

ContestAggregator::ContestAggregator(const ContestElection& election)
    : election_(election), shards_(new Shard[kShards]) {}

ContestAggregator::~ContestAggregator() = default;

void ContestAggregator::AddRejected(CastReject reason, uint64_t records) {
  CANVASS_CHECK(reason != CastReject::kDuplicate && reason != CastReject::kConflict);
  rejected_by_reader_[static_cast<int>(reason)].fetch_add(records, std::memory_order_relaxed);
  records_read_.fetch_add(records, std::memory_order_relaxed);
}

void ContestAggregator::Add(const CastBallotBatch& batch) {
  const size_t n = batch.size();
  if (n == 0) return;
  records_read_.fetch_add(n, std::memory_order_relaxed);
  std::vector<Key> keys(n);
  std::vector<uint32_t> words;
  std::vector<uint64_t> word_begin(n + 1);
  std::vector<uint32_t> shard_count(kShards + 1, 0);
  for (size_t i = 0; i < n; ++i) {
    CANVASS_CHECK(batch.unit(i) < election_.units.size());
    keys[i] = KeyOf(batch.identity(i));
    ++shard_count[ShardOf(keys[i]) + 1];
    word_begin[i] = words.size();
    Encode(batch, i, &words);
  }
  word_begin[n] = words.size();
  for (uint32_t s = 0; s < kShards; ++s) shard_count[s + 1] += shard_count[s];
  std::vector<uint32_t> order(n);
  {
    std::vector<uint32_t> next(shard_count.begin(), shard_count.end() - 1);
    for (size_t i = 0; i < n; ++i) order[next[ShardOf(keys[i])]++] = static_cast<uint32_t>(i);
  }
  for (uint32_t s = 0; s < kShards; ++s) {
    if (shard_count[s] == shard_count[s + 1]) continue;
    Shard& shard = shards_[s];
    std::lock_guard<std::mutex> lock(shard.mu);
    for (uint32_t k = shard_count[s]; k < shard_count[s + 1]; ++k) {
      const uint32_t i = order[k];
      const uint32_t* copy = words.data() + word_begin[i];
      const size_t copy_words = word_begin[i + 1] - word_begin[i];
      auto [it, inserted] = shard.entries.try_emplace(keys[i]);
      Entry& entry = it->second;
      ++entry.copies;
      if (inserted) {
        entry.first = shard.arena.size();
        entry.flags = batch.flags(i);
        shard.arena.insert(shard.arena.end(), copy, copy + copy_words);
        continue;
      }
      if (entry.conflicted) continue;
      const uint32_t* first = shard.arena.data() + entry.first;
      const bool same = first[1] + 2 == copy_words &&
                        std::memcmp(first, copy, copy_words * sizeof(uint32_t)) == 0;
      if (!same) entry.conflicted = true;
      // Flags of equal copies are OR-ed, so that what is counted does not depend on which
      // copy came first.
      entry.flags |= batch.flags(i);
    }
  }
}

// An entry on the wire (ExchangeShards), little-endian: key low u64, key high u64,
// copies u32, flags u8, conflicted u8, then the first copy's words as Encode() wrote them
// (unit, n, n words).
absl::Status ContestAggregator::ExchangeShards(const RankGroup& ranks) {
  const int size = ranks.size();
  const int me = ranks.rank();
  std::vector<std::string> to_each(static_cast<size_t>(size));
  for (uint32_t s = 0; s < kShards; ++s) {
    const int owner = static_cast<int>(s % static_cast<uint32_t>(size));
    if (owner == me) continue;
    Shard& shard = shards_[s];
    std::lock_guard<std::mutex> lock(shard.mu);
    std::string& out = to_each[static_cast<size_t>(owner)];
    for (const auto& [key, entry] : shard.entries) {
      PutLittleEndian(key.low, &out);
      PutLittleEndian(key.high, &out);
      PutLittleEndian(entry.copies, &out);
      PutLittleEndian(entry.flags, &out);
      PutLittleEndian(static_cast<uint8_t>(entry.conflicted ? 1 : 0), &out);
      const uint32_t* first = shard.arena.data() + entry.first;
      for (uint32_t w = 0; w < first[1] + 2; ++w) PutLittleEndian(first[w], &out);
    }
    shard.entries = {};
    shard.arena = {};
  }
  const std::vector<std::string> received = ranks.AllToAll(std::move(to_each));
  for (int from = 0; from < size; ++from) {
    if (from == me) continue;
    CANVASS_RETURN_IF_ERROR(MergeShards(from, received[static_cast<size_t>(from)], ranks));
  }
  return absl::OkStatus();
}

absl::Status ContestAggregator::MergeShards(int from, absl::string_view in,
                                            const RankGroup& ranks) {
  const uint32_t units = static_cast<uint32_t>(election_.units.size());
  const uint32_t cells_per_unit = election_.cells_per_unit();
  std::vector<uint32_t> words;
  while (!in.empty()) {
    Key key;
    uint32_t copies = 0, unit = 0, length = 0;
    uint8_t flags = 0, conflicted = 0;
    bool whole = ConsumeLittleEndian(&in, &key.low) && ConsumeLittleEndian(&in, &key.high) &&
                 ConsumeLittleEndian(&in, &copies) && ConsumeLittleEndian(&in, &flags) &&
                 ConsumeLittleEndian(&in, &conflicted) && ConsumeLittleEndian(&in, &unit) &&
                 ConsumeLittleEndian(&in, &length) && in.size() / 4 >= length;
    const uint32_t s = ShardOf(key);
    whole = whole && copies >= 1 && conflicted <= 1 && unit < units &&
            static_cast<int>(s % static_cast<uint32_t>(ranks.size())) == ranks.rank();
    words.assign({unit, length});
    for (uint32_t w = 0; whole && w < length; ++w) {
      uint32_t word = 0;
      ConsumeLittleEndian(&in, &word);
      words.push_back(word);
    }
    // Cells in range, each flagged one followed by its votes.
    for (size_t w = 2; whole && w < words.size(); ++w) {
      whole = (words[w] >> 1) < cells_per_unit && ((words[w] & 1) == 0 || ++w < words.size());
    }
    if (!whole) {
      return absl::InvalidArgumentError(
          absl::StrCat("rank ", from, " sent rank ", ranks.rank(),
                       " identities that are not whole entries of the shards it owns"));
    }
    Shard& shard = shards_[s];
    std::lock_guard<std::mutex> lock(shard.mu);
    auto [it, inserted] = shard.entries.try_emplace(key);
    Entry& entry = it->second;
    if (inserted) {
      entry.first = shard.arena.size();
      entry.copies = copies;
      entry.flags = flags;
      entry.conflicted = conflicted != 0;
      shard.arena.insert(shard.arena.end(), words.begin(), words.end());
      continue;
    }
    // As Add() would have met the other rank's copies: they add up, and the identity is in
    // conflict once any copy differs from the first.
    if (__builtin_add_overflow(entry.copies, copies, &entry.copies)) {
      return absl::OutOfRangeError("copies of one identity passed 2^32 - 1; it cannot be counted");
    }
    if (entry.conflicted) continue;
    const uint32_t* first = shard.arena.data() + entry.first;
    const bool same = conflicted == 0 && first[1] + 2 == words.size() &&
                      std::memcmp(first, words.data(), words.size() * sizeof(uint32_t)) == 0;
    if (!same) entry.conflicted = true;
    entry.flags |= flags;
  }
  return absl::OkStatus();
}

absl::StatusOr<ContestTally> ContestAggregator::Finish(const RankGroup* ranks) {
  const bool several = ranks != nullptr && ranks->size() > 1;
  if (several) CANVASS_RETURN_IF_ERROR(AgreeOnStatus(*ranks, ExchangeShards(*ranks)));
  const uint32_t units = static_cast<uint32_t>(election_.units.size());
  const uint32_t cells_per_unit = election_.cells_per_unit();
  const size_t cells = static_cast<size_t>(units) * cells_per_unit;
  struct Local {
    std::vector<uint64_t> own;  // per unit, its own ballots' cells (not rolled up)
    uint64_t counted = 0;
    uint64_t adjudicated = 0;
    uint64_t duplicates = 0;
    uint64_t conflicts = 0;
    bool overflow = false;
  };
  tbb::enumerable_thread_specific<Local> locals([cells] {
    Local local;
    local.own.assign(cells, 0);
    return local;
  });
  tbb::parallel_for(
      tbb::blocked_range<uint32_t>(0, kShards, 1), [&](const tbb::blocked_range<uint32_t>& range) {
        Local& local = locals.local();
        for (uint32_t s = range.begin(); s != range.end(); ++s) {
          Shard& shard = shards_[s];
          std::lock_guard<std::mutex> lock(shard.mu);
          for (const auto& [key, entry] : shard.entries) {
            if (entry.conflicted) {
              local.overflow |= !AddChecked(&local.conflicts, entry.copies);
              continue;
            }
            ++local.counted;
            local.adjudicated += (entry.flags & kBallotAdjudicated) ? 1 : 0;
            local.duplicates += entry.copies - 1;
            const uint32_t* w = shard.arena.data() + entry.first;
            uint64_t* own = local.own.data() + static_cast<size_t>(w[0]) * cells_per_unit;
            const uint32_t* end = w + 2 + w[1];
            for (w += 2; w != end; ++w) {
              const uint32_t cell = *w >> 1;
              const uint32_t votes = (*w & 1) ? *++w : 1;
              local.overflow |= !AddChecked(&own[cell], votes);
            }
          }
        }
      });
  ContestTally tally;
  tally.num_units = units;
  tally.cells_per_unit = cells_per_unit;
  tally.cells.assign(cells, 0);
  bool overflow = false;
  std::vector<uint64_t> own(cells, 0);
  for (Local& local : locals) {
    overflow |= local.overflow;
    overflow |= !AddChecked(&tally.counted, local.counted);
    overflow |= !AddChecked(&tally.adjudicated, local.adjudicated);
    overflow |=
        !AddChecked(&tally.rejected[static_cast<int>(CastReject::kDuplicate)], local.duplicates);
    overflow |=
        !AddChecked(&tally.rejected[static_cast<int>(CastReject::kConflict)], local.conflicts);
    for (size_t c = 0; c < cells; ++c) overflow |= !AddChecked(&own[c], local.own[c]);
  }
  for (uint32_t u = 0; u < units; ++u) {
    const uint64_t* unit_cells = own.data() + static_cast<size_t>(u) * cells_per_unit;
    if (unit_cells[ContestElection::kBallotsCastCell] == 0) continue;
    for (const uint32_t a : election_.RollUp(u)) {
      uint64_t* up = tally.cells.data() + static_cast<size_t>(a) * cells_per_unit;
      for (uint32_t c = 0; c < cells_per_unit; ++c) overflow |= !AddChecked(&up[c], unit_cells[c]);
    }
  }
  for (int r = 0; r < kNumCastRejects; ++r) {
    overflow |= !AddChecked(&tally.rejected[r], rejected_by_reader_[r].load());
  }
  tally.records_read = records_read_.load();
  if (several) {
    // Each rank's tally covers the identities it owns and the records it read: their sum
    // is the job's (every figure is a sum over identities or records).
    std::vector<uint64_t> mine = {overflow ? 1u : 0u, tally.records_read, tally.counted,
                                  tally.adjudicated};
    mine.insert(mine.end(), tally.rejected.begin(), tally.rejected.end());
    mine.insert(mine.end(), tally.cells.begin(), tally.cells.end());
    CANVASS_ASSIGN_OR_RETURN(std::vector<uint64_t> sum, SumOverRanks(*ranks, mine));
    overflow = sum[0] != 0;
    tally.records_read = sum[1];
    tally.counted = sum[2];
    tally.adjudicated = sum[3];
    std::copy_n(sum.begin() + 4, kNumCastRejects, tally.rejected.begin());
    std::copy(sum.begin() + 4 + kNumCastRejects, sum.end(), tally.cells.begin());
  }
  if (overflow) {
    return absl::OutOfRangeError("a figure of the tally passed 2^64 - 1; it cannot be counted");
  }
  if (tally.records_read != tally.counted + tally.TotalRejected()) {
    return absl::InternalError(absl::StrCat("records read ", tally.records_read, " != counted ",
                                            tally.counted, " + rejected ", tally.TotalRejected()));
  }
  if (tally.Cell(election_.scope(), ContestElection::kBallotsCastCell) != tally.counted) {
    return absl::InternalError("the scope's ballots cast differ from the ballots counted");
  }
  return tally;
}

}  // namespace canvass
