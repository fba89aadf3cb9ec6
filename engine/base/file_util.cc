// Whole-file reads and atomic writes, with errors that name the path and the system's
// reason (file_util.h).
#include "engine/base/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/base/crash_point.h"

namespace canvass {
namespace {

absl::Status OpenError(const std::string& path, int error) {
  const std::string message = absl::StrCat(path, ": cannot open file: ", std::strerror(error));
  switch (error) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    default:
      return absl::InvalidArgumentError(message);
  }
}

absl::Status ReadError(const std::string& path, int error) {
  const std::string message = absl::StrCat(path, ": read error: ", std::strerror(error));
  if (error == EISDIR) return absl::InvalidArgumentError(message);
  return absl::DataLossError(message);
}

// Writes all of `bytes` to `fd`; false with errno set when the system refuses.
bool WriteAll(int fd, absl::string_view bytes) {
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    written += static_cast<size_t>(n);
  }
  return true;
}

// The folder holding `path`, for fsync after a rename.
std::string FolderOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

absl::StatusOr<std::string> ReadFileToString(const std::string& path, uint64_t max_bytes) {
  int fd;
  do {
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return OpenError(path, errno);
  std::string bytes;
  struct stat info;
  if (fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_size > 0 &&
      static_cast<uint64_t>(info.st_size) <= max_bytes) {
    bytes.reserve(static_cast<size_t>(info.st_size));
  }
  char buffer[65536];
  for (;;) {
    const ssize_t got = read(fd, buffer, sizeof(buffer));
    if (got == 0) break;
    if (got < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      close(fd);
      return ReadError(path, error);
    }
    bytes.append(buffer, static_cast<size_t>(got));
    if (bytes.size() > max_bytes) {
      close(fd);
      return absl::OutOfRangeError(absl::StrCat(path, ": more than ", max_bytes,
                                                " bytes, the most this kind of file may ",
                                                "hold (docs/FORMAT.md); is it the file meant?"));
    }
  }
  close(fd);
  return bytes;
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  return ReadFileToString(path, UINT64_MAX);
}

absl::Status WriteFileAtomically(const std::string& path, absl::string_view bytes) {
  const std::string temporary = path + ".tmp";
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int error = errno;
    const std::string message = absl::StrCat(temporary, ": cannot create: ", std::strerror(error));
    if (error == ENOENT || error == ENOTDIR) return absl::NotFoundError(message);
    if (error == EACCES || error == EPERM) return absl::PermissionDeniedError(message);
    return absl::DataLossError(message);
  }
  // Every failure below removes the temporary file, so nothing half-written is left.
  auto fail = [&](absl::string_view what, int error) {
    close(fd);
    unlink(temporary.c_str());
    return absl::DataLossError(absl::StrCat(temporary, ": ", what, ": ", std::strerror(error)));
  };
  if (!WriteAll(fd, bytes)) return fail("cannot write", errno);
  if (fsync(fd) != 0) return fail("fsync failed", errno);
  if (close(fd) != 0) {
    const int error = errno;
    unlink(temporary.c_str());
    return absl::DataLossError(absl::StrCat(temporary, ": close failed: ", std::strerror(error)));
  }
  MaybeCrashAt(CrashPoint::kBeforeRename);
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    unlink(temporary.c_str());
    return absl::DataLossError(
        absl::StrCat(path, ": cannot rename ", temporary, " over it: ", std::strerror(error)));
  }
  const int folder = open(FolderOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (folder >= 0) {
    fsync(folder);
    close(folder);
  }
  return absl::OkStatus();
}

}  // namespace canvass
