// Google Benchmark program comparing ways to count ballots per choice from many threads:
// shared atomics, per-thread slots, oneTBB's combinable / enumerable_thread_specific /
// parallel_reduce, the engine's local-histogram-and-flush, and a vectorized
// compare-and-count, beside two same-run baselines (memory-read bandwidth, a naive loop).
//
// The input is one column of N choice bytes (the reference split 50206:36169:1950,
// apportioned exactly over N) and one column of N uint32 station indexes (the reference
// roster's 138 skewed weights), jointly shuffled with a fixed seed and built once, so each
// benchmark checks its counts against the exact totals known by construction.
//
// Every design runs at 1 and 2 threads; 4 and 8 threads run too, and where they exceed the
// hardware threads they are registered as BM_..._Oversubscribed with counter
// oversubscribed=1 (tbb::global_control lifts oneTBB's default cap to allow them).
//
// `--canvass_ballots=N` sets N (default 100,000,000); ctest runs everything at 100,000.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "benchmark/benchmark.h"
#include "engine/base/apportion.h"
#include "engine/base/check.h"
#include "engine/base/decimal.h"
#include "engine/election/election.h"
#include "tbb/blocked_range.h"
#include "tbb/combinable.h"
#include "tbb/enumerable_thread_specific.h"
#include "tbb/global_control.h"
#include "tbb/parallel_for.h"
#include "tbb/parallel_reduce.h"
#include "tbb/partitioner.h"
#include "tbb/task_arena.h"

namespace canvass {
namespace {

// The reference contest's choices and roster size; Columns::Get() checks both, and the
// constants let the local histograms live on the stack.
constexpr size_t kNumChoices = 3;
constexpr size_t kNumStations = 138;
constexpr size_t kNumCells = kNumStations * kNumChoices;  // station x choice
// Ballots per parallel_for chunk (simple_partitioner: chunks of kChunkBallots / 2 to
// kChunkBallots), the same for every design so only the counting differs.
constexpr size_t kChunkBallots = size_t{1} << 16;
constexpr uint64_t kShuffleSeed = 0x43616e7661737321;  // "Canvass!"

using Histogram = std::array<uint64_t, kNumChoices>;
using SharedHistogram = std::array<std::atomic<uint64_t>, kNumChoices>;
static_assert(std::atomic<uint64_t>::is_always_lock_free, "shared counters must be lock-free");

uint64_t g_ballots = 100'000'000;

// ---- Input: the two columns and their exact counts, built once ----

struct Columns {
  std::vector<ChoiceIndex> choice;
  std::vector<StationIndex> station;
  Histogram expected{};                  // ballots per choice
  std::vector<uint64_t> expected_cells;  // ballots per station x choice

  size_t size() const { return choice.size(); }
  static const Columns& Get();
};

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

// Exact counts by construction: the reported figures apportioned over N, then each
// choice's total apportioned over the stations by weight (as the generator does).
void PlanCounts(const Election& election, Columns* columns) {
  const Contest& contest = election.contest();
  CANVASS_CHECK(contest.choices.size() == kNumChoices);
  CANVASS_CHECK(election.stations.size() == kNumStations);
  CANVASS_CHECK(contest.reported && contest.reported->InternallyConsistent());
  std::vector<uint64_t> figures;
  for (const auto& figure : contest.reported->choices) figures.push_back(*figure);
  std::vector<uint64_t> weights;
  for (const Station& station : election.stations) weights.push_back(station.weight);
  const std::vector<uint64_t> totals = ApportionLargestRemainder(g_ballots, figures);
  columns->expected_cells.assign(kNumCells, 0);
  for (size_t c = 0; c < kNumChoices; ++c) {
    columns->expected[c] = totals[c];
    const std::vector<uint64_t> per_station = ApportionLargestRemainder(totals[c], weights);
    for (size_t s = 0; s < kNumStations; ++s) {
      columns->expected_cells[s * kNumChoices + c] = per_station[s];
    }
  }
}

const Columns& Columns::Get() {
  static const Columns* const columns = [] {
    auto* result = new Columns;
    PlanCounts(ReferenceElection(), result);
    // Lay the records out in cell order, packed as station << 8 | choice so the shuffle
    // moves one word per swap, then Fisher-Yates with a fixed seed and unpack.
    std::vector<uint32_t> packed(g_ballots);
    size_t at = 0;
    for (size_t cell = 0; cell < kNumCells; ++cell) {
      const uint32_t value = static_cast<uint32_t>((cell / kNumChoices) << 8 | cell % kNumChoices);
      std::fill_n(packed.begin() + at, result->expected_cells[cell], value);
      at += result->expected_cells[cell];
    }
    CANVASS_CHECK(at == g_ballots);
    uint64_t rng = kShuffleSeed;
    for (size_t i = packed.size(); i > 1; --i) {
      const size_t j =
          static_cast<size_t>((static_cast<unsigned __int128>(SplitMix64(rng)) * i) >> 64);
      std::swap(packed[i - 1], packed[j]);
    }
    result->choice.resize(g_ballots);
    result->station.resize(g_ballots);
    for (size_t i = 0; i < packed.size(); ++i) {
      result->choice[i] = static_cast<ChoiceIndex>(packed[i] & 0xFF);
      result->station[i] = packed[i] >> 8;
    }
    return result;
  }();
  return *columns;
}

// ---- Shared benchmark plumbing ----

int HardwareThreads() {
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void SetCounters(benchmark::State& state, int threads, uint64_t bytes_per_ballot) {
  const uint64_t ballots = Columns::Get().size();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * ballots));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * ballots * bytes_per_ballot));
  state.counters["threads"] = threads;
  state.counters["oversubscribed"] = threads > HardwareThreads() ? 1 : 0;
}

tbb::blocked_range<size_t> AllChunks() {
  return tbb::blocked_range<size_t>(0, Columns::Get().size(), kChunkBallots);
}

// Runs a per-choice design `count(columns, threads)` inside an arena of state.range(0)
// threads, checking every iteration's histogram against the exact counts.
template <typename CountFn>
void RunChoiceBenchmark(benchmark::State& state, CountFn count) {
  const Columns& columns = Columns::Get();
  const int threads = static_cast<int>(state.range(0));
  tbb::task_arena arena(threads);
  for (auto _ : state) {
    const Histogram counts = arena.execute([&] { return count(columns, threads); });
    if (counts != columns.expected) {
      state.SkipWithError("per-choice counts differ from the exact counts");
      break;
    }
  }
  SetCounters(state, threads, sizeof(ChoiceIndex));
}

// Same for the station x choice designs, which read both columns.
template <typename CountFn>
void RunCellBenchmark(benchmark::State& state, CountFn count) {
  const Columns& columns = Columns::Get();
  const int threads = static_cast<int>(state.range(0));
  tbb::task_arena arena(threads);
  for (auto _ : state) {
    const std::vector<uint64_t> cells = arena.execute([&] { return count(columns); });
    if (cells != columns.expected_cells) {
      state.SkipWithError("station x choice counts differ from the exact counts");
      break;
    }
  }
  SetCounters(state, threads, sizeof(ChoiceIndex) + sizeof(StationIndex));
}

template <typename Shared>
Histogram Load(const Shared& shared) {
  Histogram result;
  for (size_t c = 0; c < kNumChoices; ++c) result[c] = shared[c].load(std::memory_order_relaxed);
  return result;
}

// ---- The designs, per choice ----

// 1. One shared atomic per choice, one relaxed fetch_add per ballot.
Histogram CountSharedAtomicPerBallot(const Columns& columns, int) {
  SharedHistogram shared{};
  tbb::parallel_for(
      AllChunks(),
      [&](const tbb::blocked_range<size_t>& chunk) {
        for (size_t i = chunk.begin(); i != chunk.end(); ++i) {
          shared[columns.choice[i]].fetch_add(1, std::memory_order_relaxed);
        }
      },
      tbb::simple_partitioner());
  return Load(shared);
}

// 2. One slot per arena thread, padded to a cache line, plain increments per ballot.
// A chunk runs on one thread from start to end (the body never waits, so it cannot steal),
// and current_thread_index() is unique among the arena's threads, so no slot is shared.
struct alignas(64) PaddedSlot {
  Histogram counts{};
};
static_assert(sizeof(PaddedSlot) == 64);

Histogram CountPaddedPerThreadSlots(const Columns& columns, int threads) {
  std::vector<PaddedSlot> slots(static_cast<size_t>(threads));
  tbb::parallel_for(
      AllChunks(),
      [&](const tbb::blocked_range<size_t>& chunk) {
        Histogram& counts = slots[tbb::this_task_arena::current_thread_index()].counts;
        for (size_t i = chunk.begin(); i != chunk.end(); ++i) ++counts[columns.choice[i]];
      },
      tbb::simple_partitioner());
  Histogram result{};
  for (const PaddedSlot& slot : slots) {
    for (size_t c = 0; c < kNumChoices; ++c) result[c] += slot.counts[c];
  }
  return result;
}

Histogram Add(Histogram a, const Histogram& b) {
  for (size_t c = 0; c < kNumChoices; ++c) a[c] += b[c];
  return a;
}

// 3. tbb::combinable, local() looked up for every ballot.
Histogram CountCombinableLocalPerRecord(const Columns& columns, int) {
  tbb::combinable<Histogram> local([] { return Histogram{}; });
  tbb::parallel_for(
      AllChunks(),
      [&](const tbb::blocked_range<size_t>& chunk) {
        for (size_t i = chunk.begin(); i != chunk.end(); ++i) ++local.local()[columns.choice[i]];
      },
      tbb::simple_partitioner());
  return local.combine(Add);
}

// 4. tbb::combinable, local() looked up once per chunk.
Histogram CountCombinableLocalPerChunk(const Columns& columns, int) {
  tbb::combinable<Histogram> local([] { return Histogram{}; });
  tbb::parallel_for(
      AllChunks(),
      [&](const tbb::blocked_range<size_t>& chunk) {
        Histogram& counts = local.local();
        for (size_t i = chunk.begin(); i != chunk.end(); ++i) ++counts[columns.choice[i]];
      },
      tbb::simple_partitioner());
  return local.combine(Add);
}

// 5. tbb::enumerable_thread_specific, local() once per chunk, combine_each at the end.
Histogram CountEnumerableThreadSpecific(const Columns& columns, int) {
  tbb::enumerable_thread_specific<Histogram> local(Histogram{});
  tbb::parallel_for(
      AllChunks(),
      [&](const tbb::blocked_range<size_t>& chunk) {
        Histogram& counts = local.local();
        for (size_t i = chunk.begin(); i != chunk.end(); ++i) ++counts[columns.choice[i]];
      },
      tbb::simple_partitioner());
  Histogram result{};
  local.combine_each([&](const Histogram& counts) { result = Add(result, counts); });
  return result;
}

// 6. tbb::parallel_reduce over a histogram value.
Histogram CountParallelReduce(const Columns& columns, int) {
  return tbb::parallel_reduce(
      AllChunks(), Histogram{},
      [&](const tbb::blocked_range<size_t>& chunk, Histogram counts) {
        for (size_t i = chunk.begin(); i != chunk.end(); ++i) ++counts[columns.choice[i]];
        return counts;
      },
      Add, tbb::simple_partitioner());
}

// Counts [begin, end) of `key` into `local`, rotating over four sub-histograms so that
// runs of equal keys do not form one chain of store-to-load forwarding.
template <size_t kKeys, typename KeyFn>
void CountInterleaved(size_t begin, size_t end, KeyFn key, uint64_t (&local)[4][kKeys]) {
  size_t i = begin;
  for (; i + 4 <= end; i += 4) {
    ++local[0][key(i)];
    ++local[1][key(i + 1)];
    ++local[2][key(i + 2)];
    ++local[3][key(i + 3)];
  }
  for (; i != end; ++i) ++local[0][key(i)];
}

// 7. The engine's design: a stack histogram per chunk, flushed with one relaxed fetch_add
// per choice into shared lock-free atomics.
Histogram CountLocalHistogramLockFreeFlush(const Columns& columns, int) {
  SharedHistogram shared{};
  tbb::parallel_for(
      AllChunks(),
      [&](const tbb::blocked_range<size_t>& chunk) {
        uint64_t local[4][kNumChoices] = {};
        CountInterleaved(
            chunk.begin(), chunk.end(), [&](size_t i) { return columns.choice[i]; }, local);
        for (size_t c = 0; c < kNumChoices; ++c) {
          const uint64_t n = local[0][c] + local[1][c] + local[2][c] + local[3][c];
          if (n != 0) shared[c].fetch_add(n, std::memory_order_relaxed);
        }
      },
      tbb::simple_partitioner());
  return Load(shared);
}

// 8. Compare-and-count, left to the compiler's auto-vectorizer. Blocks of 64 rows of 64
// bytes: each row adds (byte == c) into 64 byte-wide lane counters per choice, which
// cannot pass 64 within a block, so with -march=native on AVX-512BW GCC 12 emits one
// 64-byte load per row and a vpcmpeqb, vpblendmb and vpsubb per choice (checked with
// -fopt-info-vec and in the assembly). The compared value must have the byte's type:
// compared with a size_t, GCC widens every byte to 64-bit lanes, several times slower.
constexpr size_t kLaneBytes = 64;
constexpr size_t kBlockBytes = 64 * kLaneBytes;
static_assert(kChunkBallots % kBlockBytes == 0);

void CompareCount(const ChoiceIndex* p, size_t n, Histogram& counts) {
  size_t i = 0;
  for (; i + kBlockBytes <= n; i += kBlockBytes) {
    uint8_t lanes[kNumChoices][kLaneBytes] = {};
    for (size_t row = i; row != i + kBlockBytes; row += kLaneBytes) {
      for (size_t c = 0; c < kNumChoices; ++c) {
        for (size_t l = 0; l < kLaneBytes; ++l) {
          lanes[c][l] += (p[row + l] == static_cast<ChoiceIndex>(c));
        }
      }
    }
    for (size_t c = 0; c < kNumChoices; ++c) {
      uint32_t sum = 0;
      for (size_t l = 0; l < kLaneBytes; ++l) sum += lanes[c][l];
      counts[c] += sum;
    }
  }
  for (; i != n; ++i) {
    if (p[i] < kNumChoices) ++counts[p[i]];
  }
}

// The range is cut into whole blocks: halving 10^8 ballots gives chunks of 48,828, and
// their 3,772-byte scalar tails took half of the time (measured), so only the column's
// final partial block is counted by the scalar loop, once.
Histogram CountSimdCompareCount(const Columns& columns, int) {
  SharedHistogram shared{};
  const ChoiceIndex* choice = columns.choice.data();
  const size_t blocks = columns.size() / kBlockBytes;
  tbb::parallel_for(
      tbb::blocked_range<size_t>(0, blocks, kChunkBallots / kBlockBytes),
      [&](const tbb::blocked_range<size_t>& chunk) {
        Histogram local{};
        CompareCount(choice + chunk.begin() * kBlockBytes, chunk.size() * kBlockBytes, local);
        for (size_t c = 0; c < kNumChoices; ++c) {
          if (local[c] != 0) shared[c].fetch_add(local[c], std::memory_order_relaxed);
        }
      },
      tbb::simple_partitioner());
  Histogram result = Load(shared);
  CompareCount(choice + blocks * kBlockBytes, columns.size() - blocks * kBlockBytes, result);
  return result;
}

// ---- The designs, per station x choice ----

size_t CellOf(const Columns& columns, size_t i) {
  return static_cast<size_t>(columns.station[i]) * kNumChoices + columns.choice[i];
}

std::vector<uint64_t> LoadCells(const std::unique_ptr<std::atomic<uint64_t>[]>& shared) {
  std::vector<uint64_t> cells(kNumCells);
  for (size_t k = 0; k < kNumCells; ++k) cells[k] = shared[k].load(std::memory_order_relaxed);
  return cells;
}

// 1, per cell: one fetch_add per ballot on a station x choice atomic.
std::vector<uint64_t> CountSharedAtomicPerBallotPerStation(const Columns& columns) {
  auto shared = std::make_unique<std::atomic<uint64_t>[]>(kNumCells);
  tbb::parallel_for(
      AllChunks(),
      [&](const tbb::blocked_range<size_t>& chunk) {
        for (size_t i = chunk.begin(); i != chunk.end(); ++i) {
          shared[CellOf(columns, i)].fetch_add(1, std::memory_order_relaxed);
        }
      },
      tbb::simple_partitioner());
  return LoadCells(shared);
}

// 7, per cell: a 4 x 414-counter stack histogram per chunk, flushing its nonzero cells.
std::vector<uint64_t> CountLocalHistogramPerStation(const Columns& columns) {
  auto shared = std::make_unique<std::atomic<uint64_t>[]>(kNumCells);
  tbb::parallel_for(
      AllChunks(),
      [&](const tbb::blocked_range<size_t>& chunk) {
        uint64_t local[4][kNumCells] = {};
        CountInterleaved(
            chunk.begin(), chunk.end(), [&](size_t i) { return CellOf(columns, i); }, local);
        for (size_t k = 0; k < kNumCells; ++k) {
          const uint64_t n = local[0][k] + local[1][k] + local[2][k] + local[3][k];
          if (n != 0) shared[k].fetch_add(n, std::memory_order_relaxed);
        }
      },
      tbb::simple_partitioner());
  return LoadCells(shared);
}

// ---- Benchmarks ----

void BM_Counters_SharedAtomicPerBallot(benchmark::State& state) {
  RunChoiceBenchmark(state, CountSharedAtomicPerBallot);
}
void BM_Counters_PaddedPerThreadSlots(benchmark::State& state) {
  RunChoiceBenchmark(state, CountPaddedPerThreadSlots);
}
void BM_Counters_CombinableLocalPerRecord(benchmark::State& state) {
  RunChoiceBenchmark(state, CountCombinableLocalPerRecord);
}
void BM_Counters_CombinableLocalPerChunk(benchmark::State& state) {
  RunChoiceBenchmark(state, CountCombinableLocalPerChunk);
}
void BM_Counters_EnumerableThreadSpecific(benchmark::State& state) {
  RunChoiceBenchmark(state, CountEnumerableThreadSpecific);
}
void BM_Counters_ParallelReduce(benchmark::State& state) {
  RunChoiceBenchmark(state, CountParallelReduce);
}
void BM_Counters_LocalHistogramLockFreeFlush(benchmark::State& state) {
  RunChoiceBenchmark(state, CountLocalHistogramLockFreeFlush);
}
void BM_Counters_SimdCompareCount(benchmark::State& state) {
  RunChoiceBenchmark(state, CountSimdCompareCount);
}
void BM_Counters_SharedAtomicPerBallot_PerStation(benchmark::State& state) {
  RunCellBenchmark(state, CountSharedAtomicPerBallotPerStation);
}
void BM_Counters_LocalHistogram_PerStation(benchmark::State& state) {
  RunCellBenchmark(state, CountLocalHistogramPerStation);
}

// Baseline: memory-read bandwidth, summing a buffer the size of the choice column as
// 64-bit words (bytes/s is the figure to compare the designs' bytes/s with).
void BM_Memory_ReadBandwidth(benchmark::State& state) {
  const size_t words = (Columns::Get().size() + sizeof(uint64_t) - 1) / sizeof(uint64_t);
  static std::vector<uint64_t> buffer;
  if (buffer.size() != words) buffer.assign(words, 1);
  const int threads = static_cast<int>(state.range(0));
  tbb::task_arena arena(threads);
  for (auto _ : state) {
    const uint64_t sum = arena.execute([&] {
      return tbb::parallel_reduce(
          tbb::blocked_range<size_t>(0, words, kChunkBallots / sizeof(uint64_t)), uint64_t{0},
          [&](const tbb::blocked_range<size_t>& r, uint64_t acc) {
            return std::accumulate(buffer.data() + r.begin(), buffer.data() + r.end(), acc);
          },
          std::plus<uint64_t>(), tbb::simple_partitioner());
    });
    if (sum != words) {
      state.SkipWithError("bandwidth sum wrong");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * Columns::Get().size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * words * sizeof(uint64_t)));
  state.counters["threads"] = threads;
  state.counters["oversubscribed"] = threads > HardwareThreads() ? 1 : 0;
}

// Baseline: the obvious single-thread loop, no oneTBB at all.
void BM_Naive_SingleThreadLoop(benchmark::State& state) {
  const Columns& columns = Columns::Get();
  for (auto _ : state) {
    Histogram counts{};
    for (size_t i = 0; i < columns.size(); ++i) ++counts[columns.choice[i]];
    if (counts != columns.expected) {
      state.SkipWithError("naive loop miscounted");
      break;
    }
  }
  SetCounters(state, 1, sizeof(ChoiceIndex));
}

using BenchmarkFn = void (*)(benchmark::State&);

// Registers `name` at 1 and 2 threads and 4 and 8; thread counts past the hardware's go
// under `name`_Oversubscribed so that no reader takes them for a scaling figure.
void RegisterThreaded(const std::string& name, BenchmarkFn fn, std::vector<int> thread_counts) {
  std::vector<int> fitting, oversubscribed;
  for (int threads : thread_counts) {
    (threads > HardwareThreads() ? oversubscribed : fitting).push_back(threads);
  }
  auto add = [&](const std::string& full_name, const std::vector<int>& args) {
    if (args.empty()) return;
    benchmark::internal::Benchmark* b = benchmark::RegisterBenchmark(full_name.c_str(), fn);
    for (int threads : args) b->Arg(threads);
    b->UseRealTime()->Unit(benchmark::kMillisecond);
  };
  add(name, fitting);
  add(name + "_Oversubscribed", oversubscribed);
}

void RegisterAll() {
  RegisterThreaded("BM_Memory_ReadBandwidth", BM_Memory_ReadBandwidth, {1, 2});
  benchmark::RegisterBenchmark("BM_Naive_SingleThreadLoop", BM_Naive_SingleThreadLoop)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  const std::pair<const char*, BenchmarkFn> designs[] = {
      {"BM_Counters_SharedAtomicPerBallot", BM_Counters_SharedAtomicPerBallot},
      {"BM_Counters_PaddedPerThreadSlots", BM_Counters_PaddedPerThreadSlots},
      {"BM_Counters_CombinableLocalPerRecord", BM_Counters_CombinableLocalPerRecord},
      {"BM_Counters_CombinableLocalPerChunk", BM_Counters_CombinableLocalPerChunk},
      {"BM_Counters_EnumerableThreadSpecific", BM_Counters_EnumerableThreadSpecific},
      {"BM_Counters_ParallelReduce", BM_Counters_ParallelReduce},
      {"BM_Counters_LocalHistogramLockFreeFlush", BM_Counters_LocalHistogramLockFreeFlush},
      {"BM_Counters_SimdCompareCount", BM_Counters_SimdCompareCount},
      {"BM_Counters_SharedAtomicPerBallot_PerStation",
       BM_Counters_SharedAtomicPerBallot_PerStation},
      {"BM_Counters_LocalHistogram_PerStation", BM_Counters_LocalHistogram_PerStation},
  };
  for (const auto& [name, fn] : designs) RegisterThreaded(name, fn, {1, 2, 4, 8});
}

}  // namespace
}  // namespace canvass

int main(int argc, char** argv) {
  // Strip our own flag before Google Benchmark sees the rest.
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    constexpr const char* kBallotsFlag = "--canvass_ballots=";
    if (std::strncmp(argv[i], kBallotsFlag, std::strlen(kBallotsFlag)) == 0) {
      // A text that is not a plain decimal count falls back to 1, as 0 does.
      canvass::g_ballots =
          canvass::ParseDecimalUint64(argv[i] + std::strlen(kBallotsFlag)).value_or(0);
      if (canvass::g_ballots == 0) canvass::g_ballots = 1;
    } else {
      args.push_back(argv[i]);
    }
  }
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;
  // oneTBB caps total parallelism at the hardware threads; lift it so that the
  // oversubscribed arenas really get 4 and 8 threads.
  tbb::global_control allow_oversubscription(tbb::global_control::max_allowed_parallelism,
                                             std::max(8, canvass::HardwareThreads()));
  canvass::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
