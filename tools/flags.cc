// Flag helpers and report setup shared by the canvass subcommands (flags.h).
#include "tools/flags.h"

#include <cstdio>
#include <optional>

#include "absl/strings/str_cat.h"
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
  if (with_tolerance) {
    AddDecimal(command, "--tolerance", &flags->tolerance,
               "Largest |counted - reported| per figure still called a match", 0, kMaxFigure);
  }
}

absl::Status EmitReport(const ReportFlags& flags, ReportFormat format,
                        absl::FunctionRef<std::string(ReportFormat)> render) {
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
