// canvass: the command-line front end. Parses flags (CLI11), loads the election, runs a
// pipeline and prints a report. Exit codes follow diff(1): 0 match, 1 mismatch, 2 usage
// or input error (the message names the file, field or flag and what was expected).
// This file holds main, the top-level app, --version and the dispatch; each subcommand
// lives in its own command_*.cc (commands.h).
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/base/activity.h"
#include "engine/base/kernel.h"
#if CANVASS_HAVE_MPI
#include "engine/distributed/mpi_group.h"
#endif
#include "tools/build_info.h"
#include "tools/commands.h"
#include "tools/flags.h"

namespace canvass::cli {
namespace {

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
  return absl::StrCat(
      "canvass ", kBuildInfoVersion, " (revision ", kBuildInfoRevision,
      ")\nkernel: ", KernelName(ActiveKernel()), " (this CPU can run ",
      absl::StrJoin(supported, ", "), "; CANVASS_KERNEL=portable|avx2|avx512 forces one)\nmpi: ",
#if CANVASS_HAVE_MPI
      "yes (mpirun -np N canvass run|aggregate|reconcile)",
#else
      "no (built without MPI: one process only)",
#endif
      "\nbuild: ", kBuildInfoType, ", ", kBuildInfoCompiler, ", flags: ", kBuildInfoFlags);
}

// False, after naming it and the commands on stderr, when the first word is neither a
// flag nor a subcommand (CLI11 would only say that a subcommand is required).
bool KnownCommand(const CLI::App& app, int argc, char** argv) {
  std::vector<std::string> names;
  for (const CLI::App* command : app.get_subcommands({})) names.push_back(command->get_name());
  if (argc > 1 && argv[1][0] != '-' &&
      std::find(names.begin(), names.end(), argv[1]) == names.end()) {
    std::fprintf(stderr, "canvass: unknown command \"%s\"; expected one of: %s\n", argv[1],
                 absl::StrJoin(names, ", ").c_str());
    return false;
  }
  return true;
}

int Dispatch(int argc, char** argv);

// In a job of several ranks, every rank exits with rank 0's code: only rank 0 checks a
// folder's manifest and prints, so its verdict is the job's (mpirun exits with the first
// nonzero code any rank gives).
int JobExitCode(int exit_code) {
  const RankGroup* ranks = JobRanks();
  if (ranks == nullptr) return exit_code;
  // CANVASS_RANK_STATS=1: each rank says on stderr what the job cost it (docs/SCALING.md).
  if (const char* stats = std::getenv("CANVASS_RANK_STATS"); stats && std::string(stats) == "1") {
    struct rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    std::fprintf(stderr,
                 "canvass: rank %d of %d: sent %llu bytes to other ranks, %.3f s in "
                 "collectives, peak resident memory %ld MiB\n",
                 ranks->rank(), ranks->size(), static_cast<unsigned long long>(ranks->bytes_sent()),
                 ranks->seconds_in_collectives(), usage.ru_maxrss / 1024);
  }
  if (ranks->size() == 1) return exit_code;
  const std::vector<std::string> codes =
      ranks->AllGather(std::string(1, static_cast<char>(exit_code)));
  return static_cast<unsigned char>(codes[0][0]);
}

#if CANVASS_HAVE_MPI
// A rank of an mpirun job runs as the worker child of a small supervisor process: mpirun
// sees only the supervisor, which exits with the worker's code, and when the worker dies
// of a signal (killed, out of memory, a crash) says on stderr which rank died and what it
// was last doing (engine/base/activity.h), and exits 2, which ends the whole job with 2
// (an MPI process that dies itself would end it with 128 + the signal, naming no input).
// Returns the supervisor's exit code; nullopt in the worker, which goes on as the rank
// (and when no child could be started: the process is then the rank itself).
// CANVASS_UNSUPERVISED=1 leaves the supervisor out.
std::optional<int> SuperviseRank() {
  if (const char* off = std::getenv("CANVASS_UNSUPERVISED"); off && std::string(off) == "1") {
    return std::nullopt;
  }
  const std::optional<ActivityBoard> board = ActivityBoard::CreateShared();
  const pid_t supervisor = getpid();
  std::fflush(nullptr);
  const pid_t worker = fork();
  if (worker < 0) return std::nullopt;
  if (worker == 0) {
    // The worker goes with its supervisor (mpirun ending the job signals the supervisor).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != supervisor) _exit(kExitInputError);
    if (board) InstallActivityBoard(*board);
    return std::nullopt;
  }
  int status = 0;
  while (waitpid(worker, &status, 0) < 0) {
    if (errno != EINTR) return kExitInputError;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  const char* rank = std::getenv("OMPI_COMM_WORLD_RANK");
  const char* size = std::getenv("OMPI_COMM_WORLD_SIZE");
  const int signal_number = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  const std::vector<std::string> last =
      board ? board->LastActivities() : std::vector<std::string>();
  std::fprintf(
      stderr, "canvass: rank %s of %s died of signal %d (%s); %s; the job ends without a report\n",
      rank ? rank : "?", size ? size : "?", signal_number, strsignal(signal_number),
      last.empty() ? "it had recorded no activity"
                   : absl::StrCat("its last activity: ", absl::StrJoin(last, "; ")).c_str());
  return kExitInputError;
}
#endif

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
#if CANVASS_HAVE_MPI
  // Started by mpirun: one rank of a job of several (engine/distributed/), run by a
  // supervisor (SuperviseRank). MPI is finalised when `ranks` goes, after the command;
  // every rank returns the same exit code.
  std::unique_ptr<MpiGroup> ranks;
  if (MpiGroup::LaunchedByMpirun()) {
    if (std::optional<int> supervised = SuperviseRank()) return *supervised;
    // A rank's exchanges allocate buffers of tens of megabytes each epoch (the records
    // routed to each rank, MPI's send and receive buffers). glibc would map each one afresh
    // and give it back when freed, so every epoch paid for its pages again (page faults and
    // zeroing: 88% of a rank's faults on an interleaved CSV). Served from the heap and kept,
    // the next epoch reuses them: 2 ranks on 100.7 M shuffled rows, 2.88 -> 2.46 s.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's largest on 64-bit
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
    absl::StatusOr<std::unique_ptr<MpiGroup>> group = MpiGroup::Init(&argc, &argv);
    if (!group.ok()) {
      std::fprintf(stderr, "canvass: %s\n", std::string(group.status().message()).c_str());
      return kExitInputError;
    }
    ranks = *std::move(group);
    SetJobRanks(ranks.get());
    // Only rank 0 prints; the others' standard output goes nowhere (help, version).
    if (ranks->rank() != 0) {
      const int null = open("/dev/null", O_WRONLY);
      if (null >= 0) {
        dup2(null, STDOUT_FILENO);
        close(null);
      }
    }
  }
#endif
  return JobExitCode(Dispatch(argc, argv));
}

int Dispatch(int argc, char** argv) {
  CLI::App app(
      "Canvass: exact, parallel ballot aggregation and reconciliation against reported "
      "figures.\nExit codes: 0 match, 1 mismatch, 2 usage or input error.",
      "canvass");
  app.require_subcommand(1);
  app.set_version_flag("--version", VersionText(),
                       "Print the version, the git revision, the kernel in use and the build");
  // A word that is not a subcommand is named in the error (KnownCommand).
  app.allow_extras(false);
  // Registered in the order --help lists them.
  RunFlags run_flags;
  CLI::App* run = AddRunCommand(&app, &run_flags);
  GenerateFlags generate_flags;
  CLI::App* generate = AddGenerateCommand(&app, &generate_flags);
  FilesFlags aggregate_flags, reconcile_flags;
  CLI::App* aggregate = AddAggregateCommand(&app, &aggregate_flags);
  CLI::App* reconcile = AddReconcileCommand(&app, &reconcile_flags);
  ConvertFlags convert_flags;
  CLI::App* convert = AddConvertCommand(&app, &convert_flags);
  StressFlags stress_flags;
  CLI::App* stress = AddStressCommand(&app, &stress_flags);
  if (!KnownCommand(app, argc, argv)) return kExitInputError;
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
  if (generate->parsed()) {
    if (absl::Status one = RequireOneRank("generate"); !one.ok()) return Fail(one);
    return CheckStdout(GenerateCommand(generate_flags));
  }
  if (aggregate->parsed()) return CheckStdout(AggregateCommand(aggregate_flags));
  if (reconcile->parsed()) return CheckStdout(ReconcileCommand(reconcile_flags));
  if (convert->parsed()) {
    if (absl::Status one = RequireOneRank("convert"); !one.ok()) return Fail(one);
    return CheckStdout(ConvertCommand(convert_flags));
  }
  return kExitInputError;
}

}  // namespace
}  // namespace canvass::cli

int main(int argc, char** argv) { return canvass::cli::Main(argc, argv); }
