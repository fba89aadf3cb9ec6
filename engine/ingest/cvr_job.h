// The reading job of cast vote record reports (NIST SP 1500-103, JSON or XML): files and
// folders of them read in parallel (across files and within one large file), every record
// decoded by the counting rules and counted exactly once, into a ContestTally.
//
// Shape: one oneTBB pipeline over all the job's files, in order. A serial stage maps each
// file and scans its records' spans a few megabytes at a time (io/nist/cvr_reader.h); a
// parallel stage decodes a chunk's records on the worker's own decoder and builder and
// hands the batch to the ContestAggregator; a last serial stage, in order, accounts the
// chunk (records per file, the first located examples of each rejection) and drops the
// pages read, so that memory stays bounded by the chunks in flight whatever the files'
// sizes. Errors that stop a file are the first in file order, so the job's message does
// not depend on scheduling.
//
// Several processes (`mpirun`, CvrJobOptions::ranks): every rank runs the same pipeline
// over the same files, and the chunks are shared out by their place in it (chunk k to
// rank k % N), so that each record is decoded by one rank. A file small enough to be one
// chunk is scanned only by the rank that decodes it; a larger one is scanned (not
// decoded) by every rank, the scan being a few percent of the work. Each rank's
// ContestAggregator keeps the identities it read; Finish hands them to the rank that owns
// their shard, which settles every identity as one process would. The accounting of the
// chunks (records per file, located examples, the first error in file order) is gathered
// and applied in chunk order, so every rank ends with the result one process gives.
//
// Thread safety: a call runs its own job; the election must outlive it.
#ifndef CANVASS_ENGINE_INGEST_CVR_JOB_H_
#define CANVASS_ENGINE_INGEST_CVR_JOB_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/ballot/cast_ballots.h"
#include "engine/base/rank_group.h"
#include "engine/election/contests.h"
#include "engine/io/inputs.h"
#include "engine/io/nist/cvr_builder.h"
#include "engine/io/nist/cvr_reader.h"

namespace canvass {

// Re-encodes every record a job reads, for `canvass convert` (ingest/convert.h): the
// parallel stage encodes each chunk's records on its worker, the last stage writes the
// chunks' encodings in reading order.
class CvrRecordSink {
 public:
  virtual ~CvrRecordSink() = default;
  // Any thread, concurrently: appends a counted record's encoding to *out.
  virtual void EncodeBallot(const CvrTranscript& record, std::string* out) const = 0;
  // Any thread: appends a rejected record's encoding to *out; false when the target format
  // cannot hold one (the record is then listed as not converted). `location` is as the
  // job's examples are ("FILE: byte B: CVR[i]").
  virtual bool EncodeRejected(CastReject reason, absl::string_view why, absl::string_view location,
                              std::string* out) const = 0;
  // In reading order, one call per chunk: `records` encodings, their bytes.
  virtual absl::Status Write(absl::string_view bytes, uint64_t records) = 0;
};

struct CvrJobOptions {
  int threads = 0;                   // 0: all hardware threads
  uint64_t chunk_bytes = 4u << 20;   // records per parallel task, in bytes of input
  uint32_t examples_per_reason = 5;  // located examples kept per rejection reason
  CvrRecordSink* sink = nullptr;     // when set, every record is re-encoded into it
  // The processes of an mpirun job (base/rank_group.h); null or one: this process alone.
  // Every rank calls with the same paths and options and gets the same result. Not with
  // a sink (a conversion writes one file, in reading order, from one process).
  const RankGroup* ranks = nullptr;
};

struct CvrJobResult {
  ContestTally tally;
  std::vector<CvrInput> inputs;             // in reading order
  std::vector<SkippedInput> skipped;        // folder entries not read, with the reason
  std::vector<RepeatedInput> repeated;      // files given more than once (read once)
  std::vector<CastRejectExample> examples;  // per reason the first few, in file order
  // With a sink: rejected records its format could not hold, per reason.
  std::array<uint64_t, kNumCastRejects> not_converted{};
  // A record marked a contest not to be counted and the election has no kInvalid figure
  // (CvrBuilder::invalid_without_figure): this tally leaves that contest out of every
  // figure, and is to be read again with the figure (ReadCvrFilesShowingInvalid).
  bool invalid_without_figure = false;
};

// Reads `paths` (CVR report files, or folders of *.json / *.xml files). Errors: NotFound
// (a path that does not exist), InvalidArgument (a file that is not a CVR report, or of
// an unsupported syntax), DataLoss (a truncated or structurally broken file), each naming
// the file and byte offset; OutOfRange when a figure would overflow.
absl::StatusOr<CvrJobResult> ReadCvrFiles(const ContestElection& election,
                                          const std::vector<std::string>& paths,
                                          const CvrJobOptions& options);

// The job's result inside a result (found by ReadShowingInvalid below; convert.h has the
// conversion's).
inline const CvrJobResult& JobResultOf(const CvrJobResult& result) { return result; }

// Runs `read` (a job over *election: ReadCvrFiles, a conversion) and, when its result says
// invalid_without_figure, gives *election the kInvalid figure
// (ContestElection::AddInvalidFigure) and runs it once more, so that a contest marked not
// to be counted is shown, never dropped. Inputs are files (CVR inputs are never streams),
// so they can be read twice; the second reading happens only for such records, and no
// pass over the inputs looks for them beforehand.
template <typename Read>
auto ReadShowingInvalid(ContestElection* election, const Read& read) -> decltype(read()) {
  auto result = read();
  if (!result.ok() || !JobResultOf(*result).invalid_without_figure) return result;
  if (absl::Status added = election->AddInvalidFigure(); !added.ok()) return added;
  return read();
}

// Whether the first file of `paths` is a CVR report (by content), for commands that take
// either ballot files or cast vote records; false for a stream (a pipe or a device), which
// it never opens. NotFound / InvalidArgument as above.
absl::StatusOr<bool> PathsHoldCvrReports(const std::vector<std::string>& paths);

// The election defined inside the first CVR report of `paths` (its Election and GpUnit),
// for jobs given no results report, with the kInvalid figure when CvrInputsMarkInvalid.
// InvalidArgument when the report defines none.
absl::StatusOr<ContestElection> ElectionOfCvrReports(const std::vector<std::string>& paths);

// Whether any file of `paths` (as ExpandPaths lists them) declares the kInvalid figure in
// its header: a cvb file of contest ballots converted from records that had it (only its
// header is read). Records that mark a contest not to be counted in a NIST report are found
// by the job itself (ReadShowingInvalid), not by a pass over the text beforehand, which
// would read every input twice. A path or file it cannot read counts as not declaring
// (the job reports it where it reads it).
bool CvrInputsMarkInvalid(const std::vector<std::string>& paths);

}  // namespace canvass

#endif  // CANVASS_ENGINE_INGEST_CVR_JOB_H_
