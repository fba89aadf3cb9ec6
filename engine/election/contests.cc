// ContestElection: checks, indexes and the unit hierarchy.
#include "engine/election/contests.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace canvass {

absl::string_view ContestKindName(ContestKind kind) {
  switch (kind) {
    case ContestKind::kPlurality:
      return "plurality";
    case ContestKind::kRanked:
      return "ranked";
  }
  return "?";
}

absl::string_view ContestFigureName(ContestFigure figure) {
  switch (figure) {
    case ContestFigure::kOvervotes:
      return "overvotes";
    case ContestFigure::kUndervotes:
      return "undervotes";
    case ContestFigure::kBallots:
      return "ballots";
    case ContestFigure::kInvalid:
      return "invalid";
  }
  return "?";
}

namespace {

absl::Status Invalid(absl::string_view source, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": ", what));
}

}  // namespace

absl::Status ContestElection::Finalize(absl::string_view source_name) {
  if (contests.size() > kMaxContests) {
    return Invalid(source_name, absl::StrCat(contests.size(), " contests; at most ", kMaxContests));
  }
  if (units.empty() || units.size() > kMaxUnits) {
    return Invalid(source_name,
                   absl::StrCat(units.size(), " reporting units; expected 1 to ", kMaxUnits));
  }
  contest_index_.clear();
  selection_index_.assign(contests.size(), {});
  contest_first_cell_.assign(contests.size(), 0);
  cell_contest_.assign(1, 0);
  uint64_t cells = 1;
  for (uint32_t c = 0; c < contests.size(); ++c) {
    const ElectionContest& contest = contests[c];
    if (contest.id.empty()) return Invalid(source_name, absl::StrCat("contest ", c, " has no id"));
    if (!contest_index_.emplace(contest.id, c).second) {
      return Invalid(source_name, absl::StrCat("contest '", contest.id, "' is defined twice"));
    }
    if (contest.vote_for < 1) {
      return Invalid(source_name, absl::StrCat("contest '", contest.id, "': vote_for ",
                                               contest.vote_for, "; expected at least 1"));
    }
    if (contest.selections.size() > kMaxSelections) {
      return Invalid(source_name,
                     absl::StrCat("contest '", contest.id, "': ", contest.selections.size(),
                                  " selections; at most ", kMaxSelections));
    }
    for (uint32_t s = 0; s < contest.selections.size(); ++s) {
      if (!selection_index_[c].emplace(contest.selections[s].id, s).second) {
        return Invalid(source_name, absl::StrCat("contest '", contest.id, "': selection '",
                                                 contest.selections[s].id, "' is listed twice"));
      }
    }
    contest_first_cell_[c] = static_cast<uint32_t>(cells);
    cells += contest.selections.size() + figures_per_contest();
    if (cells > (uint64_t{1} << 31)) return Invalid(source_name, "too many selections in all");
    cell_contest_.resize(cells, c + 1);
  }
  cells_per_unit_ = static_cast<uint32_t>(cells);

  unit_index_.clear();
  for (uint32_t u = 0; u < units.size(); ++u) {
    if (units[u].id.empty()) return Invalid(source_name, absl::StrCat("unit ", u, " has no id"));
    if (!unit_index_.emplace(units[u].id, u).second) {
      return Invalid(source_name,
                     absl::StrCat("reporting unit '", units[u].id, "' is defined twice"));
    }
  }
  const std::optional<uint32_t> scope = FindUnit(scope_id);
  if (!scope) {
    return Invalid(source_name, absl::StrCat("the election scope '", scope_id,
                                             "' is not one of the reporting units"));
  }
  scope_ = *scope;

  // Parents from ComposingGpUnitIds; units nobody composes belong to the scope.
  std::vector<std::vector<uint32_t>> parents(units.size());
  for (uint32_t u = 0; u < units.size(); ++u) {
    for (const std::string& child_id : units[u].composing) {
      const std::optional<uint32_t> child = FindUnit(child_id);
      if (!child) {
        return Invalid(source_name,
                       absl::StrCat("reporting unit '", units[u].id, "' is composed of '", child_id,
                                    "', which is not a reporting unit"));
      }
      if (*child == u) {
        return Invalid(source_name,
                       absl::StrCat("reporting unit '", units[u].id, "' is composed of itself"));
      }
      if (std::find(parents[*child].begin(), parents[*child].end(), u) == parents[*child].end()) {
        parents[*child].push_back(u);
      }
    }
  }
  for (uint32_t u = 0; u < units.size(); ++u) {
    if (u != scope_ && parents[u].empty()) parents[u].push_back(scope_);
  }
  if (!parents[scope_].empty()) {
    return Invalid(
        source_name,
        absl::StrCat("the election scope '", scope_id, "' is composed into '",
                     units[parents[scope_].front()].id, "'; the scope must be the top unit"));
  }
  // Ancestors by depth-first search with a colour per unit, so a cycle is an error and
  // every unit is visited once.
  roll_up_.assign(units.size(), {});
  level_.assign(units.size(), 0);
  std::vector<uint8_t> state(units.size(), 0);  // 0 new, 1 in progress, 2 done
  for (uint32_t start = 0; start < units.size(); ++start) {
    if (state[start] == 2) continue;
    std::vector<std::pair<uint32_t, size_t>> stack{{start, 0}};
    state[start] = 1;
    while (!stack.empty()) {
      auto& [u, next] = stack.back();
      if (next < parents[u].size()) {
        const uint32_t p = parents[u][next++];
        if (state[p] == 1) {
          return Invalid(source_name, absl::StrCat("reporting unit '", units[p].id,
                                                   "' is (through its parts) composed of "
                                                   "itself"));
        }
        if (state[p] == 0) {
          state[p] = 1;
          stack.emplace_back(p, 0);
        }
        continue;
      }
      std::vector<uint32_t>& up = roll_up_[u];
      up.push_back(u);
      for (const uint32_t p : parents[u]) {
        for (const uint32_t a : roll_up_[p]) {
          if (std::find(up.begin(), up.end(), a) == up.end()) up.push_back(a);
        }
        level_[u] = std::max(level_[u], level_[p] + 1);
      }
      state[u] = 2;
      stack.pop_back();
    }
  }

  std::sort(reported.begin(), reported.end(), [](const ReportedCell& a, const ReportedCell& b) {
    return std::tie(a.unit, a.cell) < std::tie(b.unit, b.cell);
  });
  for (size_t i = 0; i < reported.size(); ++i) {
    const ReportedCell& cell = reported[i];
    if (cell.unit >= units.size() || cell.cell >= cells_per_unit_) {
      return Invalid(source_name, "a reported figure outside the election");
    }
    if (i > 0 && reported[i - 1].unit == cell.unit && reported[i - 1].cell == cell.cell) {
      const CellMeaning meaning = Meaning(cell.cell);
      std::string what = "ballots cast";
      if (meaning.contest) {
        const ElectionContest& contest = contests[*meaning.contest];
        what = absl::StrCat(
            "contest '", contest.id, "' ",
            meaning.selection
                ? absl::StrCat("selection '", contest.selections[*meaning.selection].id, "'")
                : std::string(ContestFigureName(*meaning.figure)));
      }
      return Invalid(source_name,
                     absl::StrCat("unit '", units[cell.unit].id, "', ", what, ": reported twice (",
                                  reported[i - 1].count, " and ", cell.count, ")"));
    }
  }
  return absl::OkStatus();
}

std::optional<uint32_t> ContestElection::FindContest(absl::string_view contest_id) const {
  const auto it = contest_index_.find(contest_id);
  if (it == contest_index_.end()) return std::nullopt;
  return it->second;
}

std::optional<uint32_t> ContestElection::FindSelection(uint32_t contest,
                                                       absl::string_view selection_id) const {
  // Most contests have a handful of selections: comparing them beats hashing the id.
  const std::vector<Selection>& selections = contests[contest].selections;
  if (selections.size() <= 8) {
    for (uint32_t s = 0; s < selections.size(); ++s) {
      if (selections[s].id == selection_id) return s;
    }
    return std::nullopt;
  }
  const auto it = selection_index_[contest].find(selection_id);
  if (it == selection_index_[contest].end()) return std::nullopt;
  return it->second;
}

std::optional<uint32_t> ContestElection::FindUnit(absl::string_view unit_id) const {
  const auto it = unit_index_.find(unit_id);
  if (it == unit_index_.end()) return std::nullopt;
  return it->second;
}

ContestElection::CellMeaning ContestElection::Meaning(uint32_t cell) const {
  CellMeaning meaning;
  if (cell == kBallotsCastCell || cell >= cell_contest_.size()) return meaning;
  const uint32_t contest = cell_contest_[cell] - 1;
  meaning.contest = contest;
  const uint32_t within = cell - contest_first_cell_[contest];
  const uint32_t selections = static_cast<uint32_t>(contests[contest].selections.size());
  if (within < selections) {
    meaning.selection = within;
  } else {
    meaning.figure = static_cast<ContestFigure>(within - selections);
  }
  return meaning;
}

absl::Status ContestElection::AddInvalidFigure() {
  if (invalid_figure) return absl::OkStatus();
  // Each contest's figure lands after its others, so a cell of contest c moves by one for
  // every contest before it; ballots cast (cell 0) stays.
  auto moved = [&](uint32_t cell) {
    const std::optional<uint32_t> contest = Meaning(cell).contest;
    return contest ? cell + *contest : cell;
  };
  for (ReportedCell& cell : reported) cell.cell = moved(cell.cell);
  for (ReportedTypedCell& cell : reported_by_type) cell.cell = moved(cell.cell);
  invalid_figure = true;
  return Finalize(source);
}

std::optional<uint64_t> ContestElection::Reported(uint32_t unit, uint32_t cell) const {
  const auto it =
      std::lower_bound(reported.begin(), reported.end(), std::make_pair(unit, cell),
                       [](const ReportedCell& a, const std::pair<uint32_t, uint32_t>& key) {
                         return std::tie(a.unit, a.cell) < std::tie(key.first, key.second);
                       });
  if (it == reported.end() || it->unit != unit || it->cell != cell) return std::nullopt;
  return it->count;
}

absl::StatusOr<ContestElection> ScaleContestElection(const ContestElection& election,
                                                     uint64_t scale) {
  ContestElection scaled = election;
  constexpr uint64_t kMax = (uint64_t{1} << 63) - 1;
  auto scale_count = [&](uint64_t* count, uint32_t unit) -> absl::Status {
    if (*count > kMax / scale) {
      return absl::OutOfRangeError(absl::StrCat(election.source, ": unit '",
                                                election.units[unit].id, "': ", *count,
                                                " at scale ", scale, " passes 2^63 - 1"));
    }
    *count *= scale;
    return absl::OkStatus();
  };
  for (ReportedCell& cell : scaled.reported) {
    if (absl::Status status = scale_count(&cell.count, cell.unit); !status.ok()) return status;
  }
  for (ReportedTypedCell& cell : scaled.reported_by_type) {
    if (absl::Status status = scale_count(&cell.count, cell.unit); !status.ok()) return status;
  }
  if (absl::Status status = scaled.Finalize(election.source); !status.ok()) return status;
  return scaled;
}

}  // namespace canvass
