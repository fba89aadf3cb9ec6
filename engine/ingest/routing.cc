// Records routed to their station's owner (routing.h).
#include "engine/ingest/routing.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "engine/ballot/packed_choices.h"
#include "engine/base/bytes.h"
#include "engine/base/workers.h"
#include "tbb/parallel_for.h"

namespace canvass {
namespace {

// Records per block on the wire, and per batch counted on arrival.
constexpr size_t kBlockRecords = 1 << 14;
constexpr size_t kRecordBytes = sizeof(StationIndex) + sizeof(uint64_t) + sizeof(ChoiceIndex);

template <typename T>
void PutColumn(const T* values, size_t count, std::string* out) {
  out->append(reinterpret_cast<const char*>(values), count * sizeof(T));
}

}  // namespace

RoutingSink::RoutingSink(const Election& election, const RankGroup& ranks, Aggregator* local)
    : ranks_(ranks),
      local_(local),
      owner_(election.stations.size()),
      queues_([&ranks] { return Queues(static_cast<size_t>(ranks.size())); }) {
  for (size_t s = 0; s < owner_.size(); ++s) {
    owner_[s] = StationOwner(election.stations[s].id, ranks.size());
  }
}

void RoutingSink::Add(const BatchView& batch) {
  if (Local(batch.station)) {
    local_->Add(batch);
    return;
  }
  Queue& queue = queues_.local()[owner_[batch.station]];
  queue.station.insert(queue.station.end(), batch.count, batch.station);
  queue.seq.insert(queue.seq.end(), batch.seq, batch.seq + batch.count);
  queue.choice.insert(queue.choice.end(), batch.choice, batch.choice + batch.count);
}

void RoutingSink::AddMixed(const MixedBatchView& batch) {
  Queue& kept = kept_.local();
  kept.station.clear();
  kept.seq.clear();
  kept.choice.clear();
  Queues& queues = queues_.local();
  for (size_t i = 0; i < batch.count; ++i) {
    const StationIndex station = batch.station[i];
    if (Local(station)) {
      kept.station.push_back(station);
      kept.seq.push_back(batch.seq[i]);
      kept.choice.push_back(batch.choice[i]);
    } else {
      Queue1(queues, station, batch.seq[i], batch.choice[i]);
    }
  }
  if (!kept.seq.empty()) {
    local_->AddMixed(MixedBatchView{kept.station.data(), kept.seq.data(), kept.choice.data(),
                                    kept.seq.size(), batch.contest});
  }
}

void RoutingSink::AddRun(StationIndex station, uint64_t first, size_t count,
                         const uint64_t* packed_choices, int choice_bits) {
  if (Local(station)) {
    local_->AddRun(station, first, count, packed_choices, choice_bits);
    return;
  }
  Queue& queue = queues_.local()[owner_[station]];
  const size_t at = queue.choice.size();
  queue.choice.resize(at + count);
  UnpackChoices(packed_choices, count, choice_bits, /*add=*/0, queue.choice.data() + at);
  queue.station.insert(queue.station.end(), count, station);
  for (size_t i = 0; i < count; ++i) queue.seq.push_back(first + i);
}

void RoutingSink::AddRun(StationIndex station, uint64_t first, size_t count,
                         const ChoiceIndex* choices) {
  if (Local(station)) {
    local_->AddRun(station, first, count, choices);
    return;
  }
  Queue& queue = queues_.local()[owner_[station]];
  queue.station.insert(queue.station.end(), count, station);
  for (size_t i = 0; i < count; ++i) queue.seq.push_back(first + i);
  queue.choice.insert(queue.choice.end(), choices, choices + count);
}

absl::Status RoutingSink::Exchange(int threads) {
  const int size = ranks_.size();
  std::vector<std::string> to_each(static_cast<size_t>(size));
  for (Queues& queues : queues_) {
    for (int r = 0; r < size; ++r) {
      Queue& queue = queues[r];
      for (size_t at = 0; at < queue.seq.size(); at += kBlockRecords) {
        const size_t count = std::min(kBlockRecords, queue.seq.size() - at);
        std::string& out = to_each[r];
        PutLittleEndian<uint64_t>(count, &out);
        PutColumn(queue.station.data() + at, count, &out);
        PutColumn(queue.seq.data() + at, count, &out);
        PutColumn(queue.choice.data() + at, count, &out);
        records_sent_ += count;
      }
      queue = Queue();
    }
  }
  const std::vector<std::string> received = ranks_.AllToAll(std::move(to_each));
  // The blocks, checked before any is counted.
  struct Block {
    const char* at;
    size_t count;
  };
  std::vector<Block> blocks;
  for (int r = 0; r < size; ++r) {
    absl::string_view in = received[r];
    while (!in.empty()) {
      uint64_t count = 0;
      if (!ConsumeLittleEndian(&in, &count) || count == 0 || count > kBlockRecords ||
          in.size() < count * kRecordBytes) {
        return absl::InvalidArgumentError(
            absl::StrCat("rank ", r, " sent records that are not whole blocks"));
      }
      blocks.push_back({in.data(), static_cast<size_t>(count)});
      in.remove_prefix(count * kRecordBytes);
    }
  }
  // Columns copied out of the message: its bytes need not be aligned for them.
  struct Columns {
    std::vector<StationIndex> station;
    std::vector<uint64_t> seq;
    std::vector<ChoiceIndex> choice;
  };
  tbb::enumerable_thread_specific<Columns> scratch;
  const size_t num_stations = owner_.size();
  std::atomic<bool> foreign{false};
  RunOnWorkers(threads, [&] {
    tbb::parallel_for(size_t{0}, blocks.size(), [&](size_t b) {
      Columns& columns = scratch.local();
      const size_t count = blocks[b].count;
      const char* at = blocks[b].at;
      columns.station.resize(count);
      columns.seq.resize(count);
      columns.choice.resize(count);
      std::memcpy(columns.station.data(), at, count * sizeof(StationIndex));
      at += count * sizeof(StationIndex);
      std::memcpy(columns.seq.data(), at, count * sizeof(uint64_t));
      at += count * sizeof(uint64_t);
      std::memcpy(columns.choice.data(), at, count * sizeof(ChoiceIndex));
      for (StationIndex station : columns.station) {
        if (station >= num_stations || owner_[station] != ranks_.rank()) {
          foreign.store(true, std::memory_order_relaxed);
          return;
        }
      }
      local_->AddMixed(MixedBatchView{columns.station.data(), columns.seq.data(),
                                      columns.choice.data(), count, /*contest=*/0});
    });
  });
  if (foreign.load()) {
    return absl::InvalidArgumentError(
        absl::StrCat("rank ", ranks_.rank(), " was sent records of stations it does not own"));
  }
  return absl::OkStatus();
}

}  // namespace canvass
