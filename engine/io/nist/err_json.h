// The reported side of a reconciliation, and the election it is about, from NIST's JSON
// common data formats: an Election Results Reporting file (NIST SP 1500-100 v2) gives the
// contests, selections, reporting units and the figures reported per unit; the election
// definition inside a cast vote record report (NIST SP 1500-103 v1: its Election and
// GpUnit) gives the same election with no figures. Field mapping: docs/FORMAT.md.
//
// Pure functions of their input; safe to call from many threads at once.
#ifndef CANVASS_ENGINE_IO_NIST_ERR_JSON_H_
#define CANVASS_ENGINE_IO_NIST_ERR_JSON_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/election/contests.h"

namespace canvass {

// The largest results report read (OutOfRange past it): a statewide report of every
// precinct is tens of megabytes.
inline constexpr uint64_t kMaxResultsReportBytes = uint64_t{1} << 30;

// Parses an ERR JSON document: the election (its first Election), its GpUnits, and every
// VoteCounts of type "total" (other types are kept in reported_by_type), OtherCounts'
// Overvotes and Undervotes, and BallotCounts' BallotsCast (of the election: a unit's
// ballots cast; of a contest: its ballots). Units, contests and selections keep the Value
// of their first ExternalIdentifier of Type "local-level" (else "other") as external_id.
// Errors are InvalidArgument naming `name`, the JSON path and what was expected (DataLoss when the
// text is not JSON at all).
absl::StatusOr<ContestElection> ParseResultsReportJson(absl::string_view name,
                                                       absl::string_view text);

// Parses the election definition of a CVR JSON report (its Election and GpUnit lists).
// `invalid_figure`: the election gets the `invalid` figure (ContestElection), for reports
// whose records mark contests "invalidated-rules".
absl::StatusOr<ContestElection> ParseCvrElectionJson(absl::string_view name, absl::string_view text,
                                                     bool invalid_figure = false);

// Reads `path` (an ERR JSON file) whole and parses it.
absl::StatusOr<ContestElection> LoadResultsReportJson(const std::string& path);

// True when `text` begins like a JSON object naming one of the keys of an ERR report
// (a cheap sniff for recognising inputs by content).
bool LooksLikeResultsReportJson(absl::string_view text);

}  // namespace canvass

#endif  // CANVASS_ENGINE_IO_NIST_ERR_JSON_H_
