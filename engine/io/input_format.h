// The interface every ballot file format implements, so that the reading job
// (engine/ingest) plans, reads and accounts files without knowing their format: a format
// recognises a file from its first bytes, opens it (finding file-level damage), cuts it
// into byte ranges that can be read in parallel, reads a range into a BallotSink and says
// how it locates what it finds (by line or by byte offset). Adding a format is adding a
// folder beside csv/ and cvb/ and one line in input_formats.cc.
//
// Thread safety: an InputFormat is immutable and shared by every thread. An OpenedInput is
// immutable once opened: ReadRange may be called for different ranges from many threads at
// once, each with its own RangeReader. A RangeReader belongs to one thread at a time.
//
// Usage (what engine/ingest does for each file, on its workers):
//   const InputFormat& format = RecognizeInputFormat(data, size);
//   absl::StatusOr<std::unique_ptr<OpenedInput>> input =
//       format.Open(path, data, size, election, fingerprint);
//   for (const InputRange& range : (*input)->PlanRanges(1 << 20, /*whole=*/false))
//     (*input)->ReadRange(range, *reader, /*hasher=*/nullptr, context, &reading);
#ifndef CANVASS_ENGINE_IO_INPUT_FORMAT_H_
#define CANVASS_ENGINE_IO_INPUT_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/ballot/sink.h"
#include "engine/election/election.h"
#include "engine/io/file_hasher.h"

namespace canvass {

// How a format locates malformed records: by line (text formats) or by byte offset.
enum class LocationKind { kLine, kByte };

// One range of a file, read by one task: the records that start in bytes [begin, end).
// The ranges a file's plan gives meet exactly (each begins where the last one ended).
struct InputRange {
  uint64_t begin = 0, end = 0;
  bool first = false;  // the file's first range: its first record starts at `begin`
};

// What reading one range found. Kept in checkpoints (engine/ingest/checkpoint.h), so that a
// resumed job accounts the ranges it does not read again.
struct RangeReading {
  // The bytes whose records were read. Consecutive ranges of a file that read anything
  // must meet (end == next begin; a range that starts no record has begin == end and is
  // skipped); where they do not (a CSV quoted field spanning a cut), the job reads the
  // file again as one range.
  uint64_t begin = 0, end = 0;
  uint64_t line_breaks = 0;  // kLine formats: line breaks in [begin, end)
  uint64_t records = 0;      // records read, malformed included
  uint64_t malformed = 0;
  // The first malformed records (at most kMaxMalformedExamples): for kLine formats lines
  // counted from the range's first line (0-based), for kByte formats byte offsets in the
  // file of what holds them.
  std::vector<uint64_t> malformed_at;
  uint64_t damage_offset = UINT64_MAX;
  std::string damage;  // the first damage found in the range; empty when none
  friend bool operator==(const RangeReading&, const RangeReading&) = default;

  static constexpr size_t kMaxMalformedExamples = 20;
};

// What the job lends a range being read: where ballots go, and where to say that bytes are
// done with and how far the reading got. One per task.
class RangeContext {
 public:
  virtual ~RangeContext() = default;
  virtual BallotSink& sink() = 0;
  // The range no longer needs bytes [begin, end) of its file (they may leave memory).
  virtual void Done(uint64_t begin, uint64_t end) = 0;
  // `bytes` more read, holding `records` records (for progress lines).
  virtual void Progress(uint64_t bytes, uint64_t records) = 0;
};

// A format's per-thread scratch (parsers, batches), reused across the ranges a worker
// reads. Made by InputFormat::NewReader; used by one thread at a time.
class RangeReader {
 public:
  virtual ~RangeReader() = default;
};

// A file its format has opened: its layout found, its file-level damage noted.
class OpenedInput {
 public:
  virtual ~OpenedInput() = default;
  // Damage found when opening (not a ballot file at all, or its structure broken at a
  // byte): the ranges cover what comes before it. OK when none.
  const absl::Status& damage() const { return damage_; }
  // How many records the file itself declares (a trailer), when it does and is intact.
  virtual std::optional<uint64_t> DeclaredRecords() const { return std::nullopt; }
  // The line of the first record (kLine formats; after a header).
  virtual uint64_t FirstRecordLine() const { return 1; }
  // The ranges to read: of about `range_bytes` each, or one for the whole file when
  // `whole`. Empty when nothing in the file can be read.
  virtual std::vector<InputRange> PlanRanges(uint64_t range_bytes, bool whole) const = 0;
  // Reads the records of `range` into context.sink() and accounts them in `*reading`.
  // With `hasher`, the range is the whole file and every byte of the file is given to the
  // hasher in order, each step just before it is read (while it is in cache).
  // Requires: `range` is one of PlanRanges()'s; `reader` came from this format.
  virtual void ReadRange(const InputRange& range, RangeReader& reader, FileHasher* hasher,
                         RangeContext& context, RangeReading* reading) const = 0;

 protected:
  absl::Status damage_;
};

class InputFormat {
 public:
  virtual ~InputFormat() = default;
  // As reports name it: "csv", "cvb".
  virtual absl::string_view name() const = 0;
  // The file name suffix a folder's files of this format carry (any case), without the dot.
  virtual absl::string_view suffix() const = 0;
  virtual LocationKind location_kind() const = 0;
  // Whether the file's first bytes are this format's (a magic number, a header).
  virtual bool Recognizes(const uint8_t* data, size_t size) const = 0;
  // Opens the mapped file data[0, size) named `path`. An error is fatal to the job
  // whatever --skip-damaged says (another election's file, a future version); damage
  // that only loses records is the OpenedInput's damage() instead.
  // Requires: `election` outlives the returned input.
  virtual absl::StatusOr<std::unique_ptr<OpenedInput>> Open(
      const std::string& path, const uint8_t* data, size_t size, const Election& election,
      uint64_t election_fingerprint) const = 0;
  // Scratch for one worker whose ranges of this format put their ballots in `sink`.
  // Requires: `election` and `sink` outlive the reader.
  virtual std::unique_ptr<RangeReader> NewReader(const Election& election,
                                                 BallotSink* sink) const = 0;
};

// Every format this build reads, in the order they are tried.
const std::vector<const InputFormat*>& InputFormats();

// The format whose Recognizes() holds first; else the last (CSV, whose header check then
// says what a ballot file must start with).
const InputFormat& RecognizeInputFormat(const uint8_t* data, size_t size);

// Whether `name` ends in ".<suffix>" (any case) of one of InputFormats().
bool HasInputSuffix(absl::string_view name);
// "a .csv or .cvb file": the suffixes a folder's ballot files carry, for messages.
std::string InputSuffixesText();

}  // namespace canvass

#endif  // CANVASS_ENGINE_IO_INPUT_FORMAT_H_
