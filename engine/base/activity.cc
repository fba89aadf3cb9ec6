#include "engine/base/activity.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <new>

namespace canvass {
namespace {

struct Slot {
  std::atomic<uint32_t> length{0};
  char text[ActivityBoard::kSlotBytes - sizeof(std::atomic<uint32_t>)];
};
static_assert(sizeof(Slot) == ActivityBoard::kSlotBytes);
// Lock-free in shared memory: the supervisor reads what the worker's threads wrote.
static_assert(std::atomic<uint32_t>::is_always_lock_free);

}  // namespace

struct ActivityBoard::Shared {
  std::atomic<int> next_slot{0};
  Slot slots[ActivityBoard::kSlots];
};

namespace {
std::atomic<ActivityBoard::Shared*> installed{nullptr};
}  // namespace

std::optional<ActivityBoard> ActivityBoard::CreateShared() {
  void* memory =
      mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return std::nullopt;
  return ActivityBoard(new (memory) Shared());
}

std::vector<std::string> ActivityBoard::LastActivities() const {
  std::vector<std::string> out;
  for (const Slot& slot : shared_->slots) {
    const uint32_t length =
        std::min<uint32_t>(slot.length.load(std::memory_order_acquire), sizeof(slot.text));
    if (length > 0) out.emplace_back(slot.text, length);
  }
  return out;
}

void ActivityBoard::Set(absl::string_view text) {
  thread_local int slot_index = -1;
  if (slot_index < 0) {
    slot_index = std::min(shared_->next_slot.fetch_add(1, std::memory_order_relaxed), kSlots - 1);
  }
  Slot& slot = shared_->slots[slot_index];
  const size_t length = std::min(text.size(), sizeof(slot.text));
  slot.length.store(0, std::memory_order_release);
  std::memcpy(slot.text, text.data(), length);
  slot.length.store(static_cast<uint32_t>(length), std::memory_order_release);
}

void InstallActivityBoard(const ActivityBoard& board) {
  installed.store(board.shared_, std::memory_order_release);
}

void SetActivity(absl::string_view text) {
  ActivityBoard::Shared* shared = installed.load(std::memory_order_acquire);
  if (shared != nullptr) ActivityBoard(shared).Set(text);
}

}  // namespace canvass
