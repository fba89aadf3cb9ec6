// Serial reference aggregation: the counting rules of DESIGN.md, written plainly.
#include "engine/aggregate/reference_aggregator.h"

#include <map>
#include <utility>

namespace canvass {

Tally ReferenceAggregate(const Election& election, const std::vector<BallotBatch>& batches,
                         uint64_t malformed_records) {
  const uint32_t num_choices = static_cast<uint32_t>(election.contest().choices.size());
  Tally tally(static_cast<uint32_t>(election.stations.size()), num_choices);
  auto reject = [&](RejectReason reason, uint64_t n) {
    tally.rejected[static_cast<int>(reason)] += n;
  };
  reject(RejectReason::kMalformed, malformed_records);
  tally.records_read = malformed_records;
  // Copies of each well-formed, in-range identity (station, seq).
  std::map<std::pair<StationIndex, uint64_t>, std::vector<ChoiceIndex>> copies;
  for (const BallotBatch& batch : batches) {
    for (size_t i = 0; i < batch.size(); ++i) {
      ++tally.records_read;
      if (batch.station == kUnknownStation) {
        reject(RejectReason::kUnknownStation, 1);
        continue;
      }
      ++tally.station_records[batch.station];
      if (batch.choice[i] >= num_choices) {
        reject(RejectReason::kUnknownChoice, 1);
      } else if (batch.seq[i] < 1 || batch.seq[i] > election.stations[batch.station].capacity) {
        reject(RejectReason::kBadSeq, 1);
      } else {
        copies[{batch.station, batch.seq[i]}].push_back(batch.choice[i]);
      }
    }
  }
  for (const auto& [identity, choices] : copies) {
    bool all_agree = true;
    for (ChoiceIndex c : choices) all_agree &= (c == choices.front());
    if (all_agree) {
      ++tally.counted[static_cast<size_t>(identity.first) * num_choices + choices.front()];
      reject(RejectReason::kDuplicate, choices.size() - 1);
    } else {
      reject(RejectReason::kConflict, choices.size());
    }
  }
  return tally;
}

}  // namespace canvass
