// ActivityBoard (engine/base/activity.h): what a worker's threads were doing, read by its
// supervisor after the worker died of SIGKILL, as canvass_main.cc's SuperviseRank does.
#include "engine/base/activity.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace canvass {
namespace {

using ::testing::ElementsAre;

TEST(ActivityBoardTest, TheSupervisorReadsWhatTheKilledWorkersThreadsLastDid) {
  const std::optional<ActivityBoard> board = ActivityBoard::CreateShared();
  ASSERT_TRUE(board.has_value());
  const pid_t worker = fork();
  ASSERT_GE(worker, 0);
  if (worker == 0) {
    InstallActivityBoard(*board);
    SetActivity("reading a.csv (bytes 0 to 10)");
    SetActivity("reading b.csv (bytes 10 to 20)");  // replaces the first: one slot a thread
    std::thread([] { SetActivity(std::string(2000, 'x')); }).join();
    std::thread([] { SetActivity("writing its checkpoint c"); }).join();
    raise(SIGKILL);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(worker, &status, 0), worker);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  // In slot order (the order the threads first wrote); a long text cut to its slot.
  const size_t slot_text = ActivityBoard::kSlotBytes - sizeof(uint32_t);
  EXPECT_THAT(board->LastActivities(),
              ElementsAre("reading b.csv (bytes 10 to 20)", std::string(slot_text, 'x'),
                          "writing its checkpoint c"));
}

TEST(ActivityBoardTest, WithoutABoardNothingIsRecorded) {
  const std::optional<ActivityBoard> board = ActivityBoard::CreateShared();
  ASSERT_TRUE(board.has_value());
  SetActivity("not recorded: this process installed no board");
  EXPECT_TRUE(board->LastActivities().empty());
}

}  // namespace
}  // namespace canvass
