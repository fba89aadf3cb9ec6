// The Dominion session decoder (sessions.h), with simdjson's On Demand API. A session's
// versions are read into small buffers first (which one is current is known only once
// Original's IsCurrent has been read, and fields come in any order), then the current
// one is told to the builder.
#include "engine/io/dominion/sessions.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/io/nist/internal/ondemand.h"
#include "simdjson.h"

namespace canvass {
namespace {

using simdjson::ondemand::json_type;

struct Mark {
  int64_t candidate = 0;
  uint64_t rank = 1;
  bool is_vote = false;
  bool ambiguous = false;
};

struct Contest {
  int64_t id = 0;
  std::optional<uint64_t> over;
  std::optional<uint64_t> under;
  bool invalid = false;
  uint32_t marks_begin = 0;
  uint32_t marks_end = 0;
};

struct Version {
  bool present = false;
  std::optional<bool> is_current;
  std::optional<int64_t> portion;
  bool has_contests = false;  // a Cards or Contests array was given
  std::vector<Contest> contests;
  std::vector<Mark> marks;

  void Clear() {
    present = false;
    is_current.reset();
    portion.reset();
    has_contests = false;
    contests.clear();
    marks.clear();
  }
};

class DominionSessionDecoder final : public CvrDecoder {
 public:
  explicit DominionSessionDecoder(const DominionExport& dominion) : dominion_(dominion) {}

  void Decode(absl::string_view text, const CvrSpan& span, CvrBuilder* builder) override;
  // The whole file in one On Demand pass: no scan, one stage 1 over the file.
  bool DecodeFile(absl::string_view text, CvrBuilder* builder,
                  absl::FunctionRef<void(const CvrSpan&)> done) override;

 private:
  // `name`: "Original" or "Modified", for messages.
  void ReadVersion(simdjson::ondemand::object object, const char* name, Version* version);
  void ReadContests(simdjson::ondemand::array contests, Version* version);
  void ReadContest(simdjson::ondemand::object object, Version* version);
  void Tell(const Version& version, std::optional<int64_t> group, CvrBuilder* builder);
  void Session(simdjson::ondemand::object object, CvrBuilder* builder);

  const DominionExport& dominion_;
  simdjson::ondemand::parser parser_;
  PaddedText padded_;
  // DecodeFile's: a whole file's document outlives each session's.
  simdjson::ondemand::parser file_parser_;
  PaddedText padded_file_;
  Version original_;
  Version modified_;
  std::string identity_;
  const char* path_ = "";  // the field being read, for messages
};

// Appends one id of a session's identity, after a '-' when `separate`. A '-' or '\\' inside
// the id is escaped with a '\\', so that ids that are strings with dashes in them
// (TabulatorId "1-2", BatchId "3" against TabulatorId "1", BatchId "2-3") never join into
// the same identity; ids without either, every number's, are written as they are: T-B-R.
void AppendIdentityPart(std::string_view id, bool separate, std::string* identity) {
  if (separate) identity->push_back('-');
  for (const char c : id) {
    if (c == '-' || c == '\\') identity->push_back('\\');
    identity->push_back(c);
  }
}

bool IsCondition(simdjson::ondemand::array conditions, std::optional<int64_t> wanted) {
  bool found = false;
  for (auto condition : conditions) {
    const int64_t id = condition.get_int64();
    found |= wanted && id == *wanted;
  }
  return found;
}

void DominionSessionDecoder::ReadContest(simdjson::ondemand::object object, Version* version) {
  Contest contest;
  bool has_id = false;
  contest.marks_begin = static_cast<uint32_t>(version->marks.size());
  for (auto field : object) {
    const std::string_view key = Key(field);
    if (key == "Id") {
      path_ = "Contests[].Id";
      contest.id = field.value().get_int64();
      has_id = true;
    } else if (key == "Overvotes") {
      path_ = "Contests[].Overvotes";
      contest.over = field.value().get_uint64();
    } else if (key == "Undervotes") {
      path_ = "Contests[].Undervotes";
      contest.under = field.value().get_uint64();
    } else if (key == "OutstackConditionIds") {
      path_ = "Contests[].OutstackConditionIds";
      contest.invalid = IsCondition(field.value().get_array(), dominion_.invalid_condition);
    } else if (key == "Marks") {
      path_ = "Marks[]";
      for (simdjson::ondemand::object mark_object : field.value().get_array()) {
        Mark mark;
        bool has_candidate = false;
        for (auto mfield : mark_object) {
          const std::string_view mkey = Key(mfield);
          if (mkey == "CandidateId") {
            path_ = "Marks[].CandidateId";
            mark.candidate = mfield.value().get_int64();
            has_candidate = true;
          } else if (mkey == "Rank") {
            path_ = "Marks[].Rank";
            mark.rank = mfield.value().get_uint64();
          } else if (mkey == "IsVote") {
            path_ = "Marks[].IsVote";
            mark.is_vote = mfield.value().get_bool();
          } else if (mkey == "IsAmbiguous") {
            path_ = "Marks[].IsAmbiguous";
            mark.ambiguous = mfield.value().get_bool();
          } else {
            Validate(mfield.value());
          }
          path_ = "Marks[]";  // where the next key is read
        }
        path_ = "Marks[].CandidateId";
        if (!has_candidate) throw simdjson::simdjson_error(simdjson::NO_SUCH_FIELD);
        version->marks.push_back(mark);
      }
    } else {
      Validate(field.value());
    }
    path_ = "Contests[]";
  }
  if (!has_id) {
    path_ = "Contests[].Id";
    throw simdjson::simdjson_error(simdjson::NO_SUCH_FIELD);
  }
  contest.marks_end = static_cast<uint32_t>(version->marks.size());
  version->contests.push_back(contest);
}

void DominionSessionDecoder::ReadContests(simdjson::ondemand::array contests, Version* version) {
  version->has_contests = true;
  for (simdjson::ondemand::object contest : contests) ReadContest(contest, version);
}

void DominionSessionDecoder::ReadVersion(simdjson::ondemand::object object, const char* name,
                                         Version* version) {
  version->present = true;
  for (auto field : object) {
    const std::string_view key = Key(field);
    if (key == "IsCurrent") {
      path_ = "IsCurrent";
      version->is_current = field.value().get_bool();
    } else if (key == "PrecinctPortionId") {
      path_ = "PrecinctPortionId";
      version->portion = field.value().get_int64();
    } else if (key == "Cards") {
      path_ = "Cards[]";
      version->has_contests = true;
      for (simdjson::ondemand::object card : field.value().get_array()) {
        for (auto cfield : card) {
          if (Key(cfield) == "Contests") {
            path_ = "Cards[].Contests";
            ReadContests(cfield.value().get_array(), version);
          } else {
            Validate(cfield.value());
          }
          path_ = "Cards[]";
        }
      }
    } else if (key == "Contests") {  // an older export: no Cards level
      path_ = "Contests";
      ReadContests(field.value().get_array(), version);
    } else {
      Validate(field.value());
    }
    path_ = name;
  }
}

void DominionSessionDecoder::Tell(const Version& version, std::optional<int64_t> group,
                                  CvrBuilder* builder) {
  if (!version.portion) {
    builder->Malformed("the current version has no PrecinctPortionId");
  } else if (!dominion_.groups.empty() && !group) {
    builder->Malformed("no CountingGroupId");
  } else if (const std::optional<uint32_t> leaf =
                 dominion_.Leaf(*version.portion, group.value_or(0));
             leaf) {
    builder->SetUnitIndex(*leaf);
  } else {
    builder->UnknownUnit(
        dominion_.portions.contains(*version.portion)
            ? absl::StrCat("counting group ", *group, " is not in CountingGroupManifest.json")
            : absl::StrCat("precinct portion ", *version.portion,
                           " is not in PrecinctPortionManifest.json"));
  }
  if (!version.has_contests) builder->Malformed("the current version has no Cards or Contests");
  const ContestElection& election = dominion_.election;
  for (const Contest& contest : version.contests) {
    const auto c = dominion_.contests.find(contest.id);
    if (c == dominion_.contests.end()) {
      builder->Reject(CastReject::kUnknownContest,
                      absl::StrCat("contest ", contest.id, " is not in ContestManifest.json"));
      continue;
    }
    builder->ContestIndex(c->second, absl::StrCat(contest.id));
    if (contest.invalid) {
      builder->InvalidContest();
    } else if (election.contests[c->second].kind == ContestKind::kPlurality) {
      // Ranked contests' stated figures may speak of any rank; theirs are computed from
      // the first preferences.
      if (contest.over) builder->DeclaredOvervotes(*contest.over);
      if (contest.under) builder->DeclaredUndervotes(*contest.under);
    }
    for (uint32_t m = contest.marks_begin; m < contest.marks_end; ++m) {
      const Mark& mark = version.marks[m];
      const auto candidate = dominion_.candidates.find(mark.candidate);
      if (candidate == dominion_.candidates.end() || candidate->second.contest != c->second) {
        builder->Reject(CastReject::kUnknownSelection,
                        absl::StrCat("candidate ", mark.candidate, " is not in contest ",
                                     contest.id, " (CandidateManifest.json)"));
        continue;
      }
      builder->MarkIndex(candidate->second.selection, mark.is_vote, !mark.ambiguous, mark.rank);
    }
    builder->EndContest();
  }
}

// One session object (throws simdjson_error on what is not JSON or of the wrong type).
void DominionSessionDecoder::Session(simdjson::ondemand::object object, CvrBuilder* builder) {
  original_.Clear();
  modified_.Clear();
  std::optional<std::string> ids[3];  // TabulatorId, BatchId, RecordId
  std::optional<int64_t> group;
  for (auto field : object) {
    const std::string_view key = Key(field);
    int id = -1;
    if (key == "TabulatorId") {
      id = 0;
    } else if (key == "BatchId") {
      id = 1;
    } else if (key == "RecordId") {
      id = 2;
    }
    if (id >= 0) {
      path_ = id == 0 ? "TabulatorId" : id == 1 ? "BatchId" : "RecordId";
      simdjson::ondemand::value value = field.value();
      if (value.type() == json_type::string) {
        ids[id] = std::string(std::string_view(value.get_string()));
      } else {
        ids[id] = std::to_string(int64_t{value.get_int64()});
      }
      if (ids[id]->empty()) {
        builder->Malformed(
            absl::StrCat(path_, " is \"\" (expected a number or a non-empty string)"));
      }
    } else if (key == "CountingGroupId") {
      path_ = "CountingGroupId";
      group = field.value().get_int64();
    } else if (key == "Original") {
      path_ = "Original";
      ReadVersion(field.value().get_object(), path_, &original_);
    } else if (key == "Modified") {
      path_ = "Modified";
      ReadVersion(field.value().get_object(), path_, &modified_);
    } else {
      Validate(field.value());
    }
    path_ = "";
  }
  if (!ids[0] || !ids[1] || !ids[2]) {
    builder->Malformed(
        absl::StrCat("no ",
                     !ids[0]   ? "TabulatorId"
                     : !ids[1] ? "BatchId"
                               : "RecordId",
                     " (a session is identified by TabulatorId, BatchId, RecordId)"));
  } else {
    identity_.clear();
    for (int i = 0; i < 3; ++i) AppendIdentityPart(*ids[i], i > 0, &identity_);
    builder->SetIdentity(CvrIdentityField::kUniqueId, identity_);
  }
  const Version* current = nullptr;
  if (original_.present && original_.is_current.value_or(true)) {
    current = &original_;
  } else if (original_.present && modified_.present && modified_.is_current.value_or(true)) {
    current = &modified_;
    builder->SetAdjudicated();
  }
  if (current == nullptr) {
    builder->Malformed(!original_.present
                           ? "no Original version"
                           : "no current version (Original says IsCurrent false and there "
                             "is no current Modified version)");
    return;
  }
  Tell(*current, group, builder);
}

bool DominionSessionDecoder::DecodeFile(absl::string_view text, CvrBuilder* builder,
                                        absl::FunctionRef<void(const CvrSpan&)> done) {
  // A padded copy (a mapped file has no padding of its own); a few megabytes at most.
  const char* base = padded_file_.Copy(text);
  path_ = "";
  try {
    simdjson::ondemand::document doc =
        file_parser_.iterate(base, text.size(), text.size() + simdjson::SIMDJSON_PADDING);
    bool seen = false;
    for (auto field : doc.get_object()) {
      if (Key(field) != "Sessions") {
        Validate(field.value());
        continue;
      }
      if (seen) return false;  // a second "Sessions": the scanner says so
      seen = true;
      uint64_t index = 0;
      for (auto element : field.value().get_array()) {
        simdjson::ondemand::value value = element.value();
        const char* at = value.current_location();
        if (value.type() != json_type::object) return false;
        builder->Begin();
        Session(value.get_object(), builder);
        done(CvrSpan{static_cast<uint64_t>(at - base), 0, index++});
      }
    }
    // Anything after the closing brace, or no "Sessions": the careful path names it.
    return seen && doc.current_location().error() == simdjson::OUT_OF_BOUNDS;
  } catch (const simdjson::simdjson_error&) {
    return false;
  }
}

void DominionSessionDecoder::Decode(absl::string_view text, const CvrSpan& span,
                                    CvrBuilder* builder) {
  const size_t length = span.end - span.begin;
  const char* json = padded_.Of(text, span.begin, span.end);
  path_ = "";
  try {
    simdjson::ondemand::document doc =
        parser_.iterate(json, length, length + simdjson::SIMDJSON_PADDING);
    Session(doc.get_object(), builder);
  } catch (const simdjson::simdjson_error& error) {
    builder->Malformed(absl::StrCat(*path_ != '\0' ? absl::StrCat(path_, ": ") : "",
                                    "not a valid session (", error.what(), ")"));
  }
}

}  // namespace

std::unique_ptr<CvrDecoder> NewDominionSessionDecoder(const DominionExport& dominion) {
  return std::make_unique<DominionSessionDecoder>(dominion);
}

}  // namespace canvass
