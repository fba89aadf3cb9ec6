// Renders a tally (and, for `run`/`reconcile`, its reconciliation) as text, JSON, CSV or
// HTML. The JSON schema is documented in docs/REPORT.md; its keys are stable across
// versions. The HTML page is rendered from the JSON (html_report.h), so its figures are the
// JSON's. Every rendering of a synthetic station split says so. Pure functions, thread-safe.
#ifndef CANVASS_ENGINE_REPORT_REPORT_H_
#define CANVASS_ENGINE_REPORT_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/ballot/tally.h"
#include "engine/election/election.h"
#include "engine/io/inputs.h"
#include "engine/reconcile/plausibility.h"
#include "engine/reconcile/reconciler.h"

namespace canvass {

enum class ReportFormat { kText, kJson, kCsv, kHtml };
enum class Breakdown { kNone, kStation, kCountry };

// "text" | "json" | "csv" | "html" and "station" | "country", for the command line.
absl::StatusOr<ReportFormat> ParseReportFormat(absl::string_view name);
absl::StatusOr<Breakdown> ParseBreakdown(absl::string_view name);

// How the ballots were produced, for `run` (absent for files).
struct GenerationInfo {
  uint64_t seed = 0;
  uint64_t scale = 1;
};

// The faults injected into a synthetic run, as plain values (the report never depends on
// the generator): the plan as its spec and every fault the build knows, in its order.
struct FaultSummary {
  struct Entry {
    std::string name;      // "drop", "dup", ...
    bool planned = false;  // the plan gives it a nonzero probability
    uint64_t fired = 0;    // how often it fired
  };
  std::string plan;  // e.g. "drop=0.01,dup=0.005"
  std::vector<Entry> faults;
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
  const FaultSummary* faults = nullptr;
  const Tally* predicted = nullptr;
  // For file input (`aggregate`, `reconcile`): what was read, damage, manifest findings.
  const InputsSummary* inputs = nullptr;
  // Thresholds of the plausibility warnings (reconcile/plausibility.h), in every format.
  PlausibilityOptions plausibility;
  // With `inputs`: the XXH3-128 (hex) of each of inputs->files, "" where not hashable;
  // null when the run did not hash its inputs (JSON inputs.xxh3, docs/REPORT.md).
  const std::vector<std::string>* input_hashes = nullptr;
};

// Requires: input.election and input.tally are set and belong together.
std::string RenderReport(const ReportInput& input, ReportFormat format);

}  // namespace canvass

#endif  // CANVASS_ENGINE_REPORT_REPORT_H_
