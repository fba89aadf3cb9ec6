// CastBallotBatch and ContestTally.
#include "engine/ballot/cast_ballots.h"

#include <algorithm>
#include <cassert>

namespace canvass {

absl::string_view CastRejectName(CastReject reason) {
  switch (reason) {
    case CastReject::kMalformed:
      return "malformed";
    case CastReject::kUnknownUnit:
      return "unknown_unit";
    case CastReject::kUnknownContest:
      return "unknown_contest";
    case CastReject::kUnknownSelection:
      return "unknown_selection";
    case CastReject::kDuplicate:
      return "duplicate";
    case CastReject::kConflict:
      return "conflict";
  }
  return "?";
}

void CastBallotBatch::Add(absl::string_view identity, uint32_t unit,
                          std::span<const CellVotes> cells, uint8_t flags) {
  flags_.push_back(flags);
  identity_bytes_.append(identity.data(), identity.size());
  identity_end_.push_back(static_cast<uint32_t>(identity_bytes_.size()));
  units_.push_back(unit);
  const size_t begin = cells_.size();
  cells_.insert(cells_.end(), cells.begin(), cells.end());
  const auto first = cells_.begin() + static_cast<std::ptrdiff_t>(begin);
  std::sort(first, cells_.end(),
            [](const CellVotes& a, const CellVotes& b) { return a.cell < b.cell; });
  // Merge repeated cells (a contest's ballots cell is added once per contest, a
  // selection with two positions twice).
  auto out = first;
  for (auto it = first; it != cells_.end(); ++it) {
    if (out != first && (out - 1)->cell == it->cell) {
      (out - 1)->votes += it->votes;
    } else {
      *out++ = *it;
    }
  }
  cells_.erase(out, cells_.end());
  cells_end_.push_back(static_cast<uint32_t>(cells_.size()));
}

void CastBallotBatch::Clear() {
  identity_bytes_.clear();
  identity_end_.clear();
  units_.clear();
  flags_.clear();
  cells_.clear();
  cells_end_.clear();
}

uint64_t ContestTally::TotalRejected() const {
  uint64_t total = 0;
  for (const uint64_t n : rejected) total += n;
  return total;
}

}  // namespace canvass
