// Encoding and decoding of cvb files (see docs/FORMAT.md for the grammar).
#include "engine/io/cvb/cvb_format.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "engine/ballot/packed_choices.h"
#include "engine/base/bytes.h"
#include "engine/base/check.h"
#include "engine/base/xxhash.h"

namespace canvass {
namespace {

// The format is little-endian (engine/base/bytes.h).
template <typename T>
void Put(T value, std::string* out) {
  PutLittleEndian(value, out);
}

template <typename T>
T Get(const uint8_t* data) {
  return LoadLittleEndian<T>(data);
}

size_t Padding(uint32_t records) { return (8 - records % 8) % 8; }

absl::Status Damage(absl::string_view file, uint64_t offset, absl::string_view what) {
  return absl::DataLossError(absl::StrCat(file, ": byte ", offset, ": ", what));
}

}  // namespace

uint64_t ElectionFingerprint(const Election& election) {
  std::string identity = "canvass-election-v1";
  identity.push_back('\0');
  absl::StrAppend(&identity, election.id, std::string(1, '\0'));
  for (const Choice& choice : election.contest().choices) {
    absl::StrAppend(&identity, choice.code, std::string(1, '\0'));
  }
  for (const Station& station : election.stations) {
    absl::StrAppend(&identity, station.id, std::string(1, '\0'));
    Put<uint64_t>(station.capacity, &identity);
  }
  return XXH3_64bits(identity.data(), identity.size());
}

size_t CvbBlockBytesV1(uint32_t records) {
  return kCvbBlockHeaderBytesV1 + 9 * size_t{records} + Padding(records) + 8;
}

size_t CvbBlockBytes(uint32_t records, CvbBlockEncoding encoding) {
  const size_t serial_bytes = encoding.serials == CvbSerialEncoding::kRun ? 8 : 8 * size_t{records};
  const size_t choice_bytes = encoding.choices == CvbChoiceEncoding::kPacked
                                  ? 8 * PackedWords(records, encoding.choice_bits)
                                  : records + Padding(records);
  return kCvbBlockHeaderBytes + serial_bytes + choice_bytes + 8;
}

void AppendCvbHeader(uint64_t fingerprint, std::string* out, uint16_t version) {
  const size_t start = out->size();
  out->append(kCvbMagic, sizeof(kCvbMagic));
  Put<uint16_t>(version, out);
  Put<uint16_t>(kCvbHeaderBytes, out);
  Put<uint32_t>(0, out);
  Put<uint64_t>(fingerprint, out);
  Put<uint64_t>(XXH3_64bits(out->data() + start, 24), out);
}

namespace {

bool IsRun(const BallotBatch& batch) {
  const size_t n = batch.size();
  if (n == 0) return false;
  const uint64_t first = batch.seq[0];
  if (first > UINT64_MAX - (n - 1)) return false;
  bool consecutive = true;
  for (size_t i = 0; i < n; ++i) consecutive &= batch.seq[i] == first + i;
  return consecutive;
}

uint32_t StationField(const BallotBatch& batch) {
  return batch.station == kUnknownStation ? kCvbNoStation : batch.station;
}

}  // namespace

CvbBlockEncoding ChooseCvbEncoding(const BallotBatch& batch, uint32_t num_choices) {
  CvbBlockEncoding encoding;
  if (batch.size() == 0) return encoding;
  if (IsRun(batch)) encoding.serials = CvbSerialEncoding::kRun;
  const ChoiceIndex max_choice = *std::max_element(batch.choice.begin(), batch.choice.end());
  if (max_choice < std::min<uint32_t>(num_choices, kMaxPackedValues)) {
    encoding.choices = CvbChoiceEncoding::kPacked;
    encoding.choice_bits = PackedWidthFor(max_choice);
  }
  return encoding;
}

void AppendCvbBlock(const BallotBatch& batch, uint32_t malformed, uint32_t num_choices,
                    std::string* out) {
  AppendCvbBlock(batch, malformed, ChooseCvbEncoding(batch, num_choices), out);
}

void AppendCvbBlock(const BallotBatch& batch, uint32_t malformed, CvbBlockEncoding encoding,
                    std::string* out) {
  CANVASS_CHECK(batch.size() <= kCvbMaxBlockRecords && batch.choice.size() == batch.size());
  const uint32_t records = static_cast<uint32_t>(batch.size());
  const size_t bytes = CvbBlockBytes(records, encoding);
  const size_t start = out->size();
  Put<uint32_t>(kCvbBlockMagic, out);
  Put<uint32_t>(StationField(batch), out);
  Put<uint32_t>(records, out);
  Put<uint32_t>(malformed, out);
  Put<uint32_t>(static_cast<uint32_t>(bytes), out);
  Put<uint8_t>(static_cast<uint8_t>(encoding.serials), out);
  Put<uint8_t>(static_cast<uint8_t>(encoding.choices), out);
  Put<uint8_t>(static_cast<uint8_t>(encoding.choice_bits), out);
  Put<uint8_t>(0, out);
  if (encoding.serials == CvbSerialEncoding::kRun) {
    CANVASS_CHECK(records == 0 || IsRun(batch));
    Put<uint64_t>(records == 0 ? 0 : batch.seq[0], out);
  } else {
    out->append(reinterpret_cast<const char*>(batch.seq.data()), 8 * size_t{records});
  }
  if (encoding.choices == CvbChoiceEncoding::kPacked) {
    CANVASS_CHECK(IsPackedWidth(encoding.choice_bits));
    std::vector<uint64_t> words(PackedWords(records, encoding.choice_bits));
    PackChoices(batch.choice.data(), records, encoding.choice_bits, words.data());
    out->append(reinterpret_cast<const char*>(words.data()), 8 * words.size());
  } else {
    CANVASS_CHECK(encoding.choice_bits == 8);
    out->append(reinterpret_cast<const char*>(batch.choice.data()), records);
    out->append(Padding(records), '\0');
  }
  Put<uint64_t>(XXH3_64bits(out->data() + start, out->size() - start), out);
  CANVASS_CHECK(out->size() - start == bytes);
}

void AppendCvbBlockV1(const BallotBatch& batch, uint32_t malformed, std::string* out) {
  CANVASS_CHECK(batch.size() <= kCvbMaxBlockRecords && batch.choice.size() == batch.size());
  const uint32_t records = static_cast<uint32_t>(batch.size());
  const size_t start = out->size();
  Put<uint32_t>(kCvbBlockMagicV1, out);
  Put<uint32_t>(StationField(batch), out);
  Put<uint32_t>(records, out);
  Put<uint32_t>(malformed, out);
  out->append(reinterpret_cast<const char*>(batch.seq.data()), 8 * size_t{records});
  out->append(reinterpret_cast<const char*>(batch.choice.data()), records);
  out->append(Padding(records), '\0');
  Put<uint64_t>(XXH3_64bits(out->data() + start, out->size() - start), out);
  CANVASS_CHECK(out->size() - start == CvbBlockBytesV1(records));
}

void AppendCvbTrailer(uint32_t blocks, uint64_t records, std::string* out) {
  const size_t start = out->size();
  Put<uint32_t>(kCvbTrailerMagic, out);
  Put<uint32_t>(blocks, out);
  Put<uint64_t>(records, out);
  Put<uint64_t>(XXH3_64bits(out->data() + start, 16), out);
}

bool LooksLikeCvb(const uint8_t* data, size_t size) {
  return size >= sizeof(kCvbMagic) && std::memcmp(data, kCvbMagic, sizeof(kCvbMagic)) == 0;
}

namespace {

// The largest block a version 2 file can hold: every column plain.
constexpr size_t kCvbMaxBlockBytes = kCvbBlockHeaderBytes + 9 * size_t{kCvbMaxBlockRecords} + 8;

// Walks the blocks from `offset` into `layout`; returns the trailer's offset, or nothing
// with layout->damage set.
std::optional<uint64_t> ScanBlocks(absl::string_view file, const uint8_t* data, size_t size,
                                   uint64_t offset, CvbLayout* layout, uint64_t* records) {
  const bool v1 = layout->version == 1;
  const uint32_t block_magic = v1 ? kCvbBlockMagicV1 : kCvbBlockMagic;
  const size_t header_bytes = v1 ? kCvbBlockHeaderBytesV1 : kCvbBlockHeaderBytes;
  while (true) {
    if (offset + 4 > size) {
      layout->damage = Damage(file, offset, "truncated: expected a block or the trailer");
      return std::nullopt;
    }
    const uint32_t magic = Get<uint32_t>(data + offset);
    if (magic == kCvbTrailerMagic) return offset;
    if (magic != block_magic) {
      layout->damage = Damage(
          file, offset,
          absl::StrCat("expected a block (\"BLK\\x0", layout->version, "\") or the trailer"));
      return std::nullopt;
    }
    if (offset + header_bytes > size) {
      layout->damage = Damage(file, offset, "truncated inside a block header");
      return std::nullopt;
    }
    const uint32_t count = Get<uint32_t>(data + offset + 8);
    if (count > kCvbMaxBlockRecords) {
      layout->damage =
          Damage(file, offset + 8,
                 absl::StrCat("block record count ", count, " exceeds ", kCvbMaxBlockRecords));
      return std::nullopt;
    }
    // Damaged records are counted, not stored; a block accounts for at most one batch of
    // records read, so that a 32-byte block cannot claim billions of them.
    const uint32_t malformed = Get<uint32_t>(data + offset + 12);
    if (malformed > kCvbMaxBlockRecords) {
      layout->damage = Damage(
          file, offset + 12,
          absl::StrCat("block malformed count ", malformed, " exceeds ", kCvbMaxBlockRecords));
      return std::nullopt;
    }
    const size_t bytes = v1 ? CvbBlockBytesV1(count) : Get<uint32_t>(data + offset + 16);
    if (bytes % 8 != 0 || bytes < header_bytes + 8 || bytes > kCvbMaxBlockBytes) {
      layout->damage = Damage(file, offset + 16,
                              absl::StrCat("block size ", bytes, " is not a multiple of 8 in ",
                                           header_bytes + 8, "..", kCvbMaxBlockBytes));
      return std::nullopt;
    }
    if (offset + bytes > size) {
      layout->damage = Damage(file, offset,
                              absl::StrCat("truncated: the block needs ", bytes,
                                           " bytes, the file ends at byte ", size));
      return std::nullopt;
    }
    layout->blocks.push_back({offset, count, static_cast<uint32_t>(bytes)});
    *records += count + malformed;
    offset += bytes;
  }
}

}  // namespace

absl::StatusOr<CvbLayout> ScanCvb(absl::string_view file, const uint8_t* data, size_t size,
                                  uint64_t fingerprint) {
  if (!LooksLikeCvb(data, size)) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": byte 0: not a ballot file: expected the cvb magic \"CVBALLOT\""));
  }
  CvbLayout layout;
  if (size < kCvbHeaderBytes) {
    layout.damage = Damage(file, size, "truncated inside the 32-byte header");
    return layout;
  }
  if (Get<uint64_t>(data + 24) != XXH3_64bits(data, 24)) {
    layout.damage = Damage(file, 24, "header checksum mismatch");
    return layout;
  }
  const uint16_t version = Get<uint16_t>(data + 8);
  if (version < kCvbOldestVersion || version > kCvbVersion) {
    return absl::InvalidArgumentError(absl::StrCat(
        file, ": byte 8: cvb version ", version, " is not supported; this build reads versions ",
        kCvbOldestVersion, " to ", kCvbVersion, " (and 3, contest ballots, as a CVR input)"));
  }
  layout.version = version;
  // Fields the grammar fixes (docs/FORMAT.md): a header that sums right but holds other
  // values was not written by a cvb writer of these versions.
  if (Get<uint16_t>(data + 10) != kCvbHeaderBytes) {
    layout.damage = Damage(file, 10,
                           absl::StrCat("header_bytes is ", Get<uint16_t>(data + 10),
                                        "; the cvb grammar fixes it at ", kCvbHeaderBytes));
    return layout;
  }
  if (Get<uint32_t>(data + 12) != 0) {
    layout.damage = Damage(file, 12,
                           absl::StrCat("reserved header field is ", Get<uint32_t>(data + 12),
                                        "; the cvb grammar fixes it at 0"));
    return layout;
  }
  if (Get<uint64_t>(data + 16) != fingerprint) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": byte 16: election fingerprint ", absl::Hex(Get<uint64_t>(data + 16)),
                     " does not match this election's ", absl::Hex(fingerprint),
                     ": the file was written for another election (or another --scale)"));
  }
  uint64_t records = 0;
  const std::optional<uint64_t> trailer =
      ScanBlocks(file, data, size, kCvbHeaderBytes, &layout, &records);
  if (!trailer) return layout;
  const uint64_t offset = *trailer;
  if (offset + kCvbTrailerBytes > size) {
    layout.damage = Damage(file, offset, "truncated inside the trailer");
    return layout;
  }
  if (Get<uint64_t>(data + offset + 16) != XXH3_64bits(data + offset, 16)) {
    layout.damage = Damage(file, offset + 16, "trailer checksum mismatch");
    return layout;
  }
  layout.declared_records = Get<uint64_t>(data + offset + 8);
  if (Get<uint32_t>(data + offset + 4) != layout.blocks.size() ||
      layout.declared_records != records) {
    layout.damage =
        Damage(file, offset,
               absl::StrCat("trailer declares ", Get<uint32_t>(data + offset + 4), " blocks and ",
                            layout.declared_records, " records; the file holds ",
                            layout.blocks.size(), " blocks and ", records, " records"));
    return layout;
  }
  layout.trailer_intact = true;
  if (offset + kCvbTrailerBytes != size) {
    layout.damage = Damage(file, offset + kCvbTrailerBytes, "unexpected bytes after the trailer");
  }
  return layout;
}

BatchView CvbBlockView::AsBatch() const {
  CANVASS_CHECK(encoding.serials == CvbSerialEncoding::kPlain &&
                encoding.choices == CvbChoiceEncoding::kPlain);
  return BatchView{station, serials, choices, records};
}

namespace {

// Checks a version 2 block's encodings against its size and contents (its checksum has
// verified) and points `view` at its columns.
absl::Status VerifyEncodings(absl::string_view file, const uint8_t* base, CvbBlockRef block,
                             uint32_t num_choices, CvbBlockView* view) {
  const uint8_t serials = base[20], choices = base[21], bits = base[22], reserved = base[23];
  const bool known = serials <= 1 && reserved == 0 &&
                     ((choices == 0 && bits == 8) || (choices == 1 && IsPackedWidth(bits)));
  if (!known) {
    return Damage(file, block.offset,
                  absl::StrCat("unknown block encoding (serials ", serials, ", choices ", choices,
                               ", bits ", bits, ", reserved ", reserved, ")"));
  }
  CvbBlockEncoding& encoding = view->encoding;
  encoding.serials = static_cast<CvbSerialEncoding>(serials);
  encoding.choices = static_cast<CvbChoiceEncoding>(choices);
  encoding.choice_bits = bits;
  if (block.bytes != CvbBlockBytes(block.records, encoding)) {
    return Damage(file, block.offset,
                  absl::StrCat("block size ", block.bytes, " disagrees with its encodings (",
                               CvbBlockBytes(block.records, encoding), " bytes)"));
  }
  const uint8_t* column = base + kCvbBlockHeaderBytes;
  // Blocks start 8-byte aligned in a page-aligned mapping (header and block sizes are
  // multiples of 8), so the columns can be read in place.
  CANVASS_CHECK(reinterpret_cast<uintptr_t>(column) % alignof(uint64_t) == 0);
  if (encoding.serials == CvbSerialEncoding::kRun) {
    view->first_serial = Get<uint64_t>(column);
    if (block.records > 0 && view->first_serial > UINT64_MAX - (block.records - 1)) {
      return Damage(file, block.offset,
                    absl::StrCat("a run of ", block.records, " serials from ", view->first_serial,
                                 " passes 2^64 - 1"));
    }
    column += 8;
  } else {
    view->serials = reinterpret_cast<const uint64_t*>(column);
    column += 8 * size_t{block.records};
  }
  if (encoding.choices == CvbChoiceEncoding::kPlain) {
    view->choices = column;
    for (size_t i = block.records; i < block.records + Padding(block.records); ++i) {
      if (column[i] != 0) return Damage(file, block.offset, "nonzero padding after the choices");
    }
    return absl::OkStatus();
  }
  view->packed_choices = reinterpret_cast<const uint64_t*>(column);
  if (!PackedPaddingIsZero(view->packed_choices, block.records, bits)) {
    return Damage(file, block.offset, "nonzero bits after the last packed choice");
  }
  uint64_t counts[kMaxPackedValues] = {};
  CountPackedChoices(view->packed_choices, block.records, bits, counts);
  for (uint32_t value = num_choices; value < (1u << bits); ++value) {
    if (counts[value] != 0) {
      return Damage(file, block.offset,
                    absl::StrCat("packed choice ", value, " is not below the contest's ",
                                 num_choices, " choices"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status VerifyCvbBlock(absl::string_view file, const uint8_t* data, CvbBlockRef block,
                            uint32_t num_stations, uint32_t num_choices, CvbBlockView* view) {
  const uint8_t* base = data + block.offset;
  const size_t body = block.bytes - 8;
  if (Get<uint64_t>(base + body) != XXH3_64bits(base, body)) {
    return Damage(file, block.offset, "block checksum mismatch");
  }
  const uint32_t station = Get<uint32_t>(base + 4);
  if (station != kCvbNoStation && station >= num_stations) {
    return Damage(file, block.offset + 4,
                  absl::StrCat("station index ", station, " is not in the roster"));
  }
  *view = CvbBlockView();
  view->station = station == kCvbNoStation ? kUnknownStation : station;
  view->records = block.records;
  view->malformed = Get<uint32_t>(base + 12);
  if (Get<uint32_t>(base) == kCvbBlockMagic) {
    return VerifyEncodings(file, base, block, num_choices, view);
  }
  // Version 1: both columns plain.
  CANVASS_CHECK(Get<uint32_t>(base) == kCvbBlockMagicV1);
  CANVASS_CHECK(reinterpret_cast<uintptr_t>(base + 16) % alignof(uint64_t) == 0);
  view->serials = reinterpret_cast<const uint64_t*>(base + kCvbBlockHeaderBytesV1);
  view->choices = base + kCvbBlockHeaderBytesV1 + 8 * size_t{block.records};
  return absl::OkStatus();
}

void ExpandCvbBlock(const CvbBlockView& view, BallotBatch* batch) {
  batch->station = view.station;
  if (view.encoding.serials == CvbSerialEncoding::kRun) {
    batch->seq.resize(view.records);
    for (uint32_t i = 0; i < view.records; ++i) batch->seq[i] = view.first_serial + i;
  } else {
    batch->seq.assign(view.serials, view.serials + view.records);
  }
  if (view.encoding.choices == CvbChoiceEncoding::kPacked) {
    batch->choice.resize(view.records);
    UnpackChoices(view.packed_choices, view.records, view.encoding.choice_bits, 0,
                  batch->choice.data());
  } else {
    batch->choice.assign(view.choices, view.choices + view.records);
  }
}

}  // namespace canvass
