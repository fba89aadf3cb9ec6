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
#include "engine/base/bytes.h"
#include "engine/base/check.h"
#include "engine/base/status_macros.h"

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

absl::Status SpooledStreams::MakeCopyFile(const std::string& path, std::string* folder, int* fd) {
  *folder = SpoolFolder();
  std::string name = *folder + "/canvass-stream-XXXXXX";
  *fd = mkostemp(name.data(), O_CLOEXEC);
  if (*fd < 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": cannot make a temporary file in ",
                                                   *folder,
                                                   " to hold the stream: ", std::strerror(errno)));
  }
  unlink(name.c_str());  // nameless from the start: nothing is left behind
  return absl::OkStatus();
}

absl::Status SpooledStreams::Append(const std::string& path, const std::string& folder, int out,
                                    const char* bytes, size_t size, uint64_t copied, bool check) {
  if (check) {
    struct statvfs space {};
    if (fstatvfs(out, &space) == 0) {
      const uint64_t reserve = std::min<uint64_t>(
          kStreamSpoolReserveBytes, static_cast<uint64_t>(space.f_blocks) * space.f_frsize / 8);
      if (static_cast<uint64_t>(space.f_bavail) * space.f_frsize < reserve) {
        return absl::ResourceExhaustedError(absl::StrCat(
            path, ": the stream has not ended after ", copied, " bytes, and ", folder,
            " (where it is held to be read) has less than ", reserve,
            " bytes free; give the input as a file, or set TMPDIR to a larger folder"));
      }
    }
  }
  for (size_t written = 0; written < size;) {
    const ssize_t w = write(out, bytes + written, size - written);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      const int error = w < 0 ? errno : EIO;
      return absl::ResourceExhaustedError(absl::StrCat(path, ": cannot hold the stream in ", folder,
                                                       " after ", copied,
                                                       " bytes: ", std::strerror(error)));
    }
    written += static_cast<size_t>(w);
  }
  return absl::OkStatus();
}

absl::Status SpooledStreams::Spool(const std::vector<std::string>& files) {
  for (const std::string& path : files) {
    if (!IsStream(path) || copies_.count(path) > 0) continue;
    const int in = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": cannot open the stream: ", std::strerror(errno)));
    }
    std::string folder;
    int out = -1;
    if (absl::Status made = MakeCopyFile(path, &folder, &out); !made.ok()) {
      close(in);
      return made;
    }
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
      const bool check = copied >= next_check;
      if (check) next_check = copied + kCheckEveryBytes;
      if (absl::Status appended =
              Append(path, folder, out, buffer.data(), static_cast<size_t>(n), copied, check);
          !appended.ok()) {
        return fail(appended);
      }
      copied += static_cast<uint64_t>(n);
    }
    close(in);
    copies_[path] = Copy{out, absl::StrCat("/proc/self/fd/", out)};
  }
  return absl::OkStatus();
}

absl::Status SpooledStreams::SpoolOnRanks(const std::vector<std::string>& files,
                                          const RankGroup& ranks) {
  const bool root = ranks.rank() == 0;
  // Rank 0 copies its streams; every rank learns which they are and how long (rank 0's
  // view: another rank's stdin is not the job's).
  absl::Status status = root ? Spool(files) : absl::OkStatus();
  CANVASS_RETURN_IF_ERROR(AgreeOnStatus(ranks, status));
  std::string listed;
  if (root) {
    for (const auto& [path, copy] : copies_) {
      struct stat info {};
      const uint64_t size = fstat(copy.fd, &info) == 0 ? static_cast<uint64_t>(info.st_size) : 0;
      PutLittleEndian(size, &listed);
      PutLittleEndian(static_cast<uint64_t>(path.size()), &listed);
      listed += path;
    }
  }
  const std::vector<std::string> gathered = ranks.AllGather(listed);
  absl::string_view in = gathered[0];
  std::vector<std::pair<std::string, uint64_t>> streams;
  while (!in.empty()) {
    uint64_t size = 0, length = 0;
    CANVASS_CHECK(ConsumeLittleEndian(&in, &size) && ConsumeLittleEndian(&in, &length) &&
                  in.size() >= length);
    streams.emplace_back(std::string(in.substr(0, length)), size);
    in.remove_prefix(length);
  }
  // What rank 0 holds per collective stays about kStreamPieceBytes however many ranks.
  const uint64_t piece_bytes = std::max<uint64_t>(
      uint64_t{1} << 20, kStreamPieceBytes / static_cast<uint64_t>(ranks.size() - 1));
  std::string buffer;
  for (const auto& [path, size] : streams) {
    std::string folder;
    int out = -1;
    if (!root && status.ok()) {
      status = MakeCopyFile(path, &folder, &out);
      if (status.ok()) copies_[path] = Copy{out, absl::StrCat("/proc/self/fd/", out)};
    }
    // Every rank takes part in every piece, whatever failed, so that none waits for another.
    for (uint64_t at = 0; at < size; at += piece_bytes) {
      const size_t piece = static_cast<size_t>(std::min(piece_bytes, size - at));
      std::vector<std::string> to_each(static_cast<size_t>(ranks.size()));
      if (root) {
        buffer.resize(piece);
        size_t got = 0;
        while (got < piece) {
          const ssize_t n = pread(copies_.at(path).fd, buffer.data() + got, piece - got,
                                  static_cast<off_t>(at + got));
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) break;
          got += static_cast<size_t>(n);
        }
        if (got < piece && status.ok()) {
          status = absl::DataLossError(
              absl::StrCat(path, ": cannot read back the copy of the stream at byte ", at + got));
        }
        for (int r = 1; r < ranks.size(); ++r) to_each[static_cast<size_t>(r)] = buffer;
      }
      const std::vector<std::string> received = ranks.AllToAll(std::move(to_each));
      if (!root && status.ok()) {
        status = received[0].size() == piece
                     ? Append(path, folder, out, received[0].data(), piece, at, true)
                     : absl::DataLossError(absl::StrCat(path, ": rank 0 sent ", received[0].size(),
                                                        " bytes of the stream at byte ", at,
                                                        ", not ", piece));
      }
    }
  }
  return AgreeOnStatus(ranks, status);
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
