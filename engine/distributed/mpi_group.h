// The ranks of an `mpirun` job as a RankGroup (base/rank_group.h), over Open MPI's
// MPI_COMM_WORLD. Built when CMake finds MPI (CANVASS_MPI); the `canvass` program makes
// one only when mpirun started it, so the same binary run alone never touches MPI.
//
// Collectives are MPI_Allgatherv and MPI_Alltoallv of bytes, sizes exchanged first; a
// message of more than 2^31 - 1 bytes is sent in several rounds. MPI's errors end the
// whole job (MPI_ERRORS_ARE_FATAL): mpirun then names the rank and its exit.
//
// Thread safety: MPI is initialised with MPI_THREAD_FUNNELED; only the thread that called
// Init() calls the collectives (the job's workers never do). rank() and size() from any
// thread.
#ifndef CANVASS_ENGINE_DISTRIBUTED_MPI_GROUP_H_
#define CANVASS_ENGINE_DISTRIBUTED_MPI_GROUP_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/base/rank_group.h"

namespace canvass {

class MpiGroup final : public RankGroup {
 public:
  // True when mpirun (or another PMIx launcher) started this process: Open MPI sets
  // OMPI_COMM_WORLD_SIZE, PMIx launchers PMIX_RANK.
  static bool LaunchedByMpirun();

  // Initialises MPI, once per process; the group finalises it when destroyed.
  // Internal when MPI cannot be initialised with the thread support the job needs.
  static absl::StatusOr<std::unique_ptr<MpiGroup>> Init(int* argc, char*** argv);

  MpiGroup(const MpiGroup&) = delete;
  MpiGroup& operator=(const MpiGroup&) = delete;
  ~MpiGroup() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::vector<std::string> AllGather(absl::string_view mine) const override;
  std::vector<std::string> AllToAll(std::vector<std::string> to_each) const override;
  uint64_t bytes_sent() const override { return bytes_sent_; }
  double seconds_in_collectives() const override { return seconds_; }

 private:
  MpiGroup(int rank, int size) : rank_(rank), size_(size) {}

  const int rank_;
  const int size_;
  mutable uint64_t bytes_sent_ = 0;
  mutable double seconds_ = 0;
};

}  // namespace canvass

#endif  // CANVASS_ENGINE_DISTRIBUTED_MPI_GROUP_H_
