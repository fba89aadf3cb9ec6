// Checkpoints of a file-ingest job: which of its planned tasks are done, what each
// produced, and the aggregator's whole state, written atomically (temporary file,
// fsync, rename, fsync of the folder) so that a job killed at any moment resumes from
// the last checkpoint and ends with exactly the result of an uninterrupted run.
//
// The encoding is little-endian, framed by a magic number, a length and an XXH3-64 of
// the body: a torn, truncated or corrupted checkpoint is DataLoss, never a wrong total.
//
// Thread safety: encoding and decoding are pure functions; one job writes its checkpoint
// file from one thread at a time (the ingest stage serializes its epochs: engine/ingest/epochs.h).
// Each done task is the io::RangeReading its format produced.
#ifndef CANVASS_ENGINE_INGEST_CHECKPOINT_H_
#define CANVASS_ENGINE_INGEST_CHECKPOINT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/base/file_util.h"
#include "engine/io/input_format.h"

namespace canvass {

struct Checkpoint {
  uint64_t election_fingerprint = 0;
  uint64_t inputs_fingerprint = 0;  // files (path, size, mtime), range size, options
  uint64_t tasks_total = 0;
  std::vector<std::string> sequential_files;  // CSV files read as one range
  std::vector<RangeReading> done;             // the first done.size() tasks, in task order
  std::string aggregator;                     // Aggregator::Snapshot()
  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

std::string EncodeCheckpoint(const Checkpoint& checkpoint);
// DataLoss naming `name` for anything that is not an intact checkpoint.
absl::StatusOr<Checkpoint> DecodeCheckpoint(absl::string_view name, absl::string_view bytes);

// A job's hold on its checkpoint path: an exclusive flock(2) on `PATH.lock`, for the job's
// lifetime, so that two jobs never write one checkpoint (the second is refused at once,
// exit 2). The lock file is removed when the hold ends; a job killed with the lock held
// leaves the file, which the next job takes over (the kernel drops the lock at exit).
class CheckpointLock {
 public:
  // FailedPrecondition when another job holds it; the system's reason when the lock file
  // cannot be made.
  static absl::StatusOr<CheckpointLock> Acquire(const std::string& checkpoint_path);
  CheckpointLock(CheckpointLock&& other) noexcept;
  CheckpointLock& operator=(CheckpointLock&&) = delete;
  ~CheckpointLock();

 private:
  CheckpointLock(std::string lock_path, int fd) : lock_path_(std::move(lock_path)), fd_(fd) {}
  std::string lock_path_;
  int fd_ = -1;
};

}  // namespace canvass

#endif  // CANVASS_ENGINE_INGEST_CHECKPOINT_H_
