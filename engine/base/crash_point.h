// Kill points for tests that crash a job on purpose: the environment variable
// CANVASS_CRASH_AT=<point>:<n> makes the process raise SIGKILL the n-th time (counted from 1,
// within this process) it reaches <point>. The points are defined by the job's own progress,
// never by the clock, so a kill-and-resume test lands at the same place on any machine and
// under any sanitizer.
//
//   range              a reading task (one range of a file) has been added to the totals
//   before-rename      an atomic file write has written and synced its temporary file, but
//                      not yet renamed it over the target (a checkpoint left half-way)
//   torn-append        a checkpoint's append has written half of its frame (what a crash
//                      in the middle of the write leaves)
//   checkpoint         a checkpoint has been written (renamed into place, or appended and
//                      synced)
//   chunk              a chunk of cast vote records has been decoded and handed to the
//                      aggregator (engine/ingest/cvr_job.h)
//
// CANVASS_STOP_AT=<point>:<n> does the same with SIGSTOP instead: the process stops there
// until it is sent SIGCONT, so that a test can change the world at a known point of the
// job (truncate an input the job has mapped, for one) and let it go on.
//
// Without the variables (the only case outside tests) MaybeCrashAt costs one relaxed load
// of a flag. A value that does not parse is reported on stderr once and ignored. Thread-safe:
// points may be reached from any worker; exactly one of them raises the signal.
#ifndef CANVASS_ENGINE_BASE_CRASH_POINT_H_
#define CANVASS_ENGINE_BASE_CRASH_POINT_H_

namespace canvass {

enum class CrashPoint { kRangeDone, kBeforeRename, kCheckpointWritten, kTornAppend, kChunkDone };

void MaybeCrashAt(CrashPoint point);

}  // namespace canvass

#endif  // CANVASS_ENGINE_BASE_CRASH_POINT_H_
