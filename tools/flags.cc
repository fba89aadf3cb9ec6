// Flag helpers and report setup shared by the canvass subcommands (flags.h).
#include "tools/flags.h"

#include <cstdio>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "engine/base/checked_math.h"
#include "engine/base/decimal.h"
#include "engine/base/file_util.h"
#include "engine/base/status_macros.h"
#include "engine/report/html_report.h"

namespace canvass::cli {

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

namespace {

// A percent with at most one decimal (0, 5, 2.5, 100; a trailing % is allowed), stored in
// permille: exact, so the same threshold decides the same way on every machine.
std::optional<uint64_t> ParsePermille(absl::string_view text) {
  if (absl::ConsumeSuffix(&text, "%") && text.empty()) return std::nullopt;
  absl::string_view whole = text;
  absl::string_view tenth;
  if (const size_t dot = text.find('.'); dot != absl::string_view::npos) {
    whole = text.substr(0, dot);
    tenth = text.substr(dot + 1);
    if (tenth.size() != 1 || tenth[0] < '0' || tenth[0] > '9') return std::nullopt;
  }
  if (whole.empty() || whole.size() > 3) return std::nullopt;
  const std::optional<uint64_t> percent = ParseDecimalUint64(whole);
  if (!percent) return std::nullopt;
  const uint64_t permille = *percent * 10 + (tenth.empty() ? 0 : tenth[0] - '0');
  if (permille > 1000) return std::nullopt;
  return permille;
}

void AddShare(CLI::App* command, const std::string& name, uint64_t* permille,
              const std::string& help) {
  command
      ->add_option_function<std::string>(
          name,
          [=](const std::string& text) {
            const std::optional<uint64_t> parsed = ParsePermille(text);
            if (!parsed) {
              throw CLI::ValidationError(
                  name, absl::StrCat("expected a percent in 0..100 with at most one decimal "
                                     "(e.g. 5 or 2.5), got \"",
                                     text, "\""));
            }
            *permille = *parsed;
          },
          help)
      ->default_str(PermilleAsPercent(*permille, /*with_sign=*/false));
}

}  // namespace

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

void AddReportFlags(CLI::App* command, ReportFlags* flags, bool with_tolerance) {
  command->add_option("--election", flags->election_directory,
                      "Election directory (election.json + roster); default: the embedded "
                      "reference election, Iran 2024 runoff, votes cast abroad");
  command->add_option("--format", flags->format, "Report format: text, json, csv or html")
      ->capture_default_str();
  command->add_option("--html", flags->html,
                      "Also write the report as a self-contained HTML page to FILE");
  command->add_option("--by", flags->by, "Drill down by station or by country");
  AddShare(command, "--warn-invalid-share", &flags->plausibility.invalid_permille,
           "Plausibility warning: invalid ballots above this percent of a station's or unit's "
           "ballots");
  AddShare(command, "--warn-blank-share", &flags->plausibility.blank_permille,
           "Plausibility warning: blank ballots (undervotes) above this percent");
  AddDecimal(command, "--warn-min-ballots", &flags->plausibility.min_ballots,
             "Plausibility warning: shares are checked where at least this many ballots were "
             "counted",
             0, kMaxFigure);
  command->add_flag("--hash-inputs", flags->hash_inputs,
                    "Hash every input file (XXH3-128) into the report's provenance (always with "
                    "--format html or --html; run has no input files)");
  if (with_tolerance) {
    AddDecimal(command, "--tolerance", &flags->tolerance,
               "Largest |counted - reported| per figure still called a match", 0, kMaxFigure);
  }
}

bool WantsInputHashes(const ReportFlags& flags, ReportFormat format) {
  return flags.hash_inputs || format == ReportFormat::kHtml || !flags.html.empty();
}

namespace {
const RankGroup* job_ranks = nullptr;
}  // namespace

const RankGroup* JobRanks() { return job_ranks; }
void SetJobRanks(const RankGroup* ranks) { job_ranks = ranks; }
bool PrintsReport() { return job_ranks == nullptr || job_ranks->rank() == 0; }

absl::Status RequireOneRank(absl::string_view command) {
  if (job_ranks == nullptr || job_ranks->size() == 1) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("canvass ", command, " runs in one process; mpirun started ", job_ranks->size(),
                   " ranks (run, aggregate and reconcile take several)"));
}

absl::Status EmitReport(const ReportFlags& flags, ReportFormat format,
                        absl::FunctionRef<std::string(ReportFormat)> render) {
  if (!PrintsReport()) return absl::OkStatus();
  const std::string report = render(format);
  std::fputs(report.c_str(), stdout);
  if (flags.html.empty()) return absl::OkStatus();
  std::string html;
  if (format == ReportFormat::kHtml) {
    html = report;
  } else {
    html =
        RenderHtmlOfOwnReport(format == ReportFormat::kJson ? report : render(ReportFormat::kJson));
  }
  absl::Status written = WriteFileAtomically(flags.html, html);
  if (!written.ok()) {
    return absl::Status(written.code(),
                        absl::StrCat("--html: cannot write the report: ", written.message()));
  }
  return absl::OkStatus();
}

int Fail(const absl::Status& status) {
  if (!PrintsReport()) return kExitInputError;
  std::fprintf(stderr, "canvass: %s\n", std::string(status.message()).c_str());
  return kExitInputError;
}

absl::StatusOr<Election> LoadElection(const std::string& directory) {
  if (directory.empty()) return ReferenceElection();
  return LoadElectionDirectory(directory);
}

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

FaultSummary SummarizeFaults(const FaultPlan& plan, const FaultCounts& fired) {
  FaultSummary summary;
  summary.plan = plan.ToString();
  for (int f = 0; f < kNumFaults; ++f) {
    summary.faults.push_back(
        {std::string(FaultName(static_cast<Fault>(f))), plan.probability[f] > 0, fired.fired[f]});
  }
  return summary;
}

}  // namespace canvass::cli
