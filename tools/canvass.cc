// canvass: the command-line front end. Parses flags (CLI11), loads the election, runs a
// pipeline and prints a report. Exit codes follow diff(1): 0 match, 1 mismatch, 2 usage
// or input error (the message names the file, field or flag and what was expected).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/base/checked_math.h"
#include "engine/base/decimal.h"
#include "engine/base/file_util.h"
#include "engine/base/kernel.h"
#include "engine/base/status_macros.h"
#include "engine/election/election.h"
#include "engine/pipeline/files.h"
#include "engine/pipeline/pipeline.h"
#include "engine/reconcile/reconciler.h"
#include "engine/report/report.h"
#include "engine/stress/stress.h"
#include "engine/synth/fault_plan.h"
#include "engine/synth/generator.h"
#include "nlohmann/json.hpp"
#include "tools/build_info.h"

namespace canvass {
namespace {

constexpr int kExitMatch = 0;
constexpr int kExitMismatch = 1;
constexpr int kExitInputError = 2;

// Flags shared by the reporting commands.
struct ReportFlags {
  std::string election_directory;  // empty: the embedded reference election
  std::string format = "text";
  std::string by;
  uint64_t tolerance = 0;
};

struct RunFlags {
  ReportFlags report;
  uint64_t scale = 1;
  uint64_t seed = 1;
  int threads = 0;
  std::string faults;
};

// CLI11 2.1 reads unsigned numbers with strtoull (base 0), which takes "-1" as 2^64 - 1
// and "010" as octal; every count on this command line is plain decimal instead
// (ParseDecimalUint64).
CLI::Option* AddDecimal(CLI::App* command, const std::string& name, uint64_t* value,
                        const std::string& help, uint64_t low, uint64_t high) {
  return command
      ->add_option_function<std::string>(
          name,
          [=](const std::string& text) {
            // These flags have always refused more than 20 characters, leading zeros or not.
            const std::optional<uint64_t> parsed =
                text.size() <= 20 ? ParseDecimalUint64(text) : std::nullopt;
            if (!parsed || *parsed < low || *parsed > high) {
              throw CLI::ValidationError(name, absl::StrCat("expected a decimal integer in ", low,
                                                            "..", high, ", got \"", text, "\""));
            }
            *value = *parsed;
          },
          help)
      ->default_str(absl::StrCat(*value));
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "canvass: %s\n", std::string(status.message()).c_str());
  return kExitInputError;
}

// Everything written to stdout reached it: a full disk, /dev/full or a closed stdout is
// exit 2 with the system's reason, never an exit code that reads as a verdict.
int CheckStdout(int exit_code) {
  errno = 0;
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    const int error = errno != 0 ? errno : EIO;
    std::fprintf(stderr, "canvass: cannot write report: %s\n", std::strerror(error));
    return kExitInputError;
  }
  return exit_code;
}

void AddReportFlags(CLI::App* command, ReportFlags* flags, bool with_tolerance) {
  command->add_option("--election", flags->election_directory,
                      "Election directory (election.json + roster); default: the embedded "
                      "reference election, Iran 2024 runoff, votes cast abroad");
  command->add_option("--format", flags->format, "Report format: text, json or csv")
      ->capture_default_str();
  command->add_option("--by", flags->by, "Drill down by station or by country");
  if (with_tolerance) {
    AddDecimal(command, "--tolerance", &flags->tolerance,
               "Largest |counted - reported| per figure still called a match", 0, kMaxFigure);
  }
}

void AddThreads(CLI::App* command, int* threads) {
  command->add_option_function<std::string>(
      "--threads",
      [threads](const std::string& text) {
        const std::optional<uint64_t> parsed = ParseDecimalUint64(text);
        if (!parsed || *parsed < 1 || *parsed > 1024) {
          throw CLI::ValidationError("--threads",
                                     absl::StrCat("expected 1..1024, got \"", text, "\""));
        }
        *threads = static_cast<int>(*parsed);
      },
      "Worker threads (default: all hardware threads)");
}

absl::StatusOr<Election> LoadElection(const std::string& directory) {
  if (directory.empty()) return ReferenceElection();
  return LoadElectionDirectory(directory);
}

// What every reporting command needs first: the format, the breakdown, the election.
struct ReportSetup {
  ReportFormat format = ReportFormat::kText;
  Breakdown breakdown = Breakdown::kNone;
  absl::StatusOr<Election> election;
};

absl::StatusOr<ReportSetup> PrepareReport(const ReportFlags& flags) {
  ReportSetup setup;
  CANVASS_ASSIGN_OR_RETURN(setup.format, ParseReportFormat(flags.format));
  if (!flags.by.empty()) {
    CANVASS_ASSIGN_OR_RETURN(setup.breakdown, ParseBreakdown(flags.by));
  }
  setup.election = LoadElection(flags.election_directory);
  CANVASS_RETURN_IF_ERROR(setup.election.status());
  return setup;
}

int RunCommand(const RunFlags& flags) {
  absl::StatusOr<ReportSetup> setup = PrepareReport(flags.report);
  if (!setup.ok()) return Fail(setup.status());
  const ReportFormat* format = &setup->format;
  const Breakdown breakdown = setup->breakdown;
  const Election* election = &*setup->election;
  absl::StatusOr<FaultPlan> faults = FaultPlan::Parse(flags.faults);
  if (!faults.ok()) return Fail(faults.status());
  SyntheticRunOptions options;
  options.faults = *faults;
  options.scale = flags.scale;
  options.generator.seed = flags.seed;
  options.threads = flags.threads;
  absl::StatusOr<SyntheticRun> run = RunSynthetic(*election, options);
  if (!run.ok()) return Fail(run.status());
  Reconciliation reconciliation =
      Reconcile(run->election, run->tally, ReconcileOptions{flags.report.tolerance});
  ReportInput input;
  input.command = "run";
  input.election = &run->election;
  input.tally = &run->tally;
  input.reconciliation = &reconciliation;
  input.generation = GenerationInfo{flags.seed, flags.scale};
  input.breakdown = breakdown;
  if (run->predicted) {
    input.faults = &options.faults;
    input.fired = &run->fired;
    input.predicted = &*run->predicted;
  }
  std::fputs(RenderReport(input, *format).c_str(), stdout);
  const bool truth_holds = !run->predicted || *run->predicted == run->tally;
  return reconciliation.match && truth_holds ? kExitMatch : kExitMismatch;
}

struct GenerateFlags {
  RunFlags run;
  std::string out;
  std::string format = "csv";
  std::string file_faults;
};

int GenerateCommand(const GenerateFlags& flags) {
  absl::StatusOr<FaultPlan> faults = FaultPlan::Parse(flags.run.faults);
  if (!faults.ok()) return Fail(faults.status());
  absl::StatusOr<FileFaultPlan> file_faults = FileFaultPlan::Parse(flags.file_faults);
  if (!file_faults.ok()) return Fail(file_faults.status());
  if (flags.format != "csv" && flags.format != "cvb") {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("--format: expected csv or cvb, got \"", flags.format, "\"")));
  }
  absl::StatusOr<Election> election = LoadElection(flags.run.report.election_directory);
  if (!election.ok()) return Fail(election.status());
  absl::StatusOr<Election> scaled = ScaleElection(*election, flags.run.scale);
  if (!scaled.ok()) return Fail(scaled.status());
  absl::StatusOr<CalibratedStreams> streams =
      CalibratedStreams::Plan(*scaled, GeneratorOptions{flags.run.seed});
  if (!streams.ok()) return Fail(streams.status());
  GenerateOptions options;
  options.out_directory = flags.out;
  options.format = flags.format == "csv" ? FileFormat::kCsv : FileFormat::kCvb;
  options.seed = flags.run.seed;
  options.scale = flags.run.scale;
  options.threads = flags.run.threads;
  options.faults = *faults;
  options.file_faults = *file_faults;
  absl::StatusOr<GenerateResult> result = GenerateFiles(*scaled, *streams, options);
  if (!result.ok()) return Fail(result.status());
  std::printf("wrote %llu files (%llu bytes) and %s to %s\n",
              static_cast<unsigned long long>(result->files_written),
              static_cast<unsigned long long>(result->bytes_written), kManifestFileName,
              flags.out.c_str());
  for (const std::string& line : result->damaged_files)
    std::printf("  damaged: %s\n", line.c_str());
  return kExitMatch;
}

struct FilesFlags {
  ReportFlags report;
  std::vector<std::string> paths;
  std::optional<uint64_t> scale;
  int threads = 0;
  bool skip_damaged = false;
  bool quiet = false;
  std::string checkpoint;
  uint64_t checkpoint_every_mib = 64;
};

// The scale a folder's manifest was generated at, when one of the paths has a manifest.
absl::StatusOr<uint64_t> ManifestScale(const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    const std::string manifest = path + "/" + kManifestFileName;
    // A path without a manifest (a ballot file, a folder without one) gives no scale; one
    // that is there but cannot be read is an error naming it and the system's reason.
    absl::StatusOr<std::string> text = ReadFileToString(manifest);
    if (absl::IsNotFound(text.status())) continue;
    if (!text.ok()) return text.status();
    nlohmann::json root = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded() || !root.contains("scale") || !root["scale"].is_number_unsigned()) {
      return absl::DataLossError(absl::StrCat(manifest, ": field 'scale': missing or not a count"));
    }
    return root["scale"].get<uint64_t>();
  }
  return 1;
}

int FilesCommand(const FilesFlags& flags, bool reconcile) {
  absl::StatusOr<ReportSetup> setup = PrepareReport(flags.report);
  if (!setup.ok()) return Fail(setup.status());
  const ReportFormat* format = &setup->format;
  const Breakdown breakdown = setup->breakdown;
  const Election* election = &*setup->election;
  absl::StatusOr<uint64_t> scale = flags.scale ? *flags.scale : ManifestScale(flags.paths);
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
  absl::StatusOr<IngestResult> ingest = IngestFiles(*scaled, flags.paths, options);
  if (!ingest.ok()) return Fail(ingest.status());
  ReportInput input;
  input.command = reconcile ? "reconcile" : "aggregate";
  input.election = &*scaled;
  input.tally = &ingest->tally;
  input.breakdown = breakdown;
  input.inputs = &*ingest;
  std::optional<Reconciliation> reconciliation;
  if (reconcile) {
    reconciliation = Reconcile(*scaled, ingest->tally, ReconcileOptions{flags.report.tolerance});
    input.reconciliation = &*reconciliation;
  }
  const Manifest* manifest = ingest->manifest ? &*ingest->manifest : nullptr;
  if (manifest) input.generation = GenerationInfo{manifest->seed, manifest->scale};
  if (manifest && ingest->faults.Any() && manifest->predicted) {
    input.faults = &ingest->faults;
    input.fired = &ingest->fired;
    input.predicted = &*manifest->predicted;
  }
  std::fputs(RenderReport(input, *format).c_str(), stdout);
  if (!reconcile) return kExitMatch;
  const bool truth_holds = !input.predicted || *input.predicted == ingest->tally;
  return reconciliation->match && truth_holds && ingest->findings.empty() ? kExitMatch
                                                                          : kExitMismatch;
}

void AddFilesCommand(CLI::App* app, const std::string& name, const std::string& help,
                     FilesFlags* flags, bool reconcile) {
  CLI::App* command = app->add_subcommand(name, help);
  AddReportFlags(command, &flags->report, /*with_tolerance=*/reconcile);
  command->add_option("PATH", flags->paths, "Ballot files (CSV or cvb) or folders of them")
      ->required();
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
}

struct StressFlags {
  uint64_t rounds = 1000;
  uint64_t seed = 1;
  int threads = 0;
  std::optional<uint64_t> replay;
};

std::string DescribeRound(const StressRound& round) {
  uint64_t ballots = round.election.contest().reported->cast;
  return absl::StrCat("round seed ", round.seed, ": ", round.election.contest().choices.size(),
                      " choices, ", round.election.stations.size(), " stations, ", ballots,
                      " ballots, ", round.threads, " threads (rerun on ", round.second_threads,
                      "), batch size ", round.batch_size, ", faults \"", round.plan.ToString(),
                      "\"");
}

int StressCommand(const StressFlags& flags) {
  if (flags.replay) {
    StressRound round = DrawStressRound(*flags.replay, flags.threads);
    std::printf("%s\n", DescribeRound(round).c_str());
    StressRoundResult result = RunStressRound(round, ProductionAggregateFn());
    for (const std::string& failure : result.failures) std::printf("  %s\n", failure.c_str());
    std::fputs(result.diff.c_str(), stdout);
    std::printf("%d passed, %d failed\n", result.passed ? 1 : 0, result.passed ? 0 : 1);
    return result.passed ? kExitMatch : kExitMismatch;
  }
  StressOptions options;
  options.rounds = flags.rounds;
  options.seed = flags.seed;
  options.threads = flags.threads;
  StressSummary summary = RunStress(options, ProductionAggregateFn(), std::cout);
  std::vector<std::string> exercised;
  for (int f = 0; f < kNumFaults; ++f) {
    exercised.push_back(
        absl::StrCat(FaultName(static_cast<Fault>(f)), " ", summary.rounds_with_fault[f]));
  }
  std::printf("rounds asserting each fault fired: %s\n", absl::StrJoin(exercised, ", ").c_str());
  std::printf("%llu passed, %llu failed\n", static_cast<unsigned long long>(summary.passed),
              static_cast<unsigned long long>(summary.failed));
  return summary.failed == 0 ? kExitMatch : kExitMismatch;
}

// Opens /dev/null on any of descriptors 0, 1 and 2 that the caller closed, so that no file
// the job opens takes their place (a report written into a checkpoint). Returns false when
// stdout was among them: there is nowhere to put the report.
bool StandardDescriptorsOpen() {
  bool stdout_open = true;
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    if (fd == 1) stdout_open = false;
    const int opened = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
    if (opened >= 0 && opened != fd) {
      dup2(opened, fd);
      close(opened);
    }
  }
  return stdout_open;
}

// The text of `canvass --version`: the build, and the kernel this process runs.
std::string VersionText() {
  std::vector<std::string> supported;
  for (Kernel kernel : SupportedKernels()) supported.emplace_back(KernelName(kernel));
  return absl::StrCat("canvass ", kBuildInfoVersion, " (revision ", kBuildInfoRevision,
                      ")\nkernel: ", KernelName(ActiveKernel()), " (this CPU can run ",
                      absl::StrJoin(supported, ", "),
                      "; CANVASS_KERNEL=portable|avx2|avx512 forces one)\nbuild: ", kBuildInfoType,
                      ", ", kBuildInfoCompiler, ", flags: ", kBuildInfoFlags);
}

int Main(int argc, char** argv) {
  if (!StandardDescriptorsOpen()) {
    std::fprintf(stderr, "canvass: cannot write report: standard output is closed\n");
    return kExitInputError;
  }
  // A kernel forced by CANVASS_KERNEL that this CPU cannot run is refused before any
  // work (the engine would otherwise fall back to the best kernel without a word).
  if (absl::StatusOr<Kernel> kernel = KernelFromEnvironment(); !kernel.ok()) {
    std::fprintf(stderr, "canvass: %s\n", std::string(kernel.status().message()).c_str());
    return kExitInputError;
  }
  CLI::App app(
      "Canvass: exact, parallel ballot aggregation and reconciliation against reported "
      "figures.\nExit codes: 0 match, 1 mismatch, 2 usage or input error.",
      "canvass");
  app.require_subcommand(1);
  app.set_version_flag("--version", VersionText(),
                       "Print the version, the git revision, the kernel in use and the build");
  // A word that is not a subcommand is named in the error (CLI11 would only say that a
  // subcommand is required).
  app.allow_extras(false);
  RunFlags run_flags;
  CLI::App* run = app.add_subcommand(
      "run",
      "Generate the election's calibrated synthetic streams in memory, aggregate them "
      "on all cores and reconcile against the reported figures");
  AddReportFlags(run, &run_flags.report, /*with_tolerance=*/true);
  AddDecimal(run, "--scale", &run_flags.scale, "Multiply every reported figure and capacity by K",
             1, uint64_t{1} << 40);
  AddDecimal(run, "--seed", &run_flags.seed, "Generator seed", 0, UINT64_MAX);
  AddThreads(run, &run_flags.threads);
  run->add_option("--faults", run_flags.faults,
                  "Inject faults, e.g. drop=0.01,dup=0.005,conflict=0.001,corrupt=0.001,"
                  "unknown_station=0.0005,unknown_choice=0.0005,bad_seq=0.0005,reorder=1,"
                  "truncate=0.01,double_report=0.02 (see docs/STRESS.md)");
  GenerateFlags generate_flags;
  CLI::App* generate = app.add_subcommand(
      "generate",
      "Write the election's calibrated synthetic streams (optionally with faults) "
      "as one file per station plus manifest.json");
  generate
      ->add_option("--out", generate_flags.out,
                   "Output folder (created; must hold no ballot files)")
      ->required();
  generate->add_option("--format", generate_flags.format, "File format: csv or cvb")
      ->capture_default_str();
  generate->add_option("--election", generate_flags.run.report.election_directory,
                       "Election directory; default: the embedded reference election");
  AddDecimal(generate, "--scale", &generate_flags.run.scale,
             "Multiply every reported figure and capacity by K", 1, uint64_t{1} << 40);
  AddDecimal(generate, "--seed", &generate_flags.run.seed, "Generator seed", 0, UINT64_MAX);
  AddThreads(generate, &generate_flags.run.threads);
  generate->add_option("--faults", generate_flags.run.faults,
                       "Record faults, as for run (see docs/STRESS.md)");
  generate->add_option("--file-faults", generate_flags.file_faults,
                       "Byte-level damage after writing: truncate=P,flip=P,missing=P,extra=N");
  FilesFlags aggregate_flags, reconcile_flags;
  AddFilesCommand(&app, "aggregate", "Read ballot files and print the tally", &aggregate_flags,
                  false);
  AddFilesCommand(&app, "reconcile",
                  "Read ballot files, reconcile the tally against the reported figures and check "
                  "folder manifests",
                  &reconcile_flags, true);
  StressFlags stress_flags;
  CLI::App* stress = app.add_subcommand(
      "stress",
      "Run seeded rounds of random elections with injected faults and check every "
      "invariant against the generator's ground truth and the serial reference "
      "aggregator; prints failing seeds, ends with 'N passed, M failed'");
  AddDecimal(stress, "--rounds", &stress_flags.rounds, "Rounds to run", 1, uint64_t{1} << 40);
  AddDecimal(stress, "--seed", &stress_flags.seed, "Seed of the whole run", 0, UINT64_MAX);
  AddThreads(stress, &stress_flags.threads);
  stress->add_option_function<std::string>(
      "--replay",
      [&](const std::string& text) {
        const std::optional<uint64_t> seed = ParseDecimalUint64(text);
        if (!seed) {
          throw CLI::ValidationError("--replay",
                                     absl::StrCat("expected a round seed, got \"", text, "\""));
        }
        stress_flags.replay = *seed;
      },
      "Run the round with this seed alone (as printed by a failing run), with a full diff");
  std::vector<std::string> names;
  for (const CLI::App* command : app.get_subcommands({})) names.push_back(command->get_name());
  if (argc > 1 && argv[1][0] != '-' &&
      std::find(names.begin(), names.end(), argv[1]) == names.end()) {
    std::fprintf(stderr, "canvass: unknown command \"%s\"; expected one of: %s\n", argv[1],
                 absl::StrJoin(names, ", ").c_str());
    return kExitInputError;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForVersion& version) {
    return app.exit(version);
  } catch (const CLI::ParseError& error) {
    app.exit(error);
    return kExitInputError;
  }
  if (run->parsed()) return CheckStdout(RunCommand(run_flags));
  if (stress->parsed()) return CheckStdout(StressCommand(stress_flags));
  if (generate->parsed()) return CheckStdout(GenerateCommand(generate_flags));
  if (app.got_subcommand("aggregate")) return CheckStdout(FilesCommand(aggregate_flags, false));
  if (app.got_subcommand("reconcile")) return CheckStdout(FilesCommand(reconcile_flags, true));
  return kExitInputError;
}

}  // namespace
}  // namespace canvass

int main(int argc, char** argv) { return canvass::Main(argc, argv); }
