// Progress lines on stderr while a reading job runs.
#include "engine/ingest/progress.h"

#include <cstdio>

namespace canvass {

Progress::Progress(bool enabled, uint64_t total_bytes)
    : enabled_(enabled), total_bytes_(total_bytes) {
  if (enabled_) thread_ = std::thread([this] { Loop(); });
}

Progress::~Progress() {
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

void Progress::Loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_for(lock, std::chrono::milliseconds(500),
                         [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return done_; })) {
    Print();
  }
}

void Progress::Print() {
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

}  // namespace canvass
