// RankGroup over MPI_COMM_WORLD (mpi_group.h).
#include "engine/distributed/mpi_group.h"

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"

namespace canvass {
namespace {

// The most bytes one MPI call moves per rank (its counts and displacements are ints).
constexpr uint64_t kMaxChunk = INT_MAX / 2;

// Adds the seconds between its construction and destruction to *seconds.
class CollectiveTimer {
 public:
  explicit CollectiveTimer(double* seconds) : seconds_(seconds), start_(MPI_Wtime()) {}
  ~CollectiveTimer() { *seconds_ += MPI_Wtime() - start_; }

 private:
  double* seconds_;
  double start_;
};

std::vector<uint64_t> AllGatherSizes(uint64_t mine, int size) {
  std::vector<uint64_t> sizes(static_cast<size_t>(size));
  MPI_Allgather(&mine, 1, MPI_UINT64_T, sizes.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD);
  return sizes;
}

}  // namespace

bool MpiGroup::LaunchedByMpirun() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMIX_RANK") != nullptr;
}

absl::StatusOr<std::unique_ptr<MpiGroup>> MpiGroup::Init(int* argc, char*** argv) {
  int provided = 0;
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
    return absl::InternalError("MPI_Init_thread failed");
  }
  if (provided < MPI_THREAD_FUNNELED) {
    MPI_Finalize();
    return absl::InternalError(
        absl::StrCat("MPI gives thread support level ", provided, ", the job needs FUNNELED"));
  }
  int rank = 0;
  int size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return std::unique_ptr<MpiGroup>(new MpiGroup(rank, size));
}

MpiGroup::~MpiGroup() { MPI_Finalize(); }

std::vector<std::string> MpiGroup::AllGather(absl::string_view mine) const {
  CollectiveTimer timer(&seconds_);
  const std::vector<uint64_t> sizes = AllGatherSizes(mine.size(), size_);
  std::vector<std::string> all(static_cast<size_t>(size_));
  for (int r = 0; r < size_; ++r) all[r].resize(sizes[r]);
  // Rounds of at most kMaxChunk bytes from each rank, until the longest is through.
  const uint64_t longest = *std::max_element(sizes.begin(), sizes.end());
  std::vector<int> counts(static_cast<size_t>(size_)), displacements(static_cast<size_t>(size_));
  std::string buffer;
  for (uint64_t done = 0; done == 0 || done < longest; done += kMaxChunk) {
    uint64_t total = 0;
    for (int r = 0; r < size_; ++r) {
      const uint64_t left = sizes[r] > done ? sizes[r] - done : 0;
      counts[r] = static_cast<int>(std::min(left, kMaxChunk));
      displacements[r] = static_cast<int>(total);
      total += static_cast<uint64_t>(counts[r]);
    }
    buffer.resize(total);
    const char* send = mine.data() + std::min<uint64_t>(done, mine.size());
    MPI_Allgatherv(send, counts[rank_], MPI_BYTE, buffer.data(), counts.data(),
                   displacements.data(), MPI_BYTE, MPI_COMM_WORLD);
    for (int r = 0; r < size_; ++r) {
      std::copy_n(buffer.data() + displacements[r], counts[r], all[r].data() + done);
    }
    bytes_sent_ += static_cast<uint64_t>(counts[rank_]) * static_cast<uint64_t>(size_ - 1);
    if (longest == 0) break;
  }
  return all;
}

std::vector<std::string> MpiGroup::AllToAll(std::vector<std::string> to_each) const {
  CollectiveTimer timer(&seconds_);
  to_each.resize(static_cast<size_t>(size_));
  std::vector<uint64_t> send_sizes(static_cast<size_t>(size_));
  for (int r = 0; r < size_; ++r) send_sizes[r] = to_each[r].size();
  std::vector<uint64_t> receive_sizes(static_cast<size_t>(size_));
  MPI_Alltoall(send_sizes.data(), 1, MPI_UINT64_T, receive_sizes.data(), 1, MPI_UINT64_T,
               MPI_COMM_WORLD);
  std::vector<std::string> received(static_cast<size_t>(size_));
  for (int r = 0; r < size_; ++r) received[r].resize(receive_sizes[r]);
  uint64_t longest = 0;
  for (int r = 0; r < size_; ++r) longest = std::max({longest, send_sizes[r], receive_sizes[r]});
  // Every rank computes the same number of rounds: the longest message anywhere.
  MPI_Allreduce(MPI_IN_PLACE, &longest, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
  std::vector<int> send_counts(static_cast<size_t>(size_)), send_at(static_cast<size_t>(size_));
  std::vector<int> receive_counts(static_cast<size_t>(size_)),
      receive_at(static_cast<size_t>(size_));
  std::string send_buffer, receive_buffer;
  for (uint64_t done = 0; done < longest; done += kMaxChunk) {
    uint64_t send_total = 0, receive_total = 0;
    send_buffer.clear();
    for (int r = 0; r < size_; ++r) {
      const uint64_t send_left = send_sizes[r] > done ? send_sizes[r] - done : 0;
      const uint64_t receive_left = receive_sizes[r] > done ? receive_sizes[r] - done : 0;
      send_counts[r] = static_cast<int>(std::min(send_left, kMaxChunk));
      receive_counts[r] = static_cast<int>(std::min(receive_left, kMaxChunk));
      send_at[r] = static_cast<int>(send_total);
      receive_at[r] = static_cast<int>(receive_total);
      send_buffer.append(to_each[r], std::min<uint64_t>(done, send_sizes[r]),
                         static_cast<size_t>(send_counts[r]));
      send_total += static_cast<uint64_t>(send_counts[r]);
      receive_total += static_cast<uint64_t>(receive_counts[r]);
      if (r != rank_) bytes_sent_ += static_cast<uint64_t>(send_counts[r]);
    }
    receive_buffer.resize(receive_total);
    MPI_Alltoallv(send_buffer.data(), send_counts.data(), send_at.data(), MPI_BYTE,
                  receive_buffer.data(), receive_counts.data(), receive_at.data(), MPI_BYTE,
                  MPI_COMM_WORLD);
    for (int r = 0; r < size_; ++r) {
      std::copy_n(receive_buffer.data() + receive_at[r], receive_counts[r],
                  received[r].data() + done);
    }
  }
  return received;
}

}  // namespace canvass
