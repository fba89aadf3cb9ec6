// The cvb format as an InputFormat: block-aligned ranges, per-block verification and hashing.
#include "engine/io/cvb/cvb_input.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "engine/base/status_macros.h"

namespace canvass {
namespace {

class CvbReader : public RangeReader {};  // cvb needs no per-thread scratch

class CvbInput : public OpenedInput {
 public:
  CvbInput(std::string path, const uint8_t* data, size_t size, CvbLayout layout,
           const Election& election)
      : path_(std::move(path)),
        data_(data),
        size_(size),
        layout_(std::move(layout)),
        num_stations_(static_cast<uint32_t>(election.stations.size())),
        num_choices_(static_cast<uint32_t>(election.contest().choices.size())) {
    damage_ = layout_.damage;
  }

  std::optional<uint64_t> DeclaredRecords() const override {
    if (!layout_.trailer_intact) return std::nullopt;
    return layout_.declared_records;
  }

  // The whole file, or groups of consecutive blocks of about range_bytes, each range from
  // its first block's offset to the next group's.
  std::vector<InputRange> PlanRanges(uint64_t range_bytes, bool whole) const override {
    const std::vector<CvbBlockRef>& blocks = layout_.blocks;
    if (whole) return {InputRange{0, size_, true}};
    std::vector<InputRange> ranges;
    for (size_t first = 0; first < blocks.size();) {
      size_t last = first;
      uint64_t bytes = 0;
      while (last < blocks.size() && (last == first || bytes < range_bytes)) {
        bytes += blocks[last].bytes;
        ++last;
      }
      const uint64_t end =
          last < blocks.size() ? blocks[last].offset : blocks.back().offset + blocks.back().bytes;
      ranges.push_back({blocks[first].offset, end, first == 0});
      first = last;
    }
    return ranges;
  }

  void ReadRange(const InputRange& range, RangeReader&, FileHasher* hasher, RangeContext& context,
                 RangeReading* reading) const override {
    const std::vector<CvbBlockRef>& blocks = layout_.blocks;
    auto starts_before = [](const CvbBlockRef& block, uint64_t at) { return block.offset < at; };
    const auto first = std::lower_bound(blocks.begin(), blocks.end(), range.begin, starts_before);
    const auto last = std::lower_bound(first, blocks.end(), range.end, starts_before);
    reading->begin = range.begin;
    reading->end = range.end;
    size_t hashed = 0;
    for (auto block = first; block != last; ++block) {
      if (hasher != nullptr) {
        hasher->Update(data_ + hashed, block->offset + block->bytes - hashed);
        hashed = block->offset + block->bytes;
      }
      ReadBlock(*block, context, reading);
    }
    if (hasher != nullptr) hasher->Update(data_ + hashed, size_ - hashed);
    context.Done(range.begin, range.end);
  }

 private:
  // Verifies one block straight over the mapping, then counts it while it is in cache.
  void ReadBlock(const CvbBlockRef& block, RangeContext& context, RangeReading* reading) const {
    CvbBlockView view;
    const absl::Status status =
        VerifyCvbBlock(path_, data_, block, num_stations_, num_choices_, &view);
    if (!status.ok()) {
      // A block that fails its checksum is lost; the blocks around it verify on their own.
      if (reading->damage.empty()) {
        reading->damage = std::string(status.message());
        reading->damage_offset = block.offset;
      }
      return;
    }
    AggregateCvbBlock(view, &context.sink());
    context.sink().AddMalformed(view.malformed);
    reading->records += view.records + view.malformed;
    reading->malformed += view.malformed;
    // The examples are the byte offsets of blocks holding damaged records.
    if (view.malformed > 0 && reading->malformed_at.size() < RangeReading::kMaxMalformedExamples) {
      reading->malformed_at.push_back(block.offset);
    }
    context.Progress(block.bytes, view.records + view.malformed);
  }

  std::string path_;
  const uint8_t* data_;
  size_t size_;
  CvbLayout layout_;
  uint32_t num_stations_, num_choices_;
};

class CvbFormat : public InputFormat {
 public:
  absl::string_view name() const override { return "cvb"; }
  absl::string_view suffix() const override { return "cvb"; }
  LocationKind location_kind() const override { return LocationKind::kByte; }
  bool Recognizes(const uint8_t* data, size_t size) const override {
    return LooksLikeCvb(data, size);
  }
  absl::StatusOr<std::unique_ptr<OpenedInput>> Open(const std::string& path, const uint8_t* data,
                                                    size_t size, const Election& election,
                                                    uint64_t fingerprint) const override {
    CANVASS_ASSIGN_OR_RETURN(CvbLayout layout, ScanCvb(path, data, size, fingerprint));
    return std::make_unique<CvbInput>(path, data, size, std::move(layout), election);
  }
  std::unique_ptr<RangeReader> NewReader(const Election&, BallotSink*) const override {
    return std::make_unique<CvbReader>();
  }
};

}  // namespace

const InputFormat& CvbInputFormat() {
  static const CvbFormat* const kFormat = new CvbFormat;
  return *kFormat;
}

void AggregateCvbBlock(const CvbBlockView& block, BallotSink* sink) {
  const CvbBlockEncoding& encoding = block.encoding;
  const bool packed = encoding.choices == CvbChoiceEncoding::kPacked;
  if (encoding.serials == CvbSerialEncoding::kRun) {
    if (packed) {
      sink->AddRun(block.station, block.first_serial, block.records, block.packed_choices,
                   encoding.choice_bits);
    } else {
      sink->AddRun(block.station, block.first_serial, block.records, block.choices);
    }
    return;
  }
  if (!packed) {
    sink->Add(block.AsBatch());
    return;
  }
  thread_local BallotBatch batch;
  ExpandCvbBlock(block, &batch);
  sink->Add(batch.View());
}

}  // namespace canvass
