// The `cvb` binary ballot stream format (specified as a grammar in docs/FORMAT.md):
// a header with magic, version and election fingerprint, station-homogeneous columnar
// blocks each with its own checksum, and a trailer with block and record counts, so that
// truncation and corruption are always detected and located to a byte offset.
//
// Writing appends to a std::string; reading works on a byte span (a mapped file).
// Everything here is a pure function of its arguments: safe from many threads at once.
#ifndef CANVASS_ENGINE_IO_CVB_FORMAT_H_
#define CANVASS_ENGINE_IO_CVB_FORMAT_H_

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
inline constexpr uint16_t kCvbVersion = 1;
inline constexpr size_t kCvbHeaderBytes = 32;
inline constexpr size_t kCvbTrailerBytes = 24;
inline constexpr uint32_t kCvbBlockMagic = 0x014b4c42;    // "BLK\x01" little-endian
inline constexpr uint32_t kCvbTrailerMagic = 0x01444e45;  // "END\x01" little-endian
inline constexpr uint32_t kCvbMaxBlockRecords = 1u << 16;
inline constexpr uint32_t kCvbNoStation = 0xFFFFFFFFu;  // records for a station not in the roster
inline constexpr uint8_t kCvbNoChoice = 0xFF;           // a choice code not in the contest

// XXH3-64 of the election's identity: id, choice codes in order, station ids and
// capacities in order. A cvb file is only read against the election it was written for.
uint64_t ElectionFingerprint(const Election& election);

void AppendCvbHeader(uint64_t fingerprint, std::string* out);
// One block: `batch`'s records plus `malformed` records the writer received damaged.
// Requires: batch.size() <= kCvbMaxBlockRecords; batch.station is a roster index or
// kUnknownStation.
void AppendCvbBlock(const BallotBatch& batch, uint32_t malformed, std::string* out);
void AppendCvbTrailer(uint32_t blocks, uint64_t records, std::string* out);
// Bytes a block of `records` records occupies.
size_t CvbBlockBytes(uint32_t records);

// Where a block lies in a file.
struct CvbBlockRef {
  uint64_t offset;
  uint32_t records;
};

// The block layout of a file, up to the first structural damage.
struct CvbLayout {
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

// Verifies one block's checksum and points `view` at its columns inside `data` (no copy:
// the view lives as long as the data); `*malformed` receives its damaged-record count.
// DataLoss naming the file and the block's byte offset on any mismatch.
absl::Status VerifyCvbBlock(absl::string_view file_name, const uint8_t* data, CvbBlockRef block,
                            uint32_t num_stations, BatchView* view, uint32_t* malformed);

// Verifies one block's checksum and decodes it into `batch` (station index checked
// against `num_stations`); `*malformed` receives its damaged-record count.
// DataLoss naming the file and the block's byte offset on any mismatch.
absl::Status DecodeCvbBlock(absl::string_view file_name, const uint8_t* data, CvbBlockRef block,
                            uint32_t num_stations, BallotBatch* batch, uint32_t* malformed);

}  // namespace canvass

#endif  // CANVASS_ENGINE_IO_CVB_FORMAT_H_
