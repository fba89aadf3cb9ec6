// The operating-system boundary, end to end with real file systems: a disk that fills
// while `generate` writes its folder or a job writes its checkpoint, a folder the user may
// not list, a path that is a folder where a file is wanted. Each is exit 2 naming the path
// and the system's reason, and leaves no file that looks complete. A full disk is a real
// tmpfs of a few pages, mounted for the test (which needs root, as CI has).
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/run_canvass.h"
#include "tests/testing/temp_dir.h"

namespace canvass {
namespace {

namespace fs = std::filesystem;
using ::canvass::testing::CanvassBinary;
using ::canvass::testing::Describe;
using ::canvass::testing::kExitInputError;
using ::canvass::testing::kExitMatch;
using ::canvass::testing::RunCanvass;
using ::canvass::testing::RunProgram;
using ::canvass::testing::RunResult;
using ::canvass::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A tmpfs of `bytes` mounted at a fresh folder for the test's lifetime.
class SmallDisk {
 public:
  SmallDisk(const std::string& where, size_t bytes) : path_(where) {
    fs::create_directories(path_);
    const std::string options = absl::StrCat("size=", bytes);
    mounted_ = mount("tmpfs", path_.c_str(), "tmpfs", 0, options.c_str()) == 0;
    error_ = mounted_ ? "" : std::strerror(errno);
  }
  ~SmallDisk() {
    if (mounted_) umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  std::vector<std::string> Entries() const {
    std::vector<std::string> names;
    for (const fs::directory_entry& entry : fs::recursive_directory_iterator(path_)) {
      names.push_back(fs::relative(entry.path(), path_).string());
    }
    return names;
  }

 private:
  std::string path_;
  bool mounted_ = false;
  std::string error_;
};

// Mounting a tmpfs needs root (CI and the README's commands run as root); said loudly.
#define REQUIRE_SMALL_DISK(disk)                                                       \
  if (geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs (CI runs as root)"; \
  ASSERT_TRUE((disk).mounted()) << "mount tmpfs: " << (disk).error()

TEST(FullDiskTest, GenerateIsExitTwoWithTheReasonAndLeavesNoBallotFileOrManifest) {
  TempDir temp;
  SmallDisk disk(temp.File("disk"), 64 << 10);  // the reference election's CSV needs ~1.2 MB
  REQUIRE_SMALL_DISK(disk);
  const std::string out = temp.File("disk/ballots");
  const RunResult result = RunCanvass({"generate", "--out", out, "--format", "csv"});
  EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err, HasSubstr(": cannot write: No space left on device"));
  EXPECT_THAT(result.err, HasSubstr(out));
  // Nothing that a reader would take for a ballot file or a complete folder.
  EXPECT_THAT(disk.Entries(), ::testing::ElementsAre("ballots"));
}

TEST(FullDiskTest, CheckpointIsExitTwoWithTheReasonAndLeavesNoTemporaryFile) {
  TempDir temp;
  const std::string ballots = temp.File("ballots");
  const RunResult generated =
      RunCanvass({"generate", "--out", ballots, "--format", "csv", "--scale", "20"});
  ASSERT_EQ(generated.exit_code, kExitMatch) << Describe(generated);
  SmallDisk disk(temp.File("disk"), 4096);  // one page: less than any checkpoint at scale 20
  REQUIRE_SMALL_DISK(disk);
  const std::string checkpoint = temp.File("disk/job.ckpt");
  const RunResult result =
      RunCanvass({"aggregate", "--scale", "20", "--threads", "1", "--checkpoint", checkpoint,
                  "--checkpoint-every", "1", "--format", "json", ballots});
  EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err,
              HasSubstr(absl::StrCat(checkpoint, ".tmp: cannot write: No space left on device")));
  EXPECT_THAT(disk.Entries(), IsEmpty());
}

TEST(PathKindTest, ACheckpointThatIsAFolderIsExitTwoSayingSo) {
  TempDir temp;
  const std::string ballots = temp.File("ballots");
  ASSERT_EQ(RunCanvass({"generate", "--out", ballots}).exit_code, kExitMatch);
  const RunResult result = RunCanvass({"aggregate", "--checkpoint", temp.path().string(), ballots});
  EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
  EXPECT_THAT(result.err,
              HasSubstr(absl::StrCat(temp.path().string(), ": read error: Is a directory")));
}

TEST(PathKindTest, GenerateIntoAFileIsExitTwoSayingSo) {
  TempDir temp;
  const std::string file = temp.File("a-file");
  std::FILE* created = std::fopen(file.c_str(), "w");
  ASSERT_NE(created, nullptr);
  std::fclose(created);
  const RunResult result = RunCanvass({"generate", "--out", file});
  EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr(absl::StrCat("--out ", file, ": cannot create the folder: ")));
}

// Run as `nobody` (setpriv), a folder the user may not enter is exit 2 with the system's
// reason, not a skipped or empty input.
TEST(PermissionTest, AFolderTheUserMayNotListIsExitTwoWithTheReason) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to run the job as another user";
  TempDir temp;
  ASSERT_EQ(chmod(temp.path().c_str(), 0755), 0);
  const std::string ballots = temp.File("ballots");
  ASSERT_EQ(RunCanvass({"generate", "--out", ballots}).exit_code, kExitMatch);
  ASSERT_EQ(chmod(ballots.c_str(), 0700), 0);  // nothing for others: neither read nor search
  const RunResult result =
      RunProgram("/usr/bin/setpriv", {"--reuid=nobody", "--regid=nogroup", "--clear-groups",
                                      CanvassBinary(), "aggregate", ballots});
  ASSERT_EQ(chmod(ballots.c_str(), 0755), 0);  // so that TempDir can remove it
  EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
  EXPECT_EQ(result.out, "");
  // The first thing refused is the folder's manifest (aggregate reads it first, for the
  // scale): named, with the system's reason.
  EXPECT_EQ(result.err, absl::StrCat("canvass: ", ballots,
                                     "/manifest.json: cannot open file: Permission denied\n"));
}

// ---- Streams given as ballot inputs (hardening #10) ----

// `sh -c script` with CANVASS naming the binary under test.
RunResult Shell(const std::string& script) {
  return RunProgram("/bin/sh", {"-c", script},
                    {absl::StrCat("CANVASS=", ::canvass::testing::CanvassBinary())});
}

// The JSON report's figures without the inputs section (whose file names differ).
std::string Figures(const std::string& json) { return json.substr(0, json.find("\"inputs\"")); }

// A pipe on stdin (`/dev/stdin`) and a named FIFO, of CSV and of cvb, give the figures of
// the same bytes read as a file; the report names the stream as given.
TEST(StreamInputTest, APipeOrAFifoIsReadToItsEndLikeTheFile) {
  TempDir temp;
  for (const char* format : {"csv", "cvb"}) {
    SCOPED_TRACE(format);
    const std::string folder = temp.File(absl::StrCat("ballots-", format));
    ASSERT_EQ(RunCanvass({"generate", "--out", folder, "--format", format, "--faults",
                          "dup=0.05,conflict=0.01,corrupt=0.01"})
                  .exit_code,
              kExitMatch);
    const std::string file = absl::StrCat(folder, "/AE-01.", format);
    const RunResult as_file = RunCanvass({"aggregate", "--format", "json", file});
    ASSERT_EQ(as_file.exit_code, kExitMatch) << Describe(as_file);
    const RunResult piped =
        Shell(absl::StrCat("cat '", file, "' | \"$CANVASS\" aggregate --format json /dev/stdin"));
    EXPECT_EQ(piped.exit_code, kExitMatch) << Describe(piped);
    EXPECT_EQ(Figures(piped.out), Figures(as_file.out));
    EXPECT_THAT(piped.out, HasSubstr("\"/dev/stdin\""));
    const std::string fifo = temp.File(absl::StrCat("fifo-", format));
    const RunResult named = Shell(absl::StrCat(
        "mkfifo '", fifo, "' && { cat '", file, "' > '", fifo, "' & writer=$!; }; \"$CANVASS\" ",
        "aggregate --format json '", fifo, "'; status=$?; kill $writer 2>/dev/null; exit $status"));
    EXPECT_EQ(named.exit_code, kExitMatch) << Describe(named);
    EXPECT_EQ(Figures(named.out), Figures(as_file.out));
    EXPECT_THAT(named.out, HasSubstr(absl::StrCat("\"", fifo, "\"")));
  }
}

// A stream that never ends (`/dev/zero`) is exit 2 naming it once its copy would leave the
// folder nearly full, and nothing is left there; a stream with --checkpoint is refused.
TEST(StreamInputTest, AStreamThatNeverEndsIsExitTwoAndLeavesNothing) {
  TempDir temp;
  SmallDisk disk(temp.File("disk"), 64 << 20);
  REQUIRE_SMALL_DISK(disk);
  const RunResult endless = RunCanvass({"aggregate", "--format", "json", "/dev/zero"},
                                       {absl::StrCat("TMPDIR=", temp.File("disk"))});
  EXPECT_EQ(endless.exit_code, kExitInputError) << Describe(endless);
  EXPECT_EQ(endless.out, "");
  EXPECT_THAT(endless.err, HasSubstr("/dev/zero: the stream has not ended after "));
  EXPECT_THAT(endless.err, HasSubstr(absl::StrCat(temp.File("disk"),
                                                  " (where it is held to be "
                                                  "read) has less than ")));
  EXPECT_THAT(disk.Entries(), IsEmpty());

  const RunResult checkpointed = RunCanvass(
      {"aggregate", "--checkpoint", temp.File("job.ckpt"), "--format", "json", "/dev/zero"});
  EXPECT_EQ(checkpointed.exit_code, kExitInputError) << Describe(checkpointed);
  EXPECT_THAT(checkpointed.err,
              HasSubstr("/dev/zero is a stream (a pipe or a device): a job reading one cannot "
                        "be resumed, so it takes no --checkpoint"));
}

}  // namespace
}  // namespace canvass
