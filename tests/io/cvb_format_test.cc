// Unit tests of the cvb codec: the writer's choice of encodings, round trips of every
// encoding of version 2, version 1 compatibility and the version gate.
#include "engine/io/cvb/cvb_format.h"

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/ballot/batch.h"
#include "engine/ballot/packed_choices.h"
#include "engine/election/election.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/elections.h"
#include "tests/testing/status_matchers.h"
#include "xxhash.h"

namespace canvass {
namespace {

using ::canvass::testing::IsOk;
using ::canvass::testing::StatusIs;
using ::testing::HasSubstr;

constexpr uint64_t kMaxSerial = UINT64_MAX;

// An election of `num_choices` choices and two stations.
Election MakeElection(int num_choices) {
  return testing::ElectionBuilder("cvb-test", "t")
      .AddChoices(num_choices)
      .AddStations({100000, 5}, {"AA", "BB"})
      .Build();
}

BallotBatch Batch(StationIndex station, std::vector<uint64_t> seq,
                  std::vector<ChoiceIndex> choice) {
  BallotBatch batch;
  batch.station = station;
  batch.seq = std::move(seq);
  batch.choice = std::move(choice);
  return batch;
}

struct Written {
  std::string bytes;
  CvbLayout layout;
};

// A whole file of `batches` (each block with `malformed` damaged records), scanned.
// The bytes are copied into 8-byte aligned memory, as a mapping would be.
class CvbFile {
 public:
  CvbFile(const Election& election, const std::vector<BallotBatch>& batches, uint32_t malformed,
          uint16_t version = kCvbVersion, const std::vector<CvbBlockEncoding>* encodings = nullptr)
      : election_(election) {
    std::string bytes;
    AppendCvbHeader(ElectionFingerprint(election), &bytes, version);
    uint64_t records = 0;
    for (size_t b = 0; b < batches.size(); ++b) {
      if (version == 1) {
        AppendCvbBlockV1(batches[b], malformed, &bytes);
      } else if (encodings != nullptr) {
        AppendCvbBlock(batches[b], malformed, (*encodings)[b], &bytes);
      } else {
        AppendCvbBlock(batches[b], malformed, NumChoices(), &bytes);
      }
      records += batches[b].size() + malformed;
    }
    AppendCvbTrailer(static_cast<uint32_t>(batches.size()), records, &bytes);
    size_ = bytes.size();
    aligned_.resize((bytes.size() + 7) / 8);
    std::memcpy(aligned_.data(), bytes.data(), bytes.size());
  }
  uint32_t NumChoices() const { return static_cast<uint32_t>(election_.contest().choices.size()); }
  const uint8_t* data() const { return reinterpret_cast<const uint8_t*>(aligned_.data()); }
  size_t size() const { return size_; }
  absl::StatusOr<CvbLayout> Scan() const {
    return ScanCvb("t.cvb", data(), size_, ElectionFingerprint(election_));
  }
  absl::Status Verify(const CvbBlockRef& block, CvbBlockView* view) const {
    return VerifyCvbBlock("t.cvb", data(), block, static_cast<uint32_t>(election_.stations.size()),
                          NumChoices(), view);
  }

 private:
  const Election& election_;
  std::vector<uint64_t> aligned_;
  size_t size_ = 0;
};

// Reads `batches` back through a file and checks every block decodes to its batch.
void ExpectRoundTrip(const Election& election, const std::vector<BallotBatch>& batches,
                     uint16_t version = kCvbVersion,
                     const std::vector<CvbBlockEncoding>* encodings = nullptr) {
  const CvbFile file(election, batches, 3, version, encodings);
  absl::StatusOr<CvbLayout> layout = file.Scan();
  ASSERT_THAT(layout, IsOk());
  ASSERT_THAT(layout->damage, IsOk());
  EXPECT_TRUE(layout->trailer_intact);
  EXPECT_EQ(layout->version, version);
  ASSERT_EQ(layout->blocks.size(), batches.size());
  for (size_t b = 0; b < batches.size(); ++b) {
    SCOPED_TRACE(absl::StrCat("block ", b));
    CvbBlockView view;
    ASSERT_THAT(file.Verify(layout->blocks[b], &view), IsOk());
    EXPECT_EQ(view.malformed, 3u);
    BallotBatch decoded;
    ExpandCvbBlock(view, &decoded);
    EXPECT_EQ(decoded.station, batches[b].station);
    EXPECT_EQ(decoded.seq, batches[b].seq);
    EXPECT_EQ(decoded.choice, batches[b].choice);
    const CvbBlockEncoding expected = version == 1 ? CvbBlockEncoding{}
                                      : encodings
                                          ? (*encodings)[b]
                                          : ChooseCvbEncoding(batches[b], file.NumChoices());
    EXPECT_EQ(view.encoding, expected);
    EXPECT_EQ(layout->blocks[b].bytes,
              version == 1 ? CvbBlockBytesV1(view.records) : CvbBlockBytes(view.records, expected));
  }
}

CvbBlockEncoding Encoding(CvbSerialEncoding serials, int bits) {
  return {serials, bits == 8 ? CvbChoiceEncoding::kPlain : CvbChoiceEncoding::kPacked, bits};
}
constexpr CvbSerialEncoding kRun = CvbSerialEncoding::kRun;
constexpr CvbSerialEncoding kPlain = CvbSerialEncoding::kPlain;

struct ChoiceCase {
  const char* name;
  int num_choices;
  BallotBatch batch;
  CvbBlockEncoding expected;
  size_t bytes;
};

TEST(CvbWriterTest, ChoosesTheMostCompactExactEncoding) {
  const std::vector<ChoiceCase> cases = {
      {"run, 1 bit", 2, Batch(0, {5, 6, 7}, {0, 1, 1}), Encoding(kRun, 1), 24 + 8 + 8 + 8},
      {"run, 2 bits", 4, Batch(0, {1, 2, 3, 4}, {0, 1, 2, 3}), Encoding(kRun, 2), 48},
      {"run, 4 bits", 16, Batch(0, {9, 10}, {15, 4}), Encoding(kRun, 4), 48},
      {"bits follow the largest choice, not the contest", 16, Batch(0, {9, 10}, {1, 0}),
       Encoding(kRun, 1), 48},
      {"run of one", 3, Batch(0, {100000}, {2}), Encoding(kRun, 2), 48},
      {"run to the largest serial", 3, Batch(0, {kMaxSerial - 1, kMaxSerial}, {0, 0}),
       Encoding(kRun, 1), 48},
      {"wrapping serials are plain", 3, Batch(0, {kMaxSerial, 0}, {0, 0}), Encoding(kPlain, 1),
       24 + 16 + 8 + 8},
      {"descending serials are plain", 3, Batch(0, {2, 1}, {0, 0}), Encoding(kPlain, 1), 56},
      {"repeated serials are plain", 3, Batch(0, {1, 1}, {0, 0}), Encoding(kPlain, 1), 56},
      {"unknown choice is plain", 3, Batch(0, {1, 2, 3}, {0, kCvbNoChoice, 1}), Encoding(kRun, 8),
       48},
      {"choice past the contest is plain", 3, Batch(0, {1, 2, 3}, {0, 3, 1}), Encoding(kRun, 8),
       48},
      {"seventeen choices: 16 is plain", 17, Batch(0, {1, 2}, {16, 0}), Encoding(kRun, 8), 48},
      {"seventeen choices: 15 packs", 17, Batch(0, {1, 2}, {15, 0}), Encoding(kRun, 4), 48},
      {"plain serials, packed choices", 3, Batch(0, {3, 1, 2}, {2, 1, 0}), Encoding(kPlain, 2),
       24 + 24 + 8 + 8},
      {"plain serials, plain choices", 3, Batch(0, {3, 1, 2}, {2, kCvbNoChoice, 0}),
       Encoding(kPlain, 8), 64},
      {"no records", 3, Batch(0, {}, {}), Encoding(kPlain, 8), 32},
      {"unknown station", 3, Batch(kUnknownStation, {7, 8}, {1, 1}), Encoding(kRun, 1), 48},
  };
  for (const ChoiceCase& test_case : cases) {
    SCOPED_TRACE(test_case.name);
    EXPECT_EQ(ChooseCvbEncoding(test_case.batch, test_case.num_choices), test_case.expected);
    std::string bytes;
    AppendCvbBlock(test_case.batch, 0, static_cast<uint32_t>(test_case.num_choices), &bytes);
    EXPECT_EQ(bytes.size(), test_case.bytes);
    EXPECT_EQ(CvbBlockBytes(static_cast<uint32_t>(test_case.batch.size()), test_case.expected),
              test_case.bytes);
    const Election election = MakeElection(test_case.num_choices);
    // The unknown-station serials past S1's capacity do not matter to the codec.
    ExpectRoundTrip(election, {test_case.batch});
  }
}

// Every encoding, including ones the writer would not choose (readers accept any
// encoding that holds the block exactly), over blocks of every size class.
TEST(CvbRoundTripTest, EveryEncodingHoldsItsBlocksExactly) {
  std::mt19937_64 rng(2024);
  for (int bits : {1, 2, 4, 8}) {
    const Election election = MakeElection(bits == 8 ? 200 : 1 << bits);
    for (CvbSerialEncoding serials : {kRun, kPlain}) {
      std::vector<BallotBatch> batches;
      std::vector<CvbBlockEncoding> encodings;
      for (uint32_t records : {1u, 2u, 7u, 8u, 9u, 63u, 64u, 65u, 1000u, kCvbMaxBlockRecords}) {
        const uint64_t first = serials == kRun ? kMaxSerial - records + 1 - rng() % 1000 : 0;
        BallotBatch batch;
        batch.station = static_cast<StationIndex>(rng() % 2);
        for (uint32_t i = 0; i < records; ++i) {
          batch.seq.push_back(serials == kRun ? first + i : rng());
          batch.choice.push_back(
              static_cast<ChoiceIndex>(bits == 8 ? rng() % 256 : rng() % (1u << bits)));
        }
        batches.push_back(std::move(batch));
        encodings.push_back(Encoding(serials, bits));
      }
      SCOPED_TRACE(absl::StrCat(bits, " bits, ", serials == kRun ? "run" : "plain"));
      ExpectRoundTrip(election, batches, kCvbVersion, &encodings);
      // The writer's own choice holds them too.
      ExpectRoundTrip(election, batches);
      // A run written plain.
      std::vector<CvbBlockEncoding> plain(batches.size(), Encoding(kPlain, 8));
      ExpectRoundTrip(election, batches, kCvbVersion, &plain);
    }
  }
}

TEST(CvbRoundTripTest, VersionOneFilesAreStillRead) {
  const Election election = MakeElection(3);
  ExpectRoundTrip(election,
                  {Batch(0, {1, 2, 3, 4}, {0, 1, 0, 2}), Batch(1, {5, 1}, {1, kCvbNoChoice}),
                   Batch(kUnknownStation, {9}, {0}), Batch(0, {}, {})},
                  1);
}

TEST(CvbVersionTest, VersionsOutsideOneToTwoAreInvalidArgument) {
  const Election election = MakeElection(3);
  for (uint16_t version : {0, 3, 65535}) {
    const CvbFile file(election, {Batch(0, {1}, {0})}, 0, version == 0 ? 1 : 2);
    std::vector<uint8_t> bytes(file.data(), file.data() + file.size());
    std::memcpy(bytes.data() + 8, &version, 2);
    const uint64_t checksum = XXH3_64bits(bytes.data(), 24);
    std::memcpy(bytes.data() + 24, &checksum, 8);
    std::vector<uint64_t> aligned((bytes.size() + 7) / 8);
    std::memcpy(aligned.data(), bytes.data(), bytes.size());
    EXPECT_THAT(ScanCvb("t.cvb", reinterpret_cast<const uint8_t*>(aligned.data()), bytes.size(),
                        ElectionFingerprint(election)),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(absl::StrCat("t.cvb: byte 8: cvb version ", version))));
  }
}

TEST(CvbVersionTest, AVersionOneBlockInAVersionTwoFileIsStructuralDamage) {
  const Election election = MakeElection(3);
  std::string bytes;
  AppendCvbHeader(ElectionFingerprint(election), &bytes, 2);
  AppendCvbBlockV1(Batch(0, {1}, {0}), 0, &bytes);
  AppendCvbTrailer(1, 1, &bytes);
  std::vector<uint64_t> aligned((bytes.size() + 7) / 8);
  std::memcpy(aligned.data(), bytes.data(), bytes.size());
  absl::StatusOr<CvbLayout> layout =
      ScanCvb("t.cvb", reinterpret_cast<const uint8_t*>(aligned.data()), bytes.size(),
              ElectionFingerprint(election));
  ASSERT_THAT(layout, IsOk());
  EXPECT_TRUE(layout->blocks.empty());
  EXPECT_THAT(layout->damage,
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("t.cvb: byte 32: expected a block")));
}

// The header fields the grammar fixes, under a header checksum that matches: header_bytes
// must be 32 and reserved 0, else the file is damaged at that byte. A block may declare at
// most kCvbMaxBlockRecords malformed records (they are counted, not stored).
TEST(CvbGrammarTest, FixedHeaderFieldsAndTheMalformedBoundAreEnforced) {
  const Election election = MakeElection(3);
  const CvbFile file(election, {Batch(0, {1, 2}, {0, 1})}, 0);
  auto scan = [&](std::vector<uint8_t> bytes, bool rehash_header) {
    if (rehash_header) {
      const uint64_t checksum = XXH3_64bits(bytes.data(), 24);
      std::memcpy(bytes.data() + 24, &checksum, 8);
    }
    std::vector<uint64_t> aligned((bytes.size() + 7) / 8);
    std::memcpy(aligned.data(), bytes.data(), bytes.size());
    return ScanCvb("t.cvb", reinterpret_cast<const uint8_t*>(aligned.data()), bytes.size(),
                   ElectionFingerprint(election));
  };
  const std::vector<uint8_t> valid(file.data(), file.data() + file.size());
  ASSERT_THAT(scan(valid, false), IsOk());
  EXPECT_THAT(scan(valid, false)->damage, IsOk());
  {
    std::vector<uint8_t> bytes = valid;
    const uint16_t header_bytes = 40;
    std::memcpy(bytes.data() + 10, &header_bytes, 2);
    absl::StatusOr<CvbLayout> layout = scan(bytes, true);
    ASSERT_THAT(layout, IsOk());
    EXPECT_THAT(layout->damage,
                StatusIs(absl::StatusCode::kDataLoss,
                         "t.cvb: byte 10: header_bytes is 40; the cvb grammar fixes it at 32"));
  }
  {
    std::vector<uint8_t> bytes = valid;
    const uint32_t reserved = 7;
    std::memcpy(bytes.data() + 12, &reserved, 4);
    absl::StatusOr<CvbLayout> layout = scan(bytes, true);
    ASSERT_THAT(layout, IsOk());
    EXPECT_THAT(
        layout->damage,
        StatusIs(absl::StatusCode::kDataLoss,
                 "t.cvb: byte 12: reserved header field is 7; the cvb grammar fixes it at 0"));
  }
  for (uint32_t malformed : {kCvbMaxBlockRecords, kCvbMaxBlockRecords + 1, UINT32_MAX}) {
    SCOPED_TRACE(malformed);
    std::string bytes;
    AppendCvbHeader(ElectionFingerprint(election), &bytes);
    AppendCvbBlock(Batch(0, {}, {}), malformed, 3, &bytes);
    AppendCvbTrailer(1, malformed, &bytes);
    absl::StatusOr<CvbLayout> layout =
        scan(std::vector<uint8_t>(bytes.begin(), bytes.end()), false);
    ASSERT_THAT(layout, IsOk());
    if (malformed <= kCvbMaxBlockRecords) {
      EXPECT_THAT(layout->damage, IsOk());
      EXPECT_EQ(layout->declared_records, malformed);
    } else {
      EXPECT_THAT(layout->damage, StatusIs(absl::StatusCode::kDataLoss,
                                           absl::StrCat("t.cvb: byte 44: block malformed count ",
                                                        malformed, " exceeds 65536")));
    }
  }
}

}  // namespace
}  // namespace canvass
