// canvass: the command-line front end. Parses flags (CLI11), loads the election, runs a
// pipeline and prints a report. Exit codes follow diff(1): 0 match, 1 mismatch, 2 usage
// or input error (the message names the file, field or flag and what was expected).
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "engine/election/election.h"
#include "engine/pipeline/pipeline.h"
#include "engine/reconcile/reconciler.h"
#include "engine/report/report.h"

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
};

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "canvass: %s\n", std::string(status.message()).c_str());
  return kExitInputError;
}

void AddReportFlags(CLI::App* command, ReportFlags* flags, bool with_tolerance) {
  command->add_option("--election", flags->election_directory,
                      "Election directory (election.json + roster); default: the embedded "
                      "reference election, Iran 2024 runoff, votes cast abroad");
  command->add_option("--format", flags->format, "Report format: text, json or csv")
      ->capture_default_str();
  command->add_option("--by", flags->by, "Drill down by station or by country");
  if (with_tolerance) {
    command->add_option("--tolerance", flags->tolerance,
                        "Largest |counted - reported| per figure still called a match")
        ->capture_default_str();
  }
}

absl::StatusOr<Election> LoadElection(const std::string& directory) {
  if (directory.empty()) return ReferenceElection();
  return LoadElectionDirectory(directory);
}

int RunCommand(const RunFlags& flags) {
  absl::StatusOr<ReportFormat> format = ParseReportFormat(flags.report.format);
  if (!format.ok()) return Fail(format.status());
  Breakdown breakdown = Breakdown::kNone;
  if (!flags.report.by.empty()) {
    absl::StatusOr<Breakdown> parsed = ParseBreakdown(flags.report.by);
    if (!parsed.ok()) return Fail(parsed.status());
    breakdown = *parsed;
  }
  absl::StatusOr<Election> election = LoadElection(flags.report.election_directory);
  if (!election.ok()) return Fail(election.status());
  SyntheticRunOptions options;
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
  std::fputs(RenderReport(input, *format).c_str(), stdout);
  return reconciliation.match ? kExitMatch : kExitMismatch;
}

int Main(int argc, char** argv) {
  CLI::App app(
      "Canvass: exact, parallel ballot aggregation and reconciliation against reported "
      "figures.\nExit codes: 0 match, 1 mismatch, 2 usage or input error.",
      "canvass");
  app.require_subcommand(1);
  RunFlags run_flags;
  CLI::App* run = app.add_subcommand(
      "run", "Generate the election's calibrated synthetic streams in memory, aggregate them "
             "on all cores and reconcile against the reported figures");
  AddReportFlags(run, &run_flags.report, /*with_tolerance=*/true);
  run->add_option("--scale", run_flags.scale, "Multiply every reported figure and capacity by K")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40))
      ->capture_default_str();
  run->add_option("--seed", run_flags.seed, "Generator seed")->capture_default_str();
  run->add_option("--threads", run_flags.threads, "Worker threads (default: all hardware threads)")
      ->check(CLI::Range(1, 1024));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::ParseError& error) {
    app.exit(error);
    return kExitInputError;
  }
  if (run->parsed()) return RunCommand(run_flags);
  return kExitInputError;
}

}  // namespace
}  // namespace canvass

int main(int argc, char** argv) { return canvass::Main(argc, argv); }
