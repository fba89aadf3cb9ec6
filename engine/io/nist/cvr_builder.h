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

class CvrBuilder {
 public:
  explicit CvrBuilder(const ContestElection& election) : election_(election) {}

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

  // Marks the record malformed (a reader found the schema broken); `why` is kept.
  void Malformed(std::string why);

  // Ends the record: on success appends the ballot to `batch` and returns nullopt;
  // otherwise returns the reason, with why() saying what was wrong.
  std::optional<CastReject> End(CastBallotBatch* batch);
  const std::string& why() const { return why_; }
  // The identity field the last counted record used.
  CvrIdentityField identity_field() const { return identity_field_; }

 private:
  void Reject(CastReject reason, std::string why);

  const ContestElection& election_;
  std::optional<CastReject> reject_;
  std::string why_;
  std::string identity_[kNumCvrIdentityFields];
  bool has_identity_[kNumCvrIdentityFields] = {};
  std::string device_;
  bool has_device_ = false;
  std::string unit_id_;
  bool has_unit_ = false;
  CvrIdentityField identity_field_ = CvrIdentityField::kUniqueId;
  // The contest being read.
  std::optional<uint32_t> contest_;
  std::optional<uint64_t> declared_over_;
  std::optional<uint64_t> declared_under_;
  uint64_t votes_ = 0;
  std::vector<CellVotes> marks_;
  std::vector<uint8_t> seen_contest_;
  std::vector<uint32_t> seen_list_;
  std::vector<CellVotes> cells_;
  std::string identity_bytes_;
};

}  // namespace canvass

#endif  // CANVASS_ENGINE_IO_NIST_CVR_BUILDER_H_
