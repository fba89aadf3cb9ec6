// Ballot inputs that are streams (a pipe, `/dev/stdin`, a FIFO, a character device, a
// socket) rather than files: the reading stage maps its inputs and cuts them into ranges
// read in parallel, which a stream allows neither of. So each stream given is read once,
// to its end, into an unlinked temporary file (under $TMPDIR, else /tmp), which the job
// then reads like any file, under the stream's own name in every report. Nothing of it is
// left on disk after the job, whatever way the process ends.
//
// Bounds: the copy stops with an error (exit 2) when its folder's free space falls below
// kStreamSpoolReserveBytes (or an eighth of the folder's file system, if less), so a stream
// that never ends (`/dev/zero`) fails with a message instead of filling the disk. A job that reads
// a stream cannot be resumed (its bytes are gone), so --checkpoint is refused with one.
//
// Thread safety: one thread spools, before the job's workers start; the object is then
// read-only.
#ifndef CANVASS_ENGINE_INGEST_STREAMS_H_
#define CANVASS_ENGINE_INGEST_STREAMS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace canvass {

// Free space a stream's copy leaves in its folder.
inline constexpr uint64_t kStreamSpoolReserveBytes = uint64_t{1} << 30;

// Whether `path` names a stream (see above); false for files, folders and missing paths.
bool IsStream(const std::string& path);

class SpooledStreams {
 public:
  SpooledStreams() = default;
  SpooledStreams(const SpooledStreams&) = delete;
  SpooledStreams& operator=(const SpooledStreams&) = delete;
  ~SpooledStreams();

  // Copies every stream among `files` to its end. Errors name the stream and the system's
  // reason (InvalidArgument when it cannot be read, ResourceExhausted when its folder
  // fills).
  absl::Status Spool(const std::vector<std::string>& files);
  // Where to open `path`: its copy (/proc/self/fd/N) for a stream, else `path` itself.
  const std::string& OpenPath(const std::string& path) const;
  // The streams spooled, as given.
  std::vector<std::string> streams() const;

 private:
  struct Copy {
    int fd = -1;
    std::string open_path;
  };
  std::map<std::string, Copy> copies_;
};

}  // namespace canvass

#endif  // CANVASS_ENGINE_INGEST_STREAMS_H_
