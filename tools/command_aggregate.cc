// canvass aggregate and canvass reconcile: read ballot files (CSV or cvb, or folders of them)
// and print the tally; reconcile also checks it against the reported figures and the folder
// manifests (commands.h). The two share everything but the verdict.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "engine/base/decimal.h"
#include "engine/base/file_util.h"
#include "engine/ingest/ingest.h"
#include "engine/ingest/input_hashes.h"
#include "engine/io/manifest.h"
#include "engine/reconcile/reconciler.h"
#include "engine/report/report.h"
#include "engine/synth/file_generator.h"
#include "engine/synth/generator.h"
#include "tools/commands.h"

namespace canvass::cli {
namespace {

// The scale the paths' folder manifests were generated at: std::nullopt when no path has
// a manifest. Manifests that disagree are an input error naming both: one election scale
// cannot fit both folders' predictions.
absl::StatusOr<std::optional<uint64_t>> ManifestScale(const std::vector<std::string>& paths) {
  std::optional<uint64_t> scale;
  std::string first;
  for (const std::string& path : paths) {
    const std::string manifest = path + "/" + kManifestFileName;
    // A path without a manifest (a ballot file, a folder without one) gives no scale; one
    // that is there but cannot be read is an error naming it and the system's reason.
    absl::StatusOr<std::string> text = ReadFileToString(manifest, kMaxManifestBytes);
    if (absl::IsNotFound(text.status())) continue;
    if (!text.ok()) return text.status();
    absl::StatusOr<uint64_t> read_scale = ParseManifestScale(manifest, *text);
    if (!read_scale.ok()) return read_scale.status();
    const uint64_t this_scale = *read_scale;
    if (scale && *scale != this_scale) {
      return absl::InvalidArgumentError(absl::StrCat(manifest, ": generated at scale ", this_scale,
                                                     ", but ", first, " at scale ", *scale,
                                                     "; read them in separate jobs"));
    }
    scale = this_scale;
    if (first.empty()) first = manifest;
  }
  return scale;
}

// The election scale of a job: --scale when given, else the manifests', else 1. A --scale
// that contradicts a manifest is an input error: the folder's prediction, and every
// station's capacity, belong to the scale it was generated at.
absl::StatusOr<uint64_t> JobScale(const FilesFlags& flags) {
  absl::StatusOr<std::optional<uint64_t>> manifest_scale = ManifestScale(flags.paths);
  if (!manifest_scale.ok()) return manifest_scale.status();
  if (!flags.scale) return manifest_scale->value_or(1);
  if (*manifest_scale && **manifest_scale != *flags.scale) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--scale ", *flags.scale, " contradicts the folder manifest, generated at scale ",
        **manifest_scale, "; leave --scale out (the manifest's is used) or give --scale ",
        **manifest_scale));
  }
  return *flags.scale;
}

int FilesCommand(const FilesFlags& flags, bool reconcile) {
  if (absl::StatusOr<bool> contest = IsContestJob(flags); contest.ok() && *contest) {
    return ContestFilesCommand(flags, reconcile);
  }
  if (!flags.predicted.empty()) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "--predicted ", flags.predicted,
        ": applies to cast vote records generated with faults; a generated folder of ballot "
        "files carries its prediction in its manifest.json")));
  }
  absl::StatusOr<ReportSetup> setup = PrepareReport(flags.report);
  if (!setup.ok()) return Fail(setup.status());
  const ReportFormat* format = &setup->format;
  const Breakdown breakdown = setup->breakdown;
  const Election* election = &*setup->election;
  absl::StatusOr<uint64_t> scale = JobScale(flags);
  if (!scale.ok()) return Fail(scale.status());
  absl::StatusOr<Election> scaled = ScaleElection(*election, *scale);
  if (!scaled.ok()) return Fail(scaled.status());
  if (reconcile && !scaled->contest().reported) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("election ", scaled->id,
                     ": no reported figures to reconcile against (election.json "
                     "field 'reported')")));
  }
  IngestOptions options;
  options.threads = flags.threads;
  options.skip_damaged = flags.skip_damaged;
  options.progress = !flags.quiet && isatty(STDERR_FILENO);
  options.checkpoint_path = flags.checkpoint;
  options.checkpoint_every_bytes = flags.checkpoint_every_mib << 20;
  options.ranks = JobRanks();
  options.progress = options.progress && PrintsReport();
  absl::StatusOr<IngestResult> ingest = IngestFiles(*scaled, flags.paths, options);
  if (!ingest.ok()) return Fail(ingest.status());
  ReportInput input;
  input.command = reconcile ? "reconcile" : "aggregate";
  input.election = &*scaled;
  input.tally = &ingest->tally;
  input.breakdown = breakdown;
  input.plausibility = flags.report.plausibility;
  input.inputs = &*ingest;
  std::vector<std::string> hashes;
  if (WantsInputHashes(flags.report, *format) && PrintsReport()) {
    std::vector<std::string> paths;
    for (const FileOutcome& file : ingest->files) paths.push_back(file.path);
    hashes = HashInputFiles(paths);
    input.input_hashes = &hashes;
  }
  std::optional<Reconciliation> reconciliation;
  if (reconcile) {
    reconciliation = Reconcile(*scaled, ingest->tally, ReconcileOptions{flags.report.tolerance});
    input.reconciliation = &*reconciliation;
  }
  const Manifest* manifest = ingest->manifest ? &*ingest->manifest : nullptr;
  if (manifest) input.generation = GenerationInfo{manifest->seed, manifest->scale};
  FaultSummary faults_summary;
  if (manifest && ingest->faults.Any() && manifest->predicted) {
    faults_summary = SummarizeFaults(ingest->faults, ingest->fired);
    input.faults = &faults_summary;
    input.predicted = &*manifest->predicted;
  }
  const absl::Status emitted =
      EmitReport(flags.report, *format, [&](ReportFormat as) { return RenderReport(input, as); });
  if (!emitted.ok()) return Fail(emitted);
  if (!reconcile) return kExitMatch;
  const bool truth_holds = !input.predicted || *input.predicted == ingest->tally;
  return reconciliation->match && truth_holds && ingest->findings.empty() ? kExitMatch
                                                                          : kExitMismatch;
}

CLI::App* AddFilesCommand(CLI::App* app, const std::string& name, const std::string& help,
                          FilesFlags* flags, bool reconcile) {
  CLI::App* command = app->add_subcommand(name, help);
  AddReportFlags(command, &flags->report, /*with_tolerance=*/reconcile);
  command
      ->add_option("PATH", flags->paths,
                   "Ballot files (CSV or cvb), NIST cast vote record reports (JSON or "
                   "XML), or folders of them")
      ->required();
  command->add_option("--reported", flags->reported,
                      "Results report giving the reported figures per unit, for cast vote "
                      "records: a NIST ERR JSON (which also defines the election) or a "
                      "reported-figures CSV (unit,contest,selection,count)");
  command->add_option("--predicted", flags->predicted,
                      "For cast vote records generated with --faults: their predicted "
                      "figures (OUT-predicted.json), shown beside the counted ones as the "
                      "report's ground truth");
  command->add_option_function<std::string>(
      "--scale",
      [flags](const std::string& text) {
        const std::optional<uint64_t> value = ParseDecimalUint64(text);
        if (!value || *value < 1) {
          throw CLI::ValidationError(
              "--scale", absl::StrCat("expected a decimal integer >= 1, got \"", text, "\""));
        }
        flags->scale = *value;
      },
      "The election at scale K (default: the folder manifest's scale, else 1)");
  AddThreads(command, &flags->threads);
  command->add_flag("--skip-damaged", flags->skip_damaged,
                    "Account damaged files (records declared minus read) and go on, instead of "
                    "stopping with exit 2");
  command->add_flag("--quiet", flags->quiet, "No progress on stderr");
  command->add_option("--checkpoint", flags->checkpoint,
                      "Save the job's state to FILE as it goes (atomically) and resume from it "
                      "if it exists; removed when the job completes");
  AddDecimal(command, "--checkpoint-every", &flags->checkpoint_every_mib,
             "MiB of input between checkpoints", 1, 1 << 20);
  return command;
}

}  // namespace

CLI::App* AddAggregateCommand(CLI::App* app, FilesFlags* flags) {
  return AddFilesCommand(app, "aggregate", "Read ballot files and print the tally", flags,
                         /*reconcile=*/false);
}

int AggregateCommand(const FilesFlags& flags) { return FilesCommand(flags, /*reconcile=*/false); }

CLI::App* AddReconcileCommand(CLI::App* app, FilesFlags* flags) {
  return AddFilesCommand(app, "reconcile",
                         "Read ballot files, reconcile the tally against the reported figures "
                         "and check folder manifests",
                         flags, /*reconcile=*/true);
}

int ReconcileCommand(const FilesFlags& flags) { return FilesCommand(flags, /*reconcile=*/true); }

}  // namespace canvass::cli
