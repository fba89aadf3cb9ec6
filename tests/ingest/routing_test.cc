// Records routed to their station's owner (engine/ingest/routing.h) and the collectives of
// base/rank_group.h, on in-process ranks (tests/testing/thread_ranks.h) so that they also
// run under the sanitizers. Every shape a reader hands over (packed and byte runs,
// consecutive and scattered station batches, mixed records with unknown stations and
// choices, copies and conflicting copies, serials past 2^32), shared out among 2 to 4
// ranks, must sum to exactly the tally one Aggregator gives for the same calls.
#include "engine/ingest/routing.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/aggregate/aggregator.h"
#include "engine/ballot/owners.h"
#include "engine/ballot/packed_choices.h"
#include "engine/base/bytes.h"
#include "engine/base/rank_group.h"
#include "engine/ingest/streams.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/elections.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/thread_ranks.h"

namespace canvass {
namespace {

using ::canvass::testing::ElectionBuilder;
using ::canvass::testing::ThreadRanks;
using ::testing::HasSubstr;

constexpr uint32_t kStations = 40;
constexpr uint64_t kCapacity = 3000;

// Station kStations (the last) is large: its serials span several blocks of ownership
// (kOwnedSerials), so its runs and batches are cut between ranks.
constexpr uint64_t kLargeCapacity = 40 * kOwnedSerials;

Election MakeRoutingElection() {
  std::vector<uint64_t> capacities(kStations, kCapacity);
  capacities.push_back(kLargeCapacity);
  return ElectionBuilder("routing-test", "routing test")
      .AddChoices(3)
      .AddStations(capacities, {"AA", "BB"})
      .Build();
}

// One call a reader makes on its sink, with the columns it hands over.
struct Call {
  enum Kind { kPackedRun, kByteRun, kBatch, kMixed, kMalformed } kind;
  StationIndex station = 0;
  uint64_t first = 0;
  std::vector<StationIndex> stations;
  std::vector<uint64_t> seq;
  std::vector<ChoiceIndex> choice;
  std::vector<uint64_t> words;
  uint64_t malformed = 0;

  void Apply(BallotSink& sink) const {
    switch (kind) {
      case kPackedRun:
        sink.AddRun(station, first, choice.size(), words.data(), 2);
        break;
      case kByteRun:
        sink.AddRun(station, first, choice.size(), choice.data());
        break;
      case kBatch:
        sink.Add(BatchView{station, seq.data(), choice.data(), seq.size(), 0});
        break;
      case kMixed:
        sink.AddMixed(MixedBatchView{stations.data(), seq.data(), choice.data(), seq.size(), 0});
        break;
      case kMalformed:
        sink.AddMalformed(malformed);
        break;
    }
  }
};

// A seeded mix of every shape. Serials repeat across calls (copies, some conflicting),
// some lie past the capacity or past 2^32 (bad_seq), some stations and choices are unknown.
std::vector<Call> DrawCalls(uint64_t seed) {
  std::mt19937_64 random(seed);
  auto below = [&](uint64_t n) { return random() % n; };
  std::vector<Call> calls;
  for (int i = 0; i < 300; ++i) {
    Call call;
    call.kind = static_cast<Call::Kind>(below(5));
    const bool large = below(4) == 0;
    call.station = large ? kStations : static_cast<StationIndex>(below(kStations));
    const uint64_t capacity = large ? kLargeCapacity : kCapacity;
    const size_t count = 1 + below(200);
    switch (call.kind) {
      case Call::kPackedRun:
      case Call::kByteRun:
        // Runs of the large station often straddle the end of a block of ownership.
        call.first = large && below(2) == 0 ? (1 + below(39)) * kOwnedSerials - below(100)
                                            : 1 + below(capacity);
        for (size_t r = 0; r < count; ++r)
          call.choice.push_back(static_cast<ChoiceIndex>(below(3)));
        call.words.assign(PackedWords(count, 2), 0);
        PackChoices(call.choice.data(), count, 2, call.words.data());
        break;
      case Call::kBatch: {
        const bool consecutive = below(2) == 0;
        // Consecutive batches of the large station also straddle the ends of blocks
        // (owned by one rank or by two).
        const uint64_t start = large && below(2) == 0 ? (1 + below(39)) * kOwnedSerials - below(100)
                                                      : 1 + below(capacity);
        for (size_t r = 0; r < count; ++r) {
          uint64_t seq = consecutive ? start + r : 1 + below(capacity + 50);
          if (!consecutive && below(40) == 0) seq = (uint64_t{1} << 32) + below(1000);  // wide
          call.seq.push_back(seq);
          call.choice.push_back(below(30) == 0 ? kUnknownChoice
                                               : static_cast<ChoiceIndex>(below(3)));
        }
        break;
      }
      case Call::kMixed:
        for (size_t r = 0; r < count; ++r) {
          const StationIndex station = static_cast<StationIndex>(below(kStations + 1));
          call.stations.push_back(below(25) == 0 ? kUnknownStation : station);
          const uint64_t station_capacity = station == kStations ? kLargeCapacity : kCapacity;
          call.seq.push_back(below(60) == 0 ? UINT64_MAX : 1 + below(station_capacity));
          call.choice.push_back(static_cast<ChoiceIndex>(below(3)));
        }
        break;
      case Call::kMalformed:
        call.malformed = below(5);
        break;
    }
    calls.push_back(std::move(call));
  }
  return calls;
}

Tally OneProcess(const Election& election, const std::vector<Call>& calls) {
  Aggregator aggregator(election);
  for (const Call& call : calls) call.Apply(aggregator);
  absl::StatusOr<Tally> tally = aggregator.Finish();
  EXPECT_TRUE(tally.ok()) << tally.status();
  return tally.ok() ? *tally : Tally();
}

TEST(RoutingSinkTest, EveryShapeSharedOutAmongRanksSumsToTheOneProcessTally) {
  const Election election = MakeRoutingElection();
  for (uint64_t seed : {1, 2, 3}) {
    const std::vector<Call> calls = DrawCalls(seed);
    const Tally expected = OneProcess(election, calls);
    ASSERT_GT(expected.Rejected(RejectReason::kDuplicate), 0u);
    ASSERT_GT(expected.Rejected(RejectReason::kConflict), 0u);
    ASSERT_GT(expected.Rejected(RejectReason::kBadSeq), 0u);
    ASSERT_GT(expected.Rejected(RejectReason::kUnknownStation), 0u);
    for (int ranks : {2, 3, 4}) {
      for (int epochs : {1, 3}) {
        SCOPED_TRACE(::testing::Message()
                     << "seed " << seed << ", " << ranks << " ranks, " << epochs << " epochs");
        ThreadRanks::Run(ranks, [&](const RankGroup& group) {
          Aggregator local(election);
          RoutingSink sink(election, group, &local);
          // Rank r reads calls r, r + N, ...; an exchange after each epoch's share.
          for (int epoch = 0; epoch < epochs; ++epoch) {
            for (size_t c = group.rank(); c < calls.size(); c += group.size()) {
              if (static_cast<int>(c * epochs / calls.size()) == epoch) calls[c].Apply(sink);
            }
            EXPECT_TRUE(sink.Exchange(/*threads=*/2).ok());
          }
          absl::StatusOr<Tally> mine = local.Finish();
          ASSERT_TRUE(mine.ok()) << mine.status();
          absl::StatusOr<Tally> all = SumTallyOverRanks(group, *mine);
          ASSERT_TRUE(all.ok()) << all.status();
          EXPECT_EQ(*all, expected);
          // Each rank counted only identities it owns: the small stations, one block
          // each, wholly on their owner.
          const IdentityOwners owners(election, group.size());
          for (StationIndex s = 0; s < kStations; ++s) {
            if (owners.Owner(s, 1) == group.rank()) continue;
            for (ChoiceIndex c = 0; c < 3; ++c) EXPECT_EQ(mine->Counted(s, c), 0u);
          }
          if (group.rank() == 0) {
            EXPECT_GT(group.bytes_sent(), 0u);
          }
        });
      }
    }
  }
}

TEST(RoutingSinkTest, BlocksThatAreNotWholeAreAnErrorNamingTheSender) {
  const Election election = MakeRoutingElection();
  ThreadRanks::Run(2, [&](const RankGroup& group) {
    if (group.rank() == 1) {
      // Rank 1 sends a mixed block that claims more records than it holds.
      std::string garbage = "M";
      garbage.push_back(3);
      PutLittleEndian<uint32_t>(1000, &garbage);
      group.AllToAll({garbage, ""});
      return;
    }
    Aggregator local(election);
    RoutingSink sink(election, group, &local);
    const absl::Status status = sink.Exchange(1);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(status.message(), HasSubstr("rank 1 sent records that are not whole blocks"));
  });
}

TEST(RankGroupTest, AgreeOnStatusKeepsACommonFailureAndNamesASingleOne) {
  ThreadRanks::Run(3, [](const RankGroup& group) {
    EXPECT_TRUE(AgreeOnStatus(group, absl::OkStatus()).ok());
    const absl::Status alike = AgreeOnStatus(group, absl::NotFoundError("x.csv: missing"));
    EXPECT_EQ(alike, absl::NotFoundError("x.csv: missing"));
    const absl::Status one = AgreeOnStatus(
        group, group.rank() == 2 ? absl::DataLossError("y.cvb: byte 9: torn") : absl::OkStatus());
    EXPECT_EQ(one, absl::DataLossError("rank 2: y.cvb: byte 9: torn"));
    const absl::Status two = AgreeOnStatus(
        group, group.rank() == 0 ? absl::OkStatus() : absl::InternalError("rank-local"));
    EXPECT_EQ(two, absl::InternalError("rank 1: rank-local"));
  });
}

TEST(RankGroupTest, SumOverRanksIsExactAndRefusesToPass2To63) {
  ThreadRanks::Run(4, [](const RankGroup& group) {
    const uint64_t r = static_cast<uint64_t>(group.rank());
    absl::StatusOr<std::vector<uint64_t>> sum = SumOverRanks(group, {r, 10 * r, 7});
    ASSERT_TRUE(sum.ok());
    EXPECT_EQ(*sum, (std::vector<uint64_t>{6, 60, 28}));
    const uint64_t quarter = uint64_t{1} << 61;
    absl::StatusOr<std::vector<uint64_t>> full = SumOverRanks(group, {quarter});
    EXPECT_EQ(full.status().code(), absl::StatusCode::kOutOfRange);  // 4 x 2^61 = 2^63
    absl::StatusOr<std::vector<uint64_t>> fits = SumOverRanks(group, {quarter - 1});
    ASSERT_TRUE(fits.ok());
    EXPECT_EQ((*fits)[0], (uint64_t{1} << 63) - 4);
  });
}

TEST(RankGroupTest, IdentityOwnerIsAFixedHashOfTheStationIdAndTheSerialsBlock) {
  EXPECT_EQ(IdentityOwner(StationHash("AE-01"), 1, 1), 0);
  // Pinned (Mix64 of XXH3-64 of the id plus the block, modulo the ranks: computed apart
  // from the engine): an owner must not change between builds or machines.
  std::vector<int> owners;
  for (const char* id : {"AE-01", "AU-01", "IQ-06"}) {
    for (uint64_t serial : {1, 8388608, 8388609, 100000000}) {
      owners.push_back(IdentityOwner(StationHash(id), serial, 4));
    }
  }
  EXPECT_EQ(owners, (std::vector<int>{0, 0, 0, 2, 0, 0, 3, 3, 2, 2, 1, 2}));
  EXPECT_EQ(OwnedBlockEnd(1), kOwnedSerials);
  EXPECT_EQ(OwnedBlockEnd(kOwnedSerials), kOwnedSerials);
  EXPECT_EQ(OwnedBlockEnd(kOwnedSerials + 1), 2 * kOwnedSerials);
}

// The blocks of the roster's capacity, largest first, each to the least-loaded rank: the
// assignment owners.h documents, written again here from its comment alone.
std::vector<int> GreedyOwners(const std::vector<uint64_t>& capacities, int ranks) {
  std::vector<std::pair<uint64_t, size_t>> blocks;  // (serials, index)
  for (uint64_t capacity : capacities) {
    for (uint64_t at = 0; at < capacity; at += kOwnedSerials) {
      blocks.emplace_back(std::min(kOwnedSerials, capacity - at), blocks.size());
    }
  }
  std::vector<int> owner(blocks.size());
  std::vector<uint64_t> load(static_cast<size_t>(ranks), 0);
  std::stable_sort(blocks.begin(), blocks.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& [serials, index] : blocks) {
    int least = 0;
    for (int r = 1; r < ranks; ++r) least = load[r] < load[least] ? r : least;
    owner[index] = least;
    load[least] += serials;
  }
  return owner;
}

TEST(IdentityOwnersTest, BlocksOfTheRosterGoLargestFirstToTheLeastLoadedRank) {
  // Skewed stations: one of 20 blocks and a half, a few of one or two, many small ones.
  std::vector<uint64_t> capacities = {
      20 * kOwnedSerials + kOwnedSerials / 2, kOwnedSerials, 2 * kOwnedSerials + 7, 5000, 12506, 1};
  for (int s = 0; s < 30; ++s) capacities.push_back(1000 + 997 * s);
  ElectionBuilder builder("owners-test", "owners test");
  builder.AddChoices(3).AddStations(capacities, {"AA"});
  const Election election = builder.Build();
  for (int ranks : {1, 2, 3, 4, 7}) {
    SCOPED_TRACE(::testing::Message() << ranks << " ranks");
    const IdentityOwners owners(election, ranks);
    const std::vector<int> expected = GreedyOwners(capacities, ranks);
    size_t index = 0;
    std::vector<uint64_t> load(static_cast<size_t>(ranks), 0);
    for (StationIndex s = 0; s < capacities.size(); ++s) {
      for (uint64_t at = 0; at < capacities[s]; at += kOwnedSerials, ++index) {
        // Every serial of a block has the block's owner.
        const int owner = owners.Owner(s, at + 1);
        EXPECT_EQ(owner, expected[index]) << "station " << s << " block " << at / kOwnedSerials;
        EXPECT_EQ(owners.Owner(s, std::min(capacities[s], at + kOwnedSerials)), owner);
        load[owner] += std::min(kOwnedSerials, capacities[s] - at);
      }
      // Past the capacity's last block: the hash of the id and block, on every rank.
      const uint64_t past = (capacities[s] + kOwnedSerials - 1) / kOwnedSerials * kOwnedSerials + 1;
      EXPECT_EQ(owners.Owner(s, past),
                IdentityOwner(StationHash(election.stations[s].id), past, ranks));
      EXPECT_EQ(owners.Owner(s, UINT64_MAX),
                IdentityOwner(StationHash(election.stations[s].id), UINT64_MAX, ranks));
    }
    EXPECT_EQ(owners.serials_owned(), load);
    // Even to within one block.
    const auto [least, most] = std::minmax_element(load.begin(), load.end());
    EXPECT_LE(*most - *least, kOwnedSerials);
  }
}

// A stream on ranks (engine/ingest/streams.h): rank 0 alone opens the FIFO (a second
// reader would take part of its bytes), and every rank's copy holds all of them: 25 MB,
// two pieces on 4 ranks. A regular file beside it is left as it is.
TEST(RankGroupStreamsTest, AStreamIsReadByRankZeroAndSentWholeToEveryRank) {
  ::canvass::testing::TempDir dir;
  const std::string fifo = dir.File("feed");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const std::string file = dir.File("plain.csv");
  std::ofstream(file) << "station,seq,choice\n";
  std::string data;
  std::mt19937_64 random(7);
  while (data.size() < (25u << 20))
    absl::StrAppend(&data, "AE-", random() % 1000, ",", random(), ",JAL\n");
  std::thread writer([&] {
    const int fd = open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    for (size_t at = 0; at < data.size();) {
      const ssize_t n = write(fd, data.data() + at, data.size() - at);
      ASSERT_GT(n, 0);
      at += static_cast<size_t>(n);
    }
    close(fd);
  });
  ThreadRanks::Run(4, [&](const RankGroup& group) {
    SpooledStreams streams;
    const absl::Status spooled = streams.SpoolOnRanks({fifo, file}, group);
    ASSERT_TRUE(spooled.ok()) << spooled;
    EXPECT_EQ(streams.streams(), std::vector<std::string>{fifo});
    EXPECT_EQ(streams.OpenPath(file), file);
    std::ifstream copy(streams.OpenPath(fifo), std::ios::binary);
    std::stringstream bytes;
    bytes << copy.rdbuf();
    EXPECT_EQ(bytes.str().size(), data.size()) << "rank " << group.rank();
    EXPECT_TRUE(bytes.str() == data) << "rank " << group.rank();
  });
  writer.join();
}

}  // namespace
}  // namespace canvass
