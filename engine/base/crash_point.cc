#include "engine/base/crash_point.h"

#include <signal.h>

#include <atomic>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace canvass {
namespace {

constexpr std::string_view kNames[] = {"range", "before-rename", "checkpoint"};

struct Plan {
  int point = -1;  // index into kNames; -1: no kill point
  uint64_t nth = 0;
  std::atomic<uint64_t> reached{0};
};

Plan* ParsePlan() {
  static Plan plan;
  const char* value = std::getenv("CANVASS_CRASH_AT");
  if (value == nullptr || *value == '\0') return &plan;
  const std::string_view text(value);
  const size_t colon = text.rfind(':');
  if (colon != std::string_view::npos) {
    const std::string_view name = text.substr(0, colon);
    const std::string_view count = text.substr(colon + 1);
    uint64_t nth = 0;
    const auto [end, error] = std::from_chars(count.data(), count.data() + count.size(), nth);
    for (int i = 0; i < static_cast<int>(std::size(kNames)); ++i) {
      if (name == kNames[i] && error == std::errc() && end == count.data() + count.size() &&
          nth > 0) {
        plan.point = i;
        plan.nth = nth;
        return &plan;
      }
    }
  }
  std::fprintf(stderr,
               "canvass: CANVASS_CRASH_AT=%s ignored: expected range:N, before-rename:N or "
               "checkpoint:N with N >= 1\n",
               value);
  return &plan;
}

}  // namespace

void MaybeCrashAt(CrashPoint point) {
  static Plan* const plan = ParsePlan();
  if (__builtin_expect(plan->point != static_cast<int>(point), 1)) return;
  if (plan->reached.fetch_add(1, std::memory_order_relaxed) + 1 == plan->nth) raise(SIGKILL);
}

}  // namespace canvass
