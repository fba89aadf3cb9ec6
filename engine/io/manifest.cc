// manifest.json writing, parsing and file hashing.
#include "engine/io/manifest.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/base/status_macros.h"
#include "engine/base/xxhash.h"
#include "nlohmann/json.hpp"

namespace canvass {
namespace {

using Json = nlohmann::ordered_json;

std::string Hex128(XXH128_hash_t hash) {
  return absl::StrFormat("%016x%016x", hash.high64, hash.low64);
}

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

std::string HashBytes(absl::string_view bytes) {
  return Hex128(XXH3_128bits(bytes.data(), bytes.size()));
}

absl::StatusOr<std::string> HashFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat(path, ": cannot open file"));
  XXH3_state_t* state = XXH3_createState();
  XXH3_128bits_reset(state);
  std::vector<char> buffer(1 << 20);
  absl::Status status;
  while (true) {
    const ssize_t got = read(fd, buffer.data(), buffer.size());
    if (got < 0) {
      status = absl::DataLossError(absl::StrCat(path, ": read error"));
      break;
    }
    if (got == 0) break;
    XXH3_128bits_update(state, buffer.data(), static_cast<size_t>(got));
  }
  close(fd);
  const XXH128_hash_t hash = XXH3_128bits_digest(state);
  XXH3_freeState(state);
  if (!status.ok()) return status;
  return Hex128(hash);
}

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
  for (int f = 0; f < kNumFaults; ++f) {
    fired[std::string(FaultName(static_cast<Fault>(f)))] = manifest.fired.fired[f];
  }
  Json root = {{"manifest_version", 1},
               {"election", manifest.election},
               {"election_fingerprint", absl::StrFormat("%016x", manifest.election_fingerprint)},
               {"format", manifest.format},
               {"seed", manifest.seed},
               {"scale", manifest.scale},
               {"faults", manifest.faults.ToString()},
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
    absl::StatusOr<FaultPlan> faults = FaultPlan::Parse(root.at("faults").get<std::string>());
    if (!faults.ok()) return Bad(path, absl::StrCat("field 'faults': ", faults.status().message()));
    manifest.faults = *faults;
    for (int f = 0; f < kNumFaults; ++f) {
      manifest.fired.fired[f] =
          root.at("fired").at(std::string(FaultName(static_cast<Fault>(f)))).get<uint64_t>();
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
