// Identities' owners among the ranks of a job (owners.h).
#include "engine/ballot/owners.h"

#include <algorithm>
#include <tuple>

#include "engine/base/check.h"

namespace canvass {

IdentityOwners::IdentityOwners(const Election& election, int ranks)
    : ranks_(ranks), serials_owned_(static_cast<size_t>(ranks), 0) {
  CANVASS_CHECK(ranks >= 1 && ranks < kNoBlock);
  struct Block {
    uint64_t serials;
    size_t index;  // in owner_: roster, then serial order
  };
  std::vector<Block> order;
  for (const Station& station : election.stations) {
    hash_.push_back(StationHash(station.id));
    const uint64_t blocks = (station.capacity + kOwnedSerials - 1) / kOwnedSerials;
    blocks_.push_back(blocks);
    first_block_.push_back(owner_.size());
    for (uint64_t b = 0; b < blocks; ++b) {
      const uint64_t serials = std::min(kOwnedSerials, station.capacity - b * kOwnedSerials);
      order.push_back({serials, owner_.size()});
      owner_.push_back(0);
    }
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const Block& a, const Block& b) { return a.serials > b.serials; });
  for (const Block& block : order) {
    const int rank = static_cast<int>(
        std::min_element(serials_owned_.begin(), serials_owned_.end()) - serials_owned_.begin());
    owner_[block.index] = static_cast<uint16_t>(rank);
    serials_owned_[rank] += block.serials;
  }
  for (size_t s = 0; s < blocks_.size(); ++s) {
    first_owner_.push_back(blocks_[s] == 0 ? kNoBlock : owner_[first_block_[s]]);
  }
}

int IdentityOwners::OwnerBeyondFirstBlock(StationIndex station, uint64_t seq) const {
  const uint64_t block = (seq - 1) / kOwnedSerials;
  if (block < blocks_[station]) return owner_[first_block_[station] + block];
  return IdentityOwner(hash_[station], seq, ranks_);
}

}  // namespace canvass
