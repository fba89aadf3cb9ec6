// The election of real voting systems: many contests, each with its selections and
// `vote_for`, and a hierarchy of reporting units (precinct or polling place -> district,
// county -> the whole election), as NIST SP 1500-100/103 model them with Contest,
// ContestSelection and GpUnit. A ballot belongs to one unit and carries marks for some of
// the contests; its figures land in *cells* (unit, contest, selection or over/under/
// ballots), which roll up the unit hierarchy.
//
// A ContestElection is immutable once Finalize() succeeded and is safe to read from many
// threads at once; every later stage holds a const reference and it must outlive them.
//
// Usage:
//   ContestElection election;
//   election.id = "gen-01";
//   election.contests.push_back({.id = "cc-president", .vote_for = 1, ...});
//   election.units.push_back({.id = "ru-county-1"});
//   election.scope_id = "ru-county-1";
//   RETURN_IF_ERROR(election.Finalize("err-gen-01.json"));
//   uint32_t cell = election.SelectionCell(contest, selection);
#ifndef CANVASS_ENGINE_ELECTION_CONTESTS_H_
#define CANVASS_ENGINE_ELECTION_CONTESTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace canvass {

enum class ContestKind : uint8_t {
  kPlurality,  // vote for N (N = vote_for)
  kRanked,     // ranked choice: read for first preferences only (the results-report tally)
};
absl::string_view ContestKindName(ContestKind kind);

struct Selection {
  std::string id;    // e.g. "cs-president-hb": unique within its contest
  std::string name;  // candidate names, party or ballot-measure text; may be empty
  bool write_in = false;
  std::string external_id;  // the voting system's own code (a Dominion ExternalId); may be empty
};

struct ElectionContest {
  std::string id;  // e.g. "cc-president": unique within the election
  std::string name;
  uint32_t vote_for = 1;  // >= 1
  ContestKind kind = ContestKind::kPlurality;
  std::vector<Selection> selections;  // in ballot order; at most kMaxSelections
  std::string external_id;            // the voting system's own code; may be empty
};

// Kinds of per-contest figures beside the selections' votes, in cell order. Every
// election has the first kContestFigures; kInvalid (contests on a ballot that the voting
// system marked not to be counted, as Dominion's "InvalidContest" condition does) only
// where ContestElection::invalid_figure says so.
enum class ContestFigure : uint8_t { kOvervotes = 0, kUndervotes, kBallots, kInvalid };
inline constexpr uint32_t kContestFigures = 3;
// "overvotes", "undervotes", "ballots", "invalid": the names used in reports and
// reported-figure CSVs.
absl::string_view ContestFigureName(ContestFigure figure);

struct ReportingUnit {
  std::string id;  // e.g. "prec-1" (NIST GpUnit @id): unique within the election
  std::string name;
  std::string type;                    // e.g. "precinct", "county", "other"
  std::vector<std::string> composing;  // ids of the units it is made of (ComposingGpUnitIds)
  std::string external_id;  // the voting system's own code (a precinct's "01-600"); may be empty
};

// Figures reported for a cell, by the source of the reported side (an ERR file, a
// reported-figures CSV).
struct ReportedCell {
  uint32_t unit = 0;
  uint32_t cell = 0;  // ContestElection cell index within the unit
  uint64_t count = 0;
};

// Other reported count types (NIST VoteCounts Type other than "total", e.g. "early"),
// kept per type for the report; they are shown, not reconciled (a CVR carries no type).
struct ReportedTypedCell {
  uint32_t unit = 0;
  uint32_t cell = 0;
  std::string type;
  uint64_t count = 0;
};

inline constexpr uint32_t kMaxSelections = 1u << 16;
inline constexpr uint32_t kMaxContests = 1u << 16;
inline constexpr uint32_t kMaxUnits = 1u << 24;

class ContestElection {
 public:
  std::string id;
  std::string name;
  std::string source;    // where the definition and the reported figures came from
  std::string scope_id;  // the unit of the whole election (NIST ElectionScopeId)
  bool synthetic = false;
  // Whether every contest has the kInvalid figure (set before Finalize()).
  bool invalid_figure = false;
  std::vector<ElectionContest> contests;
  std::vector<ReportingUnit> units;
  std::vector<ReportedCell> reported;  // sorted by (unit, cell) by Finalize; unique
  std::vector<ReportedTypedCell> reported_by_type;

  // Checks the definition and builds the indexes and the unit hierarchy: ids unique,
  // vote_for >= 1, limits, every composing id known, no unit its own ancestor, the scope
  // a known unit; units that no unit composes (other than the scope) become parts of the
  // scope. Reported cells are sorted; two figures for one cell are an error. Errors are
  // InvalidArgument naming `source_name`, the unit or contest, and what was expected.
  absl::Status Finalize(absl::string_view source_name);
  // Gives every contest of a Finalize()d election the kInvalid figure (when it has none),
  // keeping each reported figure on its cell: for records that mark contests not to be
  // counted, read against a definition that has no such figure (a results report).
  absl::Status AddInvalidFigure();

  // Lookups, answered from the indexes Finalize built.
  std::optional<uint32_t> FindContest(absl::string_view id) const;
  std::optional<uint32_t> FindSelection(uint32_t contest, absl::string_view id) const;
  std::optional<uint32_t> FindUnit(absl::string_view id) const;
  uint32_t scope() const { return scope_; }

  // The cells of one unit: cell 0 is the unit's ballots cast; then per contest, in order,
  // one cell per selection followed by its kContestFigures figures.
  uint32_t cells_per_unit() const { return cells_per_unit_; }
  // The figures each contest has after its selections: kContestFigures, plus kInvalid
  // when invalid_figure.
  uint32_t figures_per_contest() const { return kContestFigures + (invalid_figure ? 1 : 0); }
  static constexpr uint32_t kBallotsCastCell = 0;
  uint32_t SelectionCell(uint32_t contest, uint32_t selection) const {
    return contest_first_cell_[contest] + selection;
  }
  uint32_t FigureCell(uint32_t contest, ContestFigure figure) const {
    return contest_first_cell_[contest] +
           static_cast<uint32_t>(contests[contest].selections.size()) +
           static_cast<uint32_t>(figure);
  }
  // What a cell index within a unit means: the contest (or nullopt for ballots cast), and
  // either a selection or a figure.
  struct CellMeaning {
    std::optional<uint32_t> contest;
    std::optional<uint32_t> selection;
    std::optional<ContestFigure> figure;
  };
  CellMeaning Meaning(uint32_t cell) const;

  // Every unit whose figures include unit u's own ballots: u itself and all its ancestors,
  // each once, u first.
  const std::vector<uint32_t>& RollUp(uint32_t unit) const { return roll_up_[unit]; }
  // Depth below the scope (the scope is 0), the longest path when units compose in a DAG.
  uint32_t Level(uint32_t unit) const { return level_[unit]; }

  // The reported count of (unit, cell), or nullopt when the source did not report it.
  std::optional<uint64_t> Reported(uint32_t unit, uint32_t cell) const;

 private:
  absl::flat_hash_map<std::string, uint32_t> contest_index_;
  std::vector<absl::flat_hash_map<std::string, uint32_t>> selection_index_;
  absl::flat_hash_map<std::string, uint32_t> unit_index_;
  std::vector<uint32_t> contest_first_cell_;
  std::vector<uint32_t> cell_contest_;  // per cell, contest + 1 (0: ballots cast)
  std::vector<std::vector<uint32_t>> roll_up_;
  std::vector<uint32_t> level_;
  uint32_t cells_per_unit_ = 1;
  uint32_t scope_ = 0;
};

// The election at scale K: every reported figure times K (as a generated load at scale K
// is counted). OutOfRange when a figure would pass 2^63 - 1. Requires: scale >= 1.
absl::StatusOr<ContestElection> ScaleContestElection(const ContestElection& election,
                                                     uint64_t scale);

}  // namespace canvass

#endif  // CANVASS_ENGINE_ELECTION_CONTESTS_H_
