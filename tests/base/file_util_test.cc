// Tests for ReadFileToString (engine/base/file_util.h): whole-file reads and the status code
// and message of each way one can fail.
#include "engine/base/file_util.h"

#include <filesystem>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace canvass {
namespace {

using ::canvass::testing::IsOk;
using ::canvass::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(ReadFileToStringTest, ReadsEveryByte) {
  testing::TempDir directory;
  const std::string path = (directory.path() / "bytes").string();
  std::string bytes(200000, 'x');
  bytes[0] = '\0';
  bytes[199999] = '\n';
  testing::WriteFileBytes(path, bytes);
  absl::StatusOr<std::string> read = ReadFileToString(path);
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(*read, bytes);
}

TEST(ReadFileToStringTest, EmptyFileIsEmptyString) {
  testing::TempDir directory;
  const std::string path = (directory.path() / "empty").string();
  testing::WriteFileBytes(path, "");
  absl::StatusOr<std::string> read = ReadFileToString(path);
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(*read, "");
}

TEST(ReadFileToStringTest, MissingFileIsNotFoundNamingPathAndReason) {
  testing::TempDir directory;
  const std::string path = (directory.path() / "no-such-file").string();
  EXPECT_THAT(ReadFileToString(path),
              StatusIs(absl::StatusCode::kNotFound, AllOf(StartsWith(path + ": cannot open file: "),
                                                          HasSubstr("No such file or directory"))));
}

TEST(ReadFileToStringTest, FileAsFolderOnThePathIsNotFound) {
  testing::TempDir directory;
  const std::string file = (directory.path() / "file").string();
  testing::WriteFileBytes(file, "x");
  EXPECT_THAT(ReadFileToString(file + "/manifest.json"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(file + "/manifest.json")));
}

TEST(ReadFileToStringTest, FolderIsInvalidArgument) {
  testing::TempDir directory;
  EXPECT_THAT(ReadFileToString(directory.path().string()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Is a directory")));
}

}  // namespace
}  // namespace canvass
