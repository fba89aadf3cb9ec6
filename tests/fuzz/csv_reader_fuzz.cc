// libFuzzer target: the ballot CSV reader, whole-file and range-parallel, on arbitrary bytes.
// Checks, beyond "no crash": the fast paths of each kernel this CPU can run
// (engine/base/kernel.h; one per input, by its length) hand over exactly the records of the general
// parser alone (as a multiset), conservation (records = handed over + malformed, and counted +
// rejected in the aggregator's tally), and that cutting the file into ranges gives the same records
// as reading it in one range whenever the ranges meet (the condition under which the ingest
// pipeline trusts them). tools/fuzz.sh adds seeds longer than one parse chunk (write_fuzz_seeds),
// so that the structural index, the line groups and the fixed-layout runs are all reached.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "engine/aggregate/aggregator.h"
#include "engine/base/bytes.h"
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

// What the parser handed over, as a multiset: every record (station, serial, choice) hashed
// and summed, so that two passes agree exactly when they gave the same records in any order
// and any batching. Cheap enough (no exactly-once state) to run every pass of every input.
struct Records {
  uint64_t count = 0;
  uint64_t digest = 0;
  uint64_t malformed = 0;
  bool comparable = true;  // false when the ranges did not meet (the pipeline re-reads then)
  bool operator==(const Records& other) const {
    return count == other.count && digest == other.digest && malformed == other.malformed;
  }
};

uint64_t RecordHash(canvass::StationIndex station, uint64_t seq, canvass::ChoiceIndex choice) {
  return canvass::Mix64(canvass::Mix64(seq ^ (uint64_t{station} << 32) ^ choice) + station);
}

// Where the parsers' sink puts what it is handed: the pass being read.
Records* current_records = nullptr;
canvass::Aggregator* current_aggregator = nullptr;

// One parser per (fast paths, kernel, buffers), built at first use and kept: a parser is
// reused across ranges and files in the ingest pipeline too, and building one (its perfect
// hashes) cost more than reading a short input.
canvass::CsvRangeParser& ParserFor(bool fast_paths, canvass::Kernel kernel,
                                   canvass::CsvRangeParser::Buffers buffers) {
  static std::map<std::tuple<bool, canvass::Kernel, size_t, size_t>,
                  std::unique_ptr<canvass::CsvRangeParser>>
      parsers;
  std::unique_ptr<canvass::CsvRangeParser>& parser =
      parsers[{fast_paths, kernel, buffers.chunk_bytes, buffers.batch_records}];
  if (parser == nullptr) {
    parser = std::make_unique<canvass::CsvRangeParser>(
        TinyElection(),
        [](const canvass::BatchView& batch) {
          current_records->count += batch.size();
          for (size_t i = 0; i < batch.size(); ++i) {
            current_records->digest += RecordHash(batch.station, batch.seq[i], batch.choice[i]);
          }
          if (current_aggregator != nullptr) current_aggregator->Add(batch);
        },
        fast_paths, kernel, buffers);
  }
  return *parser;
}

// Reads [header_end, size) in ranges of `range` bytes. With an aggregator, the batches are
// counted too, so that the tally's conservation is checked on the same records.
Records Read(const uint8_t* data, size_t size, size_t header_end, size_t range, bool fast_paths,
             canvass::Kernel kernel, canvass::CsvRangeParser::Buffers buffers,
             canvass::Aggregator* aggregator) {
  Records records;
  current_records = &records;
  current_aggregator = aggregator;
  canvass::CsvRangeParser& parser = ParserFor(fast_paths, kernel, buffers);
  uint64_t parsed = 0, previous_end = header_end;
  for (size_t begin = header_end; begin < size || begin == header_end; begin += range) {
    canvass::CsvRangeResult result =
        parser.Parse(data, size, begin, std::min(size, begin + range), begin == header_end);
    if (result.begin != previous_end) records.comparable = false;
    previous_end = result.end;
    parsed += result.records;
    records.malformed += result.malformed;
    if (begin >= size) break;
  }
  parser.Flush();
  // Every record parsed is handed over or counted malformed, never both.
  if (parsed != records.count + records.malformed) std::abort();
  if (aggregator != nullptr) {
    aggregator->AddMalformed(records.malformed);
    const canvass::Tally tally = aggregator->Finish().value();
    if (tally.records_read != parsed) std::abort();
    if (tally.records_read != tally.TotalCounted() + tally.TotalRejected()) std::abort();
  }
  return records;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto header = canvass::CheckCsvHeader("fuzz.csv", data, size);
  if (!header.ok()) return 0;
  static const std::vector<canvass::Kernel> kernels = canvass::SupportedKernels();
  // Structural chunks of 64 to 512 bytes and batches of 8 to 64 records, chosen by the
  // input's length, so that inputs under 1 KiB cross every boundary a large file does
  // (tools/fuzz.sh caps inputs at 1 KiB; with 8 KiB chunks the inputs had to be 10-30 KiB and
  // ran at a tenth of the executions per second).
  const canvass::CsvRangeParser::Buffers buffers{size_t{64} << (size % 4),
                                                 size_t{8} << ((size / 4) % 4)};
  // The general parser alone is the oracle; its records are also counted once, for the
  // aggregator's conservation on arbitrary records.
  canvass::Aggregator aggregator(TinyElection());
  const Records oracle = Read(data, size, *header, size + 1, /*fast_paths=*/false,
                              canvass::Kernel::kPortable, buffers, &aggregator);
  // The fast paths of one kernel, chosen by the input's length like the buffers (each
  // input has neighbours of every length in the corpus, so every kernel this CPU can run
  // meets every shape), must hand over exactly the general parser's records: read whole,
  // and cut into ranges. Small inputs in ranges of 7 bytes (every cut a line can have);
  // longer ones in ranges that grow with them (each range indexes its chunk anew), so that
  // a long input costs a few dozen ranges, not one per 7 bytes.
  const canvass::Kernel kernel = kernels[(size / 16) % kernels.size()];
  if (!(Read(data, size, *header, size + 1, true, kernel, buffers, nullptr) == oracle)) {
    std::abort();
  }
  const size_t range = size < 256 ? 7 : 13 + size / 32;
  const Records ranged =
      Read(data, size, *header, range, /*fast_paths=*/true, kernel, buffers, nullptr);
  if (ranged.comparable && !(ranged == oracle)) std::abort();
  return 0;
}
