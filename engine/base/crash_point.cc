#include "engine/base/crash_point.h"

#include <signal.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "absl/strings/string_view.h"
#include "engine/base/decimal.h"

namespace canvass {
namespace {

// In the order of CrashPoint.
constexpr std::string_view kNames[] = {"range", "before-rename", "checkpoint", "torn-append",
                                       "chunk"};

struct Plan {
  int point = -1;  // index into kNames; -1: no point
  uint64_t nth = 0;
  std::atomic<uint64_t> reached{0};
};

// The plan of one variable: CANVASS_CRASH_AT or CANVASS_STOP_AT.
void ParsePlan(const char* variable, Plan* plan) {
  const char* value = std::getenv(variable);
  if (value == nullptr || *value == '\0') return;
  const std::string_view text(value);
  const size_t colon = text.rfind(':');
  if (colon != std::string_view::npos) {
    const std::string_view name = text.substr(0, colon);
    const std::string_view count = text.substr(colon + 1);
    const std::optional<uint64_t> nth =
        ParseDecimalUint64(absl::string_view(count.data(), count.size()));
    for (int i = 0; i < static_cast<int>(std::size(kNames)); ++i) {
      if (name == kNames[i] && nth && *nth > 0) {
        plan->point = i;
        plan->nth = *nth;
        return;
      }
    }
  }
  std::fprintf(stderr,
               "canvass: %s=%s ignored: expected range:N, before-rename:N, "
               "torn-append:N, checkpoint:N or chunk:N with N >= 1\n",
               variable, value);
}

// CANVASS_CRASH_RANK=R: the plans hold only in rank R of an mpirun job (Open MPI tells each
// process its rank in OMPI_COMM_WORLD_RANK), so that a test kills one rank of several.
bool ThisRankIsPlanned() {
  const char* rank = std::getenv("CANVASS_CRASH_RANK");
  if (rank == nullptr || *rank == '\0') return true;
  const char* mine = std::getenv("OMPI_COMM_WORLD_RANK");
  return mine != nullptr && std::string_view(mine) == std::string_view(rank);
}

struct Plans {
  Plan crash, stop;
  Plans() {
    if (!ThisRankIsPlanned()) return;
    ParsePlan("CANVASS_CRASH_AT", &crash);
    ParsePlan("CANVASS_STOP_AT", &stop);
  }
};

bool Reached(Plan& plan, CrashPoint point) {
  if (__builtin_expect(plan.point != static_cast<int>(point), 1)) return false;
  return plan.reached.fetch_add(1, std::memory_order_relaxed) + 1 == plan.nth;
}

}  // namespace

void MaybeCrashAt(CrashPoint point) {
  static Plans* const plans = new Plans();
  if (Reached(plans->stop, point)) raise(SIGSTOP);
  if (Reached(plans->crash, point)) raise(SIGKILL);
}

}  // namespace canvass
