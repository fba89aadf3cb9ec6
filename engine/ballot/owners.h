// Which rank of a job of several processes (base/rank_group.h) owns each identity's
// exactly-once state. Every copy of one identity must meet on one rank; beyond that, the
// owners should share the counting evenly and keep each rank's state on pages of its own.
//
// The assignment: each station's serials 1..capacity are cut into blocks of kOwnedSerials
// (2^23: at 2 bits a serial one 2 MiB page of state); the blocks of the whole roster,
// largest first (then in roster and serial order), each go to the rank with the fewest
// serials so far (the lowest of equals). A fixed function of the roster and the number of
// ranks: the same on every machine, for every run and thread count, and even to within
// one block however skewed the stations are (owned by a hash of the station id, as first
// built, the reference election's largest stations left 65% of the counting to one rank
// of two). Serials past a station's capacity (which every rank rejects as bad_seq) belong
// to the owner of their block, or past the last block to IdentityOwner's hash of the
// station id and block.
//
// Thread safety: immutable after construction; Owner() from any thread.
#ifndef CANVASS_ENGINE_BALLOT_OWNERS_H_
#define CANVASS_ENGINE_BALLOT_OWNERS_H_

#include <cstdint>
#include <vector>

#include "engine/base/rank_group.h"
#include "engine/election/election.h"

namespace canvass {

class IdentityOwners {
 public:
  // Requires: ranks >= 1 (at most 65,534).
  IdentityOwners(const Election& election, int ranks);

  int ranks() const { return ranks_; }
  // Requires: station is a roster index.
  int Owner(StationIndex station, uint64_t seq) const {
    // Serials of a station's first block (every serial of most stations): one load.
    const uint16_t first = first_owner_[station];
    if (seq - 1 < kOwnedSerials && first != kNoBlock) [[likely]]
      return first;
    return OwnerBeyondFirstBlock(station, seq);
  }
  // Serials each rank owns, summed over the roster's capacity.
  const std::vector<uint64_t>& serials_owned() const { return serials_owned_; }

 private:
  int ranks_;
  std::vector<uint64_t> hash_;         // StationHash per station
  std::vector<uint64_t> blocks_;       // per station: blocks of its capacity
  std::vector<uint64_t> first_block_;  // per station: where they start in owner_
  std::vector<uint16_t> owner_;
  [[gnu::noinline]] int OwnerBeyondFirstBlock(StationIndex station, uint64_t seq) const;
  // Per station: the owner of its first block; kNoBlock for a station of no capacity.
  static constexpr uint16_t kNoBlock = UINT16_MAX;
  std::vector<uint16_t> first_owner_;
  std::vector<uint64_t> serials_owned_;
};

}  // namespace canvass

#endif  // CANVASS_ENGINE_BALLOT_OWNERS_H_
