// Plausibility checks over counted and reported figures.
#include "engine/reconcile/plausibility.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace canvass {
namespace {

// part / whole > permille / 1000, exactly (no floating point: the same on every machine).
bool Above(uint64_t part, uint64_t whole, uint64_t permille) {
  return static_cast<unsigned __int128>(part) * 1000 >
         static_cast<unsigned __int128>(permille) * whole;
}

// "4.2%" of part / whole, rounded half up to a tenth of a percent.
std::string Percent(uint64_t part, uint64_t whole) {
  if (whole == 0) return "0%";
  const unsigned __int128 tenths =
      (static_cast<unsigned __int128>(part) * 2000 + whole) / (2 * whole);
  const uint64_t t = static_cast<uint64_t>(tenths);
  return absl::StrCat(t / 10, ".", t % 10, "%");
}

}  // namespace

std::string PermilleAsPercent(uint64_t permille, bool with_sign) {
  return absl::StrCat(permille / 10, permille % 10 ? absl::StrCat(".", permille % 10) : "",
                      with_sign ? "%" : "");
}

namespace {

// "the whole election", "station 'AE-01'" or "unit 'prec-4'".
std::string Where(absl::string_view unit, absl::string_view kind = "unit") {
  return unit.empty() ? std::string("the whole election") : absl::StrCat(kind, " '", unit, "'");
}

// `where`: the unit as the message names it (Where()).
PlausibilityWarning ShareWarning(absl::string_view check, absl::string_view what, std::string unit,
                                 std::string contest, uint64_t part, uint64_t whole,
                                 uint64_t permille, absl::string_view where) {
  PlausibilityWarning w;
  w.check = std::string(check);
  w.message = absl::StrCat(where, contest.empty() ? "" : absl::StrCat(", contest '", contest, "'"),
                           ": ", part, " ", what, " of ", whole, " ballots (", Percent(part, whole),
                           ") is above the ", PermilleAsPercent(permille), " threshold");
  w.unit = std::move(unit);
  w.contest = std::move(contest);
  w.figures = {{std::string(what), part}, {"ballots", whole}, {"threshold_permille", permille}};
  return w;
}

}  // namespace

std::vector<PlausibilityWarning> CheckPlausibility(const Election& election, const Tally& tally,
                                                   const Reconciliation* reconciliation,
                                                   const PlausibilityOptions& options) {
  std::vector<PlausibilityWarning> out;
  const Contest& contest = election.contest();
  // Invalid and blank shares, per station, then for the whole election.
  const auto shares = [&](const std::string& unit, auto figure_of, uint64_t ballots) {
    if (ballots < options.min_ballots || ballots == 0) return;
    uint64_t invalid = 0;
    uint64_t blank = 0;
    for (size_t c = 0; c < contest.choices.size(); ++c) {
      if (contest.choices[c].kind == ChoiceKind::kInvalid) invalid += figure_of(c);
      if (contest.choices[c].kind == ChoiceKind::kBlank) blank += figure_of(c);
    }
    if (Above(invalid, ballots, options.invalid_permille)) {
      out.push_back(ShareWarning("invalid_share", "invalid", unit, "", invalid, ballots,
                                 options.invalid_permille, Where(unit, "station")));
    }
    if (Above(blank, ballots, options.blank_permille)) {
      out.push_back(ShareWarning("blank_share", "blank", unit, "", blank, ballots,
                                 options.blank_permille, Where(unit, "station")));
    }
  };
  for (StationIndex s = 0; s < tally.num_stations && s < election.stations.size(); ++s) {
    const Station& station = election.stations[s];
    uint64_t ballots = 0;
    for (ChoiceIndex c = 0; c < tally.num_choices; ++c) ballots += tally.Counted(s, c);
    shares(
        station.id, [&](size_t c) { return tally.Counted(s, static_cast<ChoiceIndex>(c)); },
        ballots);
    const uint64_t records = tally.station_records[s];
    if (records > station.capacity) {
      PlausibilityWarning w;
      w.check = "over_capacity";
      w.unit = station.id;
      w.figures = {{"records", records}, {"capacity", station.capacity}};
      w.message = absl::StrCat(Where(station.id, "station"), ": ", records, " records read for ",
                               station.capacity, " ballot serials issued");
      out.push_back(std::move(w));
    }
    if (records == 0) {
      PlausibilityWarning w;
      w.check = "empty_station";
      w.unit = station.id;
      w.figures = {{"records", 0}, {"capacity", station.capacity}};
      w.message = absl::StrCat(Where(station.id, "station"), ": no ballots (", station.capacity,
                               " ballot serials issued)");
      out.push_back(std::move(w));
    }
  }
  const std::vector<uint64_t> totals = tally.ChoiceTotals();
  shares(
      "", [&](size_t c) { return totals[c]; }, tally.TotalCounted());
  if (reconciliation == nullptr || !contest.reported) return out;
  const ReportedFigures& reported = *contest.reported;
  const Lead& counted = reconciliation->counted_lead;
  const Lead& announced = reconciliation->reported_lead;
  if (counted.leader && announced.leader && *counted.leader != *announced.leader) {
    PlausibilityWarning w;
    w.check = "leader_changed";
    w.figures = {{"counted_margin", counted.margin}, {"reported_margin", announced.margin}};
    w.message =
        absl::StrCat("the whole election: counted, ", contest.choices[*counted.leader].code,
                     " leads by ", counted.margin, "; reported, ",
                     contest.choices[*announced.leader].code, " leads by ", announced.margin);
    out.push_back(std::move(w));
  }
  bool all_reported = true;
  uint64_t sum = 0;
  for (const std::optional<uint64_t>& figure : reported.choices) {
    if (!figure) all_reported = false;
    if (figure) sum += *figure;
  }
  if (all_reported && sum != reported.cast) {
    PlausibilityWarning w;
    w.check = "reported_not_summing";
    w.figures = {{"sum_of_choices", sum}, {"cast", reported.cast}};
    w.message = absl::StrCat("the whole election: the reported choices sum to ", sum,
                             ", the reported cast is ", reported.cast);
    out.push_back(std::move(w));
  }
  return out;
}

std::vector<PlausibilityWarning> CheckContestPlausibility(const ContestElection& election,
                                                          const ContestTally& tally,
                                                          const Reconciliation2* reconciliation,
                                                          const PlausibilityOptions& options) {
  std::vector<PlausibilityWarning> out;
  const bool reported = reconciliation != nullptr;
  const uint32_t cast_cell = ContestElection::kBallotsCastCell;
  for (uint32_t u = 0; u < election.units.size() && u < tally.num_units; ++u) {
    const ReportingUnit& unit = election.units[u];
    const std::string& shown = unit.id;
    const std::string where =
        u == election.scope() ? std::string("the whole election") : Where(unit.id);
    // A unit with reported ballots and none counted.
    const std::optional<uint64_t> reported_cast =
        reported ? election.Reported(u, cast_cell) : std::nullopt;
    if (reported_cast && *reported_cast > 0 && tally.Cell(u, cast_cell) == 0) {
      PlausibilityWarning w;
      w.check = "empty_station";
      w.unit = shown;
      w.figures = {{"ballots", 0}, {"reported_ballots", *reported_cast}};
      w.message = absl::StrCat(where, ": no ballots counted, ", *reported_cast, " reported");
      out.push_back(std::move(w));
    }
    // A unit's reported figure against the sum of its parts' (every part reporting it).
    if (reported && !unit.composing.empty()) {
      std::vector<uint32_t> parts;
      for (const std::string& id : unit.composing) {
        if (const std::optional<uint32_t> part = election.FindUnit(id)) parts.push_back(*part);
      }
      for (uint32_t cell = 0; cell < election.cells_per_unit(); ++cell) {
        const std::optional<uint64_t> whole = election.Reported(u, cell);
        if (!whole) continue;
        uint64_t sum = 0;
        bool every = !parts.empty();
        for (const uint32_t part : parts) {
          const std::optional<uint64_t> figure = election.Reported(part, cell);
          if (!figure) {
            every = false;
            break;
          }
          sum += *figure;
        }
        if (!every || sum == *whole) continue;
        const ContestElection::CellMeaning meaning = election.Meaning(cell);
        PlausibilityWarning w;
        w.check = "reported_not_summing";
        w.unit = shown;
        std::string what = "ballots cast";
        if (meaning.contest) {
          const ElectionContest& contest = election.contests[*meaning.contest];
          w.contest = contest.id;
          what = meaning.selection ? contest.selections[*meaning.selection].id
                                   : std::string(ContestFigureName(*meaning.figure));
        }
        w.figures = {{"reported", *whole}, {"sum_of_parts", sum}, {"parts", parts.size()}};
        w.message = absl::StrCat(
            where, w.contest.empty() ? "" : absl::StrCat(", contest '", w.contest, "'"), ": ", what,
            " reported ", *whole, ", its ", parts.size(), " parts report ", sum);
        out.push_back(std::move(w));
      }
    }
    for (uint32_t c = 0; c < election.contests.size(); ++c) {
      const ElectionContest& contest = election.contests[c];
      const uint64_t ballots = tally.Cell(u, election.FigureCell(c, ContestFigure::kBallots));
      const uint64_t over = tally.Cell(u, election.FigureCell(c, ContestFigure::kOvervotes));
      const uint64_t under = tally.Cell(u, election.FigureCell(c, ContestFigure::kUndervotes));
      const uint64_t invalid = election.invalid_figure
                                   ? tally.Cell(u, election.FigureCell(c, ContestFigure::kInvalid))
                                   : 0;
      // Shares of the contest's ballots: an overvoted or invalidated contest is an invalid
      // ballot of it; undervotes are blank votes out of vote_for per ballot.
      const uint64_t contest_ballots = ballots + invalid;
      if (contest_ballots >= options.min_ballots && contest_ballots > 0) {
        const uint64_t overvoted = over / contest.vote_for + invalid;
        if (Above(overvoted, contest_ballots, options.invalid_permille)) {
          out.push_back(ShareWarning("invalid_share", "invalid", shown, contest.id, overvoted,
                                     contest_ballots, options.invalid_permille, where));
        }
        if (Above(under, contest_ballots * contest.vote_for, options.blank_permille)) {
          PlausibilityWarning w =
              ShareWarning("blank_share", "blank", shown, contest.id, under,
                           contest_ballots * contest.vote_for, options.blank_permille, where);
          if (contest.vote_for > 1) {
            w.message =
                absl::StrCat(where, ", contest '", contest.id, "': ", under, " undervotes of ",
                             contest_ballots * contest.vote_for, " votes allowed (",
                             Percent(under, contest_ballots * contest.vote_for), ") is above the ",
                             PermilleAsPercent(options.blank_permille), " threshold");
          }
          out.push_back(std::move(w));
        }
      }
      // Reported figures of the contest at this unit: leader, and whether they add up.
      std::vector<uint64_t> reported_votes(contest.selections.size());
      std::vector<uint64_t> counted_votes(contest.selections.size());
      bool every = true;
      uint64_t sum = 0;
      for (uint32_t s = 0; s < contest.selections.size(); ++s) {
        const uint32_t cell = election.SelectionCell(c, s);
        counted_votes[s] = tally.Cell(u, cell);
        const std::optional<uint64_t> figure = election.Reported(u, cell);
        if (!figure) {
          every = false;
          continue;
        }
        reported_votes[s] = *figure;
        sum += *figure;
      }
      if (!reported || !every || contest.selections.empty()) continue;
      const Standing by_count = StandingOf(contest, counted_votes);
      const Standing by_report = StandingOf(contest, reported_votes);
      if (ballots > 0 && sum > 0 && by_count.leaders != by_report.leaders) {
        const auto names = [&](const Standing& standing) {
          std::vector<std::string> ids;
          for (const uint32_t s : standing.leaders) ids.push_back(contest.selections[s].id);
          return absl::StrJoin(ids, ", ");
        };
        PlausibilityWarning w;
        w.check = "leader_changed";
        w.unit = shown;
        w.contest = contest.id;
        w.figures = {{"counted_margin", by_count.margin}, {"reported_margin", by_report.margin}};
        w.message = absl::StrCat(where, ", contest '", contest.id, "': counted, ", names(by_count),
                                 " lead(s) by ", by_count.margin, "; reported, ", names(by_report),
                                 " by ", by_report.margin);
        out.push_back(std::move(w));
      }
      const std::optional<uint64_t> r_over =
          election.Reported(u, election.FigureCell(c, ContestFigure::kOvervotes));
      const std::optional<uint64_t> r_under =
          election.Reported(u, election.FigureCell(c, ContestFigure::kUndervotes));
      const std::optional<uint64_t> r_ballots =
          election.Reported(u, election.FigureCell(c, ContestFigure::kBallots));
      if (contest.kind == ContestKind::kPlurality && r_over && r_under && r_ballots) {
        const uint64_t votes = sum + *r_over + *r_under;
        const uint64_t allowed = *r_ballots * contest.vote_for;
        if (votes != allowed) {
          PlausibilityWarning w;
          w.check = "reported_not_summing";
          w.unit = shown;
          w.contest = contest.id;
          w.figures = {{"votes", sum},
                       {"overvotes", *r_over},
                       {"undervotes", *r_under},
                       {"ballots", *r_ballots},
                       {"vote_for", contest.vote_for}};
          w.message =
              absl::StrCat(where, ", contest '", contest.id, "': reported votes ", sum,
                           " + overvotes ", *r_over, " + undervotes ", *r_under, " = ", votes,
                           ", not ", contest.vote_for, " x ", *r_ballots, " ballots = ", allowed);
          out.push_back(std::move(w));
        }
      }
    }
  }
  return out;
}

}  // namespace canvass
