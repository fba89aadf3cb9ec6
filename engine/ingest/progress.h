// Progress lines of a reading job (`--progress`): bytes, ballots, rate and ETA on stderr
// twice a second while the job reads, and a last line when it ends.
//
// Thread safety: Add() is safe from many threads at once (two relaxed adds); the printing
// thread is owned by the object and joined by its destructor.
#ifndef CANVASS_ENGINE_INGEST_PROGRESS_H_
#define CANVASS_ENGINE_INGEST_PROGRESS_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "absl/base/thread_annotations.h"

namespace canvass {

class Progress {
 public:
  // Prints nothing unless `enabled`.
  Progress(bool enabled, uint64_t total_bytes);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  void Add(uint64_t bytes, uint64_t records) {
    bytes_.fetch_add(bytes, std::memory_order_relaxed);
    records_.fetch_add(records, std::memory_order_relaxed);
  }

 private:
  void Loop();
  void Print();

  const bool enabled_;
  const uint64_t total_bytes_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::atomic<uint64_t> bytes_{0}, records_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace canvass

#endif  // CANVASS_ENGINE_INGEST_PROGRESS_H_
