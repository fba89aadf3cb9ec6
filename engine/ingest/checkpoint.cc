// Checkpoint encoding, decoding and atomic writing.
#include "engine/ingest/checkpoint.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "engine/base/bytes.h"
#include "engine/base/check.h"
#include "engine/base/crash_point.h"
#include "engine/base/file_util.h"
#include "engine/base/status_macros.h"
#include "engine/base/xxhash.h"

namespace canvass {
namespace {

// Version 2: a log of frames. Version 1 files (one frame, the whole state) are refused
// with a message of their own.
constexpr char kMagic[8] = {'C', 'V', 'C', 'K', 'P', 'T', 0, 2};
constexpr char kMagicVersion1[8] = {'C', 'V', 'C', 'K', 'P', 'T', 0, 1};
constexpr uint64_t kWholeFrame = 0;
constexpr uint64_t kAppendFrame = 1;
// Magic, body length, checksum.
constexpr size_t kFrameOverhead = 24;

void Put(uint64_t value, std::string* out) { PutLittleEndian(value, out); }
void PutBytes(absl::string_view bytes, std::string* out) {
  Put(bytes.size(), out);
  out->append(bytes.data(), bytes.size());
}

class Reader {
 public:
  explicit Reader(absl::string_view in) : in_(in) {}
  bool Get(uint64_t* value) { return ConsumeLittleEndian(&in_, value); }
  bool GetBytes(std::string* bytes) {
    uint64_t size = 0;
    if (!Get(&size) || size > in_.size()) return false;
    bytes->assign(in_.data(), size);
    in_.remove_prefix(size);
    return true;
  }
  size_t size() const { return in_.size(); }
  bool empty() const { return in_.empty(); }

 private:
  absl::string_view in_;
};

std::string Frame(absl::string_view body) {
  std::string out(kMagic, sizeof(kMagic));
  Put(body.size(), &out);
  out.append(body.data(), body.size());
  Put(XXH3_64bits(body.data(), body.size()), &out);
  return out;
}

void PutTasks(const std::vector<RangeReading>& done, std::string* body) {
  Put(done.size(), body);
  for (const RangeReading& task : done) {
    for (uint64_t value : {task.begin, task.end, task.line_breaks, task.records, task.malformed,
                           task.damage_offset}) {
      Put(value, body);
    }
    Put(task.malformed_at.size(), body);
    for (uint64_t line : task.malformed_at) Put(line, body);
    PutBytes(task.damage, body);
  }
}

bool GetTasks(Reader& in, uint64_t most, std::vector<RangeReading>* done) {
  uint64_t count = 0;
  if (!in.Get(&count) || count > most || count > in.size() / 64) return false;
  for (uint64_t i = 0; i < count; ++i) {
    RangeReading task;
    uint64_t lines = 0;
    if (!in.Get(&task.begin) || !in.Get(&task.end) || !in.Get(&task.line_breaks) ||
        !in.Get(&task.records) || !in.Get(&task.malformed) || !in.Get(&task.damage_offset) ||
        !in.Get(&lines) || lines > RangeReading::kMaxMalformedExamples) {
      return false;
    }
    task.malformed_at.resize(lines);
    for (uint64_t& line : task.malformed_at) {
      if (!in.Get(&line)) return false;
    }
    if (!in.GetBytes(&task.damage)) return false;
    done->push_back(std::move(task));
  }
  return true;
}

}  // namespace

std::string RankCheckpointPath(const std::string& path, int rank, int ranks) {
  return absl::StrCat(path, ".rank-", rank, "-of-", ranks);
}

std::string RankCheckpointSlot(const std::string& path, int rank, int ranks, int slot) {
  return absl::StrCat(RankCheckpointPath(path, rank, ranks), ".", slot);
}

std::string EncodeReadings(const std::vector<RangeReading>& readings) {
  std::string bytes;
  PutTasks(readings, &bytes);
  return bytes;
}

bool DecodeReadings(absl::string_view bytes, uint64_t most, std::vector<RangeReading>* readings) {
  Reader in(bytes);
  return GetTasks(in, most, readings) && in.empty();
}

namespace {

// The body of the intact frame at the start of `bytes`, or why there is none.
struct FrameRead {
  absl::string_view body;
  std::string problem;  // empty when intact
};
FrameRead ReadFrame(absl::string_view bytes, uint64_t offset) {
  FrameRead read;
  if (bytes.size() < 16) {
    read.problem = absl::StrCat("byte ", offset + 8, ": the file ends after ",
                                offset + bytes.size(), " bytes (torn write?)");
    return read;
  }
  if (std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    read.problem = absl::StrCat("byte ", offset, ": not a checkpoint frame");
    return read;
  }
  uint64_t body_size = 0;
  std::memcpy(&body_size, bytes.data() + 8, 8);
  if (body_size > bytes.size() - kFrameOverhead || bytes.size() < kFrameOverhead) {
    read.problem =
        absl::StrCat("byte ", offset + 8, ": body of ", body_size, " bytes does not fit the ",
                     bytes.size(), " bytes left (torn write?)");
    return read;
  }
  absl::string_view body = bytes.substr(16, body_size);
  uint64_t checksum = 0;
  std::memcpy(&checksum, bytes.data() + 16 + body_size, 8);
  if (checksum != XXH3_64bits(body.data(), body.size())) {
    read.problem = absl::StrCat("byte ", offset + 16 + body_size, ": checksum mismatch");
    return read;
  }
  read.body = body;
  return read;
}

}  // namespace

std::string EncodeCheckpoint(const Checkpoint& checkpoint) {
  std::string body;
  Put(kWholeFrame, &body);
  Put(checkpoint.election_fingerprint, &body);
  Put(checkpoint.inputs_fingerprint, &body);
  Put(checkpoint.tasks_total, &body);
  Put(checkpoint.sequential_files.size(), &body);
  for (const std::string& file : checkpoint.sequential_files) PutBytes(file, &body);
  PutTasks(checkpoint.done, &body);
  Put(checkpoint.aggregator.size(), &body);
  for (const std::string& snapshot : checkpoint.aggregator) PutBytes(snapshot, &body);
  return Frame(body);
}

std::string EncodeCheckpointAppend(const Checkpoint& identity, uint64_t done_before,
                                   const std::vector<RangeReading>& done,
                                   absl::string_view aggregator_changes) {
  std::string body;
  Put(kAppendFrame, &body);
  Put(identity.election_fingerprint, &body);
  Put(identity.inputs_fingerprint, &body);
  Put(done_before, &body);
  PutTasks(done, &body);
  PutBytes(aggregator_changes, &body);
  return Frame(body);
}

absl::StatusOr<Checkpoint> DecodeCheckpoint(absl::string_view name, absl::string_view bytes,
                                            CheckpointLayout* layout) {
  auto bad = [&](absl::string_view what) {
    return absl::DataLossError(absl::StrCat(name, ": not an intact checkpoint: ", what));
  };
  if (bytes.empty()) {
    // Whole frames are written and renamed into place: an empty file is someone else's.
    return bad("an empty file (a checkpoint never is: remove it, or name another file)");
  }
  if (bytes.size() >= sizeof(kMagic) &&
      std::memcmp(bytes.data(), kMagicVersion1, sizeof(kMagicVersion1)) == 0) {
    return bad(
        "byte 0: written by an earlier version of Canvass (checkpoint format 1); "
        "remove it to start over");
  }
  if (bytes.size() < sizeof(kMagic) || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return bad("byte 0: not a Canvass checkpoint (its first bytes are not the checkpoint magic)");
  }
  const FrameRead whole = ReadFrame(bytes, 0);
  if (!whole.problem.empty()) return bad(whole.problem);
  Reader in(whole.body);
  Checkpoint checkpoint;
  uint64_t kind = 0, sequential = 0, snapshots = 0;
  if (!in.Get(&kind) || kind != kWholeFrame || !in.Get(&checkpoint.election_fingerprint) ||
      !in.Get(&checkpoint.inputs_fingerprint) || !in.Get(&checkpoint.tasks_total) ||
      !in.Get(&sequential) || sequential > in.size() / 8) {
    return bad("header fields");
  }
  checkpoint.sequential_files.resize(sequential);
  for (std::string& file : checkpoint.sequential_files) {
    if (!in.GetBytes(&file)) return bad("header fields");
  }
  if (!GetTasks(in, checkpoint.tasks_total, &checkpoint.done)) return bad("task fields");
  if (!in.Get(&snapshots) || snapshots == 0 || snapshots > in.size() / 8) {
    return bad("aggregation state");
  }
  checkpoint.aggregator.resize(snapshots);
  for (std::string& snapshot : checkpoint.aggregator) {
    if (!in.GetBytes(&snapshot)) return bad("aggregation state");
  }
  if (!in.empty()) return bad("aggregation state");
  uint64_t offset = kFrameOverhead + whole.body.size();
  const uint64_t whole_bytes = offset;
  // Append frames, up to the first that is not intact (a torn append).
  while (offset < bytes.size()) {
    const FrameRead frame = ReadFrame(bytes.substr(offset), offset);
    if (!frame.problem.empty()) break;
    Reader append(frame.body);
    uint64_t election = 0, inputs = 0, done_before = 0;
    if (!append.Get(&kind) || kind != kAppendFrame || !append.Get(&election) ||
        !append.Get(&inputs) || !append.Get(&done_before)) {
      return bad(absl::StrCat("byte ", offset, ": append frame header"));
    }
    if (election != checkpoint.election_fingerprint || inputs != checkpoint.inputs_fingerprint ||
        done_before != checkpoint.done.size()) {
      return bad(absl::StrCat("byte ", offset, ": an append frame of another job"));
    }
    std::string changes;
    if (!GetTasks(append, checkpoint.tasks_total - checkpoint.done.size(), &checkpoint.done) ||
        !append.GetBytes(&changes) || !append.empty()) {
      return bad(absl::StrCat("byte ", offset, ": append frame fields"));
    }
    checkpoint.aggregator.push_back(std::move(changes));
    offset += kFrameOverhead + frame.body.size();
  }
  if (layout != nullptr) *layout = CheckpointLayout{whole_bytes, offset};
  return checkpoint;
}

absl::Status CheckpointWriter::WriteWhole(absl::string_view file) {
  CANVASS_RETURN_IF_ERROR(WriteFileAtomically(path_, file));
  layout_ = CheckpointLayout{file.size(), file.size()};
  return absl::OkStatus();
}

absl::Status CheckpointWriter::Append(absl::string_view frame) {
  CANVASS_CHECK(started());
  auto fail = [&](absl::string_view what, int error) {
    return absl::DataLossError(absl::StrCat(path_, ": cannot append to the checkpoint: ", what,
                                            ": ", std::strerror(error)));
  };
  const int fd = open(path_.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return fail("open", errno);
  // A torn append of an earlier job (or of this one, on a full disk) is cut off first.
  if (ftruncate(fd, static_cast<off_t>(layout_.intact_bytes)) != 0) {
    const int error = errno;
    close(fd);
    return fail("truncate", error);
  }
  uint64_t at = layout_.intact_bytes;
  const size_t half = frame.size() / 2;
  for (const absl::string_view part : {frame.substr(0, half), frame.substr(half)}) {
    size_t written = 0;
    while (written < part.size()) {
      const ssize_t n = pwrite(fd, part.data() + written, part.size() - written,
                               static_cast<off_t>(at + written));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const int error = n < 0 ? errno : EIO;
        close(fd);
        return fail("write", error);
      }
      written += static_cast<size_t>(n);
    }
    at += part.size();
    if (part.data() == frame.data()) MaybeCrashAt(CrashPoint::kTornAppend);
  }
  if (fdatasync(fd) != 0) {
    const int error = errno;
    close(fd);
    return fail("fdatasync", error);
  }
  if (close(fd) != 0) return fail("close", errno);
  layout_.intact_bytes = at;
  return absl::OkStatus();
}

absl::StatusOr<CheckpointLock> CheckpointLock::Acquire(const std::string& checkpoint_path) {
  std::string lock_path = checkpoint_path + ".lock";
  while (true) {
    const int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          lock_path, ": cannot make the checkpoint's lock file: ", std::strerror(errno)));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      close(fd);
      if (error == EWOULDBLOCK) {
        return absl::FailedPreconditionError(
            absl::StrCat(checkpoint_path, ": another job holds this checkpoint (", lock_path,
                         " is locked); wait for it to end, or give this job another --checkpoint"));
      }
      return absl::FailedPreconditionError(
          absl::StrCat(lock_path, ": cannot lock: ", std::strerror(error)));
    }
    // The holder before us may have removed the file between our open and our lock: then
    // ours is a file nobody else will find, and the lock must be taken again.
    struct stat held, named;
    if (fstat(fd, &held) == 0 && stat(lock_path.c_str(), &named) == 0 &&
        held.st_dev == named.st_dev && held.st_ino == named.st_ino) {
      return CheckpointLock(std::move(lock_path), fd);
    }
    close(fd);
  }
}

CheckpointLock::CheckpointLock(CheckpointLock&& other) noexcept
    : lock_path_(std::move(other.lock_path_)), fd_(other.fd_) {
  other.fd_ = -1;
}

CheckpointLock::~CheckpointLock() {
  if (fd_ < 0) return;
  unlink(lock_path_.c_str());  // while still held, so that no one takes a stale file
  close(fd_);
}

}  // namespace canvass
