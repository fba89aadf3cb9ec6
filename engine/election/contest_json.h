// The contests form of election.json (format_version 2): a multi-contest election defined
// by hand, its contests (vote_for, kind, selections), its reporting units and their
// composing units, and the scope, read into a ContestElection. Grammar and rules:
// docs/FORMAT.md, "election.json, contests form". The reported-figures CSV such a file may
// name (`reported`) is read by the caller (engine/io/nist/reported_csv.h): this layer
// reads no other file.
//
// Pure functions of their input; safe to call from many threads at once.
//
// Usage:
//   if (IsContestElectionJson(text)) {
//     std::string reported_file;
//     ASSIGN_OR_RETURN(ContestElection election,
//                      ParseContestElectionJson(text, "DIR/election.json", &reported_file));
//     if (!reported_file.empty()) { ... ReadReportedFiguresCsv(...) ... }
//   }
#ifndef CANVASS_ENGINE_ELECTION_CONTEST_JSON_H_
#define CANVASS_ENGINE_ELECTION_CONTEST_JSON_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/election/contests.h"

namespace canvass {

// The format_version of the contests form (the single-contest form has none).
inline constexpr int kContestElectionFormatVersion = 2;

// True when `json_text` is a JSON object with a "contests" or a "format_version" key: an
// election.json of the contests form (or one that means to be and is then checked as one),
// not of the single-contest form, which has neither. False for text that is not a JSON
// object at all (the single-contest loader then says what is wrong with it).
bool IsContestElectionJson(absl::string_view json_text);

// Parses a contests-form election.json and Finalize()s the election under `json_name`; its
// reported figures are empty. `source` is `json_name`, followed by the file's own "source"
// text in parentheses when it has one. When `reported_file` is not null it is set to the
// file's "reported" member (a file name in the same directory), or "" when there is none.
//
// Errors are InvalidArgument "JSON_NAME: field 'PATH': what was expected" (PATH as
// "contests[1].selections[0].id"), for bad JSON, a wrong type, a missing or unknown key, a
// value out of range, an id given twice or a composing unit that is not a unit; a hierarchy
// Finalize refuses (a cycle, a scope that is composed) is InvalidArgument naming the units.
absl::StatusOr<ContestElection> ParseContestElectionJson(absl::string_view json_text,
                                                         absl::string_view json_name,
                                                         std::string* reported_file = nullptr);

}  // namespace canvass

#endif  // CANVASS_ENGINE_ELECTION_CONTEST_JSON_H_
