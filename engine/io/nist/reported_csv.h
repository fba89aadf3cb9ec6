// The reported side of a reconciliation as a plain table: a CSV of reported figures with
// the header `unit,contest,selection,count`, one cell (reporting unit, contest, selection or
// overvotes / undervotes / ballots, or the unit's ballots cast) per row, read against a
// ContestElection defined elsewhere (an ERR file, the CVRs' own definition). Grammar and
// rules: docs/FORMAT.md, "Reported figures as CSV".
//
// Pure functions of their input (ReadReportedFiguresCsv writes only *election); safe to
// call from many threads at once on different elections.
//
// Usage:
//   ContestElection election = ...;  // Finalize()d, e.g. by LoadResultsReportJson
//   if (LooksLikeReportedFiguresCsv(text)) {
//     RETURN_IF_ERROR(ReadReportedFiguresCsv("results.csv", text, &election));
//   }
#ifndef CANVASS_ENGINE_IO_NIST_REPORTED_CSV_H_
#define CANVASS_ENGINE_IO_NIST_REPORTED_CSV_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "engine/election/contests.h"

namespace canvass {

// The header line, the only one accepted (each name may be quoted).
inline constexpr absl::string_view kReportedFiguresCsvHeader = "unit,contest,selection,count";

// Reads `text` (RFC 4180: quoted fields, LF or CRLF line ends, a leading UTF-8 byte-order
// mark; blank lines ignored) against `election`, which must have been Finalize()d: every
// row names a unit, contest and selection (or reserved figure name) of it. On success the
// figures REPLACE election->reported, election->reported_by_type is cleared (a CSV has no
// count types) and the election is Finalize()d again under `name`. A selection id equal to
// a reserved name ("overvotes", "undervotes", "ballots") is read as that selection.
//
// Errors are InvalidArgument "NAME: line N: ..." (N 1-based, the line where the row
// starts) saying what was expected: a wrong header, a wrong number of fields, bad quoting,
// an unknown unit / contest / selection (named), a count that is not a decimal integer
// 0 to 2^63 - 1, or one cell given twice (both lines named). On error *election is left
// as it was.
absl::Status ReadReportedFiguresCsv(absl::string_view name, absl::string_view text,
                                    ContestElection* election);

// True when the first line of `head` (the start of a file, after a UTF-8 byte-order mark)
// is the header, as ReadReportedFiguresCsv reads it: a cheap sniff for recognising
// inputs by content.
bool LooksLikeReportedFiguresCsv(absl::string_view head);

// The reported figures of `report` (a results report read with its own election, such as
// an ERR JSON) taken into `election` (one defined elsewhere: a Dominion export's
// manifests), replacing its reported figures: each unit by id, else by external id (the
// report's unit id is the precinct's code); the report's scope is the election's scope;
// each contest and selection by id, else its id as an external id, else by name; by the rules of
// the CSV above (a code or name two of them share is an error). Only the reported `total` figures
// are taken. InvalidArgument naming `name` and the report's unit, contest or selection that matches
// nothing, or two of the report's cells that land in one.
absl::Status TakeReportedFigures(const ContestElection& report, absl::string_view name,
                                 ContestElection* election);

}  // namespace canvass

#endif  // CANVASS_ENGINE_IO_NIST_REPORTED_CSV_H_
