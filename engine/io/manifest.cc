// manifest.json writing and parsing.
#include "engine/io/manifest.h"

#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/base/status_macros.h"
#include "engine/io/internal/json_fields.h"

namespace canvass {
namespace {

using io_internal::Bad;
using io_internal::CountField;
using io_internal::Field;
using io_internal::FiredField;
using io_internal::Json;
using io_internal::ParseJson;
using io_internal::Shown;
using io_internal::StringField;

Json TallyToJson(const Tally& tally) {
  return {{"records_read", tally.records_read},
          {"rejected", tally.rejected},
          {"counted", tally.counted},
          {"station_records", tally.station_records}};
}

absl::StatusOr<std::vector<uint64_t>> CountsField(const std::string& path, const Json& parent,
                                                  const std::string& where, const char* key) {
  CANVASS_ASSIGN_OR_RETURN(const Json* value, Field(path, parent, where, key));
  if (!value->is_array()) {
    return Bad(path, absl::StrCat("field '", where, key, "': expected an array of counts, got ",
                                  Shown(*value)));
  }
  std::vector<uint64_t> counts;
  for (size_t i = 0; i < value->size(); ++i) {
    if (!(*value)[i].is_number_unsigned()) {
      return Bad(path, absl::StrCat("field '", where, key, "[", i,
                                    "]': expected a count (a whole number, 0 or more), got ",
                                    Shown((*value)[i])));
    }
    counts.push_back((*value)[i].get<uint64_t>());
  }
  return counts;
}

absl::StatusOr<Tally> TallyFromJson(const std::string& path, const Json& json,
                                    const Election& election) {
  Tally tally(static_cast<uint32_t>(election.stations.size()),
              static_cast<uint32_t>(election.contest().choices.size()));
  CANVASS_ASSIGN_OR_RETURN(tally.records_read,
                           CountField(path, json, "predicted.", "records_read"));
  CANVASS_ASSIGN_OR_RETURN(std::vector<uint64_t> rejected,
                           CountsField(path, json, "predicted.", "rejected"));
  CANVASS_ASSIGN_OR_RETURN(std::vector<uint64_t> counted,
                           CountsField(path, json, "predicted.", "counted"));
  CANVASS_ASSIGN_OR_RETURN(std::vector<uint64_t> station_records,
                           CountsField(path, json, "predicted.", "station_records"));
  if (rejected.size() != tally.rejected.size() || counted.size() != tally.counted.size() ||
      station_records.size() != tally.station_records.size()) {
    return Bad(path, "field 'predicted': shape does not match the election");
  }
  std::copy(rejected.begin(), rejected.end(), tally.rejected.begin());
  tally.counted = std::move(counted);
  tally.station_records = std::move(station_records);
  return tally;
}

}  // namespace

std::string ManifestToJson(const Manifest& manifest, const Election& election) {
  Json files = Json::array();
  for (const ManifestFile& file : manifest.files) {
    files.push_back({{"file", file.file},
                     {"station", file.station},
                     {"records", file.records},
                     {"bytes", file.bytes},
                     {"xxh3_128", file.xxh3_128}});
  }
  Json fired = Json::object();
  for (const auto& [name, count] : manifest.fired) fired[name] = count;
  Json root = {{"manifest_version", 1},
               {"election", manifest.election},
               {"election_fingerprint", absl::StrFormat("%016x", manifest.election_fingerprint)},
               {"format", manifest.format},
               {"seed", manifest.seed},
               {"scale", manifest.scale},
               {"faults", manifest.faults},
               {"fired", std::move(fired)},
               {"files", std::move(files)}};
  if (manifest.predicted) root["predicted"] = TallyToJson(*manifest.predicted);
  return root.dump(1) + "\n";
}

absl::StatusOr<uint64_t> ParseManifestScale(const std::string& path, absl::string_view text) {
  CANVASS_ASSIGN_OR_RETURN(const Json root, ParseJson(path, text));
  return CountField(path, root, "", "scale");
}

absl::StatusOr<Manifest> ParseManifest(const std::string& path, absl::string_view text,
                                       const Election& election) {
  CANVASS_ASSIGN_OR_RETURN(const Json root, ParseJson(path, text));
  Manifest manifest;
  CANVASS_ASSIGN_OR_RETURN(const uint64_t version, CountField(path, root, "", "manifest_version"));
  if (version != 1) {
    return Bad(path, absl::StrCat("field 'manifest_version': expected 1, got ", version));
  }
  CANVASS_ASSIGN_OR_RETURN(manifest.election, StringField(path, root, "", "election"));
  CANVASS_ASSIGN_OR_RETURN(manifest.format, StringField(path, root, "", "format"));
  CANVASS_ASSIGN_OR_RETURN(manifest.seed, CountField(path, root, "", "seed"));
  CANVASS_ASSIGN_OR_RETURN(manifest.scale, CountField(path, root, "", "scale"));
  CANVASS_ASSIGN_OR_RETURN(const std::string fingerprint,
                           StringField(path, root, "", "election_fingerprint"));
  if (fingerprint.size() != 16 ||
      fingerprint.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return Bad(path, absl::StrCat("field 'election_fingerprint': expected 16 lowercase hex "
                                  "digits, got \"",
                                  fingerprint.substr(0, 40), "\""));
  }
  manifest.election_fingerprint = std::stoull(fingerprint, nullptr, 16);
  CANVASS_ASSIGN_OR_RETURN(manifest.faults, StringField(path, root, "", "faults"));
  CANVASS_ASSIGN_OR_RETURN(manifest.fired, FiredField(path, root));
  CANVASS_ASSIGN_OR_RETURN(const Json* files, Field(path, root, "", "files"));
  if (!files->is_array()) {
    return Bad(path, absl::StrCat("field 'files': expected an array, got ", Shown(*files)));
  }
  absl::flat_hash_map<std::string, size_t> listed;  // file name -> its entry
  for (size_t i = 0; i < files->size(); ++i) {
    const Json& entry = (*files)[i];
    const std::string where = absl::StrCat("files[", i, "].");
    ManifestFile file;
    CANVASS_ASSIGN_OR_RETURN(file.file, StringField(path, entry, where, "file"));
    CANVASS_ASSIGN_OR_RETURN(file.station, StringField(path, entry, where, "station"));
    CANVASS_ASSIGN_OR_RETURN(file.records, CountField(path, entry, where, "records"));
    CANVASS_ASSIGN_OR_RETURN(file.bytes, CountField(path, entry, where, "bytes"));
    CANVASS_ASSIGN_OR_RETURN(file.xxh3_128, StringField(path, entry, where, "xxh3_128"));
    const auto [at, inserted] = listed.emplace(file.file, i);
    if (!inserted) {
      return Bad(
          path, absl::StrCat("field '", where, "file': \"", file.file, "\" is listed twice (files[",
                             at->second, "] and files[", i, "])"));
    }
    manifest.files.push_back(std::move(file));
  }
  if (manifest.election != election.id) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": manifest is for election \"", manifest.election, "\", not \"", election.id, "\""));
  }
  if (root.contains("predicted")) {
    CANVASS_ASSIGN_OR_RETURN(manifest.predicted,
                             TallyFromJson(path, root.at("predicted"), election));
  }
  return manifest;
}

}  // namespace canvass
