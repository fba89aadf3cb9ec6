// CvrGenerator: the plan of synthetic cast vote records and their JSON.
#include "engine/synth/cvr_generator.h"

#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "engine/base/json_text.h"
#include "engine/base/status_macros.h"
#include "engine/io/cvb/contest_cvb.h"
#include "engine/io/cvb/cvb_format.h"
#include "engine/io/nist/cvr_builder.h"
#include "engine/io/nist/cvr_writer.h"
#include "engine/synth/random.h"

namespace canvass {
namespace {

constexpr uint64_t kMaxFigure = uint64_t{1} << 40;
constexpr size_t kFlushBytes = 4u << 20;

// A buffer appended to and written to `out` every kFlushBytes; counts what was written.
class BufferedFile {
 public:
  BufferedFile(std::FILE* out, const std::string& name) : out_(out), name_(name) {}
  std::string& buffer() { return buffer_; }
  absl::Status MaybeFlush() { return buffer_.size() >= kFlushBytes ? Flush() : absl::OkStatus(); }
  // The rest written and flushed: the bytes written, or DataLoss naming the file.
  absl::StatusOr<uint64_t> Finish() {
    if (absl::Status status = Flush(); !status.ok()) return status;
    if (std::fflush(out_) != 0) return Failed();
    return written_;
  }

 private:
  absl::Status Flush() {
    if (!buffer_.empty() &&
        std::fwrite(buffer_.data(), 1, buffer_.size(), out_) != buffer_.size()) {
      return Failed();
    }
    written_ += buffer_.size();
    buffer_.clear();
    return absl::OkStatus();
  }
  absl::Status Failed() const {
    return absl::DataLossError(absl::StrCat(name_, ": write failed after ", written_, " bytes"));
  }

  std::FILE* out_;
  const std::string& name_;
  std::string buffer_;
  uint64_t written_ = 0;
};

uint64_t CeilDiv(uint64_t a, uint64_t b) { return a / b + (a % b != 0); }

// The first keys of the fault draws (KeyedRandom's `a`), apart from the planning draws'
// (keyed by unit index, far below these).
constexpr uint64_t kUnitDraws = uint64_t{1} << 62;
constexpr uint64_t kBallotDraws = (uint64_t{1} << 62) + 1;

}  // namespace

std::string CvrPredictionPath(const std::string& out) {
  absl::string_view base = out;
  while (base.size() > 1 && base.back() == '/') base.remove_suffix(1);
  return absl::StrCat(base, "-predicted.json");
}

absl::StatusOr<CvrGenerator> CvrGenerator::Plan(const ContestElection& election,
                                                const CvrGeneratorOptions& options) {
  for (const Fault fault : {Fault::kBadSeq, Fault::kReorder}) {
    if (options.faults[fault] > 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--faults ", FaultName(fault), ": ",
          fault == Fault::kBadSeq
              ? "cast vote records have no serial numbers to damage"
              : "the order of cast vote records is --interleave's (records are independent of "
                "their order)",
          "; the faults of cast vote records are drop, dup, conflict, corrupt, unknown_station, "
          "unknown_choice, truncate and double_report"));
    }
  }
  CvrGenerator generator(election);
  generator.options_ = options;
  generator.misrouted_unit_ = "canvass-misrouted";
  while (election.FindUnit(generator.misrouted_unit_)) generator.misrouted_unit_ += "~";
  generator.unknown_selection_ = "canvass-unknown-selection";
  for (bool taken = true; taken;) {
    taken = false;
    for (uint32_t c = 0; c < election.contests.size() && !taken; ++c) {
      taken = election.FindSelection(c, generator.unknown_selection_).has_value();
    }
    if (taken) generator.unknown_selection_ += "~";
  }
  const uint32_t units = static_cast<uint32_t>(election.units.size());
  std::vector<uint8_t> reported(units, 0);
  std::vector<uint8_t> below(units, 0);
  for (const ReportedCell& cell : election.reported) reported[cell.unit] = 1;
  for (uint32_t u = 0; u < units; ++u) {
    if (!reported[u]) continue;
    const std::vector<uint32_t>& up = election.RollUp(u);
    for (size_t a = 1; a < up.size(); ++a) below[up[a]] = 1;
  }
  for (uint32_t u = 0; u < units; ++u) {
    if (reported[u] && !below[u]) generator.generating_units_.push_back(u);
  }
  if (generator.generating_units_.empty()) generator.generating_units_.push_back(election.scope());

  auto figure = [&](uint32_t unit, uint32_t cell) -> absl::StatusOr<uint64_t> {
    const uint64_t value = election.Reported(unit, cell).value_or(0);
    if (value > kMaxFigure / options.scale) {
      return absl::InvalidArgumentError(absl::StrCat(
          election.source, ": unit '", election.units[unit].id, "': a figure of ", value,
          " at scale ", options.scale, " is past the generator's 2^40 per unit"));
    }
    return value * options.scale;
  };
  for (const uint32_t u : generator.generating_units_) {
    UnitPlan unit;
    unit.unit = u;
    absl::StatusOr<uint64_t> cast = figure(u, ContestElection::kBallotsCastCell);
    if (!cast.ok()) return cast.status();
    unit.ballots = *cast;
    for (uint32_t c = 0; c < election.contests.size(); ++c) {
      const ElectionContest& contest = election.contests[c];
      ContestPlan plan;
      plan.contest = c;
      bool any = false;
      uint64_t largest = 0;
      plan.vote_prefix.assign(contest.selections.size() + 1, 0);
      for (uint32_t s = 0; s < contest.selections.size(); ++s) {
        const uint32_t cell = election.SelectionCell(c, s);
        any |= election.Reported(u, cell).has_value();
        absl::StatusOr<uint64_t> votes = figure(u, cell);
        if (!votes.ok()) return votes.status();
        plan.vote_prefix[s + 1] = plan.vote_prefix[s] + *votes;
        largest = std::max(largest, *votes);
      }
      plan.votes = plan.vote_prefix.back();
      const uint32_t over_cell = election.FigureCell(c, ContestFigure::kOvervotes);
      const uint32_t under_cell = election.FigureCell(c, ContestFigure::kUndervotes);
      any |= election.Reported(u, over_cell).has_value() ||
             election.Reported(u, under_cell).has_value();
      if (!any) continue;
      absl::StatusOr<uint64_t> over = figure(u, over_cell);
      if (!over.ok()) return over.status();
      absl::StatusOr<uint64_t> under = figure(u, under_cell);
      if (!under.ok()) return under.status();
      const uint64_t n = contest.vote_for;
      plan.overvotes = *over;
      plan.overvoted = CeilDiv(*over, n);
      if (plan.overvoted > 0 && contest.selections.size() < n + 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            election.source, ": unit '", election.units[u].id, "', contest '", contest.id,
            "': ", *over, " overvotes, but an overvote needs more than ", n, " selections"));
      }
      plan.shared = std::max(CeilDiv(plan.votes + *under, n), largest);
      plan.under_excess = n * plan.shared - plan.votes - *under;
      if (plan.overvoted + plan.shared == 0) continue;
      unit.contests.push_back(std::move(plan));
    }
    for (const ContestPlan& plan : unit.contests) {
      unit.ballots = std::max(unit.ballots, plan.overvoted + plan.shared);
    }
    for (ContestPlan& plan : unit.contests) {
      // A bijection i -> stride * i + offset (mod ballots): which of the unit's ballots
      // carry the contest, seeded per unit and contest.
      const uint64_t random = KeyedRandom(options.seed, u, plan.contest);
      plan.stride = (random % unit.ballots) | 1;
      while (std::gcd(plan.stride, unit.ballots) != 1) plan.stride += 2;
      plan.offset = KeyedRandom(options.seed, u, plan.contest, 1) % unit.ballots;
    }
    generator.ballots_ += unit.ballots;
    // Station faults, per unit: where its stream is cut, and whether it is sent twice.
    const FaultPlan& plan = options.faults;
    unit.delivered = unit.ballots;
    if (unit.ballots > 0 &&
        UnitOpen(KeyedRandom(options.seed, kUnitDraws, u, 0)) < plan[Fault::kTruncate]) {
      unit.delivered = KeyedRandom(options.seed, kUnitDraws, u, 1) % unit.ballots;
    }
    if (unit.ballots > 0 &&
        UnitOpen(KeyedRandom(options.seed, kUnitDraws, u, 2)) < plan[Fault::kDoubleReport]) {
      unit.resend = (KeyedRandom(options.seed, kUnitDraws, u, 3) & 1) ? 2 : 1;
    }
    if (unit.ballots > 0) generator.units_.push_back(std::move(unit));
  }
  // Record r of the file is record RecordOrder(r) of the units laid end to end.
  for (const UnitPlan& unit : generator.units_) {
    generator.unit_end_.push_back((generator.unit_end_.empty() ? 0 : generator.unit_end_.back()) +
                                  unit.ballots);
  }
  const uint64_t ballots = generator.ballots_;
  if (options.interleave && ballots > 1) {
    generator.stride_ = (KeyedRandom(options.seed, ~uint64_t{0}) % ballots) | 1;
    while (std::gcd(generator.stride_, ballots) != 1) generator.stride_ += 2;
    generator.offset_ = KeyedRandom(options.seed, ~uint64_t{0}, 1) % ballots;
  }
  return generator;
}

void CvrGenerator::Contents(const UnitPlan& unit, uint64_t ballot,
                            std::vector<BallotContest>* out) const {
  const ContestElection& election = *election_;
  out->clear();
  for (const ContestPlan& plan : unit.contests) {
    const uint64_t position = static_cast<uint64_t>(
        (static_cast<unsigned __int128>(plan.stride) * ballot + plan.offset) % unit.ballots);
    if (position >= plan.overvoted + plan.shared) continue;
    const ElectionContest& contest = election.contests[plan.contest];
    const uint64_t n = contest.vote_for;
    BallotContest& entry = out->emplace_back();
    entry.contest = plan.contest;
    if (position < plan.overvoted) {
      const uint64_t selections = contest.selections.size();
      for (uint64_t k = 0; k <= n; ++k) {
        entry.marks.push_back(static_cast<uint32_t>((position + k) % selections));
      }
      entry.overvotes =
          position + 1 == plan.overvoted ? plan.overvotes - n * (plan.overvoted - 1) : n;
    } else {
      const uint64_t j = position - plan.overvoted;
      const uint64_t m = plan.shared;
      const uint64_t base = plan.votes / m;
      const uint64_t extra = plan.votes % m;
      const uint64_t votes = base + (j < extra ? 1 : 0);
      for (uint64_t t = 0; t < votes; ++t) {
        const uint64_t q = j + t * m;
        const auto it = std::upper_bound(plan.vote_prefix.begin(), plan.vote_prefix.end(), q);
        entry.marks.push_back(static_cast<uint32_t>(it - plan.vote_prefix.begin()) - 1);
      }
      // The excess of the dealing's undervotes over the figure comes off the first ballots.
      const uint64_t under = n - votes;
      const uint64_t before = j * n - (j * base + std::min(j, extra));
      const uint64_t take =
          plan.under_excess > before ? std::min(under, plan.under_excess - before) : 0;
      entry.undervotes = under - take;
    }
  }
}

CvrGenerator::Fate CvrGenerator::FateOf(const UnitPlan& unit, uint64_t ballot) const {
  const FaultPlan& plan = options_.faults;
  Fate fate;
  if (!plan.Any()) return fate;
  const auto draw = [&](uint64_t k) {
    return UnitOpen(KeyedRandom(options_.seed, kBallotDraws, unit.unit, ballot * 16 + k));
  };
  const bool has_contests = !election_->contests.empty();
  // In the order of docs/STRESS.md's table; a rejecting fault takes no further fault.
  if (ballot >= unit.delivered || draw(0) < plan[Fault::kDrop]) {
    fate.lost = true;
    return fate;
  }
  if (draw(1) < plan[Fault::kCorrupt]) {
    fate.first = Delivery::kCorrupt;
  } else if (draw(2) < plan[Fault::kUnknownStation]) {
    fate.first = Delivery::kUnknownUnit;
  } else if (has_contests && draw(3) < plan[Fault::kUnknownChoice]) {
    fate.first = Delivery::kUnknownSelection;
  } else {
    // A copy can only differ in a contest (Change): an election of none has no conflicts.
    fate.dup = draw(5) < plan[Fault::kDup];
    fate.conflict = has_contests && draw(6) < plan[Fault::kConflict];
    fate.resend = unit.resend != 0;
    fate.resend_changed = has_contests && unit.resend == 2 && draw(7) < 0.25;
  }
  return fate;
}

void CvrGenerator::Change(std::vector<BallotContest>* contents) const {
  if (!contents->empty()) {
    contents->pop_back();
    return;
  }
  BallotContest& entry = contents->emplace_back();
  entry.contest = 0;
  entry.undervotes = election_->contests[0].vote_for;
}

absl::Status CvrGenerator::Deliver(
    const std::function<absl::Status(uint32_t unit, uint64_t ballot, Delivery delivery,
                                     const std::vector<BallotContest>& contents)>& emit,
    ContestPrediction* predicted) const {
  const ContestElection& election = *election_;
  const uint32_t cells_per_unit = election.cells_per_unit();
  ContestTally tally;
  FaultCounts fired;
  if (predicted != nullptr) {
    tally.num_units = static_cast<uint32_t>(election.units.size());
    tally.cells_per_unit = cells_per_unit;
    tally.cells.assign(static_cast<size_t>(tally.num_units) * cells_per_unit, 0);
    for (const UnitPlan& unit : units_) {
      if (unit.delivered < unit.ballots) fired.Add(Fault::kTruncate);
      if (unit.resend != 0) fired.Add(Fault::kDoubleReport);
    }
  }
  const auto reject = [&](CastReject reason) {
    ++tally.records_read;
    ++tally.rejected[static_cast<int>(reason)];
  };
  // The counting rules (docs/FORMAT.md, "NIST cast vote records"), applied to the ballot
  // as written: every mark counts 1, and the record states its Overvotes and Undervotes.
  const auto count = [&](uint32_t unit, const std::vector<BallotContest>& contents) {
    uint64_t* cells = tally.cells.data() + static_cast<size_t>(unit) * cells_per_unit;
    ++tally.counted;
    ++cells[ContestElection::kBallotsCastCell];
    for (const BallotContest& entry : contents) {
      cells[election.FigureCell(entry.contest, ContestFigure::kBallots)] += 1;
      cells[election.FigureCell(entry.contest, ContestFigure::kOvervotes)] += entry.overvotes;
      cells[election.FigureCell(entry.contest, ContestFigure::kUndervotes)] += entry.undervotes;
      if (entry.marks.size() > election.contests[entry.contest].vote_for) continue;
      for (const uint32_t s : entry.marks) ++cells[election.SelectionCell(entry.contest, s)];
    }
  };
  std::vector<BallotContest> contents;
  std::vector<BallotContest> changed;
  for (int pass = 0; pass < 2; ++pass) {
    for (uint64_t r = 0; r < ballots_; ++r) {
      const uint64_t record = RecordOrder(r);
      const size_t u = static_cast<size_t>(
          std::upper_bound(unit_end_.begin(), unit_end_.end(), record) - unit_end_.begin());
      const UnitPlan& plan = units_[u];
      const uint64_t ballot = record - (u == 0 ? 0 : unit_end_[u - 1]);
      const Fate fate = FateOf(plan, ballot);
      if (fate.lost) {
        if (pass == 0 && ballot < plan.delivered) fired.Add(Fault::kDrop);
        continue;
      }
      const bool intact = fate.first == Delivery::kIntact;
      if (pass == 1 && !(intact && (fate.dup || fate.conflict || fate.resend))) continue;
      Contents(plan, ballot, &contents);
      if (pass == 0) {
        CANVASS_RETURN_IF_ERROR(emit(plan.unit, ballot, fate.first, contents));
        switch (fate.first) {
          case Delivery::kCorrupt:
            fired.Add(Fault::kCorrupt);
            reject(CastReject::kMalformed);
            continue;
          case Delivery::kUnknownUnit:
            fired.Add(Fault::kUnknownStation);
            reject(CastReject::kUnknownUnit);
            continue;
          case Delivery::kUnknownSelection:
            fired.Add(Fault::kUnknownChoice);
            reject(CastReject::kUnknownSelection);
            continue;
          case Delivery::kIntact:
          case Delivery::kChanged:
            break;
        }
        // The ballot's outcome from all its copies (DESIGN.md): equal copies count once,
        // the rest are duplicates; copies that differ are all conflicts.
        const uint64_t copies = 1 + fate.dup + fate.conflict + fate.resend;
        tally.records_read += copies;
        if (fate.dup) fired.Add(Fault::kDup);
        if (fate.conflict) fired.Add(Fault::kConflict);
        if (fate.conflict || fate.resend_changed) {
          tally.rejected[static_cast<int>(CastReject::kConflict)] += copies;
        } else {
          tally.rejected[static_cast<int>(CastReject::kDuplicate)] += copies - 1;
          if (predicted != nullptr) count(plan.unit, contents);
        }
        continue;
      }
      changed = contents;
      Change(&changed);
      if (fate.dup) CANVASS_RETURN_IF_ERROR(emit(plan.unit, ballot, Delivery::kIntact, contents));
      if (fate.conflict) {
        CANVASS_RETURN_IF_ERROR(emit(plan.unit, ballot, Delivery::kChanged, changed));
      }
      if (fate.resend) {
        CANVASS_RETURN_IF_ERROR(emit(plan.unit, ballot,
                                     fate.resend_changed ? Delivery::kChanged : Delivery::kIntact,
                                     fate.resend_changed ? changed : contents));
      }
    }
  }
  if (predicted == nullptr) return absl::OkStatus();
  // Rolled up: each unit's own cells added to every unit above it.
  std::vector<uint64_t> own = tally.cells;
  for (uint32_t u = 0; u < tally.num_units; ++u) {
    const std::vector<uint32_t>& up = election.RollUp(u);
    for (size_t a = 1; a < up.size(); ++a) {
      uint64_t* to = tally.cells.data() + static_cast<size_t>(up[a]) * cells_per_unit;
      const uint64_t* from = own.data() + static_cast<size_t>(u) * cells_per_unit;
      for (uint32_t cell = 0; cell < cells_per_unit; ++cell) to[cell] += from[cell];
    }
  }
  predicted->election = election.id;
  predicted->seed = options_.seed;
  predicted->scale = options_.scale;
  predicted->faults = options_.faults.ToString();
  predicted->fired.clear();
  for (int f = 0; f < kNumFaults; ++f) {
    if (options_.faults.probability[f] > 0) {
      predicted->fired.emplace_back(std::string(FaultName(static_cast<Fault>(f))), fired.fired[f]);
    }
  }
  predicted->tally = std::move(tally);
  return absl::OkStatus();
}

void CvrGenerator::AppendBallot(uint32_t unit, uint64_t ballot, Delivery delivery,
                                const std::vector<BallotContest>& contents,
                                std::string* out) const {
  const ContestElection& election = *election_;
  const std::string& unit_id = election.units[unit].id;
  out->append("{\"@type\":\"CVR.CVR\",\"BallotStyleUnitId\":");
  AppendJsonString(delivery == Delivery::kUnknownUnit ? misrouted_unit_ : unit_id, out);
  // corrupt: two quote bytes lost, so the value is no JSON token; the record's brackets
  // and the file's quote parity are whole, so the reader isolates it (malformed, located).
  out->append(
      delivery == Delivery::kCorrupt
          ? ",\"CreatingDeviceId\":canvass-generate,\"CurrentSnapshotId\":\"s\",\"UniqueId\":"
          : ",\"CreatingDeviceId\":\"canvass-generate\",\"CurrentSnapshotId\":\"s\","
            "\"UniqueId\":");
  AppendJsonString(absl::StrCat(unit_id, "-", ballot + 1), out);
  out->append(
      ",\"CVRSnapshot\":[{\"@id\":\"s\",\"@type\":\"CVR.CVRSnapshot\",\"Type\":\"original\","
      "\"CVRContest\":[");
  const auto append_mark = [&](const std::string& selection_id, bool first) {
    if (!first) out->push_back(',');
    out->append("{\"ContestSelectionId\":");
    AppendJsonString(selection_id, out);
    out->append(
        ",\"SelectionPosition\":[{\"HasIndication\":\"yes\",\"IsAllocable\":\"yes\","
        "\"NumberVotes\":1}]}");
  };
  const bool unknown_selection = delivery == Delivery::kUnknownSelection;
  bool first_contest = true;
  const auto append_contest = [&](uint32_t c, const std::vector<uint32_t>& marks,
                                  uint64_t overvotes, uint64_t undervotes) {
    const ElectionContest& contest = election.contests[c];
    if (!first_contest) out->push_back(',');
    out->append("{\"@type\":\"CVR.CVRContest\",\"ContestId\":");
    AppendJsonString(contest.id, out);
    out->append(",\"CVRContestSelection\":[");
    for (size_t k = 0; k < marks.size(); ++k) {
      append_mark(contest.selections[marks[k]].id, k == 0);
    }
    // unknown_choice: one more mark, of a selection the (first) contest does not have.
    if (unknown_selection && first_contest) append_mark(unknown_selection_, marks.empty());
    absl::StrAppend(out, "],\"Overvotes\":", overvotes, ",\"Undervotes\":", undervotes, "}");
    first_contest = false;
  };
  for (const BallotContest& entry : contents) {
    append_contest(entry.contest, entry.marks, entry.overvotes, entry.undervotes);
  }
  if (unknown_selection && contents.empty()) append_contest(0, {}, 0, 0);
  out->append("]}]}");
}

uint64_t CvrGenerator::RecordOrder(uint64_t r) const {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(stride_) * r + offset_) % ballots_);
}

void CvrGenerator::Record(uint64_t r, uint32_t* unit, uint64_t* ballot,
                          std::vector<BallotContest>* contests) const {
  const uint64_t record = RecordOrder(r);
  const size_t u = static_cast<size_t>(
      std::upper_bound(unit_end_.begin(), unit_end_.end(), record) - unit_end_.begin());
  *unit = units_[u].unit;
  *ballot = record - (u == 0 ? 0 : unit_end_[u - 1]);
  Contents(units_[u], *ballot, contests);
}

std::string CvrGenerator::Header() const {
  const ContestElection& election = *election_;
  return CvrReportHeader(
      election,
      absl::StrCat("SYNTHETIC: generated by canvass generate from ", election.source, " (seed ",
                   options_.seed, ", scale ", options_.scale,
                   "); only the results report's figures are facts"),
      "canvass-generate");
}

absl::StatusOr<uint64_t> CvrGenerator::Write(std::FILE* out, const std::string& out_name,
                                             ContestPrediction* predicted) const {
  BufferedFile file(out, out_name);
  std::string& buffer = file.buffer();
  buffer = Header();
  bool first = true;
  CANVASS_RETURN_IF_ERROR(Deliver(
      [&](uint32_t unit, uint64_t ballot, Delivery delivery,
          const std::vector<BallotContest>& contents) {
        if (!first) buffer.append(",\n");
        first = false;
        AppendBallot(unit, ballot, delivery, contents, &buffer);
        return file.MaybeFlush();
      },
      predicted));
  buffer.append("\n]}\n");
  return file.Finish();
}

absl::StatusOr<uint64_t> CvrGenerator::WriteCvb(std::FILE* out, const std::string& out_name,
                                                ContestPrediction* predicted) const {
  ContestElection marked = *election_;
  marked.synthetic = true;
  BufferedFile file(out, out_name);
  std::string& buffer = file.buffer();
  AppendContestCvbHeader(marked, &buffer);
  // Blocks of the size `canvass convert` writes.
  constexpr uint32_t kRecordsPerBlock = 4096;
  std::string payload;
  uint32_t in_block = 0;
  uint32_t blocks = 0;
  uint64_t records = 0;
  CvrTranscript record;
  record.device = "canvass-generate";
  const auto end_block = [&]() {
    AppendContestCvbBlock(payload, in_block, &buffer);
    payload.clear();
    in_block = 0;
    ++blocks;
    return file.MaybeFlush();
  };
  CANVASS_RETURN_IF_ERROR(Deliver(
      [&](uint32_t unit, uint64_t ballot, Delivery delivery,
          const std::vector<BallotContest>& contents) -> absl::Status {
        const std::string identity = absl::StrCat(election_->units[unit].id, "-", ballot + 1);
        if (delivery == Delivery::kCorrupt) {
          // A record of a kind no writer gives: the reader says so (malformed, located).
          payload.append("\x01\xff", 2);  // a length of 1, then the kind byte
        } else if (delivery == Delivery::kUnknownUnit) {
          AppendContestCvbRejected(
              CastReject::kUnknownUnit,
              absl::StrCat("BallotStyleUnitId '", misrouted_unit_,
                           "' is not a reporting unit of the election (", identity, ")"),
              &payload);
        } else if (delivery == Delivery::kUnknownSelection) {
          AppendContestCvbRejected(
              CastReject::kUnknownSelection,
              absl::StrCat("selection '", unknown_selection_, "' is not in contest '",
                           election_->contests[contents.empty() ? 0 : contents[0].contest].id,
                           "' (", identity, ")"),
              &payload);
        } else {
          record.identity = identity;
          record.unit = unit;
          record.contests.clear();
          record.marks.clear();
          for (const BallotContest& entry : contents) {
            for (const uint32_t selection : entry.marks) {
              CvrTranscript::Mark mark;
              mark.selection = selection;
              record.marks.push_back(mark);
            }
            record.contests.push_back({entry.contest, entry.overvotes, entry.undervotes, false,
                                       static_cast<uint32_t>(record.marks.size())});
          }
          AppendContestCvbBallot(record, &payload);
        }
        ++records;
        return ++in_block == kRecordsPerBlock ? end_block() : absl::OkStatus();
      },
      predicted));
  if (in_block > 0) CANVASS_RETURN_IF_ERROR(end_block());
  AppendCvbTrailer(blocks, records, &buffer);
  return file.Finish();
}

}  // namespace canvass
