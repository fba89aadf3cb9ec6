// Reader of the contests form of election.json (format_version 2) into a ContestElection.
#include "engine/election/contest_json.h"

#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/base/status_macros.h"
#include "engine/election/election.h"
#include "engine/election/internal/json_fields.h"
#include "nlohmann/json.hpp"

namespace canvass {
namespace {

using Json = nlohmann::json;

using election_internal::FieldError;

std::string Describe(const Json& value) { return election_internal::DescribeJson(value); }

// The path of member `key` of the object at `path` ("" is the top level).
std::string Member(absl::string_view path, absl::string_view key) {
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}

std::string Element(absl::string_view path, size_t index) {
  return absl::StrCat(path, "[", index, "]");
}

// Every key of `object` (at `path`) is one of `allowed`.
absl::Status CheckKeys(const Json& object, absl::string_view file, absl::string_view path,
                       std::initializer_list<absl::string_view> allowed) {
  for (const auto& [key, value] : object.items()) {
    bool known = false;
    for (absl::string_view name : allowed) known |= key == name;
    if (!known) {
      return FieldError(
          file, Member(path, key),
          absl::StrCat("unknown key; expected one of ", absl::StrJoin(allowed, ", ")));
    }
  }
  return absl::OkStatus();
}

// The object at `path`, or an error saying an object was expected.
absl::Status RequireObject(const Json& value, absl::string_view file, absl::string_view path) {
  if (value.is_object()) return absl::OkStatus();
  return FieldError(file, path, absl::StrCat("expected an object, got ", Describe(value)));
}

// String member `key` of `object`; "" when absent and not `required`.
absl::StatusOr<std::string> String(const Json& object, absl::string_view file,
                                   absl::string_view path, absl::string_view key, bool required,
                                   bool allow_empty) {
  const std::string field = Member(path, key);
  auto it = object.find(std::string(key));
  if (it == object.end()) {
    if (required) return FieldError(file, field, "missing; expected a string");
    return std::string();
  }
  if (!it->is_string()) {
    return FieldError(file, field, absl::StrCat("expected a string, got ", Describe(*it)));
  }
  std::string value = it->get<std::string>();
  if (value.empty() && !allow_empty) return FieldError(file, field, "must not be empty");
  return value;
}

// Boolean member `key` of `object`; false when absent.
absl::StatusOr<bool> Bool(const Json& object, absl::string_view file, absl::string_view path,
                          absl::string_view key) {
  auto it = object.find(std::string(key));
  if (it == object.end()) return false;
  if (!it->is_boolean()) {
    return FieldError(file, Member(path, key),
                      absl::StrCat("expected true or false, got ", Describe(*it)));
  }
  return it->get<bool>();
}

// Array member `key` of `object` with min_size to max_size entries; `what` names one entry.
absl::StatusOr<const Json*> Array(const Json& object, absl::string_view file,
                                  absl::string_view path, absl::string_view key, size_t min_size,
                                  size_t max_size, absl::string_view what) {
  const std::string field = Member(path, key);
  auto it = object.find(std::string(key));
  if (it == object.end()) {
    return FieldError(file, field, absl::StrCat("missing; expected an array of ", what));
  }
  if (!it->is_array()) {
    return FieldError(file, field,
                      absl::StrCat("expected an array of ", what, ", got ", Describe(*it)));
  }
  if (it->size() < min_size || it->size() > max_size) {
    return FieldError(file, field,
                      absl::StrCat("expected ", min_size, " to ", max_size, " entries (", what,
                                   "), got ", it->size()));
  }
  return &*it;
}

absl::Status ParseFormatVersion(const Json& root, absl::string_view file) {
  auto it = root.find("format_version");
  if (it == root.end()) {
    return FieldError(file, "format_version",
                      absl::StrCat("missing; expected ", kContestElectionFormatVersion,
                                   " (an election.json with \"contests\" is the contests form)"));
  }
  if (!it->is_number_integer() || it->get<int64_t>() != kContestElectionFormatVersion) {
    return FieldError(file, "format_version",
                      absl::StrCat("expected ", kContestElectionFormatVersion,
                                   " (the contests form), got ", Describe(*it)));
  }
  return absl::OkStatus();
}

absl::Status ParseUnits(const Json& root, absl::string_view file, ContestElection* election) {
  CANVASS_ASSIGN_OR_RETURN(const Json* units,
                           Array(root, file, "", "units", 1, kMaxUnits, "reporting units"));
  absl::flat_hash_map<std::string, size_t> first;  // unit id -> its index in "units"
  for (size_t u = 0; u < units->size(); ++u) {
    const Json& entry = (*units)[u];
    const std::string path = Element("units", u);
    CANVASS_RETURN_IF_ERROR(RequireObject(entry, file, path));
    CANVASS_RETURN_IF_ERROR(CheckKeys(entry, file, path, {"id", "name", "type", "composing"}));
    ReportingUnit unit;
    CANVASS_ASSIGN_OR_RETURN(unit.id, String(entry, file, path, "id", true, false));
    CANVASS_ASSIGN_OR_RETURN(unit.name, String(entry, file, path, "name", false, true));
    CANVASS_ASSIGN_OR_RETURN(unit.type, String(entry, file, path, "type", false, true));
    if (entry.contains("composing")) {
      CANVASS_ASSIGN_OR_RETURN(const Json* composing, Array(entry, file, path, "composing", 0,
                                                            kMaxUnits, "reporting unit ids"));
      for (size_t k = 0; k < composing->size(); ++k) {
        const Json& id = (*composing)[k];
        const std::string field = Element(Member(path, "composing"), k);
        if (!id.is_string() || id.get_ref<const std::string&>().empty()) {
          return FieldError(file, field,
                            absl::StrCat("expected a reporting unit id, got ", Describe(id)));
        }
        unit.composing.push_back(id.get<std::string>());
      }
    }
    auto [where, inserted] = first.emplace(unit.id, u);
    if (!inserted) {
      return FieldError(file, Member(path, "id"),
                        absl::StrCat("reporting unit '", unit.id, "' is defined twice (first at ",
                                     Element("units", where->second), ")"));
    }
    election->units.push_back(std::move(unit));
  }
  // Composing ids name units of the election, listed anywhere in "units".
  for (size_t u = 0; u < election->units.size(); ++u) {
    const ReportingUnit& unit = election->units[u];
    for (size_t k = 0; k < unit.composing.size(); ++k) {
      const std::string field = Element(Member(Element("units", u), "composing"), k);
      if (!first.contains(unit.composing[k])) {
        return FieldError(file, field,
                          absl::StrCat("'", unit.composing[k],
                                       "' is not a reporting unit of the election (expected the "
                                       "id of an entry of \"units\")"));
      }
      if (unit.composing[k] == unit.id) {
        return FieldError(file, field,
                          absl::StrCat("reporting unit '", unit.id, "' is composed of itself"));
      }
    }
  }
  CANVASS_ASSIGN_OR_RETURN(election->scope_id, String(root, file, "", "scope", true, false));
  if (!first.contains(election->scope_id)) {
    return FieldError(file, "scope",
                      absl::StrCat("'", election->scope_id,
                                   "' is not a reporting unit of the election (expected the id "
                                   "of an entry of \"units\")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ContestKind> ParseContestKind(const Json& contest, absl::string_view file,
                                             absl::string_view path) {
  auto it = contest.find("kind");
  if (it == contest.end()) return ContestKind::kPlurality;
  if (it->is_string() && *it == "plurality") return ContestKind::kPlurality;
  if (it->is_string() && *it == "ranked") return ContestKind::kRanked;
  return FieldError(file, Member(path, "kind"),
                    absl::StrCat("expected \"plurality\" or \"ranked\", got ", Describe(*it)));
}

absl::StatusOr<uint32_t> ParseVoteFor(const Json& contest, absl::string_view file,
                                      absl::string_view path) {
  auto it = contest.find("vote_for");
  if (it == contest.end()) return 1;
  if (it->is_number_unsigned()) {
    const uint64_t vote_for = it->get<uint64_t>();
    if (vote_for >= 1 && vote_for <= kMaxSelections) return static_cast<uint32_t>(vote_for);
  }
  return FieldError(
      file, Member(path, "vote_for"),
      absl::StrCat("expected an integer 1 to ", kMaxSelections, ", got ", Describe(*it)));
}

absl::Status ParseSelections(const Json& contest_json, absl::string_view file,
                             absl::string_view path, ElectionContest* contest) {
  CANVASS_ASSIGN_OR_RETURN(const Json* selections, Array(contest_json, file, path, "selections", 1,
                                                         kMaxSelections, "selections"));
  absl::flat_hash_map<std::string, size_t> first;
  for (size_t s = 0; s < selections->size(); ++s) {
    const Json& entry = (*selections)[s];
    const std::string selection_path = Element(Member(path, "selections"), s);
    CANVASS_RETURN_IF_ERROR(RequireObject(entry, file, selection_path));
    CANVASS_RETURN_IF_ERROR(CheckKeys(entry, file, selection_path, {"id", "name", "write_in"}));
    Selection selection;
    CANVASS_ASSIGN_OR_RETURN(selection.id, String(entry, file, selection_path, "id", true, false));
    CANVASS_ASSIGN_OR_RETURN(selection.name,
                             String(entry, file, selection_path, "name", false, true));
    CANVASS_ASSIGN_OR_RETURN(selection.write_in, Bool(entry, file, selection_path, "write_in"));
    if (selection.name.empty() && selection.write_in) selection.name = "Write-in";
    auto [where, inserted] = first.emplace(selection.id, s);
    if (!inserted) {
      return FieldError(
          file, Member(selection_path, "id"),
          absl::StrCat("selection '", selection.id, "' is listed twice in contest '", contest->id,
                       "' (first at ", Element(Member(path, "selections"), where->second), ")"));
    }
    contest->selections.push_back(std::move(selection));
  }
  return absl::OkStatus();
}

absl::Status ParseContests(const Json& root, absl::string_view file, ContestElection* election) {
  CANVASS_ASSIGN_OR_RETURN(const Json* contests,
                           Array(root, file, "", "contests", 1, kMaxContests, "contests"));
  absl::flat_hash_map<std::string, size_t> first;
  for (size_t c = 0; c < contests->size(); ++c) {
    const Json& entry = (*contests)[c];
    const std::string path = Element("contests", c);
    CANVASS_RETURN_IF_ERROR(RequireObject(entry, file, path));
    CANVASS_RETURN_IF_ERROR(
        CheckKeys(entry, file, path, {"id", "name", "vote_for", "kind", "selections"}));
    ElectionContest contest;
    CANVASS_ASSIGN_OR_RETURN(contest.id, String(entry, file, path, "id", true, false));
    auto [where, inserted] = first.emplace(contest.id, c);
    if (!inserted) {
      return FieldError(file, Member(path, "id"),
                        absl::StrCat("contest '", contest.id, "' is defined twice (first at ",
                                     Element("contests", where->second), ")"));
    }
    CANVASS_ASSIGN_OR_RETURN(contest.name, String(entry, file, path, "name", false, true));
    CANVASS_ASSIGN_OR_RETURN(contest.vote_for, ParseVoteFor(entry, file, path));
    CANVASS_ASSIGN_OR_RETURN(contest.kind, ParseContestKind(entry, file, path));
    CANVASS_RETURN_IF_ERROR(ParseSelections(entry, file, path, &contest));
    election->contests.push_back(std::move(contest));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ParseReportedFile(const Json& root, absl::string_view file) {
  if (!root.contains("reported")) return std::string();
  CANVASS_ASSIGN_OR_RETURN(std::string reported, String(root, file, "", "reported", true, false));
  if (reported.find('/') != std::string::npos || reported == "." || reported == "..") {
    return FieldError(
        file, "reported",
        absl::StrCat("expected the name of a reported-figures CSV inside the election "
                     "directory, got \"",
                     reported, "\""));
  }
  return reported;
}

// The parsed document; nlohmann's exceptions are caught here and never leave the module.
absl::StatusOr<Json> ParseJson(absl::string_view text, absl::string_view file) {
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& error) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": byte ", error.byte, ": not valid JSON: ", error.what()));
  } catch (const Json::exception& error) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": not valid JSON: ", error.what()));
  }
}

}  // namespace

bool IsContestElectionJson(absl::string_view json_text) {
  if (json_text.size() > kMaxElectionJsonBytes) return false;
  try {
    const Json root = Json::parse(json_text.begin(), json_text.end(), nullptr,
                                  /*allow_exceptions=*/false);
    return root.is_object() && (root.contains("contests") || root.contains("format_version"));
  } catch (const Json::exception&) {
    return false;
  }
}

absl::StatusOr<ContestElection> ParseContestElectionJson(absl::string_view json_text,
                                                         absl::string_view json_name,
                                                         std::string* reported_file) {
  if (json_text.size() > kMaxElectionJsonBytes) {
    return absl::OutOfRangeError(absl::StrCat(json_name, ": more than ", kMaxElectionJsonBytes,
                                              " bytes, the most an election.json may hold"));
  }
  CANVASS_ASSIGN_OR_RETURN(Json root, ParseJson(json_text, json_name));
  if (!root.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(
        json_name, ": expected a JSON object at the top level, got ", root.type_name()));
  }
  // The version first: a file of another form or version is named as that, not by the
  // first key this form does not know.
  CANVASS_RETURN_IF_ERROR(ParseFormatVersion(root, json_name));
  CANVASS_RETURN_IF_ERROR(CheckKeys(root, json_name, "",
                                    {"format_version", "id", "title", "source", "synthetic",
                                     "scope", "units", "contests", "reported"}));
  ContestElection election;
  CANVASS_ASSIGN_OR_RETURN(election.id, String(root, json_name, "", "id", true, false));
  CANVASS_ASSIGN_OR_RETURN(election.name, String(root, json_name, "", "title", false, true));
  CANVASS_ASSIGN_OR_RETURN(std::string source, String(root, json_name, "", "source", false, true));
  election.source =
      source.empty() ? std::string(json_name) : absl::StrCat(json_name, " (", source, ")");
  CANVASS_ASSIGN_OR_RETURN(election.synthetic, Bool(root, json_name, "", "synthetic"));
  CANVASS_RETURN_IF_ERROR(ParseUnits(root, json_name, &election));
  CANVASS_RETURN_IF_ERROR(ParseContests(root, json_name, &election));
  CANVASS_ASSIGN_OR_RETURN(std::string reported, ParseReportedFile(root, json_name));
  CANVASS_RETURN_IF_ERROR(election.Finalize(json_name));
  if (reported_file != nullptr) *reported_file = std::move(reported);
  return election;
}

}  // namespace canvass
