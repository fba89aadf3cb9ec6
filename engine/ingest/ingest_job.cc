// One reading job: paths expanded, files opened by their formats, ranges planned, read in
// epochs, accounted, checked against a manifest (ingest.h).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/aggregate/aggregator.h"
#include "engine/base/bytes.h"
#include "engine/base/file_util.h"
#include "engine/base/status_macros.h"
#include "engine/base/workers.h"
#include "engine/base/xxhash.h"
#include "engine/ingest/epochs.h"
#include "engine/ingest/ingest.h"
#include "engine/ingest/manifest_check.h"
#include "engine/ingest/paths.h"
#include "engine/ingest/streams.h"
#include "engine/ingest/truncation_guard.h"
#include "engine/io/cvb/cvb_format.h"
#include "tbb/parallel_for.h"

namespace canvass {
namespace fs = std::filesystem;
using ingest_internal::InputFile;
using ingest_internal::Task;
namespace {

// Opens, maps (at its place in `folder`) and lets its format open one file. Errors here
// are fatal whatever --skip-damaged says (missing file, another election, a future
// version); a file that is not a ballot file or is structurally damaged is recorded as its
// OpenedInput's damage instead.
absl::Status OpenInput(const Election& election, uint64_t fingerprint, const MappedFolder& folder,
                       InputFile* input) {
  const int fd = open(input->open_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat(input->path, ": cannot open file"));
  struct stat info {};
  if (fstat(fd, &info) != 0) {
    close(fd);
    return absl::NotFoundError(absl::StrCat(input->path, ": cannot stat file"));
  }
  if (static_cast<uint64_t>(info.st_size) > input->reserved_bytes) {
    close(fd);
    return absl::DataLossError(absl::StrCat(input->path, ": grew from ", input->reserved_bytes,
                                            " to ", info.st_size,
                                            " bytes while the job was starting"));
  }
  input->modified = info.st_mtim;
  absl::StatusOr<MappedFile> mapped =
      MappedFile::Map(input->path, fd, static_cast<size_t>(info.st_size), &folder,
                      folder.At(input->reserved_offset));
  close(fd);
  if (!mapped.ok()) return mapped.status();
  input->mapped = *mapped;
  const uint8_t* data = input->mapped->data();
  const size_t size = input->mapped->size();
  input->format = &RecognizeInputFormat(data, size);
  const std::vector<const InputFormat*>& formats = InputFormats();
  input->format_index = static_cast<size_t>(
      std::find(formats.begin(), formats.end(), input->format) - formats.begin());
  CANVASS_ASSIGN_OR_RETURN(input->opened,
                           input->format->Open(input->path, data, size, election, fingerprint));
  return absl::OkStatus();
}

// Gives each file a place in one reserved range of addresses (see MappedFolder), sized
// from its length now, then opens them on the job's workers: mapping a file and walking a
// cvb file's blocks fault in pages, which one thread alone would do for the whole folder
// before any reading. The first failure in file order is returned.
absl::Status OpenInputs(const Election& election, uint64_t fingerprint, int threads,
                        MappedFolder* folder, std::vector<InputFile>* inputs) {
  std::vector<int64_t> lengths(inputs->size(), -1);
  RunOnWorkers(threads, [&] {
    tbb::parallel_for(size_t{0}, inputs->size(), [&](size_t f) {
      struct stat info {};
      if (stat((*inputs)[f].open_path.c_str(), &info) == 0) lengths[f] = info.st_size;
    });
  });
  size_t reserved = 0;
  for (size_t f = 0; f < inputs->size(); ++f) {
    InputFile& input = (*inputs)[f];
    if (lengths[f] < 0) return absl::NotFoundError(absl::StrCat(input.path, ": cannot open file"));
    input.reserved_offset = reserved;
    input.reserved_bytes =
        (static_cast<size_t>(lengths[f]) + kPageBytes - 1) / kPageBytes * kPageBytes;
    reserved += input.reserved_bytes;
  }
  CANVASS_RETURN_IF_ERROR(folder->Reserve(reserved));
  std::vector<absl::Status> opened(inputs->size());
  RunOnWorkers(threads, [&] {
    tbb::parallel_for(size_t{0}, inputs->size(), [&](size_t f) {
      opened[f] = OpenInput(election, fingerprint, *folder, &(*inputs)[f]);
    });
  });
  for (const absl::Status& status : opened) CANVASS_RETURN_IF_ERROR(status);
  return absl::OkStatus();
}

// The largest file whose hash is taken while it is read, as one task (see
// IngestOptions::whole_file_bytes). With the tasks started largest first, the workers then
// finish within about one range of each other.
uint64_t WholeFileLimit(const std::vector<InputFile>& inputs, const IngestOptions& options) {
  if (options.whole_file_bytes) return *options.whole_file_bytes;
  uint64_t hashed_bytes = 0;
  for (const InputFile& input : inputs) {
    if (input.hash_wanted) hashed_bytes += input.mapped->size();
  }
  const uint64_t workers = std::max(1u, std::thread::hardware_concurrency());
  return std::max<uint64_t>(options.range_bytes, hashed_bytes / (2 * workers));
}

std::vector<Task> PlanTasks(const std::vector<InputFile>& inputs, size_t range_bytes,
                            uint64_t whole_file_limit) {
  std::vector<Task> tasks;
  for (size_t f = 0; f < inputs.size(); ++f) {
    const InputFile& input = inputs[f];
    const bool hashed = input.hash_wanted && input.mapped->size() <= whole_file_limit;
    for (const InputRange& range :
         input.opened->PlanRanges(range_bytes, /*whole=*/input.sequential || hashed)) {
      tasks.push_back(
          Task{.file = f, .range = range, .hash = hashed, .hash_hex = {}, .reading = {}});
    }
  }
  return tasks;
}

// Identifies the job a checkpoint belongs to: every input file (path, size, modification
// time) and every option that changes what the tasks are or what they count.
uint64_t InputsFingerprint(const std::vector<InputFile>& inputs, const IngestOptions& options,
                           uint64_t whole_file_limit) {
  std::string identity =
      absl::StrCat("canvass-inputs-v3|", options.range_bytes, "|", whole_file_limit, "|",
                   options.skip_damaged, "|", options.exactly_once, "|");
  // A rank's checkpoint holds its share of the state: it belongs to that rank of a job of
  // that many ranks only. (One process keeps the fingerprint it always had.)
  if (options.ranks != nullptr && options.ranks->size() > 1) {
    absl::StrAppend(&identity, "rank ", options.ranks->rank(), " of ", options.ranks->size(), "|");
  }
  for (const InputFile& input : inputs) {
    absl::StrAppend(&identity, input.path, "|", input.mapped->size(), "|", input.modified.tv_sec,
                    ".", input.modified.tv_nsec, "|");
  }
  return XXH3_64bits(identity.data(), identity.size());
}

// Each file's outcome, and the first malformed examples in file and location order. The
// earliest damage in a file is reported: a bad block lies before any structural damage
// (the scan stops there), and tasks are in offset order.
void CollectOutcomes(const std::vector<InputFile>& inputs, const std::vector<Task>& tasks,
                     IngestResult* result) {
  result->files.resize(inputs.size());
  for (size_t f = 0; f < inputs.size(); ++f) {
    FileOutcome& outcome = result->files[f];
    outcome.path = inputs[f].path;
    outcome.format = std::string(inputs[f].format->name());
    outcome.bytes = inputs[f].mapped->size();
    outcome.declared = inputs[f].opened->DeclaredRecords();
    result->bytes_read += outcome.bytes;
  }
  uint64_t line = 0;
  for (const Task& task : tasks) {
    const InputFile& input = inputs[task.file];
    FileOutcome& outcome = result->files[task.file];
    outcome.records += task.reading.records;
    outcome.malformed += task.reading.malformed;
    if (!task.reading.damage.empty() && outcome.damage.empty())
      outcome.damage = task.reading.damage;
    const bool by_line = input.format->location_kind() == LocationKind::kLine;
    if (task.range.first) line = input.opened->FirstRecordLine();
    for (uint64_t at : task.reading.malformed_at) {
      if (result->malformed.size() >= RangeReading::kMaxMalformedExamples) break;
      if (by_line) {
        result->malformed.push_back({input.path, line + at, std::nullopt});
      } else {
        result->malformed.push_back({input.path, 0, at});
      }
    }
    line += task.reading.line_breaks;
  }
  for (size_t f = 0; f < inputs.size(); ++f) {
    const absl::Status& damage = inputs[f].opened->damage();
    if (result->files[f].damage.empty() && !damage.ok()) {
      result->files[f].damage = std::string(damage.message());
    }
  }
}

// Without --skip-damaged, the first damaged file ends the job: not a ballot file keeps its
// code (InvalidArgument), damage inside one is DataLoss.
absl::Status FirstDamage(const std::vector<InputFile>& inputs, const IngestResult& result) {
  for (size_t f = 0; f < result.files.size(); ++f) {
    const FileOutcome& outcome = result.files[f];
    if (outcome.damage.empty()) continue;
    const absl::Status& file_level = inputs[f].opened->damage();
    const std::string message =
        absl::StrCat(outcome.damage, " (use --skip-damaged to account it and go on)");
    if (!file_level.ok() && outcome.damage == file_level.message()) {
      return absl::Status(file_level.code(), message);
    }
    return absl::DataLossError(message);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Checkpoint>> LoadCheckpoint(const std::string& path,
                                                         CheckpointLayout* layout) {
  std::error_code error;
  if (path.empty() || !fs::exists(path, error)) return std::optional<Checkpoint>();
  CANVASS_ASSIGN_OR_RETURN(const std::string bytes, ReadFileToString(path));
  CANVASS_ASSIGN_OR_RETURN(Checkpoint checkpoint, DecodeCheckpoint(path, bytes, layout));
  return std::optional<Checkpoint>(std::move(checkpoint));
}

// On a rank of a job of several: its two checkpoint slots (RankCheckpointSlot) read, and
// the one to resume from agreed with every other rank: the latest epoch (tasks done)
// that every rank has saved, or none. A slot that cannot be decoded is an error on every
// rank (AgreeOnStatus), as a bad checkpoint is for one process.
absl::StatusOr<std::optional<Checkpoint>> LoadRankCheckpoint(const std::string& path,
                                                             const RankGroup& ranks) {
  std::vector<Checkpoint> slots;
  absl::Status loaded;
  for (int slot = 0; slot < 2 && loaded.ok(); ++slot) {
    CheckpointLayout ignored;
    absl::StatusOr<std::optional<Checkpoint>> checkpoint =
        LoadCheckpoint(RankCheckpointSlot(path, ranks.rank(), ranks.size(), slot), &ignored);
    if (!checkpoint.ok()) {
      loaded = checkpoint.status();
    } else if (*checkpoint) {
      slots.push_back(**std::move(checkpoint));
    }
  }
  CANVASS_RETURN_IF_ERROR(AgreeOnStatus(ranks, loaded));
  std::string mine;
  for (const Checkpoint& checkpoint : slots) {
    PutLittleEndian<uint64_t>(checkpoint.done.size(), &mine);
  }
  const std::vector<std::string> all = ranks.AllGather(mine);
  // The done counts every rank has: those of rank 0 that each other rank has too.
  uint64_t chosen = 0;
  for (size_t at = 0; at + 8 <= all[0].size(); at += 8) {
    const uint64_t done = LoadLittleEndian<uint64_t>(all[0].data() + at);
    bool everywhere = true;
    for (const std::string& theirs : all) {
      bool here = false;
      for (size_t i = 0; i + 8 <= theirs.size(); i += 8) {
        here |= LoadLittleEndian<uint64_t>(theirs.data() + i) == done;
      }
      everywhere &= here;
    }
    if (everywhere) chosen = std::max(chosen, done);
  }
  for (Checkpoint& checkpoint : slots) {
    if (chosen > 0 && checkpoint.done.size() == chosen) {
      return std::optional<Checkpoint>(std::move(checkpoint));
    }
  }
  return std::optional<Checkpoint>();
}

// Removes this job's checkpoint: the file, or a rank's two slots.
void RemoveCheckpoint(const std::string& path, const RankGroup* ranks) {
  std::error_code ignored;  // a checkpoint already gone is no error
  if (ranks == nullptr || ranks->size() == 1) {
    fs::remove(path, ignored);
    return;
  }
  for (int slot = 0; slot < 2; ++slot) {
    fs::remove(RankCheckpointSlot(path, ranks->rank(), ranks->size(), slot), ignored);
  }
}

// Several ranks: the files of manifest folders that no task hashed while reading (each
// larger than one task) are hashed a share each, largest first to the least-loaded rank,
// and every rank learns every hash, so the manifest check (rank 0's) reads no file again.
absl::Status ShareLargeFileHashes(const RankGroup& ranks, int threads,
                                  std::vector<InputFile>* inputs) {
  std::vector<std::pair<uint64_t, size_t>> order;  // (bytes, input)
  for (size_t f = 0; f < inputs->size(); ++f) {
    const InputFile& input = (*inputs)[f];
    if (input.hash_wanted && input.hash.empty()) order.emplace_back(input.mapped->size(), f);
  }
  if (order.empty()) return absl::OkStatus();
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<uint64_t> load(static_cast<size_t>(ranks.size()), 0);
  std::vector<size_t> mine;
  for (const auto& [bytes, f] : order) {
    const size_t rank =
        static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    load[rank] += bytes + 1;
    if (static_cast<int>(rank) == ranks.rank()) mine.push_back(f);
  }
  std::vector<std::string> hashes(mine.size());
  RunOnWorkers(threads, [&] {
    tbb::parallel_for(size_t{0}, mine.size(),
                      [&](size_t i) { hashes[i] = HashMapped(*(*inputs)[mine[i]].mapped); });
  });
  std::string message;
  for (size_t i = 0; i < mine.size(); ++i) {
    PutLittleEndian<uint64_t>(mine[i], &message);
    PutLittleEndian<uint32_t>(static_cast<uint32_t>(hashes[i].size()), &message);
    message += hashes[i];
  }
  const std::vector<std::string> all = ranks.AllGather(message);
  for (int r = 0; r < ranks.size(); ++r) {
    absl::string_view in = all[r];
    while (!in.empty()) {
      uint64_t f = 0;
      uint32_t bytes = 0;
      if (!ConsumeLittleEndian(&in, &f) || !ConsumeLittleEndian(&in, &bytes) ||
          f >= inputs->size() || bytes > in.size()) {
        return absl::InternalError(absl::StrCat("rank ", r, " sent file hashes that do not parse"));
      }
      (*inputs)[f].hash = std::string(in.substr(0, bytes));
      in.remove_prefix(bytes);
    }
  }
  return absl::OkStatus();
}

}  // namespace

IngestJob::IngestJob(const Election& election, std::vector<std::string> paths,
                     IngestOptions options)
    : election_(election), paths_(std::move(paths)), options_(std::move(options)) {}

absl::StatusOr<std::optional<IngestResult>> IngestJob::ReadOnce() {
  ExpandedPaths expanded = expanded_;
  Checkpoint identity;
  identity.election_fingerprint = ElectionFingerprint(election_);
  MappedFolder folder;  // outlives `inputs`, whose mappings lie in it
  std::vector<InputFile> inputs(expanded.files.size());
  for (size_t f = 0; f < inputs.size(); ++f) {
    inputs[f].path = expanded.files[f];
    inputs[f].open_path = streams_.OpenPath(expanded.files[f]);
  }
  absl::Status opened =
      OpenInputs(election_, identity.election_fingerprint, options_.threads, &folder, &inputs);
  // From here on a file another process truncates while the job reads it is exit 2
  // naming the file, not a death by SIGBUS (truncation_guard.h).
  std::vector<MappedRange> mapped_ranges;
  for (const InputFile& input : inputs) {
    if (input.mapped) {
      mapped_ranges.push_back({input.mapped->data(), input.mapped->size(), input.path});
    }
  }
  const TruncationGuard truncation_guard(std::move(mapped_ranges));
  // Every rank opens every file (they plan the same ranges); a file one rank cannot open
  // ends the job on all of them.
  if (options_.ranks != nullptr) opened = AgreeOnStatus(*options_.ranks, opened);
  CANVASS_RETURN_IF_ERROR(opened);
  for (InputFile& input : inputs) {
    input.sequential = sequential_.count(input.path) > 0;
    for (const std::string& directory : expanded.manifest_dirs) {
      input.hash_wanted |= fs::path(input.path).parent_path() == fs::path(directory);
    }
  }
  const uint64_t whole_file_limit = WholeFileLimit(inputs, options_);
  identity.inputs_fingerprint = InputsFingerprint(inputs, options_, whole_file_limit);
  identity.sequential_files.assign(sequential_.begin(), sequential_.end());
  std::vector<Task> tasks = PlanTasks(inputs, options_.range_bytes, whole_file_limit);
  identity.tasks_total = tasks.size();
  AggregatorOptions aggregation;
  aggregation.exactly_once = options_.exactly_once;
  // A rank of several writes only its blocks of the state: small pages (aggregator.h).
  aggregation.huge_pages = options_.ranks == nullptr || options_.ranks->size() == 1;
  CANVASS_RETURN_IF_ERROR(Aggregator::CheckStateFits(election_, aggregation));
  Aggregator aggregator(election_, aggregation);
  EpochRunner epochs(election_, inputs, options_, &aggregator);
  CANVASS_RETURN_IF_ERROR(epochs.Run(resume_, resume_layout_, identity, &tasks));
  // Tasks resumed from a checkpoint did not run here: their files are hashed afterwards.
  for (const Task& task : tasks) {
    if (!task.hash_hex.empty()) inputs[task.file].hash = task.hash_hex;
  }
  // The ranges of a file that read anything must meet exactly (a range inside one long
  // line reads nothing: begin == end); otherwise the file is read again as one range.
  bool retry = false;
  for (size_t t = 0, last = SIZE_MAX; t < tasks.size(); ++t) {
    const RangeReading& reading = tasks[t].reading;
    if (reading.begin == reading.end) continue;
    if (last != SIZE_MAX && tasks[last].file == tasks[t].file &&
        tasks[last].reading.end != reading.begin) {
      retry |= sequential_.insert(inputs[tasks[t].file].path).second;
    }
    last = t;
  }
  if (retry) return std::optional<IngestResult>();
  IngestResult result;
  result.skipped = std::move(expanded.skipped);
  result.repeated = std::move(expanded.repeated);
  absl::StatusOr<Tally> tally = aggregator.Finish();
  if (options_.ranks != nullptr) {
    CANVASS_RETURN_IF_ERROR(AgreeOnStatus(*options_.ranks, tally.status()));
    tally = SumTallyOverRanks(*options_.ranks, *tally);
  }
  CANVASS_ASSIGN_OR_RETURN(result.tally, std::move(tally));
  CollectOutcomes(inputs, tasks, &result);
  if (!options_.skip_damaged) CANVASS_RETURN_IF_ERROR(FirstDamage(inputs, result));
  if (options_.ranks != nullptr && options_.ranks->size() > 1 && !expanded.manifest_dirs.empty()) {
    CANVASS_RETURN_IF_ERROR(AgreeOnStatus(
        *options_.ranks, ShareLargeFileHashes(*options_.ranks, options_.threads, &inputs)));
  }
  // With several ranks only rank 0 reports, so only it checks the manifest.
  const bool checks_manifest = options_.ranks == nullptr || options_.ranks->rank() == 0;
  for (const std::string& directory : expanded.manifest_dirs) {
    if (!checks_manifest) break;
    // Hashing is part of the job: it runs on the job's workers, no more.
    absl::Status verified;
    RunOnWorkers(options_.threads,
                 [&] { verified = VerifyManifest(election_, directory, inputs, &result); });
    CANVASS_RETURN_IF_ERROR(verified);
  }
  return std::optional<IngestResult>(std::move(result));
}

absl::StatusOr<IngestResult> IngestJob::Run() {
  // Once for every attempt: a stream can be read only once (streams.h).
  CANVASS_RETURN_IF_ERROR(ExpandPaths(paths_, &expanded_));
  for (const std::string& file : expanded_.files) {
    if (!options_.checkpoint_path.empty() && IsStream(file)) {
      return absl::InvalidArgumentError(absl::StrCat(
          file,
          " is a stream (a pipe or a device): a job reading one cannot be resumed, so it "
          "takes no --checkpoint; give it as a file to checkpoint the job"));
    }
  }
  const RankGroup* ranks =
      options_.ranks != nullptr && options_.ranks->size() > 1 ? options_.ranks : nullptr;
  // On ranks, rank 0 reads every stream and sends its bytes to the others (streams.h).
  CANVASS_RETURN_IF_ERROR(ranks != nullptr ? streams_.SpoolOnRanks(expanded_.files, *ranks)
                                           : streams_.Spool(expanded_.files));
  // Held until the job ends, so that no other job writes the same checkpoint meanwhile.
  std::optional<CheckpointLock> lock;
  if (!options_.checkpoint_path.empty()) {
    // Each rank of a job of several holds its own checkpoint files (RankCheckpointSlot).
    const std::string locked =
        ranks ? RankCheckpointPath(options_.checkpoint_path, ranks->rank(), ranks->size())
              : options_.checkpoint_path;
    absl::StatusOr<CheckpointLock> acquired = CheckpointLock::Acquire(locked);
    if (ranks != nullptr) CANVASS_RETURN_IF_ERROR(AgreeOnStatus(*ranks, acquired.status()));
    CANVASS_RETURN_IF_ERROR(acquired.status());
    lock.emplace(*std::move(acquired));
  }
  if (ranks != nullptr && !options_.checkpoint_path.empty()) {
    CANVASS_ASSIGN_OR_RETURN(resume_, LoadRankCheckpoint(options_.checkpoint_path, *ranks));
  } else {
    CANVASS_ASSIGN_OR_RETURN(resume_, LoadCheckpoint(options_.checkpoint_path, &resume_layout_));
  }
  // Ranges of a CSV file are cut at line breaks assuming no quoted field spans a cut; a
  // file where one does is read again as a single range, from scratch, so nothing is
  // counted twice. A resumed job starts with the files its checkpoint read that way.
  if (resume_)
    sequential_.insert(resume_->sequential_files.begin(), resume_->sequential_files.end());
  while (true) {
    CANVASS_ASSIGN_OR_RETURN(std::optional<IngestResult> result, ReadOnce());
    if (!options_.checkpoint_path.empty()) RemoveCheckpoint(options_.checkpoint_path, ranks);
    if (result) return *std::move(result);
    resume_.reset();
  }
}

absl::StatusOr<IngestResult> IngestFiles(const Election& election,
                                         const std::vector<std::string>& paths,
                                         const IngestOptions& options) {
  return IngestJob(election, paths, options).Run();
}

}  // namespace canvass
