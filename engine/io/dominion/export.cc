// BuildDominionExport: an export's manifests read with simdjson's DOM (they are small
// beside the sessions), checked, and turned into a ContestElection and id tables.
#include "engine/io/dominion/export.h"

#include <algorithm>
#include <cctype>
#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/base/status_macros.h"
#include "engine/io/nist/cvr_reader.h"
#include "nlohmann/json.hpp"
#include "simdjson.h"

namespace canvass {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

constexpr absl::string_view kExpectedManifest =
    "expected a Dominion manifest, an object {\"Version\": ..., \"List\": [{...}, ...]}";

// " at byte B (line L, column C)": where the JSON syntax of `text` breaks, or "" where that
// is not known. simdjson's DOM errors do not say where; nlohmann's do (this runs only once
// simdjson has failed).
std::string ErrorPlace(absl::string_view text) {
  // nlohmann says where only through its exception, which is caught here.
  uint64_t read = 0;
  try {
    [[maybe_unused]] const nlohmann::json parsed = nlohmann::json::parse(text.begin(), text.end());
    return "";
  } catch (const nlohmann::json::parse_error& error) {
    read = error.byte;
  } catch (const nlohmann::json::exception&) {
    return "";  // a number out of range, say: no place given
  }
  // nlohmann counts the bytes read, the one that broke the syntax included.
  const uint64_t byte = read == 0 ? 0 : std::min<uint64_t>(read - 1, text.size());
  return absl::StrCat(" at byte ", byte, " (", LineColumn(text, byte), ")");
}

// One manifest's entries, each read field by field with errors naming
// "SOURCE/NAME: List[i].Field: what".
class Manifest {
 public:
  static absl::StatusOr<std::optional<Manifest>> Read(const std::string& source,
                                                      absl::string_view name,
                                                      const DominionManifestReader& read,
                                                      bool required) {
    CANVASS_ASSIGN_OR_RETURN(std::optional<std::string> bytes, read(name));
    if (!bytes) {
      if (!required) return std::optional<Manifest>();
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": ", name,
                       " is missing (a Dominion CVR export needs ContestManifest.json, "
                       "CandidateManifest.json and PrecinctPortionManifest.json)"));
    }
    Manifest manifest(absl::StrCat(source, "/", name));
    manifest.text_ = simdjson::padded_string(*bytes);
    element root;
    if (const auto error = manifest.parser_->parse(manifest.text_).get(root); error) {
      return absl::InvalidArgumentError(
          absl::StrCat(manifest.name_, ": not valid JSON", ErrorPlace(*bytes), " (",
                       simdjson::error_message(error), "); ", kExpectedManifest));
    }
    simdjson::dom::array list;
    if (root["List"].get_array().get(list) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError(
          absl::StrCat(manifest.name_, ": no \"List\" array; ", kExpectedManifest));
    }
    for (const element entry : list) {
      object fields;
      if (entry.get_object().get(fields) != simdjson::SUCCESS) {
        return manifest.Error(manifest.entries_.size(), "", "expected an object");
      }
      manifest.entries_.push_back(fields);
    }
    return std::optional<Manifest>(std::move(manifest));
  }

  size_t size() const { return entries_.size(); }

  absl::Status Error(size_t i, absl::string_view field, absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(name_, ": List[", i, "]", field.empty() ? "" : ".", field, ": ", what));
  }
  absl::StatusOr<int64_t> Int(size_t i, std::string_view field) const {
    int64_t value = 0;
    element e;
    if (entries_[i][field].get(e) != simdjson::SUCCESS) {
      return Error(i, Absl(field), "missing (expected an integer)");
    }
    if (e.get_int64().get(value) != simdjson::SUCCESS) {
      return Error(i, Absl(field), "expected an integer");
    }
    return value;
  }
  absl::StatusOr<std::optional<int64_t>> OptionalInt(size_t i, std::string_view field) const {
    element e;
    if (entries_[i][field].get(e) != simdjson::SUCCESS || e.is_null()) {
      return std::optional<int64_t>();
    }
    CANVASS_ASSIGN_OR_RETURN(const int64_t value, Int(i, field));
    return std::optional<int64_t>(value);
  }
  // A string field ("" when absent); a number is written in decimal (some manifests give
  // DistrictTypeId as a GUID string, others as a number).
  absl::StatusOr<std::string> String(size_t i, std::string_view field) const {
    element e;
    if (entries_[i][field].get(e) != simdjson::SUCCESS || e.is_null()) return std::string();
    std::string_view text;
    if (e.get_string().get(text) == simdjson::SUCCESS) return std::string(text);
    int64_t number = 0;
    if (e.get_int64().get(number) == simdjson::SUCCESS) return std::to_string(number);
    return Error(i, Absl(field), "expected a string");
  }
  const std::string& name() const { return name_; }

 private:
  explicit Manifest(std::string name) : name_(std::move(name)) {}
  static absl::string_view Absl(std::string_view s) {
    return absl::string_view(s.data(), s.size());
  }

  std::string name_;
  simdjson::padded_string text_;
  // On the heap: the entries point into the parser's document, which must not move with
  // the Manifest.
  std::unique_ptr<simdjson::dom::parser> parser_ = std::make_unique<simdjson::dom::parser>();
  std::vector<object> entries_;
};

// Ids of one manifest, each once: Id -> position.
absl::Status Unique(const Manifest& manifest, size_t i, int64_t id,
                    absl::flat_hash_map<int64_t, uint32_t>* index) {
  if (!index->emplace(id, static_cast<uint32_t>(index->size())).second) {
    return manifest.Error(i, "Id", absl::StrCat(id, " is given twice"));
  }
  return absl::OkStatus();
}

// Entry i of a manifest of units as a ReportingUnit "<prefix>-<Id>" of `type`, with its
// Description and ExternalId; its Id, checked unique against *ids (Id -> position), in *id.
absl::StatusOr<ReportingUnit> ManifestUnit(const Manifest& manifest, size_t i,
                                           absl::string_view prefix, absl::string_view type,
                                           absl::flat_hash_map<int64_t, uint32_t>* ids,
                                           int64_t* id) {
  CANVASS_ASSIGN_OR_RETURN(*id, manifest.Int(i, "Id"));
  CANVASS_RETURN_IF_ERROR(Unique(manifest, i, *id, ids));
  ReportingUnit unit;
  unit.id = absl::StrCat(prefix, "-", *id);
  unit.type = std::string(type);
  CANVASS_ASSIGN_OR_RETURN(unit.name, manifest.String(i, "Description"));
  CANVASS_ASSIGN_OR_RETURN(unit.external_id, manifest.String(i, "ExternalId"));
  return unit;
}

}  // namespace

bool IsDominionSessionFile(absl::string_view name) {
  return absl::StartsWith(name, "CvrExport") && absl::EndsWith(name, ".json");
}

void SortDominionSessionFiles(std::vector<std::string>* names) {
  // The numbers of a name, in order, compared as numbers; then the name.
  auto numbers = [](const std::string& name) {
    std::vector<uint64_t> out;
    for (size_t i = 0; i < name.size();) {
      if (!std::isdigit(static_cast<unsigned char>(name[i]))) {
        ++i;
        continue;
      }
      uint64_t n = 0;
      while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i]))) {
        n = n * 10 + static_cast<uint64_t>(name[i++] - '0');
      }
      out.push_back(n);
    }
    return out;
  };
  std::stable_sort(names->begin(), names->end(), [&](const std::string& a, const std::string& b) {
    const std::vector<uint64_t> na = numbers(a);
    const std::vector<uint64_t> nb = numbers(b);
    if (na != nb) return na < nb;
    return a < b;
  });
}

absl::StatusOr<DominionExport> BuildDominionExport(std::string source,
                                                   const DominionManifestReader& read) {
  DominionExport out;
  ContestElection& election = out.election;
  election.invalid_figure = true;
  election.source = source;
  auto manifest = [&](absl::string_view name, bool required) {
    return Manifest::Read(source, name, read, required);
  };

  // The election's name.
  CANVASS_ASSIGN_OR_RETURN(const std::optional<Manifest> event,
                           manifest("ElectionEventManifest.json", false));
  election.id = "dominion-export";
  if (event && event->size() > 0) {
    out.manifests.push_back("ElectionEventManifest.json");
    CANVASS_ASSIGN_OR_RETURN(const std::string description, event->String(0, "Description"));
    CANVASS_ASSIGN_OR_RETURN(const std::string jurisdiction, event->String(0, "Jurisdiction"));
    if (!description.empty()) election.id = description;
    election.name =
        jurisdiction.empty() ? description : absl::StrCat(jurisdiction, ", ", description);
    // As `canvass generate --format dominion` marks its exports.
    election.synthetic = absl::StartsWith(description, "SYNTHETIC");
  }

  // Contests and their candidates.
  CANVASS_ASSIGN_OR_RETURN(const std::optional<Manifest> contests,
                           manifest("ContestManifest.json", true));
  out.manifests.push_back("ContestManifest.json");
  for (size_t i = 0; i < contests->size(); ++i) {
    CANVASS_ASSIGN_OR_RETURN(const int64_t id, contests->Int(i, "Id"));
    CANVASS_RETURN_IF_ERROR(Unique(*contests, i, id, &out.contests));
    ElectionContest contest;
    contest.id = std::to_string(id);
    CANVASS_ASSIGN_OR_RETURN(contest.name, contests->String(i, "Description"));
    CANVASS_ASSIGN_OR_RETURN(contest.external_id, contests->String(i, "ExternalId"));
    CANVASS_ASSIGN_OR_RETURN(const int64_t vote_for, contests->Int(i, "VoteFor"));
    if (vote_for < 1 || vote_for > (int64_t{1} << 20)) {
      return contests->Error(i, "VoteFor", absl::StrCat(vote_for, "; expected 1 to 2^20"));
    }
    contest.vote_for = static_cast<uint32_t>(vote_for);
    CANVASS_ASSIGN_OR_RETURN(const std::optional<int64_t> ranks,
                             contests->OptionalInt(i, "NumOfRanks"));
    contest.kind = ranks.value_or(0) >= 2 ? ContestKind::kRanked : ContestKind::kPlurality;
    election.contests.push_back(std::move(contest));
  }
  CANVASS_ASSIGN_OR_RETURN(const std::optional<Manifest> candidates,
                           manifest("CandidateManifest.json", true));
  out.manifests.push_back("CandidateManifest.json");
  absl::flat_hash_map<int64_t, uint32_t> candidate_ids;
  for (size_t i = 0; i < candidates->size(); ++i) {
    CANVASS_ASSIGN_OR_RETURN(const int64_t id, candidates->Int(i, "Id"));
    CANVASS_RETURN_IF_ERROR(Unique(*candidates, i, id, &candidate_ids));
    CANVASS_ASSIGN_OR_RETURN(const int64_t contest_id, candidates->Int(i, "ContestId"));
    const auto contest = out.contests.find(contest_id);
    if (contest == out.contests.end()) {
      return candidates->Error(
          i, "ContestId", absl::StrCat(contest_id, " is not a contest of ContestManifest.json"));
    }
    Selection selection;
    selection.id = std::to_string(id);
    CANVASS_ASSIGN_OR_RETURN(selection.name, candidates->String(i, "Description"));
    CANVASS_ASSIGN_OR_RETURN(selection.external_id, candidates->String(i, "ExternalId"));
    CANVASS_ASSIGN_OR_RETURN(const std::string type, candidates->String(i, "Type"));
    selection.write_in = type == "WriteIn";
    std::vector<Selection>& selections = election.contests[contest->second].selections;
    out.candidates[id] = {contest->second, static_cast<uint32_t>(selections.size())};
    selections.push_back(std::move(selection));
  }

  // The reporting units.
  election.scope_id = "election";
  election.units.push_back(
      {"election", election.name.empty() ? election.id : election.name, "election", {}, ""});
  CANVASS_ASSIGN_OR_RETURN(const std::optional<Manifest> portions,
                           manifest("PrecinctPortionManifest.json", true));
  out.manifests.push_back("PrecinctPortionManifest.json");
  CANVASS_ASSIGN_OR_RETURN(const std::optional<Manifest> precincts,
                           manifest("PrecinctManifest.json", false));
  CANVASS_ASSIGN_OR_RETURN(const std::optional<Manifest> districts,
                           manifest("DistrictManifest.json", false));
  CANVASS_ASSIGN_OR_RETURN(const std::optional<Manifest> district_portions,
                           manifest("DistrictPrecinctPortionManifest.json", false));
  CANVASS_ASSIGN_OR_RETURN(const std::optional<Manifest> district_types,
                           manifest("DistrictTypeManifest.json", false));
  CANVASS_ASSIGN_OR_RETURN(const std::optional<Manifest> groups,
                           manifest("CountingGroupManifest.json", false));
  CANVASS_ASSIGN_OR_RETURN(const std::optional<Manifest> conditions,
                           manifest("OutstackConditionManifest.json", false));

  absl::flat_hash_map<std::string, std::string> type_names;
  if (district_types) {
    out.manifests.push_back("DistrictTypeManifest.json");
    for (size_t i = 0; i < district_types->size(); ++i) {
      CANVASS_ASSIGN_OR_RETURN(std::string id, district_types->String(i, "Id"));
      CANVASS_ASSIGN_OR_RETURN(type_names[id], district_types->String(i, "Description"));
    }
  }
  absl::flat_hash_map<int64_t, uint32_t> district_units;  // district Id -> unit index
  if (districts) {
    out.manifests.push_back("DistrictManifest.json");
    absl::flat_hash_map<int64_t, uint32_t> seen;
    for (size_t i = 0; i < districts->size(); ++i) {
      int64_t id = 0;
      CANVASS_ASSIGN_OR_RETURN(ReportingUnit unit,
                               ManifestUnit(*districts, i, "district", "district", &seen, &id));
      CANVASS_ASSIGN_OR_RETURN(const std::string type, districts->String(i, "DistrictTypeId"));
      if (const auto type_name = type_names.find(type); type_name != type_names.end()) {
        unit.type = type_name->second;
      }
      district_units[id] = static_cast<uint32_t>(election.units.size());
      election.units.push_back(std::move(unit));
    }
  }
  absl::flat_hash_map<int64_t, uint32_t> precinct_units;
  if (precincts) {
    out.manifests.push_back("PrecinctManifest.json");
    absl::flat_hash_map<int64_t, uint32_t> seen;
    for (size_t i = 0; i < precincts->size(); ++i) {
      int64_t id = 0;
      CANVASS_ASSIGN_OR_RETURN(ReportingUnit unit,
                               ManifestUnit(*precincts, i, "precinct", "precinct", &seen, &id));
      precinct_units[id] = static_cast<uint32_t>(election.units.size());
      election.units.push_back(std::move(unit));
    }
  }
  std::vector<uint32_t> portion_units;
  for (size_t i = 0; i < portions->size(); ++i) {
    int64_t id = 0;
    CANVASS_ASSIGN_OR_RETURN(
        ReportingUnit unit,
        ManifestUnit(*portions, i, "portion", "precinct-portion", &out.portions, &id));
    const uint32_t index = static_cast<uint32_t>(election.units.size());
    portion_units.push_back(index);
    CANVASS_ASSIGN_OR_RETURN(const std::optional<int64_t> precinct,
                             portions->OptionalInt(i, "PrecinctId"));
    if (precinct && precincts) {
      const auto it = precinct_units.find(*precinct);
      if (it == precinct_units.end()) {
        return portions->Error(
            i, "PrecinctId",
            absl::StrCat(*precinct, " is not a precinct of PrecinctManifest.json"));
      }
      election.units[it->second].composing.push_back(unit.id);
    }
    election.units.push_back(std::move(unit));
  }
  if (district_portions && districts) {
    out.manifests.push_back("DistrictPrecinctPortionManifest.json");
    absl::flat_hash_set<std::pair<int64_t, int64_t>> pairs;
    for (size_t i = 0; i < district_portions->size(); ++i) {
      CANVASS_ASSIGN_OR_RETURN(const int64_t district, district_portions->Int(i, "DistrictId"));
      CANVASS_ASSIGN_OR_RETURN(const int64_t portion,
                               district_portions->Int(i, "PrecinctPortionId"));
      const auto d = district_units.find(district);
      if (d == district_units.end()) {
        return district_portions->Error(
            i, "DistrictId", absl::StrCat(district, " is not a district of DistrictManifest.json"));
      }
      const auto p = out.portions.find(portion);
      if (p == out.portions.end()) {
        return district_portions->Error(
            i, "PrecinctPortionId",
            absl::StrCat(portion, " is not a portion of PrecinctPortionManifest.json"));
      }
      if (!pairs.emplace(district, portion).second) continue;  // listed twice: one edge
      election.units[d->second].composing.push_back(election.units[portion_units[p->second]].id);
    }
  }
  std::vector<uint32_t> group_units;
  if (groups) {
    out.manifests.push_back("CountingGroupManifest.json");
    for (size_t i = 0; i < groups->size(); ++i) {
      int64_t id = 0;
      CANVASS_ASSIGN_OR_RETURN(
          ReportingUnit unit,
          ManifestUnit(*groups, i, "group", "counting-group", &out.groups, &id));
      group_units.push_back(static_cast<uint32_t>(election.units.size()));
      election.units.push_back(std::move(unit));
    }
  }
  // The leaves: one per portion and counting group, composed by both.
  if (group_units.empty()) {
    out.leaves = portion_units;
  } else {
    std::vector<int64_t> group_ids(out.groups.size());
    for (const auto& [id, ordinal] : out.groups) group_ids[ordinal] = id;
    for (uint32_t p = 0; p < portion_units.size(); ++p) {
      for (uint32_t g = 0; g < group_units.size(); ++g) {
        ReportingUnit leaf;
        leaf.id = absl::StrCat(election.units[portion_units[p]].id, "/group-", group_ids[g]);
        leaf.name = absl::StrCat(election.units[portion_units[p]].name, " / ",
                                 election.units[group_units[g]].name);
        leaf.type = "portion-group";
        const uint32_t index = static_cast<uint32_t>(election.units.size());
        election.units[portion_units[p]].composing.push_back(leaf.id);
        election.units[group_units[g]].composing.push_back(leaf.id);
        out.leaves.push_back(index);
        election.units.push_back(std::move(leaf));
      }
    }
  }
  if (election.units.size() > kMaxUnits) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": ", election.units.size(), " reporting units; at most ", kMaxUnits));
  }

  if (conditions) {
    out.manifests.push_back("OutstackConditionManifest.json");
    for (size_t i = 0; i < conditions->size(); ++i) {
      CANVASS_ASSIGN_OR_RETURN(const std::string description, conditions->String(i, "Description"));
      if (description != "InvalidContest") continue;
      CANVASS_ASSIGN_OR_RETURN(const int64_t id, conditions->Int(i, "Id"));
      out.invalid_condition = id;
    }
  }
  CANVASS_RETURN_IF_ERROR(election.Finalize(source));
  return out;
}

}  // namespace canvass
