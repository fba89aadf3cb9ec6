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
// A job of several ranks (base/rank_group.h): rank 0, the one process mpirun gives its
// stdin, copies every stream, and sends each copy's bytes to the other ranks, a piece at
// a time (kStreamPieceBytes in all per collective, at least 1 MiB to each rank); each writes them
// to a copy of its own under the same bounds, so that every rank reads the same bytes under the
// same name and no other rank ever opens the stream (a FIFO opened by two readers would split its
// bytes between them).
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
#include "engine/base/rank_group.h"

namespace canvass {

// Free space a stream's copy leaves in its folder.
inline constexpr uint64_t kStreamSpoolReserveBytes = uint64_t{1} << 30;
// Bytes of a stream's copy rank 0 sends to the other ranks, together, per collective.
inline constexpr uint64_t kStreamPieceBytes = uint64_t{64} << 20;

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
  // Collective: Spool() on rank 0 and the copies' bytes sent to every other rank (see
  // above); the same status on every rank, rank 0's error when its copy failed, else the
  // lowest failing rank's ("rank R: ...").
  absl::Status SpoolOnRanks(const std::vector<std::string>& files, const RankGroup& ranks);
  // Where to open `path`: its copy (/proc/self/fd/N) for a stream, else `path` itself.
  const std::string& OpenPath(const std::string& path) const;
  // The streams spooled, as given.
  std::vector<std::string> streams() const;

 private:
  struct Copy {
    int fd = -1;
    std::string open_path;
  };
  // A nameless temporary file for the copy of `path`, in *fd; *folder says where.
  static absl::Status MakeCopyFile(const std::string& path, std::string* folder, int* fd);
  // Appends `bytes` to the copy `out` of `path` (`copied` bytes so far), checking the
  // folder's free space first when `check` (see the bounds above).
  static absl::Status Append(const std::string& path, const std::string& folder, int out,
                             const char* bytes, size_t size, uint64_t copied, bool check);
  std::map<std::string, Copy> copies_;
};

}  // namespace canvass

#endif  // CANVASS_ENGINE_INGEST_STREAMS_H_
