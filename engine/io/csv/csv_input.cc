// The ballot CSV format as an InputFormat: ranges, whole-file hashing steps, line numbers.
#include "engine/io/csv/csv_input.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "engine/io/csv/csv_format.h"

namespace canvass {
namespace {

class CsvReader : public RangeReader {
 public:
  CsvReader(const Election& election, BallotSink* sink)
      : parser_(election, [sink](const BatchView& batch) { sink->Add(batch); }) {
    parser_.SetMixedSink([sink](const MixedBatchView& batch) { sink->AddMixed(batch); });
  }
  CsvRangeParser& parser() { return parser_; }

 private:
  CsvRangeParser parser_;
};

// Appends `csv`'s malformed lines, `line_offset` lines into the range, up to the limit.
void AppendMalformed(const CsvRangeResult& csv, uint64_t line_offset, RangeReading* reading) {
  for (uint64_t line : csv.malformed_lines) {
    if (reading->malformed_at.size() >= RangeReading::kMaxMalformedExamples) return;
    reading->malformed_at.push_back(line_offset + line);
  }
}

class CsvInput : public OpenedInput {
 public:
  CsvInput(const uint8_t* data, size_t size, absl::StatusOr<size_t> header)
      : data_(data), size_(size) {
    if (header.ok()) {
      records_begin_ = *header;
    } else {
      damage_ = header.status();
    }
  }

  uint64_t FirstRecordLine() const override { return 2; }  // line 1 is the header

  std::vector<InputRange> PlanRanges(uint64_t range_bytes, bool whole) const override {
    std::vector<InputRange> ranges;
    if (!damage_.ok()) return ranges;
    const uint64_t step = whole ? size_ + 1 : std::max<uint64_t>(range_bytes, 1);
    for (uint64_t begin = records_begin_; begin < size_ || begin == records_begin_; begin += step) {
      ranges.push_back({begin, std::min<uint64_t>(size_, begin + step), begin == records_begin_});
      if (begin >= size_) break;
    }
    return ranges;
  }

  void ReadRange(const InputRange& range, RangeReader& reader, FileHasher* hasher,
                 RangeContext& context, RangeReading* reading) const override {
    CsvRangeParser& parser = static_cast<CsvReader&>(reader).parser();
    // A record longer than the range (one line of a gigabyte) gives its bytes back to the
    // job as it is read, not only at its end (hardening #8). Bytes told twice only make
    // the job drop pages sooner.
    parser.SetScannedHook([&context](size_t begin, size_t end) { context.Done(begin, end); });
    if (hasher != nullptr) {
      ReadHashed(range, parser, *hasher, context, reading);
      parser.SetScannedHook(nullptr);
      return;
    }
    CsvRangeResult csv = parser.Parse(data_, size_, range.begin, range.end, range.first);
    parser.SetScannedHook(nullptr);
    parser.Flush();
    reading->begin = csv.begin;
    reading->end = csv.end;
    reading->line_breaks = csv.line_breaks;
    reading->records = csv.records;
    reading->malformed = csv.malformed;
    reading->malformed_at = std::move(csv.malformed_lines);
    context.sink().AddMalformed(csv.malformed);
    context.Progress(csv.end - csv.begin, csv.records);
    context.Done(range.begin, csv.end);
  }

 private:
  // The whole file as one range: steps small enough to stay in cache are hashed and then
  // parsed, each step starting where the last one's records ended, so that the records
  // are exactly those of one range over the file.
  void ReadHashed(const InputRange& range, CsvRangeParser& parser, FileHasher& hasher,
                  RangeContext& context, RangeReading* reading) const {
    constexpr size_t kStep = 256u << 10;  // hashed, then parsed from cache
    hasher.Update(data_, range.begin);    // the header
    size_t hashed = range.begin, done = 0, p = range.begin;
    reading->begin = p;
    do {
      const size_t step_end = std::min(size_, p + kStep);
      if (step_end > hashed) {
        hasher.Update(data_ + hashed, step_end - hashed);
        hashed = step_end;
      }
      const CsvRangeResult csv = parser.Parse(data_, size_, p, step_end, /*first_range=*/true);
      AppendMalformed(csv, reading->line_breaks, reading);
      reading->line_breaks += csv.line_breaks;
      reading->records += csv.records;
      reading->malformed += csv.malformed;
      context.sink().AddMalformed(csv.malformed);
      context.Progress(csv.end - p, csv.records);
      p = csv.end;
      context.Done(done, p);
      done = p;
    } while (p < size_);
    parser.Flush();
    reading->end = p;
    if (hashed < size_) hasher.Update(data_ + hashed, size_ - hashed);
    context.Done(done, size_);
  }

  const uint8_t* data_;
  size_t size_;
  size_t records_begin_ = 0;
};

class CsvFormat : public InputFormat {
 public:
  absl::string_view name() const override { return "csv"; }
  absl::string_view suffix() const override { return "csv"; }
  LocationKind location_kind() const override { return LocationKind::kLine; }
  // The fallback format: every file not recognised by another is read as CSV.
  bool Recognizes(const uint8_t*, size_t) const override { return true; }
  absl::StatusOr<std::unique_ptr<OpenedInput>> Open(const std::string& path, const uint8_t* data,
                                                    size_t size, const Election&,
                                                    uint64_t) const override {
    return std::make_unique<CsvInput>(data, size, CheckCsvHeader(path, data, size));
  }
  std::unique_ptr<RangeReader> NewReader(const Election& election,
                                         BallotSink* sink) const override {
    return std::make_unique<CsvReader>(election, sink);
  }
};

}  // namespace

const InputFormat& CsvInputFormat() {
  static const CsvFormat* const kFormat = new CsvFormat;
  return *kFormat;
}

}  // namespace canvass
