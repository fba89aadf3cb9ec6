// Dominion exports from a folder or a zip (dominion_job.h).
#include "engine/ingest/dominion_job.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/base/file_util.h"
#include "engine/base/status_macros.h"
#include "engine/ingest/internal/cvr_pipeline.h"
#include "engine/ingest/zip_members.h"

namespace canvass {
namespace {

bool IsZipFile(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return false;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char head[4] = {};
  const ssize_t got = read(fd, head, sizeof(head));
  close(fd);
  // "PK\3\4" (a local header), or "PK\5\6" (the end record of an empty archive).
  return got == 4 && (std::memcmp(head, "PK\3\4", 4) == 0 || std::memcmp(head, "PK\5\6", 4) == 0);
}

absl::string_view BaseName(absl::string_view name) {
  const size_t slash = name.rfind('/');
  return slash == absl::string_view::npos ? name : name.substr(slash + 1);
}

bool IsManifestName(absl::string_view name) {
  return absl::EndsWith(name, "Manifest.json") || name == "Configuration.json";
}

// A folder's entries: its session files (sorted naturally) and what is skipped.
struct FolderEntries {
  std::vector<std::string> sessions;  // full paths
  std::vector<SkippedInput> skipped;
};

absl::StatusOr<FolderEntries> ListFolder(const std::string& folder) {
  FolderEntries out;
  std::error_code error;
  std::vector<std::string> names;
  std::filesystem::directory_iterator it(folder, error);
  if (error) {
    return absl::InvalidArgumentError(
        absl::StrCat(folder, ": cannot list the export folder: ", error.message()));
  }
  std::vector<std::pair<std::string, std::string>> skipped;
  for (const std::filesystem::directory_entry& entry : it) {
    const std::string name = entry.path().filename().string();
    std::error_code status_error;
    const bool regular = entry.is_regular_file(status_error);
    if (regular && IsDominionSessionFile(name)) {
      names.push_back(name);
    } else if (regular && IsManifestName(name)) {
      continue;  // read by LoadDominionExport
    } else {
      skipped.emplace_back(name, entry.is_directory(status_error)
                                     ? "a folder (folders are not read recursively)"
                                 : !regular ? "not a regular file"
                                            : "not a CvrExport*.json session file or a manifest");
    }
  }
  SortDominionSessionFiles(&names);
  for (const std::string& name : names) out.sessions.push_back(absl::StrCat(folder, "/", name));
  std::sort(skipped.begin(), skipped.end());
  for (auto& [name, reason] : skipped) {
    out.skipped.push_back({absl::StrCat(folder, "/", name), std::move(reason)});
  }
  return out;
}

// Session files of a folder, mapped.
class FolderOpener final : public CvrTextOpener {
 public:
  explicit FolderOpener(std::vector<std::string> files) : files_(std::move(files)) {}
  size_t size() const override { return files_.size(); }
  std::optional<uint64_t> SizeHint(size_t i) const override { return FileSizeHint(files_[i]); }
  absl::StatusOr<CvrText> Open(size_t i) override {
    CvrText text;
    text.path = files_[i];
    text.format = CvrFormat::kDominionJson;
    CANVASS_ASSIGN_OR_RETURN(text.input, MapInputFile(text.path));
    return text;
  }

 private:
  std::vector<std::string> files_;
};

// Session members of a zip, in archive order, each decompressed into memory when the
// pipeline's first stage asks for it.
class ZipOpener final : public CvrTextOpener {
 public:
  ZipOpener(std::unique_ptr<ZipArchive> zip, size_t members)
      : zip_(std::move(zip)), members_(members) {}
  size_t size() const override { return members_; }
  absl::StatusOr<CvrText> Open(size_t /*i*/) override {
    while (true) {
      CANVASS_ASSIGN_OR_RETURN(std::optional<ZipMember> member, zip_->Next());
      if (!member) {
        return absl::DataLossError(
            absl::StrCat(zip_->path(), ": the archive ended before its last session member"));
      }
      if (!IsDominionSessionFile(BaseName(member->name))) continue;
      std::string bytes;
      CANVASS_RETURN_IF_ERROR(zip_->ReadAll(&bytes, kMaxZipMemberBytes));
      CvrText text;
      text.path = absl::StrCat(zip_->path(), ":", member->name);
      text.format = CvrFormat::kDominionJson;
      text.input = std::make_shared<OwnedText>(std::move(bytes));
      return text;
    }
  }

 private:
  std::unique_ptr<ZipArchive> zip_;
  size_t members_;
};

// Whether `path` is a regular file named as a session file whose first bytes hold a
// "Sessions" key: a CvrExport file (a NIST report that happens to have such a name holds
// "CVR" instead).
bool IsSessionFile(const std::string& path) {
  if (!IsDominionSessionFile(BaseName(path))) return false;
  struct stat info {};
  if (stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return false;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char head[4096];
  const ssize_t got = read(fd, head, sizeof(head));
  close(fd);
  return got > 0 &&
         absl::StrContains(absl::string_view(head, static_cast<size_t>(got)), "\"Sessions\"");
}

// Whether `folder` holds what only a Dominion export has: one of the manifests it needs
// (any one: an export that lacks ContestManifest.json is still read as one, and told what
// it lacks) or a CvrExport file.
bool HoldsDominionFiles(const std::string& folder) {
  std::error_code error;
  for (std::filesystem::directory_iterator it(folder, error), end; !error && it != end;
       it.increment(error)) {
    const std::string name = it->path().filename().string();
    std::error_code status_error;
    if (std::find(std::begin(kDominionRequiredManifests), std::end(kDominionRequiredManifests),
                  name) != std::end(kDominionRequiredManifests) &&
        it->is_regular_file(status_error)) {
      return true;
    }
    if (IsSessionFile(it->path().string())) return true;
  }
  return false;
}

}  // namespace

bool IsDominionExport(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) return false;
  if (S_ISDIR(info.st_mode)) return HoldsDominionFiles(path);
  return IsZipFile(path) || IsSessionFile(path);
}

absl::StatusOr<DominionExport> LoadDominionExport(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file or folder"));
  }
  if (!S_ISDIR(info.st_mode) && !IsZipFile(path) && IsSessionFile(path)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path,
                     ": a Dominion CvrExport file is read as part of its export, with the export's "
                     "manifests: give the folder or the .zip that holds it"));
  }
  if (S_ISDIR(info.st_mode)) {
    return BuildDominionExport(
        path, [&](absl::string_view name) -> absl::StatusOr<std::optional<std::string>> {
          const std::string file = absl::StrCat(path, "/", name);
          struct stat manifest {};
          if (stat(file.c_str(), &manifest) != 0) return std::optional<std::string>();
          CANVASS_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(file));
          return std::optional<std::string>(std::move(bytes));
        });
  }
  // A zip: one pass reads every manifest member (they are small), skipping the rest.
  CANVASS_ASSIGN_OR_RETURN(std::unique_ptr<ZipArchive> zip, ZipArchive::Open(path));
  absl::flat_hash_map<std::string, std::string> manifests;
  while (true) {
    CANVASS_ASSIGN_OR_RETURN(std::optional<ZipMember> member, zip->Next());
    if (!member) break;
    const absl::string_view base = BaseName(member->name);
    if (!IsManifestName(base)) continue;
    std::string bytes;
    CANVASS_RETURN_IF_ERROR(zip->ReadAll(&bytes, kMaxZipMemberBytes));
    if (!manifests.emplace(std::string(base), std::move(bytes)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": member ", member->name, ": a second ", base, " in the archive"));
    }
  }
  return BuildDominionExport(
      path, [&](absl::string_view name) -> absl::StatusOr<std::optional<std::string>> {
        const auto it = manifests.find(name);
        if (it == manifests.end()) return std::optional<std::string>();
        return std::optional<std::string>(it->second);
      });
}

absl::StatusOr<CvrJobResult> ReadDominionExport(const DominionExport& dominion,
                                                const std::string& path,
                                                const CvrJobOptions& options) {
  CvrJobResult result;
  std::unique_ptr<CvrTextOpener> opener;
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file or folder"));
  }
  if (S_ISDIR(info.st_mode)) {
    CANVASS_ASSIGN_OR_RETURN(FolderEntries entries, ListFolder(path));
    result.skipped = std::move(entries.skipped);
    opener = std::make_unique<FolderOpener>(std::move(entries.sessions));
  } else {
    CANVASS_ASSIGN_OR_RETURN(const std::vector<ZipMember> members, ListZipMembers(path));
    size_t sessions = 0;
    for (const ZipMember& member : members) {
      const absl::string_view base = BaseName(member.name);
      if (IsDominionSessionFile(base)) {
        ++sessions;
      } else if (!IsManifestName(base)) {
        result.skipped.push_back({absl::StrCat(path, ":", member.name),
                                  "not a CvrExport*.json session file or a manifest"});
      }
    }
    CANVASS_ASSIGN_OR_RETURN(std::unique_ptr<ZipArchive> zip, ZipArchive::Open(path));
    opener = std::make_unique<ZipOpener>(std::move(zip), sessions);
  }
  if (opener->size() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": no CvrExport*.json session file in the export"));
  }
  CANVASS_RETURN_IF_ERROR(RunCvrJob(dominion.election, &dominion, opener.get(), options, &result));
  return result;
}

}  // namespace canvass
