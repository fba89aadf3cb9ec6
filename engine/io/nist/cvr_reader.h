// Reading NIST SP 1500-103 cast vote record reports (JSON v1.0.0 and XML), one file at a
// time, in two steps that a job runs on different threads:
//  1. A CvrScanner walks the file's top level in order and hands out the byte spans of
//     its CVR records, a few megabytes at a time (it never holds the file's records in
//     memory), and errors that stop the file (not a CVR report, truncated, broken
//     structure between records) with their byte offset, line and column.
//  2. A CvrDecoder (one per worker) parses one record's span and tells a CvrBuilder what
//     its current snapshot holds; a record that is broken inside its span is malformed,
//     with the reason, and the file goes on.
// The counting rules live in CvrBuilder (cvr_builder.h), shared by both syntaxes.
//
// Thread safety: a scanner has one owner at a time; a decoder likewise (one per worker).
// Both read the file text, which must outlive them and stay unchanged.
#ifndef CANVASS_ENGINE_IO_NIST_CVR_READER_H_
#define CANVASS_ENGINE_IO_NIST_CVR_READER_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/io/nist/cvr_builder.h"

namespace canvass {

// kDominionJson: a Dominion CvrExport file, read only as part of its export (its
// decoder needs the export's manifests: io/dominion/sessions.h). kCvbContest: a cvb file
// of contest ballots (version 3, io/cvb/contest_cvb.h), as `canvass convert` writes them.
enum class CvrFormat : uint8_t { kJson, kXml, kDominionJson, kCvbContest };
inline constexpr int kNumCvrFormats = 4;
// "nist-cvr-json", "nist-cvr-xml", "dominion-cvr-json", "cvb-contest-ballots"
absl::string_view CvrFormatName(CvrFormat format);

// The format `head` (a file's first bytes) is written in, or nullopt when it is neither a
// CVR JSON report (an object whose top level has a "CVR" key, or "@type":
// "CVR.CastVoteRecordReport") nor a CVR XML report (root element CastVoteRecordReport)
// nor a cvb file of contest ballots (version 3).
std::optional<CvrFormat> SniffCvrFormat(absl::string_view head);

// One record: bytes [begin, end) of the file, and its position among the file's records.
struct CvrSpan {
  uint64_t begin = 0;
  uint64_t end = 0;
  uint64_t index = 0;
};

class CvrScanner {
 public:
  virtual ~CvrScanner() = default;
  // Appends the spans of the next records, about `max_bytes` of them (at least one
  // record when any is left). Returns false once the file's records are all handed out
  // and its end checked. Errors are DataLoss (truncated, broken structure) or
  // InvalidArgument (not a CVR report), naming the file, byte offset, line:column and
  // what was expected.
  virtual absl::StatusOr<bool> Next(uint64_t max_bytes, std::vector<CvrSpan>* spans) = 0;
  // The report's own election definition (JSON: its Election and GpUnit values as one
  // JSON object; XML: the document without its CVR elements), once Next() returned false;
  // empty when the report has none.
  virtual std::string Definition() const = 0;
  // Whether the report says it is synthetic: its top-level Notes begin with "SYNTHETIC"
  // (as `canvass generate --reported` writes them). Known once Next() returned false.
  virtual bool Synthetic() const { return false; }
  // Whether the report's Notes say that contests marked not to be counted have their own
  // `invalid` figure (a copy `canvass convert` wrote of an election that has it), once
  // the scan has passed them.
  virtual bool DeclaresInvalidFigure() const { return false; }
};

class CvrDecoder {
 public:
  virtual ~CvrDecoder() = default;
  // Decodes record `span` of `text` into `builder` (Begin() ... the marks; the caller
  // calls End()). A record broken inside its span is reported through
  // builder->Malformed() with the JSON path or XML element.
  virtual void Decode(absl::string_view text, const CvrSpan& span, CvrBuilder* builder) = 0;

  // Optional fast path for a whole file held in memory: decodes every record in one pass
  // over the file, with no scan of its own, calling builder->Begin() before each record
  // and `done(span)` after it (the caller then calls End()). Returns true when the whole
  // file was well-formed; false, at any point, when it is not, or when the decoder has no
  // such path: the caller then forgets everything `done` was told and reads the file
  // record by record (scanner and Decode), which locates what is broken.
  virtual bool DecodeFile(absl::string_view /*text*/, CvrBuilder* /*builder*/,
                          absl::FunctionRef<void(const CvrSpan&)> /*done*/) {
    return false;
  }
};

std::unique_ptr<CvrScanner> NewCvrScanner(CvrFormat format, std::string name,
                                          absl::string_view text);
// The decoder of a NIST syntax; nullptr for kDominionJson (NewDominionSessionDecoder).
std::unique_ptr<CvrDecoder> NewCvrDecoder(CvrFormat format);

// What reading one report found (a job's summary per input, for the report).
struct CvrInput {
  std::string path;
  uint64_t bytes = 0;
  CvrFormat format = CvrFormat::kJson;
  uint64_t records = 0;
  bool synthetic = false;  // the report's Notes say SYNTHETIC
  // Records that passed the record checks, by the field that gave their identity
  // (CvrIdentityField order); copies found later to be duplicates or conflicts included.
  std::array<uint64_t, kNumCvrIdentityFields> identity_fields{};
};

// A rejected record, located: "FILE: byte B (line L, column C): CVR[i]".
struct CastRejectExample {
  CastReject reason = CastReject::kMalformed;
  std::string location;
  std::string why;
};

// "line L, column C" of byte `offset` of `text` (1-based), for error messages.
std::string LineColumn(absl::string_view text, uint64_t offset);

}  // namespace canvass

#endif  // CANVASS_ENGINE_IO_NIST_CVR_READER_H_
