// The XXH3-128 of each input file, as the folder manifest writes it (io/file_hasher.h), for
// the provenance of a report: which bytes exactly were counted. A second read of the
// files, after the job (from the page cache when they fit), done only when a report asks
// for it (`--hash-inputs`, `--format html`, `--html`), so the reading job's speed is
// unchanged.
//
// Thread safety: a call is self-contained.
#ifndef CANVASS_ENGINE_INGEST_INPUT_HASHES_H_
#define CANVASS_ENGINE_INGEST_INPUT_HASHES_H_

#include <string>
#include <vector>

namespace canvass {

// Per path, in order: the hex digest of the file's bytes, or "" where the path is not a
// regular file that can be read now (a stream, a zip member's "ZIP:member" name, a file
// gone since).
std::vector<std::string> HashInputFiles(const std::vector<std::string>& paths);

}  // namespace canvass

#endif  // CANVASS_ENGINE_INGEST_INPUT_HASHES_H_
