// ReadCvrFiles: the CVR reading pipeline (cvr_job.h).
#include "engine/ingest/cvr_job.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/aggregate/contest_aggregator.h"
#include "engine/base/activity.h"
#include "engine/base/bytes.h"
#include "engine/base/check.h"
#include "engine/base/crash_point.h"
#include "engine/base/status_macros.h"
#include "engine/base/workers.h"
#include "engine/ingest/internal/cvr_pipeline.h"
#include "engine/ingest/paths.h"
#include "engine/io/cvb/contest_cvb.h"
#include "engine/io/dominion/sessions.h"
#include "engine/io/nist/err_json.h"
#include "tbb/enumerable_thread_specific.h"
#include "tbb/parallel_pipeline.h"

namespace canvass {
namespace {

constexpr uint64_t kDropEveryBytes = 64u << 20;
constexpr uint64_t kPage = 4096;
constexpr uint64_t kPrefaultBytes = 32u << 20;
#ifdef MADV_POPULATE_READ
constexpr int kPopulateRead = MADV_POPULATE_READ;
#else
constexpr int kPopulateRead = 22;  // Linux 5.14's value, for older headers
#endif

const FolderSuffixes& CvrSuffixes() {
  static const FolderSuffixes* suffixes = new FolderSuffixes{
      {"json", "xml", "cvb"}, "a .json or .xml cast vote record report, or a .cvb file of them"};
  return *suffixes;
}

// One input file mapped read-only; unmapped when the last reference goes.
class MappedInput final : public InputText {
 public:
  static absl::StatusOr<std::shared_ptr<MappedInput>> Open(const std::string& path) {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
    }
    struct stat info {};
    if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
      close(fd);
      return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file"));
    }
    auto input = std::shared_ptr<MappedInput>(new MappedInput);
    input->size_ = static_cast<uint64_t>(info.st_size);
    if (input->size_ > 0) {
      void* data = mmap(nullptr, input->size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (data == MAP_FAILED) {
        close(fd);
        return absl::DataLossError(absl::StrCat(path, ": cannot map: ", std::strerror(errno)));
      }
      input->data_ = static_cast<const char*>(data);
    }
    close(fd);
    return input;
  }
  ~MappedInput() override {
    if (data_ != nullptr) munmap(const_cast<char*>(data_), size_);
  }
  absl::string_view text() const override { return absl::string_view(data_, size_); }
  uint64_t size() const { return size_; }
  // Maps the pages of the next kPrefaultBytes past `at` in one call, once `at` comes
  // within half of that of what is mapped: a fault per page (or per 64 KiB, with the
  // kernel's fault-around) costs the scanner about a third of its time, one call per
  // window almost nothing. Kernels without MADV_POPULATE_READ (before 5.14) refuse it and
  // the pages fault in as before.
  void Prefault(uint64_t at) override {
    if (data_ == nullptr || at + kPrefaultBytes / 2 < populated_ || populated_ >= size_) return;
    const uint64_t begin = std::max(populated_, at / kPage * kPage);
    const uint64_t end = std::min(size_, begin + kPrefaultBytes);
    madvise(const_cast<char*>(data_) + begin, end - begin, kPopulateRead);
    populated_ = end;
  }
  // Drops the pages of [dropped_, end) once that is kDropEveryBytes or more (or `all`).
  void DoneUpTo(uint64_t end, bool all) override {
    const uint64_t aligned = all ? size_ : end / kPage * kPage;
    if (data_ == nullptr || aligned <= dropped_ || (!all && aligned - dropped_ < kDropEveryBytes)) {
      return;
    }
    const uint64_t length = std::min(aligned, size_) - dropped_;
    madvise(const_cast<char*>(data_) + dropped_, (length + kPage - 1) / kPage * kPage,
            MADV_DONTNEED);
    dropped_ = aligned;
  }

 private:
  MappedInput() = default;
  const char* data_ = nullptr;
  uint64_t size_ = 0;
  uint64_t dropped_ = 0;
  uint64_t populated_ = 0;
};

}  // namespace

absl::StatusOr<std::shared_ptr<InputText>> MapInputFile(const std::string& path) {
  CANVASS_ASSIGN_OR_RETURN(std::shared_ptr<MappedInput> input, MappedInput::Open(path));
  return std::shared_ptr<InputText>(std::move(input));
}

std::optional<uint64_t> FileSizeHint(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return std::nullopt;
  return static_cast<uint64_t>(info.st_size);
}

namespace {

// A chunk's place in the job's order: its file, then its place in the file.
uint64_t ChunkKey(uint64_t file, uint64_t chunk_in_file) {
  CANVASS_CHECK(file < (uint64_t{1} << 32) && chunk_in_file < (uint64_t{1} << 32));
  return file << 32 | chunk_in_file;
}

struct Chunk {
  // Place in the job's chunk order: file << 32 | chunk of the file (ChunkKey), the same on
  // every rank that opens the file.
  uint64_t seq = 0;
  bool mine = true;  // decoded by this rank
  size_t file = 0;
  CvrFormat format = CvrFormat::kJson;
  std::shared_ptr<InputText> input;
  std::vector<CvrSpan> spans;
  bool last = false;  // the file's last chunk
  // A whole small file, scanned by the parallel stage (its path names it in errors).
  bool scan = false;
  std::string path;
  // Filled by the parallel stage.
  absl::Status error;  // the file's scan failed (scan chunks only): nothing was decoded
  bool synthetic = false;
  uint64_t records = 0;
  std::array<uint64_t, kNumCvrIdentityFields> identity_fields{};
  std::vector<CastRejectExample> examples;
  std::array<uint32_t, kNumCastRejects> examples_per_reason{};
  // With a sink: the chunk's records re-encoded, and rejected ones the sink cannot hold.
  std::string converted;
  uint64_t converted_records = 0;
  std::array<uint64_t, kNumCastRejects> not_converted{};
};

struct Worker {
  explicit Worker(const ContestElection& election) : builder(election) {}
  CvrBuilder builder;
  std::unique_ptr<CvrDecoder> decoders[kNumCvrFormats];
  CastBallotBatch batch;
};

// What the last stage takes from a decoded chunk into the job's result. One process
// applies it as the chunk arrives; ranks keep their chunks' and apply every rank's in
// chunk order after the pipeline (ApplyAccount either way, so both give the same result).
struct ChunkAccount {
  uint64_t seq = 0;
  uint64_t file = 0;
  bool scan = false;
  bool synthetic = false;
  uint64_t records = 0;
  std::array<uint64_t, kNumCvrIdentityFields> identity_fields{};
  std::vector<CastRejectExample> examples;  // located within the file (path not yet added)
};

ChunkAccount TakeAccount(Chunk* chunk) {
  ChunkAccount account;
  account.seq = chunk->seq;
  account.file = chunk->file;
  account.scan = chunk->scan;
  account.synthetic = chunk->synthetic;
  account.records = chunk->records;
  account.identity_fields = chunk->identity_fields;
  account.examples = std::move(chunk->examples);
  return account;
}

// Adds a chunk's account to the result; `examples_kept` counts the examples kept per reason.
void ApplyAccount(ChunkAccount& account, uint32_t examples_per_reason, CvrJobResult* result,
                  std::array<uint32_t, kNumCastRejects>* examples_kept) {
  CvrInput& input = result->inputs[account.file];
  if (account.scan) input.synthetic = account.synthetic;
  input.records += account.records;
  for (int f = 0; f < kNumCvrIdentityFields; ++f) {
    input.identity_fields[f] += account.identity_fields[f];
  }
  for (CastRejectExample& example : account.examples) {
    uint32_t& kept = (*examples_kept)[static_cast<int>(example.reason)];
    if (kept >= examples_per_reason) continue;
    ++kept;
    example.location = absl::StrCat(input.path, ": ", example.location);
    result->examples.push_back(std::move(example));
  }
}

// One rank's share of a job's outcome, as the ranks exchange it (little-endian): the
// first chunk error (flag, chunk, code, message), the opening error (flag, code,
// message), invalid_without_figure, then the accounts of its chunks.
struct RankOutcome {
  bool chunk_failed = false;
  uint64_t chunk_error_seq = 0;
  absl::Status chunk_error;
  uint64_t source_error_seq = 0;
  absl::Status source_error;
  bool invalid_without_figure = false;
  // The files only this rank opened (ranks_plan), as its source described them.
  std::vector<std::pair<uint64_t, CvrInput>> owned_inputs;
  std::vector<ChunkAccount> accounts;
};

void PutText(absl::string_view text, std::string* out) {
  PutLittleEndian(static_cast<uint64_t>(text.size()), out);
  out->append(text.data(), text.size());
}

bool ConsumeText(absl::string_view* in, std::string* text) {
  uint64_t size = 0;
  if (!ConsumeLittleEndian(in, &size) || in->size() < size) return false;
  text->assign(in->data(), size);
  in->remove_prefix(size);
  return true;
}

void PutStatus(const absl::Status& status, std::string* out) {
  PutLittleEndian(static_cast<uint32_t>(status.code()), out);
  PutText(status.message(), out);
}

bool ConsumeStatus(absl::string_view* in, absl::Status* status) {
  uint32_t code = 0;
  std::string message;
  if (!ConsumeLittleEndian(in, &code) || !ConsumeText(in, &message)) return false;
  *status = absl::Status(static_cast<absl::StatusCode>(code), message);
  return true;
}

std::string EncodeOutcome(const RankOutcome& outcome) {
  std::string out;
  PutLittleEndian(static_cast<uint8_t>(outcome.chunk_failed), &out);
  PutLittleEndian(outcome.chunk_error_seq, &out);
  PutStatus(outcome.chunk_error, &out);
  PutLittleEndian(outcome.source_error_seq, &out);
  PutStatus(outcome.source_error, &out);
  PutLittleEndian(static_cast<uint8_t>(outcome.invalid_without_figure), &out);
  PutLittleEndian(static_cast<uint64_t>(outcome.owned_inputs.size()), &out);
  for (const auto& [file, input] : outcome.owned_inputs) {
    PutLittleEndian(file, &out);
    PutText(input.path, &out);
    PutLittleEndian(input.bytes, &out);
    PutLittleEndian(static_cast<uint8_t>(input.format), &out);
    PutLittleEndian(static_cast<uint8_t>(input.synthetic), &out);
  }
  PutLittleEndian(static_cast<uint64_t>(outcome.accounts.size()), &out);
  for (const ChunkAccount& account : outcome.accounts) {
    PutLittleEndian(account.seq, &out);
    PutLittleEndian(account.file, &out);
    PutLittleEndian(static_cast<uint8_t>(account.scan | account.synthetic << 1), &out);
    PutLittleEndian(account.records, &out);
    for (uint64_t count : account.identity_fields) PutLittleEndian(count, &out);
    PutLittleEndian(static_cast<uint64_t>(account.examples.size()), &out);
    for (const CastRejectExample& example : account.examples) {
      PutLittleEndian(static_cast<uint8_t>(example.reason), &out);
      PutText(example.location, &out);
      PutText(example.why, &out);
    }
  }
  return out;
}

bool DecodeOutcome(absl::string_view in, size_t files, RankOutcome* outcome) {
  uint8_t flag = 0;
  uint64_t accounts = 0;
  if (!ConsumeLittleEndian(&in, &flag) || flag > 1) return false;
  outcome->chunk_failed = flag != 0;
  uint64_t owned = 0;
  if (!ConsumeLittleEndian(&in, &outcome->chunk_error_seq) ||
      !ConsumeStatus(&in, &outcome->chunk_error) ||
      !ConsumeLittleEndian(&in, &outcome->source_error_seq) ||
      !ConsumeStatus(&in, &outcome->source_error) || !ConsumeLittleEndian(&in, &flag) || flag > 1 ||
      !ConsumeLittleEndian(&in, &owned)) {
    return false;
  }
  outcome->invalid_without_figure = flag != 0;
  for (uint64_t i = 0; i < owned; ++i) {
    uint64_t file = 0;
    uint8_t format = 0, synthetic = 0;
    CvrInput input;
    if (!ConsumeLittleEndian(&in, &file) || file >= files || !ConsumeText(&in, &input.path) ||
        !ConsumeLittleEndian(&in, &input.bytes) || !ConsumeLittleEndian(&in, &format) ||
        format >= kNumCvrFormats || !ConsumeLittleEndian(&in, &synthetic) || synthetic > 1) {
      return false;
    }
    input.format = static_cast<CvrFormat>(format);
    input.synthetic = synthetic != 0;
    outcome->owned_inputs.emplace_back(file, std::move(input));
  }
  if (!ConsumeLittleEndian(&in, &accounts)) return false;
  for (uint64_t a = 0; a < accounts; ++a) {
    ChunkAccount account;
    uint8_t bits = 0;
    uint64_t examples = 0;
    if (!ConsumeLittleEndian(&in, &account.seq) || !ConsumeLittleEndian(&in, &account.file) ||
        account.file >= files || !ConsumeLittleEndian(&in, &bits) || bits > 3 ||
        !ConsumeLittleEndian(&in, &account.records)) {
      return false;
    }
    account.scan = (bits & 1) != 0;
    account.synthetic = (bits & 2) != 0;
    for (uint64_t& count : account.identity_fields) {
      if (!ConsumeLittleEndian(&in, &count)) return false;
    }
    if (!ConsumeLittleEndian(&in, &examples)) return false;
    for (uint64_t e = 0; e < examples; ++e) {
      CastRejectExample example;
      uint8_t reason = 0;
      if (!ConsumeLittleEndian(&in, &reason) || reason >= kNumCastRejects ||
          !ConsumeText(&in, &example.location) || !ConsumeText(&in, &example.why)) {
        return false;
      }
      example.reason = static_cast<CastReject>(reason);
      account.examples.push_back(std::move(example));
    }
    outcome->accounts.push_back(std::move(account));
  }
  return in.empty();
}

// Collective: every rank's outcome, combined as one process would have ended: the error of
// the first failed chunk in job order (whichever rank decoded it), else the error opening a
// file (the same on every rank that got that far), else every account applied in chunk
// order.
absl::Status CombineOutcomes(const RankGroup& ranks, const RankOutcome& mine,
                             uint32_t examples_per_reason, CvrJobResult* result) {
  const std::vector<std::string> all = ranks.AllGather(EncodeOutcome(mine));
  std::vector<RankOutcome> outcomes(all.size());
  for (size_t r = 0; r < all.size(); ++r) {
    if (!DecodeOutcome(all[r], result->inputs.size(), &outcomes[r])) {
      return absl::InternalError(
          absl::StrCat("rank ", r, " sent an outcome of the job that is not whole"));
    }
  }
  // Every error has its place in the job's order (a chunk's, or the file that failed to
  // open or scan): the first is the one a single process meets (it stops there).
  const absl::Status* first_error = nullptr;
  uint64_t first_key = 0;
  auto consider = [&](const absl::Status& error, uint64_t key) {
    if (error.ok() || (first_error != nullptr && key >= first_key)) return;
    first_error = &error;
    first_key = key;
  };
  for (const RankOutcome& outcome : outcomes) {
    if (outcome.chunk_failed) consider(outcome.chunk_error, outcome.chunk_error_seq);
    consider(outcome.source_error, outcome.source_error_seq);
  }
  if (first_error != nullptr) return *first_error;
  std::vector<ChunkAccount*> accounts;
  for (RankOutcome& outcome : outcomes) {
    result->invalid_without_figure |= outcome.invalid_without_figure;
    for (auto& [file, input] : outcome.owned_inputs) result->inputs[file] = std::move(input);
    for (ChunkAccount& account : outcome.accounts) accounts.push_back(&account);
  }
  std::sort(accounts.begin(), accounts.end(),
            [](const ChunkAccount* a, const ChunkAccount* b) { return a->seq < b->seq; });
  std::array<uint32_t, kNumCastRejects> examples_kept{};
  for (ChunkAccount* account : accounts) {
    ApplyAccount(*account, examples_per_reason, result, &examples_kept);
  }
  return absl::OkStatus();
}

absl::StatusOr<CvrFormat> FormatOf(const std::string& path, absl::string_view text) {
  const std::optional<CvrFormat> format = SniffCvrFormat(text.substr(0, 1 << 16));
  if (!format) {
    return absl::InvalidArgumentError(absl::StrCat(
        path,
        ": byte 0: not a NIST cast vote record report (expected a JSON object with a \"CVR\" "
        "array, or XML whose root is CastVoteRecordReport)"));
  }
  if (*format == CvrFormat::kDominionJson) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", CvrFormatName(*format), " is not supported by this build"));
  }
  return *format;
}

// The serial first stage: files in order. A file larger than a chunk is scanned here,
// chunk by chunk; a smaller one (most files of a folder of many) is handed on whole, to
// be scanned by the parallel stage, so that the serial stage only opens files.
class ChunkSource {
 public:
  // `open_here`: the files this process opens (null: all; a rank of several opens those
  // it reads, engine/ingest/cvr_job.h).
  ChunkSource(CvrTextOpener* opener, uint64_t chunk_bytes, std::vector<CvrInput>* inputs,
              const std::vector<bool>* open_here)
      : opener_(opener), chunk_bytes_(chunk_bytes), inputs_(inputs), open_here_(open_here) {
    inputs_->resize(opener->size());
  }

  // The next chunk, or nullptr at the end or on an error (then status() says which, and
  // error_key() where in the job's chunk order it arose).
  std::unique_ptr<Chunk> Next() {
    while (next_file_ <= opener_->size()) {
      if (scanner_ == nullptr) {
        while (open_here_ != nullptr && next_file_ < opener_->size() &&
               !(*open_here_)[next_file_]) {
          ++next_file_;
        }
        if (next_file_ == opener_->size()) return nullptr;
        std::unique_ptr<Chunk> whole;
        chunk_in_file_ = 0;
        if (absl::Status opened = OpenNext(&whole); !opened.ok()) {
          status_ = opened;
          error_key_ = ChunkKey(next_file_ - 1, 0);
          return nullptr;
        }
        if (whole != nullptr) {
          whole->seq = ChunkKey(whole->file, 0);
          return whole;
        }
      }
      auto chunk = std::make_unique<Chunk>();
      chunk->file = next_file_ - 1;
      chunk->seq = ChunkKey(chunk->file, chunk_in_file_);
      chunk->format = (*inputs_)[chunk->file].format;
      chunk->path = (*inputs_)[chunk->file].path;
      chunk->input = input_;
      input_->Prefault(scanned_);
      absl::StatusOr<bool> more = scanner_->Next(chunk_bytes_, &chunk->spans);
      if (more.ok() && !chunk->spans.empty()) scanned_ = chunk->spans.back().end;
      if (!more.ok()) {
        status_ = more.status();
        error_key_ = chunk->seq;
        return nullptr;
      }
      if (!*more) {
        (*inputs_)[chunk->file].synthetic = scanner_->Synthetic();
        scanner_.reset();
        input_.reset();
        chunk->last = true;
      }
      if (!chunk->spans.empty() || chunk->last) {
        ++chunk_in_file_;
        return chunk;
      }
    }
    return nullptr;
  }
  const absl::Status& status() const { return status_; }
  uint64_t error_key() const { return error_key_; }
  // Files opened so far.
  size_t opened() const { return next_file_; }

 private:
  // Opens the next file: a small one comes back whole in *whole, a larger one gets a
  // scanner here.
  absl::Status OpenNext(std::unique_ptr<Chunk>* whole) {
    CANVASS_ASSIGN_OR_RETURN(CvrText opened, opener_->Open(next_file_++));
    // The slot was sized before the job: the last stage reads earlier files' slots while
    // this one is written.
    CvrInput& slot = (*inputs_)[next_file_ - 1];
    slot = CvrInput{};
    slot.path = opened.path;
    slot.bytes = opened.input->text().size();
    slot.format = opened.format;
    if (slot.bytes <= chunk_bytes_) {
      *whole = std::make_unique<Chunk>();
      (*whole)->file = next_file_ - 1;
      (*whole)->format = opened.format;
      (*whole)->input = std::move(opened.input);
      (*whole)->last = true;
      (*whole)->scan = true;
      (*whole)->path = std::move(opened.path);
      return absl::OkStatus();
    }
    input_ = std::move(opened.input);
    scanner_ = NewCvrScanner(opened.format, opened.path, input_->text());
    scanned_ = 0;
    return absl::OkStatus();
  }

  CvrTextOpener* opener_;
  const uint64_t chunk_bytes_;
  std::vector<CvrInput>* inputs_;
  const std::vector<bool>* open_here_;
  size_t next_file_ = 0;
  uint64_t chunk_in_file_ = 0;
  uint64_t error_key_ = 0;
  std::shared_ptr<InputText> input_;
  std::unique_ptr<CvrScanner> scanner_;
  uint64_t scanned_ = 0;  // the end of the last record scanned in the current file
  absl::Status status_;
};

// Where a record lies, as examples name it (without the file, which the last stage adds);
// with its line and column when `line` (a pass over the file up to it: examples only).
std::string RecordLocation(const Chunk& chunk, absl::string_view text, const CvrSpan& span,
                           bool line) {
  const absl::string_view array = chunk.format == CvrFormat::kCvbContest     ? "record "
                                  : chunk.format == CvrFormat::kDominionJson ? "Sessions["
                                                                             : "CVR[";
  const bool text_format = chunk.format != CvrFormat::kCvbContest;
  return absl::StrCat(
      "byte ", span.begin,
      line && text_format ? absl::StrCat(" (", LineColumn(text, span.begin), ")") : "", ": ", array,
      span.index, text_format ? "]" : "");
}

void DecodeChunk(const CvrJobOptions& options, const DominionExport* dominion, Chunk* chunk,
                 Worker* worker, ContestAggregator* aggregator) {
  // What a supervisor names if this process dies here (engine/base/activity.h).
  SetActivity(chunk->spans.empty()
                  ? absl::StrCat("reading ", chunk->path)
                  : absl::StrCat("reading ", chunk->path, " (bytes ", chunk->spans.front().begin,
                                 " to ", chunk->spans.back().end, ")"));
  std::unique_ptr<CvrDecoder>& decoder = worker->decoders[static_cast<int>(chunk->format)];
  if (decoder == nullptr) {
    decoder = chunk->format == CvrFormat::kDominionJson ? NewDominionSessionDecoder(*dominion)
                                                        : NewCvrDecoder(chunk->format);
  }
  worker->batch.Clear();
  worker->builder.KeepTranscript(options.sink != nullptr);
  const absl::string_view text = chunk->input->text();
  std::array<uint64_t, kNumCastRejects> rejected{};
  uint64_t records = 0;
  // After builder.Begin() and the decoder's calls: one record's outcome.
  auto account = [&](const CvrSpan& span) {
    ++records;
    const std::optional<CastReject> reject = worker->builder.End(&worker->batch);
    if (!reject) {
      ++chunk->identity_fields[static_cast<int>(worker->builder.identity_field())];
      if (options.sink != nullptr) {
        options.sink->EncodeBallot(worker->builder.transcript(), &chunk->converted);
        ++chunk->converted_records;
      }
      return;
    }
    const int r = static_cast<int>(*reject);
    ++rejected[r];
    if (options.sink != nullptr) {
      if (options.sink->EncodeRejected(
              *reject, worker->builder.why(),
              absl::StrCat(chunk->path, ": ", RecordLocation(*chunk, text, span, false)),
              &chunk->converted)) {
        ++chunk->converted_records;
      } else {
        ++chunk->not_converted[r];
      }
    }
    if (chunk->examples_per_reason[r] < options.examples_per_reason) {
      ++chunk->examples_per_reason[r];
      chunk->examples.push_back(
          {*reject, RecordLocation(*chunk, text, span, true), worker->builder.why()});
    }
  };
  bool decoded = false;
  if (chunk->scan) {
    // A whole file: the decoder's one-pass path when it has one and the file is
    // well-formed; else (forgetting what it was told) the scan and record by record.
    decoded = decoder->DecodeFile(text, &worker->builder, account);
    if (!decoded) {
      worker->batch.Clear();
      rejected = {};
      records = 0;
      chunk->identity_fields = {};
      chunk->examples.clear();
      chunk->examples_per_reason = {};
      chunk->converted.clear();
      chunk->converted_records = 0;
      chunk->not_converted = {};
      std::unique_ptr<CvrScanner> scanner = NewCvrScanner(chunk->format, chunk->path, text);
      while (true) {
        absl::StatusOr<bool> more =
            scanner->Next(std::numeric_limits<uint64_t>::max(), &chunk->spans);
        if (!more.ok()) {
          chunk->error = more.status();
          chunk->spans.clear();
          return;
        }
        if (!*more) break;
      }
      chunk->synthetic = scanner->Synthetic();
    }
  }
  if (!decoded) {
    for (const CvrSpan& span : chunk->spans) {
      worker->builder.Begin();
      decoder->Decode(text, span, &worker->builder);
      account(span);
    }
  }
  chunk->records = records;
  aggregator->Add(worker->batch);
  for (int r = 0; r < kNumCastRejects; ++r) {
    if (rejected[r] > 0) aggregator->AddRejected(static_cast<CastReject>(r), rejected[r]);
  }
  MaybeCrashAt(CrashPoint::kChunkDone);
}

}  // namespace

// PlanFiles: the file is opened by every rank, which share its chunks out.
constexpr int kSharedFile = -1;

// Which rank opens each of the opener's files, for a job of `ranks` ranks. A file of at
// most half a rank's fair share of the bytes goes whole to one rank, which alone opens,
// scans and decodes it: largest first, to the rank with the fewest bytes so far (counting
// its part of the shared files). A larger file, and every file when a size is unknown
// (members of a zip, read in archive order), is shared: every rank opens and scans it and
// decodes every N-th of its chunks. A fixed function of the sizes and N.
std::vector<int> PlanFiles(const CvrTextOpener& opener, int ranks) {
  const size_t n = opener.size();
  std::vector<uint64_t> sizes(n);
  uint64_t total = 0;
  for (size_t f = 0; f < n; ++f) {
    const std::optional<uint64_t> size = opener.SizeHint(f);
    if (!size) return std::vector<int>(n, kSharedFile);
    sizes[f] = *size;
    total += *size;
  }
  const uint64_t whole_limit = total / (2 * static_cast<uint64_t>(ranks));
  std::vector<int> plan(n, kSharedFile);
  std::vector<uint64_t> load(static_cast<size_t>(ranks), 0);
  std::vector<size_t> order;
  for (size_t f = 0; f < n; ++f) {
    if (sizes[f] <= whole_limit) {
      order.push_back(f);
    } else {
      for (uint64_t& l : load) l += sizes[f] / static_cast<uint64_t>(ranks);
    }
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return sizes[a] > sizes[b]; });
  for (const size_t f : order) {
    const size_t to =
        static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    plan[f] = static_cast<int>(to);
    load[to] += sizes[f];
  }
  return plan;
}

absl::Status RunCvrJob(const ContestElection& election, const DominionExport* dominion,
                       CvrTextOpener* opener, const CvrJobOptions& options, CvrJobResult* result) {
  const RankGroup* ranks =
      options.ranks != nullptr && options.ranks->size() > 1 ? options.ranks : nullptr;
  CANVASS_CHECK(ranks == nullptr || options.sink == nullptr);
  const uint64_t num_ranks = ranks == nullptr ? 1 : static_cast<uint64_t>(ranks->size());
  const uint64_t rank = ranks == nullptr ? 0 : static_cast<uint64_t>(ranks->rank());
  ContestAggregator aggregator(election);
  // With ranks: which rank opens each file (kSharedFile: every rank, its chunks shared).
  const std::vector<int> plan =
      ranks == nullptr ? std::vector<int>() : PlanFiles(*opener, ranks->size());
  std::vector<bool> open_here;
  for (const int owner : plan) {
    open_here.push_back(owner == kSharedFile || owner == static_cast<int>(rank));
  }
  ChunkSource source(opener, options.chunk_bytes, &result->inputs,
                     ranks == nullptr ? nullptr : &open_here);
  tbb::enumerable_thread_specific<Worker> workers([&election] { return Worker(election); });
  std::array<uint32_t, kNumCastRejects> examples_kept{};
  RankOutcome outcome;       // with ranks: this rank's chunks, applied after the pipeline
  absl::Status first_error;  // of a file scanned by the parallel stage; the last stage's
  std::atomic<bool> failed{false};
  const int threads = ResolveThreads(options.threads);
  RunOnWorkers(threads, [&] {
    tbb::parallel_pipeline(
        static_cast<size_t>(threads) * 4,
        tbb::make_filter<void, Chunk*>(tbb::filter_mode::serial_in_order,
                                       [&](tbb::flow_control& flow) -> Chunk* {
                                         if (failed.load(std::memory_order_relaxed)) {
                                           flow.stop();
                                           return nullptr;
                                         }
                                         std::unique_ptr<Chunk> chunk = source.Next();
                                         if (chunk == nullptr) {
                                           flow.stop();
                                           return nullptr;
                                         }
                                         // A shared file's chunks go round the ranks,
                                         // from a rank that moves with the file.
                                         chunk->mine =
                                             ranks == nullptr || plan[chunk->file] != kSharedFile ||
                                             (chunk->seq + chunk->file) % num_ranks == rank;
                                         return chunk.release();
                                       }) &
            tbb::make_filter<Chunk*, Chunk*>(tbb::filter_mode::parallel,
                                             [&](Chunk* chunk) {
                                               if (chunk->mine) {
                                                 DecodeChunk(options, dominion, chunk,
                                                             &workers.local(), &aggregator);
                                               }
                                               return chunk;
                                             }) &
            tbb::make_filter<Chunk*, void>(tbb::filter_mode::serial_in_order, [&](Chunk* owned) {
              std::unique_ptr<Chunk> chunk(owned);
              const uint64_t end = chunk->spans.empty() ? 0 : chunk->spans.back().end;
              if (!chunk->mine) {
                chunk->input->DoneUpTo(end, chunk->last);
                return;
              }
              if (!chunk->error.ok() || !first_error.ok()) {
                // The first file in order whose scan failed ends the job (as a failure of
                // the serial scan would): later files are not accounted.
                if (first_error.ok()) {
                  first_error = chunk->error;
                  outcome.chunk_failed = true;
                  outcome.chunk_error_seq = chunk->seq;
                }
                failed.store(true, std::memory_order_relaxed);
                return;
              }
              ChunkAccount account = TakeAccount(chunk.get());
              if (ranks != nullptr) {
                outcome.accounts.push_back(std::move(account));
              } else {
                ApplyAccount(account, options.examples_per_reason, result, &examples_kept);
              }
              if (options.sink != nullptr) {
                for (int r = 0; r < kNumCastRejects; ++r) {
                  result->not_converted[r] += chunk->not_converted[r];
                }
                if (chunk->converted_records > 0) {
                  if (absl::Status written =
                          options.sink->Write(chunk->converted, chunk->converted_records);
                      !written.ok()) {
                    first_error = written;
                    failed.store(true, std::memory_order_relaxed);
                    return;
                  }
                }
              }
              chunk->input->DoneUpTo(end, chunk->last);
            }));
  });
  for (const Worker& worker : workers) {
    result->invalid_without_figure |= worker.builder.invalid_without_figure();
  }
  if (ranks != nullptr) {
    SetActivity("sending the job's accounts and identities to the other ranks");
    outcome.chunk_error = first_error;
    outcome.source_error = source.status();
    outcome.source_error_seq = source.error_key();
    for (size_t f = 0; f < std::min(source.opened(), plan.size()); ++f) {
      if (plan[f] == static_cast<int>(rank))
        outcome.owned_inputs.emplace_back(f, result->inputs[f]);
    }
    outcome.invalid_without_figure = result->invalid_without_figure;
    CANVASS_RETURN_IF_ERROR(CombineOutcomes(*ranks, outcome, options.examples_per_reason, result));
  } else {
    // A failed scan of the parallel stage is of a file before any the serial stage failed
    // to open (those were in flight when it stopped).
    CANVASS_RETURN_IF_ERROR(first_error);
    CANVASS_RETURN_IF_ERROR(source.status());
  }
  result->inputs.resize(source.opened());
  CANVASS_ASSIGN_OR_RETURN(result->tally, aggregator.Finish(ranks));
  return absl::OkStatus();
}

namespace {

// The files of a NIST job, each mapped and its syntax recognised.
class FileOpener final : public CvrTextOpener {
 public:
  explicit FileOpener(const std::vector<std::string>& files) : files_(files) {}
  size_t size() const override { return files_.size(); }
  std::optional<uint64_t> SizeHint(size_t i) const override { return FileSizeHint(files_[i]); }
  absl::StatusOr<CvrText> Open(size_t i) override {
    CvrText text;
    text.path = files_[i];
    CANVASS_ASSIGN_OR_RETURN(text.input, MapInputFile(text.path));
    CANVASS_ASSIGN_OR_RETURN(text.format, FormatOf(text.path, text.input->text()));
    return text;
  }

 private:
  const std::vector<std::string>& files_;
};

}  // namespace

absl::StatusOr<CvrJobResult> ReadCvrFiles(const ContestElection& election,
                                          const std::vector<std::string>& paths,
                                          const CvrJobOptions& options) {
  ExpandedPaths expanded;
  CANVASS_RETURN_IF_ERROR(ExpandPaths(paths, &CvrSuffixes(), &expanded));
  CvrJobResult result;
  result.skipped = std::move(expanded.skipped);
  result.repeated = std::move(expanded.repeated);
  FileOpener opener(expanded.files);
  CANVASS_RETURN_IF_ERROR(RunCvrJob(election, nullptr, &opener, options, &result));
  return result;
}

absl::StatusOr<bool> PathsHoldCvrReports(const std::vector<std::string>& paths) {
  ExpandedPaths expanded;
  CANVASS_RETURN_IF_ERROR(ExpandPaths(paths, &CvrSuffixes(), &expanded));
  // A stream (a pipe, a FIFO, a device) is never opened here: opening it would wait for
  // its writer, and reading it would take what the job that reads it needs. Streams are
  // ballot files (engine/ingest/streams.h).
  struct stat info {};
  if (stat(expanded.files.front().c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return false;
  CANVASS_ASSIGN_OR_RETURN(std::shared_ptr<InputText> input, MapInputFile(expanded.files.front()));
  return SniffCvrFormat(input->text().substr(0, 1 << 16)).has_value();
}

bool CvrInputsMarkInvalid(const std::vector<std::string>& paths) {
  // A path, file or header this cannot read is left to the job, which says what is wrong
  // with it where it reads it (the same message whether or not this looked first).
  ExpandedPaths expanded;
  if (!ExpandPaths(paths, &CvrSuffixes(), &expanded).ok()) return false;
  for (const std::string& path : expanded.files) {
    struct stat info;  // a stream is read once, by the job, never here
    if (stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) continue;
    // The fixed part of a cvb header first, with one read: a folder of many NIST reports
    // costs an open and a few bytes each, and only a cvb file is mapped to read the rest.
    char head[kCvbContestHeaderBytes];
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    const ssize_t got = pread(fd, head, sizeof(head), 0);
    close(fd);
    if (got != static_cast<ssize_t>(sizeof(head)) ||
        !LooksLikeContestCvb(absl::string_view(head, sizeof(head)))) {
      continue;
    }
    absl::StatusOr<std::shared_ptr<InputText>> input = MapInputFile(path);
    if (!input.ok()) continue;
    const absl::StatusOr<ContestCvbHeader> header = ReadContestCvbHeader(path, (*input)->text());
    if (header.ok() && header->invalid_figure) return true;
  }
  return false;
}

absl::StatusOr<ContestElection> ElectionOfCvrReports(const std::vector<std::string>& paths) {
  ExpandedPaths expanded;
  CANVASS_RETURN_IF_ERROR(ExpandPaths(paths, &CvrSuffixes(), &expanded));
  const std::string& path = expanded.files.front();
  CANVASS_ASSIGN_OR_RETURN(std::shared_ptr<InputText> input, MapInputFile(path));
  CANVASS_ASSIGN_OR_RETURN(const CvrFormat format, FormatOf(path, input->text()));
  std::unique_ptr<CvrScanner> scanner = NewCvrScanner(format, path, input->text());
  std::vector<CvrSpan> spans;
  while (true) {
    spans.clear();
    CANVASS_ASSIGN_OR_RETURN(const bool more, scanner->Next(uint64_t{64} << 20, &spans));
    if (!more) break;
  }
  const std::string definition = scanner->Definition();
  // The `invalid` figure where the report's Notes or a cvb header declare it
  // (CvrInputsMarkInvalid); records that mark a contest invalid add it when the job reads
  // them (ReadShowingInvalid).
  const bool invalid_figure = scanner->DeclaresInvalidFigure() || CvrInputsMarkInvalid(paths);
  if (definition.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path,
                     ": the report defines no election (no Election and GpUnit); give the results "
                     "report with --reported or --election"));
  }
  return ParseCvrElectionJson(absl::StrCat(path, " (its Election and GpUnit)"), definition,
                              invalid_figure);
}

}  // namespace canvass
