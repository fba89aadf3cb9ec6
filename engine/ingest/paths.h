// PATH... of `aggregate` and `reconcile` as the files a job reads: a file as given; a
// folder's regular files whose names end in an input format's suffix (any case: A.CSV,
// b.Cvb), sorted by name, not recursing. Every other entry of a folder but its manifest is
// listed with the reason; a file given again (the same device and inode, under any path)
// is read once and listed. docs/FORMAT.md, "Paths given to aggregate and reconcile".
//
// Thread safety: a pure function of the file system's state.
#ifndef CANVASS_ENGINE_INGEST_PATHS_H_
#define CANVASS_ENGINE_INGEST_PATHS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/io/inputs.h"

namespace canvass {

struct ExpandedPaths {
  std::vector<std::string> files;          // to read, in order
  std::vector<std::string> manifest_dirs;  // folders holding a manifest
  std::vector<SkippedInput> skipped;       // folder entries not read, with the reason
  std::vector<RepeatedInput> repeated;     // paths of files already given
};

// NotFound for a path that does not exist; InvalidArgument for a folder that cannot be
// listed (with the system's reason) and when no file is left to read.
absl::Status ExpandPaths(const std::vector<std::string>& paths, ExpandedPaths* expanded);

// The same with other suffixes for a folder's files (cast vote record reports: "json",
// "xml"); `text` names them in messages ("a .json or .xml file").
struct FolderSuffixes {
  std::vector<std::string> suffixes;
  std::string text;
};
absl::Status ExpandPaths(const std::vector<std::string>& paths, const FolderSuffixes* suffixes,
                         ExpandedPaths* expanded);

}  // namespace canvass

#endif  // CANVASS_ENGINE_INGEST_PATHS_H_
