// CvrGenerator: the plan of synthetic cast vote records and their JSON.
#include "engine/synth/cvr_generator.h"

#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "engine/base/json_text.h"
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

}  // namespace

absl::StatusOr<CvrGenerator> CvrGenerator::Plan(const ContestElection& election,
                                                const CvrGeneratorOptions& options) {
  CvrGenerator generator(election);
  generator.options_ = options;
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

void CvrGenerator::AppendBallot(const UnitPlan& unit, uint64_t ballot, std::string* out) const {
  const ContestElection& election = *election_;
  const std::string& unit_id = election.units[unit.unit].id;
  out->append("{\"@type\":\"CVR.CVR\",\"BallotStyleUnitId\":");
  AppendJsonString(unit_id, out);
  out->append(
      ",\"CreatingDeviceId\":\"canvass-generate\",\"CurrentSnapshotId\":\"s\",\"UniqueId\":");
  AppendJsonString(absl::StrCat(unit_id, "-", ballot + 1), out);
  out->append(
      ",\"CVRSnapshot\":[{\"@id\":\"s\",\"@type\":\"CVR.CVRSnapshot\",\"Type\":\"original\","
      "\"CVRContest\":[");
  thread_local std::vector<BallotContest> contents;
  Contents(unit, ballot, &contents);
  bool first_contest = true;
  for (const BallotContest& entry : contents) {
    const ElectionContest& contest = election.contests[entry.contest];
    if (!first_contest) out->push_back(',');
    first_contest = false;
    out->append("{\"@type\":\"CVR.CVRContest\",\"ContestId\":");
    AppendJsonString(contest.id, out);
    out->append(",\"CVRContestSelection\":[");
    for (size_t k = 0; k < entry.marks.size(); ++k) {
      if (k) out->push_back(',');
      out->append("{\"ContestSelectionId\":");
      AppendJsonString(contest.selections[entry.marks[k]].id, out);
      out->append(
          ",\"SelectionPosition\":[{\"HasIndication\":\"yes\",\"IsAllocable\":\"yes\","
          "\"NumberVotes\":1}]}");
    }
    absl::StrAppend(out, "],\"Overvotes\":", entry.overvotes, ",\"Undervotes\":", entry.undervotes,
                    "}");
  }
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

absl::StatusOr<uint64_t> CvrGenerator::Write(std::FILE* out, const std::string& out_name) const {
  BufferedFile file(out, out_name);
  std::string& buffer = file.buffer();
  buffer = Header();
  for (uint64_t r = 0; r < ballots_; ++r) {
    const uint64_t record = RecordOrder(r);
    const size_t u = static_cast<size_t>(
        std::upper_bound(unit_end_.begin(), unit_end_.end(), record) - unit_end_.begin());
    const uint64_t ballot = record - (u == 0 ? 0 : unit_end_[u - 1]);
    if (r > 0) buffer.append(",\n");
    AppendBallot(units_[u], ballot, &buffer);
    if (absl::Status status = file.MaybeFlush(); !status.ok()) return status;
  }
  buffer.append("\n]}\n");
  return file.Finish();
}

absl::StatusOr<uint64_t> CvrGenerator::WriteCvb(std::FILE* out, const std::string& out_name) const {
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
  CvrTranscript record;
  record.device = "canvass-generate";
  std::vector<BallotContest> contents;
  for (uint64_t r = 0; r < ballots_; ++r) {
    uint32_t unit = 0;
    uint64_t ballot = 0;
    Record(r, &unit, &ballot, &contents);
    record.identity = absl::StrCat(election_->units[unit].id, "-", ballot + 1);
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
    if (++in_block == kRecordsPerBlock || r + 1 == ballots_) {
      AppendContestCvbBlock(payload, in_block, &buffer);
      payload.clear();
      in_block = 0;
      ++blocks;
      if (absl::Status status = file.MaybeFlush(); !status.ok()) return status;
    }
  }
  AppendCvbTrailer(blocks, ballots_, &buffer);
  return file.Finish();
}

}  // namespace canvass
