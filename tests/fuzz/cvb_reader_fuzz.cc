// libFuzzer target: the cvb reader on arbitrary bytes (versions 1 and 2): scanning, block
// verification and aggregation of every block that verifies, with conservation checked.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "engine/aggregate/aggregator.h"
#include "engine/election/election.h"
#include "engine/io/cvb/cvb_format.h"
#include "engine/io/cvb/cvb_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const canvass::Election* election = [] {
    auto parsed = canvass::ParseElection(
        R"({"id":"fuzz","title":"t","choices":[{"code":"A"},{"code":"B"}],"roster":"r.csv"})",
        "election.json", "station,country,capacity\nS1,AA,10\nS2,BB,5\n", "r.csv");
    if (!parsed.ok()) std::abort();
    return new canvass::Election(std::move(parsed).value());
  }();
  // Blocks are read in place: copy into 8-byte aligned memory, as a mapping would be.
  std::vector<uint64_t> aligned((size + 7) / 8);
  if (size > 0) std::memcpy(aligned.data(), data, size);
  const uint8_t* bytes = reinterpret_cast<const uint8_t*>(aligned.data());
  auto layout = canvass::ScanCvb("fuzz.cvb", bytes, size, canvass::ElectionFingerprint(*election));
  if (!layout.ok()) return 0;
  canvass::Aggregator aggregator(*election);
  uint64_t records = 0;
  for (const canvass::CvbBlockRef& block : layout->blocks) {
    canvass::CvbBlockView view;
    if (!canvass::VerifyCvbBlock("fuzz.cvb", bytes, block, 2, 2, &view).ok()) continue;
    canvass::AggregateCvbBlock(view, &aggregator);
    aggregator.AddMalformed(view.malformed);
    records += view.records + view.malformed;
  }
  auto tally = aggregator.Finish();
  if (!tally.ok()) return 0;  // OutOfRange on absurd malformed counts is a correct answer
  if (tally->records_read != records) std::abort();
  if (tally->records_read != tally->TotalCounted() + tally->TotalRejected()) std::abort();
  return 0;
}
