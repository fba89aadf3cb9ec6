// The canvass subcommands, one pair of functions each: Add*Command registers the subcommand
// and its flags on the top-level app and returns it, with CLI11 writing what it parses into
// *flags (which must outlive the parse); *Command then runs the parsed command, prints its
// output and returns its exit code (flags.h). Front end only, on its one thread.
//
// Usage (tools/canvass_main.cc):
//   RunFlags run_flags;
//   CLI::App* run = AddRunCommand(&app, &run_flags);
//   app.parse(argc, argv);
//   if (run->parsed()) return RunCommand(run_flags);
#ifndef CANVASS_TOOLS_COMMANDS_H_
#define CANVASS_TOOLS_COMMANDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "tools/flags.h"

namespace canvass::cli {

// canvass run (command_run.cc): the calibrated streams generated, aggregated and
// reconciled in memory.
CLI::App* AddRunCommand(CLI::App* app, RunFlags* flags);
int RunCommand(const RunFlags& flags);

// canvass generate (command_generate.cc): the calibrated streams written as files.
struct GenerateFlags {
  RunFlags run;
  std::string out;
  std::string format = "csv";
  std::string file_faults;
  std::string reported;  // --reported ERR.json: cast vote records reproducing its figures
  bool interleave = false;
  uint64_t sessions_per_file = 1000;  // --format dominion: sessions per CvrExport file
};
CLI::App* AddGenerateCommand(CLI::App* app, GenerateFlags* flags);
int GenerateCommand(const GenerateFlags& flags);

// canvass aggregate and canvass reconcile (command_aggregate.cc): ballot files read and
// tallied, and for reconcile checked against the reported figures and folder manifests.
struct FilesFlags {
  ReportFlags report;
  std::vector<std::string> paths;
  std::optional<uint64_t> scale;
  int threads = 0;
  bool skip_damaged = false;
  bool quiet = false;
  std::string checkpoint;
  uint64_t checkpoint_every_mib = 64;
  std::string reported;   // --reported FILE: a results report (cast vote records only)
  std::string predicted;  // --predicted FILE: generated records' ground truth (likewise)
};
CLI::App* AddAggregateCommand(CLI::App* app, FilesFlags* flags);
int AggregateCommand(const FilesFlags& flags);
CLI::App* AddReconcileCommand(CLI::App* app, FilesFlags* flags);
int ReconcileCommand(const FilesFlags& flags);

// The same two commands over cast vote record reports of a contest election
// (command_cvr.cc): IsContestJob says whether the flags and paths ask for one (--reported,
// --election naming a results report or a directory whose election.json is the contests
// form, or PATHs holding CVR reports).
absl::StatusOr<bool> IsContestJob(const FilesFlags& flags);
int ContestFilesCommand(const FilesFlags& flags, bool reconcile);

// canvass convert (command_cvr.cc): the records of a Dominion export, NIST CVR reports or
// a cvb file of contest ballots written as a NIST CVR JSON report or a cvb file.
struct ConvertFlags {
  std::vector<std::string> paths;
  std::string to;
  std::string out;
  std::string election;  // --election: as for aggregate (NIST inputs only)
  std::string reported;  // --reported: an ERR whose election the records are read against
  int threads = 0;
};
CLI::App* AddConvertCommand(CLI::App* app, ConvertFlags* flags);
int ConvertCommand(const ConvertFlags& flags);

// canvass stress (command_stress.cc): seeded rounds of random elections with faults.
struct StressFlags {
  uint64_t rounds = 1000;
  uint64_t seed = 1;
  int threads = 0;
  std::optional<uint64_t> replay;
  bool contests = false;  // --contests: rounds of random multi-contest elections (CVRs)
};
CLI::App* AddStressCommand(CLI::App* app, StressFlags* flags);
int StressCommand(const StressFlags& flags);

}  // namespace canvass::cli

#endif  // CANVASS_TOOLS_COMMANDS_H_
