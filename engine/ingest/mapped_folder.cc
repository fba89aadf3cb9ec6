// One reserved range of addresses for a job's input files, and the files mapped into it.
#include "engine/ingest/mapped_folder.h"

#include <sys/mman.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "engine/io/file_hasher.h"

namespace canvass {

MappedFolder::~MappedFolder() {
  if (base_ != nullptr) munmap(base_, bytes_);
}

absl::Status MappedFolder::Reserve(size_t bytes) {
  if (bytes == 0) return absl::OkStatus();
  void* base = mmap(nullptr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot reserve ", bytes, " bytes of addresses for the input files"));
  }
  base_ = static_cast<uint8_t*>(base);
  bytes_ = bytes;
  return absl::OkStatus();
}

void MappedFolder::Done(uint64_t bytes) const {
  if (read_.fetch_add(bytes, std::memory_order_relaxed) + bytes < kDropEveryBytes) return;
  if (read_.exchange(0, std::memory_order_relaxed) >= kDropEveryBytes && base_ != nullptr) {
    madvise(base_, bytes_, MADV_DONTNEED);
  }
}

absl::StatusOr<MappedFile> MappedFile::Map(const std::string& path, int fd, size_t size,
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

}  // namespace canvass
