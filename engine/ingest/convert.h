// `canvass convert`: the records of any supported cast vote record input (a Dominion
// export, NIST CVR reports in JSON or XML, a cvb file of contest ballots) written out as a
// NIST CVR JSON report or as a cvb file of contest ballots (version 3), so that the copy
// is read by the same rules to the same figures (tested cell by cell). The reading job
// is the one `aggregate` runs (parallel, exactly-once, the same figures); its sink
// (cvr_job.h CvrRecordSink) re-encodes every record in reading order, and the copy is
// written to PATH.partial, then renamed to PATH when complete.
//
// What a target cannot hold: a NIST report has no form for a record its reader rejected
// before the identity rules (malformed, unknown unit, contest or selection); such records
// are left out and counted in `not_converted` (with the job's located examples). A cvb
// file keeps them, with their reason and where they were read, and is rejected on exactly
// the same records. Duplicates and conflicts are ballots: every copy is written.
//
// Thread safety: a call runs its own job.
#ifndef CANVASS_ENGINE_INGEST_CONVERT_H_
#define CANVASS_ENGINE_INGEST_CONVERT_H_

#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/election/contests.h"
#include "engine/ingest/cvr_job.h"

namespace canvass {

enum class ConvertTarget { kNistJson, kCvb };
// "nist-json" | "cvb".
absl::StatusOr<ConvertTarget> ParseConvertTarget(absl::string_view name);

struct ConvertResult {
  CvrJobResult job;  // what reading found: the figures the copy reads back to
  uint64_t records_written = 0;
  uint64_t bytes_written = 0;
};
// The job's result inside it, for ReadShowingInvalid (cvr_job.h).
inline const CvrJobResult& JobResultOf(const ConvertResult& result) { return result.job; }

// Runs `read` (ReadCvrFiles or ReadDominionExport, given the options with the sink set)
// over the records of `election` and writes them to `out_path` as `target`. `from` names
// the input in the copy's notes. Errors: the job's, and DataLoss / InvalidArgument when
// the output cannot be written (naming it); nothing is left at `out_path` on failure.
absl::StatusOr<ConvertResult> ConvertCvrRecords(
    const ContestElection& election, ConvertTarget target, const std::string& out_path,
    absl::string_view from, CvrJobOptions options,
    absl::FunctionRef<absl::StatusOr<CvrJobResult>(const CvrJobOptions&)> read);

}  // namespace canvass

#endif  // CANVASS_ENGINE_INGEST_CONVERT_H_
