// What the canvass subcommands share: exit codes, the flag structs and flag helpers more than
// one command registers, and the first steps of a reporting command (format, breakdown,
// election). Used by the front end only, on its one thread.
#ifndef CANVASS_TOOLS_FLAGS_H_
#define CANVASS_TOOLS_FLAGS_H_

#include <cstdint>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/base/rank_group.h"
#include "engine/election/election.h"
#include "engine/reconcile/plausibility.h"
#include "engine/report/report.h"
#include "engine/synth/fault_plan.h"

namespace canvass::cli {

// Exit codes follow diff(1).
inline constexpr int kExitMatch = 0;
inline constexpr int kExitMismatch = 1;
inline constexpr int kExitInputError = 2;

// A run's fault plan and fired counts as the report takes them (plain values).
FaultSummary SummarizeFaults(const FaultPlan& plan, const FaultCounts& fired);

// Flags shared by the reporting commands.
struct ReportFlags {
  std::string election_directory;  // empty: the embedded reference election
  std::string format = "text";
  std::string by;
  uint64_t tolerance = 0;
  std::string html;  // --html FILE: the HTML page of the same report, beside --format's
  // --warn-invalid-share, --warn-blank-share (percent, one decimal), --warn-min-ballots.
  PlausibilityOptions plausibility;
  bool hash_inputs = false;  // --hash-inputs (implied by --format html and --html)
};

// Whether the report hashes its input files: --hash-inputs, or an HTML page asked for.
bool WantsInputHashes(const ReportFlags& flags, ReportFormat format);

// The flags of `canvass run`; `canvass generate` takes the same generator flags.
struct RunFlags {
  ReportFlags report;
  uint64_t scale = 1;
  uint64_t seed = 1;
  int threads = 0;
  std::string faults;
};

// Adds option `name` to `command`: a plain decimal count in low..high stored in *value,
// whose current value is the default shown in --help. Anything else is a usage error
// naming the flag, the range and the text. *value must outlive the parse.
CLI::Option* AddDecimal(CLI::App* command, const std::string& name, uint64_t* value,
                        const std::string& help, uint64_t low, uint64_t high);

// Adds --threads (1..1024) to `command`; *threads stays 0 (all hardware threads) when the
// flag is not given.
void AddThreads(CLI::App* command, int* threads);

// Adds --election, --format, --html and --by, and --tolerance when `with_tolerance`.
void AddReportFlags(CLI::App* command, ReportFlags* flags, bool with_tolerance);

// Prints the report in `format` on stdout and, with --html FILE, writes the HTML page of the
// same report to FILE (atomically), made from its JSON rendering. `render` renders the one
// report model in a given format. An error names FILE and why it could not be written.
absl::Status EmitReport(const ReportFlags& flags, ReportFormat format,
                        absl::FunctionRef<std::string(ReportFormat)> render);

// Prints "canvass: MESSAGE" on stderr (rank 0 only, in a job of several ranks: their
// errors are agreed, base/rank_group.h); returns kExitInputError.
int Fail(const absl::Status& status);

// The ranks of this job when mpirun started it, else nullptr (set once, by main, before
// any command runs). Only rank 0 prints: reports, --html files, errors.
const RankGroup* JobRanks();
void SetJobRanks(const RankGroup* ranks);
bool PrintsReport();

// For a command that runs in one process only: InvalidArgument when mpirun started more
// than one rank.
absl::Status RequireOneRank(absl::string_view command);

// The election in `directory`, or the embedded reference election when it is empty.
absl::StatusOr<Election> LoadElection(const std::string& directory);

// What every reporting command needs first: the format, the breakdown, the election.
struct ReportSetup {
  ReportFormat format = ReportFormat::kText;
  Breakdown breakdown = Breakdown::kNone;
  absl::StatusOr<Election> election;
};

// Parses --format and --by, then loads the election; the first error wins.
absl::StatusOr<ReportSetup> PrepareReport(const ReportFlags& flags);

}  // namespace canvass::cli

#endif  // CANVASS_TOOLS_FLAGS_H_
