// ZipArchive: zip members read in memory through libarchive (zip_members.h).
#include "engine/ingest/zip_members.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <locale.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "engine/base/status_macros.h"

namespace canvass {
namespace {

constexpr uint64_t kEndRecordBytes = 22;
// libarchive's seeking reader looks for the end-of-central-directory record this far
// from the end of the file (a record followed by a longer comment is not found).
constexpr uint64_t kEndRecordSearchBytes = 16u << 10;

// libarchive's message, or a stand-in where it set none (a read past the end can fail
// without one).
std::string ArchiveMessage(struct archive* reader) {
  const char* message = archive_error_string(reader);
  return message != nullptr && *message != '\0' ? message : "unexpected end of the archive";
}

// Whether the end-of-central-directory record's signature is where libarchive's seeking
// reader looks for it; without it libarchive reads the archive with its streaming reader.
bool HasEndRecord(int fd, uint64_t file_bytes) {
  if (file_bytes < kEndRecordBytes) return false;
  const uint64_t tail_bytes = std::min(file_bytes, kEndRecordSearchBytes);
  std::string tail(tail_bytes, '\0');
  const ssize_t got =
      pread(fd, tail.data(), tail_bytes, static_cast<off_t>(file_bytes - tail_bytes));
  if (got != static_cast<ssize_t>(tail_bytes)) return false;
  const size_t at = absl::string_view(tail).rfind("PK\5\6");
  return at != absl::string_view::npos && at + kEndRecordBytes <= tail_bytes;
}

// libarchive converts a member name flagged UTF-8 to the charset of the calling thread's
// locale, and drops a non-ASCII one with a warning in the "C" locale, where a program that
// never calls setlocale runs. While this scope lives the calling thread's LC_CTYPE is
// C.UTF-8 (glibc has it built in), so names come out as the UTF-8 they are stored as;
// other threads and the process's locale are untouched.
class Utf8NamesScope {
 public:
  Utf8NamesScope() {
    static const locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0));
    if (utf8 != static_cast<locale_t>(0)) previous_ = uselocale(utf8);
  }
  ~Utf8NamesScope() {
    if (previous_ != static_cast<locale_t>(0)) uselocale(previous_);
  }
  Utf8NamesScope(const Utf8NamesScope&) = delete;
  Utf8NamesScope& operator=(const Utf8NamesScope&) = delete;

 private:
  locale_t previous_ = static_cast<locale_t>(0);
};

// What the file type of a member that is neither a file nor a folder is called.
const char* TypeName(mode_t type) {
  switch (type) {
    case AE_IFLNK:
      return "a symbolic link";
    case AE_IFCHR:
    case AE_IFBLK:
      return "a device";
    case AE_IFIFO:
      return "a named pipe";
    case AE_IFSOCK:
      return "a socket";
    default:
      return "of an unknown type";
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<ZipArchive>> ZipArchive::Open(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  struct stat info {};
  if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    close(fd);
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file"));
  }
  struct archive* reader = archive_read_new();
  if (reader == nullptr) {
    close(fd);
    return absl::ResourceExhaustedError(absl::StrCat(path, ": cannot allocate a zip reader"));
  }
  // Both readers: libarchive's bids prefer the seeking one whenever the end-of-central-
  // directory record is there (zip_members.h, "Design").
  archive_read_support_format_zip_seekable(reader);
  archive_read_support_format_zip_streamable(reader);
  if (archive_read_open_fd(reader, fd, kReadBlockBytes) != ARCHIVE_OK) {
    // libarchive reports "Unrecognized archive format" with ARCHIVE_ERRNO_FILE_FORMAT,
    // which is EILSEQ on Linux (EFTYPE where the system has it); any other errno is the
    // system's, from reading the file.
    const bool not_zip = archive_errno(reader) == EILSEQ;
    std::string message = ArchiveMessage(reader);
    archive_read_free(reader);
    close(fd);
    if (not_zip) {
      return absl::InvalidArgumentError(absl::StrCat(
          path,
          ": byte 0: not a zip archive (expected a local file header \"PK\\3\\4\" at byte 0 or "
          "an end-of-central-directory record \"PK\\5\\6\" near the end): ",
          message));
    }
    return absl::DataLossError(absl::StrCat(path, ": cannot read: ", message));
  }
  const bool has_end_record = HasEndRecord(fd, static_cast<uint64_t>(info.st_size));
  return std::unique_ptr<ZipArchive>(new ZipArchive(path, fd, reader, has_end_record));
}

ZipArchive::ZipArchive(std::string path, int fd, struct archive* reader, bool has_end_record)
    : path_(std::move(path)), fd_(fd), reader_(reader), has_end_record_(has_end_record) {}

ZipArchive::~ZipArchive() {
  archive_read_free(reader_);
  close(fd_);
}

std::string ZipArchive::Cause(int code) const {
  std::string cause = ArchiveMessage(reader_);
  // Without its end record the archive was read from its local headers, and a fatal error
  // there is most often the place where a cut archive's data runs out.
  if (code == ARCHIVE_FATAL && !has_end_record_) {
    absl::StrAppend(&cause,
                    " (the archive has no end-of-central-directory record: it was cut "
                    "short or is damaged)");
  }
  return cause;
}

absl::StatusOr<std::optional<ZipMember>> ZipArchive::Next() {
  CANVASS_RETURN_IF_ERROR(fatal_);
  // The current member's data, when not read, is skipped here rather than by libarchive's
  // next header call, so that data cut short is reported as that member's, not as the
  // header of the one after it.
  if (member_) CANVASS_RETURN_IF_ERROR(Skip());
  // libarchive refuses another header once it has reported the end.
  if (at_end_) return std::nullopt;
  const Utf8NamesScope utf8_names;
  for (;;) {
    struct archive_entry* entry = nullptr;
    const int code = archive_read_next_header(reader_, &entry);
    if (code == ARCHIVE_EOF) {
      at_end_ = true;
      return std::nullopt;
    }
    // A warning here is a local header that disagrees with the central directory (CRC,
    // sizes) or a name libarchive could not convert: the member cannot be trusted. The
    // message names the member by its place, not by a byte: libarchive's read position
    // lags behind what it has parsed (a data descriptor is consumed only with the next
    // header; a skipped member's data is never read), and its local header offsets are
    // not public.
    if (code != ARCHIVE_OK) {
      absl::Status error = absl::DataLossError(absl::StrCat(
          path_, ": the header of member ", members_ + 1,
          members_ == 0 ? "" : absl::StrCat(" (after ", last_name_, ")"), ": ", Cause(code)));
      if (code == ARCHIVE_FATAL) fatal_ = error;
      return error;
    }
    const char* name = archive_entry_pathname_utf8(entry);
    if (name == nullptr) name = archive_entry_pathname(entry);
    ZipMember member{name != nullptr ? name : "",
                     archive_entry_size_is_set(entry)
                         ? static_cast<uint64_t>(std::max<la_int64_t>(archive_entry_size(entry), 0))
                         : 0};
    const mode_t type = archive_entry_filetype(entry);
    if (type == AE_IFDIR) continue;
    ++members_;
    last_name_ = member.name;
    if (archive_entry_is_encrypted(entry)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path_, ": member ", member.name,
                       ": encrypted; encrypted zip members are not supported (give the archive "
                       "unencrypted)"));
    }
    if (type != AE_IFREG) {
      return absl::InvalidArgumentError(absl::StrCat(path_, ": member ", member.name, ": ",
                                                     TypeName(type), ", not a regular file"));
    }
    member_ = member;
    return member;
  }
}

absl::Status ZipArchive::CurrentMember() const {
  CANVASS_RETURN_IF_ERROR(fatal_);
  if (!member_) {
    return absl::FailedPreconditionError(
        absl::StrCat(path_,
                     ": no member to read (Next() has not returned one since the last "
                     "ReadAll() or Skip())"));
  }
  return absl::OkStatus();
}

absl::Status ZipArchive::MemberError(const std::string& where, int code) {
  absl::Status error = absl::DataLossError(
      absl::StrCat(path_, ": member ", member_->name, ": ", where, ": ", Cause(code)));
  if (code == ARCHIVE_FATAL) fatal_ = error;
  member_.reset();
  return error;
}

absl::Status ZipArchive::ReadAll(std::string* out, uint64_t max_bytes) {
  CANVASS_RETURN_IF_ERROR(CurrentMember());
  out->clear();
  const auto too_large = [&](uint64_t bytes, absl::string_view how) {
    absl::Status error = absl::OutOfRangeError(
        absl::StrCat(path_, ": member ", member_->name, ": ", how, bytes,
                     " bytes uncompressed, more than the limit of ", max_bytes));
    member_.reset();
    return error;
  };
  if (member_->size > max_bytes) return too_large(member_->size, "the header says ");
  // The header's size is checked by libarchive at the end of the data; until then it only
  // sizes the string (at most max_bytes, so a false one costs no more than the limit).
  out->reserve(member_->size);
  // archive_read_data_block hands out libarchive's own buffer (the inflated block, or the
  // file's bytes for a stored member), so appending it is the one copy there is; reading
  // with archive_read_data into a resized string would copy as often, zero the string
  // first, and place an error only to within the bytes asked for.
  for (;;) {
    const void* block = nullptr;
    size_t block_bytes = 0;
    la_int64_t offset = 0;
    const int code = archive_read_data_block(reader_, &block, &block_bytes, &offset);
    if (code == ARCHIVE_EOF) break;
    if (code != ARCHIVE_OK) {
      return MemberError(absl::StrCat("byte ", out->size(), " of the member"), code);
    }
    // Zip members have no holes, so each block starts where the last ended.
    if (offset < 0 || static_cast<uint64_t>(offset) != out->size()) {
      absl::Status error = absl::DataLossError(
          absl::StrCat(path_, ": member ", member_->name, ": byte ", out->size(),
                       " of the member: the next block starts at byte ", offset));
      member_.reset();
      return error;
    }
    if (block_bytes > max_bytes - out->size()) {
      const uint64_t read_bytes = out->size() + block_bytes;
      out->append(static_cast<const char*>(block), max_bytes - out->size());
      return too_large(read_bytes, "at least ");
    }
    out->append(static_cast<const char*>(block), block_bytes);
  }
  member_.reset();
  return absl::OkStatus();
}

absl::Status ZipArchive::Skip() {
  CANVASS_RETURN_IF_ERROR(CurrentMember());
  const int code = archive_read_data_skip(reader_);
  if (code != ARCHIVE_OK) return MemberError("skipping its data", code);
  member_.reset();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ZipMember>> ListZipMembers(const std::string& path) {
  CANVASS_ASSIGN_OR_RETURN(std::unique_ptr<ZipArchive> archive, ZipArchive::Open(path));
  std::vector<ZipMember> members;
  for (;;) {
    CANVASS_ASSIGN_OR_RETURN(std::optional<ZipMember> member, archive->Next());
    if (!member) return members;
    members.push_back(std::move(*member));
  }
}

}  // namespace canvass
