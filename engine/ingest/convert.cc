// canvass convert: a reading job whose sink writes the records out in another syntax.
#include "engine/ingest/convert.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/base/json_text.h"
#include "engine/base/status_macros.h"
#include "engine/base/xxhash.h"
#include "engine/io/cvb/contest_cvb.h"
#include "engine/io/cvb/cvb_format.h"
#include "engine/io/nist/cvr_writer.h"

namespace canvass {
namespace {

// The output file: PATH.partial while written, renamed to PATH by Commit().
class OutputFile {
 public:
  explicit OutputFile(std::string path) : path_(std::move(path)), partial_(path_ + ".partial") {}
  ~OutputFile() {
    if (file_ != nullptr) std::fclose(file_);
    if (!committed_) std::remove(partial_.c_str());
  }

  absl::Status Open() {
    file_ = std::fopen(partial_.c_str(), "wb");
    if (file_ == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(partial_, ": cannot be written (", std::strerror(errno), ")"));
    }
    return absl::OkStatus();
  }
  absl::Status Append(absl::string_view bytes) {
    if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
      return Failed();
    }
    written_ += bytes.size();
    return absl::OkStatus();
  }
  // Rewrites bytes already written at `offset` (a header completed at the end).
  absl::Status Patch(uint64_t offset, absl::string_view bytes) {
    if (std::fseek(file_, static_cast<long>(offset), SEEK_SET) != 0 ||
        std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size() ||
        std::fseek(file_, 0, SEEK_END) != 0) {
      return Failed();
    }
    return absl::OkStatus();
  }
  absl::Status Commit() {
    const int closed = std::fclose(file_);
    file_ = nullptr;
    if (closed != 0) return Failed();
    if (std::rename(partial_.c_str(), path_.c_str()) != 0) {
      return absl::DataLossError(absl::StrCat(partial_, ": cannot be renamed to ", path_, " (",
                                              std::strerror(errno), ")"));
    }
    committed_ = true;
    return absl::OkStatus();
  }
  uint64_t written() const { return written_; }

 private:
  absl::Status Failed() const {
    return absl::DataLossError(absl::StrCat(partial_, ": write failed after ", written_, " bytes (",
                                            std::strerror(errno), ")"));
  }

  std::string path_;
  std::string partial_;
  std::FILE* file_ = nullptr;
  uint64_t written_ = 0;
  bool committed_ = false;
};

class NistJsonSink final : public CvrRecordSink {
 public:
  NistJsonSink(const ContestElection& election, OutputFile* out) : election_(election), out_(out) {}
  void EncodeBallot(const CvrTranscript& record, std::string* out) const override {
    out->append(",\n");
    AppendCvrRecord(election_, record, out);
  }
  bool EncodeRejected(CastReject, absl::string_view, absl::string_view,
                      std::string*) const override {
    return false;
  }
  absl::Status Write(absl::string_view bytes, uint64_t records) override {
    // Every record comes after ",\n"; the report's first one after nothing.
    if (records_ == 0) bytes.remove_prefix(2);
    records_ += records;
    return out_->Append(bytes);
  }
  uint64_t records() const { return records_; }

 private:
  const ContestElection& election_;
  OutputFile* out_;
  uint64_t records_ = 0;
};

// Blocks of kCvbRecordsPerBlock records, whatever the job's chunks were: the copy's bytes
// do not depend on threads or chunk sizes.
constexpr uint32_t kCvbRecordsPerBlock = 4096;

class CvbSink final : public CvrRecordSink {
 public:
  explicit CvbSink(OutputFile* out) : out_(out) {}
  void EncodeBallot(const CvrTranscript& record, std::string* out) const override {
    AppendContestCvbBallot(record, out);
  }
  bool EncodeRejected(CastReject reason, absl::string_view why, absl::string_view location,
                      std::string* out) const override {
    AppendContestCvbRejected(reason, absl::StrCat(why, " (converted from ", location, ")"), out);
    return true;
  }
  absl::Status Write(absl::string_view bytes, uint64_t records) override {
    // The encodings are length-prefixed records (AppendContestCvb*): split between them.
    for (uint64_t r = 0; r < records; ++r) {
      uint64_t length = 0;
      size_t prefix = 0;
      for (int shift = 0;; shift += 7) {
        const uint8_t byte = static_cast<uint8_t>(bytes[prefix++]);
        length |= static_cast<uint64_t>(byte & 0x7f) << shift;
        if ((byte & 0x80) == 0) break;
      }
      pending_.append(bytes.data(), prefix + length);
      bytes.remove_prefix(prefix + length);
      if (++pending_records_ == kCvbRecordsPerBlock) CANVASS_RETURN_IF_ERROR(Flush());
    }
    return absl::OkStatus();
  }
  // Writes the last, partly filled block.
  absl::Status Flush() {
    if (pending_records_ == 0) return absl::OkStatus();
    if (pending_.size() > std::numeric_limits<uint32_t>::max()) {
      return absl::OutOfRangeError(absl::StrCat("cvb: ", pending_records_, " records of ",
                                                pending_.size(),
                                                " bytes are too large for one block"));
    }
    block_.clear();
    AppendContestCvbBlock(pending_, pending_records_, &block_);
    ++blocks_;
    records_ += pending_records_;
    pending_.clear();
    pending_records_ = 0;
    return out_->Append(block_);
  }
  uint32_t blocks() const { return blocks_; }
  uint64_t records() const { return records_; }

 private:
  OutputFile* out_;
  std::string pending_;
  uint32_t pending_records_ = 0;
  std::string block_;
  uint32_t blocks_ = 0;
  uint64_t records_ = 0;
};

bool AnySynthetic(const ContestElection& election, const CvrJobResult& job) {
  bool synthetic = election.synthetic;
  for (const CvrInput& input : job.inputs) synthetic |= input.synthetic;
  return synthetic;
}

}  // namespace

absl::StatusOr<ConvertTarget> ParseConvertTarget(absl::string_view name) {
  if (name == "nist-json") return ConvertTarget::kNistJson;
  if (name == "cvb") return ConvertTarget::kCvb;
  return absl::InvalidArgumentError(
      absl::StrCat("--to ", name, ": expected nist-json (a NIST CVR JSON report) or cvb"));
}

absl::StatusOr<ConvertResult> ConvertCvrRecords(
    const ContestElection& election, ConvertTarget target, const std::string& out_path,
    absl::string_view from, CvrJobOptions options,
    absl::FunctionRef<absl::StatusOr<CvrJobResult>(const CvrJobOptions&)> read) {
  OutputFile out(out_path);
  CANVASS_RETURN_IF_ERROR(out.Open());
  ConvertResult result;
  if (target == ConvertTarget::kNistJson) {
    // Notes come last: whether an input was synthetic is known once it was read.
    CANVASS_RETURN_IF_ERROR(out.Append(CvrReportHeader(election, "", "canvass-convert")));
    NistJsonSink sink(election, &out);
    options.sink = &sink;
    CANVASS_ASSIGN_OR_RETURN(result.job, read(options));
    std::string notes = absl::StrCat("converted by canvass convert from ", from);
    // Read back, a report that names invalidated-rules has the `invalid` figure
    // (ElectionOfCvrReports): so does the copy of an election that has it.
    if (election.invalid_figure) {
      absl::StrAppend(&notes,
                      "; contests the voting system's rules invalidated have Status "
                      "\"invalidated-rules\" and count in their own invalid figure");
    }
    if (AnySynthetic(election, result.job)) {
      notes = absl::StrCat("SYNTHETIC: ", notes, "; only officially reported figures are facts");
    }
    std::string end = "\n],\"Notes\":";
    AppendJsonString(notes, &end);
    end.append("}\n");
    CANVASS_RETURN_IF_ERROR(out.Append(end));
    result.records_written = sink.records();
  } else {
    std::string header;
    AppendContestCvbHeader(election, &header);
    CANVASS_RETURN_IF_ERROR(out.Append(header));
    CvbSink sink(&out);
    options.sink = &sink;
    CANVASS_ASSIGN_OR_RETURN(result.job, read(options));
    CANVASS_RETURN_IF_ERROR(sink.Flush());
    std::string trailer;
    AppendCvbTrailer(sink.blocks(), sink.records(), &trailer);
    CANVASS_RETURN_IF_ERROR(out.Append(trailer));
    if (!election.synthetic && AnySynthetic(election, result.job)) {
      ContestElection marked = election;
      marked.synthetic = true;
      header.clear();
      AppendContestCvbHeader(marked, &header);
      CANVASS_RETURN_IF_ERROR(
          out.Patch(0, absl::string_view(header).substr(0, kCvbContestHeaderBytes)));
    }
    result.records_written = sink.records();
  }
  result.bytes_written = out.written();
  CANVASS_RETURN_IF_ERROR(out.Commit());
  return result;
}

}  // namespace canvass
