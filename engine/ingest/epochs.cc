// A reading job's tasks run in epochs with a checkpoint after each (epochs.h).
#include "engine/ingest/epochs.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/base/activity.h"
#include "engine/base/bytes.h"
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
  TaskContext(BallotSink* sink, const MappedFile& mapped, canvass::Progress* progress)
      : sink_(sink), mapped_(mapped), progress_(progress) {}
  BallotSink& sink() override { return *sink_; }
  void Done(uint64_t begin, uint64_t end) override { mapped_.Done(begin, end); }
  void Progress(uint64_t bytes, uint64_t records) override { progress_->Add(bytes, records); }

 private:
  BallotSink* sink_;
  const MappedFile& mapped_;
  canvass::Progress* progress_;
};

// One reader per input format, made when a worker first reads a file of that format.
using Readers = std::vector<std::unique_ptr<RangeReader>>;

void RunTask(const Election& election, const InputFile& input, Task* task, Readers* readers,
             BallotSink* sink, Progress* progress) {
  std::unique_ptr<RangeReader>& reader = (*readers)[input.format_index];
  if (reader == nullptr) reader = input.format->NewReader(election, sink);
  SetActivity(absl::StrCat("reading ", input.path, " (bytes ", task->range.begin, " to ",
                           task->range.end, ")"));
  TaskContext context(sink, *input.mapped, progress);
  std::optional<FileHasher> hasher;
  if (task->hash) hasher.emplace();
  input.opened->ReadRange(task->range, *reader, hasher ? &*hasher : nullptr, context,
                          &task->reading);
  if (hasher) task->hash_hex = hasher->HexDigest();
}

// The rank that reads each of tasks [first, last): largest first, each to the rank with
// the fewest bytes so far (the lowest of equals), so that the ranks finish an epoch within
// about one task of each other. The same on every rank: a function of the plan alone.
std::vector<int> AssignTasks(const std::vector<Task>& tasks, size_t first, size_t last, int ranks) {
  std::vector<std::pair<uint64_t, size_t>> order;  // (bytes, task)
  for (size_t t = first; t < last; ++t) order.emplace_back(TaskBytes(tasks[t]), t);
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<uint64_t> load(static_cast<size_t>(ranks), 0);
  std::vector<int> owner(last - first, 0);
  for (const auto& [bytes, t] : order) {
    const int rank = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
    owner[t - first] = rank;
    load[rank] += bytes + 1;  // + 1: tasks that read nothing still spread
  }
  return owner;
}

// After an epoch of a job of several ranks: every rank's readings (and whole-file hashes)
// of the tasks it read, so that each rank holds the whole plan's outcome, as one process
// would.
absl::Status ShareReadings(const RankGroup& ranks, const std::vector<int>& owner, size_t first,
                           std::vector<Task>* tasks) {
  std::vector<RangeReading> mine;
  std::string hashes;
  for (size_t t = first; t < first + owner.size(); ++t) {
    if (owner[t - first] != ranks.rank()) continue;
    mine.push_back((*tasks)[t].reading);
    PutLittleEndian<uint32_t>(static_cast<uint32_t>((*tasks)[t].hash_hex.size()), &hashes);
    hashes += (*tasks)[t].hash_hex;
  }
  std::string message;
  const std::string readings = EncodeReadings(mine);
  PutLittleEndian<uint64_t>(readings.size(), &message);
  message += readings;
  message += hashes;
  const std::vector<std::string> all = ranks.AllGather(message);
  for (int r = 0; r < ranks.size(); ++r) {
    absl::string_view in = all[r];
    uint64_t readings_bytes = 0;
    std::vector<RangeReading> theirs;
    bool whole = ConsumeLittleEndian(&in, &readings_bytes) && readings_bytes <= in.size() &&
                 DecodeReadings(in.substr(0, readings_bytes), owner.size(), &theirs);
    in.remove_prefix(std::min<uint64_t>(readings_bytes, in.size()));
    size_t next = 0;
    for (size_t t = first; whole && t < first + owner.size(); ++t) {
      if (owner[t - first] != r) continue;
      uint32_t hash_bytes = 0;
      whole =
          next < theirs.size() && ConsumeLittleEndian(&in, &hash_bytes) && hash_bytes <= in.size();
      if (!whole) break;
      (*tasks)[t].reading = std::move(theirs[next++]);
      (*tasks)[t].hash_hex = std::string(in.substr(0, hash_bytes));
      in.remove_prefix(hash_bytes);
    }
    if (!whole || next != theirs.size() || !in.empty()) {
      return absl::InternalError(
          absl::StrCat("rank ", r, " sent readings that do not match its share of the plan"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

EpochRunner::EpochRunner(const Election& election, const std::vector<InputFile>& inputs,
                         const IngestOptions& options, Aggregator* aggregator)
    : election_(election), inputs_(inputs), options_(options), aggregator_(aggregator) {
  if (options.ranks != nullptr) {
    routing_ = std::make_unique<RoutingSink>(election, *options.ranks, aggregator);
  }
}

EpochRunner::~EpochRunner() = default;

void EpochRunner::RunEpoch(std::vector<Task>& tasks, size_t first, size_t last,
                           const std::vector<int>& owner, Progress& progress) {
  tbb::enumerable_thread_specific<Readers> readers([] { return Readers(InputFormats().size()); });
  BallotSink* sink = aggregator_;
  if (routing_) sink = routing_.get();
  std::vector<std::pair<uint64_t, size_t>> order;  // (bytes, task)
  order.reserve(last - first);
  for (size_t t = first; t < last; ++t) {
    if (!owner.empty() && owner[t - first] != options_.ranks->rank()) continue;
    order.emplace_back(TaskBytes(tasks[t]), t);
  }
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
            RunTask(election_, inputs_[task.file], &task, &local, sink, &progress);
            MaybeCrashAt(CrashPoint::kRangeDone);
          }
        },
        tbb::simple_partitioner());
  });
}

// Restores the aggregator and the first tasks' readings from `resume`; DataLoss when it
// belongs to another job than `identity` says.
absl::Status EpochRunner::Restore(const Checkpoint& resume, const Checkpoint& identity,
                                  std::vector<Task>* tasks) {
  if (resume.election_fingerprint != identity.election_fingerprint ||
      resume.inputs_fingerprint != identity.inputs_fingerprint ||
      resume.tasks_total != tasks->size() || resume.done.size() > tasks->size()) {
    return absl::DataLossError(
        absl::StrCat(options_.checkpoint_path,
                     ": checkpoint belongs to another job (other inputs, options "
                     "or election); remove it to start over"));
  }
  CANVASS_RETURN_IF_ERROR(aggregator_->Restore(
      std::vector<absl::string_view>(resume.aggregator.begin(), resume.aggregator.end())));
  for (size_t t = 0; t < resume.done.size(); ++t) (*tasks)[t].reading = resume.done[t];
  return absl::OkStatus();
}

absl::Status EpochRunner::Run(const std::optional<Checkpoint>& resume,
                              const CheckpointLayout& resume_layout, const Checkpoint& identity,
                              std::vector<Task>* tasks_out) {
  std::vector<Task>& tasks = *tasks_out;
  const RankGroup* ranks = options_.ranks;
  size_t next = 0;
  uint64_t total_bytes = 0;
  for (const InputFile& input : inputs_) total_bytes += input.mapped->size();
  if (resume) {
    absl::Status restored = Restore(*resume, identity, &tasks);
    if (ranks != nullptr) restored = AgreeOnStatus(*ranks, restored);
    CANVASS_RETURN_IF_ERROR(restored);
    next = resume->done.size();
  }
  CheckpointWriter writer(options_.checkpoint_path);
  if (resume) writer.ResumeFrom(resume_layout);
  size_t saved = next;  // tasks the checkpoint on disk holds
  Progress progress(options_.progress, total_bytes);
  const bool checkpointing = !options_.checkpoint_path.empty();
  // With several ranks, records of other ranks' stations wait for the end of their epoch:
  // epochs of about checkpoint_every_bytes a rank bound what waits.
  const uint64_t epoch_bytes =
      options_.checkpoint_every_bytes * static_cast<uint64_t>(ranks ? ranks->size() : 1);
  auto epoch_end = [&](size_t first) {
    if (!checkpointing && !ranks) return tasks.size();
    uint64_t bytes = 0;
    size_t last = first;
    for (; last < tasks.size() && (last == first || bytes < epoch_bytes); ++last) {
      bytes += TaskBytes(tasks[last]);
    }
    return last;
  };
  // The ordinal of the epoch that ends where the job resumes (a rank's checkpoint slot).
  uint64_t ordinal = 0;
  for (size_t at = 0; at < next; at = epoch_end(at)) ++ordinal;
  while (next < tasks.size()) {
    const size_t last = epoch_end(next);
    std::vector<int> owner;
    if (ranks) owner = AssignTasks(tasks, next, last, ranks->size());
    RunEpoch(tasks, next, last, owner, progress);
    if (ranks) {
      SetActivity("sending the epoch's records to their stations' ranks");
      CANVASS_RETURN_IF_ERROR(AgreeOnStatus(*ranks, routing_->Exchange(options_.threads)));
      CANVASS_RETURN_IF_ERROR(AgreeOnStatus(*ranks, ShareReadings(*ranks, owner, next, &tasks)));
    }
    next = last;
    ++ordinal;
    if (!checkpointing || next == tasks.size()) continue;
    if (ranks != nullptr) {
      // A whole checkpoint of this rank's share into the slot of this epoch's ordinal.
      Checkpoint checkpoint = identity;
      for (size_t t = 0; t < next; ++t) checkpoint.done.push_back(tasks[t].reading);
      checkpoint.aggregator = {aggregator_->Snapshot()};
      CheckpointWriter slot(RankCheckpointSlot(options_.checkpoint_path, ranks->rank(),
                                               ranks->size(), static_cast<int>(ordinal % 2)));
      SetActivity(absl::StrCat("writing its checkpoint ", slot.path()));
      CANVASS_RETURN_IF_ERROR(AgreeOnStatus(*ranks, slot.WriteWhole(EncodeCheckpoint(checkpoint))));
      MaybeCrashAt(CrashPoint::kCheckpointWritten);
      continue;
    }
    // An append frame of what this epoch changed, unless the file has no whole frame yet
    // or the appends would outgrow it: then one whole frame in place of the log.
    SetActivity(absl::StrCat("writing the checkpoint ", options_.checkpoint_path));
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
  return absl::OkStatus();
}

}  // namespace canvass
