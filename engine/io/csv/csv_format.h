// The ballot CSV format (DESIGN.md, docs/FORMAT.md): header `station,seq,choice`, one
// record per line, CRLF and a UTF-8 byte-order mark accepted, RFC 4180 quoting. A line
// with the wrong number of fields, an empty field or a `seq` that is not 1-20 decimal
// digits fitting in 64 bits is a `malformed` record; a file without the header is not
// a ballot file.
//
// The parser works on byte ranges of a mapped file so that one file can be read by many
// threads: each range parses the records that *start* inside it (the first one begins
// after the first line break at or after the range start). Range boundaries are found
// assuming no quoted field spans them; the caller checks that consecutive ranges meet
// (CsvRangeResult::end of one == begin of the next) and otherwise reads the file in one
// range. Thread safety: a CsvRangeParser is used by one thread at a time.
#ifndef CANVASS_ENGINE_IO_CSV_CSV_FORMAT_H_
#define CANVASS_ENGINE_IO_CSV_CSV_FORMAT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/node_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/ballot/batch.h"
#include "engine/base/kernel.h"
#include "engine/election/election.h"
#include "engine/io/csv/plain_run.h"

namespace canvass {

inline constexpr absl::string_view kCsvHeader = "station,seq,choice";

// Writing.
void AppendCsvHeader(std::string* out);
void AppendCsvRecord(absl::string_view station, uint64_t seq, absl::string_view choice,
                     std::string* out);
// A record damaged in transit, so that a reader must reject it as malformed; `variant`
// picks the damage (a missing field, a letter in the serial, an extra field, an empty
// serial).
void AppendDamagedCsvRecord(absl::string_view station, uint64_t seq, absl::string_view choice,
                            uint64_t variant, std::string* out);

// Checks the header; returns the byte offset of the first record. InvalidArgument naming
// the file and byte offset when the file is not a ballot CSV.
absl::StatusOr<size_t> CheckCsvHeader(absl::string_view file_name, const uint8_t* data,
                                      size_t size);

// What one range produced.
struct CsvRangeResult {
  uint64_t begin = 0;    // offset of the first record parsed (or where none started)
  uint64_t end = 0;      // offset just past the last record parsed (== begin if none)
  uint64_t records = 0;  // records parsed, malformed included (blank lines excluded)
  uint64_t malformed = 0;
  uint64_t line_breaks = 0;  // line breaks in [begin, end)
  // Line index (0-based, counted from `begin`) of the first malformed records, at most
  // kMaxMalformedExamples.
  std::vector<uint64_t> malformed_lines;
  static constexpr size_t kMaxMalformedExamples = 20;
};

class CsvRangeParser {
 public:
  // Receives full batches (and the rest at Flush()). Called on the parsing thread; the
  // view is valid only during the call.
  using BatchSink = std::function<void(const BatchView&)>;
  // Receives records of interleaved stations as they were read (see plain_run.h).
  using MixedSink = std::function<void(const MixedBatchView&)>;

  // The election must outlive the parser. `fast_paths` false reads every record with the
  // general RFC 4180 parser alone: the oracle the fast paths are tested and fuzzed against.
  // `kernel` is the instruction-set tier of the fast path (engine/base/kernel.h); it must
  // be supported by the CPU. Every tier gives the same records and the same rejections.
  CsvRangeParser(const Election& election, BatchSink sink, bool fast_paths = true,
                 Kernel kernel = ActiveKernel());
  // Tests and the fuzzer: the same parser with smaller buffers, so that short inputs reach
  // what long ones do (a structural chunk's end, a full batch). `chunk_bytes` is a multiple
  // of 64 up to 8192 (the default); `batch_records` at least 8 (default kDefaultBatchSize).
  struct Buffers {
    size_t chunk_bytes = csv_internal::kChunkBytes;
    size_t batch_records = kDefaultBatchSize;
  };
  CsvRangeParser(const Election& election, BatchSink sink, bool fast_paths, Kernel kernel,
                 Buffers buffers);
  CsvRangeParser(const CsvRangeParser&) = delete;
  CsvRangeParser& operator=(const CsvRangeParser&) = delete;

  // Parses the records that start in [range_begin, range_end) of data[0, size); when
  // `range_begin` is a known record start (the first range), pass first_range = true.
  CsvRangeResult Parse(const uint8_t* data, size_t size, size_t range_begin, size_t range_end,
                       bool first_range);
  // Hands every partly filled batch to the sink.
  void Flush();
  // From now on, runs of plain lines whose stations interleave go to `sink` as mixed
  // batches instead of being grouped by station for the batch sink.
  void SetMixedSink(MixedSink sink) { mixed_sink_ = std::move(sink); }
  // Called with [begin, end) as a long record is read, every few MiB of it, so that the
  // caller may let those bytes leave memory before the record ends; empty: not called.
  using ScannedHook = std::function<void(size_t begin, size_t end)>;
  void SetScannedHook(ScannedHook hook) { scanned_ = std::move(hook); }

 private:
  struct Field {
    absl::string_view text;
    bool quoted = false;
  };
  // Parses one record at `p`; returns the offset after it. `*blank` for an empty line.
  size_t ParseRecord(const uint8_t* data, size_t size, size_t p, bool* blank, bool* malformed,
                     uint64_t* line_breaks);
  void Emit(absl::string_view station, uint64_t seq, absl::string_view choice);
  // The common case, a plain line "station,digits,code\n" (or CRLF) for the station of the
  // previous record with a short code: parsed with word compares and no branches on
  // quoting. Returns the offset after the line, or 0 to take the general path.
  size_t TryParsePlainRecord(const uint8_t* data, size_t size, size_t p);
  // Matches the choice code (with its '\n') at `data` against the contest's short codes:
  // returns the choice index + 1 and sets *length, or returns 0.
  uint32_t MatchCode(const uint8_t* data, uint32_t* length) const;
  void SetCurrentStation(StationIndex station);
  BallotBatch& BatchFor(StationIndex station);

  const Election& election_;
  BatchSink sink_;
  MixedSink mixed_sink_;
  const bool fast_paths_;
  absl::node_hash_map<StationIndex, BallotBatch> batches_;  // node map: last_batch_ stays valid
  absl::string_view last_station_id_;  // "" when the last station was not in the roster
  BallotBatch* last_batch_ = nullptr;
  std::string unquoted_[3];  // storage for quoted fields, each at most field_keep_ bytes
  size_t field_keep_ = 0;    // bytes of a field kept: one more than any id, code or serial
  ScannedHook scanned_;
  // The current station's "id," as a masked little-endian word (ids of up to 7 bytes).
  uint64_t station_word_ = 0, station_mask_ = 0;
  size_t station_length_ = 0;  // 0: no fast path for the current station
  // Choice codes of up to 7 bytes followed by '\n', as masked words, in contest order.
  struct CodeWord {
    uint64_t word, mask;
    uint32_t length;  // code bytes + 1 for the '\n'
    ChoiceIndex choice;
  };
  std::vector<CodeWord> code_words_;
  // The fast path over runs of plain lines, and the tier that runs it.
  csv_internal::PlainRunState plain_;
  csv_internal::PlainRunKernel plain_run_ = nullptr;
  size_t batch_records_ = kDefaultBatchSize;  // a batch is handed on when it holds this many
};

}  // namespace canvass

#endif  // CANVASS_ENGINE_IO_CSV_CSV_FORMAT_H_
