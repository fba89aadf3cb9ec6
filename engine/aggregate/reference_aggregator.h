// The serial reference aggregator: short and obviously correct, used to check the
// parallel Aggregator (tests, `canvass stress`). It keeps every identity's copies in an
// ordered map, so it is slow and memory-hungry by design; never use it on big inputs.
#ifndef CANVASS_ENGINE_AGGREGATE_REFERENCE_AGGREGATOR_H_
#define CANVASS_ENGINE_AGGREGATE_REFERENCE_AGGREGATOR_H_

#include <cstdint>
#include <vector>

#include "engine/ballot/batch.h"
#include "engine/ballot/tally.h"
#include "engine/election/election.h"

namespace canvass {

// Applies DESIGN.md's counting rules, one record at a time, to `batches` plus
// `malformed_records` records that could not be parsed.
Tally ReferenceAggregate(const Election& election, const std::vector<BallotBatch>& batches,
                         uint64_t malformed_records = 0);

}  // namespace canvass

#endif  // CANVASS_ENGINE_AGGREGATE_REFERENCE_AGGREGATOR_H_
