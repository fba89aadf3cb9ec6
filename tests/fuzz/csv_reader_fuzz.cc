// libFuzzer target: the ballot CSV reader, whole-file and range-parallel, on arbitrary bytes.
// Checks, beyond "no crash": the fast paths' tally equals the general parser's alone,
// conservation (records = counted + rejected), and that cutting
// the file into ranges gives the same tally as reading it in one range whenever the ranges
// meet (the condition under which the ingest pipeline trusts them).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "engine/aggregate/aggregator.h"
#include "engine/election/election.h"
#include "engine/io/csv_format.h"

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
                    bool fast_paths = true) {
  const canvass::Election& election = TinyElection();
  canvass::Aggregator aggregator(election);
  canvass::CsvRangeParser parser(
      election, [&](const canvass::BatchView& batch) { aggregator.Add(batch); }, fast_paths);
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
  canvass::Tally whole = Read(data, size, *header, size + 1);
  // The fast paths must give what the general parser alone gives.
  canvass::Tally oracle = Read(data, size, *header, size + 1, /*fast_paths=*/false);
  if (!(whole == oracle)) std::abort();
  canvass::Tally ranged = Read(data, size, *header, 7);
  if (ranged.records_read != UINT64_MAX && !(whole == ranged)) std::abort();
  return 0;
}
