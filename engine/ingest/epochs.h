// Running a reading job's tasks in epochs: each epoch reads a share of the tasks on the
// workers, largest first; after each epoch but the last, while a checkpoint path is set,
// the done tasks' readings and the aggregator's state are saved (checkpoint.h), so that a
// job killed at any point resumes from the last epoch and ends exactly as an uninterrupted
// one. Without a checkpoint path the whole job is one epoch, unless several ranks run it
// (IngestOptions::ranks): then each epoch's tasks are shared out among the ranks, records
// are routed to their station's owner at its end (routing.h), and every rank learns every
// task's reading; with a checkpoint path, each rank saves its share after every epoch into
// one of its two slots (RankCheckpointSlot).
//
// Thread safety: Run() is called from one thread; it runs the tasks on options.threads
// workers and returns when they are done. The runner reads `inputs` (read-only) and writes
// only the tasks' readings and hashes, each task on one worker.
#ifndef CANVASS_ENGINE_INGEST_EPOCHS_H_
#define CANVASS_ENGINE_INGEST_EPOCHS_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "engine/aggregate/aggregator.h"
#include "engine/election/election.h"
#include "engine/ingest/checkpoint.h"
#include "engine/ingest/ingest.h"
#include "engine/ingest/internal/input_file.h"
#include "engine/ingest/progress.h"
#include "engine/ingest/routing.h"

namespace canvass {

class EpochRunner {
 public:
  // Requires: every argument outlives the runner; the inputs are opened.
  EpochRunner(const Election& election, const std::vector<ingest_internal::InputFile>& inputs,
              const IngestOptions& options, Aggregator* aggregator);
  ~EpochRunner();

  // Restores the aggregator and the first tasks' readings from `resume` when given (DataLoss
  // when it belongs to another job than `identity` says; its file's frames lie as
  // `resume_layout` says), then reads the other tasks, saving the progress after each
  // epoch: an append frame of what the epoch changed, or a whole frame (checkpoint.h).
  absl::Status Run(const std::optional<Checkpoint>& resume, const CheckpointLayout& resume_layout,
                   const Checkpoint& identity, std::vector<ingest_internal::Task>* tasks);

 private:
  // Reads tasks [first, last) on the workers, largest first: each worker takes the next
  // task in that order when it is free, so that the largest tasks never start last and the
  // workers finish within about one small task of each other. With several ranks, only
  // the tasks `owner` gives this rank (owner[t - first]); empty: every task.
  void RunEpoch(std::vector<ingest_internal::Task>& tasks, size_t first, size_t last,
                const std::vector<int>& owner, Progress& progress);
  absl::Status Restore(const Checkpoint& resume, const Checkpoint& identity,
                       std::vector<ingest_internal::Task>* tasks);

  const Election& election_;
  const std::vector<ingest_internal::InputFile>& inputs_;
  const IngestOptions& options_;
  Aggregator* aggregator_;
  std::unique_ptr<RoutingSink> routing_;  // with options.ranks: where the tasks' records go
};

}  // namespace canvass

#endif  // CANVASS_ENGINE_INGEST_EPOCHS_H_
