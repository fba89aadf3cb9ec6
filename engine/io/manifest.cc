// manifest.json writing and parsing.
#include "engine/io/manifest.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/base/status_macros.h"
#include "nlohmann/json.hpp"

namespace canvass {
namespace {

using Json = nlohmann::ordered_json;

absl::Status Bad(const std::string& path, absl::string_view what) {
  return absl::DataLossError(absl::StrCat(path, ": ", what));
}

Json TallyToJson(const Tally& tally) {
  return {{"records_read", tally.records_read},
          {"rejected", tally.rejected},
          {"counted", tally.counted},
          {"station_records", tally.station_records}};
}

absl::StatusOr<Tally> TallyFromJson(const std::string& path, const Json& json,
                                    const Election& election) {
  Tally tally(static_cast<uint32_t>(election.stations.size()),
              static_cast<uint32_t>(election.contest().choices.size()));
  try {
    tally.records_read = json.at("records_read").get<uint64_t>();
    auto rejected = json.at("rejected").get<std::vector<uint64_t>>();
    auto counted = json.at("counted").get<std::vector<uint64_t>>();
    auto station_records = json.at("station_records").get<std::vector<uint64_t>>();
    if (rejected.size() != tally.rejected.size() || counted.size() != tally.counted.size() ||
        station_records.size() != tally.station_records.size()) {
      return Bad(path, "field 'predicted': shape does not match the election");
    }
    std::copy(rejected.begin(), rejected.end(), tally.rejected.begin());
    tally.counted = std::move(counted);
    tally.station_records = std::move(station_records);
  } catch (const Json::exception& error) {
    return Bad(path, absl::StrCat("field 'predicted': ", error.what()));
  }
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

absl::StatusOr<Manifest> ParseManifest(const std::string& path, absl::string_view text,
                                       const Election& election) {
  Json root;
  try {
    root = Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& error) {
    return Bad(path, absl::StrCat("byte ", error.byte, ": not valid JSON"));
  } catch (const Json::exception& error) {
    return Bad(path, absl::StrCat("not valid JSON: ", error.what()));
  }
  Manifest manifest;
  try {
    if (root.at("manifest_version").get<int>() != 1) {
      return Bad(path, "field 'manifest_version': expected 1");
    }
    manifest.election = root.at("election").get<std::string>();
    manifest.format = root.at("format").get<std::string>();
    manifest.seed = root.at("seed").get<uint64_t>();
    manifest.scale = root.at("scale").get<uint64_t>();
    std::string fingerprint = root.at("election_fingerprint").get<std::string>();
    manifest.election_fingerprint = std::stoull(fingerprint, nullptr, 16);
    manifest.faults = root.at("faults").get<std::string>();
    for (const auto& [name, count] : root.at("fired").items()) {
      manifest.fired.emplace_back(name, count.get<uint64_t>());
    }
    for (const Json& entry : root.at("files")) {
      manifest.files.push_back(
          {entry.at("file").get<std::string>(), entry.at("station").get<std::string>(),
           entry.at("records").get<uint64_t>(), entry.at("bytes").get<uint64_t>(),
           entry.at("xxh3_128").get<std::string>()});
    }
  } catch (const std::exception& error) {
    return Bad(path, absl::StrCat("not a Canvass manifest: ", error.what()));
  }
  if (manifest.election != election.id) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": manifest is for election \"", manifest.election, "\", not \"", election.id, "\""));
  }
  if (root.contains("predicted")) {
    CANVASS_ASSIGN_OR_RETURN(manifest.predicted, TallyFromJson(path, root["predicted"], election));
  }
  return manifest;
}

}  // namespace canvass
