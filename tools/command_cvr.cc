// canvass aggregate and canvass reconcile over cast vote records (NIST SP 1500-103 JSON or
// XML) of a contest election: the election from a results report (--reported, --election),
// an election directory of the contests form (--election DIR) or the records' own
// definition, the reported figures from that report, that directory's reported CSV or a
// reported-figures CSV (--reported, recognised by content), the tally rolled up every
// reporting unit, and for reconcile every reported cell checked (commands.h).
#include <sys/stat.h>

#include <cstdio>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "engine/base/file_util.h"
#include "engine/base/status_macros.h"
#include "engine/election/contest_json.h"
#include "engine/election/election.h"
#include "engine/ingest/convert.h"
#include "engine/ingest/cvr_job.h"
#include "engine/ingest/dominion_job.h"
#include "engine/ingest/input_hashes.h"
#include "engine/io/contest_prediction.h"
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

bool IsDirectory(const std::string& path) {
  struct stat info {};
  return !path.empty() && stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

// What --election may name for cast vote records, for messages.
constexpr absl::string_view kContestElectionKinds =
    "cast vote records need a contest election: a results report (an ERR JSON file) as "
    "--reported or --election, or an election directory whose election.json is the contests "
    "form (\"format_version\": 2 and \"contests\", docs/FORMAT.md \"election.json, contests "
    "form\") as --election";

// Whether DIRECTORY/election.json is of the contests form; false when it is not, or cannot
// be read (the job that loads it then says why).
bool HoldsContestElection(const std::string& directory) {
  absl::StatusOr<std::string> json =
      ReadFileToString(directory + "/election.json", kMaxElectionJsonBytes);
  return json.ok() && IsContestElectionJson(*json);
}

// ReadReportedFiguresCsv, where a CSV that gives figures of `invalid` cells (the copy of
// records that marked contests not to be counted) gives the election that figure first:
// the job would add it when it met the records (ReadShowingInvalid), but the reported
// side is read before them.
absl::Status ReadReportedCsv(absl::string_view name, absl::string_view text,
                             ContestElection* election) {
  absl::Status read = ReadReportedFiguresCsv(name, text, election);
  if (read.ok() || election->invalid_figure) return read;
  ContestElection with_invalid = *election;
  if (!with_invalid.AddInvalidFigure().ok() ||
      !ReadReportedFiguresCsv(name, text, &with_invalid).ok()) {
    return read;
  }
  *election = std::move(with_invalid);
  return absl::OkStatus();
}

// The election of directory `directory` (--election DIR): its election.json in the contests
// form, with the figures of the reported-figures CSV it names (`reported`), if any and
// `with_reported` (a --reported CSV replaces them unread).
absl::StatusOr<ContestElection> LoadContestElectionDirectory(const std::string& directory,
                                                             bool with_reported) {
  const std::string json_path = directory + "/election.json";
  CANVASS_ASSIGN_OR_RETURN(std::string json, ReadFileToString(json_path, kMaxElectionJsonBytes));
  if (!IsContestElectionJson(json)) {
    return absl::InvalidArgumentError(absl::StrCat(
        json_path, ": the single-contest form (choices and a roster); ", kContestElectionKinds));
  }
  std::string reported_file;
  CANVASS_ASSIGN_OR_RETURN(ContestElection election,
                           ParseContestElectionJson(json, json_path, &reported_file));
  if (reported_file.empty() || !with_reported) return election;
  const std::string csv_path = directory + "/" + reported_file;
  absl::StatusOr<std::string> csv = ReadFileToString(csv_path, kMaxResultsReportBytes);
  if (!csv.ok()) {
    return absl::Status(csv.status().code(),
                        absl::StrCat(csv.status().message(), " (the reported figures named by ",
                                     json_path, " field 'reported')"));
  }
  if (!LooksLikeReportedFiguresCsv(*csv)) {
    return absl::InvalidArgumentError(absl::StrCat(
        csv_path, " (", json_path, " field 'reported'): expected a ",
        "reported-figures CSV whose first line is the header \"", kReportedFiguresCsvHeader, "\""));
  }
  const std::string definition = election.source;
  CANVASS_RETURN_IF_ERROR(ReadReportedCsv(csv_path, *csv, &election));
  election.source = absl::StrCat(csv_path, " (reported figures), election of ", definition);
  return election;
}

// The election of a job given a reported-figures CSV: the results report or the
// contests-form election directory named by --election, else the records' own definition;
// then the CSV's figures replace the reported ones.
absl::StatusOr<ContestElection> ElectionWithReportedCsv(const FilesFlags& flags,
                                                        const std::string& csv,
                                                        absl::string_view text) {
  constexpr absl::string_view kWhence =
      "the election of a reported-figures CSV comes from a results report (an ERR JSON file) "
      "or an election directory of the contests form as --election, or from the cast vote "
      "records' own definition";
  const std::string& definition = flags.report.election_directory;
  ContestElection election;
  if (definition.empty()) {
    absl::StatusOr<ContestElection> own = ElectionOfCvrReports(flags.paths);
    if (!own.ok()) {
      return absl::Status(own.status().code(),
                          absl::StrCat(own.status().message(), " (", kWhence, ")"));
    }
    election = *std::move(own);
  } else if (IsDirectory(definition)) {
    CANVASS_ASSIGN_OR_RETURN(election,
                             LoadContestElectionDirectory(definition, /*with_reported=*/false));
  } else if (!IsRegularFile(definition)) {
    return absl::InvalidArgumentError(
        absl::StrCat(definition, ": ", kWhence, "; neither a file nor a directory"));
  } else {
    CANVASS_ASSIGN_OR_RETURN(std::string json,
                             ReadFileToString(definition, kMaxResultsReportBytes));
    if (LooksLikeReportedFiguresCsv(json)) {
      return absl::InvalidArgumentError(
          absl::StrCat(definition, ": a reported-figures CSV defines no election; ", kWhence));
    }
    CANVASS_ASSIGN_OR_RETURN(election, ParseResultsReportJson(definition, json));
  }
  CANVASS_RETURN_IF_ERROR(ReadReportedCsv(csv, text, &election));
  election.source = absl::StrCat(csv, " (reported figures), election of ", election.source);
  return election;
}

// The election of a contest job: the results report named by --reported (an ERR JSON
// file, or a reported-figures CSV read against the election of --election or of the
// records; recognised by content), else by --election (an ERR JSON file, or an election
// directory of the contests form with its own reported CSV), else the records' own
// definition.
absl::StatusOr<ContestElection> DefinedElection(const FilesFlags& flags) {
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
  if (IsDirectory(file)) return LoadContestElectionDirectory(file, /*with_reported=*/true);
  if (!IsRegularFile(file)) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": neither a file nor a directory; ", kContestElectionKinds));
  }
  return LoadResultsReportJson(file);
}

// The job's election (DefinedElection), with the kInvalid figure when a cvb input declares
// it (CvrInputsMarkInvalid); records that mark contests not to be counted add it when the
// job reads them (ReadShowingInvalid): they are shown, never dropped.
absl::StatusOr<ContestElection> JobElection(const FilesFlags& flags) {
  CANVASS_ASSIGN_OR_RETURN(ContestElection election, DefinedElection(flags));
  if (!election.invalid_figure) {
    if (CvrInputsMarkInvalid(flags.paths)) CANVASS_RETURN_IF_ERROR(election.AddInvalidFigure());
  }
  return election;
}

// The --predicted file read against the job's election (before the job runs, so that a
// bad one costs no reading); nullopt without the flag.
absl::StatusOr<std::optional<ContestPrediction>> LoadPrediction(const FilesFlags& flags,
                                                                const ContestElection& election) {
  if (flags.predicted.empty()) return std::nullopt;
  CANVASS_ASSIGN_OR_RETURN(std::string text,
                           ReadFileToString(flags.predicted, kMaxPredictionBytes));
  return ParseContestPrediction(flags.predicted, text, election);
}

// Reconciles (for reconcile) and prints the report of a contest job (with the ground
// truth when `prediction` is set); the exit code.
int PrintContestReport(const FilesFlags& flags, ReportFormat format, bool reconcile,
                       const ContestElection& election, const CvrJobResult& job,
                       const ContestPrediction* prediction) {
  std::optional<Reconciliation2> reconciliation;
  if (reconcile) {
    reconciliation = ReconcileCells(election, job.tally, {flags.report.tolerance});
  }
  ContestReportInput input;
  input.command = reconcile ? "reconcile" : "aggregate";
  input.predicted = prediction;
  input.election = &election;
  input.tally = &job.tally;
  input.reconciliation = reconciliation ? &*reconciliation : nullptr;
  input.by_unit = flags.report.by == "unit";
  input.plausibility = flags.report.plausibility;
  input.inputs = &job.inputs;
  input.examples = &job.examples;
  input.skipped = &job.skipped;
  input.repeated = &job.repeated;
  std::vector<std::string> hashes;
  if (WantsInputHashes(flags.report, format) && PrintsReport()) {
    std::vector<std::string> paths;
    for (const CvrInput& file : job.inputs) paths.push_back(file.path);
    hashes = HashInputFiles(paths);
    input.input_hashes = &hashes;
  }
  const absl::Status emitted = EmitReport(
      flags.report, format, [&](ReportFormat as) { return RenderContestReport(input, as); });
  if (!emitted.ok()) return Fail(emitted);
  if (!reconcile) return kExitMatch;
  return reconciliation->match ? kExitMatch : kExitMismatch;
}

// A Dominion export (a folder or a zip): the election from its manifests, the reported
// figures from a --reported CSV keyed by the export's unit ids or external ids (a
// precinct's code), contest ids or names and candidate ids or names.
int DominionCommand(const FilesFlags& flags, ReportFormat format, bool reconcile) {
  if (flags.paths.size() != 1) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        flags.paths[1], ": a Dominion export is read on its own (one folder or zip per job)")));
  }
  if (!flags.report.election_directory.empty()) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("--election ", flags.report.election_directory,
                     ": a Dominion export defines its own election (its manifests)")));
  }
  // Refused rather than ignored: the figures of a --reported CSV are compared as given (a
  // generated export's DIR-reported.csv is already times its scale).
  if (flags.scale && *flags.scale != 1) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "--scale ", *flags.scale,
        ": the reported figures of a Dominion export are compared as the --reported CSV gives "
        "them (a generated export's reported CSV is already times its scale); leave --scale "
        "out")));
  }
  absl::StatusOr<DominionExport> dominion = LoadDominionExport(flags.paths.front());
  if (!dominion.ok()) return Fail(dominion.status());
  ContestElection& election = dominion->election;
  if (!flags.reported.empty()) {
    if (!IsRegularFile(flags.reported)) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat(flags.reported, ": --reported expects a file (", ReportedKinds(), ")")));
    }
    absl::StatusOr<std::string> text = ReadFileToString(flags.reported, kMaxResultsReportBytes);
    if (!text.ok()) return Fail(text.status());
    if (LooksLikeReportedFiguresCsv(*text)) {
      if (absl::Status read = ReadReportedFiguresCsv(flags.reported, *text, &election);
          !read.ok()) {
        return Fail(read);
      }
    } else if (LooksLikeResultsReportJson(absl::StripPrefix(*text, "\xEF\xBB\xBF"))) {
      // An ERR: its figures taken unit by unit (by id or the precincts' codes) and contest
      // by contest (by id or name) into the export's election.
      absl::StatusOr<ContestElection> report = ParseResultsReportJson(flags.reported, *text);
      if (!report.ok()) return Fail(report.status());
      if (absl::Status read = TakeReportedFigures(*report, flags.reported, &election); !read.ok()) {
        return Fail(read);
      }
    } else {
      return Fail(absl::InvalidArgumentError(absl::StrCat(
          flags.reported, ": not reported figures; for a Dominion export --reported expects ",
          ReportedKinds(), " (docs/FORMAT.md)")));
    }
    election.source = absl::StrCat(flags.reported, " (reported figures), election of ",
                                   flags.paths.front(), " (its manifests)");
  }
  if (reconcile && election.reported.empty()) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat(flags.paths.front(),
                     ": no reported figures to reconcile against (give them with --reported)")));
  }
  absl::StatusOr<std::optional<ContestPrediction>> prediction = LoadPrediction(flags, election);
  if (!prediction.ok()) return Fail(prediction.status());
  CvrJobOptions options;
  options.threads = flags.threads;
  options.ranks = JobRanks();
  absl::StatusOr<CvrJobResult> job = ReadDominionExport(*dominion, flags.paths.front(), options);
  if (!job.ok()) return Fail(job.status());
  return PrintContestReport(flags, format, reconcile, election, *job,
                            *prediction ? &**prediction : nullptr);
}

}  // namespace

absl::StatusOr<bool> IsContestJob(const FilesFlags& flags) {
  if (!flags.reported.empty()) return true;
  if (!flags.paths.empty() && IsDominionExport(flags.paths.front())) return true;
  if (IsRegularFile(flags.report.election_directory)) return true;
  // A contests-form election directory is a contest job whatever the paths hold (the job
  // then says what is wrong with a path that is not a CVR report).
  if (IsDirectory(flags.report.election_directory) &&
      HoldsContestElection(flags.report.election_directory)) {
    return true;
  }
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
  if (!flags.paths.empty() && IsDominionExport(flags.paths.front())) {
    return DominionCommand(flags, *format, reconcile);
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
  absl::StatusOr<std::optional<ContestPrediction>> prediction = LoadPrediction(flags, *election);
  if (!prediction.ok()) return Fail(prediction.status());
  CvrJobOptions options;
  options.threads = flags.threads;
  options.ranks = JobRanks();
  const uint32_t cells_before = election->cells_per_unit();
  absl::StatusOr<CvrJobResult> job =
      ReadShowingInvalid(&*election, [&] { return ReadCvrFiles(*election, flags.paths, options); });
  if (!job.ok()) return Fail(job.status());
  // The election gained the `invalid` figure: the prediction's cells move with it.
  if (*prediction && election->cells_per_unit() != cells_before) {
    prediction = LoadPrediction(flags, *election);
    if (!prediction.ok()) return Fail(prediction.status());
  }
  return PrintContestReport(flags, *format, reconcile, *election, *job,
                            *prediction ? &**prediction : nullptr);
}

CLI::App* AddConvertCommand(CLI::App* app, ConvertFlags* flags) {
  CLI::App* command = app->add_subcommand(
      "convert",
      "Write the cast vote records of a Dominion export (a folder or .zip), NIST CVR reports "
      "or a cvb file of contest ballots as a NIST CVR JSON report or a cvb file, read back to "
      "the same figures");
  command
      ->add_option("PATH", flags->paths,
                   "A Dominion export (folder or .zip), or NIST CVR reports (JSON or XML) or "
                   "folders of them, or a cvb file of contest ballots")
      ->required();
  command->add_option("--to", flags->to, "nist-json (a NIST SP 1500-103 CVR JSON report) or cvb")
      ->required();
  command->add_option("--out", flags->out, "The file to write (replaced when complete)")
      ->required();
  command->add_option("--election", flags->election,
                      "For NIST inputs: the election, as for aggregate (default: the records' "
                      "own definition)");
  command->add_option("--reported", flags->reported,
                      "For NIST inputs: an ERR JSON results report defining the election");
  AddThreads(command, &flags->threads);
  return command;
}

int ConvertCommand(const ConvertFlags& flags) {
  absl::StatusOr<ConvertTarget> target = ParseConvertTarget(flags.to);
  if (!target.ok()) return Fail(target.status());
  CvrJobOptions options;
  options.threads = flags.threads;
  const bool dominion = IsDominionExport(flags.paths.front());
  absl::StatusOr<DominionExport> export_election;
  ContestElection election;
  if (dominion) {
    if (flags.paths.size() != 1) {
      return Fail(absl::InvalidArgumentError(absl::StrCat(
          flags.paths[1], ": a Dominion export is converted on its own (one folder or zip)")));
    }
    if (!flags.election.empty() || !flags.reported.empty()) {
      return Fail(absl::InvalidArgumentError(
          "--election and --reported: a Dominion export defines its own election (its "
          "manifests)"));
    }
    export_election = LoadDominionExport(flags.paths.front());
    if (!export_election.ok()) return Fail(export_election.status());
  } else {
    absl::StatusOr<bool> cvrs = PathsHoldCvrReports(flags.paths);
    if (!cvrs.ok()) return Fail(cvrs.status());
    if (!*cvrs) {
      return Fail(absl::InvalidArgumentError(absl::StrCat(
          flags.paths.front(),
          ": not cast vote records; convert reads a Dominion export (a folder or .zip), NIST "
          "CVR reports (JSON or XML) or a cvb file of contest ballots")));
    }
    FilesFlags files;
    files.paths = flags.paths;
    files.reported = flags.reported;
    files.report.election_directory = flags.election;
    absl::StatusOr<ContestElection> job_election = JobElection(files);
    if (!job_election.ok()) return Fail(job_election.status());
    election = *std::move(job_election);
  }
  ContestElection& source = dominion ? export_election->election : election;
  const std::string from = absl::StrJoin(flags.paths, ", ");
  absl::StatusOr<ConvertResult> converted = ReadShowingInvalid(&source, [&] {
    return ConvertCvrRecords(source, *target, flags.out, from, options,
                             [&](const CvrJobOptions& job_options) -> absl::StatusOr<CvrJobResult> {
                               if (dominion) {
                                 return ReadDominionExport(*export_election, flags.paths.front(),
                                                           job_options);
                               }
                               return ReadCvrFiles(source, flags.paths, job_options);
                             });
  });
  if (!converted.ok()) return Fail(converted.status());
  const CvrJobResult& job = converted->job;
  uint64_t records = 0;
  for (const CvrInput& input : job.inputs) records += input.records;
  std::string out =
      absl::StrCat("converted ", records, " records of ", from, " (", job.inputs.size(),
                   job.inputs.size() == 1 ? " file" : " files", ") to ", flags.out, " (", flags.to,
                   ", ", converted->bytes_written, " bytes)\n");
  absl::StrAppend(&out, "  records written: ", converted->records_written, "\n");
  absl::StrAppend(&out, "  ballots counted: ", job.tally.counted, " (", job.tally.adjudicated,
                  " from adjudicated versions)\n");
  for (int r = 0; r < kNumCastRejects; ++r) {
    const uint64_t n = job.tally.rejected[r];
    if (n == 0) continue;
    const uint64_t left_out = job.not_converted[r];
    absl::StrAppend(&out, "  rejected ", CastRejectName(static_cast<CastReject>(r)), ": ", n,
                    left_out > 0 ? absl::StrCat(" (", left_out, " not converted: ", flags.to,
                                                " has no form for them)")
                                 : "",
                    "\n");
  }
  for (const CastRejectExample& example : job.examples) {
    if (job.not_converted[static_cast<int>(example.reason)] == 0) continue;
    absl::StrAppend(&out, "    not converted: ", example.location, ": ", example.why, "\n");
  }
  std::fputs(out.c_str(), stdout);
  return kExitMatch;
}

}  // namespace canvass::cli
