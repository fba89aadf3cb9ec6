// The counting rules of a cast vote record, apart from its syntax: a reader (JSON, XML)
// walks one CVR's current snapshot and tells a CvrBuilder what it finds; the builder
// checks it against the election, applies the over- and undervote rules and appends the
// ballot's cells to a CastBallotBatch, or says why the record cannot be counted.
// One builder per worker (it keeps scratch space); it holds a const reference to the
// election, which must outlive it.
//
// Rules (docs/FORMAT.md, "NIST cast vote records"):
//  - Identity: UniqueId, else BallotPrePrintedId, else BallotAuditId, each joined with
//    CreatingDeviceId when present (ids may be unique per device only). A record with
//    none of the three is malformed.
//  - Unit: BallotStyleUnitId, which must be a reporting unit of the election.
//  - A mark counts when HasIndication and IsAllocable are each "yes" (or absent);
//    it adds NumberVotes (default 1, at most kMaxNumberVotes) to its selection. Ranked
//    contests count first preferences only: marks with Rank > 1 are not counted.
//  - Per contest: counted votes above vote_for make an overvote (no mark counted). The
//    contest's Overvotes and Undervotes are the record's own when it states them (a
//    primary ballot states 0 for the other parties' contests), else vote_for for an
//    overvote and vote_for - votes otherwise. The contest's "ballots" cell counts 1.
//  - A contest listed twice in one snapshot, an unknown contest or selection, or a
//    count that is not a small integer: the record is rejected with that reason.
#ifndef CANVASS_ENGINE_IO_NIST_CVR_BUILDER_H_
#define CANVASS_ENGINE_IO_NIST_CVR_BUILDER_H_

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "engine/ballot/cast_ballots.h"
#include "engine/election/contests.h"

namespace canvass {

inline constexpr uint32_t kMaxNumberVotes = 1u << 20;

// Which field gave a record its identity (reported per input).
enum class CvrIdentityField : uint8_t { kUniqueId = 0, kBallotPrePrintedId, kBallotAuditId };
inline constexpr int kNumCvrIdentityFields = 3;
absl::string_view CvrIdentityFieldName(CvrIdentityField field);  // "UniqueId", ...

// What a record stated, as its reader told the builder (kept when KeepTranscript(true)):
// converters re-encode each record in another syntax from it (ingest/convert.h), so that
// the copy is read by the same rules to the same figures. Contest, selection and unit are
// indexes into the election; contest k's marks are [contests[k-1].marks_end,
// contests[k].marks_end) of `marks`.
struct CvrTranscript {
  struct Contest {
    uint32_t contest = 0;
    std::optional<uint64_t> overvotes;   // as the record declares them
    std::optional<uint64_t> undervotes;  // likewise
    bool invalid = false;                // InvalidContest()
    uint32_t marks_end = 0;
  };
  struct Mark {
    uint32_t selection = 0;
    bool has_indication = true;
    bool allocable = true;
    uint64_t number_votes = 1;
    uint64_t rank = 0;
  };
  CvrIdentityField identity_field = CvrIdentityField::kUniqueId;
  std::string identity;  // the value of identity_field
  std::optional<std::string> device;
  uint32_t unit = 0;
  bool adjudicated = false;
  std::vector<Contest> contests;
  std::vector<Mark> marks;
};

// Ids a builder has looked up, kept for the lookups records repeat (a contest's few
// selections, the election's units): a hit costs a length check and a compare, not a hash
// and a probe. At most kEntries ids; a miss past them is a lookup each time.
class IdMemo {
 public:
  template <typename Find>
  std::optional<uint32_t> Get(absl::string_view id, const Find& find) {
    for (const Entry& entry : entries_) {
      if (entry.id.size() == id.size() && std::memcmp(entry.id.data(), id.data(), id.size()) == 0) {
        return entry.index;
      }
    }
    const std::optional<uint32_t> found = find(id);
    if (found && entries_.size() < kEntries) entries_.push_back({std::string(id), *found});
    return found;
  }

 private:
  static constexpr size_t kEntries = 16;
  struct Entry {
    std::string id;
    uint32_t index = 0;
  };
  std::vector<Entry> entries_;
};

class CvrBuilder {
 public:
  explicit CvrBuilder(const ContestElection& election) : election_(election) {}
  const ContestElection& election() const { return election_; }

  // Starts a record; forgets the previous one.
  void Begin();
  // Identity fields and the unit, as the record states them (any order).
  void SetIdentity(CvrIdentityField field, absl::string_view value);
  void SetDevice(absl::string_view device);
  void SetUnit(absl::string_view unit_id);

  // One contest of the current snapshot: Contest(), then its marks, then EndContest().
  // `overvotes`/`undervotes`: the record's own figures, when it states them.
  void Contest(absl::string_view contest_id);
  void DeclaredOvervotes(uint64_t overvotes);
  void DeclaredUndervotes(uint64_t undervotes);
  // A selection position. `rank` is 0 when the record gives none.
  void Mark(absl::string_view selection_id, bool has_indication, bool allocable,
            uint64_t number_votes, uint64_t rank);
  void EndContest();

  // The same by index, for readers that resolve the election's ids themselves (Dominion
  // exports number contests, candidates and units): `contest` < contests, `selection` <
  // its selections, `unit` < units. A contest given by index is checked for repetition
  // like one given by id; `what` names it in that message.
  void SetUnitIndex(uint32_t unit);
  // The record names a unit the reader could not resolve: unknown_unit, with `why`.
  void UnknownUnit(std::string why);
  void ContestIndex(uint32_t contest, absl::string_view what);
  // `number_votes` above kMaxNumberVotes makes the record malformed.
  void MarkIndex(uint32_t selection, bool has_indication, bool allocable, uint64_t rank,
                 uint64_t number_votes = 1);
  // The current contest is on the ballot but not to be counted (Dominion's InvalidContest
  // condition, NIST's Status "invalidated-rules"): it adds 1 to its kInvalid figure where
  // the election has that figure (invalid_figure), and nothing else.
  void InvalidContest();
  // Whether any record since construction marked a contest not to be counted while the
  // election has no kInvalid figure: such a contest was counted in no figure, and the job
  // must be read again with the figure (ingest/cvr_job.h, ReadCvrFilesShowingInvalid).
  bool invalid_without_figure() const { return invalid_without_figure_; }

  // Marks the record malformed (a reader found the schema broken); `why` is kept.
  void Malformed(std::string why);
  // Rejects the record for `reason`; the first reason in CastReject's order wins.
  void Reject(CastReject reason, std::string why);
  // The record is rejected for `reason` whatever else it states (a converted copy of a
  // record its first reader rejected): End() returns `reason` with `why`.
  void Rejected(CastReject reason, std::string why);

  // Ends the record: on success appends the ballot to `batch` and returns nullopt;
  // otherwise returns the reason, with why() saying what was wrong.
  std::optional<CastReject> End(CastBallotBatch* batch);
  const std::string& why() const { return why_; }
  // The identity field the last counted record used.
  CvrIdentityField identity_field() const { return identity_field_; }
  // Whether the record's counted version is an adjudicated one (Dominion's Modified),
  // as its reader said; reported per input.
  void SetAdjudicated() { adjudicated_ = true; }
  bool adjudicated() const { return adjudicated_; }

  // Whether records keep their transcript (off by default: it costs a copy of the marks).
  void KeepTranscript(bool keep) { keep_transcript_ = keep; }
  // The last record's transcript; complete when End() counted it.
  const CvrTranscript& transcript() const { return transcript_; }

 private:
  void StartContest();
  void TranscribeContest();
  void Transcribe(uint32_t selection, bool has_indication, bool allocable, uint64_t number_votes,
                  uint64_t rank);

  const ContestElection& election_;
  std::optional<CastReject> reject_;
  std::string why_;
  std::string identity_[kNumCvrIdentityFields];
  bool has_identity_[kNumCvrIdentityFields] = {};
  std::string device_;
  bool has_device_ = false;
  std::string unit_id_;
  bool has_unit_ = false;
  std::optional<uint32_t> unit_index_;
  CvrIdentityField identity_field_ = CvrIdentityField::kUniqueId;
  // The contest being read.
  std::optional<uint32_t> contest_;
  std::optional<uint64_t> declared_over_;
  std::optional<uint64_t> declared_under_;
  bool invalid_ = false;
  bool invalid_without_figure_ = false;  // sticky: never reset by Begin()
  bool adjudicated_ = false;
  uint64_t votes_ = 0;
  std::vector<CellVotes> marks_;
  std::vector<uint8_t> seen_contest_;
  std::vector<uint32_t> seen_list_;
  // Lookups remembered across records: the contest at each position of a record (records
  // of one ballot style list the same contests in the same order), each contest's
  // selections, the units.
  struct PositionedId {
    std::string id;
    uint32_t index = 0;
  };
  std::vector<PositionedId> contest_at_;
  uint32_t contest_position_ = 0;
  std::vector<IdMemo> selections_;
  IdMemo units_;
  std::vector<CellVotes> cells_;
  std::string identity_bytes_;
  bool stated_reject_ = false;
  bool keep_transcript_ = false;
  CvrTranscript transcript_;
};

}  // namespace canvass

#endif  // CANVASS_ENGINE_IO_NIST_CVR_BUILDER_H_
