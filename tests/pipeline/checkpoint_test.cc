// Checkpoint and resume: the codec (round trip, torn, corrupt) and the real thing: a
// `canvass reconcile --checkpoint` process killed with SIGKILL at many points of its own
// progress, resumed, and compared byte for byte with an uninterrupted run.
#include "engine/ingest/checkpoint.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/run_canvass.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

extern char** environ;

namespace canvass {
namespace {

namespace fs = std::filesystem;
using ::canvass::testing::Describe;
using ::canvass::testing::kExitInputError;
using ::canvass::testing::kExitMatch;
using ::canvass::testing::kExitMismatch;
using ::canvass::testing::ReadFileBytes;
using ::canvass::testing::RunCanvass;
using ::canvass::testing::RunResult;
using ::canvass::testing::StatusIs;
using ::canvass::testing::TempDir;
using ::canvass::testing::WriteFileBytes;
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
  checkpoint.aggregator = {std::string("\x01\x02\x03\x00\x04", 5), "changes"};
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

// A whole frame then append frames: the tasks and the aggregator's changes add up in order,
// and the layout says where the frames lie.
TEST(CheckpointCodecTest, AppendFramesAddTheirTasksAndChangesInOrder) {
  Checkpoint whole = SampleCheckpoint();
  whole.aggregator = {"whole"};
  const RangeReading third{200, 300, 4, 4, 0, {}, UINT64_MAX, ""};
  const RangeReading fourth{300, 350, 2, 2, 1, {0}, UINT64_MAX, ""};
  const std::string base = EncodeCheckpoint(whole);
  const std::string first = EncodeCheckpointAppend(whole, 2, {third}, "changes 1");
  const std::string second = EncodeCheckpointAppend(whole, 3, {fourth}, "changes 2");
  CheckpointLayout layout;
  absl::StatusOr<Checkpoint> decoded = DecodeCheckpoint("ck", base + first + second, &layout);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  Checkpoint expected = whole;
  expected.done.push_back(third);
  expected.done.push_back(fourth);
  expected.aggregator = {"whole", "changes 1", "changes 2"};
  EXPECT_EQ(*decoded, expected);
  EXPECT_EQ(layout.whole_bytes, base.size());
  EXPECT_EQ(layout.intact_bytes, base.size() + first.size() + second.size());
}

// What a crash in the middle of an append leaves: the frames before it are the checkpoint,
// at every cut and with any damage to the last frame; the layout ends where they end.
TEST(CheckpointCodecTest, ATornAppendEndsTheLogAtTheFramesBeforeIt) {
  Checkpoint whole = SampleCheckpoint();
  whole.aggregator = {"whole"};
  const RangeReading third{200, 300, 4, 4, 0, {}, UINT64_MAX, ""};
  const std::string intact =
      EncodeCheckpoint(whole) + EncodeCheckpointAppend(whole, 2, {third}, "c1");
  const std::string last = EncodeCheckpointAppend(whole, 3, {third}, "c2");
  Checkpoint expected = whole;
  expected.done.push_back(third);
  expected.aggregator = {"whole", "c1"};
  for (size_t keep = 0; keep < last.size(); ++keep) {
    CheckpointLayout layout;
    absl::StatusOr<Checkpoint> decoded =
        DecodeCheckpoint("ck", intact + last.substr(0, keep), &layout);
    ASSERT_TRUE(decoded.ok()) << "kept " << keep << ": " << decoded.status();
    EXPECT_EQ(*decoded, expected) << "kept " << keep;
    EXPECT_EQ(layout.intact_bytes, intact.size());
  }
  for (size_t byte = 0; byte < last.size(); ++byte) {
    std::string damaged = last;
    damaged[byte] = static_cast<char>(damaged[byte] ^ 0x20);
    absl::StatusOr<Checkpoint> decoded = DecodeCheckpoint("ck", intact + damaged);
    ASSERT_TRUE(decoded.ok()) << "byte " << byte << ": " << decoded.status();
    EXPECT_EQ(*decoded, expected) << "byte " << byte;
  }
}

// An intact append frame that does not follow from the frames before it is another job's,
// or out of order: DataLoss, naming the byte where it starts.
TEST(CheckpointCodecTest, AnAppendFrameOfAnotherJobIsDataLoss) {
  Checkpoint whole = SampleCheckpoint();
  const std::string base = EncodeCheckpoint(whole);
  Checkpoint other = whole;
  other.inputs_fingerprint ^= 1;
  EXPECT_THAT(
      DecodeCheckpoint("ck", base + EncodeCheckpointAppend(other, 2, {}, "c")),
      StatusIs(absl::StatusCode::kDataLoss,
               HasSubstr(absl::StrCat("byte ", base.size(), ": an append frame of another job"))));
  EXPECT_THAT(DecodeCheckpoint("ck", base + EncodeCheckpointAppend(whole, 1, {}, "c")),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("an append frame of another job")));
  // More tasks done than the job has.
  std::vector<RangeReading> many(4);
  EXPECT_THAT(DecodeCheckpoint("ck", base + EncodeCheckpointAppend(whole, 2, many, "c")),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("append frame fields")));
}

// A checkpoint of the format before the log (version 1) says so.
TEST(CheckpointCodecTest, AnEarlierFormatSaysSo) {
  std::string old = EncodeCheckpoint(SampleCheckpoint());
  old[7] = 1;
  EXPECT_THAT(DecodeCheckpoint("ck", old),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("byte 0: written by an earlier version of Canvass (checkpoint "
                                 "format 1); remove it to start over")));
}

// Hardening (unclear messages): an empty file and another kind of file each say what they are.
TEST(CheckpointCodecTest, EmptyAndForeignFilesSayWhatTheyAre) {
  EXPECT_THAT(DecodeCheckpoint("ck", ""),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("ck: not an intact checkpoint: an empty file (a checkpoint "
                                 "never is: remove it, or name another file)")));
  EXPECT_THAT(
      DecodeCheckpoint("ck", "station,seq,choice\n"),
      StatusIs(absl::StatusCode::kDataLoss,
               HasSubstr("ck: not an intact checkpoint: byte 0: not a Canvass checkpoint")));
  const std::string bytes = EncodeCheckpoint(SampleCheckpoint());
  EXPECT_THAT(
      DecodeCheckpoint("ck", bytes.substr(0, 12)),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("byte 8: the file ends after 12 bytes")));
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
  EXPECT_EQ(ReadFileBytes(path), "second");
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  fs::remove_all(directory);
}

// ---- The real process, killed and resumed ----
//
// Kill points are defined by the job's own progress (CANVASS_CRASH_AT, engine/base/
// crash_point.h): the process raises SIGKILL on itself the n-th time it finishes a range,
// writes a checkpoint, or is about to rename a written temporary checkpoint into place. So
// every kill lands where the test says on any machine, loaded or not, under any sanitizer.

constexpr int kKilled = 128 + SIGKILL;

// Starts the job without waiting for it, stdout to `stdout_path`, stderr discarded.
pid_t Spawn(const std::vector<std::string>& args, const std::string& stdout_path) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(::canvass::testing::CanvassBinary()));
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  if (posix_spawn(&pid, ::canvass::testing::CanvassBinary(), &actions, nullptr, argv.data(),
                  environ) != 0)
    pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

class KillAndResumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // About 1.8 M ballots in 139 CSV files (28 MB), with every record fault: with a
    // checkpoint every MiB the job writes about 25 checkpoints.
    const RunResult generated = RunCanvass(
        {"generate", "--out", In(), "--scale", "20", "--seed", "11", "--faults",
         "drop=0.01,dup=0.01,conflict=0.002,corrupt=0.001,reorder=1,double_report=0.05"});
    ASSERT_EQ(generated.exit_code, kExitMatch) << Describe(generated);
    reference_ = RunCanvass(Command(""));
    ASSERT_EQ(reference_.exit_code, kExitMismatch) << Describe(reference_);  // the faults
    ASSERT_THAT(reference_.out, HasSubstr("\"ground_truth\": \"exact\""));
  }

  std::string In() const { return directory_.File("in"); }
  std::string CheckpointPath() const { return directory_.File("job.ckpt"); }

  std::vector<std::string> Command(const std::string& checkpoint) const {
    std::vector<std::string> args = {"reconcile", In(),        "--format", "json",
                                     "--quiet",   "--threads", "2"};
    if (!checkpoint.empty()) {
      args.insert(args.end(), {"--checkpoint", checkpoint, "--checkpoint-every", "1"});
    }
    return args;
  }

  // Runs the checkpointed job until it kills itself at `crash_at`; fails the test when the
  // job ends any other way (it finished first, or failed).
  void RunKilledAt(const std::string& crash_at) {
    const RunResult killed =
        RunCanvass(Command(CheckpointPath()), {absl::StrCat("CANVASS_CRASH_AT=", crash_at)});
    ASSERT_EQ(killed.exit_code, kKilled) << "at " << crash_at << ": " << Describe(killed);
    EXPECT_EQ(killed.out, "") << "a killed job prints no report";
  }

  // How many tasks the checkpoint on disk records as done (0 when there is none).
  size_t TasksDone() const {
    if (!fs::exists(CheckpointPath())) return 0;
    const absl::StatusOr<Checkpoint> checkpoint =
        DecodeCheckpoint(CheckpointPath(), ReadFileBytes(CheckpointPath()));
    EXPECT_TRUE(checkpoint.ok()) << checkpoint.status();
    return checkpoint.ok() ? checkpoint->done.size() : 0;
  }

  // Bytes of the checkpoint file that hold intact frames (0 when there is none).
  uint64_t IntactBytes() const {
    if (!fs::exists(CheckpointPath())) return 0;
    CheckpointLayout layout;
    const absl::StatusOr<Checkpoint> checkpoint =
        DecodeCheckpoint(CheckpointPath(), ReadFileBytes(CheckpointPath()), &layout);
    EXPECT_TRUE(checkpoint.ok()) << checkpoint.status();
    return layout.intact_bytes;
  }

  TempDir directory_;
  RunResult reference_;
};

TEST_F(KillAndResumeTest, KilledAtManyPointsResumesToTheSameReport) {
  // One job killed again and again, each run resuming from what the previous ones left.
  RunKilledAt("range:1");  // before the first checkpoint: nothing to resume from
  EXPECT_FALSE(fs::exists(CheckpointPath()));
  RunKilledAt("checkpoint:1");
  const size_t after_first = TasksDone();
  EXPECT_GT(after_first, 0u);
  RunKilledAt("range:1");  // resumed, then killed before its own first checkpoint
  EXPECT_EQ(TasksDone(), after_first) << "a kill between checkpoints keeps the last one";
  RunKilledAt("checkpoint:3");
  const size_t after_resume = TasksDone();
  EXPECT_GT(after_resume, after_first) << "the resumed job went on from the checkpoint";
  RunKilledAt("torn-append:2");  // one append frame written, the next torn half-way
  EXPECT_GT(TasksDone(), after_resume);
  EXPECT_LT(IntactBytes(), fs::file_size(CheckpointPath())) << "a torn frame at the end";
  const size_t before_last = TasksDone();
  RunKilledAt("checkpoint:4");
  EXPECT_GT(TasksDone(), before_last);
  EXPECT_EQ(IntactBytes(), fs::file_size(CheckpointPath())) << "the next append replaced it";

  const RunResult resumed = RunCanvass(Command(CheckpointPath()));
  EXPECT_EQ(resumed.exit_code, reference_.exit_code) << Describe(resumed);
  EXPECT_EQ(resumed.out, reference_.out);
  EXPECT_FALSE(fs::exists(CheckpointPath())) << "a completed job removes its checkpoint";
}

TEST_F(KillAndResumeTest, EachKillPointAloneResumesToTheSameReport) {
  for (const char* crash_at : {"range:1", "range:20", "range:100", "checkpoint:1", "checkpoint:12",
                               "before-rename:1", "torn-append:1", "torn-append:7"}) {
    SCOPED_TRACE(crash_at);
    fs::remove(CheckpointPath());
    fs::remove(CheckpointPath() + ".tmp");
    RunKilledAt(crash_at);
    const RunResult resumed = RunCanvass(Command(CheckpointPath()));
    EXPECT_EQ(resumed.exit_code, reference_.exit_code) << Describe(resumed);
    EXPECT_EQ(resumed.out, reference_.out);
  }
}

// An extra on top of the progress-defined kill points: SIGKILL from outside at moments
// drawn from a seeded generator, wherever they land (before the first checkpoint, in the
// middle of a write, after the job ended). Nothing here depends on where: every outcome
// must resume to the same report.
TEST_F(KillAndResumeTest, KilledFromOutsideAtRandomMomentsResumesToTheSameReport) {
  std::mt19937 random(20261129);
  std::uniform_int_distribution<int> delay_us(0, 300'000);
  for (int trial = 0; trial < 3; ++trial) {
    const pid_t pid = Spawn(Command(CheckpointPath()), directory_.File("killed.json"));
    ASSERT_GT(pid, 0);
    usleep(static_cast<useconds_t>(delay_us(random)));  // where it lands does not matter
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
  }
  const RunResult resumed = RunCanvass(Command(CheckpointPath()));
  EXPECT_EQ(resumed.exit_code, reference_.exit_code) << Describe(resumed);
  EXPECT_EQ(resumed.out, reference_.out);
}

// Hardening (unclear messages): two jobs sharing one checkpoint. The second is refused at
// once, exit 2, touching nothing (one died with "rename failed" before); once the first
// ends, the same command runs, and no lock file is left behind.
TEST_F(KillAndResumeTest, ASecondJobOnAHeldCheckpointIsRefused) {
  RunKilledAt("checkpoint:2");
  const std::string before = ReadFileBytes(CheckpointPath());
  {
    absl::StatusOr<CheckpointLock> held = CheckpointLock::Acquire(CheckpointPath());
    ASSERT_TRUE(held.ok()) << held.status();
    EXPECT_THAT(CheckpointLock::Acquire(CheckpointPath()),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr("another job holds this checkpoint")));
    const RunResult second = RunCanvass(Command(CheckpointPath()));
    EXPECT_EQ(second.exit_code, kExitInputError) << Describe(second);
    EXPECT_EQ(second.out, "");
    EXPECT_THAT(second.err, HasSubstr(CheckpointPath() + ": another job holds this checkpoint (" +
                                      CheckpointPath() + ".lock is locked)"));
    EXPECT_EQ(ReadFileBytes(CheckpointPath()), before) << "the refused job wrote nothing";
  }
  const RunResult resumed = RunCanvass(Command(CheckpointPath()));
  EXPECT_EQ(resumed.exit_code, reference_.exit_code) << Describe(resumed);
  EXPECT_EQ(resumed.out, reference_.out);
  EXPECT_FALSE(fs::exists(CheckpointPath() + ".lock"));
}

TEST_F(KillAndResumeTest, TornCorruptAndForeignCheckpointsAreDataLoss) {
  RunKilledAt("checkpoint:1");  // one whole frame (torn appends: ATornAppend... above)
  ASSERT_TRUE(fs::exists(CheckpointPath()));
  const std::string good = ReadFileBytes(CheckpointPath());
  auto write = [&](const std::string& bytes) { WriteFileBytes(CheckpointPath(), bytes); };

  write(good.substr(0, good.size() / 2));  // torn
  const RunResult torn = RunCanvass(Command(CheckpointPath()));
  EXPECT_EQ(torn.exit_code, kExitInputError) << Describe(torn);
  EXPECT_EQ(torn.out, "");
  EXPECT_THAT(torn.err, HasSubstr("not an intact checkpoint"));

  std::string corrupt = good;
  corrupt[corrupt.size() / 2] = static_cast<char>(corrupt[corrupt.size() / 2] ^ 0x10);
  write(corrupt);
  const RunResult corrupted = RunCanvass(Command(CheckpointPath()));
  EXPECT_EQ(corrupted.exit_code, kExitInputError) << Describe(corrupted);
  EXPECT_EQ(corrupted.out, "");

  write(good);  // foreign: the same checkpoint for other inputs
  std::vector<std::string> other = Command(CheckpointPath());
  other[1] = (fs::path(In()) / "AE-01.csv").string();
  const RunResult foreign = RunCanvass(other);
  EXPECT_EQ(foreign.exit_code, kExitInputError) << Describe(foreign);
  EXPECT_THAT(foreign.err, HasSubstr("checkpoint belongs to another job"));

  // And the intact checkpoint still resumes to the right answer.
  write(good);
  const RunResult resumed = RunCanvass(Command(CheckpointPath()));
  EXPECT_EQ(resumed.exit_code, reference_.exit_code) << Describe(resumed);
  EXPECT_EQ(resumed.out, reference_.out);
}

TEST(CrashPointTest, AnUnparsableKillPointIsReportedAndIgnored) {
  TempDir directory;
  const std::string in = directory.File("in");
  ASSERT_EQ(RunCanvass({"generate", "--out", in}).exit_code, kExitMatch);
  const RunResult run = RunCanvass({"reconcile", in, "--format", "json", "--quiet"},
                                   {"CANVASS_CRASH_AT=checkpoint:zero"});
  EXPECT_EQ(run.exit_code, kExitMatch) << Describe(run);
  EXPECT_THAT(run.err, HasSubstr("CANVASS_CRASH_AT=checkpoint:zero ignored"));
}

}  // namespace
}  // namespace canvass
