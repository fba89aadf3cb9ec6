// NIST CVR JSON: a scanner of the report's top level that finds each record's span in
// one pass, and a decoder of one record with simdjson's On Demand API.
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/io/nist/cvr_reader.h"
#include "engine/io/nist/internal/cvr_formats.h"
#include "simdjson.h"

namespace canvass {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// The top level of a CVR JSON report, walked once, in order:
//   { "key": value, ..., "CVR": [ {record}, {record}, ... ], ... }
class JsonCvrScanner final : public CvrScanner {
 public:
  JsonCvrScanner(std::string name, absl::string_view text) : name_(std::move(name)), text_(text) {}

  absl::StatusOr<bool> Next(uint64_t max_bytes, std::vector<CvrSpan>* spans) override;
  std::string Definition() const override;

 private:
  enum class State { kStart, kKeys, kRecords, kDone };

  absl::Status Error(uint64_t offset, absl::string_view what) const {
    if (offset >= text_.size()) {
      return absl::DataLossError(absl::StrCat(name_, ": truncated at byte ", text_.size(), " (",
                                              LineColumn(text_, text_.size()), "): ", what));
    }
    return absl::DataLossError(
        absl::StrCat(name_, ": byte ", offset, " (", LineColumn(text_, offset), "): ", what));
  }
  void SkipSpace() {
    while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
  }
  // Past the string starting at pos_ (a '"'), or an error.
  absl::Status SkipString();
  // Past the value starting at pos_ (objects and arrays matched, strings skipped).
  absl::Status SkipValue();
  absl::Status NextKey(bool* more);

  std::string name_;
  absl::string_view text_;
  uint64_t pos_ = 0;
  State state_ = State::kStart;
  bool seen_records_ = false;
  uint64_t records_ = 0;
  std::vector<std::pair<std::string, absl::string_view>> definition_;
};

absl::Status JsonCvrScanner::SkipString() {
  const uint64_t start = pos_;
  ++pos_;
  while (true) {
    const void* quote = std::memchr(text_.data() + pos_, '"', text_.size() - pos_);
    if (quote == nullptr) return Error(text_.size(), "a string does not end");
    uint64_t at = static_cast<const char*>(quote) - text_.data();
    uint64_t backslashes = 0;
    while (at - backslashes > start && text_[at - backslashes - 1] == '\\') ++backslashes;
    pos_ = at + 1;
    if (backslashes % 2 == 0) return absl::OkStatus();
  }
}

absl::Status JsonCvrScanner::SkipValue() {
  SkipSpace();
  if (pos_ >= text_.size()) return Error(pos_, "expected a value");
  const char first = text_[pos_];
  if (first == '"') return SkipString();
  if (first != '{' && first != '[') {
    const uint64_t start = pos_;
    while (pos_ < text_.size() && !IsSpace(text_[pos_]) && text_[pos_] != ',' &&
           text_[pos_] != '}' && text_[pos_] != ']') {
      ++pos_;
    }
    if (pos_ == start)
      return Error(pos_, absl::StrCat("expected a value, found '", std::string(1, first), "'"));
    return absl::OkStatus();
  }
  std::string open;  // the brackets still open, innermost last
  while (pos_ < text_.size()) {
    const char c = text_[pos_];
    if (c == '"') {
      absl::Status status = SkipString();
      if (!status.ok()) return status;
      continue;
    }
    if (c == '{' || c == '[') {
      open.push_back(c);
    } else if (c == '}' || c == ']') {
      if (open.empty() || open.back() != (c == '}' ? '{' : '[')) {
        return Error(pos_, absl::StrCat("'", std::string(1, c), "' closes nothing open"));
      }
      open.pop_back();
      if (open.empty()) {
        ++pos_;
        return absl::OkStatus();
      }
    }
    ++pos_;
  }
  return Error(text_.size(), absl::StrCat("a value begun at byte ", pos_, " does not end"));
}

// Reads `"key": ` and, for CVR, enters the records; other values are skipped (Election and
// GpUnit are kept for the definition). Sets *more = false at the closing brace.
absl::Status JsonCvrScanner::NextKey(bool* more) {
  SkipSpace();
  if (pos_ >= text_.size()) return Error(pos_, "expected a key or '}'");
  if (text_[pos_] == '}') {
    ++pos_;
    *more = false;
    return absl::OkStatus();
  }
  if (text_[pos_] != '"') return Error(pos_, "expected a key (a string) or '}'");
  const uint64_t key_start = pos_ + 1;
  absl::Status status = SkipString();
  if (!status.ok()) return status;
  const absl::string_view key = text_.substr(key_start, pos_ - 1 - key_start);
  SkipSpace();
  if (pos_ >= text_.size() || text_[pos_] != ':') return Error(pos_, "expected ':' after a key");
  ++pos_;
  SkipSpace();
  *more = true;
  if (key == "CVR") {
    if (seen_records_) return Error(key_start, "a second \"CVR\" key");
    seen_records_ = true;
    if (pos_ >= text_.size() || text_[pos_] != '[') return Error(pos_, "\"CVR\" must be an array");
    ++pos_;
    state_ = State::kRecords;
    return absl::OkStatus();
  }
  const uint64_t value_start = pos_;
  status = SkipValue();
  if (!status.ok()) return status;
  if (key == "Election" || key == "GpUnit") {
    definition_.emplace_back(std::string(key), text_.substr(value_start, pos_ - value_start));
  }
  SkipSpace();
  if (pos_ < text_.size() && text_[pos_] == ',') {
    ++pos_;
  } else if (pos_ >= text_.size() || text_[pos_] != '}') {
    return Error(pos_, "expected ',' or '}' after a value");
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> JsonCvrScanner::Next(uint64_t max_bytes, std::vector<CvrSpan>* spans) {
  if (state_ == State::kStart) {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
    SkipSpace();
    if (pos_ >= text_.size() || text_[pos_] != '{') {
      return absl::InvalidArgumentError(
          absl::StrCat(name_, ": byte ", pos_, ": not a NIST CVR JSON report (expected '{')"));
    }
    ++pos_;
    state_ = State::kKeys;
  }
  uint64_t taken = 0;
  while (state_ != State::kDone) {
    if (state_ == State::kKeys) {
      bool more = true;
      absl::Status status = NextKey(&more);
      if (!status.ok()) return status;
      if (!more) {
        SkipSpace();
        if (pos_ != text_.size()) return Error(pos_, "text after the report's closing '}'");
        if (!seen_records_) {
          return absl::InvalidArgumentError(
              absl::StrCat(name_, ": not a NIST CVR JSON report (no \"CVR\" array)"));
        }
        state_ = State::kDone;
      }
      continue;
    }
    // In the records.
    if (taken >= max_bytes) return true;
    SkipSpace();
    if (pos_ >= text_.size()) return Error(pos_, "the \"CVR\" array does not end");
    if (text_[pos_] == ']') {
      ++pos_;
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
      } else if (pos_ >= text_.size() || text_[pos_] != '}') {
        return Error(pos_, "expected ',' or '}' after the \"CVR\" array");
      }
      state_ = State::kKeys;
      continue;
    }
    if (text_[pos_] != '{') {
      return Error(pos_, absl::StrCat("CVR[", records_, "]: expected a record (an object)"));
    }
    const uint64_t begin = pos_;
    absl::Status status = SkipValue();
    if (!status.ok()) return status;
    spans->push_back({begin, pos_, records_++});
    taken += pos_ - begin;
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == ',') {
      ++pos_;
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ']') {
        return Error(pos_, "a ',' before the \"CVR\" array's ']'");
      }
    } else if (pos_ >= text_.size() || text_[pos_] != ']') {
      return Error(pos_, absl::StrCat("CVR[", records_ - 1, "]: expected ',' or ']' after it"));
    }
  }
  return false;
}

std::string JsonCvrScanner::Definition() const {
  if (definition_.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < definition_.size(); ++i) {
    absl::StrAppend(&out, i ? "," : "", "\"", definition_[i].first, "\":", definition_[i].second);
  }
  out += "}";
  return out;
}

// One record, parsed with On Demand from a padded copy of its span. simdjson reports
// errors as exceptions here; they are caught in Decode() and never leave it.
class JsonCvrDecoder final : public CvrDecoder {
 public:
  void Decode(absl::string_view text, const CvrSpan& span, CvrBuilder* builder) override;

 private:
  struct PendingMark {
    std::string_view selection;
    bool has_indication = true;
    bool allocable = true;
    uint64_t number_votes = 1;
    uint64_t rank = 0;
  };
  void Snapshots(simdjson::ondemand::array snapshots, std::string_view current,
                 CvrBuilder* builder);
  void Contest(simdjson::ondemand::object contest, CvrBuilder* builder);

  simdjson::ondemand::parser parser_;
  std::unique_ptr<char[]> buffer_;
  size_t capacity_ = 0;
  std::string path_;  // where the decoder is, for messages
  std::vector<PendingMark> marks_;
  std::string current_;
  bool found_ = false;
};

std::string_view YesNo(simdjson::ondemand::value value) { return value.get_string(); }

absl::string_view Absl(std::string_view text) {
  return absl::string_view(text.data(), text.size());
}

void JsonCvrDecoder::Contest(simdjson::ondemand::object contest, CvrBuilder* builder) {
  std::string_view contest_id;
  bool has_id = false;
  std::optional<uint64_t> over;
  std::optional<uint64_t> under;
  marks_.clear();
  for (auto field : contest) {
    const std::string_view key = field.unescaped_key();
    if (key == "ContestId") {
      contest_id = field.value().get_string();
      has_id = true;
    } else if (key == "Overvotes") {
      over = field.value().get_uint64();
    } else if (key == "Undervotes") {
      under = field.value().get_uint64();
    } else if (key == "CVRContestSelection") {
      for (simdjson::ondemand::object selection : field.value().get_array()) {
        std::string_view selection_id;
        bool has_selection = false;
        const size_t first = marks_.size();
        for (auto sfield : selection) {
          const std::string_view skey = sfield.unescaped_key();
          if (skey == "ContestSelectionId") {
            selection_id = sfield.value().get_string();
            has_selection = true;
          } else if (skey == "SelectionPosition") {
            for (simdjson::ondemand::object position : sfield.value().get_array()) {
              PendingMark mark;
              for (auto pfield : position) {
                const std::string_view pkey = pfield.unescaped_key();
                if (pkey == "HasIndication") {
                  mark.has_indication = YesNo(pfield.value()) == "yes";
                } else if (pkey == "IsAllocable") {
                  mark.allocable = YesNo(pfield.value()) == "yes";
                } else if (pkey == "NumberVotes") {
                  path_ = "NumberVotes";
                  mark.number_votes = pfield.value().get_uint64();
                  path_.clear();
                } else if (pkey == "Rank") {
                  mark.rank = pfield.value().get_uint64();
                }
              }
              marks_.push_back(mark);
            }
          }
        }
        if (!has_selection) {
          builder->Malformed("a CVRContestSelection without ContestSelectionId");
          return;
        }
        for (size_t m = first; m < marks_.size(); ++m) marks_[m].selection = selection_id;
      }
    }
  }
  if (!has_id) {
    builder->Malformed("a CVRContest without ContestId");
    return;
  }
  builder->Contest(Absl(contest_id));
  if (over) builder->DeclaredOvervotes(*over);
  if (under) builder->DeclaredUndervotes(*under);
  for (const PendingMark& mark : marks_) {
    builder->Mark(Absl(mark.selection), mark.has_indication, mark.allocable, mark.number_votes,
                  mark.rank);
  }
  builder->EndContest();
}

void JsonCvrDecoder::Snapshots(simdjson::ondemand::array snapshots, std::string_view current,
                               CvrBuilder* builder) {
  for (simdjson::ondemand::object snapshot : snapshots) {
    const std::string_view id = snapshot["@id"].get_string();
    if (id != current) continue;
    if (found_) {
      builder->Malformed(absl::StrCat("two CVRSnapshots have @id '", Absl(current), "'"));
      return;
    }
    found_ = true;
    simdjson::ondemand::array contests;
    if (snapshot["CVRContest"].get(contests) == simdjson::NO_SUCH_FIELD) continue;
    for (simdjson::ondemand::object contest : contests) Contest(contest, builder);
  }
}

void JsonCvrDecoder::Decode(absl::string_view text, const CvrSpan& span, CvrBuilder* builder) {
  const size_t length = span.end - span.begin;
  if (capacity_ < length + simdjson::SIMDJSON_PADDING) {
    capacity_ = std::max<size_t>(2 * capacity_, length + simdjson::SIMDJSON_PADDING);
    buffer_.reset(new char[capacity_]);
  }
  std::memcpy(buffer_.get(), text.data() + span.begin, length);
  std::memset(buffer_.get() + length, 0, simdjson::SIMDJSON_PADDING);
  found_ = false;
  path_.clear();
  try {
    simdjson::ondemand::document doc = parser_.iterate(buffer_.get(), length, capacity_);
    simdjson::ondemand::object record = doc.get_object();
    bool has_current = false;
    bool snapshots_later = false;
    for (auto field : record) {
      const std::string_view key = field.unescaped_key();
      if (key == "UniqueId") {
        builder->SetIdentity(CvrIdentityField::kUniqueId, Absl(field.value().get_string()));
      } else if (key == "BallotPrePrintedId") {
        builder->SetIdentity(CvrIdentityField::kBallotPrePrintedId,
                             Absl(field.value().get_string()));
      } else if (key == "BallotAuditId") {
        builder->SetIdentity(CvrIdentityField::kBallotAuditId, Absl(field.value().get_string()));
      } else if (key == "CreatingDeviceId") {
        builder->SetDevice(Absl(field.value().get_string()));
      } else if (key == "BallotStyleUnitId") {
        builder->SetUnit(Absl(field.value().get_string()));
      } else if (key == "CurrentSnapshotId") {
        const std::string_view current = field.value().get_string();
        current_.assign(current.data(), current.size());
        has_current = true;
      } else if (key == "CVRSnapshot") {
        if (has_current) {
          Snapshots(field.value().get_array(), current_, builder);
        } else {
          snapshots_later = true;
        }
      }
    }
    if (!has_current) {
      builder->Malformed("no CurrentSnapshotId");
      return;
    }
    if (snapshots_later) {
      doc.rewind();
      Snapshots(doc["CVRSnapshot"].get_array(), current_, builder);
    }
    if (!found_) {
      builder->Malformed(absl::StrCat("no CVRSnapshot has the current @id '", current_, "'"));
    }
  } catch (const simdjson::simdjson_error& error) {
    builder->Malformed(
        absl::StrCat(path_.empty() ? "" : absl::StrCat(path_, ": "),
                     path_ == "NumberVotes" ? "expected a small integer (" : "not a valid record (",
                     error.what(), ")"));
  }
}

}  // namespace

std::unique_ptr<CvrScanner> NewJsonCvrScanner(std::string name, absl::string_view text) {
  return std::make_unique<JsonCvrScanner>(std::move(name), text);
}

std::unique_ptr<CvrDecoder> NewJsonCvrDecoder() { return std::make_unique<JsonCvrDecoder>(); }

}  // namespace canvass
