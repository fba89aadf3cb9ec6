// cvb version 3: contest ballots, written from transcripts and read as a CVR syntax.
#include "engine/io/cvb/contest_cvb.h"

#include <cstring>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/base/bytes.h"
#include "engine/base/status_macros.h"
#include "engine/base/xxhash.h"
#include "engine/io/cvb/cvb_format.h"
#include "engine/io/nist/cvr_writer.h"

namespace canvass {
namespace {

constexpr uint8_t kBallotRecord = 0;
constexpr uint8_t kRejectedRecord = 1;
// Ballot flags.
constexpr uint8_t kAdjudicated = 1;
constexpr uint8_t kHasDevice = 2;
// Contest flags.
constexpr uint8_t kOvervotes = 1;
constexpr uint8_t kUndervotes = 2;
constexpr uint8_t kInvalid = 4;
// Mark flags.
constexpr uint8_t kHasIndication = 1;
constexpr uint8_t kAllocable = 2;

void PutVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>(value | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

void PutBytes(absl::string_view bytes, std::string* out) {
  PutVarint(bytes.size(), out);
  out->append(bytes.data(), bytes.size());
}

// Reads what the writer wrote; every read is bounds-checked, the first failure remembered.
class Reader {
 public:
  explicit Reader(absl::string_view bytes) : bytes_(bytes) {}

  bool Varint(uint64_t* value) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= bytes_.size()) return Fail("the record ends inside a number");
      const uint8_t byte = static_cast<uint8_t>(bytes_[pos_++]);
      if (shift == 63 && byte > 1) return Fail("a number above 2^64 - 1");
      result |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        *value = result;
        return true;
      }
    }
    return Fail("a number above 2^64 - 1");
  }
  bool Byte(uint8_t* value) {
    if (pos_ >= bytes_.size()) return Fail("the record ends early");
    *value = static_cast<uint8_t>(bytes_[pos_++]);
    return true;
  }
  bool Bytes(absl::string_view* value) {
    uint64_t size = 0;
    if (!Varint(&size)) return false;
    if (size > bytes_.size() - pos_) return Fail("a string runs past the record");
    *value = bytes_.substr(pos_, size);
    pos_ += size;
    return true;
  }
  // A count below `limit`, named `what` in the message.
  bool Index(uint64_t limit, absl::string_view what, uint64_t* value) {
    if (!Varint(value)) return false;
    if (*value >= limit)
      return Fail(absl::StrCat(what, " ", *value, " (expected below ", limit, ")"));
    return true;
  }
  bool at_end() const { return pos_ == bytes_.size(); }
  size_t pos() const { return pos_; }
  const std::string& error() const { return error_; }
  bool Fail(std::string what) {
    if (error_.empty()) error_ = absl::StrCat("byte ", pos_, " of the record: ", what);
    return false;
  }

 private:
  absl::string_view bytes_;
  size_t pos_ = 0;
  std::string error_;
};

absl::Status Damage(absl::string_view file, uint64_t offset, absl::string_view what) {
  return absl::DataLossError(absl::StrCat(file, ": byte ", offset, ": ", what));
}

uint64_t BlockChecksum(absl::string_view payload, uint32_t records) {
  return XXH3_64bits_withSeed(payload.data(), payload.size(),
                              (uint64_t{records} << 32) | payload.size());
}

class ContestCvbScanner final : public CvrScanner {
 public:
  ContestCvbScanner(std::string name, absl::string_view text)
      : name_(std::move(name)), text_(text) {}

  absl::StatusOr<bool> Next(uint64_t max_bytes, std::vector<CvrSpan>* spans) override {
    if (done_) return false;
    if (!started_) {
      CANVASS_ASSIGN_OR_RETURN(header_, ReadContestCvbHeader(name_, text_));
      pos_ = kCvbContestHeaderBytes + header_.definition.size();
      started_ = true;
    }
    uint64_t taken = 0;
    while (taken < max_bytes || taken == 0) {
      if (text_.size() - pos_ < 4) {
        return Damage(name_, pos_,
                      "the file ends where a block or the trailer should be (truncated)");
      }
      const uint32_t magic = LoadLittleEndian<uint32_t>(text_.data() + pos_);
      if (magic == kCvbTrailerMagic) {
        CANVASS_RETURN_IF_ERROR(Trailer());
        done_ = true;
        return taken > 0;
      }
      if (magic != kCvbContestBlockMagic) {
        return Damage(name_, pos_, "expected a block (\"BLK\\x03\") or the trailer");
      }
      const uint64_t before = pos_;
      CANVASS_RETURN_IF_ERROR(Block(spans));
      taken += pos_ - before;
    }
    return true;
  }
  std::string Definition() const override { return std::string(header_.definition); }
  bool Synthetic() const override { return header_.synthetic; }

 private:
  absl::Status Block(std::vector<CvrSpan>* spans) {
    const uint64_t at = pos_;
    if (text_.size() - pos_ < kCvbContestBlockHeaderBytes) {
      return Damage(name_, at, "the file ends inside a block header (truncated)");
    }
    const char* head = text_.data() + pos_;
    const uint32_t records = LoadLittleEndian<uint32_t>(head + 4);
    const uint32_t bytes = LoadLittleEndian<uint32_t>(head + 8);
    const uint32_t zero = LoadLittleEndian<uint32_t>(head + 12);
    const uint64_t checksum = LoadLittleEndian<uint64_t>(head + 16);
    if (zero != 0) return Damage(name_, at + 12, "a block header's reserved word is not zero");
    if (bytes > text_.size() - pos_ - kCvbContestBlockHeaderBytes) {
      return Damage(name_, at,
                    absl::StrCat("a block of ", bytes,
                                 " payload bytes runs past the end of the file "
                                 "(truncated)"));
    }
    const absl::string_view payload = text_.substr(pos_ + kCvbContestBlockHeaderBytes, bytes);
    if (BlockChecksum(payload, records) != checksum) {
      return Damage(name_, at, "the block's checksum does not match its contents (corrupt)");
    }
    // The payload is the writer's; its lengths are walked all the same.
    uint64_t p = 0;
    for (uint32_t r = 0; r < records; ++r) {
      uint64_t length = 0;
      int shift = 0;
      while (true) {
        if (p >= payload.size() || shift > 28) {
          return Damage(name_, at, absl::StrCat("record ", r, " of the block has a bad length"));
        }
        const uint8_t byte = static_cast<uint8_t>(payload[p++]);
        length |= static_cast<uint64_t>(byte & 0x7f) << shift;
        shift += 7;
        if ((byte & 0x80) == 0) break;
      }
      if (length > payload.size() - p) {
        return Damage(name_, at, absl::StrCat("record ", r, " runs past the block"));
      }
      const uint64_t begin = pos_ + kCvbContestBlockHeaderBytes + p;
      spans->push_back({begin, begin + length, records_++});
      p += length;
    }
    if (p != payload.size()) {
      return Damage(name_, at, "the block holds bytes after its last record");
    }
    pos_ += kCvbContestBlockHeaderBytes + bytes;
    ++blocks_;
    return absl::OkStatus();
  }

  absl::Status Trailer() {
    const uint64_t at = pos_;
    if (text_.size() - pos_ < kCvbTrailerBytes) {
      return Damage(name_, at, "the file ends inside the trailer (truncated)");
    }
    const char* t = text_.data() + pos_;
    if (LoadLittleEndian<uint64_t>(t + 16) != XXH3_64bits(t, 16)) {
      return Damage(name_, at, "the trailer's checksum does not match (corrupt)");
    }
    const uint32_t blocks = LoadLittleEndian<uint32_t>(t + 4);
    const uint64_t records = LoadLittleEndian<uint64_t>(t + 8);
    if (blocks != blocks_ || records != records_) {
      return Damage(name_, at,
                    absl::StrCat("the trailer counts ", blocks, " blocks and ", records,
                                 " records; the file holds ", blocks_, " and ", records_));
    }
    pos_ += kCvbTrailerBytes;
    if (pos_ != text_.size()) return Damage(name_, pos_, "bytes after the trailer");
    return absl::OkStatus();
  }

  std::string name_;
  absl::string_view text_;
  ContestCvbHeader header_;
  bool started_ = false;
  bool done_ = false;
  uint64_t pos_ = 0;
  uint32_t blocks_ = 0;
  uint64_t records_ = 0;
};

class ContestCvbDecoder final : public CvrDecoder {
 public:
  void Decode(absl::string_view text, const CvrSpan& span, CvrBuilder* builder) override {
    if (span.begin > span.end || span.end > text.size()) {
      builder->Malformed(
          absl::StrCat("bytes [", span.begin, ", ", span.end, ") are not inside the file"));
      return;
    }
    Reader in(text.substr(span.begin, span.end - span.begin));
    if (!Record(&in, builder) || !in.at_end()) {
      builder->Malformed(in.error().empty()
                             ? absl::StrCat("bytes after the record's end (byte ", in.pos(), ")")
                             : in.error());
    }
  }

 private:
  bool Record(Reader* in, CvrBuilder* builder) {
    const ContestElection& election = builder->election();
    uint8_t kind = 0;
    if (!in->Byte(&kind)) return false;
    if (kind == kRejectedRecord) {
      uint8_t reason = 0;
      absl::string_view why;
      if (!in->Byte(&reason) || !in->Bytes(&why)) return false;
      if (reason > static_cast<uint8_t>(CastReject::kUnknownSelection)) {
        return in->Fail(absl::StrCat("rejection reason ", reason, " is not one a reader gives"));
      }
      builder->Rejected(static_cast<CastReject>(reason), std::string(why));
      return true;
    }
    if (kind != kBallotRecord) return in->Fail(absl::StrCat("record kind ", kind));
    uint8_t flags = 0;
    uint8_t field = 0;
    absl::string_view identity;
    if (!in->Byte(&flags) || !in->Byte(&field) || !in->Bytes(&identity)) return false;
    if (field >= kNumCvrIdentityFields) return in->Fail(absl::StrCat("identity field ", field));
    builder->SetIdentity(static_cast<CvrIdentityField>(field), identity);
    if (flags & kHasDevice) {
      absl::string_view device;
      if (!in->Bytes(&device)) return false;
      builder->SetDevice(device);
    }
    if (flags & kAdjudicated) builder->SetAdjudicated();
    uint64_t unit = 0;
    uint64_t contests = 0;
    if (!in->Index(election.units.size(), "unit", &unit) ||
        !in->Index(uint64_t{kMaxContests} + 1, "contest count", &contests)) {
      return false;
    }
    builder->SetUnitIndex(static_cast<uint32_t>(unit));
    for (uint64_t k = 0; k < contests; ++k) {
      uint64_t contest = 0;
      uint8_t cflags = 0;
      if (!in->Index(election.contests.size(), "contest", &contest) || !in->Byte(&cflags)) {
        return false;
      }
      const ElectionContest& definition = election.contests[contest];
      builder->ContestIndex(static_cast<uint32_t>(contest), definition.id);
      uint64_t figure = 0;
      if (cflags & kOvervotes) {
        if (!in->Varint(&figure)) return false;
        builder->DeclaredOvervotes(figure);
      }
      if (cflags & kUndervotes) {
        if (!in->Varint(&figure)) return false;
        builder->DeclaredUndervotes(figure);
      }
      if (cflags & kInvalid) builder->InvalidContest();
      uint64_t marks = 0;
      if (!in->Varint(&marks)) return false;
      for (uint64_t m = 0; m < marks; ++m) {
        uint64_t selection = 0;
        uint8_t mflags = 0;
        uint64_t number_votes = 0;
        uint64_t rank = 0;
        if (!in->Index(definition.selections.size(), "selection", &selection) ||
            !in->Byte(&mflags) || !in->Varint(&number_votes) || !in->Varint(&rank)) {
          return false;
        }
        builder->MarkIndex(static_cast<uint32_t>(selection), (mflags & kHasIndication) != 0,
                           (mflags & kAllocable) != 0, rank, number_votes);
      }
      builder->EndContest();
    }
    return true;
  }
};

}  // namespace

bool LooksLikeContestCvb(absl::string_view head) {
  // The version byte is only believed under a header checksum that verifies: a version-2
  // file with one flipped bit in it (2 -> 3) stays a damaged version-2 file.
  return head.size() >= kCvbContestHeaderBytes &&
         std::memcmp(head.data(), kCvbMagic, sizeof(kCvbMagic)) == 0 &&
         LoadLittleEndian<uint16_t>(head.data() + 8) == kCvbContestVersion &&
         LoadLittleEndian<uint64_t>(head.data() + 24) == XXH3_64bits(head.data(), 24);
}

void AppendContestCvbHeader(const ContestElection& election, std::string* out) {
  std::string definition = "{";
  AppendCvrElectionMembers(election, &definition);
  definition.push_back('}');
  const size_t start = out->size();
  out->append(kCvbMagic, sizeof(kCvbMagic));
  PutLittleEndian<uint16_t>(kCvbContestVersion, out);
  PutLittleEndian<uint16_t>((election.invalid_figure ? kCvbContestInvalidFigure : 0) |
                                (election.synthetic ? kCvbContestSynthetic : 0),
                            out);
  PutLittleEndian<uint32_t>(static_cast<uint32_t>(definition.size()), out);
  PutLittleEndian<uint64_t>(XXH3_64bits(definition.data(), definition.size()), out);
  PutLittleEndian<uint64_t>(XXH3_64bits(out->data() + start, 24), out);
  out->append(definition);
}

void AppendContestCvbBallot(const CvrTranscript& record, std::string* out) {
  thread_local std::string bytes;
  bytes.clear();
  bytes.push_back(static_cast<char>(kBallotRecord));
  bytes.push_back(static_cast<char>((record.adjudicated ? kAdjudicated : 0) |
                                    (record.device ? kHasDevice : 0)));
  bytes.push_back(static_cast<char>(record.identity_field));
  PutBytes(record.identity, &bytes);
  if (record.device) PutBytes(*record.device, &bytes);
  PutVarint(record.unit, &bytes);
  PutVarint(record.contests.size(), &bytes);
  uint32_t mark = 0;
  for (const CvrTranscript::Contest& contest : record.contests) {
    PutVarint(contest.contest, &bytes);
    bytes.push_back(static_cast<char>((contest.overvotes ? kOvervotes : 0) |
                                      (contest.undervotes ? kUndervotes : 0) |
                                      (contest.invalid ? kInvalid : 0)));
    if (contest.overvotes) PutVarint(*contest.overvotes, &bytes);
    if (contest.undervotes) PutVarint(*contest.undervotes, &bytes);
    PutVarint(contest.marks_end - mark, &bytes);
    for (; mark < contest.marks_end; ++mark) {
      const CvrTranscript::Mark& m = record.marks[mark];
      PutVarint(m.selection, &bytes);
      bytes.push_back(static_cast<char>((m.has_indication ? kHasIndication : 0) |
                                        (m.allocable ? kAllocable : 0)));
      PutVarint(m.number_votes, &bytes);
      PutVarint(m.rank, &bytes);
    }
  }
  PutBytes(bytes, out);
}

void AppendContestCvbRejected(CastReject reason, absl::string_view why, std::string* out) {
  std::string bytes;
  bytes.push_back(static_cast<char>(kRejectedRecord));
  bytes.push_back(static_cast<char>(reason));
  PutBytes(why, &bytes);
  PutBytes(bytes, out);
}

void AppendContestCvbBlock(absl::string_view payload, uint32_t records, std::string* out) {
  PutLittleEndian<uint32_t>(kCvbContestBlockMagic, out);
  PutLittleEndian<uint32_t>(records, out);
  PutLittleEndian<uint32_t>(static_cast<uint32_t>(payload.size()), out);
  PutLittleEndian<uint32_t>(0, out);
  PutLittleEndian<uint64_t>(BlockChecksum(payload, records), out);
  out->append(payload.data(), payload.size());
}

absl::StatusOr<ContestCvbHeader> ReadContestCvbHeader(absl::string_view file,
                                                      absl::string_view text) {
  if (text.size() < kCvbContestHeaderBytes) {
    return Damage(file, text.size(), "the file ends inside the cvb header (truncated)");
  }
  const char* h = text.data();
  if (std::memcmp(h, kCvbMagic, sizeof(kCvbMagic)) != 0 ||
      LoadLittleEndian<uint16_t>(h + 8) != kCvbContestVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": byte 0: not a cvb file of contest ballots (version 3)"));
  }
  if (LoadLittleEndian<uint64_t>(h + 24) != XXH3_64bits(h, 24)) {
    return Damage(file, 24, "the header's checksum does not match (corrupt)");
  }
  const uint16_t flags = LoadLittleEndian<uint16_t>(h + 10);
  if (flags & ~(kCvbContestInvalidFigure | kCvbContestSynthetic)) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": byte 10: header flags ", flags, " are not known to this build"));
  }
  const uint32_t bytes = LoadLittleEndian<uint32_t>(h + 12);
  if (bytes > text.size() - kCvbContestHeaderBytes) {
    return Damage(file, kCvbContestHeaderBytes,
                  "the election definition runs past the end of the file (truncated)");
  }
  ContestCvbHeader header;
  header.definition = text.substr(kCvbContestHeaderBytes, bytes);
  if (XXH3_64bits(header.definition.data(), bytes) != LoadLittleEndian<uint64_t>(h + 16)) {
    return Damage(file, kCvbContestHeaderBytes,
                  "the election definition's checksum does not match (corrupt)");
  }
  header.invalid_figure = (flags & kCvbContestInvalidFigure) != 0;
  header.synthetic = (flags & kCvbContestSynthetic) != 0;
  return header;
}

std::unique_ptr<CvrScanner> NewContestCvbScanner(std::string name, absl::string_view text) {
  return std::make_unique<ContestCvbScanner>(std::move(name), text);
}

std::unique_ptr<CvrDecoder> NewContestCvbDecoder() { return std::make_unique<ContestCvbDecoder>(); }

}  // namespace canvass
