// Writing CVR JSON reports from election definitions and record transcripts.
#include "engine/io/nist/cvr_writer.h"

#include "absl/strings/str_cat.h"
#include "engine/base/json_text.h"

namespace canvass {
namespace {

void AppendExternalId(absl::string_view id, std::string* out) {
  if (id.empty()) return;
  out->append(
      ",\"ExternalIdentifier\":[{\"@type\":\"CVR.ExternalIdentifier\",\"Type\":"
      "\"local-level\",\"Value\":");
  AppendJsonString(id, out);
  out->append("}]");
}

// A Candidate @id for selection `s` of contest `c`, unique in the election.
std::string CandidateId(size_t c, size_t s) { return absl::StrCat("cand-", c, "-", s); }

}  // namespace

void AppendCvrElectionMembers(const ContestElection& election, std::string* out) {
  out->append("\"Election\":[{\"@id\":");
  AppendJsonString(election.id, out);
  out->append(",\"@type\":\"CVR.Election\"");
  if (!election.name.empty()) {
    out->append(",\"Name\":");
    AppendJsonString(election.name, out);
  }
  out->append(",\"ElectionScopeId\":");
  AppendJsonString(election.scope_id, out);
  out->append(",\"Candidate\":[");
  bool first = true;
  for (size_t c = 0; c < election.contests.size(); ++c) {
    const std::vector<Selection>& selections = election.contests[c].selections;
    for (size_t s = 0; s < selections.size(); ++s) {
      if (selections[s].name.empty()) continue;
      if (!first) out->push_back(',');
      first = false;
      out->append("{\"@type\":\"CVR.Candidate\",\"@id\":");
      AppendJsonString(CandidateId(c, s), out);
      out->append(",\"Name\":");
      AppendJsonString(selections[s].name, out);
      out->push_back('}');
    }
  }
  out->append("],\"Contest\":[");
  for (size_t c = 0; c < election.contests.size(); ++c) {
    const ElectionContest& contest = election.contests[c];
    if (c) out->push_back(',');
    out->append("{\"@type\":\"CVR.CandidateContest\",\"@id\":");
    AppendJsonString(contest.id, out);
    out->append(",\"Name\":");
    AppendJsonString(contest.name, out);
    absl::StrAppend(out, ",\"VotesAllowed\":", contest.vote_for);
    if (contest.kind == ContestKind::kRanked) out->append(",\"VoteVariation\":\"rcv\"");
    AppendExternalId(contest.external_id, out);
    out->append(",\"ContestSelection\":[");
    for (size_t s = 0; s < contest.selections.size(); ++s) {
      const Selection& selection = contest.selections[s];
      if (s) out->push_back(',');
      out->append("{\"@type\":\"CVR.CandidateSelection\",\"@id\":");
      AppendJsonString(selection.id, out);
      if (!selection.name.empty()) {
        out->append(",\"CandidateIds\":[");
        AppendJsonString(CandidateId(c, s), out);
        out->push_back(']');
      }
      if (selection.write_in) out->append(",\"IsWriteIn\":true");
      AppendExternalId(selection.external_id, out);
      out->push_back('}');
    }
    out->append("]}");
  }
  out->append("]}],\"GpUnit\":[");
  for (size_t u = 0; u < election.units.size(); ++u) {
    const ReportingUnit& unit = election.units[u];
    if (u) out->push_back(',');
    out->append("{\"@type\":\"CVR.GpUnit\",\"@id\":");
    AppendJsonString(unit.id, out);
    out->append(",\"Type\":");
    AppendJsonString(unit.type.empty() ? "other" : unit.type, out);
    if (!unit.name.empty()) {
      out->append(",\"Name\":");
      AppendJsonString(unit.name, out);
    }
    AppendExternalId(unit.external_id, out);
    if (!unit.composing.empty()) {
      out->append(",\"ComposingGpUnitIds\":[");
      for (size_t k = 0; k < unit.composing.size(); ++k) {
        if (k) out->push_back(',');
        AppendJsonString(unit.composing[k], out);
      }
      out->push_back(']');
    }
    out->push_back('}');
  }
  out->push_back(']');
}

std::string CvrReportHeader(const ContestElection& election, absl::string_view notes,
                            absl::string_view device) {
  std::string out = "{\"@type\":\"CVR.CastVoteRecordReport\",\"Version\":\"1.0.0\"";
  if (!notes.empty()) {
    out.append(",\"Notes\":");
    AppendJsonString(notes, &out);
  }
  out.append(",\"ReportGeneratingDeviceIds\":[");
  AppendJsonString(device, &out);
  out.append("],\"ReportType\":[\"other\"],");
  AppendCvrElectionMembers(election, &out);
  out.append(",\"CVR\":[\n");
  return out;
}

void AppendCvrRecord(const ContestElection& election, const CvrTranscript& record,
                     std::string* out) {
  out->append("{\"@type\":\"CVR.CVR\",\"");
  const absl::string_view field = CvrIdentityFieldName(record.identity_field);
  out->append(field.data(), field.size());
  out->append("\":");
  AppendJsonString(record.identity, out);
  if (record.device) {
    out->append(",\"CreatingDeviceId\":");
    AppendJsonString(*record.device, out);
  }
  out->append(",\"BallotStyleUnitId\":");
  AppendJsonString(election.units[record.unit].id, out);
  out->append(
      ",\"CurrentSnapshotId\":\"s\",\"CVRSnapshot\":[{\"@id\":\"s\",\"@type\":"
      "\"CVR.CVRSnapshot\",\"Type\":");
  out->append(record.adjudicated ? "\"modified\"" : "\"original\"");
  out->append(",\"CVRContest\":[");
  uint32_t mark = 0;
  for (size_t k = 0; k < record.contests.size(); ++k) {
    const CvrTranscript::Contest& contest = record.contests[k];
    const ElectionContest& definition = election.contests[contest.contest];
    if (k) out->push_back(',');
    out->append("{\"@type\":\"CVR.CVRContest\",\"ContestId\":");
    AppendJsonString(definition.id, out);
    if (contest.overvotes) absl::StrAppend(out, ",\"Overvotes\":", *contest.overvotes);
    if (contest.undervotes) absl::StrAppend(out, ",\"Undervotes\":", *contest.undervotes);
    if (contest.invalid) out->append(",\"Status\":[\"invalidated-rules\"]");
    out->append(",\"CVRContestSelection\":[");
    for (uint32_t first = mark; mark < contest.marks_end; ++mark) {
      const CvrTranscript::Mark& m = record.marks[mark];
      if (mark > first) out->push_back(',');
      out->append("{\"@type\":\"CVR.CVRContestSelection\",\"ContestSelectionId\":");
      AppendJsonString(definition.selections[m.selection].id, out);
      out->append(
          ",\"SelectionPosition\":[{\"@type\":\"CVR.SelectionPosition\",\"HasIndication\":");
      out->append(m.has_indication ? "\"yes\"" : "\"no\"");
      out->append(",\"IsAllocable\":");
      out->append(m.allocable ? "\"yes\"" : "\"no\"");
      absl::StrAppend(out, ",\"NumberVotes\":", m.number_votes);
      if (m.rank != 0) absl::StrAppend(out, ",\"Rank\":", m.rank);
      out->append("}]}");
    }
    out->append("]}");
  }
  out->append("]}]}");
}

}  // namespace canvass
