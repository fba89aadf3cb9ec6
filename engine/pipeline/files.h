// File pipelines: `canvass generate` writes synthetic (optionally faulty) streams as one
// file per station plus manifest.json; `canvass aggregate` / `reconcile` read ballot
// files (CSV and cvb, files and folders) in parallel across and within files into an
// Aggregator with bounded memory, locating every damage.
//
// Thread safety: GenerateFiles and IngestFiles each run one job on their own oneTBB
// workers and return when it is done; AggregateCvbBlock may be called from many threads
// at once (the aggregator is thread-safe). Jobs over different paths may run at once;
// two jobs writing the same folder or checkpoint may not.
#ifndef CANVASS_ENGINE_PIPELINE_FILES_H_
#define CANVASS_ENGINE_PIPELINE_FILES_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/aggregate/aggregator.h"
#include "engine/ballot/tally.h"
#include "engine/election/election.h"
#include "engine/io/cvb/cvb_format.h"
#include "engine/io/inputs.h"
#include "engine/io/manifest.h"
#include "engine/synth/fault_plan.h"
#include "engine/synth/generator.h"

namespace canvass {

// Byte-level damage `generate` can do to the files after writing them (the manifest keeps
// the intended content): per file, probabilities to truncate it at a random byte, to
// flip one random bit, to delete it; and a count of extra files no manifest lists.
struct FileFaultPlan {
  double truncate = 0;
  double flip = 0;
  double missing = 0;
  uint32_t extra = 0;
  bool Any() const { return truncate > 0 || flip > 0 || missing > 0 || extra > 0; }
  // "truncate=0.1,flip=0.1,missing=0.05,extra=2"; InvalidArgument naming the bad item.
  static absl::StatusOr<FileFaultPlan> Parse(absl::string_view spec);
};

struct GenerateOptions {
  std::string out_directory;
  FileFormat format = FileFormat::kCsv;
  uint64_t seed = 1;
  uint64_t scale = 1;
  int threads = 0;
  FaultPlan faults;
  FileFaultPlan file_faults;
};

struct GenerateResult {
  Manifest manifest;
  uint64_t files_written = 0;
  uint64_t bytes_written = 0;
  std::vector<std::string> damaged_files;  // what the file faults did, one line each
};

// Writes `scaled`'s calibrated streams (with options.faults) into out_directory, which is
// created if missing and must not already hold ballot files. Requires: `streams` was
// planned for `scaled` (the election at options.scale).
absl::StatusOr<GenerateResult> GenerateFiles(const Election& scaled,
                                             const CalibratedStreams& streams,
                                             const GenerateOptions& options);

struct IngestOptions {
  int threads = 0;
  bool skip_damaged = false;
  bool progress = false;          // print progress on stderr
  size_t range_bytes = 1u << 20;  // bytes per parallel task
  // CSV files of a folder with a manifest up to this size are read by one task each and
  // hashed as they are parsed, so that each byte is read from memory once; larger ones
  // are cut into ranges and hashed in a second pass. Unset: half of one worker's share of
  // those files' bytes for the machine's hardware threads (not --threads, so that a
  // checkpoint resumes under any thread count).
  std::optional<uint64_t> whole_file_bytes;
  bool exactly_once = true;  // off: count-only mode, for benchmarks
  // When set: resume from this checkpoint if it exists, save one after about every
  // checkpoint_every_bytes of input, and remove it when the job completes.
  std::string checkpoint_path;
  uint64_t checkpoint_every_bytes = 64u << 20;
};

// What a job read (its files, malformed examples, manifest findings: io/inputs.h), its
// tally, the folder's manifest, and the fault plan and fired counts the manifest records
// (checked against the faults this build knows).
struct IngestResult : InputsSummary {
  Tally tally;
  std::optional<Manifest> manifest;  // when a folder held manifest.json
  FaultPlan faults;                  // the manifest's (none without one)
  FaultCounts fired;
};

// Counts one verified cvb block (not its damaged records) into `aggregator` the cheapest
// way its encoding allows: a run of serials through Aggregator::AddRun, never expanded;
// plain serials and choices as a batch view over the file's bytes; plain serials with
// packed choices expanded into a batch. Safe to call from many threads at once.
void AggregateCvbBlock(const CvbBlockView& block, Aggregator* aggregator);

// Expands PATH... (files as given; folders: their *.csv and *.cvb files, sorted by name)
// and reads them. Errors (exit 2): a missing path (NotFound); a cvb file written for
// another election or by a future version (InvalidArgument, whatever skip_damaged says);
// unless skip_damaged, a file that is not a ballot file (InvalidArgument) or a damaged
// one (DataLoss), each naming the file and byte offset; with skip_damaged those files
// are accounted in FileOutcome instead. A torn, corrupt or foreign checkpoint: DataLoss.
absl::StatusOr<IngestResult> IngestFiles(const Election& election,
                                         const std::vector<std::string>& paths,
                                         const IngestOptions& options);

}  // namespace canvass

#endif  // CANVASS_ENGINE_PIPELINE_FILES_H_
