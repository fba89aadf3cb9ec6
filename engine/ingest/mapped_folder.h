// The memory side of a reading job: every input file mapped read-only, side by side, into
// one range of addresses reserved for the job, and the pages dropped in one call per
// 128 MiB read rather than one per file or range.
//
// Why: every unmap and every release of pages interrupts the other cores running the job
// to flush their TLBs (a VM exit on each side on a virtual machine): a call per file, or
// per range read, cost more than reading a small file. So tasks only report the bytes they
// are done with, and once the job has read kDropEveryBytes since the last drop, the thread
// that passes the mark drops every page of the folder in one call. The page cache keeps
// the files; pages a task is still reading fault in again (at most one step each). The
// process's resident set stays within kDropEveryBytes of input plus each task's step,
// whatever the folder's size (tests/io/memory_test.cc).
//
// Thread safety: Reserve() once, from one thread, before any Map(); then Done() and every
// MappedFile's accessors are safe from many threads. The folder must outlive its files.
#ifndef CANVASS_ENGINE_INGEST_MAPPED_FOLDER_H_
#define CANVASS_ENGINE_INGEST_MAPPED_FOLDER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace canvass {

inline constexpr size_t kPageBytes = 4096;

class MappedFolder {
 public:
  MappedFolder() = default;
  MappedFolder(const MappedFolder&) = delete;
  MappedFolder& operator=(const MappedFolder&) = delete;
  ~MappedFolder();
  // Reserves `bytes` of addresses (no memory is committed). ResourceExhausted when the
  // address space has no such range.
  absl::Status Reserve(size_t bytes);
  uint8_t* At(size_t offset) const { return base_ + offset; }
  // A task is done with `bytes` of some file. Safe from many threads.
  void Done(uint64_t bytes) const;

 private:
  static constexpr uint64_t kDropEveryBytes = 128u << 20;
  uint8_t* base_ = nullptr;
  size_t bytes_ = 0;
  mutable std::atomic<uint64_t> read_{0};  // done with since the last drop
};

// A read-only mapping of one input file, inside its job's MappedFolder. A plain value:
// copies refer to the same mapping, which the folder unmaps.
class MappedFile {
 public:
  // Maps the open file `fd` (of `size` bytes) at `where`, which the folder reserved for at
  // least `size` bytes. DataLoss naming `path` when the system refuses.
  static absl::StatusOr<MappedFile> Map(const std::string& path, int fd, size_t size,
                                        const MappedFolder* folder, uint8_t* where);
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

// XXH3-128 of a mapped file, as hex, read in 8 MiB steps reported done as they go so that
// hashing a large folder stays within the memory bound (and copies nothing).
std::string HashMapped(const MappedFile& file);

}  // namespace canvass

#endif  // CANVASS_ENGINE_INGEST_MAPPED_FOLDER_H_
