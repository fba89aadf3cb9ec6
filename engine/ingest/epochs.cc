// A reading job's tasks run in epochs with a checkpoint after each (epochs.h).
#include "engine/ingest/epochs.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/base/crash_point.h"
#include "engine/base/status_macros.h"
#include "engine/base/workers.h"
#include "tbb/enumerable_thread_specific.h"
#include "tbb/parallel_for.h"

namespace canvass {
using ingest_internal::InputFile;
using ingest_internal::Task;
namespace {

uint64_t TaskBytes(const Task& task) { return task.range.end - task.range.begin; }

// What the job lends one task: the aggregator, the file's mapping and the progress lines.
class TaskContext : public RangeContext {
 public:
  TaskContext(Aggregator* aggregator, const MappedFile& mapped, canvass::Progress* progress)
      : aggregator_(aggregator), mapped_(mapped), progress_(progress) {}
  BallotSink& sink() override { return *aggregator_; }
  void Done(uint64_t begin, uint64_t end) override { mapped_.Done(begin, end); }
  void Progress(uint64_t bytes, uint64_t records) override { progress_->Add(bytes, records); }

 private:
  Aggregator* aggregator_;
  const MappedFile& mapped_;
  canvass::Progress* progress_;
};

// One reader per input format, made when a worker first reads a file of that format.
using Readers = std::vector<std::unique_ptr<RangeReader>>;

void RunTask(const Election& election, const InputFile& input, Task* task, Readers* readers,
             Aggregator* aggregator, Progress* progress) {
  std::unique_ptr<RangeReader>& reader = (*readers)[input.format_index];
  if (reader == nullptr) reader = input.format->NewReader(election, aggregator);
  TaskContext context(aggregator, *input.mapped, progress);
  std::optional<FileHasher> hasher;
  if (task->hash) hasher.emplace();
  input.opened->ReadRange(task->range, *reader, hasher ? &*hasher : nullptr, context,
                          &task->reading);
  if (hasher) task->hash_hex = hasher->HexDigest();
}

}  // namespace

EpochRunner::EpochRunner(const Election& election, const std::vector<InputFile>& inputs,
                         const IngestOptions& options, Aggregator* aggregator)
    : election_(election), inputs_(inputs), options_(options), aggregator_(aggregator) {}

void EpochRunner::RunEpoch(std::vector<Task>& tasks, size_t first, size_t last,
                           Progress& progress) {
  tbb::enumerable_thread_specific<Readers> readers([] { return Readers(InputFormats().size()); });
  std::vector<std::pair<uint64_t, size_t>> order;  // (bytes, task)
  order.reserve(last - first);
  for (size_t t = first; t < last; ++t) order.emplace_back(TaskBytes(tasks[t]), t);
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::atomic<size_t> next{0};  // one shared add per task, not per record
  const int workers = ResolveThreads(options_.threads);
  RunOnWorkers(options_.threads, [&] {
    tbb::parallel_for(
        0, workers,
        [&](int) {
          Readers& local = readers.local();  // once per worker, not per task
          for (size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < order.size();) {
            Task& task = tasks[order[i].second];
            RunTask(election_, inputs_[task.file], &task, &local, aggregator_, &progress);
            MaybeCrashAt(CrashPoint::kRangeDone);
          }
        },
        tbb::simple_partitioner());
  });
}

absl::Status EpochRunner::Run(const std::optional<Checkpoint>& resume,
                              const CheckpointLayout& resume_layout, const Checkpoint& identity,
                              std::vector<Task>* tasks_out) {
  std::vector<Task>& tasks = *tasks_out;
  size_t next = 0;
  uint64_t total_bytes = 0;
  for (const InputFile& input : inputs_) total_bytes += input.mapped->size();
  if (resume) {
    if (resume->election_fingerprint != identity.election_fingerprint ||
        resume->inputs_fingerprint != identity.inputs_fingerprint ||
        resume->tasks_total != tasks.size()) {
      return absl::DataLossError(
          absl::StrCat(options_.checkpoint_path,
                       ": checkpoint belongs to another job (other inputs, options "
                       "or election); remove it to start over"));
    }
    CANVASS_RETURN_IF_ERROR(aggregator_->Restore(
        std::vector<absl::string_view>(resume->aggregator.begin(), resume->aggregator.end())));
    for (; next < resume->done.size(); ++next) tasks[next].reading = resume->done[next];
  }
  CheckpointWriter writer(options_.checkpoint_path);
  if (resume) writer.ResumeFrom(resume_layout);
  size_t saved = next;  // tasks the checkpoint on disk holds
  Progress progress(options_.progress, total_bytes);
  const bool checkpointing = !options_.checkpoint_path.empty();
  while (next < tasks.size()) {
    size_t last = tasks.size();
    if (checkpointing) {
      uint64_t bytes = 0;
      for (last = next;
           last < tasks.size() && (last == next || bytes < options_.checkpoint_every_bytes);
           ++last) {
        bytes += TaskBytes(tasks[last]);
      }
    }
    RunEpoch(tasks, next, last, progress);
    next = last;
    if (checkpointing && next < tasks.size()) {
      // An append frame of what this epoch changed, unless the file has no whole frame yet
      // or the appends would outgrow it: then one whole frame in place of the log.
      std::string frame;
      if (writer.started()) {
        std::vector<RangeReading> done;
        for (size_t t = saved; t < next; ++t) done.push_back(tasks[t].reading);
        frame = EncodeCheckpointAppend(identity, saved, done, aggregator_->SnapshotChanges());
      }
      if (!frame.empty() && writer.AppendFits(frame.size())) {
        CANVASS_RETURN_IF_ERROR(writer.Append(frame));
      } else {
        Checkpoint checkpoint = identity;
        for (size_t t = 0; t < next; ++t) checkpoint.done.push_back(tasks[t].reading);
        checkpoint.aggregator = {aggregator_->Snapshot()};
        CANVASS_RETURN_IF_ERROR(writer.WriteWhole(EncodeCheckpoint(checkpoint)));
      }
      saved = next;
      MaybeCrashAt(CrashPoint::kCheckpointWritten);
    }
  }
  return absl::OkStatus();
}

}  // namespace canvass
