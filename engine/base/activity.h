// What each thread of this process is doing, kept where a supervising process can read it
// after this one dies: in a page of memory shared with the supervisor (made before the
// fork that starts the worker). `canvass` under mpirun runs each rank as a worker child of
// a small supervisor (tools/canvass_main.cc); when a worker dies of a signal, the
// supervisor says which rank died and what it was last doing ("reading FILE (bytes A to
// B)"), and ends the job with exit 2.
//
// Without a board (every process not so supervised) SetActivity does nothing.
// Thread safety: SetActivity may be called from any thread; each thread writes a slot of
// its own (the first kSlots threads; later ones share the last slot). LastActivities is
// for the supervisor, reading a board no thread of its own writes.
#ifndef CANVASS_ENGINE_BASE_ACTIVITY_H_
#define CANVASS_ENGINE_BASE_ACTIVITY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace canvass {

class ActivityBoard {
 public:
  static constexpr int kSlots = 64;
  static constexpr size_t kSlotBytes = 512;

  // A board in memory shared with the children this process forks afterwards (a page the
  // process keeps to its end); nullopt when the memory cannot be had (activities then go
  // unrecorded). Copies of a board are the same board.
  static std::optional<ActivityBoard> CreateShared();

  // The non-empty activities, in slot order. A slot being written when its thread died
  // reads as empty (its length is cleared before the text changes).
  std::vector<std::string> LastActivities() const;

  void Set(absl::string_view text);

  struct Shared;  // the slots, in the shared page

 private:
  friend void InstallActivityBoard(const ActivityBoard& board);
  friend void SetActivity(absl::string_view text);
  explicit ActivityBoard(Shared* shared) : shared_(shared) {}
  Shared* shared_;
};

// Makes `board` (from CreateShared, before the fork) the one SetActivity writes to.
void InstallActivityBoard(const ActivityBoard& board);

// Records what the calling thread is doing (a short text; longer ones are cut). Cheap:
// call it per task or per file, not per record.
void SetActivity(absl::string_view text);

}  // namespace canvass

#endif  // CANVASS_ENGINE_BASE_ACTIVITY_H_
