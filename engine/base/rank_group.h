// The processes of one job run by several processes at once (`mpirun -np N canvass ...`):
// its ranks and the few collective operations the engine's stages need, as bytes, so that
// the stages (pipeline/, ingest/) take a share of the work and combine their results
// without depending on the runtime that connects them. engine/distributed/ implements it
// over MPI; a job of one process passes none (nullptr) and runs exactly as before.
//
// Collectives: every rank of the group calls the same collectives in the same order, each
// from one thread (the thread that runs the job), never from a job's workers. A failed
// rank still takes part in them, so that a job never waits on a rank that gave up: see
// AgreeOnStatus.
//
// Thread safety: rank() and size() from any thread; collectives as above.
#ifndef CANVASS_ENGINE_BASE_RANK_GROUP_H_
#define CANVASS_ENGINE_BASE_RANK_GROUP_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/base/bytes.h"

namespace canvass {

class RankGroup {
 public:
  virtual ~RankGroup() = default;
  virtual int rank() const = 0;  // 0 .. size() - 1; rank 0 prints the job's report
  virtual int size() const = 0;
  // Every rank's `mine`, in rank order, on every rank.
  virtual std::vector<std::string> AllGather(absl::string_view mine) const = 0;
  // Sends to_each[r] to rank r (to_each.size() == size()); returns what each rank sent
  // to this one, in rank order.
  virtual std::vector<std::string> AllToAll(std::vector<std::string> to_each) const = 0;
  // Bytes this rank has sent to other ranks so far (its own share excluded), and the
  // seconds it spent inside collectives: what a report of the job's cost quotes.
  virtual uint64_t bytes_sent() const = 0;
  virtual double seconds_in_collectives() const = 0;
};

// A collective: OK on every rank when `mine` is OK on every rank; otherwise the same error
// on every rank, so that each returns it and rank 0 prints it: the failure itself when
// every rank failed alike (the same input read the same way: the message one process
// gives), else the lowest failing rank's with "rank R: " before its message (code kept).
absl::Status AgreeOnStatus(const RankGroup& group, const absl::Status& mine);

// A collective: the element-wise sum of every rank's `mine` (all of the same length), on
// every rank; OutOfRange when a sum would pass 2^63 - 1 (the engine's counter limit), or
// InvalidArgument when the lengths differ.
absl::StatusOr<std::vector<uint64_t>> SumOverRanks(const RankGroup& group,
                                                   const std::vector<uint64_t>& mine);

// Ownership of identities among ranks (engine/ballot/owners.h) is by blocks of
// kOwnedSerials serials of a station: serials 1 to 2^23 are its block 0, the next 2^23
// block 1, ... A block is 2^23 serials so that, at 2 bits a serial, it fills one 2 MiB page
// of state: with smaller blocks (2^16 was tried) the kernel's transparent huge pages gave
// every rank a page wherever any of its blocks lay, so each rank's memory was the whole
// state and `run --scale 100000` on 2 ranks took 2.7x the time of one process.
inline constexpr uint64_t kOwnedSerials = uint64_t{1} << 23;

// XXH3-64 of a station's id.
uint64_t StationHash(absl::string_view station_id);

// A fixed owner for any (station, serial) by a hash of the station's id and the block:
// what owners.h gives the serials past a station's capacity (bad_seq wherever counted).
inline int IdentityOwner(uint64_t station_hash, uint64_t serial, int ranks) {
  if (ranks <= 1) return 0;
  const uint64_t block = (serial - 1) / kOwnedSerials;  // serial 0 wraps: still fixed
  return static_cast<int>(Mix64(station_hash + block) % static_cast<uint64_t>(ranks));
}

// The last serial of the block that holds `serial` (runs are cut there).
inline uint64_t OwnedBlockEnd(uint64_t serial) {
  return (serial - 1) / kOwnedSerials * kOwnedSerials + kOwnedSerials;
}

}  // namespace canvass

#endif  // CANVASS_ENGINE_BASE_RANK_GROUP_H_
