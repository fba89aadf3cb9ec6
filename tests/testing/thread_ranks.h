// An in-process RankGroup (engine/base/rank_group.h) for unit tests: N threads of one
// process, each a rank, exchanging bytes through shared slots between two barriers. It
// lets the routing and summing code run under the sanitizers, which the mpirun suites
// (tests/distributed/, real Open MPI) cannot; it is not a stand-in for them.
//
// Thread safety: each rank's RankGroup is used by its own thread, as MPI's would be.
#ifndef CANVASS_TESTS_TESTING_THREAD_RANKS_H_
#define CANVASS_TESTS_TESTING_THREAD_RANKS_H_

#include <barrier>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "engine/base/rank_group.h"

namespace canvass::testing {

class ThreadRanks {
 public:
  // Runs body(group) on `ranks` threads at once, one rank each, and waits for them.
  static void Run(int ranks, const std::function<void(const RankGroup&)>& body) {
    Shared shared(ranks);
    std::vector<std::thread> threads;
    for (int r = 0; r < ranks; ++r) {
      threads.emplace_back([&shared, &body, r] { body(Rank(&shared, r)); });
    }
    for (std::thread& thread : threads) thread.join();
  }

 private:
  struct Shared {
    explicit Shared(int ranks)
        : size(ranks), barrier(ranks), slots(static_cast<size_t>(ranks) * ranks) {}
    const int size;
    std::barrier<> barrier;
    std::vector<std::string> slots;  // [from * size + to]
  };

  class Rank final : public RankGroup {
   public:
    Rank(Shared* shared, int rank) : shared_(shared), rank_(rank) {}
    int rank() const override { return rank_; }
    int size() const override { return shared_->size; }
    std::vector<std::string> AllGather(absl::string_view mine) const override {
      std::vector<std::string> to_each(static_cast<size_t>(shared_->size), std::string(mine));
      return AllToAll(std::move(to_each));
    }
    std::vector<std::string> AllToAll(std::vector<std::string> to_each) const override {
      const int size = shared_->size;
      for (int to = 0; to < size; ++to) {
        if (to != rank_) sent_ += to_each[to].size();
        shared_->slots[static_cast<size_t>(rank_) * size + to] = std::move(to_each[to]);
      }
      shared_->barrier.arrive_and_wait();  // every rank has written its row
      std::vector<std::string> received(static_cast<size_t>(size));
      for (int from = 0; from < size; ++from) {
        received[from] = shared_->slots[static_cast<size_t>(from) * size + rank_];
      }
      shared_->barrier.arrive_and_wait();  // every rank has read its column
      return received;
    }
    uint64_t bytes_sent() const override { return sent_; }
    double seconds_in_collectives() const override { return 0; }

   private:
    Shared* shared_;
    const int rank_;
    mutable uint64_t sent_ = 0;
  };
};

}  // namespace canvass::testing

#endif  // CANVASS_TESTS_TESTING_THREAD_RANKS_H_
