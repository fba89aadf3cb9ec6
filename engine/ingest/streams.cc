// Streams given as ballot inputs, copied to unlinked temporary files (streams.h).
#include "engine/ingest/streams.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace canvass {
namespace {

// Bytes copied between two checks of the folder's free space.
constexpr uint64_t kCheckEveryBytes = uint64_t{4} << 20;

std::string SpoolFolder() {
  const char* folder = std::getenv("TMPDIR");
  return folder != nullptr && *folder != '\0' ? folder : "/tmp";
}

}  // namespace

bool IsStream(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) return false;
  return S_ISFIFO(info.st_mode) || S_ISCHR(info.st_mode) || S_ISSOCK(info.st_mode);
}

SpooledStreams::~SpooledStreams() {
  for (auto& [path, copy] : copies_) close(copy.fd);
}

absl::Status SpooledStreams::Spool(const std::vector<std::string>& files) {
  for (const std::string& path : files) {
    if (!IsStream(path) || copies_.count(path) > 0) continue;
    const int in = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": cannot open the stream: ", std::strerror(errno)));
    }
    const std::string folder = SpoolFolder();
    std::string name = folder + "/canvass-stream-XXXXXX";
    const int out = mkostemp(name.data(), O_CLOEXEC);
    if (out < 0) {
      const int error = errno;
      close(in);
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": cannot make a temporary file in ", folder,
                       " to hold the stream: ", std::strerror(error)));
    }
    unlink(name.c_str());  // nameless from the start: nothing is left behind
    auto fail = [&](absl::Status status) {
      close(in);
      close(out);
      return status;
    };
    std::string buffer(size_t{1} << 20, '\0');
    uint64_t copied = 0, next_check = 0;
    while (true) {
      const ssize_t n = read(in, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        return fail(absl::InvalidArgumentError(absl::StrCat(
            path, ": cannot read the stream after ", copied, " bytes: ", std::strerror(errno))));
      }
      if (n == 0) break;
      if (copied >= next_check) {
        struct statvfs space {};
        if (fstatvfs(out, &space) == 0) {
          const uint64_t reserve = std::min<uint64_t>(
              kStreamSpoolReserveBytes, static_cast<uint64_t>(space.f_blocks) * space.f_frsize / 8);
          if (static_cast<uint64_t>(space.f_bavail) * space.f_frsize < reserve) {
            return fail(absl::ResourceExhaustedError(absl::StrCat(
                path, ": the stream has not ended after ", copied, " bytes, and ", folder,
                " (where it is held to be read) has less than ", reserve,
                " bytes free; give the input as a file, or set TMPDIR to a larger folder")));
          }
        }
        next_check = copied + kCheckEveryBytes;
      }
      for (ssize_t written = 0; written < n;) {
        const ssize_t w = write(out, buffer.data() + written, static_cast<size_t>(n - written));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
          const int error = w < 0 ? errno : EIO;
          return fail(absl::ResourceExhaustedError(
              absl::StrCat(path, ": cannot hold the stream in ", folder, " after ", copied,
                           " bytes: ", std::strerror(error))));
        }
        written += w;
      }
      copied += static_cast<uint64_t>(n);
    }
    close(in);
    copies_[path] = Copy{out, absl::StrCat("/proc/self/fd/", out)};
  }
  return absl::OkStatus();
}

const std::string& SpooledStreams::OpenPath(const std::string& path) const {
  const auto it = copies_.find(path);
  return it == copies_.end() ? path : it->second.open_path;
}

std::vector<std::string> SpooledStreams::streams() const {
  std::vector<std::string> paths;
  for (const auto& [path, copy] : copies_) paths.push_back(path);
  return paths;
}

}  // namespace canvass
