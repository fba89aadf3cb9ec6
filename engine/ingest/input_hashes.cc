// Hashes of input files for a report's provenance.
#include "engine/ingest/input_hashes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "engine/io/file_hasher.h"

namespace canvass {
namespace {

std::string HashFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  struct stat info {};
  if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    close(fd);
    return "";
  }
  FileHasher hasher;
  static constexpr size_t kChunk = size_t{1} << 20;
  std::string buffer(kChunk, '\0');
  while (true) {
    const ssize_t n = read(fd, buffer.data(), kChunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      return "";
    }
    if (n == 0) break;
    hasher.Update(reinterpret_cast<const uint8_t*>(buffer.data()), static_cast<size_t>(n));
  }
  close(fd);
  return hasher.HexDigest();
}

}  // namespace

std::vector<std::string> HashInputFiles(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  out.reserve(paths.size());
  for (const std::string& path : paths) out.push_back(HashFile(path));
  return out;
}

}  // namespace canvass
