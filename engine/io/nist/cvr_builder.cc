// CvrBuilder: one cast vote record's checks and counting rules.
#include "engine/io/nist/cvr_builder.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace canvass {

absl::string_view CvrIdentityFieldName(CvrIdentityField field) {
  switch (field) {
    case CvrIdentityField::kUniqueId:
      return "UniqueId";
    case CvrIdentityField::kBallotPrePrintedId:
      return "BallotPrePrintedId";
    case CvrIdentityField::kBallotAuditId:
      return "BallotAuditId";
  }
  return "?";
}

void CvrBuilder::Begin() {
  reject_.reset();
  why_.clear();
  for (int f = 0; f < kNumCvrIdentityFields; ++f) has_identity_[f] = false;
  has_device_ = false;
  has_unit_ = false;
  unit_index_.reset();
  adjudicated_ = false;
  contest_.reset();
  if (seen_contest_.size() != election_.contests.size()) {
    seen_contest_.assign(election_.contests.size(), 0);
  }
  for (const uint32_t c : seen_list_) seen_contest_[c] = 0;
  seen_list_.clear();
  contest_position_ = 0;
  cells_.clear();
  stated_reject_ = false;
  if (keep_transcript_) {
    transcript_.device.reset();
    transcript_.adjudicated = false;
    transcript_.contests.clear();
    transcript_.marks.clear();
  }
}

void CvrBuilder::Reject(CastReject reason, std::string why) {
  if (stated_reject_) return;
  // The first reason in the table's order wins, whatever order the record states them in.
  if (reject_ && static_cast<int>(*reject_) <= static_cast<int>(reason)) return;
  reject_ = reason;
  why_ = std::move(why);
}

void CvrBuilder::Rejected(CastReject reason, std::string why) {
  reject_ = reason;
  why_ = std::move(why);
  stated_reject_ = true;
}

void CvrBuilder::Malformed(std::string why) { Reject(CastReject::kMalformed, std::move(why)); }

void CvrBuilder::SetIdentity(CvrIdentityField field, absl::string_view value) {
  const int f = static_cast<int>(field);
  identity_[f].assign(value.data(), value.size());
  has_identity_[f] = true;
}

void CvrBuilder::SetDevice(absl::string_view device) {
  device_.assign(device.data(), device.size());
  has_device_ = true;
}

void CvrBuilder::SetUnit(absl::string_view unit_id) {
  unit_id_.assign(unit_id.data(), unit_id.size());
  has_unit_ = true;
}

void CvrBuilder::SetUnitIndex(uint32_t unit) { unit_index_ = unit; }

void CvrBuilder::UnknownUnit(std::string why) {
  has_unit_ = true;  // it names one: not a missing unit
  unit_id_.clear();
  Reject(CastReject::kUnknownUnit, std::move(why));
}

void CvrBuilder::StartContest() {
  declared_over_.reset();
  declared_under_.reset();
  invalid_ = false;
  votes_ = 0;
  marks_.clear();
}

void CvrBuilder::ContestIndex(uint32_t contest, absl::string_view what) {
  StartContest();
  if (seen_contest_[contest]) {
    Malformed(absl::StrCat("contest ", what, " is listed twice in the ballot"));
    contest_.reset();
    return;
  }
  contest_ = contest;
  seen_contest_[contest] = 1;
  seen_list_.push_back(contest);
  if (keep_transcript_) TranscribeContest();
}

void CvrBuilder::MarkIndex(uint32_t selection, bool has_indication, bool allocable, uint64_t rank,
                           uint64_t number_votes) {
  if (number_votes > kMaxNumberVotes) {
    Malformed(absl::StrCat("NumberVotes ", number_votes, "; expected at most ", kMaxNumberVotes));
    return;
  }
  if (!contest_) return;
  if (keep_transcript_) Transcribe(selection, has_indication, allocable, number_votes, rank);
  if (!has_indication || !allocable || number_votes == 0) return;
  if (election_.contests[*contest_].kind == ContestKind::kRanked && rank > 1) return;
  votes_ += number_votes;
  marks_.push_back(
      {election_.SelectionCell(*contest_, selection), static_cast<uint32_t>(number_votes)});
}

void CvrBuilder::Transcribe(uint32_t selection, bool has_indication, bool allocable,
                            uint64_t number_votes, uint64_t rank) {
  transcript_.marks.push_back({selection, has_indication, allocable, number_votes, rank});
  transcript_.contests.back().marks_end = static_cast<uint32_t>(transcript_.marks.size());
}

void CvrBuilder::InvalidContest() {
  invalid_ = true;
  if (!election_.invalid_figure) invalid_without_figure_ = true;
  if (keep_transcript_ && contest_) transcript_.contests.back().invalid = true;
}

void CvrBuilder::Contest(absl::string_view contest_id) {
  StartContest();
  const uint32_t position = contest_position_++;
  if (position < contest_at_.size() && contest_at_[position].id == contest_id) {
    contest_ = contest_at_[position].index;
  } else {
    contest_ = election_.FindContest(contest_id);
    if (contest_ && position <= contest_at_.size() && position < election_.contests.size()) {
      if (position == contest_at_.size()) contest_at_.emplace_back();
      contest_at_[position] = {std::string(contest_id), *contest_};
    }
  }
  if (!contest_) {
    Reject(CastReject::kUnknownContest,
           absl::StrCat("contest '", contest_id, "' is not in the election"));
    return;
  }
  if (seen_contest_[*contest_]) {
    Malformed(absl::StrCat("contest '", contest_id, "' is listed twice in the snapshot"));
    contest_.reset();
    return;
  }
  seen_contest_[*contest_] = 1;
  seen_list_.push_back(*contest_);
  if (keep_transcript_) TranscribeContest();
}

void CvrBuilder::TranscribeContest() {
  CvrTranscript::Contest contest;
  contest.contest = *contest_;
  contest.marks_end = static_cast<uint32_t>(transcript_.marks.size());
  transcript_.contests.push_back(contest);
}

// The counts are checked even in a contest that is not in the election, so that a broken
// count is `malformed` whatever else is wrong (the first reason in the table wins).
void CvrBuilder::DeclaredOvervotes(uint64_t overvotes) {
  if (overvotes > kMaxNumberVotes) {
    Malformed(absl::StrCat("Overvotes ", overvotes, "; expected at most ", kMaxNumberVotes));
  }
  declared_over_ = overvotes;
  if (keep_transcript_ && contest_) transcript_.contests.back().overvotes = overvotes;
}

void CvrBuilder::DeclaredUndervotes(uint64_t undervotes) {
  if (undervotes > kMaxNumberVotes) {
    Malformed(absl::StrCat("Undervotes ", undervotes, "; expected at most ", kMaxNumberVotes));
  }
  declared_under_ = undervotes;
  if (keep_transcript_ && contest_) transcript_.contests.back().undervotes = undervotes;
}

void CvrBuilder::Mark(absl::string_view selection_id, bool has_indication, bool allocable,
                      uint64_t number_votes, uint64_t rank) {
  if (number_votes > kMaxNumberVotes) {
    Malformed(absl::StrCat("NumberVotes ", number_votes, " of selection '", selection_id,
                           "'; expected at most ", kMaxNumberVotes));
    return;
  }
  if (!contest_) return;
  if (selections_.size() != election_.contests.size())
    selections_.resize(election_.contests.size());
  const uint32_t contest = *contest_;
  const std::optional<uint32_t> selection = selections_[contest].Get(
      selection_id, [&](absl::string_view id) { return election_.FindSelection(contest, id); });
  if (!selection) {
    Reject(CastReject::kUnknownSelection,
           absl::StrCat("selection '", selection_id, "' is not in contest '",
                        election_.contests[*contest_].id, "'"));
    return;
  }
  if (keep_transcript_) Transcribe(*selection, has_indication, allocable, number_votes, rank);
  if (!has_indication || !allocable || number_votes == 0) return;
  if (election_.contests[*contest_].kind == ContestKind::kRanked && rank > 1) return;
  votes_ += number_votes;
  marks_.push_back(
      {election_.SelectionCell(*contest_, *selection), static_cast<uint32_t>(number_votes)});
}

void CvrBuilder::EndContest() {
  if (!contest_) return;
  const uint32_t contest = *contest_;
  if (invalid_) {
    // Not counted; visible in its own figure where the election has one.
    if (election_.invalid_figure) {
      cells_.push_back({election_.FigureCell(contest, ContestFigure::kInvalid), 1});
    }
    contest_.reset();
    return;
  }
  const uint64_t vote_for = election_.contests[contest].vote_for;
  const bool over = votes_ > vote_for;
  const uint64_t overvotes = declared_over_.value_or(over ? vote_for : 0);
  const uint64_t undervotes = declared_under_.value_or(over ? 0 : vote_for - votes_);
  if (overvotes > kMaxNumberVotes || undervotes > kMaxNumberVotes) {
    Malformed(absl::StrCat("contest '", election_.contests[contest].id,
                           "': Overvotes or Undervotes above ", kMaxNumberVotes));
    contest_.reset();
    return;
  }
  if (!over) cells_.insert(cells_.end(), marks_.begin(), marks_.end());
  if (overvotes > 0) {
    cells_.push_back({election_.FigureCell(contest, ContestFigure::kOvervotes),
                      static_cast<uint32_t>(overvotes)});
  }
  if (undervotes > 0) {
    cells_.push_back({election_.FigureCell(contest, ContestFigure::kUndervotes),
                      static_cast<uint32_t>(undervotes)});
  }
  cells_.push_back({election_.FigureCell(contest, ContestFigure::kBallots), 1});
  contest_.reset();
}

std::optional<CastReject> CvrBuilder::End(CastBallotBatch* batch) {
  if (stated_reject_) return reject_;
  int field = 0;
  while (field < kNumCvrIdentityFields && !has_identity_[field]) ++field;
  if (field == kNumCvrIdentityFields) {
    Malformed("no identity: none of UniqueId, BallotPrePrintedId, BallotAuditId");
  }
  std::optional<uint32_t> unit = unit_index_;  // a reader that resolved the unit itself
  if (!unit && !has_unit_) {
    Malformed("no BallotStyleUnitId");
  } else if (!unit) {
    unit = units_.Get(unit_id_, [&](absl::string_view id) { return election_.FindUnit(id); });
    if (!unit) {
      Reject(CastReject::kUnknownUnit,
             absl::StrCat("unit '", unit_id_, "' is not a reporting unit of the election"));
    }
  }
  if (reject_) return reject_;
  identity_field_ = static_cast<CvrIdentityField>(field);
  if (keep_transcript_) {
    transcript_.identity_field = identity_field_;
    transcript_.identity = identity_[field];
    if (has_device_) transcript_.device = device_;
    transcript_.unit = *unit;
    transcript_.adjudicated = adjudicated_;
  }
  // The identity bytes: the field's index, the device (empty when none), a separator
  // that cannot occur in either length prefix, and the id: distinct fields and devices
  // never give the same bytes.
  identity_bytes_.clear();
  identity_bytes_.push_back(static_cast<char>('0' + field));
  if (has_device_) absl::StrAppend(&identity_bytes_, device_.size(), ":", device_);
  identity_bytes_.push_back('|');
  identity_bytes_.append(identity_[field]);
  cells_.push_back({ContestElection::kBallotsCastCell, 1});
  batch->Add(identity_bytes_, *unit, cells_, adjudicated_ ? kBallotAdjudicated : 0);
  return std::nullopt;
}

}  // namespace canvass
