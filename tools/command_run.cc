// canvass run: generates the election's calibrated streams in memory, aggregates them on
// every core and reconciles the tally against the reported figures (commands.h).
#include <cstdio>

#include "absl/status/statusor.h"
#include "engine/pipeline/pipeline.h"
#include "engine/reconcile/reconciler.h"
#include "engine/report/report.h"
#include "engine/synth/fault_plan.h"
#include "tools/commands.h"

namespace canvass::cli {

CLI::App* AddRunCommand(CLI::App* app, RunFlags* flags) {
  CLI::App* run = app->add_subcommand(
      "run",
      "Generate the election's calibrated synthetic streams in memory, aggregate them "
      "on all cores and reconcile against the reported figures");
  AddReportFlags(run, &flags->report, /*with_tolerance=*/true);
  AddDecimal(run, "--scale", &flags->scale, "Multiply every reported figure and capacity by K", 1,
             uint64_t{1} << 40);
  AddDecimal(run, "--seed", &flags->seed, "Generator seed", 0, UINT64_MAX);
  AddThreads(run, &flags->threads);
  run->add_option("--faults", flags->faults,
                  "Inject faults, e.g. drop=0.01,dup=0.005,conflict=0.001,corrupt=0.001,"
                  "unknown_station=0.0005,unknown_choice=0.0005,bad_seq=0.0005,reorder=1,"
                  "truncate=0.01,double_report=0.02 (see docs/STRESS.md)");
  return run;
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
  options.ranks = JobRanks();
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
  input.plausibility = flags.report.plausibility;
  FaultSummary faults_summary;
  if (run->predicted) {
    faults_summary = SummarizeFaults(options.faults, run->fired);
    input.faults = &faults_summary;
    input.predicted = &*run->predicted;
  }
  const absl::Status emitted =
      EmitReport(flags.report, *format, [&](ReportFormat as) { return RenderReport(input, as); });
  if (!emitted.ok()) return Fail(emitted);
  const bool truth_holds = !run->predicted || *run->predicted == run->tally;
  return reconciliation.match && truth_holds ? kExitMatch : kExitMismatch;
}

}  // namespace canvass::cli
