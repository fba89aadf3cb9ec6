// `canvass generate`: an election's calibrated synthetic streams (optionally with record
// faults) written as ballot files, one per station plus manifest.json, in either of the
// formats the engine reads (engine/io: csv, cvb), and then damaged on request at the byte
// level (file faults) while the manifest keeps the intended content, so that a reading of
// the folder knows what it should have found.
//
// Thread safety: GenerateFiles runs one job on its own oneTBB workers and returns when it
// is done. Jobs writing different folders may run at once; two writing the same may not.
#ifndef CANVASS_ENGINE_SYNTH_FILE_GENERATOR_H_
#define CANVASS_ENGINE_SYNTH_FILE_GENERATOR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/election/election.h"
#include "engine/io/manifest.h"
#include "engine/synth/fault_plan.h"
#include "engine/synth/generator.h"

namespace canvass {

// The format `generate` writes.
enum class FileFormat { kCsv, kCvb };

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

}  // namespace canvass

#endif  // CANVASS_ENGINE_SYNTH_FILE_GENERATOR_H_
