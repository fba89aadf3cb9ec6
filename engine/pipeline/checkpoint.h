// Checkpoints of a file-ingest job: which of its planned tasks are done, what each
// produced, and the aggregator's whole state, written atomically (temporary file,
// fsync, rename, fsync of the folder) so that a job killed at any moment resumes from
// the last checkpoint and ends with exactly the result of an uninterrupted run.
//
// The encoding is little-endian, framed by a magic number, a length and an XXH3-64 of
// the body: a torn, truncated or corrupted checkpoint is DataLoss, never a wrong total.
//
// Thread safety: encoding and decoding are pure functions; one job writes its checkpoint
// file from one thread at a time (the ingest stage serializes its epochs).
#ifndef CANVASS_ENGINE_PIPELINE_CHECKPOINT_H_
#define CANVASS_ENGINE_PIPELINE_CHECKPOINT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace canvass {

// What one finished ingest task produced (see pipeline/ingest.cc).
struct IngestTaskState {
  uint64_t csv_begin = 0, csv_end = 0, line_breaks = 0;
  uint64_t records = 0, malformed = 0;
  std::vector<uint64_t> malformed_lines;
  uint64_t damage_offset = UINT64_MAX;
  std::string damage;  // empty when none
  friend bool operator==(const IngestTaskState&, const IngestTaskState&) = default;
};

struct Checkpoint {
  uint64_t election_fingerprint = 0;
  uint64_t inputs_fingerprint = 0;  // files (path, size, mtime), range size, options
  uint64_t tasks_total = 0;
  std::vector<std::string> sequential_files;  // CSV files read as one range
  std::vector<IngestTaskState> done;          // the first done.size() tasks, in task order
  std::string aggregator;                     // Aggregator::Snapshot()
  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

std::string EncodeCheckpoint(const Checkpoint& checkpoint);
// DataLoss naming `name` for anything that is not an intact checkpoint.
absl::StatusOr<Checkpoint> DecodeCheckpoint(absl::string_view name, absl::string_view bytes);

// Writes `bytes` to `path` atomically: PATH.tmp, fsync, rename, fsync of the folder.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view bytes);

}  // namespace canvass

#endif  // CANVASS_ENGINE_PIPELINE_CHECKPOINT_H_
