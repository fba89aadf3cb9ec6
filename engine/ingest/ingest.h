// The reading stage: `canvass aggregate` and `reconcile` read ballot files (every format of
// engine/io/input_format.h, files and folders) in parallel across and within files into an
// Aggregator, with bounded memory, checkpoints, a folder's manifest checked, and every
// damage located. An IngestJob owns one such job: the election it counts for, the inputs,
// the plan of ranges, the mapped folder, the aggregator and the checkpointing; its parts
// each live in a file of their own (paths.h, mapped_folder.h, epochs.h, checkpoint.h,
// manifest_check.h, progress.h).
//
// Thread safety: a job runs on its own oneTBB workers (options.threads) and Run() returns
// when it is done; one thread calls Run(), once. Jobs over different paths may run at
// once; two jobs sharing a checkpoint file may not.
//
// Usage:
//   IngestOptions options;
//   options.threads = 2;
//   absl::StatusOr<IngestResult> result = IngestFiles(election, {"ballots/"}, options);
#ifndef CANVASS_ENGINE_INGEST_INGEST_H_
#define CANVASS_ENGINE_INGEST_INGEST_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/ballot/tally.h"
#include "engine/base/rank_group.h"
#include "engine/election/election.h"
#include "engine/ingest/checkpoint.h"
#include "engine/ingest/paths.h"
#include "engine/ingest/streams.h"
#include "engine/io/inputs.h"
#include "engine/io/manifest.h"
#include "engine/synth/fault_plan.h"

namespace canvass {

struct IngestOptions {
  int threads = 0;
  bool skip_damaged = false;
  bool progress = false;          // print progress on stderr
  size_t range_bytes = 1u << 20;  // bytes per parallel task
  // Files of a folder with a manifest up to this size are read by one task each and
  // hashed as they are read, so that each byte is read from memory once; larger ones are
  // cut into ranges and hashed in a second pass. Unset: half of one worker's share of
  // those files' bytes for the machine's hardware threads (not --threads, so that a
  // checkpoint resumes under any thread count).
  std::optional<uint64_t> whole_file_bytes;
  bool exactly_once = true;  // off: count-only mode, for benchmarks
  // When set: resume from this checkpoint if it exists, save one after about every
  // checkpoint_every_bytes of input, and remove it when the job completes.
  std::string checkpoint_path;
  uint64_t checkpoint_every_bytes = 64u << 20;
  // A job of several processes (base/rank_group.h): each rank reads a share of the
  // ranges, every record is counted by the rank owning its station (routing.h), and the
  // result is the whole group's on every rank, but for the manifest check, which rank 0
  // alone does (only it reports). Null: one process reads everything.
  const RankGroup* ranks = nullptr;
};

// What a job read (its files, malformed examples, manifest findings: io/inputs.h), its
// tally, the folder's manifest, and the fault plan and fired counts the manifest records
// (checked against the faults this build knows).
struct IngestResult : InputsSummary {
  Tally tally;
  std::optional<Manifest> manifest;  // when a folder held manifest.json
  FaultPlan faults;                  // the manifest's (none without one)
  FaultCounts fired;
};

// One reading job. Errors (exit 2): a missing path (NotFound); a file written for another
// election or by a future version (InvalidArgument, whatever skip_damaged says); unless
// skip_damaged, a file that is not a ballot file (InvalidArgument) or a damaged one
// (DataLoss), each naming the file and byte offset; with skip_damaged those files are
// accounted in FileOutcome instead. A torn, corrupt or foreign checkpoint: DataLoss.
class IngestJob {
 public:
  // Requires: `election` outlives the job.
  IngestJob(const Election& election, std::vector<std::string> paths, IngestOptions options);
  IngestJob(const IngestJob&) = delete;
  IngestJob& operator=(const IngestJob&) = delete;

  // Expands PATH... (files as given; folders: their files of every input format's suffix,
  // sorted by name, paths.h), opens, plans, reads and accounts them. Call once.
  absl::StatusOr<IngestResult> Run();

 private:
  // One reading of every file; std::nullopt when a file's ranges did not meet (a CSV
  // quoted field across a cut) and it is now in sequential_, to be read again whole.
  absl::StatusOr<std::optional<IngestResult>> ReadOnce();

  const Election& election_;
  const std::vector<std::string> paths_;
  const IngestOptions options_;
  ExpandedPaths expanded_;  // PATH... as files, once for every attempt
  SpooledStreams streams_;  // the streams among them, each read once (streams.h)
  std::optional<Checkpoint> resume_;
  CheckpointLayout resume_layout_;  // where resume_'s frames lie in its file
  // Files read as one range: their ranges did not meet in an earlier attempt or job.
  std::set<std::string> sequential_;
};

// IngestJob(election, paths, options).Run().
absl::StatusOr<IngestResult> IngestFiles(const Election& election,
                                         const std::vector<std::string>& paths,
                                         const IngestOptions& options);

}  // namespace canvass

#endif  // CANVASS_ENGINE_INGEST_INGEST_H_
