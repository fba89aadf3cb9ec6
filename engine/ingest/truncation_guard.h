// Input files are read through read-only mappings. When another process truncates or
// shortens a file while a job has it mapped, touching a page past the file's new end
// raises SIGBUS, which would kill the process without a word. While a TruncationGuard
// lives, a SIGBUS on an address inside one of its files instead prints
//
//   <program>: <file>: changed while being read (the file was truncated or shortened
//   while mapped); no report was printed
//
// on stderr and ends the process with exit status 2 (an input error, DESIGN.md): the job
// cannot finish with a truthful total, and nothing was printed as if complete. A SIGBUS
// anywhere else keeps its default action (the process dies of the signal).
//
// Thread safety: guards may be created and destroyed from any thread, several at once
// (up to kMaxGuards jobs in one process); the handler only reads what a guard published.
#ifndef CANVASS_ENGINE_INGEST_TRUNCATION_GUARD_H_
#define CANVASS_ENGINE_INGEST_TRUNCATION_GUARD_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace canvass {

struct MappedRange {
  const uint8_t* begin = nullptr;
  size_t bytes = 0;
  std::string path;
};

class TruncationGuard {
 public:
  static constexpr int kMaxGuards = 16;

  // Installs the process's SIGBUS handler on first use and publishes `ranges` to it.
  // With more than kMaxGuards guards alive, this one publishes nothing (its files keep
  // the default SIGBUS action).
  explicit TruncationGuard(std::vector<MappedRange> ranges);
  ~TruncationGuard();
  TruncationGuard(const TruncationGuard&) = delete;
  TruncationGuard& operator=(const TruncationGuard&) = delete;

  struct Table;  // the published form: the ranges and their messages, preformatted

 private:
  Table* table_ = nullptr;
  int slot_ = -1;
};

}  // namespace canvass

#endif  // CANVASS_ENGINE_INGEST_TRUNCATION_GUARD_H_
