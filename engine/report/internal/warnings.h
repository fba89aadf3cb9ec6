// The plausibility warnings (reconcile/plausibility.h) in every report format: one JSON
// form (`warnings`, `plausibility`), the text section and the CSV rows, shared by the
// report of a single-contest election (report.cc) and of a contest election
// (contest_report.cc). docs/REPORT.md, "Plausibility warnings".
#ifndef CANVASS_ENGINE_REPORT_INTERNAL_WARNINGS_H_
#define CANVASS_ENGINE_REPORT_INTERNAL_WARNINGS_H_

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "engine/reconcile/plausibility.h"
#include "nlohmann/json.hpp"

namespace canvass::report_internal {

// The thresholds, as the JSON's `plausibility` object.
inline nlohmann::ordered_json PlausibilityJson(const PlausibilityOptions& options) {
  return {{"invalid_share_permille", options.invalid_permille},
          {"blank_share_permille", options.blank_permille},
          {"min_ballots", options.min_ballots}};
}

// `warnings`: [{"check", "unit" (null: the whole election), "contest" (null: none),
// "figures": {name: count, ...}, "message"}].
inline nlohmann::ordered_json WarningsJson(const std::vector<PlausibilityWarning>& warnings) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const PlausibilityWarning& w : warnings) {
    nlohmann::ordered_json figures = nlohmann::ordered_json::object();
    for (const auto& [name, value] : w.figures) figures[name] = value;
    out.push_back(
        {{"check", w.check},
         {"unit", w.unit.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(w.unit)},
         {"contest",
          w.contest.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(w.contest)},
         {"figures", std::move(figures)},
         {"message", w.message}});
  }
  return out;
}

// Text: nothing when there are none; else a headed list, the first `limit` in full.
inline void AppendWarningsText(const std::vector<PlausibilityWarning>& warnings, size_t limit,
                               std::string* out) {
  if (warnings.empty()) return;
  absl::StrAppend(out, "\nPlausibility warnings (", warnings.size(),
                  "; they do not change the verdict):\n");
  for (size_t i = 0; i < warnings.size() && i < limit; ++i) {
    absl::StrAppend(out, "  ", warnings[i].check, ": ", warnings[i].message, "\n");
  }
  if (warnings.size() > limit) {
    absl::StrAppend(out, "  ... ", warnings.size() - limit,
                    " more (--format json lists them all)\n");
  }
}

}  // namespace canvass::report_internal

#endif  // CANVASS_ENGINE_REPORT_INTERNAL_WARNINGS_H_
