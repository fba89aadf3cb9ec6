// Checkpoints of a file-ingest job: which of its planned tasks are done, what each
// produced, and the aggregator's state, so that a job killed at any moment resumes from
// the last checkpoint and ends with exactly the result of an uninterrupted run.
//
// A checkpoint file is a log of frames. The first (whole) frame holds the job's identity,
// the tasks done and the aggregator's whole Snapshot(); each later (append) frame holds
// the tasks done since and the aggregator's SnapshotChanges(), so that an epoch costs what
// it changed, not the whole state again. A whole frame is written atomically (temporary
// file, fsync, rename, fsync of the folder); an append frame is written at the end and
// synced. When the appends outgrow the whole frame, the next epoch writes a whole one
// again, so the file stays within about twice one whole snapshot.
//
// Each frame is little-endian, framed by a magic number, a length and an XXH3-64 of its
// body. A torn, truncated or corrupted whole frame is DataLoss, never a wrong total. An
// append frame that is not intact ends the log (what a crash in the middle of an append
// leaves): the job resumes from the frames before it, which are a consistent state, and
// its next append replaces the torn one. An intact append frame of another job is DataLoss.
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
  // Aggregator::Snapshot(), then the SnapshotChanges() of each later epoch, in order.
  std::vector<std::string> aggregator;
  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

// Where a decoded checkpoint file's frames lie.
struct CheckpointLayout {
  uint64_t whole_bytes = 0;   // the whole frame's
  uint64_t intact_bytes = 0;  // every intact frame's; bytes past them are a torn append
};

// A checkpoint file of one whole frame (every aggregator snapshot in it).
std::string EncodeCheckpoint(const Checkpoint& checkpoint);
// An append frame for the job of `identity`: the tasks done after the first `done_before`
// and the aggregator's changes since the last frame.
std::string EncodeCheckpointAppend(const Checkpoint& identity, uint64_t done_before,
                                   const std::vector<RangeReading>& done,
                                   absl::string_view aggregator_changes);
// DataLoss naming `name` for anything that is not an intact checkpoint (see above for a
// torn append). `layout`, when given, says where the frames lie.
absl::StatusOr<Checkpoint> DecodeCheckpoint(absl::string_view name, absl::string_view bytes,
                                            CheckpointLayout* layout = nullptr);

// Task readings as bytes, in the checkpoint's own encoding: what the ranks of a job of
// several processes exchange after each epoch (base/rank_group.h). Decoding fails
// (false) on anything but an intact encoding of at most `most` readings.
std::string EncodeReadings(const std::vector<RangeReading>& readings);
bool DecodeReadings(absl::string_view bytes, uint64_t most, std::vector<RangeReading>* readings);

// The checkpoints of one rank of a job of several (base/rank_group.h): two slot files,
// PATH.rank-R-of-N.0 and .1, each a whole checkpoint written atomically; the epoch of
// ordinal i goes to slot i % 2, so a rank killed while writing one keeps the other, and
// since the ranks save each epoch after the same collective they differ by at most one
// epoch: the latest epoch every rank saved is still on every rank.
std::string RankCheckpointPath(const std::string& path, int rank, int ranks);
std::string RankCheckpointSlot(const std::string& path, int rank, int ranks, int slot);

// Writes one job's checkpoint file: whole frames atomically, append frames at the end.
// Errors name the path and the system's reason (DataLoss).
class CheckpointWriter {
 public:
  explicit CheckpointWriter(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }
  // Goes on from a file already on disk whose frames lie as `layout` says.
  void ResumeFrom(const CheckpointLayout& layout) { layout_ = layout; }
  // Whether a whole frame is in place (written or resumed from).
  bool started() const { return layout_.whole_bytes > 0; }
  // Whether appending `frame_bytes` more keeps the file within twice its whole frame.
  bool AppendFits(uint64_t frame_bytes) const {
    return started() &&
           layout_.intact_bytes - layout_.whole_bytes + frame_bytes <= layout_.whole_bytes;
  }
  absl::Status WriteWhole(absl::string_view file);
  // Requires: started().
  absl::Status Append(absl::string_view frame);

 private:
  std::string path_;
  CheckpointLayout layout_;
};

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
