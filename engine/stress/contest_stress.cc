// Contest-election stress rounds: the world, the independent model, the CVR JSON writer
// and the checks against ReadCvrFiles (see contest_stress.h).
#include "engine/stress/contest_stress.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/ingest/cvr_job.h"
#include "engine/synth/random.h"

namespace canvass {
namespace {

constexpr uint64_t kContestStressStream = 0xc0e57;
constexpr uint64_t kMaxVotes = uint64_t{1} << 20;  // the documented NumberVotes limit
constexpr size_t kDiffLines = 24;

// Draws from one seed and stream, in order.
class Draws {
 public:
  explicit Draws(uint64_t seed, uint64_t stream = 0) : seed_(seed), stream_(stream) {}
  uint64_t Bits() { return KeyedRandom(seed_, kContestStressStream, stream_, counter_++); }
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Bits() % n; }
  double Unit() { return UnitOpen(Bits()); }
  bool Chance(double p) { return p > 0 && Unit() < p; }
  // Log-uniform in [low, high].
  double LogUniform(double low, double high) {
    return std::exp(std::log(low) + Unit() * (std::log(high) - std::log(low)));
  }
  template <typename T>
  void Shuffle(std::vector<T>* items) {
    for (size_t i = items->size(); i > 1; --i) std::swap((*items)[i - 1], (*items)[Below(i)]);
  }

 private:
  uint64_t seed_;
  uint64_t stream_;
  uint64_t counter_ = 0;
};

// ---------------------------------------------------------------------------------------
// The model: the counting rules of docs/FORMAT.md, over the election's plain vectors.

struct ModelElection {
  explicit ModelElection(const ContestElection& e) : election(e) {
    for (uint32_t u = 0; u < e.units.size(); ++u) units.emplace(e.units[u].id, u);
    uint32_t next = 1;  // cell 0: the unit's ballots cast
    selections.resize(e.contests.size());
    for (uint32_t c = 0; c < e.contests.size(); ++c) {
      contests.emplace(e.contests[c].id, c);
      first_cell.push_back(next);
      for (uint32_t s = 0; s < e.contests[c].selections.size(); ++s) {
        selections[c].emplace(e.contests[c].selections[s].id, s);
      }
      next += static_cast<uint32_t>(e.contests[c].selections.size()) + 3;
    }
    cells_per_unit = next;
  }
  uint32_t SelectionCell(uint32_t c, uint32_t s) const { return first_cell[c] + s; }
  // 0 overvotes, 1 undervotes, 2 ballots.
  uint32_t FigureCell(uint32_t c, uint32_t figure) const {
    return first_cell[c] + static_cast<uint32_t>(election.contests[c].selections.size()) + figure;
  }

  const ContestElection& election;
  std::map<std::string, uint32_t> units;
  std::map<std::string, uint32_t> contests;
  std::vector<std::map<std::string, uint32_t>> selections;
  std::vector<uint32_t> first_cell;
  uint32_t cells_per_unit = 1;
};

StressRecordOutcome Model(const ModelElection& model, const StressRecord& record) {
  StressRecordOutcome out;
  auto reject = [&](CastReject reason) {
    if (!out.rejected || static_cast<int>(reason) < static_cast<int>(*out.rejected)) {
      out.rejected = reason;
    }
  };
  if (record.broken_json != StressRecord::Break::kNone) reject(CastReject::kMalformed);
  // The current snapshot: exactly one snapshot must carry CurrentSnapshotId.
  const StressSnapshot* current = nullptr;
  if (!record.current_snapshot) {
    reject(CastReject::kMalformed);
  } else {
    int found = 0;
    for (const StressSnapshot& snapshot : record.snapshots) {
      if (snapshot.id == *record.current_snapshot) {
        ++found;
        current = &snapshot;
      }
    }
    if (found != 1) {
      reject(CastReject::kMalformed);
      current = nullptr;
    }
  }
  out.adjudicated = current != nullptr && current->type == "modified";
  int field = 0;
  while (field < kNumCvrIdentityFields && !record.ids[field]) ++field;
  if (field == kNumCvrIdentityFields) reject(CastReject::kMalformed);
  if (!record.unit) {
    reject(CastReject::kMalformed);
  } else if (auto it = model.units.find(*record.unit); it == model.units.end()) {
    reject(CastReject::kUnknownUnit);
  } else {
    out.unit = it->second;
  }
  std::map<uint32_t, uint64_t> cells;
  std::set<uint32_t> seen;
  if (current != nullptr) {
    for (const StressContest& contest : current->contests) {
      // A count that is not an integer 0 .. 2^20 makes the record malformed, whichever
      // contest or selection it belongs to (malformed is the first reason in order).
      for (const StressMark& mark : contest.marks) {
        if (mark.number_votes.kind == StressNumberVotes::Kind::kText ||
            (mark.number_votes.kind == StressNumberVotes::Kind::kInteger &&
             mark.number_votes.value > kMaxVotes)) {
          reject(CastReject::kMalformed);
        }
      }
      if (contest.overvotes.value_or(0) > kMaxVotes || contest.undervotes.value_or(0) > kMaxVotes) {
        reject(CastReject::kMalformed);
      }
      const auto c = model.contests.find(contest.contest);
      if (c == model.contests.end()) {
        reject(CastReject::kUnknownContest);
        continue;
      }
      if (!seen.insert(c->second).second) {
        reject(CastReject::kMalformed);
        continue;
      }
      const ElectionContest& definition = model.election.contests[c->second];
      const uint64_t vote_for = definition.vote_for;
      uint64_t votes = 0;
      std::vector<std::pair<uint32_t, uint64_t>> marks;
      for (const StressMark& mark : contest.marks) {
        const auto s = model.selections[c->second].find(mark.selection);
        if (s == model.selections[c->second].end()) {
          reject(CastReject::kUnknownSelection);
          continue;
        }
        const uint64_t number = mark.number_votes.kind == StressNumberVotes::Kind::kInteger
                                    ? mark.number_votes.value
                                    : 1;
        const bool indicated = mark.has_indication.empty() || mark.has_indication == "yes";
        const bool allocable = mark.is_allocable.empty() || mark.is_allocable == "yes";
        const bool first_preference = definition.kind != ContestKind::kRanked || mark.rank <= 1;
        if (!indicated || !allocable || number == 0 || !first_preference) continue;
        votes += number;
        marks.emplace_back(model.SelectionCell(c->second, s->second), number);
      }
      const bool over = votes > vote_for;
      const uint64_t overvotes = contest.overvotes.value_or(over ? vote_for : 0);
      const uint64_t undervotes = contest.undervotes.value_or(over ? 0 : vote_for - votes);
      if (!over) {
        for (const auto& [cell, number] : marks) cells[cell] += number;
      }
      cells[model.FigureCell(c->second, 0)] += overvotes;
      cells[model.FigureCell(c->second, 1)] += undervotes;
      cells[model.FigureCell(c->second, 2)] += 1;
    }
  }
  if (out.rejected) return out;
  cells[0] += 1;  // the unit's ballots cast
  for (const auto& [cell, votes] : cells) {
    if (votes > 0) out.cells.push_back({cell, static_cast<uint32_t>(votes)});
  }
  out.identity_field = static_cast<CvrIdentityField>(field);
  out.identity = absl::StrCat(field, "|");
  if (record.device) {
    absl::StrAppend(&out.identity, "+", record.device->size(), ":", *record.device);
  } else {
    out.identity += "-";
  }
  absl::StrAppend(&out.identity, "|", *record.ids[field]);
  return out;
}

// Per unit, every unit whose figures include it (itself first), from the composing lists:
// a unit nobody composes, other than the scope, is a part of the scope.
absl::StatusOr<std::vector<std::vector<uint32_t>>> Ancestors(const ModelElection& model) {
  const ContestElection& e = model.election;
  const auto scope = model.units.find(e.scope_id);
  if (scope == model.units.end()) {
    return absl::InvalidArgumentError(absl::StrCat("scope '", e.scope_id, "' is not a unit"));
  }
  std::vector<std::vector<uint32_t>> parents(e.units.size());
  for (uint32_t u = 0; u < e.units.size(); ++u) {
    for (const std::string& part : e.units[u].composing) {
      const auto it = model.units.find(part);
      if (it == model.units.end()) {
        return absl::InvalidArgumentError(absl::StrCat("unit '", part, "' is not a unit"));
      }
      parents[it->second].push_back(u);
    }
  }
  for (uint32_t u = 0; u < e.units.size(); ++u) {
    if (parents[u].empty() && u != scope->second) parents[u].push_back(scope->second);
  }
  std::vector<std::vector<uint32_t>> ancestors(e.units.size());
  for (uint32_t u = 0; u < e.units.size(); ++u) {
    std::vector<uint32_t> stack = {u};
    std::set<uint32_t> seen = {u};
    ancestors[u].push_back(u);
    while (!stack.empty()) {
      const uint32_t v = stack.back();
      stack.pop_back();
      for (const uint32_t p : parents[v]) {
        if (p == u) return absl::InvalidArgumentError("the unit hierarchy has a cycle");
        if (seen.insert(p).second) {
          ancestors[u].push_back(p);
          stack.push_back(p);
        }
      }
    }
  }
  return ancestors;
}

// What a cell of the model's layout means, for diffs.
std::string CellName(const ContestElection& e, uint32_t cell) {
  if (cell == 0) return "ballots_cast";
  uint32_t next = 1;
  for (const ElectionContest& contest : e.contests) {
    const uint32_t size = static_cast<uint32_t>(contest.selections.size());
    if (cell < next + size)
      return absl::StrCat(contest.id, " ", contest.selections[cell - next].id);
    if (cell < next + size + 3) {
      return absl::StrCat(contest.id, " ",
                          ContestFigureName(static_cast<ContestFigure>(cell - next - size)));
    }
    next += size + 3;
  }
  return absl::StrCat("cell ", cell);
}

// ---------------------------------------------------------------------------------------
// The writer: a small JSON tree, written in one of many layouts.

struct Json {
  enum class Kind : uint8_t { kRaw, kString, kObject, kArray };
  Kind kind = Kind::kRaw;
  std::string text;  // a raw token, or a string's value
  // An object's members as two columns (a vector of pairs holding this type would need it
  // complete, which clang insists on).
  std::vector<std::string> keys;
  std::vector<Json> members;
  std::vector<Json> items;

  static Json Raw(std::string token) { return Json{Kind::kRaw, std::move(token), {}, {}, {}}; }
  static Json Str(std::string value) { return Json{Kind::kString, std::move(value), {}, {}, {}}; }
  static Json Object() { return Json{Kind::kObject, "", {}, {}, {}}; }
  static Json Array() { return Json{Kind::kArray, "", {}, {}, {}}; }
  Json& Add(std::string key, Json value) {
    keys.push_back(std::move(key));
    members.push_back(std::move(value));
    return *this;
  }
  Json& Push(Json value) {
    items.push_back(std::move(value));
    return *this;
  }
};

class JsonStyle {
 public:
  explicit JsonStyle(uint64_t layout) : draws_(layout, 1) {
    spacing_ = static_cast<int>(draws_.Below(4));  // compact, spaced, pretty, pretty+CRLF
    shuffle_ = draws_.Below(3) != 0;
    escape_values_ = draws_.Below(5) == 0;
    escape_keys_ = draws_.Below(8) == 0;
    escape_slash_ = draws_.Below(2) == 0;
  }

  // `broken_member` >= 0: that member of the outermost object loses its ':'.
  void Write(const Json& value, int depth, int broken_member, std::string* out) {
    switch (value.kind) {
      case Json::Kind::kRaw:
        *out += value.text;
        return;
      case Json::Kind::kString:
        String(value.text, escape_values_, out);
        return;
      case Json::Kind::kArray: {
        if (value.items.empty()) {
          *out += "[]";
          return;
        }
        *out += '[';
        for (size_t i = 0; i < value.items.size(); ++i) {
          Separator(i == 0, depth + 1, out);
          Write(value.items[i], depth + 1, -1, out);
        }
        Close(depth, out);
        *out += ']';
        return;
      }
      case Json::Kind::kObject: {
        if (value.members.empty()) {
          *out += "{}";
          return;
        }
        std::vector<size_t> order(value.members.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = i;
        if (shuffle_) draws_.Shuffle(&order);
        *out += '{';
        for (size_t i = 0; i < order.size(); ++i) {
          Separator(i == 0, depth + 1, out);
          const std::string& key = value.keys[order[i]];
          const Json& member = value.members[order[i]];
          String(key, escape_keys_, out);
          if (static_cast<int>(order[i]) != broken_member) *out += ':';
          if (spacing_ > 0) *out += ' ';
          Write(member, depth + 1, -1, out);
        }
        Close(depth, out);
        *out += '}';
        return;
      }
    }
  }

  const char* Newline() const { return spacing_ == 3 ? "\r\n" : "\n"; }

 private:
  void Separator(bool first, int depth, std::string* out) {
    if (!first) *out += ',';
    if (spacing_ >= 2) {
      *out += Newline();
      out->append(2 * static_cast<size_t>(depth), spacing_ == 3 ? '\t' : ' ');
    } else if (spacing_ == 1 && !first) {
      *out += ' ';
    }
  }
  void Close(int depth, std::string* out) {
    if (spacing_ >= 2) {
      *out += Newline();
      out->append(2 * static_cast<size_t>(depth), spacing_ == 3 ? '\t' : ' ');
    }
  }
  void String(const std::string& value, bool escape, std::string* out) {
    *out += '"';
    for (const char c : value) {
      const unsigned char byte = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        *out += '\\';
        *out += c;
      } else if (byte < 0x20 || (escape && byte < 0x80 && draws_.Below(4) == 0)) {
        absl::StrAppendFormat(out, "\\u%04x", byte);
      } else if (c == '/' && escape_slash_) {
        *out += "\\/";
      } else {
        *out += c;
      }
    }
    *out += '"';
  }

  Draws draws_;
  int spacing_ = 0;
  bool shuffle_ = false;
  bool escape_values_ = false;
  bool escape_keys_ = false;
  bool escape_slash_ = false;
};

Json MarkJson(const StressMark& mark, Draws& extras) {
  Json position = Json::Object();
  if (!mark.has_indication.empty()) position.Add("HasIndication", Json::Str(mark.has_indication));
  if (!mark.is_allocable.empty()) position.Add("IsAllocable", Json::Str(mark.is_allocable));
  switch (mark.number_votes.kind) {
    case StressNumberVotes::Kind::kAbsent:
      break;
    case StressNumberVotes::Kind::kInteger:
      position.Add("NumberVotes", Json::Raw(absl::StrCat(mark.number_votes.value)));
      break;
    case StressNumberVotes::Kind::kText:
      position.Add("NumberVotes", Json::Raw(mark.number_votes.text));
      break;
  }
  if (mark.rank > 0) position.Add("Rank", Json::Raw(absl::StrCat(mark.rank)));
  if (!mark.write_in_text.empty()) {
    position.Add("CVRWriteIn", Json::Object().Add("Text", Json::Str(mark.write_in_text)));
  }
  if (extras.Below(6) == 0) position.Add("@type", Json::Str("CVR.SelectionPosition"));
  if (extras.Below(6) == 0) position.Add("Position", Json::Raw("1"));
  return position;
}

Json ContestJson(const StressContest& contest, Draws& extras) {
  Json json = Json::Object();
  json.Add("ContestId", Json::Str(contest.contest));
  if (contest.overvotes) json.Add("Overvotes", Json::Raw(absl::StrCat(*contest.overvotes)));
  if (contest.undervotes) json.Add("Undervotes", Json::Raw(absl::StrCat(*contest.undervotes)));
  if (!contest.marks.empty() || extras.Below(2) == 0) {
    Json selections = Json::Array();
    // Consecutive marks of one selection are the positions of one CVRContestSelection.
    for (size_t m = 0; m < contest.marks.size();) {
      Json positions = Json::Array();
      size_t end = m;
      while (end < contest.marks.size() &&
             contest.marks[end].selection == contest.marks[m].selection) {
        positions.Push(MarkJson(contest.marks[end], extras));
        ++end;
      }
      Json selection = Json::Object();
      selection.Add("ContestSelectionId", Json::Str(contest.marks[m].selection));
      selection.Add("SelectionPosition", std::move(positions));
      if (extras.Below(6) == 0) selection.Add("@type", Json::Str("CVR.CVRContestSelection"));
      selections.Push(std::move(selection));
      m = end;
    }
    json.Add("CVRContestSelection", std::move(selections));
  }
  if (extras.Below(6) == 0) json.Add("@type", Json::Str("CVR.CVRContest"));
  return json;
}

// A few values that trip scanners that do not honour strings and escapes.
constexpr const char* kTrickyText[] = {"a ] } [ { text", "quote \" and \\ backslash",
                                       "}]},{\"CVR\": [", "slash / and \u00e9"};

}  // namespace

std::string RenderStressRecord(const StressRecord& record) {
  Draws extras(record.layout, 2);
  Json json = Json::Object();
  static constexpr const char* kIdKeys[] = {"UniqueId", "BallotPrePrintedId", "BallotAuditId"};
  for (int f = 0; f < kNumCvrIdentityFields; ++f) {
    if (record.ids[f]) json.Add(kIdKeys[f], Json::Str(*record.ids[f]));
  }
  if (record.device) json.Add("CreatingDeviceId", Json::Str(*record.device));
  if (record.unit) json.Add("BallotStyleUnitId", Json::Str(*record.unit));
  if (record.current_snapshot) json.Add("CurrentSnapshotId", Json::Str(*record.current_snapshot));
  Json snapshots = Json::Array();
  for (const StressSnapshot& snapshot : record.snapshots) {
    Json contests = Json::Array();
    for (const StressContest& contest : snapshot.contests)
      contests.Push(ContestJson(contest, extras));
    Json json_snapshot = Json::Object();
    json_snapshot.Add("@id", Json::Str(snapshot.id));
    json_snapshot.Add("Type", Json::Str(snapshot.type));
    json_snapshot.Add("CVRContest", std::move(contests));
    snapshots.Push(std::move(json_snapshot));
  }
  json.Add("CVRSnapshot", std::move(snapshots));
  if (extras.Below(4) == 0) json.Add("@type", Json::Str("CVR.CVR"));
  if (extras.Below(5) == 0) {
    json.Add("BallotSheetId", Json::Str(kTrickyText[extras.Below(std::size(kTrickyText))]));
  }
  if (extras.Below(8) == 0) {
    json.Add("PartyIds", Json::Array().Push(Json::Str("p-1")).Push(Json::Object()));
  }
  if (record.broken_json == StressRecord::Break::kUnreadValue) {
    json.Add("Extra", Json::Raw("{\"a\" 1}"));
  }
  const int broken = record.broken_json == StressRecord::Break::kMissingColon
                         ? static_cast<int>(extras.Below(json.members.size()))
                         : -1;
  std::string out;
  JsonStyle(record.layout).Write(json, 1, broken, &out);
  return out;
}

StressRecordOutcome ModelStressRecord(const ContestElection& election, const StressRecord& record) {
  return Model(ModelElection(election), record);
}

absl::StatusOr<ContestTally> ExpectContestTally(const ContestElection& election,
                                                const std::vector<StressRecord>& records) {
  const ModelElection model(election);
  absl::StatusOr<std::vector<std::vector<uint32_t>>> ancestors = Ancestors(model);
  if (!ancestors.ok()) return ancestors.status();
  ContestTally tally;
  tally.num_units = static_cast<uint32_t>(election.units.size());
  tally.cells_per_unit = model.cells_per_unit;
  tally.cells.assign(static_cast<size_t>(tally.num_units) * tally.cells_per_unit, 0);
  tally.records_read = records.size();
  struct Copies {
    StressRecordOutcome first;
    uint64_t copies = 0;
    bool differ = false;
    bool adjudicated = false;  // any copy (equal copies are one ballot)
  };
  std::map<std::string, Copies> identities;
  for (const StressRecord& record : records) {
    StressRecordOutcome outcome = Model(model, record);
    if (outcome.rejected) {
      ++tally.rejected[static_cast<int>(*outcome.rejected)];
      continue;
    }
    Copies& copies = identities[outcome.identity];
    copies.adjudicated |= outcome.adjudicated;
    if (copies.copies++ == 0) {
      copies.first = std::move(outcome);
    } else if (outcome.unit != copies.first.unit || outcome.cells != copies.first.cells) {
      copies.differ = true;
    }
  }
  for (const auto& [identity, copies] : identities) {
    if (copies.differ) {
      tally.rejected[static_cast<int>(CastReject::kConflict)] += copies.copies;
      continue;
    }
    ++tally.counted;
    if (copies.adjudicated) ++tally.adjudicated;
    tally.rejected[static_cast<int>(CastReject::kDuplicate)] += copies.copies - 1;
    for (const uint32_t unit : (*ancestors)[copies.first.unit]) {
      for (const CellVotes& cell : copies.first.cells) {
        tally.cells[static_cast<size_t>(unit) * tally.cells_per_unit + cell.cell] += cell.votes;
      }
    }
  }
  return tally;
}

// ---------------------------------------------------------------------------------------
// Drawing a round.

namespace {

struct RoundPlan {
  std::vector<std::string> leaves;            // unit ids ballots may belong to
  std::vector<std::vector<uint32_t>> styles;  // per leaf, the contests of its ballot style
};

const char* const kWriteInNames[] = {"Zed Zane", "Q \"the\" Kid", "{[ Brace ]}",
                                     "A, B: C",  "back\\slash",   "Ünïcødé"};

StressMark RandomMark(Draws& d, const Selection& selection) {
  StressMark mark;
  mark.selection = selection.id;
  uint64_t r = d.Below(100);
  mark.has_indication = r < 8 ? "no" : r < 50 ? "yes" : "";
  r = d.Below(100);
  mark.is_allocable = r < 5 ? "no" : r < 9 ? "unknown" : r < 40 ? "yes" : "";
  r = d.Below(100);
  if (r >= 80) {
    mark.number_votes.kind = StressNumberVotes::Kind::kInteger;
    mark.number_votes.value = r < 88 ? 1 : r < 96 ? 2 : 0;
  }
  if (selection.write_in && d.Below(2) == 0) {
    mark.write_in_text = kWriteInNames[d.Below(std::size(kWriteInNames))];
  }
  return mark;
}

// k distinct selection indices of `n`, in random order.
std::vector<uint32_t> Pick(Draws& d, uint32_t n, uint32_t k) {
  std::vector<uint32_t> all(n);
  for (uint32_t i = 0; i < n; ++i) all[i] = i;
  d.Shuffle(&all);
  all.resize(std::min(n, k));
  return all;
}

StressContest RandomContest(Draws& d, const ElectionContest& contest) {
  StressContest out;
  out.contest = contest.id;
  const uint32_t n = static_cast<uint32_t>(contest.selections.size());
  const uint32_t vote_for = contest.vote_for;
  if (contest.kind == ContestKind::kRanked) {
    const uint32_t k = static_cast<uint32_t>(d.Below(n + 1));
    const std::vector<uint32_t> picked = Pick(d, n, k);
    const uint64_t r = d.Below(100);
    for (uint32_t i = 0; i < picked.size(); ++i) {
      StressMark mark = RandomMark(d, contest.selections[picked[i]]);
      mark.rank = i + 1;
      if (r < 10 && i == 1) mark.rank = 1;             // two first preferences: an overvote
      if (r >= 10 && r < 20) mark.rank = i + 2;        // no first preference: an undervote
      if (r >= 20 && r < 25 && i == 0) mark.rank = 0;  // no Rank: a first preference
      out.marks.push_back(std::move(mark));
    }
  } else {
    const uint64_t r = d.Below(100);
    uint32_t k = 0;
    if (r < 10) {
      k = 0;
    } else if (r < 25 && n > vote_for) {
      k = vote_for + 1 + static_cast<uint32_t>(d.Below(std::min<uint32_t>(n - vote_for, 2)));
    } else {
      k = 1 + static_cast<uint32_t>(d.Below(std::min(vote_for, n)));
    }
    for (const uint32_t s : Pick(d, n, k)) {
      out.marks.push_back(RandomMark(d, contest.selections[s]));
      if (d.Below(20) == 0) {
        // A second position of the same selection: mostly not counted, sometimes counted.
        StressMark again = RandomMark(d, contest.selections[s]);
        if (d.Below(3) != 0) again.has_indication = "no";
        out.marks.push_back(std::move(again));
      }
    }
  }
  if (d.Below(10) == 0) {
    // Declared figures: a primary ballot's 0 and 0, or figures of the record's own.
    if (d.Below(3) == 0) {
      out.overvotes = 0;
      out.undervotes = 0;
    } else {
      if (d.Below(2) == 0) out.overvotes = d.Below(3);
      if (d.Below(2) == 0) out.undervotes = d.Below(4);
    }
  }
  return out;
}

std::vector<StressContest> RandomContests(Draws& d, const ContestElection& election,
                                          const std::vector<uint32_t>& style) {
  std::vector<uint32_t> order = style;
  if (d.Below(4) == 0) d.Shuffle(&order);
  std::vector<StressContest> contests;
  for (const uint32_t c : order) {
    if (d.Below(10) == 0) continue;  // not on this record
    contests.push_back(RandomContest(d, election.contests[c]));
  }
  return contests;
}

ContestElection DrawElection(Draws& d, uint64_t seed, RoundPlan* plan) {
  ContestElection election;
  election.id = absl::StrCat("contest-stress-", seed);
  election.name = "contest stress round";
  election.source = "canvass stress --contests";
  election.synthetic = true;
  const uint32_t levels = 1 + static_cast<uint32_t>(d.Below(4));
  static constexpr const char* kTypes[] = {"precinct", "district", "county", "state"};
  static constexpr const char* kPrefixes[] = {"ru-prec", "ru-dist", "ru-cnty", "ru-state"};
  std::vector<ReportingUnit> units;
  std::vector<std::vector<size_t>> by_level(levels);
  units.push_back({"ru-state", "The state", levels == 1 ? "precinct" : "state", {}, ""});
  by_level[0].push_back(0);
  uint32_t counter = 0;
  for (uint32_t level = 1; level < levels; ++level) {
    const uint32_t height = levels - 1 - level;  // 0: precincts
    for (const size_t parent : by_level[level - 1]) {
      const uint32_t children = 1 + static_cast<uint32_t>(d.Below(height == 0 ? 4 : 3));
      for (uint32_t k = 0; k < children; ++k) {
        ReportingUnit unit;
        unit.id = absl::StrCat(kPrefixes[height], "-", ++counter);
        if (d.Below(4) != 0) unit.name = absl::StrCat("Unit ", counter);
        unit.type = kTypes[height];
        units[parent].composing.push_back(unit.id);
        by_level[level].push_back(units.size());
        units.push_back(std::move(unit));
      }
    }
  }
  if (levels >= 3) {
    const std::vector<size_t>& precincts = by_level[levels - 1];
    const std::vector<size_t>& districts = by_level[levels - 2];
    if (districts.size() >= 2 && d.Below(3) == 0) {
      // A precinct split between two districts.
      const std::string& id = units[precincts[d.Below(precincts.size())]].id;
      for (const size_t district : districts) {
        auto& parts = units[district].composing;
        if (std::find(parts.begin(), parts.end(), id) == parts.end()) {
          parts.push_back(id);
          break;
        }
      }
    }
    if (d.Below(4) == 0) {
      // A precinct no district composes: a part of the scope.
      const std::string id = units[precincts[d.Below(precincts.size())]].id;
      for (ReportingUnit& unit : units) {
        std::erase(unit.composing, id);
      }
    }
  }
  if (levels >= 2 && d.Below(4) == 0) units[0].composing.clear();  // parts of the scope anyway
  for (const ReportingUnit& unit : units) {
    if (unit.composing.empty()) plan->leaves.push_back(unit.id);
  }
  election.scope_id = units[0].id;
  d.Shuffle(&units);
  election.units = std::move(units);
  // Contests.
  const uint32_t num_contests = 1 + static_cast<uint32_t>(d.Below(6));
  const bool shared_selection_ids = d.Below(2) == 0;
  for (uint32_t c = 0; c < num_contests; ++c) {
    ElectionContest contest;
    contest.id = absl::StrCat("cc-", c + 1);
    contest.name = absl::StrCat("Contest ", c + 1);
    if (d.Below(6) == 0) contest.kind = ContestKind::kRanked;
    contest.vote_for =
        contest.kind == ContestKind::kRanked ? 1 : 1 + static_cast<uint32_t>(d.Below(3));
    const uint32_t num_selections = 1 + static_cast<uint32_t>(d.Below(6));
    for (uint32_t s = 0; s < num_selections; ++s) {
      Selection selection;
      selection.id = shared_selection_ids ? absl::StrCat("cs-", s + 1)
                                          : absl::StrCat("cs-", c + 1, "-", s + 1);
      selection.name = absl::StrCat("Candidate ", s + 1);
      selection.write_in = num_selections >= 2 && s + 2 >= num_selections && d.Below(3) == 0;
      contest.selections.push_back(std::move(selection));
    }
    election.contests.push_back(std::move(contest));
  }
  for (size_t leaf = 0; leaf < plan->leaves.size(); ++leaf) {
    std::vector<uint32_t> style;
    for (uint32_t c = 0; c < num_contests; ++c) {
      if (d.Below(10) < 7) style.push_back(c);
    }
    if (style.empty()) style.push_back(static_cast<uint32_t>(d.Below(num_contests)));
    plan->styles.push_back(std::move(style));
  }
  return election;
}

struct FaultRates {
  double unknown_unit = 0;
  double unknown_contest = 0;
  double unknown_selection = 0;
  double malformed = 0;
  double duplicate = 0;
  double conflict = 0;
  double damaged_copy = 0;  // a rejected copy of a counted ballot (same identity)
};

// The current snapshot of `record` (the one its CurrentSnapshotId names).
StressSnapshot* Current(StressRecord* record) {
  for (StressSnapshot& snapshot : record->snapshots) {
    if (record->current_snapshot && snapshot.id == *record->current_snapshot) return &snapshot;
  }
  return nullptr;
}

// A mark of a known selection in a known contest of the current snapshot (added when there
// is none), for faults that spoil a mark.
StressMark* KnownMark(Draws& d, const ContestElection& election, StressRecord* record) {
  StressSnapshot* current = Current(record);
  if (current == nullptr) return nullptr;
  std::vector<StressMark*> known;
  StressContest* known_contest = nullptr;
  const ElectionContest* known_definition = nullptr;
  for (StressContest& contest : current->contests) {
    for (const ElectionContest& definition : election.contests) {
      if (definition.id != contest.contest) continue;
      known_contest = &contest;
      known_definition = &definition;
      for (StressMark& mark : contest.marks) {
        for (const Selection& selection : definition.selections) {
          if (selection.id == mark.selection) known.push_back(&mark);
        }
      }
    }
  }
  if (!known.empty()) return known[d.Below(known.size())];
  if (known_contest == nullptr) {
    current->contests.push_back({election.contests[0].id, {}, {}, {}});
    known_contest = &current->contests.back();
    known_definition = &election.contests[0];
  }
  known_contest->marks.push_back(RandomMark(d, known_definition->selections[0]));
  return &known_contest->marks.back();
}

// Makes `record` malformed, one way or another.
void Malform(Draws& d, const ContestElection& election, StressRecord* record) {
  switch (d.Below(11)) {
    case 0:
      record->broken_json = StressRecord::Break::kMissingColon;
      return;
    case 1:
    case 2:
    case 3: {
      static constexpr const char* kTokens[] = {"\"x\"", "-1", "1.5"};
      StressMark* mark = KnownMark(d, election, record);
      if (mark == nullptr) break;
      mark->number_votes.kind = StressNumberVotes::Kind::kText;
      mark->number_votes.text = kTokens[d.Below(3)];
      return;
    }
    case 4: {
      StressMark* mark = KnownMark(d, election, record);
      if (mark == nullptr) break;
      mark->number_votes.kind = StressNumberVotes::Kind::kInteger;
      mark->number_votes.value = kMaxVotes + 1 + d.Below(3);
      return;
    }
    case 5:
      for (auto& id : record->ids) id.reset();
      return;
    case 6:
      record->unit.reset();
      return;
    case 7:
      record->current_snapshot.reset();
      return;
    case 8:
      if (!record->current_snapshot) break;
      record->current_snapshot = *record->current_snapshot + "-gone";
      return;
    case 9: {
      StressSnapshot* current = Current(record);
      if (current == nullptr) break;
      StressSnapshot copy = *current;
      record->snapshots.insert(record->snapshots.begin() + d.Below(record->snapshots.size() + 1),
                               std::move(copy));
      return;
    }
    case 10: {
      StressSnapshot* current = Current(record);
      if (current == nullptr) break;
      if (current->contests.empty()) {
        current->contests.push_back({election.contests[0].id, {}, {}, {}});
      }
      StressContest again = current->contests[d.Below(current->contests.size())];
      current->contests.insert(current->contests.begin() + d.Below(current->contests.size() + 1),
                               std::move(again));
      return;
    }
    default:
      break;
  }
  record->broken_json = StressRecord::Break::kMissingColon;
}

// Applies a rejecting fault of kind `kind` (0 unknown unit, 1 unknown contest, 2 unknown
// selection, 3 malformed).
void Reject(Draws& d, const ContestElection& election, int kind, uint64_t serial,
            StressRecord* record) {
  StressSnapshot* current = Current(record);
  switch (kind) {
    case 0:
      record->unit = absl::StrCat("ru-nowhere-", serial % 7);
      return;
    case 1: {
      if (current == nullptr) return;
      StressContest unknown;
      unknown.contest = absl::StrCat("cc-nowhere-", serial % 5);
      StressMark mark;
      mark.selection = "cs-1";
      unknown.marks.push_back(mark);
      current->contests.insert(current->contests.begin() + d.Below(current->contests.size() + 1),
                               std::move(unknown));
      return;
    }
    case 2: {
      if (current == nullptr) return;
      // Into a known contest of the record (one is added when it has none).
      std::vector<size_t> known;
      for (size_t c = 0; c < current->contests.size(); ++c) {
        for (const ElectionContest& definition : election.contests) {
          if (definition.id == current->contests[c].contest) known.push_back(c);
        }
      }
      if (known.empty()) {
        current->contests.push_back({election.contests[0].id, {}, {}, {}});
        known.push_back(current->contests.size() - 1);
      }
      StressContest& contest = current->contests[known[d.Below(known.size())]];
      StressMark mark;
      mark.selection = absl::StrCat("cs-nowhere-", serial % 3);
      if (d.Below(2) == 0) mark.has_indication = "yes";
      contest.marks.insert(contest.marks.begin() + d.Below(contest.marks.size() + 1),
                           std::move(mark));
      return;
    }
    default:
      Malform(d, election, record);
      return;
  }
}

// A copy of `record` that differs in one thing a counter sees (a mark or the unit), when
// the model finds one within a few tries.
StressRecord Conflicting(Draws& d, const ContestElection& election, const RoundPlan& plan,
                         const StressRecord& record) {
  const StressRecordOutcome original = ModelStressRecord(election, record);
  StressRecord copy = record;
  for (int attempt = 0; attempt < 12; ++attempt) {
    copy = record;
    copy.layout = d.Bits();
    StressSnapshot* current = Current(&copy);
    const uint64_t what = d.Below(7);
    if (what == 0 || current == nullptr || current->contests.empty()) {
      copy.unit = plan.leaves[d.Below(plan.leaves.size())];
    } else {
      StressContest& contest = current->contests[d.Below(current->contests.size())];
      const ElectionContest* definition = nullptr;
      for (const ElectionContest& c : election.contests) {
        if (c.id == contest.contest) definition = &c;
      }
      if (definition == nullptr) continue;
      const size_t n = definition->selections.size();
      switch (what) {
        case 1:  // another selection
          if (!contest.marks.empty()) {
            contest.marks[d.Below(contest.marks.size())].selection =
                definition->selections[d.Below(n)].id;
          }
          break;
        case 2: {  // one mark more
          StressMark mark;
          mark.selection = definition->selections[d.Below(n)].id;
          if (definition->kind == ContestKind::kRanked) mark.rank = 1 + d.Below(2);
          contest.marks.push_back(std::move(mark));
          break;
        }
        case 3:  // one mark fewer
          if (!contest.marks.empty()) {
            contest.marks.erase(contest.marks.begin() + d.Below(contest.marks.size()));
          }
          break;
        case 4:  // indicated or not
          if (!contest.marks.empty()) {
            StressMark& mark = contest.marks[d.Below(contest.marks.size())];
            mark.has_indication = mark.has_indication == "no" ? "yes" : "no";
          }
          break;
        case 5:  // one vote more
          if (!contest.marks.empty()) {
            StressMark& mark = contest.marks[d.Below(contest.marks.size())];
            const uint64_t now = mark.number_votes.kind == StressNumberVotes::Kind::kInteger
                                     ? mark.number_votes.value
                                     : 1;
            mark.number_votes.kind = StressNumberVotes::Kind::kInteger;
            mark.number_votes.value = now == 2 ? 1 : 2;
          }
          break;
        default:  // another declared undervote figure
          contest.undervotes = contest.undervotes.value_or(0) + 1 + d.Below(2);
          break;
      }
    }
    const StressRecordOutcome changed = ModelStressRecord(election, copy);
    if (!changed.rejected && (changed.unit != original.unit || changed.cells != original.cells)) {
      return copy;
    }
  }
  return copy;  // the model says what it is (possibly an identical copy after all)
}

StressRecord MakeBallot(Draws& d, const ContestElection& election, const RoundPlan& plan,
                        const std::vector<std::string>& devices,
                        std::map<std::pair<int, int>, uint64_t>* counters) {
  StressRecord record;
  record.layout = d.Bits();
  const uint64_t r = d.Below(100);
  const int field = r < 70 ? 0 : r < 85 ? 1 : 2;
  const int device = devices.empty() ? -1 : static_cast<int>(d.Below(devices.size()));
  // Ids count per field and device, so one id string names several ballots at once.
  const uint64_t number = ++(*counters)[{field, device}];
  record.ids[field] = absl::StrCat("b", number);
  for (int lower = field + 1; lower < kNumCvrIdentityFields; ++lower) {
    if (d.Below(4) == 0) record.ids[lower] = absl::StrCat("x", d.Below(1000));
  }
  if (device >= 0) record.device = devices[device];
  const size_t leaf = d.Below(plan.leaves.size());
  record.unit = plan.leaves[leaf];
  const std::string base =
      absl::StrCat(device >= 0 ? devices[device] : "", "-", field, "-b", number);
  StressSnapshot current;
  current.id = absl::StrCat(base, "-s1");
  current.contests = RandomContests(d, election, plan.styles[leaf]);
  record.current_snapshot = current.id;
  if (d.Below(7) == 0) {
    // An original snapshot beside the adjudicated current one: never counted.
    StressSnapshot original;
    original.id = absl::StrCat(base, "-s0");
    original.contests = RandomContests(d, election, plan.styles[leaf]);
    current.type = "modified";
    record.snapshots.push_back(std::move(original));
    record.snapshots.insert(record.snapshots.begin() + d.Below(2), std::move(current));
  } else {
    record.snapshots.push_back(std::move(current));
  }
  return record;
}

std::string Describe(const ContestStressWorld& world, uint32_t levels) {
  uint32_t ranked = 0;
  for (const ElectionContest& contest : world.election.contests) {
    if (contest.kind == ContestKind::kRanked) ++ranked;
  }
  return absl::StrCat("round seed ", world.seed, ": ", levels, " levels, ",
                      world.election.units.size(), " units, ", world.election.contests.size(),
                      " contests (", ranked, " ranked), ", world.ballots, " ballots, ",
                      world.records.size(), " records in ", world.files.size(), " files, ",
                      world.threads, " threads, chunks of ", world.chunk_bytes, " bytes");
}

}  // namespace

uint64_t ContestStressRoundSeed(uint64_t seed, uint64_t round) {
  return KeyedRandom(seed, kContestStressStream, round, 0x5eed);
}

ContestStressWorld DrawContestStressWorld(uint64_t round_seed, int threads) {
  Draws d(round_seed);
  ContestStressWorld world;
  world.seed = round_seed;
  RoundPlan plan;
  world.election = DrawElection(d, round_seed, &plan);
  const absl::Status finalized = world.election.Finalize(world.election.id);
  (void)finalized;  // checked by RunContestStressRound, which reports it
  static constexpr int kThreads[] = {1, 2, 3, 4, 8};
  world.threads = threads > 0 ? threads : kThreads[d.Below(std::size(kThreads))];
  static constexpr uint64_t kChunks[] = {256, 1024, 4096, 65536, 4u << 20};
  world.chunk_bytes = kChunks[d.Below(std::size(kChunks))];
  FaultRates rates;
  auto rate = [&] { return d.Below(10) < 4 ? 0.0 : d.LogUniform(0.01, 0.3); };
  rates.unknown_unit = rate();
  rates.unknown_contest = rate();
  rates.unknown_selection = rate();
  rates.malformed = rate();
  rates.duplicate = rate();
  rates.conflict = rate();
  rates.damaged_copy = rate();
  std::vector<std::string> devices;
  if (d.Below(2) == 0) {
    const uint64_t n = 1 + d.Below(3);
    for (uint64_t i = 0; i < n; ++i) devices.push_back(absl::StrCat("scan-", i + 1));
  }
  world.ballots = d.Below(25) == 0 ? 0 : static_cast<uint64_t>(d.LogUniform(1, 300));
  std::map<std::pair<int, int>, uint64_t> counters;
  uint64_t serial = 0;
  for (uint64_t b = 0; b < world.ballots; ++b) {
    StressRecord record = MakeBallot(d, world.election, plan, devices, &counters);
    const double kinds[] = {rates.unknown_unit, rates.unknown_contest, rates.unknown_selection,
                            rates.malformed};
    bool faulted = false;
    for (int kind = 0; kind < 4 && !faulted; ++kind) {
      if (!d.Chance(kinds[kind])) continue;
      Reject(d, world.election, kind, ++serial, &record);
      faulted = true;
      // Sometimes a second reason at once: the first in table order wins.
      if (d.Below(10) == 0)
        Reject(d, world.election, static_cast<int>(d.Below(4)), ++serial, &record);
    }
    world.records.push_back(record);
    if (d.Chance(rates.duplicate)) {
      const uint64_t copies = 1 + (d.Below(4) == 0 ? 1 : 0);
      for (uint64_t k = 0; k < copies; ++k) {
        StressRecord copy = record;
        copy.layout = d.Bits();
        // Lower-priority ids are no part of the identity: a copy may state others.
        int field = 0;
        while (field < kNumCvrIdentityFields && !copy.ids[field]) ++field;
        for (int lower = field + 1; lower < kNumCvrIdentityFields; ++lower) {
          if (d.Below(4) == 0) copy.ids[lower] = absl::StrCat("y", d.Below(1000));
        }
        world.records.push_back(std::move(copy));
      }
    }
    if (!faulted && d.Chance(rates.conflict)) {
      const uint64_t copies = 1 + (d.Below(4) == 0 ? 1 : 0);
      for (uint64_t k = 0; k < copies; ++k) {
        world.records.push_back(Conflicting(d, world.election, plan, record));
      }
    }
    if (!faulted && d.Chance(rates.damaged_copy)) {
      // A rejected copy takes no part in the identity rules.
      StressRecord copy = record;
      copy.layout = d.Bits();
      Reject(d, world.election, d.Below(2) == 0 ? 0 : 3, ++serial, &copy);
      world.records.push_back(std::move(copy));
    }
  }
  // Interleaved across units and copies, then cut into files.
  d.Shuffle(&world.records);
  const size_t n = world.records.size();
  const size_t num_files = n == 0 ? 1 : 1 + d.Below(std::min<size_t>(6, n));
  std::vector<size_t> cuts = {0, n};
  while (cuts.size() < num_files + 1) {
    const size_t cut = 1 + d.Below(n - 1);
    if (std::find(cuts.begin(), cuts.end(), cut) == cuts.end()) cuts.push_back(cut);
  }
  std::sort(cuts.begin(), cuts.end());
  for (size_t f = 0; f < num_files; ++f) {
    StressFile file;
    // Folders are read by suffix in any case.
    file.name =
        d.Below(8) == 0 ? absl::StrFormat("cvr-%02d.JSON", f) : absl::StrFormat("cvr-%02d.json", f);
    for (size_t i = cuts[f]; i < cuts[f + 1]; ++i) file.records.push_back(i);
    file.layout = d.Bits();
    world.files.push_back(std::move(file));
  }
  return world;
}

namespace {

// A report: its own keys around the CVR array, in an order drawn from the file's layout.
std::string RenderFile(const ContestStressWorld& world, const StressFile& file) {
  Draws d(file.layout, 3);
  std::vector<std::pair<std::string, std::string>> members = {
      {"@type", "\"CVR.CastVoteRecordReport\""},
      {"Version", "\"1.0.0\""},
      {"GeneratedDate", "\"2024-11-05T21:00:00Z\""},
      {"ReportGeneratingDeviceIds", "[\"scan-1\", \"scan-2\"]"},
      {"Notes", "\"canvass stress --contests: a ] } [ { in a string, and an escaped \\\" quote\""},
  };
  if (d.Below(3) == 0) {
    members.emplace_back("Election",
                         "[{\"@id\": \"e-1\", \"Name\": \"} ] { [\", \"Contest\": []}]");
  }
  std::string records;
  const char* separators[] = {",", ",\n", ", ", "\n,\n", ",\r\n", " ,\t"};
  const char* separator = separators[d.Below(std::size(separators))];
  records += "[";
  records += d.Below(2) == 0 ? "\n" : "";
  for (size_t i = 0; i < file.records.size(); ++i) {
    if (i > 0) records += separator;
    records += RenderStressRecord(world.records[file.records[i]]);
  }
  records += d.Below(2) == 0 ? "\n]" : "]";
  d.Shuffle(&members);
  // The CVR array goes anywhere among the report's keys.
  members.insert(members.begin() + d.Below(members.size() + 1), {"CVR", std::move(records)});
  std::string out = d.Below(20) == 0 ? "\xEF\xBB\xBF" : "";
  out += "{";
  for (size_t i = 0; i < members.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ",", d.Below(2) == 0 ? "\n" : " ", "\"", members[i].first,
                    "\": ", members[i].second);
  }
  out += "\n}\n";
  return out;
}

std::string TallyDiff(const ContestElection& election, const ContestTally& expected,
                      const ContestTally& actual, absl::string_view label) {
  std::string diff;
  auto line = [&](const std::string& what, uint64_t e, uint64_t a) {
    absl::StrAppend(&diff, "  ", label, ": ", what, ": expected ", e, ", actual ", a, "\n");
  };
  if (expected.num_units != actual.num_units) line("units", expected.num_units, actual.num_units);
  if (expected.cells_per_unit != actual.cells_per_unit) {
    line("cells per unit", expected.cells_per_unit, actual.cells_per_unit);
  }
  if (expected.records_read != actual.records_read) {
    line("records read", expected.records_read, actual.records_read);
  }
  if (expected.counted != actual.counted) line("counted", expected.counted, actual.counted);
  for (int r = 0; r < kNumCastRejects; ++r) {
    if (expected.rejected[r] != actual.rejected[r]) {
      line(std::string(CastRejectName(static_cast<CastReject>(r))), expected.rejected[r],
           actual.rejected[r]);
    }
  }
  if (expected.cells.size() != actual.cells.size() || expected.cells_per_unit == 0) return diff;
  size_t shown = 0;
  size_t differing = 0;
  for (size_t i = 0; i < expected.cells.size(); ++i) {
    if (expected.cells[i] == actual.cells[i]) continue;
    ++differing;
    if (shown++ >= kDiffLines) continue;
    const uint32_t unit = static_cast<uint32_t>(i / expected.cells_per_unit);
    const uint32_t cell = static_cast<uint32_t>(i % expected.cells_per_unit);
    line(absl::StrCat("unit ", election.units[unit].id, " cell ", cell, " (",
                      CellName(election, cell), ")"),
         expected.cells[i], actual.cells[i]);
  }
  if (differing > kDiffLines) {
    absl::StrAppend(&diff, "  ", label, ": ... ", differing - kDiffLines, " more cells differ\n");
  }
  return diff;
}

}  // namespace

ContestStressResult RunContestStressRound(const ContestStressWorld& world,
                                          const std::string& scratch_dir, bool canary) {
  ContestStressResult result;
  result.seed = world.seed;
  result.files = world.files.size();
  result.records = world.records.size();
  result.ballots = world.ballots;
  result.threads = world.threads;
  auto fail = [&](std::string what) {
    result.passed = false;
    result.failures.push_back(std::move(what));
  };
  // The election must be one Finalize accepts (the drawing is meant to make only those).
  ContestElection election = world.election;
  if (absl::Status status = election.Finalize(world.election.id); !status.ok()) {
    result.description = Describe(world, 0);
    fail(absl::StrCat("the drawn election is invalid: ", status.message()));
    return result;
  }
  uint32_t levels = 0;
  for (uint32_t u = 0; u < election.units.size(); ++u) {
    levels = std::max(levels, election.Level(u) + 1);
  }
  result.description = Describe(world, levels);
  absl::StatusOr<ContestTally> expected = ExpectContestTally(world.election, world.records);
  if (!expected.ok()) {
    fail(absl::StrCat("the model cannot tally: ", expected.status().message()));
    return result;
  }
  result.expected = *std::move(expected);
  if (canary && !result.expected.cells.empty()) {
    Draws d(world.seed, 4);
    const uint32_t unit = static_cast<uint32_t>(d.Below(result.expected.num_units));
    const uint32_t cell = static_cast<uint32_t>(d.Below(result.expected.cells_per_unit));
    result.expected.cells[static_cast<size_t>(unit) * result.expected.cells_per_unit + cell] += 1;
    result.canary_cell = std::make_pair(unit, cell);
  }
  // Per file: records, and those that pass the record checks by identity field.
  const ModelElection model(world.election);
  std::vector<std::array<uint64_t, kNumCvrIdentityFields>> fields(world.files.size());
  for (size_t f = 0; f < world.files.size(); ++f) {
    for (const size_t r : world.files[f].records) {
      const StressRecordOutcome outcome = Model(model, world.records[r]);
      if (!outcome.rejected) ++fields[f][static_cast<int>(outcome.identity_field)];
    }
  }
  // Write the files into a fresh folder.
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(scratch_dir) / absl::StrCat("contest-round-", world.seed);
  std::error_code error;
  fs::remove_all(dir, error);
  fs::create_directories(dir, error);
  if (error) {
    fail(absl::StrCat("cannot create ", dir.string(), ": ", error.message()));
    return result;
  }
  std::vector<std::string> paths;
  for (const StressFile& file : world.files) {
    const fs::path path = dir / file.name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    const std::string text = RenderFile(world, file);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    if (!out) {
      fail(absl::StrCat("cannot write ", path.string()));
      fs::remove_all(dir, error);
      return result;
    }
    paths.push_back(path.string());
  }
  // Read 1: the folder on the round's workers. Read 2: the files in reverse order, the first
  // of them given twice, on one worker (or three when the round has one).
  CvrJobOptions options;
  options.threads = world.threads;
  options.chunk_bytes = world.chunk_bytes;
  absl::StatusOr<CvrJobResult> folder = ReadCvrFiles(election, {dir.string()}, options);
  std::vector<std::string> reversed(paths.rbegin(), paths.rend());
  if (!reversed.empty()) reversed.push_back(reversed.front());
  options.threads = world.threads == 1 ? 3 : 1;
  absl::StatusOr<CvrJobResult> files = ReadCvrFiles(election, reversed, options);
  fs::remove_all(dir, error);
  if (!folder.ok() || !files.ok()) {
    if (!folder.ok()) fail(absl::StrCat("reading the folder failed: ", folder.status().message()));
    if (!files.ok()) fail(absl::StrCat("reading the files failed: ", files.status().message()));
    return result;
  }
  result.actual = folder->tally;
  const std::string labels[] = {absl::StrCat(world.threads, " threads"),
                                absl::StrCat(options.threads, " threads, files reversed")};
  const CvrJobResult* reads[] = {&*folder, &*files};
  for (int i = 0; i < 2; ++i) {
    const ContestTally& tally = reads[i]->tally;
    if (tally != result.expected) {
      fail(absl::StrCat("tally on ", labels[i], " differs from the prediction"));
      result.diff += TallyDiff(world.election, result.expected, tally, labels[i]);
    }
    if (tally.records_read != tally.counted + tally.TotalRejected()) {
      fail(absl::StrCat(labels[i], ": records read ", tally.records_read, " != counted ",
                        tally.counted, " + rejected ", tally.TotalRejected()));
    }
    const std::optional<uint32_t> scope = election.FindUnit(election.scope_id);
    if (scope && !tally.cells.empty() &&
        tally.Cell(*scope, ContestElection::kBallotsCastCell) != tally.counted) {
      fail(absl::StrCat(labels[i], ": the scope's ballots cast ",
                        tally.Cell(*scope, ContestElection::kBallotsCastCell), " != counted ",
                        tally.counted));
    }
    // Located examples: the first few of each reason a reader found.
    std::array<uint64_t, kNumCastRejects> examples{};
    for (const CastRejectExample& example : reads[i]->examples) {
      ++examples[static_cast<int>(example.reason)];
    }
    for (int r = 0; r <= static_cast<int>(CastReject::kUnknownSelection); ++r) {
      const uint64_t want = std::min<uint64_t>(5, result.expected.rejected[r]);
      if (examples[r] != want) {
        fail(absl::StrCat(labels[i], ": ", examples[r], " examples of ",
                          CastRejectName(static_cast<CastReject>(r)), ", expected ", want));
      }
    }
  }
  if (folder->tally != files->tally) {
    fail("the two reads differ (thread count or file order changed a figure)");
    result.diff += TallyDiff(world.election, folder->tally, files->tally, "read 2 against read 1");
  }
  // Per file: what each input says it held.
  if (folder->inputs.size() != world.files.size() || !folder->skipped.empty()) {
    fail(absl::StrCat("the folder gave ", folder->inputs.size(), " inputs and ",
                      folder->skipped.size(), " skipped; expected ", world.files.size(), " and 0"));
  } else {
    for (const CvrInput& input : folder->inputs) {
      const std::string name = fs::path(input.path).filename().string();
      for (size_t f = 0; f < world.files.size(); ++f) {
        if (world.files[f].name != name) continue;
        if (input.records != world.files[f].records.size() || input.identity_fields != fields[f]) {
          fail(absl::StrCat(name, ": ", input.records, " records (identity fields ",
                            input.identity_fields[0], "/", input.identity_fields[1], "/",
                            input.identity_fields[2], "), expected ", world.files[f].records.size(),
                            " (", fields[f][0], "/", fields[f][1], "/", fields[f][2], ")"));
        }
      }
    }
  }
  if (!paths.empty() && files->repeated.size() != 1) {
    fail(absl::StrCat("a file given twice was reported repeated ", files->repeated.size(),
                      " times, expected once"));
  }
  return result;
}

ContestStressResult ContestStressRound(uint64_t seed, uint64_t round, int threads,
                                       const std::string& scratch_dir, bool canary) {
  return RunContestStressRound(DrawContestStressWorld(ContestStressRoundSeed(seed, round), threads),
                               scratch_dir, canary);
}

}  // namespace canvass
