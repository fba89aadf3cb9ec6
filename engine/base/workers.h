// How many oneTBB workers a job runs on, and running a job's body on exactly that many:
// every stage that runs in parallel (generation, ingest, the in-memory pipeline) goes
// through RunOnWorkers, so that `--threads N` means N in every part of a job.
//
// Thread safety: both are safe to call from many threads at once; each RunOnWorkers call
// makes its own arena.
#ifndef CANVASS_ENGINE_BASE_WORKERS_H_
#define CANVASS_ENGINE_BASE_WORKERS_H_

#include <algorithm>
#include <cstddef>
#include <optional>
#include <thread>

#include "tbb/global_control.h"
#include "tbb/task_arena.h"

namespace canvass {

// Number of worker threads `threads` stands for (0: all hardware threads).
inline int ResolveThreads(int threads) {
  if (threads > 0) return threads;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// Runs `body` on exactly `threads` workers (0: all hardware threads). oneTBB caps its
// workers at the core count unless told otherwise, so an oversubscribed run (e.g.
// --threads 8 on 2 cores) raises the limit too; only when needed, because with several
// controls alive oneTBB applies the smallest, and one here must never lower a limit that
// a caller (such as the stress driver) raised.
template <typename Body>
void RunOnWorkers(int threads, Body&& body) {
  const int workers = ResolveThreads(threads);
  std::optional<tbb::global_control> allow;
  if (tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism) <
      static_cast<size_t>(workers)) {
    allow.emplace(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(workers));
  }
  tbb::task_arena arena(workers);
  arena.execute(body);
}

}  // namespace canvass

#endif  // CANVASS_ENGINE_BASE_WORKERS_H_
