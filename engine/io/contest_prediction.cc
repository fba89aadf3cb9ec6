// OUT-predicted.json writing and reading.
#include "engine/io/contest_prediction.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "engine/base/status_macros.h"
#include "engine/io/internal/json_fields.h"

namespace canvass {
namespace {

using io_internal::ArrayField;
using io_internal::Bad;
using io_internal::CountField;
using io_internal::Field;
using io_internal::FiredField;
using io_internal::Json;
using io_internal::ParseJson;
using io_internal::StringField;

constexpr absl::string_view kBallotsCast = "ballots_cast";

// Cell `cell` of a unit as the file names it: {"figure": "ballots_cast"}, {"contest",
// "selection"} or {"contest", "figure"}.
Json CellJson(const ContestElection& election, uint32_t cell, uint64_t count) {
  const ContestElection::CellMeaning meaning = election.Meaning(cell);
  if (!meaning.contest) return {{"figure", kBallotsCast}, {"count", count}};
  const ElectionContest& contest = election.contests[*meaning.contest];
  if (meaning.selection) {
    return {{"contest", contest.id},
            {"selection", contest.selections[*meaning.selection].id},
            {"count", count}};
  }
  return {{"contest", contest.id},
          {"figure", std::string(ContestFigureName(*meaning.figure))},
          {"count", count}};
}

// The cell an entry names, or InvalidArgument naming what the election lacks.
absl::StatusOr<uint32_t> CellOf(const std::string& path, const std::string& where,
                                const Json& entry, const ContestElection& election) {
  const auto invalid = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": field '", where, "': ", what));
  };
  if (!entry.contains("contest")) {
    CANVASS_ASSIGN_OR_RETURN(const std::string figure, StringField(path, entry, where, "figure"));
    if (figure != kBallotsCast) {
      return invalid(
          absl::StrCat("a cell without a contest is \"", kBallotsCast, "\", not \"", figure, "\""));
    }
    return ContestElection::kBallotsCastCell;
  }
  CANVASS_ASSIGN_OR_RETURN(const std::string contest_id,
                           StringField(path, entry, where, "contest"));
  const std::optional<uint32_t> contest = election.FindContest(contest_id);
  if (!contest) return invalid(absl::StrCat("contest '", contest_id, "' is not in the election"));
  if (entry.contains("selection")) {
    CANVASS_ASSIGN_OR_RETURN(const std::string selection_id,
                             StringField(path, entry, where, "selection"));
    const std::optional<uint32_t> selection = election.FindSelection(*contest, selection_id);
    if (!selection) {
      return invalid(
          absl::StrCat("contest '", contest_id, "' has no selection '", selection_id, "'"));
    }
    return election.SelectionCell(*contest, *selection);
  }
  CANVASS_ASSIGN_OR_RETURN(const std::string figure, StringField(path, entry, where, "figure"));
  for (uint32_t f = 0; f < election.figures_per_contest(); ++f) {
    if (ContestFigureName(static_cast<ContestFigure>(f)) == figure) {
      return election.FigureCell(*contest, static_cast<ContestFigure>(f));
    }
  }
  return invalid(absl::StrCat("contest '", contest_id, "' has no figure \"", figure, "\""));
}

}  // namespace

std::string ContestPredictionToJson(const ContestPrediction& prediction,
                                    const ContestElection& election) {
  const ContestTally& tally = prediction.tally;
  Json fired = Json::object();
  for (const auto& [name, count] : prediction.fired) fired[name] = count;
  Json rejected = Json::object();
  for (int r = 0; r < kNumCastRejects; ++r) {
    rejected[std::string(CastRejectName(static_cast<CastReject>(r)))] = tally.rejected[r];
  }
  Json units = Json::array();
  for (uint32_t u = 0; u < tally.num_units; ++u) {
    Json cells = Json::array();
    for (uint32_t cell = 0; cell < tally.cells_per_unit; ++cell) {
      if (const uint64_t count = tally.Cell(u, cell); count > 0) {
        cells.push_back(CellJson(election, cell, count));
      }
    }
    if (!cells.empty()) units.push_back({{"unit", election.units[u].id}, {"cells", cells}});
  }
  Json root = {{"prediction_version", 1},
               {"note",
                "SYNTHETIC: what a correct engine must count from the generated cast vote records; "
                "cells not listed are 0"},
               {"election", prediction.election},
               {"seed", prediction.seed},
               {"scale", prediction.scale},
               {"faults", prediction.faults},
               {"fired", std::move(fired)},
               {"records",
                {{"read", tally.records_read},
                 {"counted", tally.counted},
                 {"adjudicated", tally.adjudicated},
                 {"rejected", std::move(rejected)}}},
               {"units", std::move(units)}};
  return root.dump(1, ' ', /*ensure_ascii=*/false) + "\n";
}

absl::StatusOr<ContestPrediction> ParseContestPrediction(const std::string& path,
                                                         absl::string_view text,
                                                         const ContestElection& election) {
  CANVASS_ASSIGN_OR_RETURN(const Json root, ParseJson(path, text));
  CANVASS_ASSIGN_OR_RETURN(const uint64_t version,
                           CountField(path, root, "", "prediction_version"));
  if (version != 1) {
    return Bad(path, absl::StrCat("field 'prediction_version': expected 1, got ", version));
  }
  ContestPrediction prediction;
  CANVASS_ASSIGN_OR_RETURN(prediction.election, StringField(path, root, "", "election"));
  if (prediction.election != election.id) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": the prediction of election \"",
                                                   prediction.election, "\", not of \"",
                                                   election.id, "\""));
  }
  CANVASS_ASSIGN_OR_RETURN(prediction.seed, CountField(path, root, "", "seed"));
  CANVASS_ASSIGN_OR_RETURN(prediction.scale, CountField(path, root, "", "scale"));
  CANVASS_ASSIGN_OR_RETURN(prediction.faults, StringField(path, root, "", "faults"));
  CANVASS_ASSIGN_OR_RETURN(prediction.fired, FiredField(path, root));
  ContestTally& tally = prediction.tally;
  tally.num_units = static_cast<uint32_t>(election.units.size());
  tally.cells_per_unit = election.cells_per_unit();
  tally.cells.assign(static_cast<size_t>(tally.num_units) * tally.cells_per_unit, 0);
  CANVASS_ASSIGN_OR_RETURN(const Json* records, Field(path, root, "", "records"));
  CANVASS_ASSIGN_OR_RETURN(tally.records_read, CountField(path, *records, "records.", "read"));
  CANVASS_ASSIGN_OR_RETURN(tally.counted, CountField(path, *records, "records.", "counted"));
  CANVASS_ASSIGN_OR_RETURN(tally.adjudicated,
                           CountField(path, *records, "records.", "adjudicated"));
  CANVASS_ASSIGN_OR_RETURN(const Json* rejected, Field(path, *records, "records.", "rejected"));
  for (int r = 0; r < kNumCastRejects; ++r) {
    const std::string name(CastRejectName(static_cast<CastReject>(r)));
    CANVASS_ASSIGN_OR_RETURN(tally.rejected[r],
                             CountField(path, *rejected, "records.rejected.", name.c_str()));
  }
  CANVASS_ASSIGN_OR_RETURN(const Json* units, ArrayField(path, root, "", "units"));
  std::vector<uint8_t> given(tally.cells.size(), 0);
  for (size_t i = 0; i < units->size(); ++i) {
    const Json& entry = (*units)[i];
    const std::string where = absl::StrCat("units[", i, "].");
    CANVASS_ASSIGN_OR_RETURN(const std::string unit_id, StringField(path, entry, where, "unit"));
    const std::optional<uint32_t> unit = election.FindUnit(unit_id);
    if (!unit) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": field '", where, "unit': unit '",
                                                     unit_id,
                                                     "' is not a reporting unit of the election"));
    }
    CANVASS_ASSIGN_OR_RETURN(const Json* cells, ArrayField(path, entry, where, "cells"));
    for (size_t k = 0; k < cells->size(); ++k) {
      const std::string cell_where = absl::StrCat(where, "cells[", k, "]");
      const Json& cell_entry = (*cells)[k];
      CANVASS_ASSIGN_OR_RETURN(const uint32_t cell, CellOf(path, cell_where, cell_entry, election));
      CANVASS_ASSIGN_OR_RETURN(const uint64_t count,
                               CountField(path, cell_entry, cell_where + ".", "count"));
      const size_t at = static_cast<size_t>(*unit) * tally.cells_per_unit + cell;
      if (given[at]) {
        return absl::InvalidArgumentError(absl::StrCat(
            path, ": field '", cell_where, "': a cell of unit '", unit_id, "' given twice"));
      }
      given[at] = 1;
      tally.cells[at] = count;
    }
  }
  return prediction;
}

}  // namespace canvass
