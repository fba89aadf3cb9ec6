// The reading job's own view of one input file and of one task (a range of a file), shared
// by the parts of engine/ingest (the job, its epochs, the manifest check). Not API.
//
// Plain values: each InputFile is filled by one thread when opened and read by many after.
#ifndef CANVASS_ENGINE_INGEST_INTERNAL_INPUT_FILE_H_
#define CANVASS_ENGINE_INGEST_INTERNAL_INPUT_FILE_H_

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "engine/ingest/mapped_folder.h"
#include "engine/io/input_format.h"

namespace canvass::ingest_internal {

struct InputFile {
  std::string path;       // as given and reported
  std::string open_path;  // where it is opened: `path`, or a stream's copy (streams.h)
  std::optional<MappedFile> mapped;
  size_t reserved_offset = 0, reserved_bytes = 0;  // its place in the MappedFolder
  struct timespec modified {};                     // when opened
  const InputFormat* format = nullptr;
  size_t format_index = 0;  // in InputFormats(): which of a worker's readers reads it
  std::unique_ptr<OpenedInput> opened;
  bool sequential = false;  // read as one range (its ranges did not meet before)
  // In a folder with a manifest: the file's hash is wanted. A file small enough to be one
  // task is hashed by that task while it reads (each byte read from memory once); `hash`
  // is then set, else the manifest check reads the file again to hash it.
  bool hash_wanted = false;
  std::string hash;
};

struct Task {
  size_t file = 0;
  InputRange range;
  bool hash = false;  // the whole file, hashed as it is read into `hash_hex`
  std::string hash_hex;
  RangeReading reading;
};

}  // namespace canvass::ingest_internal

#endif  // CANVASS_ENGINE_INGEST_INTERNAL_INPUT_FILE_H_
