// Parsing and printing of fault specs.
#include "engine/synth/fault_plan.h"

#include <charconv>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace canvass {

absl::string_view FaultName(Fault fault) {
  static constexpr absl::string_view kNames[kNumFaults] = {
      "drop",           "dup",     "conflict", "corrupt",  "unknown_station",
      "unknown_choice", "bad_seq", "reorder",  "truncate", "double_report"};
  return kNames[static_cast<int>(fault)];
}

bool FaultPlan::Any() const {
  for (double p : probability) {
    if (p > 0) return true;
  }
  return false;
}

absl::StatusOr<FaultPlan> FaultPlan::Parse(absl::string_view spec) {
  FaultPlan plan;
  std::array<bool, kNumFaults> seen{};
  if (spec.empty()) return plan;
  for (absl::string_view item : absl::StrSplit(spec, ',')) {
    std::vector<absl::string_view> parts = absl::StrSplit(item, absl::MaxSplits('=', 1));
    if (parts.size() != 2 || parts[0].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--faults: item \"", item, "\": expected name=probability"));
    }
    int fault = -1;
    for (int f = 0; f < kNumFaults; ++f) {
      if (FaultName(static_cast<Fault>(f)) == parts[0]) fault = f;
    }
    if (fault < 0) {
      std::vector<std::string> names;
      for (int f = 0; f < kNumFaults; ++f) names.emplace_back(FaultName(static_cast<Fault>(f)));
      return absl::InvalidArgumentError(
          absl::StrCat("--faults: item \"", item, "\": unknown fault \"", parts[0],
                       "\"; expected one of ", absl::StrJoin(names, ", ")));
    }
    if (seen[fault]) {
      return absl::InvalidArgumentError(
          absl::StrCat("--faults: item \"", item, "\": fault \"", parts[0], "\" given twice"));
    }
    seen[fault] = true;
    double value = 0;
    const char* begin = parts[1].data();
    const char* end = begin + parts[1].size();
    auto [stop, error] = std::from_chars(begin, end, value);
    if (error != std::errc() || stop != end || !std::isfinite(value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--faults: item \"", item, "\": \"", parts[1], "\" is not a number"));
    }
    if (value < 0 || value > 1) {
      return absl::InvalidArgumentError(absl::StrCat("--faults: item \"", item, "\": probability ",
                                                     parts[1], " is outside 0..1"));
    }
    plan.probability[fault] = value;
  }
  return plan;
}

std::string FaultPlan::ToString() const {
  std::vector<std::string> items;
  for (int f = 0; f < kNumFaults; ++f) {
    if (probability[f] > 0) {
      // Plain notation ("0.0005", "1") with every digit needed to parse back to the
      // same double: a printed plan is always the plan that ran.
      char number[400];
      auto [end, error] =
          std::to_chars(number, number + sizeof(number), probability[f], std::chars_format::fixed);
      items.push_back(absl::StrCat(FaultName(static_cast<Fault>(f)), "=",
                                   absl::string_view(number, static_cast<size_t>(end - number))));
    }
  }
  return absl::StrJoin(items, ",");
}

}  // namespace canvass
