// canvass aggregate and canvass reconcile over cast vote records (NIST SP 1500-103 JSON or
// XML) of a contest election: the election from a results report (--reported, --election)
// or from the records' own definition, the reported figures from that report or from a
// reported-figures CSV (--reported, recognised by content), the tally rolled up every
// reporting unit, and for reconcile every reported cell checked (commands.h).
#include <sys/stat.h>

#include <cstdio>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "engine/base/file_util.h"
#include "engine/base/status_macros.h"
#include "engine/ingest/cvr_job.h"
#include "engine/io/nist/err_json.h"
#include "engine/io/nist/reported_csv.h"
#include "engine/reconcile/cell_reconciler.h"
#include "engine/report/contest_report.h"
#include "tools/commands.h"

namespace canvass::cli {
namespace {

// What --reported may name, for messages.
std::string ReportedKinds() {
  return absl::StrCat(
      "a NIST ERR JSON results report, or a reported-figures CSV whose first line is the "
      "header \"",
      kReportedFiguresCsvHeader, "\"");
}

bool IsRegularFile(const std::string& path) {
  struct stat info {};
  return !path.empty() && stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

// The election of a job given a reported-figures CSV: the results report named by
// --election, else the records' own definition; then the CSV's figures replace the
// reported ones.
absl::StatusOr<ContestElection> ElectionWithReportedCsv(const FilesFlags& flags,
                                                        const std::string& csv,
                                                        absl::string_view text) {
  constexpr absl::string_view kWhence =
      "the election of a reported-figures CSV comes from a results report (an ERR JSON file) "
      "as --election, or from the cast vote records' own definition";
  const std::string& definition = flags.report.election_directory;
  ContestElection election;
  if (definition.empty()) {
    absl::StatusOr<ContestElection> own = ElectionOfCvrReports(flags.paths);
    if (!own.ok()) {
      return absl::Status(own.status().code(),
                          absl::StrCat(own.status().message(), " (", kWhence, ")"));
    }
    election = *std::move(own);
  } else if (!IsRegularFile(definition)) {
    return absl::InvalidArgumentError(
        absl::StrCat(definition, ": ", kWhence, "; not an election directory"));
  } else {
    CANVASS_ASSIGN_OR_RETURN(std::string json,
                             ReadFileToString(definition, kMaxResultsReportBytes));
    if (LooksLikeReportedFiguresCsv(json)) {
      return absl::InvalidArgumentError(
          absl::StrCat(definition, ": a reported-figures CSV defines no election; ", kWhence));
    }
    CANVASS_ASSIGN_OR_RETURN(election, ParseResultsReportJson(definition, json));
  }
  CANVASS_RETURN_IF_ERROR(ReadReportedFiguresCsv(csv, text, &election));
  election.source = absl::StrCat(csv, " (reported figures), election of ", election.source);
  return election;
}

// The election of a contest job: the results report named by --reported (an ERR JSON
// file, or a reported-figures CSV read against the election of --election or of the
// records; recognised by content), else by --election, else the records' own definition.
absl::StatusOr<ContestElection> JobElection(const FilesFlags& flags) {
  if (!flags.reported.empty()) {
    if (!IsRegularFile(flags.reported)) {
      return absl::InvalidArgumentError(
          absl::StrCat(flags.reported, ": --reported expects a file (", ReportedKinds(), ")"));
    }
    CANVASS_ASSIGN_OR_RETURN(std::string text,
                             ReadFileToString(flags.reported, kMaxResultsReportBytes));
    if (LooksLikeReportedFiguresCsv(text)) {
      return ElectionWithReportedCsv(flags, flags.reported, text);
    }
    // A byte-order mark does not hide an ERR from the sniff (the reader is left to say
    // whether it reads one).
    if (!LooksLikeResultsReportJson(absl::StripPrefix(text, "\xEF\xBB\xBF"))) {
      return absl::InvalidArgumentError(absl::StrCat(
          flags.reported, ": not a results report; --reported expects ", ReportedKinds()));
    }
    return ParseResultsReportJson(flags.reported, text);
  }
  const std::string& file = flags.report.election_directory;
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
  if (flags.skip_damaged || !flags.checkpoint.empty()) {
    return Fail(absl::InvalidArgumentError(
        "--skip-damaged and --checkpoint apply to ballot files (CSV, cvb), not to "
        "cast vote record reports"));
  }
  absl::StatusOr<ContestElection> election = JobElection(flags);
  if (!election.ok()) return Fail(election.status());
  // --scale K: the reported figures times K, as `generate --reported ... --scale K` wrote
  // the records.
  if (flags.scale && *flags.scale > 1) {
    election = ScaleContestElection(*election, *flags.scale);
    if (!election.ok()) return Fail(election.status());
  }
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
