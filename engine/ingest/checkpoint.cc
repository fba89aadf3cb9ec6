// Checkpoint encoding, decoding and atomic writing.
#include "engine/ingest/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

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
  if (bytes.size() < 16 || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return bad("byte 0: expected the checkpoint magic");
  }
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

}  // namespace canvass
