// Google Benchmark programs for the core engine: generation, exactly-once aggregation
// over pre-generated batches, and the fused end-to-end pipeline, each at 1 and 2 threads,
// beside two same-run baselines: the machine's memory-read bandwidth and a naive
// single-thread exactly-once loop. Every benchmark checks its own result.
//
// `--canvass_scale=K` sets the election scale (default 1000: 88,325,000 ballots);
// ctest runs every benchmark once at scale 1 so none can rot.
#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "benchmark/benchmark.h"
#include "engine/aggregate/aggregator.h"
#include "engine/base/decimal.h"
#include "engine/election/contests.h"
#include "engine/election/election.h"
#include "engine/ingest/convert.h"
#include "engine/ingest/cvr_job.h"
#include "engine/ingest/dominion_job.h"
#include "engine/ingest/ingest.h"
#include "engine/io/csv/csv_format.h"
#include "engine/io/cvb/cvb_writer.h"
#include "engine/io/nist/cvr_reader.h"
#include "engine/io/nist/err_json.h"
#include "engine/pipeline/pipeline.h"
#include "engine/reconcile/cell_reconciler.h"
#include "engine/synth/cvr_generator.h"
#include "engine/synth/dominion_generator.h"
#include "engine/synth/file_generator.h"
#include "engine/synth/generator.h"
#include "tbb/blocked_range.h"
#include "tbb/enumerable_thread_specific.h"
#include "tbb/parallel_for.h"
#include "tbb/parallel_reduce.h"
#include "tbb/task_arena.h"

namespace canvass {
namespace {

uint64_t g_scale = 1000;
// Bytes of input per ballot record in a batch: an 8-byte serial and a 1-byte choice.
constexpr int64_t kRecordBytes = sizeof(uint64_t) + sizeof(ChoiceIndex);

// The election a benchmark runs on: the reference election (skewed: the largest of 138
// stations holds 10% of the ballots) or a uniform variant (every station the same
// weight and capacity), at scale g_scale.
enum Shape { kSkewed = 0, kUniform = 1 };

Election UniformVariant(const Election& reference) {
  Election uniform = reference;
  const uint64_t share = reference.contest().reported->cast / reference.stations.size() + 8;
  for (Station& station : uniform.stations) {
    station.weight = 1;
    station.capacity = share;
  }
  uniform.id += "-uniform";
  uniform.BuildIndexes();
  return uniform;
}

// The scaled election and its planned streams, built once per shape and scale.
struct Fixture {
  Election election;
  std::unique_ptr<CalibratedStreams> streams;
  std::vector<BallotBatch> batches;  // filled on first use by the aggregation benchmarks

  static Fixture& Get(Shape shape = kSkewed, uint64_t scale = 0) {
    static std::map<std::pair<int, uint64_t>, std::unique_ptr<Fixture>> fixtures;
    if (scale == 0) scale = g_scale;
    std::unique_ptr<Fixture>& fixture = fixtures[{shape, scale}];
    if (!fixture) {
      const Election base =
          shape == kSkewed ? ReferenceElection() : UniformVariant(ReferenceElection());
      fixture.reset(new Fixture{ScaleElection(base, scale).value(), nullptr, {}});
      fixture->streams = std::make_unique<CalibratedStreams>(
          CalibratedStreams::Plan(fixture->election, GeneratorOptions{}).value());
    }
    return *fixture;
  }

  const std::vector<BallotBatch>& Batches() {
    if (batches.empty()) {
      batches.resize(streams->num_units());
      tbb::parallel_for(size_t{0}, batches.size(),
                        [&](size_t u) { streams->Generate(u, &batches[u]); });
    }
    return batches;
  }

  bool TallyIsCalibrated(const Tally& tally) const {
    const ReportedFigures& reported = *election.contest().reported;
    std::vector<uint64_t> totals = tally.ChoiceTotals();
    for (size_t c = 0; c < totals.size(); ++c) {
      if (totals[c] != *reported.choices[c]) return false;
    }
    return tally.TotalRejected() == 0 && tally.records_read == reported.cast;
  }
};

void SetCounters(benchmark::State& state, uint64_t ballots_per_iteration) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * ballots_per_iteration));
  state.SetBytesProcessed(
      static_cast<int64_t>(state.iterations() * ballots_per_iteration * kRecordBytes));
  state.counters["threads"] = static_cast<double>(state.range(0));
}

// Baseline: memory-read bandwidth, summing a 512 MiB buffer (bytes/s is the figure).
void BM_Memory_ReadBandwidth(benchmark::State& state) {
  const size_t words = (g_scale >= 100 ? size_t{512} << 20 : size_t{1} << 20) / sizeof(uint64_t);
  static std::vector<uint64_t> buffer;
  if (buffer.size() != words) buffer.assign(words, 1);
  tbb::task_arena arena(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    uint64_t sum = arena.execute([&] {
      return tbb::parallel_reduce(
          tbb::blocked_range<size_t>(0, words, 1 << 16), uint64_t{0},
          [&](const tbb::blocked_range<size_t>& r, uint64_t acc) {
            return std::accumulate(buffer.data() + r.begin(), buffer.data() + r.end(), acc);
          },
          std::plus<uint64_t>());
    });
    if (sum != words) state.SkipWithError("bandwidth sum wrong");
    benchmark::DoNotOptimize(sum);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * words * sizeof(uint64_t)));
  state.counters["threads"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_Memory_ReadBandwidth)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

// Baseline: the obvious single-thread exactly-once loop over the same batches.
void BM_Naive_ExactlyOnceLoop(benchmark::State& state) {
  Fixture& fixture = Fixture::Get();
  const auto& batches = fixture.Batches();
  const Election& election = fixture.election;
  const size_t num_choices = election.contest().choices.size();
  std::vector<uint64_t> base(election.stations.size() + 1, 0);
  for (size_t s = 0; s < election.stations.size(); ++s)
    base[s + 1] = base[s] + election.stations[s].capacity;
  for (auto _ : state) {
    std::vector<uint8_t> seen(base.back(), 0);
    std::vector<uint64_t> counts(election.stations.size() * num_choices, 0);
    for (const BallotBatch& batch : batches) {
      for (size_t i = 0; i < batch.size(); ++i) {
        uint8_t& mark = seen[base[batch.station] + batch.seq[i] - 1];
        if (mark == 0) {
          mark = 1;
          ++counts[batch.station * num_choices + batch.choice[i]];
        }
      }
    }
    if (std::accumulate(counts.begin(), counts.end(), uint64_t{0}) !=
        fixture.streams->total_ballots()) {
      state.SkipWithError("naive loop miscounted");
    }
  }
  SetCounters(state, fixture.streams->total_ballots());
}
BENCHMARK(BM_Naive_ExactlyOnceLoop)->Arg(1)->UseRealTime()->Unit(benchmark::kMillisecond);

// Generation alone: every unit generated into a per-worker batch.
void BM_Generate_Calibrated(benchmark::State& state) {
  Fixture& fixture = Fixture::Get();
  const CalibratedStreams& streams = *fixture.streams;
  tbb::task_arena arena(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    tbb::enumerable_thread_specific<BallotBatch> batches;
    tbb::enumerable_thread_specific<uint64_t> generated(0);
    arena.execute([&] {
      tbb::parallel_for(tbb::blocked_range<size_t>(0, streams.num_units()),
                        [&](const tbb::blocked_range<size_t>& units) {
                          BallotBatch& batch = batches.local();
                          uint64_t& count = generated.local();
                          for (size_t u = units.begin(); u != units.end(); ++u) {
                            streams.Generate(u, &batch);
                            count += batch.size();
                            benchmark::DoNotOptimize(batch.choice.data());
                          }
                        });
    });
    if (generated.combine(std::plus<uint64_t>()) != streams.total_ballots()) {
      state.SkipWithError("generated count wrong");
    }
  }
  SetCounters(state, streams.total_ballots());
}
BENCHMARK(BM_Generate_Calibrated)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

// Arguments of the ingest-path benchmarks: threads, station shape, exactly-once.
void IngestArgs(benchmark::internal::Benchmark* benchmark) {
  benchmark->ArgNames({"threads", "uniform", "exactly_once"});
  for (int threads : {1, 2}) {
    for (int uniform : {0, 1}) {
      for (int exactly_once : {1, 0}) benchmark->Args({threads, uniform, exactly_once});
    }
  }
  benchmark->UseRealTime()->Unit(benchmark::kMillisecond);
}

Fixture& ShapeOf(const benchmark::State& state) {
  return Fixture::Get(state.range(1) ? kUniform : kSkewed);
}

// Counts per choice only (count-only mode counts every in-range record).
bool TallyCountsAll(const Fixture& fixture, const Tally& tally) {
  return fixture.TallyIsCalibrated(tally);
}

// Aggregation over pre-generated batches (the state's page faults are part of the cost:
// each iteration starts from a fresh Aggregator, as a run does).
void BM_Aggregate_Batches(benchmark::State& state) {
  Fixture& fixture = ShapeOf(state);
  const auto& batches = fixture.Batches();
  tbb::task_arena arena(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    Aggregator aggregator(fixture.election, AggregatorOptions{state.range(2) != 0});
    arena.execute([&] {
      tbb::parallel_for(tbb::blocked_range<size_t>(0, batches.size()),
                        [&](const tbb::blocked_range<size_t>& range) {
                          for (size_t b = range.begin(); b != range.end(); ++b)
                            aggregator.Add(batches[b]);
                        });
    });
    if (!TallyCountsAll(fixture, aggregator.Finish().value())) state.SkipWithError("tally wrong");
  }
  SetCounters(state, fixture.streams->total_ballots());
}
BENCHMARK(BM_Aggregate_Batches)->Apply(IngestArgs);

// End to end: generation fused with aggregation, as `canvass run` does.
void BM_EndToEnd_Run(benchmark::State& state) {
  Fixture& fixture = ShapeOf(state);
  for (auto _ : state) {
    Tally tally =
        AggregateStreams(fixture.election, *fixture.streams, static_cast<int>(state.range(0)),
                         AggregatorOptions{state.range(2) != 0})
            .value();
    if (!TallyCountsAll(fixture, tally)) state.SkipWithError("tally wrong");
  }
  SetCounters(state, fixture.streams->total_ballots());
}
BENCHMARK(BM_EndToEnd_Run)->Apply(IngestArgs);

// Scale sweep: `canvass run`'s pipeline from 10^5 to 10^9 ballots on 2 threads, with the
// exactly-once state it needs and the process's peak resident memory so far.
void BM_Scale_EndToEnd(benchmark::State& state) {
  const uint64_t scale = std::max<uint64_t>(1, static_cast<uint64_t>(state.range(0)) / 88325);
  Fixture& fixture = Fixture::Get(kSkewed, scale);
  uint64_t state_bytes = 0;
  for (auto _ : state) {
    Tally tally = AggregateStreams(fixture.election, *fixture.streams, 2).value();
    if (!fixture.TallyIsCalibrated(tally)) state.SkipWithError("tally wrong");
  }
  state_bytes = Aggregator(fixture.election).state_bytes();  // mapped, never touched here
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  state.SetItemsProcessed(
      static_cast<int64_t>(state.iterations() * fixture.streams->total_ballots()));
  state.counters["ballots"] = static_cast<double>(fixture.streams->total_ballots());
  state.counters["state_bytes"] = static_cast<double>(state_bytes);
  state.counters["peak_rss_bytes"] = static_cast<double>(usage.ru_maxrss) * 1024;
  state.counters["threads"] = 2;
}

// ---- File ingest: CSV and cvb folders written once per run by GenerateFiles ----

struct FileFixture {
  std::string directory;
  uint64_t ballots = 0;
  uint64_t bytes = 0;
};

std::map<std::tuple<int, int, uint64_t>, FileFixture> g_file_fixtures;  // shape, format, scale

const FileFixture& Files(FileFormat format, Shape shape = kSkewed, uint64_t scale = 0) {
  if (scale == 0) scale = g_scale;
  FileFixture& fixture = g_file_fixtures[{shape, static_cast<int>(format), scale}];
  if (!fixture.directory.empty()) return fixture;
  if (g_file_fixtures.size() == 1) {
    std::atexit([] {
      for (const auto& [key, f] : g_file_fixtures) {
        if (!f.directory.empty()) {
          std::filesystem::remove_all(std::filesystem::path(f.directory).parent_path());
        }
      }
    });
  }
  char pattern[] = "/tmp/canvass-bench-XXXXXX";
  fixture.directory =
      std::string(mkdtemp(pattern)) + (format == FileFormat::kCsv ? "/csv" : "/cvb");
  const Fixture& base = Fixture::Get(shape, scale);
  GenerateOptions options;
  options.out_directory = fixture.directory;
  options.format = format;
  options.scale = scale;
  GenerateResult result = GenerateFiles(base.election, *base.streams, options).value();
  fixture.ballots = base.streams->total_ballots();
  fixture.bytes = result.bytes_written;
  return fixture;
}

void IngestBenchmark(benchmark::State& state, FileFormat format, uint64_t scale = 0) {
  const Shape shape = state.range(1) ? kUniform : kSkewed;
  const FileFixture& files = Files(format, shape, scale);
  const Fixture& base = Fixture::Get(shape, scale);
  IngestOptions options;
  options.threads = static_cast<int>(state.range(0));
  options.exactly_once = state.range(2) != 0;
  // One job untimed first. On this VM the first job after the files were written, or after
  // other benchmarks, touches memory the host has not backed lately (the state, fresh page
  // cache): 837 ms against 102 ms for the next jobs at 10x the scale. Google Benchmark
  // would then settle on one iteration per repetition and report that first touch.
  if (!IngestFiles(base.election, {files.directory}, options).ok()) {
    state.SkipWithError("warm-up job failed");
    return;
  }
  for (auto _ : state) {
    IngestResult result = IngestFiles(base.election, {files.directory}, options).value();
    if (!base.TallyIsCalibrated(result.tally) || !result.findings.empty()) {
      state.SkipWithError("ingest tally wrong");
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * files.ballots));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * files.bytes));
  state.counters["threads"] = static_cast<double>(state.range(0));
}

// CSV with full validation and exactly-once, page cache to tally (manifest hashing included).
void BM_Ingest_Csv(benchmark::State& state) { IngestBenchmark(state, FileFormat::kCsv); }
BENCHMARK(BM_Ingest_Csv)->Apply(IngestArgs);

// ---- One CSV file of every row: in station order, and shuffled line by line ----
//
// The same rows twice: station after station (the order the generator writes), and with
// the lines shuffled by a fixed seed, so that the station changes on almost every line,
// the way a central scanner or a live feed delivers records. The reader must be fast on
// both; the shuffled figure is never quoted without the sorted one of the same run.

struct OneFileFixture {
  std::string sorted, shuffled;          // CSV
  std::string sorted_cvb, shuffled_cvb;  // the same rows through CvbStreamWriter
  uint64_t ballots = 0, bytes = 0, cvb_bytes = 0;
};

// The rows (station,seq,choice) as one cvb file, in their order.
std::string RowsToCvb(const Election& election, const std::vector<std::string>& lines) {
  CvbStreamWriter writer(election);
  for (const std::string& line : lines) {
    const size_t a = line.find(','), b = line.find(',', a + 1);
    const StationIndex station =
        election.FindStation(absl::string_view(line).substr(0, a)).value_or(kUnknownStation);
    const ChoiceIndex choice = election.contest()
                                   .FindChoice(absl::string_view(line).substr(b + 1))
                                   .value_or(kUnknownChoice);
    writer.Add(station, std::stoull(line.substr(a + 1, b - a - 1)), choice);
  }
  return writer.Finish();
}

const OneFileFixture& OneFile() {
  static const OneFileFixture fixture = [] {
    const FileFixture& files = Files(FileFormat::kCsv);
    std::vector<std::filesystem::path> paths;
    for (const auto& entry : std::filesystem::directory_iterator(files.directory)) {
      if (entry.path().extension() == ".csv") paths.push_back(entry.path());
    }
    std::sort(paths.begin(), paths.end());  // station order
    std::vector<std::string> lines;
    for (const std::filesystem::path& path : paths) {
      std::ifstream in(path, std::ios::binary);
      std::string line;
      std::getline(in, line);  // the header
      while (std::getline(in, line)) lines.push_back(std::move(line));
    }
    OneFileFixture out;
    const std::filesystem::path parent = std::filesystem::path(files.directory).parent_path();
    out.sorted = (parent / "sorted.csv").string();
    out.shuffled = (parent / "shuffled.csv").string();
    auto write = [&](const std::string& path) {
      std::ofstream file(path, std::ios::binary);
      file << kCsvHeader << "\n";
      for (const std::string& line : lines) file << line << "\n";
    };
    const Election& election = Fixture::Get().election;
    out.sorted_cvb = (parent / "sorted.cvb").string();
    out.shuffled_cvb = (parent / "shuffled.cvb").string();
    write(out.sorted);
    std::ofstream(out.sorted_cvb, std::ios::binary) << RowsToCvb(election, lines);
    std::mt19937_64 random(20240707);
    std::shuffle(lines.begin(), lines.end(), random);
    write(out.shuffled);
    std::ofstream(out.shuffled_cvb, std::ios::binary) << RowsToCvb(election, lines);
    out.ballots = lines.size();
    out.bytes = std::filesystem::file_size(out.sorted);
    out.cvb_bytes = std::filesystem::file_size(out.shuffled_cvb);
    return out;
  }();
  return fixture;
}

void OneFileBenchmark(benchmark::State& state, bool shuffled, bool cvb = false) {
  const OneFileFixture& file = OneFile();
  const Fixture& base = Fixture::Get();
  IngestOptions options;
  options.threads = static_cast<int>(state.range(0));
  const std::vector<std::string> paths = {cvb ? (shuffled ? file.shuffled_cvb : file.sorted_cvb)
                                              : (shuffled ? file.shuffled : file.sorted)};
  if (!IngestFiles(base.election, paths, options).ok()) {  // untimed, as IngestBenchmark
    state.SkipWithError("warm-up job failed");
    return;
  }
  for (auto _ : state) {
    IngestResult result = IngestFiles(base.election, paths, options).value();
    if (!base.TallyIsCalibrated(result.tally) || !result.findings.empty()) {
      state.SkipWithError("ingest tally wrong");
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * file.ballots));
  state.SetBytesProcessed(static_cast<int64_t>(
      state.iterations() * (cvb ? std::filesystem::file_size(paths[0]) : file.bytes)));
  state.counters["threads"] = static_cast<double>(state.range(0));
}

// A file written once, in a folder of its own under /tmp, removed with the folder when the
// program ends (benchmarks hold one in a function-local static).
class ScratchFile {
 public:
  ScratchFile(const std::string& name, const std::function<void(std::ofstream&)>& write) {
    char pattern[] = "/tmp/canvass-bench-XXXXXX";
    folder_ = mkdtemp(pattern);
    path = folder_ + "/" + name;
    std::ofstream out(path, std::ios::binary);
    write(out);
  }
  ~ScratchFile() {
    std::error_code error;
    std::filesystem::remove_all(folder_, error);
  }
  std::string path;

 private:
  std::string folder_;
};

// ---- One line across many ranges ----

// A file of zero bytes after the header, as a crash leaves behind: one line, one malformed
// record, 64 KiB per unit of scale (64 MiB at the default 1000), read in 1 MiB ranges.
// Every range but the first lies inside the line; the time must be linear in the file's
// size (the memory-read bandwidth of the same run is its baseline), not in size times
// ranges (issue "Hardening", #8: 202 s for 1 GB before).
void BM_Ingest_Csv_LongLine(benchmark::State& state) {
  static const ScratchFile file("zeros.csv", [](std::ofstream& out) {
    out << kCsvHeader << "\n" << std::string(std::max<uint64_t>(g_scale, 16) << 16, '\0');
  });
  const std::string& path = file.path;
  const Fixture& base = Fixture::Get();
  IngestOptions options;
  options.threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    IngestResult result = IngestFiles(base.election, {path}, options).value();
    if (result.tally.records_read != 1 || result.tally.Rejected(RejectReason::kMalformed) != 1) {
      state.SkipWithError("a line of zero bytes is not one malformed record");
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(
      static_cast<int64_t>(state.iterations() * std::filesystem::file_size(path)));
  state.counters["threads"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_Ingest_Csv_LongLine)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Exactly-once, one file of every row in station order.
void BM_Ingest_Csv_OneFileSorted(benchmark::State& state) { OneFileBenchmark(state, false); }
BENCHMARK(BM_Ingest_Csv_OneFileSorted)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Exactly-once, the same rows with the lines shuffled (stations interleaved).
void BM_Ingest_Csv_Interleaved(benchmark::State& state) { OneFileBenchmark(state, true); }
BENCHMARK(BM_Ingest_Csv_Interleaved)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// ---- Records in any order: the two ways of checking them ----

// Every ballot of the calibrated election at the benchmark's scale, shuffled (stations
// interleaved record by record) and counted through AddMixed in batches of
// kDefaultBatchSize from `threads` workers, with the mixed path given (0: the region
// buffers, 1: each worker's own copy of the state, merged by Finish). No reading: the
// aggregator alone, beside the naive loop and memory bandwidth of the same run.
void BM_Aggregate_MixedPath(benchmark::State& state) {
  struct Columns {
    std::vector<StationIndex> station;
    std::vector<uint64_t> seq;
    std::vector<ChoiceIndex> choice;
  };
  static const Columns columns = [] {
    const std::vector<BallotBatch>& batches = Fixture::Get().Batches();
    std::vector<std::pair<uint32_t, uint32_t>> where;
    for (uint32_t b = 0; b < batches.size(); ++b) {
      for (uint32_t i = 0; i < batches[b].size(); ++i) where.emplace_back(b, i);
    }
    std::shuffle(where.begin(), where.end(), std::mt19937_64(20261203));
    Columns out;
    for (const auto& [b, i] : where) {
      out.station.push_back(batches[b].station);
      out.seq.push_back(batches[b].seq[i]);
      out.choice.push_back(batches[b].choice[i]);
    }
    return out;
  }();
  const Fixture& base = Fixture::Get();
  AggregatorOptions options;
  options.mixed_path = state.range(0) == 0 ? AggregatorOptions::MixedPath::kRegionBuffers
                                           : AggregatorOptions::MixedPath::kOwnStates;
  const size_t n = columns.seq.size();
  tbb::task_arena arena(static_cast<int>(state.range(1)));
  for (auto _ : state) {
    Aggregator aggregator(base.election, options);
    arena.execute([&] {
      tbb::parallel_for(
          tbb::blocked_range<size_t>(0, n, kDefaultBatchSize),
          [&](const tbb::blocked_range<size_t>& range) {
            for (size_t at = range.begin(); at < range.end(); at += kDefaultBatchSize) {
              const size_t count = std::min<size_t>(kDefaultBatchSize, range.end() - at);
              aggregator.AddMixed({columns.station.data() + at, columns.seq.data() + at,
                                   columns.choice.data() + at, count});
            }
          });
    });
    if (!base.TallyIsCalibrated(aggregator.Finish().value())) state.SkipWithError("miscounted");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  state.counters["threads"] = static_cast<double>(state.range(1));
}
BENCHMARK(BM_Aggregate_MixedPath)
    ->ArgNames({"own_states", "threads"})
    ->ArgsProduct({{0, 1}, {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// ---- Hostile shapes (issue "Hardening") ----

// 2^20 records at random serials of the roster's stations, counted through AddMixed, with
// the first station's capacity as given (0: the roster's own). Capacity 10^12 maps 250 GB of
// exactly-once state and touches one page per record: the figure is the cost of a state
// that only exists where it is written, beside the same records on the real roster.
void BM_Aggregate_MixedCapacity(benchmark::State& state) {
  Election election = ReferenceElection();
  const uint64_t capacity = static_cast<uint64_t>(state.range(0));
  if (capacity != 0) election.stations[0].capacity = capacity;
  constexpr size_t kRecords = size_t{1} << 20;
  std::vector<StationIndex> stations(kRecords);
  std::vector<uint64_t> seqs(kRecords);
  std::vector<ChoiceIndex> choices(kRecords);
  std::mt19937_64 random(20261202);
  for (size_t i = 0; i < kRecords; ++i) {
    stations[i] = static_cast<StationIndex>(random() % election.stations.size());
    seqs[i] = 1 + random() % election.stations[stations[i]].capacity;
    choices[i] = static_cast<ChoiceIndex>(random() % 3);
  }
  if (!Aggregator::CheckStateFits(election).ok()) {
    state.SkipWithError("the state cannot be mapped here");
    return;
  }
  for (auto _ : state) {
    Aggregator aggregator(election);
    for (size_t at = 0; at < kRecords; at += kDefaultBatchSize) {
      aggregator.AddMixed({stations.data() + at, seqs.data() + at, choices.data() + at,
                           std::min<size_t>(kDefaultBatchSize, kRecords - at)});
    }
    if (aggregator.Finish().value().records_read != kRecords) state.SkipWithError("miscounted");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRecords));
  state.counters["capacity"] = static_cast<double>(capacity);
}
BENCHMARK(BM_Aggregate_MixedCapacity)
    ->ArgName("capacity")
    ->Arg(0)
    ->Arg(1000000000000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// One record repeated 2^14 times per unit of scale (1.9 M rows at scale 114) in one CSV:
// every copy after the first is a duplicate kept for Finish(). Beside
// BM_Ingest_Csv_OneFileSorted (unique records) of the same run.
void BM_Ingest_Csv_ManyDuplicates(benchmark::State& state) {
  static const uint64_t rows = g_scale << 14;
  static const ScratchFile file("duplicates.csv", [](std::ofstream& out) {
    out << kCsvHeader << "\n";
    for (uint64_t i = 0; i < rows; ++i) out << "AE-01,1,JAL\n";
  });
  const Fixture& base = Fixture::Get();
  IngestOptions options;
  options.threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    IngestResult result = IngestFiles(base.election, {file.path}, options).value();
    if (result.tally.Rejected(RejectReason::kDuplicate) != rows - 1) {
      state.SkipWithError("duplicates miscounted");
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * rows));
  state.counters["threads"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_Ingest_Csv_ManyDuplicates)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// cvb, one file of every row written by CvbStreamWriter: in station order (blocks of
// consecutive serials, run-encoded) and shuffled (each station's block gathers its records
// as they come: serials at random, plain-encoded, stations interleaved block by block).
void BM_Ingest_Cvb_OneFileSorted(benchmark::State& state) { OneFileBenchmark(state, false, true); }
BENCHMARK(BM_Ingest_Cvb_OneFileSorted)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
void BM_Ingest_Cvb_Interleaved(benchmark::State& state) { OneFileBenchmark(state, true, true); }
BENCHMARK(BM_Ingest_Cvb_Interleaved)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// cvb: checksummed columnar blocks, page cache to tally.
void BM_Ingest_Cvb(benchmark::State& state) { IngestBenchmark(state, FileFormat::kCvb); }
BENCHMARK(BM_Ingest_Cvb)->Apply(IngestArgs);

// cvb at ten times the scale (880 M ballots at the default scale, in the same 138 files):
// a job at the default scale lasts about 10 ms, of which opening the folder (stat, map,
// walk the block headers of 138 files) and parsing its manifest take 2 to 3 ms that do
// not halve with a second thread. Here they are a few percent, so this is the path's own
// scaling.
void BM_Ingest_CvbLarge(benchmark::State& state) {
  IngestBenchmark(state, FileFormat::kCvb, 10 * g_scale);
  state.counters["scale"] = static_cast<double>(10 * g_scale);
}
BENCHMARK(BM_Ingest_CvbLarge)
    ->ArgNames({"threads", "uniform", "exactly_once"})
    ->Args({1, 0, 1})
    ->Args({2, 0, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// The folder's CSV files, read into memory.
std::vector<std::string> ReadCsvFiles(const std::string& directory) {
  std::vector<std::string> contents;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    if (entry.path().extension() != ".csv") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    contents.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return contents;
}

// Baseline: the naive CSV loop, one thread: getline-free scan with std::from_chars for
// the serial and a hash lookup per field, summing, no exactly-once.
void BM_Naive_CsvFromCharsLoop(benchmark::State& state) {
  const FileFixture& files = Files(FileFormat::kCsv);
  const Fixture& base = Fixture::Get();
  const std::vector<std::string> contents = ReadCsvFiles(files.directory);
  for (auto _ : state) {
    uint64_t rows = 0, serial_sum = 0;
    std::vector<uint64_t> counts(base.election.contest().choices.size(), 0);
    for (const std::string& text : contents) {
      size_t p = text.find('\n') + 1;  // skip the header
      while (p < text.size()) {
        const size_t comma1 = text.find(',', p);
        const size_t comma2 = text.find(',', comma1 + 1);
        const size_t end = text.find('\n', comma2 + 1);
        uint64_t seq = 0;
        std::from_chars(text.data() + comma1 + 1, text.data() + comma2, seq);
        const auto station =
            base.election.FindStation(absl::string_view(text.data() + p, comma1 - p));
        const auto choice = base.election.contest().FindChoice(
            absl::string_view(text.data() + comma2 + 1, end - comma2 - 1));
        if (station && choice) ++counts[*choice];
        serial_sum += seq;
        ++rows;
        p = end + 1;
      }
    }
    if (rows != files.ballots) state.SkipWithError("naive loop miscounted");
    benchmark::DoNotOptimize(serial_sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * files.ballots));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * files.bytes));
  state.counters["threads"] = 1;
}
BENCHMARK(BM_Naive_CsvFromCharsLoop)->UseRealTime()->Unit(benchmark::kMillisecond);

// The CSV parser alone, one thread, over the folder's files held in memory: validation
// and conversion into batches, without mapping, hashing or aggregation. With the naive
// loop above, it shows what the parser costs per row.
void BM_Parse_Csv(benchmark::State& state) {
  const FileFixture& files = Files(FileFormat::kCsv);
  const Fixture& base = Fixture::Get();
  const std::vector<std::string> contents = ReadCsvFiles(files.directory);
  for (auto _ : state) {
    uint64_t rows = 0, serial_sum = 0;
    CsvRangeParser parser(base.election, [&](const BatchView& batch) {
      rows += batch.count;
      for (size_t i = 0; i < batch.count; ++i) serial_sum += batch.seq[i];
    });
    for (const std::string& text : contents) {
      const auto* data = reinterpret_cast<const uint8_t*>(text.data());
      const size_t first = CheckCsvHeader("bench", data, text.size()).value();
      const CsvRangeResult result = parser.Parse(data, text.size(), first, text.size(), true);
      if (result.malformed != 0) state.SkipWithError("parser found malformed records");
    }
    parser.Flush();
    if (rows != files.ballots) state.SkipWithError("parser miscounted");
    benchmark::DoNotOptimize(serial_sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * files.ballots));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * files.bytes));
  state.counters["threads"] = 1;
}
BENCHMARK(BM_Parse_Csv)->UseRealTime()->Unit(benchmark::kMillisecond);

// ---- NIST cast vote records (issue "Real elections") ----

// NIST's gen-01 results report (datasets/nist-cdf) and two CVR JSON files generated from it
// at 2.5 x --canvass_scale times its figures (100,000 ballots, 270 MB each at the default
// 1000): records unit by unit, and interleaved across units in a seeded order.
struct CvrFixture {
  ContestElection election;  // reported figures at the generated scale
  std::unique_ptr<ScratchFile> unit_order;
  std::unique_ptr<ScratchFile> interleaved;
  uint64_t ballots = 0;
};

std::unique_ptr<ScratchFile> WriteCvrs(const ContestElection& base, uint64_t scale, bool interleave,
                                       uint64_t* ballots) {
  auto file = std::make_unique<ScratchFile>("cvr.json", [](std::ofstream&) {});
  const CvrGenerator generator =
      CvrGenerator::Plan(base, CvrGeneratorOptions{scale, 7, interleave}).value();
  std::FILE* out = std::fopen(file->path.c_str(), "wb");
  if (out == nullptr || !generator.Write(out, file->path).ok() || std::fclose(out) != 0) {
    std::abort();
  }
  *ballots = generator.ballots();
  return file;
}

const CvrFixture& Cvrs() {
  static const CvrFixture* fixture = [] {
    auto* built = new CvrFixture;
    const ContestElection base = LoadResultsReportJson(std::string(CANVASS_SOURCE_DIR) +
                                                       "/datasets/nist-cdf/gen-01/err-gen-01.json")
                                     .value();
    const uint64_t scale = std::max<uint64_t>(1, g_scale * 5 / 2);
    built->election = ScaleContestElection(base, scale).value();
    built->unit_order = WriteCvrs(base, scale, false, &built->ballots);
    built->interleaved = WriteCvrs(base, scale, true, &built->ballots);
    return built;
  }();
  return *fixture;
}

void CvrBenchmark(benchmark::State& state, bool interleaved) {
  const CvrFixture& cvrs = Cvrs();
  const std::string& path = (interleaved ? cvrs.interleaved : cvrs.unit_order)->path;
  CvrJobOptions options;
  options.threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    const CvrJobResult job = ReadCvrFiles(cvrs.election, {path}, options).value();
    if (job.tally.counted != cvrs.ballots || job.tally.TotalRejected() != 0 ||
        !ReconcileCells(cvrs.election, job.tally, {}).match) {
      state.SkipWithError("the generated records do not reconcile to the report");
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * cvrs.ballots));
  state.SetBytesProcessed(
      static_cast<int64_t>(state.iterations() * std::filesystem::file_size(path)));
  state.counters["threads"] = static_cast<double>(state.range(0));
}

// Whole job: scan, decode, exactly-once, roll-up; checked against the report (match).
void BM_Ingest_NistCvrJson_UnitOrder(benchmark::State& state) { CvrBenchmark(state, false); }
BENCHMARK(BM_Ingest_NistCvrJson_UnitOrder)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
void BM_Ingest_NistCvrJson_Interleaved(benchmark::State& state) { CvrBenchmark(state, true); }
BENCHMARK(BM_Ingest_NistCvrJson_Interleaved)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// The serial stage alone: finding every record's span (the job's ceiling on any number of
// threads), on the file read into memory once.
void BM_Scan_NistCvrJson(benchmark::State& state) {
  const CvrFixture& cvrs = Cvrs();
  std::ifstream in(cvrs.interleaved->path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (auto _ : state) {
    std::unique_ptr<CvrScanner> scanner = NewCvrScanner(CvrFormat::kJson, "cvr.json", text);
    std::vector<CvrSpan> spans;
    uint64_t records = 0;
    while (true) {
      spans.clear();
      const bool more = scanner->Next(4u << 20, &spans).value();
      records += spans.size();
      if (!more) break;
    }
    if (records != cvrs.ballots) state.SkipWithError("records missed");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * cvrs.ballots));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_Scan_NistCvrJson)->UseRealTime()->Unit(benchmark::kMillisecond);

// ---- Dominion CVR exports (issue "dominion") ----

// Exports generated from gen-01 at 2.5 x --canvass_scale times its figures (100,000
// sessions, about 290 MB of JSON in 100 CvrExport files at the default 1000): sessions
// interleaved across units and in unit order, from a folder; the interleaved one also as a
// zip (deflated members, decompressed by the job).
struct DominionFixture {
  std::unique_ptr<ScratchFile> holder;  // its folder holds the exports
  std::string interleaved;
  std::string unit_order;
  std::string zip;
  uint64_t sessions = 0;
  uint64_t bytes = 0;  // of JSON, per export
};

const DominionFixture& Dominions() {
  static const DominionFixture* fixture = [] {
    auto* built = new DominionFixture;
    const ContestElection base = LoadResultsReportJson(std::string(CANVASS_SOURCE_DIR) +
                                                       "/datasets/nist-cdf/gen-01/err-gen-01.json")
                                     .value();
    const uint64_t scale = std::max<uint64_t>(1, g_scale * 5 / 2);
    built->holder = std::make_unique<ScratchFile>("unused", [](std::ofstream&) {});
    const std::string root = std::filesystem::path(built->holder->path).parent_path();
    built->interleaved = root + "/interleaved";
    built->unit_order = root + "/unit-order";
    built->zip = root + "/interleaved.zip";
    for (const auto& [out, interleave] :
         {std::pair{built->interleaved, true}, std::pair{built->unit_order, false},
          std::pair{built->zip, true}}) {
      DominionGeneratorOptions options;
      options.ballots = CvrGeneratorOptions{scale, 7, interleave};
      const DominionWriteSummary summary =
          DominionGenerator::Plan(base, options).value().Write(out).value();
      built->sessions = summary.sessions;
      built->bytes = summary.bytes;
    }
    return built;
  }();
  return *fixture;
}

void DominionBenchmark(benchmark::State& state, const std::string& path) {
  const DominionFixture& exports = Dominions();
  const DominionExport dominion = LoadDominionExport(path).value();
  CvrJobOptions options;
  options.threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    const CvrJobResult job = ReadDominionExport(dominion, path, options).value();
    if (job.tally.counted != exports.sessions || job.tally.TotalRejected() != 0) {
      state.SkipWithError("the generated sessions were not all counted");
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * exports.sessions));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * exports.bytes));
  state.counters["threads"] = static_cast<double>(state.range(0));
}

// Whole job: list, map (or inflate), scan, decode, exactly-once, roll-up.
void BM_Ingest_Dominion_FolderInterleaved(benchmark::State& state) {
  DominionBenchmark(state, Dominions().interleaved);
}
BENCHMARK(BM_Ingest_Dominion_FolderInterleaved)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
void BM_Ingest_Dominion_FolderUnitOrder(benchmark::State& state) {
  DominionBenchmark(state, Dominions().unit_order);
}
BENCHMARK(BM_Ingest_Dominion_FolderUnitOrder)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
void BM_Ingest_Dominion_ZipInterleaved(benchmark::State& state) {
  DominionBenchmark(state, Dominions().zip);
}
BENCHMARK(BM_Ingest_Dominion_ZipInterleaved)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// ---- canvass convert (issue "dominion"): the interleaved export above written as a cvb
// file of contest ballots and as a NIST CVR JSON report (the whole job: reading as
// aggregate does, re-encoding every record, writing), and the cvb copy read back. Bytes
// are the export's JSON, so the rows compare with BM_Ingest_Dominion_FolderInterleaved. ----

void ConvertBenchmark(benchmark::State& state, ConvertTarget target) {
  const DominionFixture& exports = Dominions();
  const DominionExport dominion = LoadDominionExport(exports.interleaved).value();
  const std::string out =
      exports.interleaved + (target == ConvertTarget::kCvb ? ".cvb" : ".cvr.json");
  CvrJobOptions options;
  options.threads = static_cast<int>(state.range(0));
  uint64_t written = 0;
  for (auto _ : state) {
    const ConvertResult converted =
        ConvertCvrRecords(dominion.election, target, out, "bench", options,
                          [&](const CvrJobOptions& job_options) {
                            return ReadDominionExport(dominion, exports.interleaved, job_options);
                          })
            .value();
    if (converted.records_written != exports.sessions) {
      state.SkipWithError("not every session was written");
    }
    written = converted.bytes_written;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * exports.sessions));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * exports.bytes));
  state.counters["threads"] = static_cast<double>(state.range(0));
  state.counters["out_bytes"] = static_cast<double>(written);
}

void BM_Convert_Dominion_ToCvb(benchmark::State& state) {
  ConvertBenchmark(state, ConvertTarget::kCvb);
}
BENCHMARK(BM_Convert_Dominion_ToCvb)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
void BM_Convert_Dominion_ToNistJson(benchmark::State& state) {
  ConvertBenchmark(state, ConvertTarget::kNistJson);
}
BENCHMARK(BM_Convert_Dominion_ToNistJson)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// The cvb copy read back (aggregate of a contest-ballot cvb file); bytes are the cvb file's.
void BM_Ingest_ContestCvb_FromDominion(benchmark::State& state) {
  const DominionFixture& exports = Dominions();
  const std::string cvb = exports.interleaved + ".readback.cvb";
  static const bool written = [&] {
    const DominionExport dominion = LoadDominionExport(exports.interleaved).value();
    return ConvertCvrRecords(dominion.election, ConvertTarget::kCvb, cvb, "bench", {},
                             [&](const CvrJobOptions& job_options) {
                               return ReadDominionExport(dominion, exports.interleaved,
                                                         job_options);
                             })
        .ok();
  }();
  if (!written) {
    state.SkipWithError("convert failed");
    return;
  }
  const ContestElection election = ElectionOfCvrReports({cvb}).value();
  CvrJobOptions options;
  options.threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    const CvrJobResult job = ReadCvrFiles(election, {cvb}, options).value();
    if (job.tally.counted != exports.sessions) state.SkipWithError("not every ballot counted");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * exports.sessions));
  state.SetBytesProcessed(
      static_cast<int64_t>(state.iterations() * std::filesystem::file_size(cvb)));
  state.counters["threads"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_Ingest_ContestCvb_FromDominion)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace canvass

int main(int argc, char** argv) {
  // Strip our own flag before Google Benchmark sees the rest.
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    constexpr const char* kScaleFlag = "--canvass_scale=";
    if (std::strncmp(argv[i], kScaleFlag, std::strlen(kScaleFlag)) == 0) {
      // A text that is not a plain decimal count falls back to 1, as 0 does.
      canvass::g_scale = canvass::ParseDecimalUint64(argv[i] + std::strlen(kScaleFlag)).value_or(0);
      if (canvass::g_scale == 0) canvass::g_scale = 1;
    } else {
      args.push_back(argv[i]);
    }
  }
  // The scale sweep: 10^5 .. 10^9 ballots; under the tiny pass (scale 1), 10^5 only.
  benchmark::RegisterBenchmark("BM_Scale_EndToEnd", canvass::BM_Scale_EndToEnd)
      ->Apply([](benchmark::internal::Benchmark* benchmark) {
        benchmark->ArgName("ballots");
        const int64_t largest = canvass::g_scale <= 1 ? 100000 : 1000000000;
        for (int64_t ballots = 100000; ballots <= largest; ballots *= 10) benchmark->Arg(ballots);
        benchmark->UseRealTime()->Unit(benchmark::kMillisecond)->Iterations(1);
      });
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
