// Runs a program (by default the real `canvass` binary) as a child process for end-to-end
// tests, capturing stdout, stderr and the exit status separately.
//
// Header-only. RunCanvass needs the including target to define CANVASS_BINARY (the path of
// the built binary, e.g. "$<TARGET_FILE:canvass>"), which the environment variable
// CANVASS_BINARY_UNDER_TEST overrides; RunProgram works without it. Each call
// is independent: safe from one test thread at a time (GoogleTest runs tests serially).
#ifndef CANVASS_TESTS_TESTING_RUN_CANVASS_H_
#define CANVASS_TESTS_TESTING_RUN_CANVASS_H_

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

extern char** environ;

namespace canvass::testing {

// `canvass`'s exit codes (DESIGN.md): totals match, a mismatch or finding, an input error.
inline constexpr int kExitMatch = 0;
inline constexpr int kExitMismatch = 1;
inline constexpr int kExitInputError = 2;

// What a finished child process left behind.
struct RunResult {
  int exit_code = -1;  // exit status, or 128 + signal number when killed by a signal
  std::string out;
  std::string err;
};

// Prints the captured streams when an assertion about a run fails.
inline std::string Describe(const RunResult& result) {
  return absl::StrCat("exit ", result.exit_code, "\n--- stdout ---\n", result.out.substr(0, 4000),
                      "\n--- stderr ---\n", result.err.substr(0, 4000));
}

// Runs `program` with `args` (no shell, no PATH search), stdin from /dev/null, in this
// process's environment plus `extra_env` ("NAME=value" entries, which win over inherited
// ones of the same name). Both pipes are drained with poll() so that a child writing a lot
// to one stream never blocks on the other. A failure to start the child is a test failure
// and yields exit_code -1.
inline RunResult RunProgram(const std::string& program, const std::vector<std::string>& args,
                            const std::vector<std::string>& extra_env = {}) {
  RunResult result;
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2: " << std::strerror(errno);
    return result;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);

  std::vector<std::string> argv_strings = {program};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_strings = extra_env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string inherited(*entry);
    const std::string name = inherited.substr(0, inherited.find('=') + 1);
    bool overridden = false;
    for (const std::string& extra : extra_env) overridden |= extra.rfind(name, 0) == 0;
    if (!overridden) env_strings.push_back(inherited);
  }
  std::vector<char*> envp;
  for (std::string& entry : env_strings) envp.push_back(entry.data());
  envp.push_back(nullptr);

  pid_t pid = 0;
  const int spawn_error =
      posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (spawn_error != 0) {
    ADD_FAILURE() << "posix_spawn " << program << ": " << std::strerror(spawn_error);
    close(out_pipe[0]);
    close(err_pipe[0]);
    return result;
  }

  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_streams = 2;
  char buffer[65536];
  while (open_streams > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      ADD_FAILURE() << "poll: " << std::strerror(errno);
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_streams;
      }
    }
  }
  for (const pollfd& fd : fds) {
    if (fd.fd >= 0) close(fd.fd);
  }

  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      ADD_FAILURE() << "waitpid: " << std::strerror(errno);
      return result;
    }
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.exit_code = 128 + WTERMSIG(status);
  }
  return result;
}

#ifdef CANVASS_BINARY
// The `canvass` binary under test: CANVASS_BINARY_UNDER_TEST when set and not empty, else
// the one built beside this suite. CI runs the end-to-end suites (label e2e) of the
// release build once more against the ASan + UBSan and the TSan builds' binaries this way
// (CMakePresets.json: asan-ubsan-e2e, tsan-e2e), instead of compiling them three times.
inline const char* CanvassBinary() {
  const char* under_test = std::getenv("CANVASS_BINARY_UNDER_TEST");
  return under_test != nullptr && under_test[0] != '\0' ? under_test : CANVASS_BINARY;
}

// Runs the real canvass binary with `args`.
inline RunResult RunCanvass(const std::vector<std::string>& args,
                            const std::vector<std::string>& extra_env = {}) {
  return RunProgram(CanvassBinary(), args, extra_env);
}

// The example fault spec of `canvass run --help`: every record fault at once.
inline constexpr char kExampleFaults[] =
    "drop=0.01,dup=0.005,conflict=0.001,corrupt=0.001,unknown_station=0.0005,"
    "unknown_choice=0.0005,bad_seq=0.0005,reorder=1,truncate=0.01,double_report=0.02";

// `canvass generate --out DIR --seed S [--faults F] --format X [extra...]` of the reference
// election; asserts exit 0 and "wrote ..." (copied to *out when given). Call it inside
// ASSERT_NO_FATAL_FAILURE.
inline void GenerateFolder(const std::string& directory, uint64_t seed, const std::string& faults,
                           const std::string& format, const std::vector<std::string>& extra = {},
                           std::string* out = nullptr) {
  std::vector<std::string> args = {"generate",         "--out",    directory, "--seed",
                                   absl::StrCat(seed), "--format", format};
  if (!faults.empty()) args.insert(args.end(), {"--faults", faults});
  args.insert(args.end(), extra.begin(), extra.end());
  const RunResult result = RunCanvass(args);
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  ASSERT_EQ(result.out.rfind("wrote ", 0), 0u) << Describe(result);
  if (out != nullptr) *out = result.out;
}
#endif  // CANVASS_BINARY

}  // namespace canvass::testing

#endif  // CANVASS_TESTS_TESTING_RUN_CANVASS_H_
