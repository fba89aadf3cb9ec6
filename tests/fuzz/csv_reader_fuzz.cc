// libFuzzer target: the ballot CSV reader, whole-file and range-parallel, on arbitrary bytes.
// Checks, beyond "no crash": the fast paths of every kernel this CPU can run
// (engine/base/kernel.h) give the tally of the general parser alone, conservation
// (records = counted + rejected), and that cutting the file into ranges gives the same
// tally as reading it in one range whenever the ranges meet (the condition under which the
// ingest pipeline trusts them). tools/fuzz.sh adds seeds longer than one parse chunk
// (write_fuzz_seeds), so that the structural index, the line groups and the fixed-layout
// runs are all reached.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "engine/aggregate/aggregator.h"
#include "engine/base/kernel.h"
#include "engine/election/election.h"
#include "engine/io/csv/csv_format.h"

namespace {

const canvass::Election& TinyElection() {
  static const canvass::Election* election = [] {
    auto parsed = canvass::ParseElection(
        R"({"id":"fuzz","title":"t","choices":[{"code":"A"},{"code":"B"},{"code":"INV","kind":"invalid"}],"roster":"r.csv"})",
        "election.json", "station,country,capacity\nS1,AA,10\nS2,BB,5\n", "r.csv");
    if (!parsed.ok()) std::abort();
    return new canvass::Election(std::move(parsed).value());
  }();
  return *election;
}

canvass::Tally Read(const uint8_t* data, size_t size, size_t header_end, size_t range,
                    bool fast_paths, canvass::Kernel kernel) {
  const canvass::Election& election = TinyElection();
  canvass::Aggregator aggregator(election);
  canvass::CsvRangeParser parser(
      election, [&](const canvass::BatchView& batch) { aggregator.Add(batch); }, fast_paths,
      kernel);
  uint64_t records = 0, malformed = 0, previous_end = header_end;
  bool ranges_meet = true;
  for (size_t begin = header_end; begin < size || begin == header_end; begin += range) {
    canvass::CsvRangeResult result =
        parser.Parse(data, size, begin, std::min(size, begin + range), begin == header_end);
    if (result.begin != previous_end) ranges_meet = false;
    previous_end = result.end;
    records += result.records;
    malformed += result.malformed;
    if (begin >= size) break;
  }
  parser.Flush();
  aggregator.AddMalformed(malformed);
  canvass::Tally tally = aggregator.Finish().value();
  if (tally.records_read != records) std::abort();
  if (tally.records_read != tally.TotalCounted() + tally.TotalRejected()) std::abort();
  if (!ranges_meet) tally.records_read = UINT64_MAX;  // marks "not comparable"
  return tally;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto header = canvass::CheckCsvHeader("fuzz.csv", data, size);
  if (!header.ok()) return 0;
  static const std::vector<canvass::Kernel> kernels = canvass::SupportedKernels();
  const canvass::Tally oracle =
      Read(data, size, *header, size + 1, /*fast_paths=*/false, canvass::Kernel::kPortable);
  // Every kernel's fast paths must give what the general parser alone gives.
  for (canvass::Kernel kernel : kernels) {
    const canvass::Tally whole = Read(data, size, *header, size + 1, true, kernel);
    if (!(whole == oracle)) std::abort();
  }
  // Small inputs in ranges of 7 bytes (every cut a line can have); longer ones in ranges
  // that grow with them, so that a long input costs a few scans, not one per 7 bytes.
  const size_t range = size < 1024 ? 7 : 61 + size / 16;
  const canvass::Tally ranged =
      Read(data, size, *header, range, /*fast_paths=*/true, kernels.back());
  if (ranged.records_read != UINT64_MAX && !(oracle == ranged)) std::abort();
  return 0;
}
