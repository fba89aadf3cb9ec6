// Internal to the CSV reader: the state of its fast path (the lookup tables built from the
// election, the structural index of the chunk being read, the staged records) and the
// plain-run kernels that fill it, one per instruction-set tier (engine/base/kernel.h).
//
// A plain line is "station,digits,code\n" (or CRLF) with a station id of up to 7 bytes in
// the roster, 1 to 16 digits and a choice code of up to 7 bytes. A kernel reads plain
// lines from `p` while they last and start before `range_end`, into the staging columns,
// and returns where it stopped (the first line that is not plain: the caller's general
// parser takes it). Two stages per chunk of the data, in the style of simdjson: a vector
// scan writes the offsets of every ',' and '\n' (the structural index), then each line
// is checked and converted from its three offsets alone, so that lines do not wait on
// one another. Every kernel gives exactly the same records, rejections and stopping
// points as the portable one; tests and the CSV fuzzer hold each to the general parser.
//
// Thread safety: a PlainRunState belongs to one parser, used by one thread at a time.
#ifndef CANVASS_ENGINE_IO_CSV_PLAIN_RUN_H_
#define CANVASS_ENGINE_IO_CSV_PLAIN_RUN_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "engine/ballot/batch.h"
#include "engine/base/kernel.h"
#include "engine/election/election.h"

namespace canvass::csv_internal {

// The structural pass works on chunks of this many bytes, so that offsets fit 16 bits
// and the index (at most one entry per byte) stays in the first-level cache.
inline constexpr size_t kChunkBytes = 8192;
inline constexpr size_t kBlockBytes = 64;
// Index entries a block may write past the count it reports (whole vectors are stored).
inline constexpr size_t kIndexSlack = 64;

struct PlainRunState {
  const Election* election = nullptr;
  const std::function<void(const BatchView&)>* sink = nullptr;
  // Takes interleaved staged records as they are; when empty, FlushStaging groups them by
  // station for `sink`.
  const std::function<void(const MixedBatchView&)>* mixed_sink = nullptr;

  // The choice codes, each followed by "\n" and (when it fits) by "\r\n", as masked
  // little-endian words in a perfect hash table: slot (word * code_multiplier) >>
  // code_shift. Empty slots hold word 0, which no code can be (every key ends in a line
  // break). Empty table: no perfect hash found, no fast path.
  std::vector<uint64_t> code_words;
  std::vector<ChoiceIndex> code_choices;
  uint64_t code_multiplier = 0;
  int code_shift = 64;
  // The roster's ids (with their ',') in a perfect hash table: slot (word *
  // station_multiplier) >> station_shift; empty slots hold word 0. Empty: no fast path.
  std::vector<uint64_t> station_words;
  std::vector<StationIndex> station_indexes;
  uint64_t station_multiplier = 0;
  int station_shift = 64;

  // The structural index of one chunk: offsets from the chunk's start, times two, plus
  // one for a line break. Null when there is no fast path.
  std::unique_ptr<uint16_t[]> structural;
  // The chunk at data[indexed_begin, + indexed_bytes) whose index `structural` holds,
  // kept across the lines the general parser takes; null: none (reset by every Parse()).
  const uint8_t* indexed_chunk = nullptr;
  size_t indexed_begin = 0, indexed_bytes = 0, indexed_count = 0;

  // Bytes a structural pass indexes (a multiple of kBlockBytes, at most kChunkBytes) and
  // records the staging columns hold (at least 8; AllocateStaging): the defaults except in
  // tests and the fuzzer, whose short inputs reach chunk ends and full stagings with
  // smaller ones.
  size_t chunk_bytes = kChunkBytes;
  size_t staging_records = 0;

  // Plain records in the order read, stations interleaved or not, handed on without going
  // through a BallotBatch: to `sink` as they are when they share one station (a
  // station-sorted file), else as one mixed batch to `mixed_sink`, or grouped by station
  // with a counting sort for `sink` when there is none (FlushStaging).
  size_t staged = 0;
  std::unique_ptr<uint64_t[]> staged_seq;
  std::unique_ptr<ChoiceIndex[]> staged_choice;
  std::unique_ptr<StationIndex[]> staged_station;
  std::unique_ptr<uint64_t[]> grouped_seq;
  std::unique_ptr<ChoiceIndex[]> grouped_choice;
  std::vector<uint32_t> station_fill;  // per roster station; all 0 between flushes
  std::vector<StationIndex> present_stations;

  bool HasFastPath() const { return structural != nullptr; }
  // Allocates the staging columns for `records` records (nothing staged yet).
  void AllocateStaging(size_t records);
  // Hands the staged records to the sink and empties the staging columns.
  void FlushStaging();
};

using PlainRunKernel = size_t (*)(PlainRunState& state, const uint8_t* data, size_t size, size_t p,
                                  size_t range_end, uint64_t* records);

// The kernel of a tier; the tier must be supported (KernelSupported).
PlainRunKernel PlainRunFor(Kernel kernel);

namespace portable {
size_t ParsePlainRun(PlainRunState& state, const uint8_t* data, size_t size, size_t p,
                     size_t range_end, uint64_t* records);
}  // namespace portable
#if defined(CANVASS_X86_KERNELS)
namespace avx2 {
size_t ParsePlainRun(PlainRunState& state, const uint8_t* data, size_t size, size_t p,
                     size_t range_end, uint64_t* records);
}  // namespace avx2
namespace avx512 {
size_t ParsePlainRun(PlainRunState& state, const uint8_t* data, size_t size, size_t p,
                     size_t range_end, uint64_t* records);
}  // namespace avx512
#endif

}  // namespace canvass::csv_internal

#endif  // CANVASS_ENGINE_IO_CSV_PLAIN_RUN_H_
