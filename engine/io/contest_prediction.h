// The ground truth of generated cast vote records with injected faults: what a correct
// engine must find in them, record by record and cell by cell in every reporting unit.
// `canvass generate --reported ERR --faults SPEC` writes it beside the records
// (OUT-predicted.json, synth/cvr_generator.h predicts it from what it wrote, never by
// aggregating); `canvass aggregate|reconcile --predicted FILE` reads it and the report
// shows `ground_truth` exact or differs (docs/FORMAT.md "Predicted figures of generated
// cast vote records", docs/REPORT.md).
//
// The file names units, contests and selections by id, so it is read against the job's
// election whatever cells that election adds (the `invalid` figure).
// Plain values and pure functions; thread-safe.
#ifndef CANVASS_ENGINE_IO_CONTEST_PREDICTION_H_
#define CANVASS_ENGINE_IO_CONTEST_PREDICTION_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/ballot/cast_ballots.h"
#include "engine/election/contests.h"

namespace canvass {

// The largest prediction read (one cell line per non-zero figure of every unit).
inline constexpr uint64_t kMaxPredictionBytes = uint64_t{1} << 30;

struct ContestPrediction {
  std::string election;  // the election's id
  uint64_t seed = 0;
  uint64_t scale = 1;
  std::string faults;  // the fault plan's canonical spec (synth/fault_plan.h)
  // How often each fault of the plan fired, by name, in the plan's order.
  std::vector<std::pair<std::string, uint64_t>> fired;
  // Records read, counted and rejected, and every unit's cells rolled up its hierarchy,
  // exactly as ContestAggregator::Finish() must give them (adjudicated is 0).
  ContestTally tally;
};

// The JSON text (prediction_version 1). Requires: tally of `election`'s shape.
std::string ContestPredictionToJson(const ContestPrediction& prediction,
                                    const ContestElection& election);

// Reads `text` against `election`: DataLoss "PATH: field 'F': ..." when it is not JSON,
// a field is missing or of the wrong type, the version is not 1; InvalidArgument when it
// is the prediction of another election or names a unit, contest, selection or figure
// the election does not have, or one cell twice.
absl::StatusOr<ContestPrediction> ParseContestPrediction(const std::string& path,
                                                         absl::string_view text,
                                                         const ContestElection& election);

}  // namespace canvass

#endif  // CANVASS_ENGINE_IO_CONTEST_PREDICTION_H_
