// Writing NIST SP 1500-103 v1 cast vote record reports (JSON): the election definition
// (Election and GpUnit, as ParseCvrElectionJson reads it back), and one CVR per record
// transcript (io/nist/cvr_builder.h), so that a record read from any supported format and
// written here is read back by the same rules to the same figures (docs/FORMAT.md,
// "canvass convert"). Writers append to a std::string; pure functions, thread-safe.
#ifndef CANVASS_ENGINE_IO_NIST_CVR_WRITER_H_
#define CANVASS_ENGINE_IO_NIST_CVR_WRITER_H_

#include <string>

#include "absl/strings/string_view.h"
#include "engine/election/contests.h"
#include "engine/io/nist/cvr_builder.h"

namespace canvass {

// The members `"Election":[...],"GpUnit":[...]` of `election`: contests with VotesAllowed
// (VoteVariation "rcv" when ranked), selections with their candidates' names (a Candidate
// per named selection) and IsWriteIn, units with Type, Name and ComposingGpUnitIds, and
// external ids as ExternalIdentifier of Type "local-level".
void AppendCvrElectionMembers(const ContestElection& election, std::string* out);

// A report's opening: `{"@type":"CVR.CastVoteRecordReport", ..., Notes (when `notes` is
// not empty), ReportGeneratingDeviceIds [device], the election's members, "CVR":[` and a
// newline. The records follow, separated by ",\n", then kCvrReportEnd.
std::string CvrReportHeader(const ContestElection& election, absl::string_view notes,
                            absl::string_view device);
inline constexpr absl::string_view kCvrReportEnd = "\n]}\n";

// One CVR: the transcript's identity field (and CreatingDeviceId), BallotStyleUnitId, one
// snapshot "s" of Type "original" ("modified" when adjudicated), and per contest its
// ContestId, stated Overvotes/Undervotes, Status ["invalidated-rules"] when invalid, and
// one CVRContestSelection per mark (HasIndication, IsAllocable, NumberVotes, Rank when
// not 0).
void AppendCvrRecord(const ContestElection& election, const CvrTranscript& record,
                     std::string* out);

}  // namespace canvass

#endif  // CANVASS_ENGINE_IO_NIST_CVR_WRITER_H_
