// Whole-file reads for the small files a job reads at once (election.json, a roster, a folder
// manifest), and atomic whole-file writes (a checkpoint, a manifest), with errors that name
// the path and the system's reason. Ballot files are not read this way: ingest maps them
// and reads them in ranges.
//
// Safe to call from many threads at once (each call opens its own descriptor).
//
// Usage:
//   absl::StatusOr<std::string> text = canvass::ReadFileToString(directory + "/election.json");
//   if (!text.ok()) return text.status();  // "DIR/election.json: cannot open file: ..."
#ifndef CANVASS_ENGINE_BASE_FILE_UTIL_H_
#define CANVASS_ENGINE_BASE_FILE_UTIL_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace canvass {

// The bytes of file `path`, all of them. Errors, each message starting "PATH: " and ending
// with strerror's reason:
//   NotFound          the path, or a folder on it, does not exist ("cannot open file")
//   PermissionDenied  the file may not be opened for reading ("cannot open file")
//   InvalidArgument   any other reason the path cannot be opened, or it is a folder
//   DataLoss          reading failed part-way ("read error")
absl::StatusOr<std::string> ReadFileToString(const std::string& path);
// The same, refusing a file of more than `max_bytes` (OutOfRange: "PATH: more than N
// bytes, ..."), after reading at most max_bytes + 1: /dev/zero or a runaway file given as
// an election.json costs a bounded read, not all of memory.
absl::StatusOr<std::string> ReadFileToString(const std::string& path, uint64_t max_bytes);

// Writes `bytes` to `path` so that `path` is either its old content or all of `bytes`, never
// a part: PATH.tmp is written, fsynced and renamed over PATH, then the folder is fsynced.
// On any failure PATH.tmp is removed and the error (DataLoss; NotFound or PermissionDenied
// when PATH.tmp cannot be created) names the file and the system's reason, e.g.
// "out/manifest.json.tmp: cannot write: No space left on device".
absl::Status WriteFileAtomically(const std::string& path, absl::string_view bytes);

}  // namespace canvass

#endif  // CANVASS_ENGINE_BASE_FILE_UTIL_H_
