// NIST ERR (SP 1500-100 v2) and CVR (SP 1500-103 v1) election definitions from JSON,
// read with simdjson's DOM (the files are small beside the cast vote records).
#include "engine/io/nist/err_json.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/base/file_util.h"
#include "engine/base/status_macros.h"
#include "simdjson.h"

namespace canvass {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

// Reads one document's definitions, naming the JSON path of every error.
class DefinitionReader {
 public:
  DefinitionReader(absl::string_view name, bool results) : name_(name), results_(results) {}
  // Whether the election gets the `invalid` figure (a CVR report that marks contests
  // invalidated-rules).
  bool invalid_figure = false;

  absl::Status Read(const element& root, ContestElection* election);

 private:
  absl::Status Error(absl::string_view path, absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(name_, ": ", path, ": ", what));
  }
  absl::StatusOr<std::string> String(const object& parent, std::string_view key,
                                     absl::string_view path, bool required) const;
  absl::StatusOr<std::optional<uint64_t>> Count(const object& parent, std::string_view key,
                                                absl::string_view path) const;
  // The elements of array `key`; none when it is absent.
  absl::StatusOr<std::vector<element>> Array(const object& parent, std::string_view key,
                                             absl::string_view path) const;
  absl::Status ReadUnits(const object& root, ContestElection* election);
  absl::Status ReadContest(const element& value, const std::string& path,
                           ContestElection* election);
  absl::Status ReadCounts(const ContestElection& election, const object& root,
                          ContestElection* out);
  absl::Status ReadContestCounts(const ContestElection& election, uint32_t contest,
                                 const object& value, const std::string& path,
                                 ContestElection* out);
  absl::StatusOr<uint32_t> Unit(const ContestElection& election, const object& value,
                                const std::string& path) const;

  std::string name_;
  bool results_;
  std::vector<std::pair<std::string, std::string>> candidate_names_;
};

// The voting system's own code of an object: the Value of its first ExternalIdentifier of
// Type "local-level", else of its first of Type "other"; "" when it has neither.
std::string ExternalId(const object& parent) {
  array ids;
  if (parent["ExternalIdentifier"].get_array().get(ids) != simdjson::SUCCESS) return "";
  std::string other;
  bool has_other = false;
  for (const element id : ids) {
    std::string_view type;
    std::string_view value;
    if (id["Type"].get_string().get(type) != simdjson::SUCCESS ||
        id["Value"].get_string().get(value) != simdjson::SUCCESS) {
      continue;
    }
    if (type == "local-level") return std::string(value);
    if (type == "other" && !has_other) {
      other = std::string(value);
      has_other = true;
    }
  }
  return other;
}

// The first Content of an InternationalizedText, or a plain string.
std::string Text(const element& value) {
  std::string_view text;
  if (value.get_string().get(text) == simdjson::SUCCESS) return std::string(text);
  array texts;
  if (value["Text"].get_array().get(texts) != simdjson::SUCCESS) return "";
  for (const element text_value : texts) {
    if (text_value["Content"].get_string().get(text) == simdjson::SUCCESS) {
      return std::string(text);
    }
  }
  return "";
}

absl::StatusOr<std::string> DefinitionReader::String(const object& parent, std::string_view key,
                                                     absl::string_view path, bool required) const {
  element value;
  if (parent[key].get(value) != simdjson::SUCCESS) {
    if (!required) return std::string();
    return Error(path, absl::StrCat("missing \"", absl::string_view(key.data(), key.size()), "\""));
  }
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) {
    return Error(absl::StrCat(path, ".", absl::string_view(key.data(), key.size())),
                 "expected a string");
  }
  return std::string(text);
}

absl::StatusOr<std::optional<uint64_t>> DefinitionReader::Count(const object& parent,
                                                                std::string_view key,
                                                                absl::string_view path) const {
  element value;
  if (parent[key].get(value) != simdjson::SUCCESS) return std::optional<uint64_t>();
  uint64_t count = 0;
  if (value.get_uint64().get(count) != simdjson::SUCCESS || count >= (uint64_t{1} << 63)) {
    return Error(absl::StrCat(path, ".", absl::string_view(key.data(), key.size())),
                 "expected a count (an integer 0 to 2^63 - 1)");
  }
  return std::optional<uint64_t>(count);
}

absl::StatusOr<std::vector<element>> DefinitionReader::Array(const object& parent,
                                                             std::string_view key,
                                                             absl::string_view path) const {
  std::vector<element> out;
  element value;
  if (parent[key].get(value) != simdjson::SUCCESS) return out;  // absent: empty
  array values;
  if (value.get_array().get(values) != simdjson::SUCCESS) {
    return Error(absl::StrCat(path, ".", absl::string_view(key.data(), key.size())),
                 "expected an array");
  }
  for (const element item : values) out.push_back(item);
  return out;
}

absl::Status DefinitionReader::ReadUnits(const object& root, ContestElection* election) {
  CANVASS_ASSIGN_OR_RETURN(std::vector<element> units, Array(root, "GpUnit", "$"));
  size_t index = 0;
  for (const element value : units) {
    const std::string path = absl::StrCat("$.GpUnit[", index++, "]");
    object unit;
    if (value.get_object().get(unit) != simdjson::SUCCESS) return Error(path, "expected an object");
    ReportingUnit out;
    CANVASS_ASSIGN_OR_RETURN(out.id, String(unit, "@id", path, /*required=*/true));
    CANVASS_ASSIGN_OR_RETURN(out.type, String(unit, "Type", path, /*required=*/false));
    element name;
    if (unit["Name"].get(name) == simdjson::SUCCESS) out.name = Text(name);
    out.external_id = ExternalId(unit);
    CANVASS_ASSIGN_OR_RETURN(std::vector<element> composing,
                             Array(unit, "ComposingGpUnitIds", path));
    for (const element id : composing) {
      std::string_view text;
      if (id.get_string().get(text) != simdjson::SUCCESS) {
        return Error(absl::StrCat(path, ".ComposingGpUnitIds"), "expected strings");
      }
      out.composing.emplace_back(text);
    }
    election->units.push_back(std::move(out));
  }
  if (election->units.empty()) return Error("$.GpUnit", "no reporting units (GpUnit)");
  return absl::OkStatus();
}

absl::Status DefinitionReader::ReadContest(const element& value, const std::string& path,
                                           ContestElection* election) {
  object contest;
  if (value.get_object().get(contest) != simdjson::SUCCESS)
    return Error(path, "expected an object");
  ElectionContest out;
  CANVASS_ASSIGN_OR_RETURN(out.id, String(contest, "@id", path, /*required=*/true));
  element name;
  if (contest["Name"].get(name) == simdjson::SUCCESS) out.name = Text(name);
  out.external_id = ExternalId(contest);
  CANVASS_ASSIGN_OR_RETURN(std::optional<uint64_t> votes_allowed,
                           Count(contest, "VotesAllowed", path));
  if (votes_allowed && (*votes_allowed < 1 || *votes_allowed > kMaxSelections)) {
    return Error(absl::StrCat(path, ".VotesAllowed"),
                 absl::StrCat("expected 1 to ", kMaxSelections, ", got ", *votes_allowed));
  }
  out.vote_for = static_cast<uint32_t>(votes_allowed.value_or(1));
  CANVASS_ASSIGN_OR_RETURN(std::string variation,
                           String(contest, "VoteVariation", path, /*required=*/false));
  if (variation == "rcv" || variation == "irv" || variation == "stv" || variation == "borda") {
    out.kind = ContestKind::kRanked;
  }
  CANVASS_ASSIGN_OR_RETURN(std::vector<element> selections,
                           Array(contest, "ContestSelection", path));
  size_t index = 0;
  for (const element selection_value : selections) {
    const std::string selection_path = absl::StrCat(path, ".ContestSelection[", index++, "]");
    object selection;
    if (selection_value.get_object().get(selection) != simdjson::SUCCESS) {
      return Error(selection_path, "expected an object");
    }
    Selection sel;
    CANVASS_ASSIGN_OR_RETURN(sel.id, String(selection, "@id", selection_path, true));
    sel.external_id = ExternalId(selection);
    bool write_in = false;
    if (selection["IsWriteIn"].get_bool().get(write_in) == simdjson::SUCCESS)
      sel.write_in = write_in;
    array candidates;
    if (selection["CandidateIds"].get_array().get(candidates) == simdjson::SUCCESS) {
      for (const element id : candidates) {
        std::string_view text;
        if (id.get_string().get(text) != simdjson::SUCCESS) continue;
        for (const auto& [candidate, candidate_name] : candidate_names_) {
          if (candidate == text) {
            absl::StrAppend(&sel.name, sel.name.empty() ? "" : " / ", candidate_name);
          }
        }
      }
    }
    element text;
    if (sel.name.empty() && selection["Selection"].get(text) == simdjson::SUCCESS) {
      sel.name = Text(text);
    }
    if (sel.name.empty() && sel.write_in) sel.name = "Write-in";
    out.selections.push_back(std::move(sel));
  }
  election->contests.push_back(std::move(out));
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> DefinitionReader::Unit(const ContestElection& election,
                                                const object& value,
                                                const std::string& path) const {
  CANVASS_ASSIGN_OR_RETURN(std::string unit_id, String(value, "GpUnitId", path, true));
  const std::optional<uint32_t> unit = election.FindUnit(unit_id);
  if (!unit) {
    return Error(absl::StrCat(path, ".GpUnitId"),
                 absl::StrCat("'", unit_id, "' is not a GpUnit of the report"));
  }
  return *unit;
}

absl::Status DefinitionReader::ReadContestCounts(const ContestElection& election, uint32_t contest,
                                                 const object& value, const std::string& path,
                                                 ContestElection* out) {
  CANVASS_ASSIGN_OR_RETURN(std::vector<element> selections, Array(value, "ContestSelection", path));
  size_t index = 0;
  for (const element selection_value : selections) {
    const std::string selection_path = absl::StrCat(path, ".ContestSelection[", index, "]");
    const uint32_t cell = election.SelectionCell(contest, static_cast<uint32_t>(index++));
    object selection = selection_value.get_object().value_unsafe();
    CANVASS_ASSIGN_OR_RETURN(std::vector<element> counts,
                             Array(selection, "VoteCounts", selection_path));
    size_t count_index = 0;
    for (const element count_value : counts) {
      const std::string count_path =
          absl::StrCat(selection_path, ".VoteCounts[", count_index++, "]");
      object count;
      if (count_value.get_object().get(count) != simdjson::SUCCESS) {
        return Error(count_path, "expected an object");
      }
      CANVASS_ASSIGN_OR_RETURN(const uint32_t unit, Unit(election, count, count_path));
      CANVASS_ASSIGN_OR_RETURN(std::string type, String(count, "Type", count_path, false));
      CANVASS_ASSIGN_OR_RETURN(std::optional<uint64_t> n, Count(count, "Count", count_path));
      if (!n) return Error(count_path, "missing \"Count\"");
      if (type.empty() || type == "total") {
        out->reported.push_back({unit, cell, *n});
      } else {
        out->reported_by_type.push_back({unit, cell, type, *n});
      }
    }
  }
  CANVASS_ASSIGN_OR_RETURN(std::vector<element> others, Array(value, "OtherCounts", path));
  index = 0;
  for (const element other_value : others) {
    const std::string other_path = absl::StrCat(path, ".OtherCounts[", index++, "]");
    object other;
    if (other_value.get_object().get(other) != simdjson::SUCCESS) {
      return Error(other_path, "expected an object");
    }
    CANVASS_ASSIGN_OR_RETURN(const uint32_t unit, Unit(election, other, other_path));
    for (const auto& [key, figure] : {std::pair{"Overvotes", ContestFigure::kOvervotes},
                                      std::pair{"Undervotes", ContestFigure::kUndervotes}}) {
      CANVASS_ASSIGN_OR_RETURN(std::optional<uint64_t> n, Count(other, key, other_path));
      if (n) out->reported.push_back({unit, election.FigureCell(contest, figure), *n});
    }
  }
  CANVASS_ASSIGN_OR_RETURN(std::vector<element> ballots, Array(value, "BallotCounts", path));
  index = 0;
  for (const element ballot_value : ballots) {
    const std::string ballot_path = absl::StrCat(path, ".BallotCounts[", index++, "]");
    object ballot;
    if (ballot_value.get_object().get(ballot) != simdjson::SUCCESS) {
      return Error(ballot_path, "expected an object");
    }
    CANVASS_ASSIGN_OR_RETURN(const uint32_t unit, Unit(election, ballot, ballot_path));
    CANVASS_ASSIGN_OR_RETURN(std::optional<uint64_t> n, Count(ballot, "BallotsCast", ballot_path));
    if (n)
      out->reported.push_back({unit, election.FigureCell(contest, ContestFigure::kBallots), *n});
  }
  return absl::OkStatus();
}

absl::Status DefinitionReader::Read(const element& root_value, ContestElection* election) {
  object root;
  if (root_value.get_object().get(root) != simdjson::SUCCESS) {
    return Error("$", "expected a JSON object");
  }
  element election_value;
  if (root["Election"].get(election_value) != simdjson::SUCCESS) {
    return Error("$", "missing \"Election\"");
  }
  std::string election_path = "$.Election";
  array elections;
  if (election_value.get_array().get(elections) == simdjson::SUCCESS) {
    if (elections.size() == 0) return Error(election_path, "no election");
    election_value = elections.at(0).value_unsafe();
    election_path = "$.Election[0]";
  }
  object election_object;
  if (election_value.get_object().get(election_object) != simdjson::SUCCESS) {
    return Error(election_path, "expected an object");
  }
  CANVASS_ASSIGN_OR_RETURN(election->scope_id,
                           String(election_object, "ElectionScopeId", election_path, true));
  element name;
  if (election_object["Name"].get(name) == simdjson::SUCCESS) election->name = Text(name);
  CANVASS_ASSIGN_OR_RETURN(std::string id, String(election_object, "@id", election_path, false));
  election->id = id.empty() ? election->name : id;
  CANVASS_ASSIGN_OR_RETURN(std::vector<element> candidates,
                           Array(election_object, "Candidate", election_path));
  for (const element candidate : candidates) {
    std::string_view candidate_id;
    if (candidate["@id"].get_string().get(candidate_id) != simdjson::SUCCESS) continue;
    element candidate_name;
    std::string text;
    if (candidate["BallotName"].get(candidate_name) == simdjson::SUCCESS ||
        candidate["Name"].get(candidate_name) == simdjson::SUCCESS) {
      text = Text(candidate_name);
    }
    candidate_names_.emplace_back(std::string(candidate_id), std::move(text));
  }
  CANVASS_RETURN_IF_ERROR(ReadUnits(root, election));
  election->invalid_figure = invalid_figure;
  CANVASS_ASSIGN_OR_RETURN(std::vector<element> contests,
                           Array(election_object, "Contest", election_path));
  size_t index = 0;
  for (const element contest : contests) {
    CANVASS_RETURN_IF_ERROR(
        ReadContest(contest, absl::StrCat(election_path, ".Contest[", index++, "]"), election));
  }
  // The indexes first (unit and cell lookups), then the figures, then the final checks.
  CANVASS_RETURN_IF_ERROR(election->Finalize(name_));
  if (!results_) return absl::OkStatus();
  index = 0;
  for (const element contest : contests) {
    const std::string path = absl::StrCat(election_path, ".Contest[", index, "]");
    CANVASS_RETURN_IF_ERROR(ReadContestCounts(*election, static_cast<uint32_t>(index++),
                                              contest.get_object().value_unsafe(), path, election));
  }
  CANVASS_ASSIGN_OR_RETURN(std::vector<element> ballots,
                           Array(election_object, "BallotCounts", election_path));
  index = 0;
  for (const element ballot_value : ballots) {
    const std::string path = absl::StrCat(election_path, ".BallotCounts[", index++, "]");
    object ballot;
    if (ballot_value.get_object().get(ballot) != simdjson::SUCCESS) {
      return Error(path, "expected an object");
    }
    CANVASS_ASSIGN_OR_RETURN(const uint32_t unit, Unit(*election, ballot, path));
    CANVASS_ASSIGN_OR_RETURN(std::optional<uint64_t> n, Count(ballot, "BallotsCast", path));
    if (n) election->reported.push_back({unit, ContestElection::kBallotsCastCell, *n});
  }
  return election->Finalize(name_);
}

absl::StatusOr<ContestElection> Parse(absl::string_view name, absl::string_view text, bool results,
                                      bool invalid_figure) {
  simdjson::dom::parser parser;
  const simdjson::padded_string padded(text.data(), text.size());
  element root;
  const simdjson::error_code error = parser.parse(padded).get(root);
  if (error != simdjson::SUCCESS) {
    return absl::DataLossError(
        absl::StrCat(name, ": not valid JSON (", simdjson::error_message(error), ")"));
  }
  ContestElection election;
  election.source = std::string(name);
  DefinitionReader reader(name, results);
  reader.invalid_figure = invalid_figure;
  CANVASS_RETURN_IF_ERROR(reader.Read(root, &election));
  return election;
}

}  // namespace

absl::StatusOr<ContestElection> ParseResultsReportJson(absl::string_view name,
                                                       absl::string_view text) {
  return Parse(name, text, /*results=*/true, /*invalid_figure=*/false);
}

absl::StatusOr<ContestElection> ParseCvrElectionJson(absl::string_view name, absl::string_view text,
                                                     bool invalid_figure) {
  return Parse(name, text, /*results=*/false, invalid_figure);
}

absl::StatusOr<ContestElection> LoadResultsReportJson(const std::string& path) {
  CANVASS_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, kMaxResultsReportBytes));
  return ParseResultsReportJson(path, text);
}

bool LooksLikeResultsReportJson(absl::string_view text) {
  const absl::string_view head = text.substr(0, 1 << 16);
  size_t i = 0;
  while (i < head.size() &&
         (head[i] == ' ' || head[i] == '\n' || head[i] == '\r' || head[i] == '\t')) {
    ++i;
  }
  if (i == head.size() || head[i] != '{') return false;
  return absl::StrContains(head, "ElectionResults.") ||
         (absl::StrContains(head, "\"Election\"") && !absl::StrContains(head, "\"CVR\""));
}

}  // namespace canvass
