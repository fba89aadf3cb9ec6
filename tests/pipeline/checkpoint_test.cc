// Checkpoint and resume: the codec (round trip, torn, corrupt) and the real thing: a
// `canvass reconcile --checkpoint` process killed with SIGKILL at many points, resumed,
// and compared byte for byte with an uninterrupted run.
#include "engine/pipeline/checkpoint.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

extern char** environ;

namespace canvass {
namespace {

namespace fs = std::filesystem;
using ::canvass::testing::StatusIs;
using ::testing::HasSubstr;

Checkpoint SampleCheckpoint() {
  Checkpoint checkpoint;
  checkpoint.election_fingerprint = 0x1234;
  checkpoint.inputs_fingerprint = 0x5678;
  checkpoint.tasks_total = 5;
  checkpoint.sequential_files = {"a.csv"};
  checkpoint.done.push_back({10, 90, 7, 7, 2, {1, 4}, UINT64_MAX, ""});
  checkpoint.done.push_back(
      {90, 200, 9, 9, 0, {}, 123, "x.cvb: byte 123: block checksum mismatch"});
  checkpoint.aggregator = std::string("\x01\x02\x03\x00\x04", 5);
  return checkpoint;
}

TEST(CheckpointCodecTest, RoundTrips) {
  const Checkpoint checkpoint = SampleCheckpoint();
  absl::StatusOr<Checkpoint> decoded = DecodeCheckpoint("ck", EncodeCheckpoint(checkpoint));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, checkpoint);
}

TEST(CheckpointCodecTest, EveryTruncationIsDataLoss) {
  const std::string bytes = EncodeCheckpoint(SampleCheckpoint());
  for (size_t keep = 0; keep < bytes.size(); ++keep) {
    EXPECT_THAT(DecodeCheckpoint("ck", bytes.substr(0, keep)),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("ck: not an intact checkpoint")))
        << "kept " << keep << " bytes";
  }
}

TEST(CheckpointCodecTest, EveryFlippedBitIsDataLoss) {
  const std::string bytes = EncodeCheckpoint(SampleCheckpoint());
  for (size_t byte = 0; byte < bytes.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string damaged = bytes;
      damaged[byte] = static_cast<char>(damaged[byte] ^ (1 << bit));
      EXPECT_THAT(DecodeCheckpoint("ck", damaged),
                  StatusIs(absl::StatusCode::kDataLoss, HasSubstr("ck")))
          << "byte " << byte << " bit " << bit;
    }
  }
}

TEST(CheckpointCodecTest, WriteFileAtomicallyReplacesTheFile) {
  const fs::path directory = fs::temp_directory_path() / absl::StrCat("canvass-ck-", getpid());
  fs::create_directories(directory);
  const std::string path = (directory / "ck").string();
  ASSERT_TRUE(WriteFileAtomically(path, "first").ok());
  ASSERT_TRUE(WriteFileAtomically(path, "second").ok());
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "second");
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  fs::remove_all(directory);
}

// ---- The real process, killed and resumed ----

struct Outcome {
  int exit_code = -1;
  std::string out;
};

pid_t Spawn(const std::vector<std::string>& args, const std::string& stdout_path) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(CANVASS_BINARY));
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  if (posix_spawn(&pid, CANVASS_BINARY, &actions, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

Outcome RunToEnd(const std::vector<std::string>& args, const std::string& stdout_path) {
  Outcome outcome;
  const pid_t pid = Spawn(args, stdout_path);
  int status = 0;
  waitpid(pid, &status, 0);
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream in(stdout_path);
  outcome.out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return outcome;
}

class KillAndResumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = fs::temp_directory_path() / absl::StrCat("canvass-kill-", getpid());
    fs::remove_all(directory_);
    fs::create_directories(directory_);
    // About 4.4 M ballots in 139 CSV files (70 MB), with every record fault.
    Outcome generated =
        RunToEnd({"generate", "--out", (directory_ / "in").string(), "--scale", "50", "--seed",
                  "11", "--faults",
                  "drop=0.01,dup=0.01,conflict=0.002,corrupt=0.001,reorder=1,double_report=0.05"},
                 (directory_ / "generate.txt").string());
    ASSERT_EQ(generated.exit_code, 0);
  }
  void TearDown() override { fs::remove_all(directory_); }

  std::vector<std::string> Command(const std::string& checkpoint) const {
    std::vector<std::string> args = {
        "reconcile", (directory_ / "in").string(), "--format", "json", "--quiet", "--threads", "2"};
    if (!checkpoint.empty()) {
      args.insert(args.end(), {"--checkpoint", checkpoint, "--checkpoint-every", "1"});
    }
    return args;
  }

  fs::path directory_;
};

TEST_F(KillAndResumeTest, KilledAtManyPointsResumesToTheSameReport) {
  const Outcome reference = RunToEnd(Command(""), (directory_ / "reference.json").string());
  ASSERT_EQ(reference.exit_code, 1);  // the faults make it a mismatch
  ASSERT_THAT(reference.out, HasSubstr("\"ground_truth\": \"exact\""));
  const std::string checkpoint = (directory_ / "job.ckpt").string();
  int kills_with_checkpoint = 0;
  // Kill points spread over the run, from before the first checkpoint to near the end.
  for (int delay_ms : {5, 20, 40, 60, 80, 100, 130, 160, 200, 250, 300, 400}) {
    const pid_t pid = Spawn(Command(checkpoint), (directory_ / "killed.json").string());
    ASSERT_GT(pid, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    kills_with_checkpoint += fs::exists(checkpoint);
    // Every kill point resumes from whatever the previous ones left.
  }
  const Outcome resumed = RunToEnd(Command(checkpoint), (directory_ / "resumed.json").string());
  EXPECT_EQ(resumed.exit_code, reference.exit_code);
  EXPECT_EQ(resumed.out, reference.out);
  EXPECT_FALSE(fs::exists(checkpoint)) << "a completed job removes its checkpoint";
  EXPECT_GT(kills_with_checkpoint, 0) << "no kill landed after a checkpoint was written";
}

TEST_F(KillAndResumeTest, EachKillPointAloneResumesToTheSameReport) {
  const Outcome reference = RunToEnd(Command(""), (directory_ / "reference.json").string());
  const std::string checkpoint = (directory_ / "job.ckpt").string();
  for (int delay_ms : {15, 45, 90, 180}) {
    fs::remove(checkpoint);
    const pid_t pid = Spawn(Command(checkpoint), (directory_ / "killed.json").string());
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    const Outcome resumed = RunToEnd(Command(checkpoint), (directory_ / "resumed.json").string());
    EXPECT_EQ(resumed.out, reference.out) << "killed after " << delay_ms << " ms";
  }
}

TEST_F(KillAndResumeTest, TornCorruptAndForeignCheckpointsAreDataLoss) {
  const std::string checkpoint = (directory_ / "job.ckpt").string();
  const pid_t pid = Spawn(Command(checkpoint), (directory_ / "killed.json").string());
  // Wait for a checkpoint to exist, then stop the job.
  for (int i = 0; i < 400 && !fs::exists(checkpoint); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(fs::exists(checkpoint)) << "the job finished before writing a checkpoint";
  std::ifstream in(checkpoint, std::ios::binary);
  const std::string good((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  auto write = [&](const std::string& bytes) {
    std::ofstream(checkpoint, std::ios::binary) << bytes;
  };
  auto run_stderr = [&](const std::vector<std::string>& args) {
    std::vector<std::string> with_stderr = args;
    return RunToEnd(with_stderr, (directory_ / "out.json").string());
  };
  write(good.substr(0, good.size() / 2));  // torn
  Outcome torn = run_stderr(Command(checkpoint));
  EXPECT_EQ(torn.exit_code, 2);
  EXPECT_EQ(torn.out, "");
  std::string corrupt = good;
  corrupt[corrupt.size() / 2] = static_cast<char>(corrupt[corrupt.size() / 2] ^ 0x10);
  write(corrupt);
  EXPECT_EQ(run_stderr(Command(checkpoint)).exit_code, 2);
  write(good);  // foreign: the same checkpoint for other inputs
  std::vector<std::string> other = Command(checkpoint);
  other[1] = (directory_ / "in" / "AE-01.csv").string();
  EXPECT_EQ(run_stderr(other).exit_code, 2);
  // And the intact checkpoint still resumes to the right answer.
  const Outcome reference = RunToEnd(Command(""), (directory_ / "reference.json").string());
  write(good);
  EXPECT_EQ(RunToEnd(Command(checkpoint), (directory_ / "resumed.json").string()).out,
            reference.out);
}

}  // namespace
}  // namespace canvass
