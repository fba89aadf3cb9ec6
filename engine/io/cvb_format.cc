// Encoding and decoding of cvb files (see docs/FORMAT.md for the grammar).
#include "engine/io/cvb_format.h"

#include <bit>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/base/check.h"
#include "xxhash.h"

namespace canvass {
namespace {

// The format is little-endian; so is every machine Canvass builds on (checked below).
static_assert(std::endian::native == std::endian::little, "cvb assumes a little-endian host");

template <typename T>
void Put(T value, std::string* out) {
  out->append(reinterpret_cast<const char*>(&value), sizeof(T));
}

template <typename T>
T Get(const uint8_t* data) {
  T value;
  std::memcpy(&value, data, sizeof(T));
  return value;
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

size_t CvbBlockBytes(uint32_t records) { return 16 + 9 * size_t{records} + Padding(records) + 8; }

void AppendCvbHeader(uint64_t fingerprint, std::string* out) {
  const size_t start = out->size();
  out->append(kCvbMagic, sizeof(kCvbMagic));
  Put<uint16_t>(kCvbVersion, out);
  Put<uint16_t>(kCvbHeaderBytes, out);
  Put<uint32_t>(0, out);
  Put<uint64_t>(fingerprint, out);
  Put<uint64_t>(XXH3_64bits(out->data() + start, 24), out);
}

void AppendCvbBlock(const BallotBatch& batch, uint32_t malformed, std::string* out) {
  CANVASS_CHECK(batch.size() <= kCvbMaxBlockRecords);
  const uint32_t records = static_cast<uint32_t>(batch.size());
  const size_t start = out->size();
  Put<uint32_t>(kCvbBlockMagic, out);
  Put<uint32_t>(batch.station == kUnknownStation ? kCvbNoStation : batch.station, out);
  Put<uint32_t>(records, out);
  Put<uint32_t>(malformed, out);
  out->append(reinterpret_cast<const char*>(batch.seq.data()), 8 * size_t{records});
  out->append(reinterpret_cast<const char*>(batch.choice.data()), records);
  out->append(Padding(records), '\0');
  Put<uint64_t>(XXH3_64bits(out->data() + start, out->size() - start), out);
  CANVASS_CHECK(out->size() - start == CvbBlockBytes(records));
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
  if (version != kCvbVersion) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": byte 8: cvb version ", version,
                                                   " is not supported; this build reads version ",
                                                   kCvbVersion));
  }
  if (Get<uint64_t>(data + 16) != fingerprint) {
    return absl::InvalidArgumentError(absl::StrCat(
        file, ": byte 16: election fingerprint ", absl::Hex(Get<uint64_t>(data + 16)),
        " does not match this election's ", absl::Hex(fingerprint),
        ": the file was written for another election (or another --scale)"));
  }
  uint64_t offset = kCvbHeaderBytes, records = 0;
  while (true) {
    if (offset + 4 > size) {
      layout.damage = Damage(file, offset, "truncated: expected a block or the trailer");
      return layout;
    }
    const uint32_t magic = Get<uint32_t>(data + offset);
    if (magic == kCvbTrailerMagic) break;
    if (magic != kCvbBlockMagic) {
      layout.damage = Damage(file, offset, "expected a block (\"BLK\\x01\") or the trailer");
      return layout;
    }
    if (offset + 16 > size) {
      layout.damage = Damage(file, offset, "truncated inside a block header");
      return layout;
    }
    const uint32_t count = Get<uint32_t>(data + offset + 8);
    if (count > kCvbMaxBlockRecords) {
      layout.damage = Damage(file, offset + 8, absl::StrCat("block record count ", count,
                                                            " exceeds ", kCvbMaxBlockRecords));
      return layout;
    }
    if (offset + CvbBlockBytes(count) > size) {
      layout.damage = Damage(file, offset, absl::StrCat("truncated: the block needs ",
                                                        CvbBlockBytes(count), " bytes, the file ends at byte ", size));
      return layout;
    }
    layout.blocks.push_back({offset, count});
    records += count + Get<uint32_t>(data + offset + 12);
    offset += CvbBlockBytes(count);
  }
  if (offset + kCvbTrailerBytes > size) {
    layout.damage = Damage(file, offset, "truncated inside the trailer");
    return layout;
  }
  if (Get<uint64_t>(data + offset + 16) != XXH3_64bits(data + offset, 16)) {
    layout.damage = Damage(file, offset + 16, "trailer checksum mismatch");
    return layout;
  }
  layout.declared_records = Get<uint64_t>(data + offset + 8);
  if (Get<uint32_t>(data + offset + 4) != layout.blocks.size() || layout.declared_records != records) {
    layout.damage = Damage(file, offset, absl::StrCat("trailer declares ", Get<uint32_t>(data + offset + 4),
                                                      " blocks and ", layout.declared_records,
                                                      " records; the file holds ", layout.blocks.size(),
                                                      " blocks and ", records, " records"));
    return layout;
  }
  layout.trailer_intact = true;
  if (offset + kCvbTrailerBytes != size) {
    layout.damage = Damage(file, offset + kCvbTrailerBytes, "unexpected bytes after the trailer");
  }
  return layout;
}

absl::Status VerifyCvbBlock(absl::string_view file, const uint8_t* data, CvbBlockRef block,
                            uint32_t num_stations, BatchView* view, uint32_t* malformed) {
  const uint8_t* base = data + block.offset;
  const size_t body = CvbBlockBytes(block.records) - 8;
  if (Get<uint64_t>(base + body) != XXH3_64bits(base, body)) {
    return Damage(file, block.offset, "block checksum mismatch");
  }
  const uint32_t station = Get<uint32_t>(base + 4);
  if (station != kCvbNoStation && station >= num_stations) {
    return Damage(file, block.offset + 4,
                  absl::StrCat("station index ", station, " is not in the roster"));
  }
  view->station = station == kCvbNoStation ? kUnknownStation : station;
  // Blocks start 8-byte aligned in a page-aligned mapping (header and block sizes are
  // multiples of 8), so the serial column can be read in place.
  CANVASS_CHECK(reinterpret_cast<uintptr_t>(base + 16) % alignof(uint64_t) == 0);
  view->seq = reinterpret_cast<const uint64_t*>(base + 16);
  view->choice = base + 16 + 8 * size_t{block.records};
  view->count = block.records;
  *malformed = Get<uint32_t>(base + 12);
  return absl::OkStatus();
}

absl::Status DecodeCvbBlock(absl::string_view file, const uint8_t* data, CvbBlockRef block,
                            uint32_t num_stations, BallotBatch* batch, uint32_t* malformed) {
  BatchView view;
  absl::Status status = VerifyCvbBlock(file, data, block, num_stations, &view, malformed);
  if (!status.ok()) return status;
  batch->station = view.station;
  batch->seq.assign(view.seq, view.seq + view.count);
  batch->choice.assign(view.choice, view.choice + view.count);
  return absl::OkStatus();
}

}  // namespace canvass
