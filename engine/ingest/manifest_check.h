// The manifest check of a folder that holds manifest.json (written by `canvass generate`):
// every file it lists is present, of the listed size and XXH3-128, with the listed record
// count, and no other ballot file is in the folder; the manifest's fault plan and fired
// counts are checked against the faults this build knows. Findings are data, not errors:
// they make a report a mismatch (docs/REPORT.md).
//
// Thread safety: runs from one thread inside the job's arena; the hashes not taken while
// reading are computed on the arena's workers, one file per task.
#ifndef CANVASS_ENGINE_INGEST_MANIFEST_CHECK_H_
#define CANVASS_ENGINE_INGEST_MANIFEST_CHECK_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/election/election.h"
#include "engine/ingest/ingest.h"
#include "engine/ingest/internal/input_file.h"

namespace canvass {

// Checks `directory`'s manifest against the inputs read from it (`result->files` holds
// their outcomes) and records the findings, the manifest and its fault plan in `*result`.
// DataLoss naming the manifest when it cannot be parsed.
absl::Status VerifyManifest(const Election& election, const std::string& directory,
                            const std::vector<ingest_internal::InputFile>& inputs,
                            IngestResult* result);

}  // namespace canvass

#endif  // CANVASS_ENGINE_INGEST_MANIFEST_CHECK_H_
