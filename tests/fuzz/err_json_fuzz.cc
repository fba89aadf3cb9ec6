// libFuzzer target: the NIST results-report (ERR JSON) reader on arbitrary bytes. Beyond
// "no crash": an accepted report is a finished election (its reported cells sorted, unique
// and inside the election; every unit rolls up to the scope, itself first), and an error
// is InvalidArgument or DataLoss with the input's name in its message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "engine/election/contests.h"
#include "engine/io/nist/err_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  (void)canvass::LooksLikeResultsReportJson(text);
  absl::StatusOr<canvass::ContestElection> election =
      canvass::ParseResultsReportJson("fuzz.json", text);
  if (!election.ok()) {
    const absl::StatusCode code = election.status().code();
    if (code != absl::StatusCode::kInvalidArgument && code != absl::StatusCode::kDataLoss) {
      std::abort();
    }
    if (!absl::StrContains(election.status().message(), "fuzz.json")) std::abort();
    return 0;
  }
  const canvass::ContestElection& e = *election;
  for (size_t i = 0; i < e.reported.size(); ++i) {
    const canvass::ReportedCell& cell = e.reported[i];
    if (cell.unit >= e.units.size() || cell.cell >= e.cells_per_unit()) std::abort();
    if (i > 0 && (e.reported[i - 1].unit > cell.unit ||
                  (e.reported[i - 1].unit == cell.unit && e.reported[i - 1].cell >= cell.cell))) {
      std::abort();
    }
    if (e.Reported(cell.unit, cell.cell) != cell.count) std::abort();
  }
  for (uint32_t u = 0; u < e.units.size(); ++u) {
    const auto& up = e.RollUp(u);
    if (up.empty() || up.front() != u || (u != e.scope() && up.back() == u)) std::abort();
    bool has_scope = false;
    for (const uint32_t a : up) has_scope |= a == e.scope();
    if (!has_scope) std::abort();
  }
  return 0;
}
