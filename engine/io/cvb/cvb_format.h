// The `cvb` binary ballot stream format (specified as a grammar in docs/FORMAT.md):
// a header with magic, version and election fingerprint, station-homogeneous columnar
// blocks each with its own checksum, and a trailer with block and record counts, so that
// truncation and corruption are always detected and located to a byte offset.
//
// Writing appends to a std::string; reading works on a byte span (a mapped file).
// Everything here is a pure function of its arguments: safe from many threads at once.
#ifndef CANVASS_ENGINE_IO_CVB_CVB_FORMAT_H_
#define CANVASS_ENGINE_IO_CVB_CVB_FORMAT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/ballot/batch.h"
#include "engine/election/election.h"

namespace canvass {

inline constexpr char kCvbMagic[8] = {'C', 'V', 'B', 'A', 'L', 'L', 'O', 'T'};
// The version this build writes; it reads every version from kCvbOldestVersion to this one.
inline constexpr uint16_t kCvbVersion = 2;
inline constexpr uint16_t kCvbOldestVersion = 1;
inline constexpr size_t kCvbHeaderBytes = 32;
inline constexpr size_t kCvbTrailerBytes = 24;
inline constexpr uint32_t kCvbBlockMagicV1 = 0x014b4c42;  // "BLK\x01" little-endian
inline constexpr uint32_t kCvbBlockMagic = 0x024b4c42;    // "BLK\x02" little-endian
inline constexpr uint32_t kCvbTrailerMagic = 0x01444e45;  // "END\x01" little-endian
inline constexpr size_t kCvbBlockHeaderBytesV1 = 16;
inline constexpr size_t kCvbBlockHeaderBytes = 24;
inline constexpr uint32_t kCvbMaxBlockRecords = 1u << 16;
inline constexpr uint32_t kCvbNoStation = 0xFFFFFFFFu;  // records for a station not in the roster
inline constexpr uint8_t kCvbNoChoice = 0xFF;           // a choice code not in the contest

// How a version 2 block stores its serial column.
enum class CvbSerialEncoding : uint8_t {
  kPlain = 0,  // one u64 per record
  kRun = 1,    // one u64 `first`: the serials are first, first + 1, ..., first + records - 1
};
// How a version 2 block stores its choice column.
enum class CvbChoiceEncoding : uint8_t {
  kPlain = 0,   // one u8 per record (kCvbNoChoice: a code not in the contest)
  kPacked = 1,  // `choice_bits` (1, 2 or 4) bits per record, see engine/ballot/packed_choices.h
};

struct CvbBlockEncoding {
  CvbSerialEncoding serials = CvbSerialEncoding::kPlain;
  CvbChoiceEncoding choices = CvbChoiceEncoding::kPlain;
  int choice_bits = 8;  // 8 for plain; 1, 2 or 4 for packed
  bool operator==(const CvbBlockEncoding&) const = default;
};

// XXH3-64 of the election's identity: id, choice codes in order, station ids and
// capacities in order. A cvb file is only read against the election it was written for.
uint64_t ElectionFingerprint(const Election& election);

// Writes a header of `version` (kCvbVersion unless a test writes an older file).
void AppendCvbHeader(uint64_t fingerprint, std::string* out, uint16_t version = kCvbVersion);

// The most compact encoding that holds `batch` exactly: a run when there is at least one
// record and the serials are consecutive and ascending (so the last does not pass 2^64 - 1);
// packed with the fewest bits that hold the largest choice when there is at least one
// record and every choice is below min(num_choices, 16); plain otherwise.
CvbBlockEncoding ChooseCvbEncoding(const BallotBatch& batch, uint32_t num_choices);

// One version 2 block: `batch`'s records plus `malformed` records the writer received
// damaged, in the most compact encoding (ChooseCvbEncoding) for a contest of
// `num_choices` choices.
// Requires: batch.size() <= kCvbMaxBlockRecords; batch.station is a roster index or
// kUnknownStation.
void AppendCvbBlock(const BallotBatch& batch, uint32_t malformed, uint32_t num_choices,
                    std::string* out);
// The same in a given encoding (readers accept any encoding that holds the block).
// Requires: as above, and `encoding` holds the batch: a run's serials are consecutive,
// packed choices are below 2^choice_bits.
void AppendCvbBlock(const BallotBatch& batch, uint32_t malformed, CvbBlockEncoding encoding,
                    std::string* out);
// A version 1 block (serials and choices plain), for files of version 1.
void AppendCvbBlockV1(const BallotBatch& batch, uint32_t malformed, std::string* out);
void AppendCvbTrailer(uint32_t blocks, uint64_t records, std::string* out);

// Bytes a version 2 block of `records` records occupies in `encoding`.
size_t CvbBlockBytes(uint32_t records, CvbBlockEncoding encoding);
// Bytes a version 1 block of `records` records occupies.
size_t CvbBlockBytesV1(uint32_t records);

// Where a block lies in a file.
struct CvbBlockRef {
  uint64_t offset;
  uint32_t records;
  uint32_t bytes;  // the whole block, checksum included
};

// The block layout of a file, up to the first structural damage.
struct CvbLayout {
  uint16_t version = 0;
  std::vector<CvbBlockRef> blocks;  // in file order
  uint64_t declared_records = 0;    // from the trailer (0 when damaged before it)
  bool trailer_intact = false;      // the trailer verified and agrees with the blocks
  // First structural damage (truncation, garbage where a block should be, bad trailer):
  // DataLoss naming the file and byte offset. Blocks before it are usable.
  absl::Status damage;
};

// Checks the header and walks the blocks. Returns an error (exit 2 whatever the options)
// when the file is not a cvb file at all (InvalidArgument), comes from a future version
// (InvalidArgument) or was written for another election (InvalidArgument); structural
// damage after a good header is reported in the layout instead.
absl::StatusOr<CvbLayout> ScanCvb(absl::string_view file_name, const uint8_t* data, size_t size,
                                  uint64_t fingerprint);

// True when `data` starts with the cvb magic.
bool LooksLikeCvb(const uint8_t* data, size_t size);

// A verified block, its columns pointing into the file's bytes (no copy: the view lives as
// long as the data). Exactly one of `first_serial` / `serials` and one of `choices` /
// `packed_choices` is meaningful, as the encoding says.
struct CvbBlockView {
  StationIndex station = kUnknownStation;
  uint32_t records = 0;
  uint32_t malformed = 0;  // records the writer received damaged
  CvbBlockEncoding encoding;
  uint64_t first_serial = 0;                 // serial encoding kRun
  const uint64_t* serials = nullptr;         // serial encoding kPlain: `records` serials
  const uint8_t* choices = nullptr;          // choice encoding kPlain: `records` bytes
  const uint64_t* packed_choices = nullptr;  // kPacked: PackedWords(records, choice_bits) words

  // The block as a batch view; requires both columns plain.
  BatchView AsBatch() const;
};

// Verifies one block (of a file of either version): its checksum, then that its station
// is in the roster (or kCvbNoStation), that its encodings are known and account for its
// size, that a run does not pass 2^64 - 1, that packed choices are below `num_choices` and
// that padding is zero; then points `view` at its columns.
// DataLoss naming the file and the block's byte offset on any failure.
absl::Status VerifyCvbBlock(absl::string_view file_name, const uint8_t* data, CvbBlockRef block,
                            uint32_t num_stations, uint32_t num_choices, CvbBlockView* view);

// Expands a verified block into `batch` (serials and one choice byte per record).
void ExpandCvbBlock(const CvbBlockView& view, BallotBatch* batch);

}  // namespace canvass

#endif  // CANVASS_ENGINE_IO_CVB_CVB_FORMAT_H_
