// Reading ballot files in parallel into an Aggregator (IngestFiles, see files.h).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/aggregate/aggregator.h"
#include "engine/base/bytes.h"
#include "engine/base/check.h"
#include "engine/base/crash_point.h"
#include "engine/base/status_macros.h"
#include "engine/base/xxhash.h"
#include "engine/io/csv/csv_format.h"
#include "engine/io/cvb/cvb_format.h"
#include "engine/pipeline/checkpoint.h"
#include "engine/pipeline/files.h"
#include "engine/pipeline/pipeline.h"
#include "engine/pipeline/truncation_guard.h"
#include "tbb/enumerable_thread_specific.h"
#include "tbb/global_control.h"
#include "tbb/parallel_for.h"
#include "tbb/task_arena.h"

namespace canvass {
namespace fs = std::filesystem;
namespace {

constexpr size_t kPageBytes = 4096;

// One range of addresses reserved for all the input files of a job, mapped side by side.
// Every unmap and every release of pages interrupts the other cores running the job to
// flush their TLBs (a VM exit on each side on a virtual machine): a call per file, or per
// range read, cost more than reading a small file. So tasks only report the bytes they
// are done with, and once the job has read kDropEveryBytes since the last drop, the
// thread that passes the mark drops every page of the folder in one call. The page cache
// keeps the files; pages a task is still reading fault in again (at most one step each).
// The process's resident set stays within kDropEveryBytes of input plus each task's step,
// whatever the folder's size (tests/io/memory_test.cc).
class MappedFolder {
 public:
  MappedFolder() = default;
  MappedFolder(const MappedFolder&) = delete;
  MappedFolder& operator=(const MappedFolder&) = delete;
  ~MappedFolder() {
    if (base_ != nullptr) munmap(base_, bytes_);
  }
  // Reserves `bytes` of addresses (no memory is committed).
  absl::Status Reserve(size_t bytes) {
    if (bytes == 0) return absl::OkStatus();
    void* base =
        mmap(nullptr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot reserve ", bytes, " bytes of addresses for the input files"));
    }
    base_ = static_cast<uint8_t*>(base);
    bytes_ = bytes;
    return absl::OkStatus();
  }
  uint8_t* At(size_t offset) const { return base_ + offset; }
  // A task is done with `bytes` of some file. Safe from many threads.
  void Done(uint64_t bytes) const {
    if (read_.fetch_add(bytes, std::memory_order_relaxed) + bytes < kDropEveryBytes) return;
    if (read_.exchange(0, std::memory_order_relaxed) >= kDropEveryBytes && base_ != nullptr) {
      madvise(base_, bytes_, MADV_DONTNEED);
    }
  }

 private:
  static constexpr uint64_t kDropEveryBytes = 128u << 20;
  uint8_t* base_ = nullptr;
  size_t bytes_ = 0;
  mutable std::atomic<uint64_t> read_{0};  // done with since the last drop
};

// A read-only mapping of one input file, inside its job's MappedFolder.
class MappedFile {
 public:
  // Maps the open file `fd` (of `size` bytes) at `where`, which the folder reserved for at
  // least `size` bytes.
  static absl::StatusOr<MappedFile> Map(const std::string& path, int fd, size_t size,
                                        const MappedFolder* folder, uint8_t* where) {
    MappedFile file;
    file.size_ = size;
    file.folder_ = folder;
    if (size == 0) return file;
    void* data = mmap(where, size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
    if (data == MAP_FAILED) return absl::DataLossError(absl::StrCat(path, ": cannot map file"));
    file.data_ = static_cast<const uint8_t*>(data);
    madvise(data, size, MADV_SEQUENTIAL);
    return file;
  }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  // The job is done reading [begin, end) (see MappedFolder::Done).
  void Done(size_t begin, size_t end) const {
    if (end > begin) folder_->Done(end - begin);
  }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  const MappedFolder* folder_ = nullptr;
};

// A streaming XXH3-128, as the manifest writes it (hex, high word first).
class FileHasher {
 public:
  FileHasher() : state_(XXH3_createState()) { XXH3_128bits_reset(state_); }
  ~FileHasher() { XXH3_freeState(state_); }
  FileHasher(const FileHasher&) = delete;
  FileHasher& operator=(const FileHasher&) = delete;
  void Update(const uint8_t* data, size_t size) { XXH3_128bits_update(state_, data, size); }
  std::string HexDigest() const {
    const XXH128_hash_t hash = XXH3_128bits_digest(state_);
    return Hex128(hash.high64, hash.low64);
  }

 private:
  XXH3_state_t* state_;
};

// XXH3-128 of a mapped file, as hex, read in 8 MiB steps reported done as they go so that
// hashing a large folder stays within the memory bound (and copies nothing).
std::string HashMapped(const MappedFile& file) {
  FileHasher hasher;
  constexpr size_t kStep = 8u << 20;
  for (size_t offset = 0; offset < file.size(); offset += kStep) {
    const size_t length = std::min(kStep, file.size() - offset);
    hasher.Update(file.data() + offset, length);
    file.Done(offset, offset + length);
  }
  return hasher.HexDigest();
}

struct InputFile {
  std::string path;
  std::optional<MappedFile> mapped;
  size_t reserved_offset = 0, reserved_bytes = 0;  // its place in the MappedFolder
  struct timespec modified {};                     // when opened
  FileFormat format = FileFormat::kCsv;
  size_t records_begin = 0;  // CSV: after the header
  CvbLayout layout;          // cvb
  absl::Status damage;       // file-level damage found before reading (not a ballot file, ...)
  bool sequential = false;   // CSV read as one range (quoted line breaks at range edges)
  // In a folder with a manifest: the file's hash is wanted. A file small enough to be one
  // task is hashed by that task while it reads (each byte read from memory once); `hash`
  // is then set, else VerifyManifest reads the file again to hash it.
  bool hash_wanted = false;
  std::string hash;
};

struct Task {
  size_t file = 0;
  size_t begin = 0, end = 0;  // CSV byte range; cvb: block index range
  bool first = false;
  bool hash = false;  // the whole file, hashed as it is read into `hash_hex`
  std::string hash_hex;
  IngestTaskState state;
};

// A ballot file's name ends in .csv or .cvb, in any case (A.CSV, b.Cvb).
bool HasBallotSuffix(const std::string& name) {
  if (name.size() < 4) return false;
  std::string suffix = name.substr(name.size() - 4);
  for (char& c : suffix) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return suffix == ".csv" || suffix == ".cvb";
}

// PATH... as the files to read: a file as given; a folder's regular files named *.csv or
// *.cvb (any case), sorted by name, not recursing. Every other entry of a folder but its
// manifest is listed in *skipped with the reason; a file given again (the same device and
// inode, under any path) is read once and listed in *repeated. NotFound for a path that
// does not exist; InvalidArgument for a folder that cannot be listed (with the system's
// reason) and when no file is left to read.
absl::Status ExpandPaths(const std::vector<std::string>& paths, std::vector<std::string>* files,
                         std::vector<std::string>* manifest_dirs,
                         std::vector<SkippedInput>* skipped, std::vector<RepeatedInput>* repeated) {
  std::map<std::pair<dev_t, ino_t>, std::string> first_path;
  auto add_file = [&](const std::string& path) {
    struct stat info {};
    if (stat(path.c_str(), &info) == 0) {
      auto [it, inserted] = first_path.emplace(std::make_pair(info.st_dev, info.st_ino), path);
      if (!inserted) {
        repeated->push_back({path, it->second});
        return;
      }
    }
    files->push_back(path);  // a file that cannot be read is named when it is opened
  };
  for (const std::string& path : paths) {
    std::error_code error;
    const fs::file_status status = fs::status(path, error);
    if (error || !fs::exists(status)) {
      return absl::NotFoundError(absl::StrCat(path, ": no such file or folder"));
    }
    if (!fs::is_directory(status)) {
      add_file(path);
      continue;
    }
    std::vector<std::string> found;
    std::vector<SkippedInput> not_read;
    fs::directory_iterator entries(path, error);
    for (; !error && entries != fs::directory_iterator(); entries.increment(error)) {
      const fs::directory_entry& entry = *entries;
      const std::string name = entry.path().filename().string();
      std::error_code entry_error;
      const fs::file_status entry_status = entry.status(entry_error);
      if (name == kManifestFileName) continue;
      if (entry_error || !fs::exists(entry_status)) {
        not_read.push_back({entry.path().string(), "a link to nothing"});
      } else if (fs::is_directory(entry_status)) {
        not_read.push_back({entry.path().string(), "a folder (folders are not read recursively)"});
      } else if (!fs::is_regular_file(entry_status)) {
        not_read.push_back({entry.path().string(), "not a regular file"});
      } else if (!HasBallotSuffix(name)) {
        not_read.push_back({entry.path().string(), "not a .csv or .cvb file"});
      } else {
        found.push_back(entry.path().string());
      }
    }
    if (error) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": cannot list the folder: ", error.message()));
    }
    std::sort(found.begin(), found.end());
    std::sort(not_read.begin(), not_read.end(),
              [](const SkippedInput& a, const SkippedInput& b) { return a.path < b.path; });
    for (const std::string& file : found) add_file(file);
    skipped->insert(skipped->end(), not_read.begin(), not_read.end());
    if (fs::exists(fs::path(path) / kManifestFileName, error)) manifest_dirs->push_back(path);
  }
  if (files->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no ballot files to read in ", absl::StrJoin(paths, ", "),
        skipped->empty()
            ? ""
            : absl::StrCat(" (", skipped->size(), " entries skipped: ", (*skipped)[0].path, ": ",
                           (*skipped)[0].reason, skipped->size() > 1 ? ", ..." : "", ")")));
  }
  return absl::OkStatus();
}

// Opens, maps (at its place in `folder`) and classifies one file. Errors here are fatal
// whatever --skip-damaged says (missing file, another election, a future version); a file
// that is not a ballot file or is structurally damaged is recorded as damage instead.
absl::Status OpenInput(const Election& election, uint64_t fingerprint, const MappedFolder& folder,
                       InputFile* input) {
  const int fd = open(input->path.c_str(), O_RDONLY | O_CLOEXEC);
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
  if (LooksLikeCvb(data, size)) {
    input->format = FileFormat::kCvb;
    CANVASS_ASSIGN_OR_RETURN(input->layout, ScanCvb(input->path, data, size, fingerprint));
    input->damage = input->layout.damage;
    return absl::OkStatus();
  }
  absl::StatusOr<size_t> header = CheckCsvHeader(input->path, data, size);
  if (!header.ok()) {
    input->damage = header.status();
    return absl::OkStatus();
  }
  input->records_begin = *header;
  return absl::OkStatus();
}

// The largest CSV file whose hash is taken while it is parsed, as one task (see
// IngestOptions::whole_file_bytes). With the tasks started largest first, the workers then
// finish within about one range of each other.
uint64_t WholeFileLimit(const std::vector<InputFile>& inputs, const IngestOptions& options) {
  if (options.whole_file_bytes) return *options.whole_file_bytes;
  const size_t range_bytes = options.range_bytes;
  uint64_t hashed_bytes = 0;
  for (const InputFile& input : inputs) {
    if (input.hash_wanted) hashed_bytes += input.mapped->size();
  }
  const uint64_t workers = std::max(1u, std::thread::hardware_concurrency());
  return std::max<uint64_t>(range_bytes, hashed_bytes / (2 * workers));
}

std::vector<Task> PlanTasks(const std::vector<InputFile>& inputs, size_t range_bytes,
                            uint64_t whole_file_limit) {
  std::vector<Task> tasks;
  for (size_t f = 0; f < inputs.size(); ++f) {
    const InputFile& input = inputs[f];
    if (input.format == FileFormat::kCsv) {
      if (!input.damage.ok()) continue;
      const size_t size = input.mapped->size();
      const bool whole = input.sequential || (input.hash_wanted && size <= whole_file_limit);
      const size_t step = whole ? size + 1 : range_bytes;
      for (size_t begin = input.records_begin; begin < size || begin == input.records_begin;
           begin += step) {
        tasks.push_back(Task{.file = f,
                             .begin = begin,
                             .end = std::min(size, begin + step),
                             .first = begin == input.records_begin,
                             .hash = whole && input.hash_wanted,
                             .hash_hex = {},
                             .state = {}});
        if (begin >= size) break;
      }
      continue;
    }
    // cvb: the whole file, or groups of consecutive blocks of about range_bytes.
    const std::vector<CvbBlockRef>& blocks = input.layout.blocks;
    if (input.hash_wanted && input.mapped->size() <= whole_file_limit) {
      tasks.push_back(Task{.file = f,
                           .begin = 0,
                           .end = blocks.size(),
                           .first = false,
                           .hash = true,
                           .hash_hex = {},
                           .state = {}});
      continue;
    }
    for (size_t first = 0; first < blocks.size();) {
      size_t last = first, bytes = 0;
      while (last < blocks.size() && (last == first || bytes < range_bytes)) {
        bytes += blocks[last].bytes;
        ++last;
      }
      tasks.push_back(Task{.file = f, .begin = first, .end = last, .hash_hex = {}, .state = {}});
      first = last;
    }
  }
  return tasks;
}

// Prints bytes, ballots, rate and ETA on stderr twice a second while reading.
class Progress {
 public:
  Progress(bool enabled, uint64_t total_bytes) : enabled_(enabled), total_bytes_(total_bytes) {
    if (enabled_) thread_ = std::thread([this] { Loop(); });
  }
  ~Progress() {
    if (!enabled_) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    thread_.join();
    Print();
    std::fputc('\n', stderr);
  }
  void Add(uint64_t bytes, uint64_t records) {
    bytes_.fetch_add(bytes, std::memory_order_relaxed);
    records_.fetch_add(records, std::memory_order_relaxed);
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::milliseconds(500), [this] { return done_; })) Print();
  }
  void Print() {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double bytes = static_cast<double>(bytes_.load(std::memory_order_relaxed));
    const double records = static_cast<double>(records_.load(std::memory_order_relaxed));
    const double rate = seconds > 0 ? bytes / seconds : 0;
    const double eta = rate > 0 ? (static_cast<double>(total_bytes_) - bytes) / rate : 0;
    std::fprintf(stderr, "\r  %.1f of %.1f MiB, %.0f ballots, %.1f M ballots/s, ETA %.0f s   ",
                 bytes / 1048576, static_cast<double>(total_bytes_) / 1048576, records,
                 seconds > 0 ? records / seconds / 1e6 : 0.0, eta);
  }

  const bool enabled_;
  const uint64_t total_bytes_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::atomic<uint64_t> bytes_{0}, records_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::thread thread_;
};

// A whole CSV file as one task: steps small enough to stay in cache are hashed and then
// parsed, each step starting where the last one's records ended, so that the records are
// exactly those of one range over the file.
void RunHashedCsvTask(const InputFile& input, Task* task, Aggregator* aggregator,
                      CsvRangeParser* parser, Progress* progress) {
  constexpr size_t kStep = 256u << 10;  // hashed, then parsed from cache
  const MappedFile& mapped = *input.mapped;
  const uint8_t* data = mapped.data();
  const size_t size = mapped.size();
  FileHasher hasher;
  hasher.Update(data, task->begin);  // the header
  size_t hashed = task->begin, done = 0, p = task->begin;
  IngestTaskState& state = task->state;
  state.csv_begin = p;
  do {
    const size_t step_end = std::min(size, p + kStep);
    if (step_end > hashed) {
      hasher.Update(data + hashed, step_end - hashed);
      hashed = step_end;
    }
    CsvRangeResult csv = parser->Parse(data, size, p, step_end, /*first_range=*/true);
    for (uint64_t line : csv.malformed_lines) {
      if (state.malformed_lines.size() < CsvRangeResult::kMaxMalformedExamples) {
        state.malformed_lines.push_back(state.line_breaks + line);
      }
    }
    state.line_breaks += csv.line_breaks;
    state.records += csv.records;
    state.malformed += csv.malformed;
    aggregator->AddMalformed(csv.malformed);
    progress->Add(csv.end - p, csv.records);
    p = csv.end;
    mapped.Done(done, p);
    done = p;
  } while (p < size);
  parser->Flush();
  state.csv_end = p;
  if (hashed < size) hasher.Update(data + hashed, size - hashed);
  task->hash_hex = hasher.HexDigest();
  mapped.Done(done, size);
}

void RunTask(const Election& election, const std::vector<InputFile>& inputs, Task* task,
             Aggregator* aggregator, CsvRangeParser* parser, Progress* progress) {
  const InputFile& input = inputs[task->file];
  const MappedFile& mapped = *input.mapped;
  if (task->hash && input.format == FileFormat::kCsv) {
    RunHashedCsvTask(input, task, aggregator, parser, progress);
    return;
  }
  if (input.format == FileFormat::kCsv) {
    CsvRangeResult csv =
        parser->Parse(mapped.data(), mapped.size(), task->begin, task->end, task->first);
    parser->Flush();
    IngestTaskState& state = task->state;
    state.csv_begin = csv.begin;
    state.csv_end = csv.end;
    state.line_breaks = csv.line_breaks;
    state.records = csv.records;
    state.malformed = csv.malformed;
    state.malformed_lines = std::move(csv.malformed_lines);
    aggregator->AddMalformed(csv.malformed);
    progress->Add(csv.end - csv.begin, csv.records);
    mapped.Done(task->begin, csv.end);
    return;
  }
  const uint32_t num_stations = static_cast<uint32_t>(election.stations.size());
  const uint32_t num_choices = static_cast<uint32_t>(election.contest().choices.size());
  // A whole file with its hash wanted: each block is hashed (with the bytes before it)
  // just before it is verified, then counted, all while it is in cache.
  std::optional<FileHasher> hasher;
  size_t hashed = 0;
  if (task->hash) hasher.emplace();
  for (size_t b = task->begin; b < task->end; ++b) {
    const CvbBlockRef block = input.layout.blocks[b];
    if (hasher) {
      hasher->Update(mapped.data() + hashed, block.offset + block.bytes - hashed);
      hashed = block.offset + block.bytes;
    }
    CvbBlockView view;  // straight over the mapping: verified, then counted while in cache
    absl::Status status =
        VerifyCvbBlock(input.path, mapped.data(), block, num_stations, num_choices, &view);
    if (!status.ok()) {
      // A block that fails its checksum is lost; the blocks around it verify on their own.
      if (task->state.damage.empty()) {
        task->state.damage = std::string(status.message());
        task->state.damage_offset = block.offset;
      }
      continue;
    }
    AggregateCvbBlock(view, aggregator);
    aggregator->AddMalformed(view.malformed);
    task->state.records += view.records + view.malformed;
    task->state.malformed += view.malformed;
    // For cvb the examples are the byte offsets of blocks holding damaged records.
    if (view.malformed > 0 &&
        task->state.malformed_lines.size() < CsvRangeResult::kMaxMalformedExamples) {
      task->state.malformed_lines.push_back(block.offset);
    }
    progress->Add(block.bytes, view.records + view.malformed);
  }
  if (hasher) {
    hasher->Update(mapped.data() + hashed, mapped.size() - hashed);
    task->hash_hex = hasher->HexDigest();
    mapped.Done(0, mapped.size());
    return;
  }
  if (task->begin < task->end) {
    const CvbBlockRef last = input.layout.blocks[task->end - 1];
    mapped.Done(input.layout.blocks[task->begin].offset, last.offset + last.bytes);
  }
}

}  // namespace

absl::Status VerifyManifest(const Election& election, const std::string& directory,
                            const std::vector<InputFile>& inputs,
                            const std::vector<FileOutcome>& outcomes, IngestResult* result);

namespace {

uint64_t TaskBytes(const std::vector<InputFile>& inputs, const Task& task) {
  const InputFile& input = inputs[task.file];
  if (input.format == FileFormat::kCsv) return task.end - task.begin;
  uint64_t bytes = 0;
  for (size_t b = task.begin; b < task.end; ++b) bytes += input.layout.blocks[b].bytes;
  return bytes;
}

// Identifies the job a checkpoint belongs to: every input file (path, size, modification
// time) and every option that changes what the tasks are or what they count.
uint64_t InputsFingerprint(const std::vector<InputFile>& inputs, const IngestOptions& options,
                           uint64_t whole_file_limit) {
  std::string identity =
      absl::StrCat("canvass-inputs-v2|", options.range_bytes, "|", whole_file_limit, "|",
                   options.skip_damaged, "|", options.exactly_once, "|");
  for (const InputFile& input : inputs) {
    absl::StrAppend(&identity, input.path, "|", input.mapped->size(), "|", input.modified.tv_sec,
                    ".", input.modified.tv_nsec, "|");
  }
  return XXH3_64bits(identity.data(), identity.size());
}

absl::StatusOr<std::optional<Checkpoint>> LoadCheckpoint(const std::string& path) {
  if (path.empty() || !fs::exists(path)) return std::optional<Checkpoint>();
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  CANVASS_ASSIGN_OR_RETURN(Checkpoint checkpoint, DecodeCheckpoint(path, bytes.str()));
  return std::optional<Checkpoint>(std::move(checkpoint));
}

// Reads `tasks` [first, last) on the workers, largest first: each worker takes the next
// task in that order when it is free, so that the largest tasks never start last and the
// workers finish within about one small task of each other.
void RunEpoch(const Election& election, const std::vector<InputFile>& inputs,
              std::vector<Task>& tasks, size_t first, size_t last, int threads,
              Aggregator& aggregator, Progress& progress) {
  tbb::enumerable_thread_specific<std::unique_ptr<CsvRangeParser>> parsers([&] {
    return std::make_unique<CsvRangeParser>(
        election, [&aggregator](const BatchView& batch) { aggregator.Add(batch); });
  });
  std::vector<std::pair<uint64_t, size_t>> order;  // (bytes, task)
  order.reserve(last - first);
  for (size_t t = first; t < last; ++t) order.emplace_back(TaskBytes(inputs, tasks[t]), t);
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::atomic<size_t> next{0};  // one shared add per task, not per record
  const int workers = ResolveThreads(threads);
  RunOnWorkers(threads, [&] {
    tbb::parallel_for(
        0, workers,
        [&](int) {
          for (size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < order.size();) {
            RunTask(election, inputs, &tasks[order[i].second], &aggregator, parsers.local().get(),
                    &progress);
            MaybeCrashAt(CrashPoint::kRangeDone);
          }
        },
        tbb::simple_partitioner());
  });
}

// Runs the tasks in epochs; after each one, while tasks remain, saves a checkpoint.
absl::Status RunTasks(const Election& election, const std::vector<InputFile>& inputs,
                      const IngestOptions& options, const std::optional<Checkpoint>& resume,
                      const Checkpoint& identity, std::vector<Task>& tasks,
                      Aggregator& aggregator) {
  size_t next = 0;
  uint64_t total_bytes = 0;
  for (const InputFile& input : inputs) total_bytes += input.mapped->size();
  if (resume) {
    if (resume->election_fingerprint != identity.election_fingerprint ||
        resume->inputs_fingerprint != identity.inputs_fingerprint ||
        resume->tasks_total != tasks.size()) {
      return absl::DataLossError(
          absl::StrCat(options.checkpoint_path,
                       ": checkpoint belongs to another job (other inputs, options "
                       "or election); remove it to start over"));
    }
    CANVASS_RETURN_IF_ERROR(aggregator.Restore(resume->aggregator));
    for (; next < resume->done.size(); ++next) tasks[next].state = resume->done[next];
  }
  Progress progress(options.progress, total_bytes);
  const bool checkpointing = !options.checkpoint_path.empty();
  while (next < tasks.size()) {
    size_t last = tasks.size();
    if (checkpointing) {
      uint64_t bytes = 0;
      for (last = next;
           last < tasks.size() && (last == next || bytes < options.checkpoint_every_bytes);
           ++last) {
        bytes += TaskBytes(inputs, tasks[last]);
      }
    }
    RunEpoch(election, inputs, tasks, next, last, options.threads, aggregator, progress);
    next = last;
    if (checkpointing && next < tasks.size()) {
      Checkpoint checkpoint = identity;
      for (size_t t = 0; t < next; ++t) checkpoint.done.push_back(tasks[t].state);
      checkpoint.aggregator = aggregator.Snapshot();
      CANVASS_RETURN_IF_ERROR(
          WriteFileAtomically(options.checkpoint_path, EncodeCheckpoint(checkpoint)));
      MaybeCrashAt(CrashPoint::kCheckpointWritten);
    }
  }
  return absl::OkStatus();
}

void CollectOutcomes(const std::vector<InputFile>& inputs, const std::vector<Task>& tasks,
                     IngestResult* result) {
  result->files.resize(inputs.size());
  for (size_t f = 0; f < inputs.size(); ++f) {
    FileOutcome& outcome = result->files[f];
    outcome.path = inputs[f].path;
    outcome.format = inputs[f].format;
    outcome.bytes = inputs[f].mapped->size();
    result->bytes_read += outcome.bytes;
    if (inputs[f].format == FileFormat::kCvb && inputs[f].layout.trailer_intact) {
      outcome.declared = inputs[f].layout.declared_records;
    }
  }
  // The earliest damage in a file is reported: a bad block lies before any structural
  // damage (the scan stops there), and tasks are in offset order.
  uint64_t line = 0;
  for (const Task& task : tasks) {
    FileOutcome& outcome = result->files[task.file];
    outcome.records += task.state.records;
    outcome.malformed += task.state.malformed;
    if (!task.state.damage.empty() && outcome.damage.empty()) outcome.damage = task.state.damage;
    if (inputs[task.file].format != FileFormat::kCsv) {
      for (uint64_t offset : task.state.malformed_lines) {
        if (result->malformed.size() < CsvRangeResult::kMaxMalformedExamples) {
          result->malformed.push_back({inputs[task.file].path, 0, offset});
        }
      }
      continue;
    }
    if (task.first) line = 2;  // line 1 is the header
    for (uint64_t local : task.state.malformed_lines) {
      if (result->malformed.size() < CsvRangeResult::kMaxMalformedExamples) {
        result->malformed.push_back({inputs[task.file].path, line + local, std::nullopt});
      }
    }
    line += task.state.line_breaks;
  }
  for (size_t f = 0; f < inputs.size(); ++f) {
    if (result->files[f].damage.empty() && !inputs[f].damage.ok()) {
      result->files[f].damage = std::string(inputs[f].damage.message());
    }
  }
}

absl::StatusOr<IngestResult> IngestFilesOnce(const Election& election,
                                             const std::vector<std::string>& paths,
                                             const IngestOptions& options,
                                             const std::optional<Checkpoint>& resume,
                                             std::set<std::string>* sequential) {
  std::vector<std::string> files, manifest_dirs;
  std::vector<SkippedInput> skipped;
  std::vector<RepeatedInput> repeated;
  CANVASS_RETURN_IF_ERROR(ExpandPaths(paths, &files, &manifest_dirs, &skipped, &repeated));
  Checkpoint identity;
  identity.election_fingerprint = ElectionFingerprint(election);
  MappedFolder folder;  // outlives `inputs`, whose mappings lie in it
  std::vector<InputFile> inputs(files.size());
  // Each file gets a place in one reserved range of addresses (see MappedFolder), sized
  // from its length now; it is then opened on the job's workers: mapping a file and
  // walking a cvb file's blocks fault in pages, which one thread alone would do for the
  // whole folder before any reading.
  std::vector<int64_t> lengths(files.size(), -1);
  RunOnWorkers(options.threads, [&] {
    tbb::parallel_for(size_t{0}, files.size(), [&](size_t f) {
      struct stat info {};
      if (stat(files[f].c_str(), &info) == 0) lengths[f] = info.st_size;
    });
  });
  size_t reserved = 0;
  for (size_t f = 0; f < files.size(); ++f) {
    inputs[f].path = files[f];
    if (lengths[f] < 0) return absl::NotFoundError(absl::StrCat(files[f], ": cannot open file"));
    inputs[f].reserved_offset = reserved;
    inputs[f].reserved_bytes =
        (static_cast<size_t>(lengths[f]) + kPageBytes - 1) / kPageBytes * kPageBytes;
    reserved += inputs[f].reserved_bytes;
  }
  CANVASS_RETURN_IF_ERROR(folder.Reserve(reserved));
  std::vector<absl::Status> opened(files.size());
  RunOnWorkers(options.threads, [&] {
    tbb::parallel_for(size_t{0}, files.size(), [&](size_t f) {
      opened[f] = OpenInput(election, identity.election_fingerprint, folder, &inputs[f]);
    });
  });
  // From here on a file another process truncates while the job reads it is exit 2
  // naming the file, not a death by SIGBUS (truncation_guard.h).
  std::vector<MappedRange> mapped_ranges;
  for (const InputFile& input : inputs) {
    if (input.mapped)
      mapped_ranges.push_back({input.mapped->data(), input.mapped->size(), input.path});
  }
  const TruncationGuard truncation_guard(std::move(mapped_ranges));
  for (size_t f = 0; f < files.size(); ++f) {
    CANVASS_RETURN_IF_ERROR(opened[f]);  // the first failure in file order, as before
    inputs[f].sequential = sequential->count(files[f]) > 0;
    for (const std::string& directory : manifest_dirs) {
      inputs[f].hash_wanted |= fs::path(files[f]).parent_path() == fs::path(directory);
    }
  }
  const uint64_t whole_file_limit = WholeFileLimit(inputs, options);
  identity.inputs_fingerprint = InputsFingerprint(inputs, options, whole_file_limit);
  identity.sequential_files.assign(sequential->begin(), sequential->end());
  std::vector<Task> tasks = PlanTasks(inputs, options.range_bytes, whole_file_limit);
  identity.tasks_total = tasks.size();
  Aggregator aggregator(election, AggregatorOptions{options.exactly_once});
  CANVASS_RETURN_IF_ERROR(RunTasks(election, inputs, options, resume, identity, tasks, aggregator));
  // Tasks resumed from a checkpoint did not run here: their files are hashed afterwards.
  for (const Task& task : tasks) {
    if (!task.hash_hex.empty()) inputs[task.file].hash = task.hash_hex;
  }
  // CSV ranges must meet exactly; otherwise the file is read again as one range.
  bool retry = false;
  for (size_t t = 0; t + 1 < tasks.size(); ++t) {
    if (tasks[t].file == tasks[t + 1].file && inputs[tasks[t].file].format == FileFormat::kCsv &&
        tasks[t].state.csv_end != tasks[t + 1].state.csv_begin) {
      retry |= sequential->insert(inputs[tasks[t].file].path).second;
    }
  }
  if (retry) return IngestResult{};
  IngestResult result;
  result.skipped = std::move(skipped);
  result.repeated = std::move(repeated);
  CANVASS_ASSIGN_OR_RETURN(result.tally, aggregator.Finish());
  CollectOutcomes(inputs, tasks, &result);
  if (!options.skip_damaged) {
    for (size_t f = 0; f < result.files.size(); ++f) {
      const FileOutcome& outcome = result.files[f];
      if (outcome.damage.empty()) continue;
      // Not a ballot file keeps its code (InvalidArgument); damage inside one is DataLoss.
      const absl::Status& file_level = inputs[f].damage;
      const std::string message =
          absl::StrCat(outcome.damage, " (use --skip-damaged to account it and go on)");
      if (!file_level.ok() && outcome.damage == file_level.message()) {
        return absl::Status(file_level.code(), message);
      }
      return absl::DataLossError(message);
    }
  }
  for (const std::string& directory : manifest_dirs) {
    // Hashing is part of the job: it runs on the job's workers, no more.
    absl::Status verified;
    RunOnWorkers(options.threads, [&] {
      verified = VerifyManifest(election, directory, inputs, result.files, &result);
    });
    CANVASS_RETURN_IF_ERROR(verified);
  }
  return result;
}

}  // namespace

void AggregateCvbBlock(const CvbBlockView& block, Aggregator* aggregator) {
  const CvbBlockEncoding& encoding = block.encoding;
  const bool packed = encoding.choices == CvbChoiceEncoding::kPacked;
  if (encoding.serials == CvbSerialEncoding::kRun) {
    if (packed) {
      aggregator->AddRun(block.station, block.first_serial, block.records, block.packed_choices,
                         encoding.choice_bits);
    } else {
      aggregator->AddRun(block.station, block.first_serial, block.records, block.choices);
    }
    return;
  }
  if (!packed) {
    aggregator->Add(block.AsBatch());
    return;
  }
  thread_local BallotBatch batch;
  ExpandCvbBlock(block, &batch);
  aggregator->Add(batch.View());
}

absl::StatusOr<IngestResult> IngestFiles(const Election& election,
                                         const std::vector<std::string>& paths,
                                         const IngestOptions& options) {
  CANVASS_ASSIGN_OR_RETURN(std::optional<Checkpoint> resume,
                           LoadCheckpoint(options.checkpoint_path));
  // Ranges of a CSV file are cut at line breaks assuming no quoted field spans a cut; a
  // file where one does is read again as a single range, from scratch, so nothing is
  // counted twice. A resumed job starts with the files its checkpoint read that way.
  std::set<std::string> sequential;
  if (resume) sequential.insert(resume->sequential_files.begin(), resume->sequential_files.end());
  while (true) {
    const size_t before = sequential.size();
    absl::StatusOr<IngestResult> result =
        IngestFilesOnce(election, paths, options, resume, &sequential);
    if (!result.ok()) return result;
    if (!options.checkpoint_path.empty()) fs::remove(options.checkpoint_path);
    if (sequential.size() == before) return result;
    resume.reset();
  }
}

absl::Status VerifyManifest(const Election& election, const std::string& directory,
                            const std::vector<InputFile>& inputs,
                            const std::vector<FileOutcome>& outcomes, IngestResult* result) {
  const std::string path = (fs::path(directory) / kManifestFileName).string();
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  CANVASS_ASSIGN_OR_RETURN(Manifest manifest, ParseManifest(path, text.str(), election));
  // The manifest layer carries the fault plan as text and the fired counts by name; they
  // are checked here against the faults this build knows.
  absl::StatusOr<FaultPlan> faults = FaultPlan::Parse(manifest.faults);
  if (!faults.ok()) {
    return absl::DataLossError(absl::StrCat(path, ": field 'faults': ", faults.status().message()));
  }
  FaultCounts fired;
  for (int f = 0; f < kNumFaults; ++f) {
    const absl::string_view name = FaultName(static_cast<Fault>(f));
    auto it = std::find_if(manifest.fired.begin(), manifest.fired.end(),
                           [&](const auto& entry) { return entry.first == name; });
    if (it == manifest.fired.end()) {
      return absl::DataLossError(
          absl::StrCat(path, ": field 'fired': no count for fault '", name, "'"));
    }
    fired.fired[f] = it->second;
  }
  if (manifest.fired.size() != static_cast<size_t>(kNumFaults)) {
    return absl::DataLossError(absl::StrCat(path, ": field 'fired': expected the ", kNumFaults,
                                            " faults, got ", manifest.fired.size(), " counts"));
  }
  std::map<std::string, size_t> present;  // file name -> input index
  for (size_t f = 0; f < inputs.size(); ++f) {
    if (fs::path(inputs[f].path).parent_path() == fs::path(directory)) {
      present[fs::path(inputs[f].path).filename().string()] = f;
    }
  }
  // Whole-file hashes not taken while reading, one file per task (each hash is a
  // sequential pass over its file).
  std::vector<absl::StatusOr<std::string>> hashes(inputs.size(), std::string());
  std::vector<size_t> to_hash;
  for (const auto& [name, index] : present) {
    if (inputs[index].hash.empty()) {
      to_hash.push_back(index);
    } else {
      hashes[index] = inputs[index].hash;
    }
  }
  tbb::parallel_for(size_t{0}, to_hash.size(),
                    [&](size_t i) { hashes[to_hash[i]] = HashMapped(*inputs[to_hash[i]].mapped); });
  std::set<std::string> listed;
  for (const ManifestFile& file : manifest.files) {
    listed.insert(file.file);
    auto it = present.find(file.file);
    if (it == present.end()) {
      result->findings.push_back(
          {file.file, "missing", absl::StrCat(file.records, " records declared")});
      continue;
    }
    FileOutcome& outcome = result->files[it->second];
    outcome.declared = file.records;
    const InputFile& input = inputs[it->second];
    if (input.mapped->size() != file.bytes) {
      result->findings.push_back(
          {file.file, "size_mismatch",
           absl::StrCat(input.mapped->size(), " bytes, manifest says ", file.bytes)});
    }
    const absl::StatusOr<std::string>& hash = hashes[it->second];
    if (!hash.ok() || *hash != file.xxh3_128) {
      result->findings.push_back({file.file, "hash_mismatch",
                                  absl::StrCat("xxh3_128 ", hash.ok() ? *hash : "unreadable",
                                               ", manifest says ", file.xxh3_128)});
    }
    if (outcomes[it->second].records != file.records) {
      result->findings.push_back({file.file, "record_count_mismatch",
                                  absl::StrCat(outcomes[it->second].records,
                                               " records read, manifest says ", file.records)});
    }
  }
  for (const auto& [name, index] : present) {
    if (!listed.count(name)) result->findings.push_back({name, "extra", "not in the manifest"});
  }
  result->manifest_files = manifest.files.size();
  result->manifest = std::move(manifest);
  result->faults = *faults;
  result->fired = fired;
  return absl::OkStatus();
}

}  // namespace canvass
