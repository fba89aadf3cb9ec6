// Checking a folder's files against its manifest (manifest_check.h).
#include "engine/ingest/manifest_check.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "engine/base/file_util.h"
#include "engine/base/status_macros.h"
#include "engine/io/manifest.h"
#include "tbb/parallel_for.h"

namespace canvass {
namespace fs = std::filesystem;
using ingest_internal::InputFile;

absl::Status VerifyManifest(const Election& election, const std::string& directory,
                            const std::vector<InputFile>& inputs, IngestResult* result) {
  const std::vector<FileOutcome>& outcomes = result->files;  // not resized below
  const std::string path = (fs::path(directory) / kManifestFileName).string();
  CANVASS_ASSIGN_OR_RETURN(const std::string text, ReadFileToString(path, kMaxManifestBytes));
  CANVASS_ASSIGN_OR_RETURN(Manifest manifest, ParseManifest(path, text, election));
  // The manifest layer carries the fault plan as text and the fired counts by name; they
  // are checked here against the faults this build knows.
  absl::StatusOr<FaultPlan> faults = FaultPlan::Parse(manifest.faults);
  if (!faults.ok()) {
    return absl::DataLossError(absl::StrCat(path, ": field 'faults': ", faults.status().message()));
  }
  FaultCounts fired;
  for (int f = 0; f < kNumFaults; ++f) {
    const absl::string_view name = FaultName(static_cast<Fault>(f));
    auto it = std::find_if(manifest.fired.begin(), manifest.fired.end(),
                           [&](const auto& entry) { return entry.first == name; });
    if (it == manifest.fired.end()) {
      return absl::DataLossError(
          absl::StrCat(path, ": field 'fired': no count for fault '", name, "'"));
    }
    fired.fired[f] = it->second;
  }
  if (manifest.fired.size() != static_cast<size_t>(kNumFaults)) {
    return absl::DataLossError(absl::StrCat(path, ": field 'fired': expected the ", kNumFaults,
                                            " faults, got ", manifest.fired.size(), " counts"));
  }
  std::map<std::string, size_t> present;  // file name -> input index
  for (size_t f = 0; f < inputs.size(); ++f) {
    if (fs::path(inputs[f].path).parent_path() == fs::path(directory)) {
      present[fs::path(inputs[f].path).filename().string()] = f;
    }
  }
  // Whole-file hashes not taken while reading, one file per task (each hash is a
  // sequential pass over its file).
  std::vector<absl::StatusOr<std::string>> hashes(inputs.size(), std::string());
  std::vector<size_t> to_hash;
  for (const auto& [name, index] : present) {
    if (inputs[index].hash.empty()) {
      to_hash.push_back(index);
    } else {
      hashes[index] = inputs[index].hash;
    }
  }
  tbb::parallel_for(size_t{0}, to_hash.size(),
                    [&](size_t i) { hashes[to_hash[i]] = HashMapped(*inputs[to_hash[i]].mapped); });
  std::set<std::string> listed;
  for (const ManifestFile& file : manifest.files) {
    listed.insert(file.file);
    auto it = present.find(file.file);
    if (it == present.end()) {
      result->findings.push_back(
          {file.file, "missing", absl::StrCat(file.records, " records declared")});
      continue;
    }
    FileOutcome& outcome = result->files[it->second];
    outcome.declared = file.records;
    const InputFile& input = inputs[it->second];
    if (input.mapped->size() != file.bytes) {
      result->findings.push_back(
          {file.file, "size_mismatch",
           absl::StrCat(input.mapped->size(), " bytes, manifest says ", file.bytes)});
    }
    const absl::StatusOr<std::string>& hash = hashes[it->second];
    if (!hash.ok() || *hash != file.xxh3_128) {
      result->findings.push_back({file.file, "hash_mismatch",
                                  absl::StrCat("xxh3_128 ", hash.ok() ? *hash : "unreadable",
                                               ", manifest says ", file.xxh3_128)});
    }
    if (outcomes[it->second].records != file.records) {
      result->findings.push_back({file.file, "record_count_mismatch",
                                  absl::StrCat(outcomes[it->second].records,
                                               " records read, manifest says ", file.records)});
    }
  }
  for (const auto& [name, index] : present) {
    if (!listed.count(name)) result->findings.push_back({name, "extra", "not in the manifest"});
  }
  result->manifest_files = manifest.files.size();
  result->manifest = std::move(manifest);
  result->faults = *faults;
  result->fired = fired;
  return absl::OkStatus();
}

}  // namespace canvass
