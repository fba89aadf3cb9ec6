// Test helper: a ballot batch spelled out as (serial, choice) pairs.
#ifndef CANVASS_TESTS_TESTING_BATCHES_H_
#define CANVASS_TESTS_TESTING_BATCHES_H_

#include <cstdint>
#include <initializer_list>
#include <utility>

#include "engine/ballot/batch.h"
#include "engine/election/election.h"

namespace canvass::testing {

inline BallotBatch MakeBatch(StationIndex station,
                             std::initializer_list<std::pair<uint64_t, ChoiceIndex>> records) {
  BallotBatch batch;
  batch.station = station;
  for (const auto& [seq, choice] : records) {
    batch.seq.push_back(seq);
    batch.choice.push_back(choice);
  }
  return batch;
}

}  // namespace canvass::testing

#endif  // CANVASS_TESTS_TESTING_BATCHES_H_
