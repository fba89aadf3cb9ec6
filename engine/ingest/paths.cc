// Expanding PATH... into the files a reading job reads (paths.h).
#include "engine/ingest/paths.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/io/input_format.h"
#include "engine/io/manifest.h"

namespace canvass {
namespace fs = std::filesystem;
namespace {

// Why a folder entry is not read, or "" when it is a ballot file. No call here throws.
std::string SkipReason(const fs::directory_entry& entry, const FolderSuffixes* suffixes) {
  std::error_code error;
  const fs::file_status status = entry.status(error);
  if (error || !fs::exists(status)) return "a link to nothing";
  if (fs::is_directory(status)) return "a folder (folders are not read recursively)";
  if (!fs::is_regular_file(status)) return "not a regular file";
  const std::string name = entry.path().filename().string();
  if (suffixes == nullptr) {
    if (!HasInputSuffix(name)) return absl::StrCat("not ", InputSuffixesText());
    return "";
  }
  for (const std::string& suffix : suffixes->suffixes) {
    if (absl::EndsWithIgnoreCase(name, absl::StrCat(".", suffix))) return "";
  }
  return absl::StrCat("not ", suffixes->text);
}

// The ballot files of `folder` (sorted), and the entries skipped (sorted by path).
absl::Status ListFolder(const std::string& folder, const FolderSuffixes* suffixes,
                        std::vector<std::string>* found, std::vector<SkippedInput>* skipped) {
  std::error_code error;
  fs::directory_iterator entries(folder, error);
  for (; !error && entries != fs::directory_iterator(); entries.increment(error)) {
    const fs::directory_entry& entry = *entries;
    if (entry.path().filename() == kManifestFileName) continue;
    std::string reason = SkipReason(entry, suffixes);
    if (reason.empty()) {
      found->push_back(entry.path().string());
    } else {
      skipped->push_back({entry.path().string(), std::move(reason)});
    }
  }
  if (error) {
    return absl::InvalidArgumentError(
        absl::StrCat(folder, ": cannot list the folder: ", error.message()));
  }
  std::sort(found->begin(), found->end());
  std::sort(skipped->begin(), skipped->end(),
            [](const SkippedInput& a, const SkippedInput& b) { return a.path < b.path; });
  return absl::OkStatus();
}

}  // namespace

absl::Status ExpandPaths(const std::vector<std::string>& paths, ExpandedPaths* expanded) {
  return ExpandPaths(paths, nullptr, expanded);
}

absl::Status ExpandPaths(const std::vector<std::string>& paths, const FolderSuffixes* suffixes,
                         ExpandedPaths* expanded) {
  std::map<std::pair<dev_t, ino_t>, std::string> first_path;
  auto add_file = [&](const std::string& path) {
    struct stat info {};
    if (stat(path.c_str(), &info) == 0) {
      auto [it, inserted] = first_path.emplace(std::make_pair(info.st_dev, info.st_ino), path);
      if (!inserted) {
        expanded->repeated.push_back({path, it->second});
        return;
      }
    }
    expanded->files.push_back(path);  // a file that cannot be read is named when it is opened
  };
  for (const std::string& path : paths) {
    std::error_code error;
    const fs::file_status status = fs::status(path, error);
    if (error || !fs::exists(status)) {
      return absl::NotFoundError(absl::StrCat(path, ": no such file or folder"));
    }
    if (!fs::is_directory(status)) {
      add_file(path);
      continue;
    }
    std::vector<std::string> found;
    std::vector<SkippedInput> skipped;
    if (absl::Status listed = ListFolder(path, suffixes, &found, &skipped); !listed.ok()) {
      return listed;
    }
    for (const std::string& file : found) add_file(file);
    expanded->skipped.insert(expanded->skipped.end(), skipped.begin(), skipped.end());
    if (fs::exists(fs::path(path) / kManifestFileName, error)) {
      expanded->manifest_dirs.push_back(path);
    }
  }
  if (expanded->files.empty()) {
    const std::vector<SkippedInput>& skipped = expanded->skipped;
    return absl::InvalidArgumentError(absl::StrCat(
        "no ballot files to read in ", absl::StrJoin(paths, ", "),
        skipped.empty()
            ? ""
            : absl::StrCat(" (", skipped.size(), " entries skipped: ", skipped[0].path, ": ",
                           skipped[0].reason, skipped.size() > 1 ? ", ..." : "", ")")));
  }
  return absl::OkStatus();
}

}  // namespace canvass
