// A streaming XXH3-128 of a file's bytes as the manifest writes it (hex, high word first):
// what engine/io/manifest.h lists per file and what the reading job checks.
//
// One owner at a time.
#ifndef CANVASS_ENGINE_IO_FILE_HASHER_H_
#define CANVASS_ENGINE_IO_FILE_HASHER_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/base/bytes.h"
#include "engine/base/xxhash.h"

namespace canvass {

class FileHasher {
 public:
  FileHasher() : state_(XXH3_createState()) { XXH3_128bits_reset(state_); }
  ~FileHasher() { XXH3_freeState(state_); }
  FileHasher(const FileHasher&) = delete;
  FileHasher& operator=(const FileHasher&) = delete;
  void Update(const uint8_t* data, size_t size) { XXH3_128bits_update(state_, data, size); }
  std::string HexDigest() const {
    const XXH128_hash_t hash = XXH3_128bits_digest(state_);
    return Hex128(hash.high64, hash.low64);
  }

 private:
  XXH3_state_t* state_;
};

}  // namespace canvass

#endif  // CANVASS_ENGINE_IO_FILE_HASHER_H_
