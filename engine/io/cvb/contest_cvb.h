// cvb version 3, contest ballots: the binary form of cast vote records of a multi-contest
// election (io/nist/cvr_builder.h transcripts), written by `canvass convert --to cvb` from
// any supported CVR input and read as one more CVR syntax (CvrFormat::kCvbContest), by the
// same counting rules, to the same figures. Grammar: docs/FORMAT.md, "cvb version 3".
//
//   file    := header definition block* trailer
//   header  := "CVBALLOT" u16 version=3, u16 flags (1: invalid figure, 2: synthetic),
//              u32 definition bytes, u64 XXH3 of the definition, u64 XXH3 of the
//              header's first 24 bytes                                      (32 bytes)
//   definition := a JSON object {"Election":[...],"GpUnit":[...]} (io/nist/cvr_writer.h)
//   block   := u32 "BLK\x03", u32 records, u32 payload bytes, u32 zero,
//              u64 XXH3 of the payload seeded with records and bytes, payload
//   payload := (varint length, record)*
//   trailer := as version 2's: u32 "END\x01", u32 blocks, u64 records, u64 XXH3
//
// Every record is either a ballot (identity, unit, flags, contests with their stated
// figures and marks) or a record its first reader rejected (reason and why), so that a
// converted file is rejected on exactly the records the original was.
//
// Pure functions and per-owner objects: safe from many threads on different data.
#ifndef CANVASS_ENGINE_IO_CVB_CONTEST_CVB_H_
#define CANVASS_ENGINE_IO_CVB_CONTEST_CVB_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/ballot/cast_ballots.h"
#include "engine/election/contests.h"
#include "engine/io/nist/cvr_builder.h"
#include "engine/io/nist/cvr_reader.h"

namespace canvass {

inline constexpr uint16_t kCvbContestVersion = 3;
inline constexpr uint32_t kCvbContestBlockMagic = 0x034b4c42;  // "BLK\x03" little-endian
inline constexpr size_t kCvbContestHeaderBytes = 32;
inline constexpr size_t kCvbContestBlockHeaderBytes = 24;
inline constexpr uint16_t kCvbContestInvalidFigure = 1;
inline constexpr uint16_t kCvbContestSynthetic = 2;

// Whether `head` (a file's first bytes) starts a version 3 cvb file: magic, version 3 and a
// header checksum that verifies.
bool LooksLikeContestCvb(absl::string_view head);

// The header and the election definition.
void AppendContestCvbHeader(const ContestElection& election, std::string* out);
// One record (with its length prefix): a counted ballot, or a rejected record.
void AppendContestCvbBallot(const CvrTranscript& record, std::string* out);
void AppendContestCvbRejected(CastReject reason, absl::string_view why, std::string* out);
// One block of `records` records (their bytes, as the two functions above appended them).
void AppendContestCvbBlock(absl::string_view payload, uint32_t records, std::string* out);

// What the header says. DataLoss / InvalidArgument naming `file` and the byte offset.
struct ContestCvbHeader {
  bool invalid_figure = false;
  bool synthetic = false;
  absl::string_view definition;  // into the file's text
};
absl::StatusOr<ContestCvbHeader> ReadContestCvbHeader(absl::string_view file,
                                                      absl::string_view text);

// The scanner (blocks verified and walked record by record; spans are records' bytes,
// without their length prefix) and the decoder of CvrFormat::kCvbContest.
std::unique_ptr<CvrScanner> NewContestCvbScanner(std::string name, absl::string_view text);
std::unique_ptr<CvrDecoder> NewContestCvbDecoder();

}  // namespace canvass

#endif  // CANVASS_ENGINE_IO_CVB_CONTEST_CVB_H_
