// Renders a tally (and, for `run`/`reconcile`, its reconciliation) as text, JSON or CSV.
// The JSON schema is documented in docs/REPORT.md; its keys are stable across versions.
// Every rendering of a synthetic station split says so. Pure functions, thread-safe.
#ifndef CANVASS_ENGINE_REPORT_REPORT_H_
#define CANVASS_ENGINE_REPORT_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/ballot/tally.h"
#include "engine/election/election.h"
#include "engine/io/inputs.h"
#include "engine/reconcile/reconciler.h"
#include "engine/synth/fault_plan.h"

namespace canvass {

enum class ReportFormat { kText, kJson, kCsv };
enum class Breakdown { kNone, kStation, kCountry };

// "text" | "json" | "csv" and "station" | "country", for the command line.
absl::StatusOr<ReportFormat> ParseReportFormat(absl::string_view name);
absl::StatusOr<Breakdown> ParseBreakdown(absl::string_view name);

// How the ballots were produced, for `run` (absent for files).
struct GenerationInfo {
  uint64_t seed = 0;
  uint64_t scale = 1;
};

struct ReportInput {
  absl::string_view command;  // "run", "aggregate", "reconcile"
  const Election* election = nullptr;
  const Tally* tally = nullptr;
  const Reconciliation* reconciliation = nullptr;  // null for `aggregate`
  std::optional<GenerationInfo> generation;
  Breakdown breakdown = Breakdown::kNone;
  // With injected faults: the plan, what fired, and the generator's predicted tally,
  // shown beside the aggregated one.
  const FaultPlan* faults = nullptr;
  const FaultCounts* fired = nullptr;
  const Tally* predicted = nullptr;
  // For file input (`aggregate`, `reconcile`): what was read, damage, manifest findings.
  const InputsSummary* inputs = nullptr;
};

// Requires: input.election and input.tally are set and belong together.
std::string RenderReport(const ReportInput& input, ReportFormat format);

}  // namespace canvass

#endif  // CANVASS_ENGINE_REPORT_REPORT_H_
