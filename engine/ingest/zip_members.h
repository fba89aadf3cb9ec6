// Zip archives read member by member, in memory: a ZipArchive streams each member's
// decompressed bytes into a caller's string, and nothing is extracted to disk. It is how
// an election office's export (a zip of CvrExport_N.json files, stored or deflated, at
// the top or under one folder such as "export/") is read without unpacking it first.
//
// Design (libarchive underneath, only its zip readers registered):
//  - The archive is opened with both of libarchive's zip readers and libarchive picks
//    one: the seeking reader when the end-of-central-directory record is found (members
//    come in the order of their local headers in the file, with the sizes the central
//    directory gives), else the streaming reader, which walks local headers from byte 0.
//    A zip without its end record was cut short or damaged: the streaming reader then
//    reads the members before the damage and fails where the data runs out, so a cut
//    archive is an error, never a shorter list of members. (A cut inside the central
//    directory, after the last member's data, loses no member: it reads as whole.)
//  - Directory entries are skipped; every other member's data is checked by libarchive
//    against its header (CRC-32, compressed and uncompressed sizes) when read to its end.
//  - ReadAll() appends libarchive's own blocks to the caller's string (the file is read
//    1 MiB at a time; a deflated member comes out in inflated blocks of up to 256 KiB):
//    one copy and no buffer between, the string reserved from the header's size.
//  - Errors (absl::Status) name the archive and the member: NotFound for an archive that
//    cannot be opened, InvalidArgument for a file that is not a zip archive and for members
//    this reader refuses (encrypted, or neither a file nor a folder), DataLoss for a
//    damaged or truncated archive and a corrupt member, OutOfRange for a member past the
//    caller's limit, FailedPrecondition for a call out of order. A member's DataLoss reads
//    "ARCHIVE: member NAME: byte B of the member: <libarchive's message>", B being where
//    the block that failed starts (libarchive inflates up to 256 KiB at a time and drops a
//    block that fails), or "ARCHIVE: member NAME: skipping its data: ..." when the data
//    of a member not read runs out (Next() skips it first); a damaged header reads
//    "ARCHIVE: the header of member K (after NAME): ..." (libarchive does not tell the
//    byte of a local header). After a DataLoss
//    that leaves the archive unreadable, every later call returns it again; after an error
//    confined to one member (OutOfRange, a bad CRC), Next() moves on.
//
// Thread safety: one owner at a time. Distinct ZipArchive objects (of the same file or
// not) may be used on different threads at once.
//
// Usage:
//   CANVASS_ASSIGN_OR_RETURN(std::unique_ptr<ZipArchive> zip, ZipArchive::Open(path));
//   std::string content;
//   for (;;) {
//     CANVASS_ASSIGN_OR_RETURN(std::optional<ZipMember> member, zip->Next());
//     if (!member) break;
//     CANVASS_RETURN_IF_ERROR(zip->ReadAll(&content, kMaxMemberBytes));
//   }
#ifndef CANVASS_ENGINE_INGEST_ZIP_MEMBERS_H_
#define CANVASS_ENGINE_INGEST_ZIP_MEMBERS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct archive;  // libarchive's reader, kept out of this header

namespace canvass {

struct ZipMember {
  std::string name;   // the path inside the archive, as stored: "export/CvrExport_1.json"
  uint64_t size = 0;  // uncompressed bytes, when the header says; else 0
};

class ZipArchive {
 public:
  // Bytes read from the file per read().
  static constexpr uint64_t kReadBlockBytes = 1u << 20;

  // NotFound when `path` cannot be opened; InvalidArgument when it is not a regular file
  // or not a zip archive.
  static absl::StatusOr<std::unique_ptr<ZipArchive>> Open(const std::string& path);
  ~ZipArchive();
  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;

  // The next member's header, or nullopt after the last. Skips what is left of the
  // current member's data first.
  absl::StatusOr<std::optional<ZipMember>> Next();

  // Replaces *out with the current member's whole content, decompressed and checked.
  // OutOfRange, naming the member, when it is larger than `max_bytes` (then *out holds
  // a prefix of it). Requires: Next() returned a member whose data has not been read or
  // skipped since.
  absl::Status ReadAll(std::string* out, uint64_t max_bytes);

  // Skips the current member's data, unchecked (its CRC is not verified; with the central
  // directory it is not even read). Requires: as ReadAll().
  absl::Status Skip();

  const std::string& path() const { return path_; }

 private:
  ZipArchive(std::string path, int fd, struct archive* reader, bool has_end_record);
  // DataLoss "ARCHIVE: member NAME: WHERE: CAUSE" (WHERE: "byte B of the member"), kept
  // for every later call when `code` is ARCHIVE_FATAL.
  absl::Status MemberError(const std::string& where, int code);
  // libarchive's message, and what a fatal one likely means without an end record.
  std::string Cause(int code) const;
  absl::Status CurrentMember() const;

  const std::string path_;
  const int fd_;
  struct archive* const reader_;
  const bool has_end_record_;        // false: libarchive reads it with its streaming reader
  std::optional<ZipMember> member_;  // the member whose data is next, if any
  uint64_t members_ = 0;             // members met so far (folders not counted)
  std::string last_name_;            // the last member met, for errors in the next header
  bool at_end_ = false;              // Next() has returned nullopt
  absl::Status fatal_;               // set once the archive cannot be read further
};

// The members of the zip archive at `path`, in archive order, from one pass over their
// headers: for a first pass that picks manifests. Nothing is decompressed when the archive
// has its central directory (each member's data is skipped by a seek); only the streaming
// reader's members whose sizes follow their data must be inflated to find their end.
// Errors as ZipArchive::Open() and Next().
absl::StatusOr<std::vector<ZipMember>> ListZipMembers(const std::string& path);

}  // namespace canvass

#endif  // CANVASS_ENGINE_INGEST_ZIP_MEMBERS_H_
