// Election model and the loader for election directories (election.json + roster CSV).
#include "engine/election/election.h"

#include <algorithm>
#include <limits>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "engine/base/apportion.h"
#include "engine/base/check.h"
#include "engine/base/checked_math.h"
#include "engine/base/decimal.h"
#include "engine/base/file_util.h"
#include "engine/base/status_macros.h"
#include "engine/election/contest_json.h"
#include "engine/election/internal/json_fields.h"
#include "nlohmann/json.hpp"

namespace canvass {
namespace {

using Json = nlohmann::json;

using election_internal::FieldError;

std::string Describe(const Json& value) { return election_internal::DescribeJson(value); }

// The election's fingerprint (ElectionFingerprint) separates its id, codes and station ids
// with NUL bytes, so none of them may hold one: "t\0A" with codes [B] would fingerprint
// like "t" with codes [A, B].
constexpr char kNulMessage[] =
    "must not contain a NUL byte (the election fingerprint separates fields with it)";

// Reads string `key` of `object`; `field` is its full path for messages ("choices[0].code").
absl::StatusOr<std::string> RequireString(const Json& object, absl::string_view file,
                                          const std::string& field, bool allow_empty) {
  const size_t dot = field.rfind('.');
  auto it = object.find(dot == std::string::npos ? field : field.substr(dot + 1));
  if (it == object.end()) return FieldError(file, field, "missing; expected a string");
  if (!it->is_string()) {
    return FieldError(file, field, absl::StrCat("expected a string, got ", Describe(*it)));
  }
  std::string value = it->get<std::string>();
  if (value.empty() && !allow_empty) return FieldError(file, field, "must not be empty");
  return value;
}

// A figure: a JSON integer in 0..2^63-1 (so negative, fractional and huge values fail).
absl::StatusOr<uint64_t> RequireFigure(const Json& value, absl::string_view file,
                                       absl::string_view field) {
  if (value.is_number_unsigned()) {
    uint64_t figure = value.get<uint64_t>();
    if (figure > kMaxFigure) {
      return FieldError(file, field, absl::StrCat("figure ", figure, " is at or above 2^63"));
    }
    return figure;
  }
  if (value.is_number_integer()) {
    return FieldError(file, field,
                      absl::StrCat("expected a non-negative integer, got ", value.dump()));
  }
  return FieldError(file, field,
                    absl::StrCat("expected a non-negative integer, got ", Describe(value)));
}

absl::StatusOr<ChoiceKind> ParseKind(const Json& choice, absl::string_view file,
                                     const std::string& field) {
  auto it = choice.find("kind");
  if (it == choice.end()) return ChoiceKind::kCandidate;
  if (!it->is_string() || (*it != "candidate" && *it != "invalid" && *it != "blank")) {
    return FieldError(
        file, field + ".kind",
        absl::StrCat("expected \"candidate\", \"invalid\" or \"blank\", got ", Describe(*it)));
  }
  if (*it == "invalid") return ChoiceKind::kInvalid;
  if (*it == "blank") return ChoiceKind::kBlank;
  return ChoiceKind::kCandidate;
}

absl::Status ParseChoices(const Json& root, absl::string_view file, Contest* contest) {
  auto it = root.find("choices");
  if (it == root.end()) return FieldError(file, "choices", "missing; expected an array");
  if (!it->is_array()) {
    return FieldError(file, "choices", absl::StrCat("expected an array, got ", Describe(*it)));
  }
  if (it->empty()) return FieldError(file, "choices", "expected at least one choice");
  if (it->size() > static_cast<size_t>(kMaxChoices)) {
    return FieldError(file, "choices",
                      absl::StrCat("at most ", kMaxChoices, " choices, got ", it->size()));
  }
  absl::flat_hash_set<std::string> codes;
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& entry = (*it)[i];
    std::string field = absl::StrCat("choices[", i, "]");
    if (!entry.is_object()) {
      return FieldError(file, field, absl::StrCat("expected an object, got ", Describe(entry)));
    }
    Choice choice;
    CANVASS_ASSIGN_OR_RETURN(choice.code, RequireString(entry, file, field + ".code", false));
    if (entry.contains("name")) {
      CANVASS_ASSIGN_OR_RETURN(choice.name, RequireString(entry, file, field + ".name", true));
    } else {
      choice.name = choice.code;
    }
    CANVASS_ASSIGN_OR_RETURN(choice.kind, ParseKind(entry, file, field));
    if (choice.code.find_first_of(",\"\r\n") != std::string::npos) {
      return FieldError(file, field + ".code", "must not contain a comma, quote or line break");
    }
    if (choice.code.find('\0') != std::string::npos) {
      return FieldError(file, field + ".code", kNulMessage);
    }
    if (!codes.insert(choice.code).second) {
      return FieldError(file, field + ".code",
                        absl::StrCat("duplicate choice code \"", choice.code, "\""));
    }
    contest->choices.push_back(std::move(choice));
  }
  // ParseReported looks the reported codes up next.
  contest->BuildIndex();
  return absl::OkStatus();
}

absl::Status ParseReported(const Json& root, absl::string_view file, Contest* contest) {
  auto it = root.find("reported");
  if (it == root.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_object()) {
    return FieldError(file, "reported", absl::StrCat("expected an object, got ", Describe(*it)));
  }
  ReportedFigures reported;
  auto cast = it->find("cast");
  if (cast == it->end()) return FieldError(file, "reported.cast", "missing; expected a figure");
  CANVASS_ASSIGN_OR_RETURN(reported.cast, RequireFigure(*cast, file, "reported.cast"));
  reported.choices.assign(contest->choices.size(), std::nullopt);
  auto choices = it->find("choices");
  if (choices == it->end()) {
    return FieldError(file, "reported.choices", "missing; expected an object {code: figure}");
  }
  if (!choices->is_object()) {
    return FieldError(file, "reported.choices",
                      absl::StrCat("expected an object {code: figure}, got ", Describe(*choices)));
  }
  for (const auto& [code, value] : choices->items()) {
    std::string field = absl::StrCat("reported.choices.", code);
    std::optional<ChoiceIndex> index = contest->FindChoice(code);
    if (!index) {
      return FieldError(file, field,
                        absl::StrCat("reported figure for unknown choice code \"", code, "\""));
    }
    CANVASS_ASSIGN_OR_RETURN(reported.choices[*index], RequireFigure(value, file, field));
  }
  contest->reported = std::move(reported);
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ParseRosterNumber(absl::string_view text, absl::string_view file,
                                           size_t line, absl::string_view column) {
  const std::optional<uint64_t> value = ParseDecimalUint64(text);
  if (!value || *value > kMaxFigure) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ":", line, ": column '", column,
                     "': expected a non-negative integer below 2^63, got \"", text, "\""));
  }
  return *value;
}

absl::Status ParseRoster(absl::string_view text, absl::string_view file, Election* election) {
  if (absl::StartsWith(text, "\xEF\xBB\xBF")) text.remove_prefix(3);
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  size_t line_number = 0;
  bool has_header = false;
  bool has_weight = false;
  absl::flat_hash_map<std::string, size_t> seen;
  for (absl::string_view line : lines) {
    ++line_number;
    line = absl::StripSuffix(line, "\r");
    if (line.empty()) continue;
    std::vector<absl::string_view> fields = absl::StrSplit(line, ',');
    if (!has_header) {  // the first non-blank line
      has_header = true;
      if (line == "station,country,capacity,weight") {
        has_weight = true;
      } else if (line != "station,country,capacity") {
        return absl::InvalidArgumentError(
            absl::StrCat(file, ":", line_number,
                         ": expected header \"station,country,capacity\" or "
                         "\"station,country,capacity,weight\", got \"",
                         line, "\""));
      }
      continue;
    }
    size_t expected = has_weight ? 4 : 3;
    if (fields.size() != expected) {
      return absl::InvalidArgumentError(absl::StrCat(file, ":", line_number, ": expected ",
                                                     expected, " fields, got ", fields.size()));
    }
    Station station;
    station.id = std::string(fields[0]);
    station.country = std::string(fields[1]);
    if (station.id.empty() || station.country.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ":", line_number, ": station and country must not be empty"));
    }
    if (station.id.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ":", line_number, ": column 'station': ", kNulMessage));
    }
    CANVASS_ASSIGN_OR_RETURN(station.capacity,
                             ParseRosterNumber(fields[2], file, line_number, "capacity"));
    if (station.capacity == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ":", line_number, ": column 'capacity': station ", station.id,
                       " has capacity 0; expected at least 1 issued ballot serial"));
    }
    station.weight = station.capacity;
    if (has_weight) {
      CANVASS_ASSIGN_OR_RETURN(station.weight,
                               ParseRosterNumber(fields[3], file, line_number, "weight"));
    }
    auto [where, inserted] = seen.emplace(station.id, line_number);
    if (!inserted) {
      return absl::InvalidArgumentError(absl::StrCat(file, ":", line_number,
                                                     ": duplicate station \"", station.id,
                                                     "\" (first at line ", where->second, ")"));
    }
    election->stations.push_back(std::move(station));
  }
  if (!has_header) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": empty roster; expected a header"));
  }
  if (election->stations.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": roster has no stations"));
  }
  return absl::OkStatus();
}

// The calibrated generator splits each reported figure across stations in proportion to
// weight; each station must have been issued enough serials for its share at scale 1.
absl::Status CheckCapacities(const Election& election, absl::string_view roster_name) {
  const Contest& contest = election.contest();
  if (!contest.reported) return absl::OkStatus();
  std::vector<uint64_t> weights;
  uint64_t capacity_sum = 0, weight_sum = 0;
  for (const Station& station : election.stations) {
    weights.push_back(station.weight);
    CANVASS_RETURN_IF_ERROR(CheckedAdd(station.capacity, &capacity_sum,
                                       absl::StrCat(roster_name, ": sum of capacities")));
    CANVASS_RETURN_IF_ERROR(
        CheckedAdd(station.weight, &weight_sum, absl::StrCat(roster_name, ": sum of weights")));
  }
  if (capacity_sum < contest.reported->cast) {
    return absl::InvalidArgumentError(absl::StrCat(
        roster_name, ": capacities too small for the reported figures: ", capacity_sum,
        " ballot serials issued in all, but ", contest.reported->cast, " ballots reported cast"));
  }
  // Any nonzero figure (cast, or a choice's, consistent with cast or not) needs a weight
  // to split by; with all figures 0 every station's share is 0, whatever the weights.
  bool any_figure = contest.reported->cast > 0;
  for (const std::optional<uint64_t>& figure : contest.reported->choices) {
    any_figure |= figure.value_or(0) > 0;
  }
  if (weight_sum == 0 && any_figure) {
    return absl::InvalidArgumentError(
        absl::StrCat(roster_name,
                     ": every station has weight 0 (column weight); cannot split the reported "
                     "figures across stations"));
  }
  std::vector<uint64_t> ballots(election.stations.size(), 0);
  for (const std::optional<uint64_t>& figure : contest.reported->choices) {
    std::vector<uint64_t> parts = ApportionLargestRemainder(figure.value_or(0), weights);
    for (size_t s = 0; s < parts.size(); ++s) ballots[s] += parts[s];
  }
  for (size_t s = 0; s < ballots.size(); ++s) {
    if (ballots[s] > election.stations[s].capacity) {
      return absl::InvalidArgumentError(absl::StrCat(
          roster_name, ": capacities too small for the reported figures: station ",
          election.stations[s].id, " has capacity ", election.stations[s].capacity,
          " but its weighted share of the reported figures is ", ballots[s], " ballots"));
    }
  }
  return absl::OkStatus();
}

absl::Status ParseHeader(const Json& root, absl::string_view file, Election* election,
                         std::string* roster_file) {
  if (!root.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": expected a JSON object at the top level, got ", root.type_name()));
  }
  CANVASS_ASSIGN_OR_RETURN(election->id, RequireString(root, file, "id", false));
  if (election->id.find('\0') != std::string::npos) {
    return FieldError(file, "id", kNulMessage);
  }
  CANVASS_ASSIGN_OR_RETURN(election->title, RequireString(root, file, "title", true));
  if (root.contains("source")) {
    CANVASS_ASSIGN_OR_RETURN(election->source, RequireString(root, file, "source", true));
  }
  CANVASS_ASSIGN_OR_RETURN(*roster_file, RequireString(root, file, "roster", false));
  auto synthetic = root.find("synthetic_roster");
  if (synthetic != root.end()) {
    if (!synthetic->is_boolean()) {
      return FieldError(file, "synthetic_roster",
                        absl::StrCat("expected true or false, got ", Describe(*synthetic)));
    }
    election->synthetic_roster = synthetic->get<bool>();
  }
  return absl::OkStatus();
}

absl::StatusOr<Json> ParseJson(absl::string_view text, absl::string_view file) {
  // nlohmann reports the byte offset of a syntax error only through its exception, which
  // is caught here and never crosses the module boundary.
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& error) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": byte ", error.byte, ": not valid JSON: ", error.what()));
  } catch (const Json::exception& error) {
    // A number too large for a double ("1e99999") is out_of_range, not a parse_error.
    return absl::InvalidArgumentError(absl::StrCat(file, ": not valid JSON: ", error.what()));
  }
}

}  // namespace

absl::string_view ChoiceKindName(ChoiceKind kind) {
  switch (kind) {
    case ChoiceKind::kCandidate:
      return "candidate";
    case ChoiceKind::kInvalid:
      return "invalid";
    case ChoiceKind::kBlank:
      return "blank";
  }
  return "candidate";
}

bool ReportedFigures::InternallyConsistent() const {
  unsigned __int128 sum = 0;
  for (const std::optional<uint64_t>& figure : choices) {
    if (!figure) return false;
    sum += *figure;
  }
  return sum == cast;
}

std::optional<ChoiceIndex> Contest::FindChoice(absl::string_view code) const {
  auto it = choice_index_.find(code);
  if (it == choice_index_.end()) return std::nullopt;
  return it->second;
}

void Contest::BuildIndex() {
  CANVASS_CHECK(choices.size() <= static_cast<size_t>(kMaxChoices));
  choice_index_.clear();
  for (size_t c = 0; c < choices.size(); ++c) {
    choice_index_.emplace(choices[c].code, static_cast<ChoiceIndex>(c));
  }
}

std::optional<StationIndex> Election::FindStation(absl::string_view id) const {
  auto it = station_index_.find(id);
  if (it == station_index_.end()) return std::nullopt;
  return it->second;
}

void Election::BuildIndexes() {
  for (Contest& contest : contests) contest.BuildIndex();
  station_index_.clear();
  countries.clear();
  for (StationIndex s = 0; s < stations.size(); ++s) {
    station_index_.emplace(stations[s].id, s);
    countries.push_back(stations[s].country);
  }
  std::sort(countries.begin(), countries.end());
  countries.erase(std::unique(countries.begin(), countries.end()), countries.end());
  station_country_.resize(stations.size());
  for (StationIndex s = 0; s < stations.size(); ++s) {
    station_country_[s] = static_cast<uint32_t>(
        std::lower_bound(countries.begin(), countries.end(), stations[s].country) -
        countries.begin());
  }
}

absl::StatusOr<Election> ParseElection(absl::string_view json_text, absl::string_view json_name,
                                       absl::string_view roster_text,
                                       absl::string_view roster_name) {
  CANVASS_ASSIGN_OR_RETURN(Json root, ParseJson(json_text, json_name));
  Election election;
  std::string roster_file;
  CANVASS_RETURN_IF_ERROR(ParseHeader(root, json_name, &election, &roster_file));
  Contest contest;
  contest.id = election.id;
  contest.title = election.title;
  CANVASS_RETURN_IF_ERROR(ParseChoices(root, json_name, &contest));
  CANVASS_RETURN_IF_ERROR(ParseReported(root, json_name, &contest));
  election.contests.push_back(std::move(contest));
  CANVASS_RETURN_IF_ERROR(ParseRoster(roster_text, roster_name, &election));
  election.BuildIndexes();
  CANVASS_RETURN_IF_ERROR(CheckCapacities(election, roster_name));
  return election;
}

absl::StatusOr<Election> LoadElectionDirectory(const std::string& directory) {
  std::string json_path = directory + "/election.json";
  CANVASS_ASSIGN_OR_RETURN(std::string json_text,
                           ReadFileToString(json_path, kMaxElectionJsonBytes));
  CANVASS_ASSIGN_OR_RETURN(Json root, ParseJson(json_text, json_path));
  if (IsContestElectionJson(json_text)) {
    return absl::InvalidArgumentError(
        absl::StrCat(json_path,
                     ": a contest election (the contests form, format_version 2): it is counted "
                     "from cast vote records (canvass aggregate|reconcile --election ",
                     directory, " CVR...), not generated or read from ballot files"));
  }
  Election header;
  std::string roster_file;
  CANVASS_RETURN_IF_ERROR(ParseHeader(root, json_path, &header, &roster_file));
  if (roster_file.find('/') != std::string::npos || roster_file == "..") {
    return FieldError(json_path, "roster",
                      absl::StrCat("expected a file name inside the election directory, got \"",
                                   roster_file, "\""));
  }
  std::string roster_path = directory + "/" + roster_file;
  CANVASS_ASSIGN_OR_RETURN(std::string roster_text, ReadFileToString(roster_path, kMaxRosterBytes));
  return ParseElection(json_text, json_path, roster_text, roster_path);
}

}  // namespace canvass
