// Tally accessors.
#include "engine/ballot/tally.h"

#include <numeric>

#include "engine/base/check.h"

namespace canvass {

absl::string_view RejectReasonName(RejectReason reason) {
  static constexpr absl::string_view kNames[kNumRejectReasons] = {
      "malformed", "unknown_station", "unknown_choice", "bad_seq", "duplicate", "conflict"};
  return kNames[static_cast<int>(reason)];
}

std::vector<uint64_t> Tally::ChoiceTotals() const {
  std::vector<uint64_t> totals(num_choices, 0);
  for (size_t s = 0; s < num_stations; ++s) {
    for (size_t c = 0; c < num_choices; ++c) totals[c] += counted[s * num_choices + c];
  }
  return totals;
}

uint64_t Tally::TotalCounted() const {
  return std::accumulate(counted.begin(), counted.end(), uint64_t{0});
}

uint64_t Tally::TotalRejected() const {
  return std::accumulate(rejected.begin(), rejected.end(), uint64_t{0});
}

void Tally::Merge(const Tally& other) {
  CANVASS_CHECK(other.contest == contest && other.num_stations == num_stations &&
                other.num_choices == num_choices);
  records_read += other.records_read;
  for (int r = 0; r < kNumRejectReasons; ++r) rejected[r] += other.rejected[r];
  for (size_t i = 0; i < counted.size(); ++i) counted[i] += other.counted[i];
  for (size_t s = 0; s < station_records.size(); ++s)
    station_records[s] += other.station_records[s];
}

absl::StatusOr<Tally> SumTallyOverRanks(const RankGroup& group, const Tally& mine) {
  std::vector<uint64_t> figures;
  figures.reserve(1 + kNumRejectReasons + mine.counted.size() + mine.station_records.size());
  figures.push_back(mine.records_read);
  figures.insert(figures.end(), mine.rejected.begin(), mine.rejected.end());
  figures.insert(figures.end(), mine.counted.begin(), mine.counted.end());
  figures.insert(figures.end(), mine.station_records.begin(), mine.station_records.end());
  absl::StatusOr<std::vector<uint64_t>> sum = SumOverRanks(group, figures);
  if (!sum.ok()) return sum.status();
  Tally all = mine;
  auto at = sum->begin();
  all.records_read = *at++;
  for (uint64_t& rejected : all.rejected) rejected = *at++;
  for (uint64_t& counted : all.counted) counted = *at++;
  for (uint64_t& records : all.station_records) records = *at++;
  return all;
}

uint32_t Tally::StationsReporting() const {
  uint32_t reporting = 0;
  for (uint64_t records : station_records) reporting += records > 0;
  return reporting;
}

}  // namespace canvass
