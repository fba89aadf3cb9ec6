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
#include "engine/base/crash_point.h"
#include "engine/base/xxhash.h"

namespace canvass {
namespace {

constexpr char kMagic[8] = {'C', 'V', 'C', 'K', 'P', 'T', 0, 1};

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
  bool empty() const { return in_.empty(); }

 private:
  absl::string_view in_;
};

}  // namespace

std::string EncodeCheckpoint(const Checkpoint& checkpoint) {
  std::string body;
  Put(checkpoint.election_fingerprint, &body);
  Put(checkpoint.inputs_fingerprint, &body);
  Put(checkpoint.tasks_total, &body);
  Put(checkpoint.sequential_files.size(), &body);
  for (const std::string& file : checkpoint.sequential_files) PutBytes(file, &body);
  Put(checkpoint.done.size(), &body);
  for (const RangeReading& task : checkpoint.done) {
    for (uint64_t value : {task.begin, task.end, task.line_breaks, task.records, task.malformed,
                           task.damage_offset}) {
      Put(value, &body);
    }
    Put(task.malformed_at.size(), &body);
    for (uint64_t line : task.malformed_at) Put(line, &body);
    PutBytes(task.damage, &body);
  }
  PutBytes(checkpoint.aggregator, &body);
  std::string out(kMagic, sizeof(kMagic));
  Put(body.size(), &out);
  out += body;
  Put(XXH3_64bits(body.data(), body.size()), &out);
  return out;
}

absl::StatusOr<Checkpoint> DecodeCheckpoint(absl::string_view name, absl::string_view bytes) {
  auto bad = [&](absl::string_view what) {
    return absl::DataLossError(absl::StrCat(name, ": not an intact checkpoint: ", what));
  };
  if (bytes.empty()) {
    // Checkpoints are written whole and renamed into place: an empty one is someone else's.
    return bad("an empty file (a checkpoint never is: remove it, or name another file)");
  }
  if (bytes.size() < sizeof(kMagic) || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return bad("byte 0: not a Canvass checkpoint (its first bytes are not the checkpoint magic)");
  }
  if (bytes.size() < 16)
    return bad(absl::StrCat("byte 8: the file ends after ", bytes.size(), " bytes"));
  uint64_t body_size = 0;
  std::memcpy(&body_size, bytes.data() + 8, 8);
  if (body_size != bytes.size() - 24 || bytes.size() < 24) {
    return bad(absl::StrCat("byte 8: body of ", body_size, " bytes does not fit a file of ",
                            bytes.size(), " bytes (torn write?)"));
  }
  absl::string_view body = bytes.substr(16, body_size);
  uint64_t checksum = 0;
  std::memcpy(&checksum, bytes.data() + 16 + body_size, 8);
  if (checksum != XXH3_64bits(body.data(), body.size())) {
    return bad(absl::StrCat("byte ", 16 + body_size, ": checksum mismatch"));
  }
  Reader in(body);
  Checkpoint checkpoint;
  uint64_t done = 0, sequential = 0;
  if (!in.Get(&checkpoint.election_fingerprint) || !in.Get(&checkpoint.inputs_fingerprint) ||
      !in.Get(&checkpoint.tasks_total) || !in.Get(&sequential) || sequential > body.size() / 8) {
    return bad("header fields");
  }
  checkpoint.sequential_files.resize(sequential);
  for (std::string& file : checkpoint.sequential_files) {
    if (!in.GetBytes(&file)) return bad("header fields");
  }
  if (!in.Get(&done) || done > checkpoint.tasks_total || done > body.size() / 64) {
    return bad("header fields");
  }
  checkpoint.done.resize(done);
  for (RangeReading& task : checkpoint.done) {
    uint64_t lines = 0;
    if (!in.Get(&task.begin) || !in.Get(&task.end) || !in.Get(&task.line_breaks) ||
        !in.Get(&task.records) || !in.Get(&task.malformed) || !in.Get(&task.damage_offset) ||
        !in.Get(&lines) || lines > 20) {
      return bad("task fields");
    }
    task.malformed_at.resize(lines);
    for (uint64_t& line : task.malformed_at) {
      if (!in.Get(&line)) return bad("task fields");
    }
    if (!in.GetBytes(&task.damage)) return bad("task fields");
  }
  if (!in.GetBytes(&checkpoint.aggregator) || !in.empty()) return bad("aggregation state");
  return checkpoint;
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
