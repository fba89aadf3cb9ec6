// The reading pipeline behind ReadCvrFiles (cvr_job.h), for the jobs of ingest/ that feed
// it other texts: a Dominion export's session files, from a folder or from zip members.
#ifndef CANVASS_ENGINE_INGEST_INTERNAL_CVR_PIPELINE_H_
#define CANVASS_ENGINE_INGEST_INTERNAL_CVR_PIPELINE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/election/contests.h"
#include "engine/ingest/cvr_job.h"
#include "engine/io/dominion/export.h"
#include "engine/io/nist/cvr_reader.h"

namespace canvass {

// The bytes of one input: a mapped file, or a zip member held in memory. Released when
// the last chunk that reads it is done.
class InputText {
 public:
  virtual ~InputText() = default;
  virtual absl::string_view text() const = 0;
  // Hints from the scanner (pages about to be read) and the last stage (bytes done with).
  virtual void Prefault(uint64_t /*at*/) {}
  virtual void DoneUpTo(uint64_t /*end*/, bool /*all*/) {}
};

// A regular file mapped read-only; NotFound / InvalidArgument (not a regular file) /
// DataLoss (cannot map), naming it.
absl::StatusOr<std::shared_ptr<InputText>> MapInputFile(const std::string& path);

// A zip member's (or any) bytes, owned.
class OwnedText final : public InputText {
 public:
  explicit OwnedText(std::string bytes) : bytes_(std::move(bytes)) {}
  absl::string_view text() const override { return bytes_; }

 private:
  std::string bytes_;
};

struct CvrText {
  std::string path;  // as inputs and messages name it ("export.zip:CvrExport_3.json")
  CvrFormat format = CvrFormat::kJson;
  std::shared_ptr<InputText> input;
};

// The job's texts, opened in order 0, 1, ... size() - 1, each once, on the pipeline's
// serial first stage.
class CvrTextOpener {
 public:
  virtual ~CvrTextOpener() = default;
  virtual size_t size() const = 0;
  virtual absl::StatusOr<CvrText> Open(size_t i) = 0;
  // Text i's size in bytes before it is opened, when known cheaply (a file's, by stat):
  // what a job of several ranks shares the texts out by. nullopt: unknown.
  virtual std::optional<uint64_t> SizeHint(size_t /*i*/) const { return std::nullopt; }
};

// A regular file's size by stat; nullopt when it is not one or cannot be seen (the job
// says why where it opens it).
std::optional<uint64_t> FileSizeHint(const std::string& path);

// Runs the pipeline over `opener`'s texts into `result` (its inputs, examples and tally;
// skipped and repeated are the caller's). `dominion` is required for kDominionJson texts.
absl::Status RunCvrJob(const ContestElection& election, const DominionExport* dominion,
                       CvrTextOpener* opener, const CvrJobOptions& options, CvrJobResult* result);

}  // namespace canvass

#endif  // CANVASS_ENGINE_INGEST_INTERNAL_CVR_PIPELINE_H_
