// Records routed to their station's owner (routing.h).
#include "engine/ingest/routing.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/ballot/packed_choices.h"
#include "engine/base/bytes.h"
#include "engine/base/check.h"
#include "engine/base/workers.h"
#include "tbb/parallel_for.h"

namespace canvass {
namespace {

// Mixed records per block on the wire (and per AddMixed call on arrival).
constexpr size_t kMixedBlockRecords = 1 << 14;

template <typename T>
void PutColumn(const T* values, size_t count, std::string* out) {
  out->append(reinterpret_cast<const char*>(values), count * sizeof(T));
}

// Reads a column of `count` values off the front of *in into *out (the message's bytes
// need not be aligned for T); false when fewer bytes are left.
template <typename T>
bool TakeColumn(absl::string_view* in, size_t count, std::vector<T>* out) {
  if (in->size() / sizeof(T) < count) return false;
  out->resize(count);
  std::memcpy(out->data(), in->data(), count * sizeof(T));
  in->remove_prefix(count * sizeof(T));
  return true;
}

// Column widths of a block: bit 0, station indexes in 2 bytes; bit 1, serials in 4.
constexpr uint8_t kNarrowStations = 1;
constexpr uint8_t kNarrowSerials = 2;

template <typename Narrow, typename T>
void PutNarrowColumn(const T* values, size_t count, std::string* out) {
  const size_t at = out->size();
  out->resize(at + count * sizeof(Narrow));
  char* to = out->data() + at;
  for (size_t i = 0; i < count; ++i) {
    const Narrow value = static_cast<Narrow>(values[i]);
    std::memcpy(to + i * sizeof(Narrow), &value, sizeof(Narrow));
  }
}

void PutSerials(const uint64_t* seq, size_t count, uint8_t widths, std::string* out) {
  if (widths & kNarrowSerials) {
    PutNarrowColumn<uint32_t>(seq, count, out);
  } else {
    PutColumn(seq, count, out);
  }
}

uint8_t SerialWidth(const uint64_t* seq, size_t count) {
  return *std::max_element(seq, seq + count) <= UINT32_MAX ? kNarrowSerials : 0;
}

void FlushMixed(std::string* blocks, std::vector<StationIndex>* station, std::vector<uint64_t>* seq,
                std::vector<ChoiceIndex>* choice) {
  if (seq->empty()) return;
  uint8_t widths = SerialWidth(seq->data(), seq->size());
  if (*std::max_element(station->begin(), station->end()) <= UINT16_MAX) {
    widths |= kNarrowStations;
  }
  blocks->push_back('M');
  blocks->push_back(static_cast<char>(widths));
  PutLittleEndian<uint32_t>(static_cast<uint32_t>(seq->size()), blocks);
  if (widths & kNarrowStations) {
    PutNarrowColumn<uint16_t>(station->data(), station->size(), blocks);
  } else {
    PutColumn(station->data(), station->size(), blocks);
  }
  PutSerials(seq->data(), seq->size(), widths, blocks);
  PutColumn(choice->data(), choice->size(), blocks);
  station->clear();
  seq->clear();
  choice->clear();
}

// Reads a column of `count` values stored `width` bytes each (2, 4 or 8) into *out.
template <typename Stored, typename T>
void Widen(const char* from, size_t count, T* out) {
  for (size_t i = 0; i < count; ++i) {
    Stored value;
    std::memcpy(&value, from + i * sizeof(Stored), sizeof(Stored));  // little-endian
    out[i] = static_cast<T>(value);
  }
}

template <typename T>
bool TakeWideningColumn(absl::string_view* in, size_t count, size_t width, std::vector<T>* out) {
  if (in->size() / width < count) return false;
  out->resize(count);
  switch (width) {
    case 2:
      Widen<uint16_t>(in->data(), count, out->data());
      break;
    case 4:
      Widen<uint32_t>(in->data(), count, out->data());
      break;
    default:
      Widen<uint64_t>(in->data(), count, out->data());
      break;
  }
  in->remove_prefix(count * width);
  return true;
}

// The columns of one block as it arrived, copied out of the message.
struct Scratch {
  std::vector<StationIndex> station;
  std::vector<uint64_t> seq;
  std::vector<ChoiceIndex> choice;
  std::vector<uint64_t> words;
};

}  // namespace

RoutingSink::RoutingSink(const Election& election, const RankGroup& ranks, Aggregator* local)
    : ranks_(ranks),
      local_(local),
      owners_(election, ranks.size()),
      num_stations_(election.stations.size()),
      queues_([&ranks] { return Queues(static_cast<size_t>(ranks.size())); }) {}

void RoutingSink::EncodeBatch(int to, StationIndex station, const uint64_t* seq,
                              const ChoiceIndex* choice, size_t count) {
  // Consecutive serials (a station file's batch) travel as a run: a byte a record.
  bool consecutive = true;
  for (size_t i = 1; i < count && consecutive; ++i) consecutive = seq[i] == seq[0] + i;
  std::string& out = queues_.local()[to].blocks;
  if (consecutive) {
    out.push_back('R');
    PutLittleEndian<uint32_t>(station, &out);
    PutLittleEndian<uint64_t>(seq[0], &out);
    PutLittleEndian<uint32_t>(static_cast<uint32_t>(count), &out);
    PutColumn(choice, count, &out);
    return;
  }
  const uint8_t widths = SerialWidth(seq, count);
  out.push_back('B');
  out.push_back(static_cast<char>(widths));
  PutLittleEndian<uint32_t>(station, &out);
  PutLittleEndian<uint32_t>(static_cast<uint32_t>(count), &out);
  PutSerials(seq, count, widths, &out);
  PutColumn(choice, count, &out);
}

void RoutingSink::Add(const BatchView& batch) {
  if (batch.count == 0) return;
  if (batch.station == kUnknownStation) {
    local_->Add(batch);
    return;
  }
  // Most batches lie in one block of serials: one owner, handed on whole.
  const int first = Owner(batch.station, batch.seq[0]);
  bool one_owner = true;
  for (size_t i = 1; i < batch.count && one_owner; ++i) {
    one_owner = Owner(batch.station, batch.seq[i]) == first;
  }
  if (one_owner) {
    if (first == ranks_.rank()) {
      local_->Add(batch);
    } else {
      EncodeBatch(first, batch.station, batch.seq, batch.choice, batch.count);
    }
    return;
  }
  // Else one sub-batch per owner, in the batch's order.
  Split& split = split_.local();
  split.seq.resize(static_cast<size_t>(ranks_.size()));
  split.choice.resize(static_cast<size_t>(ranks_.size()));
  for (size_t i = 0; i < batch.count; ++i) {
    const int to = Owner(batch.station, batch.seq[i]);
    split.seq[to].push_back(batch.seq[i]);
    split.choice[to].push_back(batch.choice[i]);
  }
  for (int to = 0; to < ranks_.size(); ++to) {
    std::vector<uint64_t>& seq = split.seq[to];
    std::vector<ChoiceIndex>& choice = split.choice[to];
    if (seq.empty()) continue;
    if (to == ranks_.rank()) {
      local_->Add(BatchView{batch.station, seq.data(), choice.data(), seq.size(), batch.contest});
    } else {
      EncodeBatch(to, batch.station, seq.data(), choice.data(), seq.size());
    }
    seq.clear();
    choice.clear();
  }
}

void RoutingSink::AddMixed(const MixedBatchView& batch) {
  // Columns are grown once per batch and written by index (no per-record capacity checks),
  // then cut to what they hold.
  const size_t count = batch.count;
  Kept& kept = kept_.local();
  kept.station.resize(count);
  kept.seq.resize(count);
  kept.choice.resize(count);
  Queues& queues = queues_.local();
  const int size = ranks_.size();
  const int rank = ranks_.rank();
  // Per destination rank, where its next record goes (this rank's: the kept columns), so
  // that each record is stored without a branch on its owner (half the records change
  // owner at random in an interleaved file: a branch would miss on every other one).
  std::vector<size_t>& filled = kept.filled;
  filled.assign(static_cast<size_t>(size), 0);
  kept.station_to.resize(static_cast<size_t>(size));
  kept.seq_to.resize(static_cast<size_t>(size));
  kept.choice_to.resize(static_cast<size_t>(size));
  for (int r = 0; r < size; ++r) {
    if (r == rank) {
      kept.station_to[r] = kept.station.data();
      kept.seq_to[r] = kept.seq.data();
      kept.choice_to[r] = kept.choice.data();
      continue;
    }
    Queue& queue = queues[r];
    filled[r] = queue.seq.size();
    queue.station.resize(filled[r] + count);
    queue.seq.resize(filled[r] + count);
    queue.choice.resize(filled[r] + count);
    kept.station_to[r] = queue.station.data();
    kept.seq_to[r] = queue.seq.data();
    kept.choice_to[r] = queue.choice.data();
  }
  StationIndex* const* const station_to = kept.station_to.data();
  uint64_t* const* const seq_to = kept.seq_to.data();
  ChoiceIndex* const* const choice_to = kept.choice_to.data();
  size_t* const at = filled.data();
  for (size_t i = 0; i < count; ++i) {
    const StationIndex station = batch.station[i];
    const uint64_t seq = batch.seq[i];
    const int to = station == kUnknownStation ? rank : Owner(station, seq);
    const size_t k = at[to]++;
    station_to[to][k] = station;
    seq_to[to][k] = seq;
    choice_to[to][k] = batch.choice[i];
  }
  const size_t kept_count = filled[rank];
  for (int r = 0; r < size; ++r) {
    if (r == rank) continue;
    Queue& queue = queues[r];
    queue.station.resize(filled[r]);
    queue.seq.resize(filled[r]);
    queue.choice.resize(filled[r]);
    if (queue.seq.size() >= kMixedBlockRecords) {
      FlushMixed(&queue.blocks, &queue.station, &queue.seq, &queue.choice);
    }
  }
  if (kept_count > 0) {
    local_->AddMixed(MixedBatchView{kept.station.data(), kept.seq.data(), kept.choice.data(),
                                    kept_count, batch.contest});
  }
}

void RoutingSink::AddRun(StationIndex station, uint64_t first, size_t count,
                         const uint64_t* packed_choices, int choice_bits) {
  if (count == 0) return;
  const uint64_t last = first + count - 1;
  if (station == kUnknownStation || (last >= first && last <= OwnedBlockEnd(first))) {
    // One block of serials (or none to own): the run goes to one rank as it is.
    const int to = station == kUnknownStation ? ranks_.rank() : Owner(station, first);
    if (to == ranks_.rank()) {
      local_->AddRun(station, first, count, packed_choices, choice_bits);
      return;
    }
    std::string& out = queues_.local()[to].blocks;
    out.push_back('P');
    PutLittleEndian<uint32_t>(station, &out);
    PutLittleEndian<uint64_t>(first, &out);
    PutLittleEndian<uint32_t>(static_cast<uint32_t>(count), &out);
    out.push_back(static_cast<char>(choice_bits));
    PutColumn(packed_choices, PackedWords(count, choice_bits), &out);
    return;
  }
  // A run across blocks: its choices unpacked, then cut at the blocks' ends.
  Kept& kept = kept_.local();
  kept.choice.resize(count);
  UnpackChoices(packed_choices, count, choice_bits, /*add=*/0, kept.choice.data());
  std::vector<ChoiceIndex> choices = std::move(kept.choice);
  AddRun(station, first, count, choices.data());
  kept.choice = std::move(choices);
}

void RoutingSink::AddRun(StationIndex station, uint64_t first, size_t count,
                         const ChoiceIndex* choices) {
  for (size_t done = 0; done < count;) {
    const uint64_t at = first + done;
    // The rest of the run, up to the end of at's block (serials past 2^64 - 1 wrap: the
    // aggregator rejects them as bad_seq wherever they are counted).
    uint64_t piece = count - done;
    const uint64_t block_end = OwnedBlockEnd(at);
    if (station != kUnknownStation && at != 0 && block_end >= at) {
      piece = std::min<uint64_t>(piece, block_end - at + 1);
    }
    const int to = station == kUnknownStation ? ranks_.rank() : Owner(station, at);
    if (to == ranks_.rank()) {
      local_->AddRun(station, at, piece, choices + done);
    } else {
      std::string& out = queues_.local()[to].blocks;
      out.push_back('R');
      PutLittleEndian<uint32_t>(station, &out);
      PutLittleEndian<uint64_t>(at, &out);
      PutLittleEndian<uint32_t>(static_cast<uint32_t>(piece), &out);
      PutColumn(choices + done, piece, &out);
    }
    done += piece;
  }
}

absl::Status RoutingSink::Exchange(int threads) {
  const int size = ranks_.size();
  std::vector<std::string> to_each(static_cast<size_t>(size));
  for (Queues& queues : queues_) {
    for (int r = 0; r < size; ++r) {
      Queue& queue = queues[r];
      FlushMixed(&queue.blocks, &queue.station, &queue.seq, &queue.choice);
      if (to_each[r].empty()) {
        to_each[r] = std::move(queue.blocks);
      } else {
        to_each[r] += queue.blocks;
      }
      queue = Queue();
    }
  }
  const std::vector<std::string> received = ranks_.AllToAll(std::move(to_each));
  // Where each block starts, found (and its length checked) before any is counted.
  struct Block {
    int from;
    absl::string_view bytes;
  };
  std::vector<Block> blocks;
  for (int r = 0; r < size; ++r) {
    absl::string_view in = received[r];
    while (!in.empty()) {
      const char tag = in[0];
      absl::string_view header = in.substr(1);
      uint32_t station = 0, count = 0;
      uint64_t first = 0;
      size_t length = 0;
      bool whole = false;
      if (tag == 'P' || tag == 'R') {
        whole = ConsumeLittleEndian(&header, &station) && ConsumeLittleEndian(&header, &first) &&
                ConsumeLittleEndian(&header, &count);
        size_t body = count;
        if (whole && tag == 'P') {
          const int bits = header.empty() ? 0 : header[0];
          whole = IsPackedWidth(bits);
          body = 1 + PackedWords(count, whole ? bits : 1) * sizeof(uint64_t);
        }
        length = 1 + 4 + 8 + 4 + body;
      } else if (tag == 'B' || tag == 'M') {
        uint8_t widths = 0;
        whole = ConsumeLittleEndian(&header, &widths) && widths <= 3;
        const size_t station_bytes = tag == 'B' ? 0 : (widths & kNarrowStations) ? 2 : 4;
        const size_t serial_bytes = (widths & kNarrowSerials) ? 4 : 8;
        if (tag == 'B') whole = whole && ConsumeLittleEndian(&header, &station);
        whole = whole && ConsumeLittleEndian(&header, &count);
        length = 2 + (tag == 'B' ? 4 : 0) + 4 + size_t{count} * (station_bytes + serial_bytes + 1);
      }
      if (!whole || length > in.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("rank ", r, " sent records that are not whole blocks"));
      }
      blocks.push_back({r, in.substr(0, length)});
      in.remove_prefix(length);
    }
  }
  const size_t num_stations = num_stations_;
  const int rank = ranks_.rank();
  auto owned = [&](uint32_t station, uint64_t seq) {
    return station < num_stations && Owner(station, seq) == rank;
  };
  // Every block of serials a run touches must be this rank's.
  auto owned_run = [&](uint32_t station, uint64_t first, uint32_t count) {
    if (count == 0 || first == 0) return owned(station, first);
    const uint64_t last = first + (count - 1);
    for (uint64_t at = first;;) {
      if (!owned(station, at)) return false;
      const uint64_t end = OwnedBlockEnd(at);
      if (end >= last || end < at || last < first) return true;
      at = end + 1;
    }
  };
  tbb::enumerable_thread_specific<Scratch> scratch;
  std::atomic<int> bad_from{-1};
  RunOnWorkers(threads, [&] {
    tbb::parallel_for(size_t{0}, blocks.size(), [&](size_t b) {
      Scratch& columns = scratch.local();
      absl::string_view in = blocks[b].bytes;
      const char tag = in[0];
      in.remove_prefix(1);
      uint32_t station = 0, count = 0;
      uint64_t first = 0;
      bool ok = true;
      if (tag == 'P' || tag == 'R') {
        ConsumeLittleEndian(&in, &station);
        ConsumeLittleEndian(&in, &first);
        ConsumeLittleEndian(&in, &count);
        ok = owned_run(station, first, count);
        if (ok && tag == 'P') {
          const int bits = in[0];
          in.remove_prefix(1);
          TakeColumn(&in, PackedWords(count, bits), &columns.words);
          local_->AddRun(station, first, count, columns.words.data(), bits);
        } else if (ok) {
          TakeColumn(&in, count, &columns.choice);
          local_->AddRun(station, first, count, columns.choice.data());
        }
      } else if (tag == 'B') {
        uint8_t widths = 0;
        ConsumeLittleEndian(&in, &widths);
        ConsumeLittleEndian(&in, &station);
        ConsumeLittleEndian(&in, &count);
        TakeWideningColumn(&in, count, (widths & kNarrowSerials) ? 4 : 8, &columns.seq);
        TakeColumn(&in, count, &columns.choice);
        ok = std::all_of(columns.seq.begin(), columns.seq.end(),
                         [&](uint64_t seq) { return owned(station, seq); });
        if (ok) {
          local_->Add(BatchView{station, columns.seq.data(), columns.choice.data(), count, 0});
        }
      } else {
        uint8_t widths = 0;
        ConsumeLittleEndian(&in, &widths);
        ConsumeLittleEndian(&in, &count);
        TakeWideningColumn(&in, count, (widths & kNarrowStations) ? 2 : 4, &columns.station);
        TakeWideningColumn(&in, count, (widths & kNarrowSerials) ? 4 : 8, &columns.seq);
        TakeColumn(&in, count, &columns.choice);
        for (size_t i = 0; i < count && ok; ++i) ok = owned(columns.station[i], columns.seq[i]);
        if (ok) {
          local_->AddMixed(MixedBatchView{columns.station.data(), columns.seq.data(),
                                          columns.choice.data(), count, 0});
        }
      }
      if (!ok) bad_from.store(blocks[b].from, std::memory_order_relaxed);
    });
  });
  if (bad_from.load() >= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rank ", bad_from.load(), " sent records of stations rank ", rank, " does not own"));
  }
  return absl::OkStatus();
}

}  // namespace canvass
