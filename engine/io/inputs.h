// What reading a set of ballot files found, as plain values: each file's outcome, the
// first malformed records with their places, and what a folder's manifest check found.
// The ingest stage (engine/ingest/ingest.h) produces them; reports (engine/report) and
// front ends read them without depending on the stage that produced them.
//
// Plain values: no synchronization of their own.
#ifndef CANVASS_ENGINE_IO_INPUTS_H_
#define CANVASS_ENGINE_IO_INPUTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace canvass {

struct FileOutcome {
  std::string path;
  std::string format;  // its input format's name: "csv", "cvb"
  uint64_t bytes = 0;
  uint64_t records = 0;  // records read (malformed included)
  uint64_t malformed = 0;
  std::optional<uint64_t> declared;  // records the file (trailer) or manifest declares
  std::string damage;                // empty when intact; else "byte N: what"
};

struct MalformedExample {
  std::string file;
  uint64_t line = 0;             // 1-based line (CSV) ...
  std::optional<uint64_t> byte;  // ... or byte offset of the block (cvb)
};

struct ManifestFinding {
  std::string file;
  // "missing", "extra", "size_mismatch", "hash_mismatch", "record_count_mismatch"
  std::string finding;
  std::string detail;
};

// A folder entry that was not read, and why ("a folder (folders are not read
// recursively)", "not a regular file", "a link to nothing", "not a .csv or .cvb file").
struct SkippedInput {
  std::string path;
  std::string reason;
};

// A path that names a file already given (the same device and inode): read once.
struct RepeatedInput {
  std::string path;
  std::string same_as;  // the path it was first given as
};

// Everything a report says about the inputs of a job.
struct InputsSummary {
  std::vector<FileOutcome> files;           // in input order
  std::vector<MalformedExample> malformed;  // the first 20, in file and line order
  uint64_t bytes_read = 0;
  std::optional<uint64_t> manifest_files;  // files a folder's manifest lists, when it had one
  std::vector<ManifestFinding> findings;
  std::vector<SkippedInput> skipped;    // folder entries not read, in folder and name order
  std::vector<RepeatedInput> repeated;  // paths of files given more than once
};

}  // namespace canvass

#endif  // CANVASS_ENGINE_IO_INPUTS_H_
