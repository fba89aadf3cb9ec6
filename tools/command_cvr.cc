// canvass aggregate and canvass reconcile over cast vote records (NIST SP 1500-103 JSON or
// XML) of a contest election: the election from a results report (--reported, --election)
// or from the records' own definition, the tally rolled up every reporting unit, and for
// reconcile every reported cell checked (commands.h).
#include <sys/stat.h>

#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/ingest/cvr_job.h"
#include "engine/io/nist/err_json.h"
#include "engine/reconcile/cell_reconciler.h"
#include "engine/report/contest_report.h"
#include "tools/commands.h"

namespace canvass::cli {
namespace {

bool IsRegularFile(const std::string& path) {
  struct stat info {};
  return !path.empty() && stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

// The election of a contest job: the results report named by --reported, else by
// --election, else the records' own definition.
absl::StatusOr<ContestElection> JobElection(const FilesFlags& flags) {
  const std::string& file =
      !flags.reported.empty() ? flags.reported : flags.report.election_directory;
  if (file.empty()) return ElectionOfCvrReports(flags.paths);
  if (!IsRegularFile(file)) {
    return absl::InvalidArgumentError(
        absl::StrCat(file,
                     ": cast vote records need a results report (an ERR JSON file) as --reported "
                     "or --election, not an election directory"));
  }
  return LoadResultsReportJson(file);
}

}  // namespace

absl::StatusOr<bool> IsContestJob(const FilesFlags& flags) {
  if (!flags.reported.empty()) return true;
  if (IsRegularFile(flags.report.election_directory)) return true;
  absl::StatusOr<bool> cvrs = PathsHoldCvrReports(flags.paths);
  // A path that cannot be expanded or read is reported by the job that reads it.
  if (!cvrs.ok()) return false;
  return *cvrs;
}

int ContestFilesCommand(const FilesFlags& flags, bool reconcile) {
  absl::StatusOr<ReportFormat> format = ParseReportFormat(flags.report.format);
  if (!format.ok()) return Fail(format.status());
  if (!flags.report.by.empty() && flags.report.by != "unit") {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("--by ", flags.report.by,
                     ": cast vote records are drilled down by reporting unit (--by unit)")));
  }
  if (flags.scale || flags.skip_damaged || !flags.checkpoint.empty()) {
    return Fail(absl::InvalidArgumentError(
        "--scale, --skip-damaged and --checkpoint apply to ballot files (CSV, cvb), not to "
        "cast vote record reports"));
  }
  absl::StatusOr<ContestElection> election = JobElection(flags);
  if (!election.ok()) return Fail(election.status());
  if (reconcile && election->reported.empty()) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat(election->source,
                     ": no reported figures to reconcile against (give a results "
                     "report with --reported)")));
  }
  CvrJobOptions options;
  options.threads = flags.threads;
  absl::StatusOr<CvrJobResult> job = ReadCvrFiles(*election, flags.paths, options);
  if (!job.ok()) return Fail(job.status());
  std::optional<Reconciliation2> reconciliation;
  if (reconcile) {
    reconciliation = ReconcileCells(*election, job->tally, {flags.report.tolerance});
  }
  ContestReportInput input;
  input.command = reconcile ? "reconcile" : "aggregate";
  input.election = &*election;
  input.tally = &job->tally;
  input.reconciliation = reconciliation ? &*reconciliation : nullptr;
  input.by_unit = flags.report.by == "unit";
  input.inputs = &job->inputs;
  input.examples = &job->examples;
  input.skipped = &job->skipped;
  input.repeated = &job->repeated;
  std::fputs(RenderContestReport(input, *format).c_str(), stdout);
  if (!reconcile) return kExitMatch;
  return reconciliation->match ? kExitMatch : kExitMismatch;
}

}  // namespace canvass::cli
