// libFuzzer target: the checkpoint decoder and the aggregator's state restore on arbitrary
// bytes. A decoded checkpoint must re-encode to the same bytes; a restored state must give
// a tally that keeps conservation (Restore refuses any state that would not).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "engine/aggregate/aggregator.h"
#include "engine/election/election.h"
#include "engine/ingest/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const canvass::Election* election = [] {
    auto parsed = canvass::ParseElection(
        R"({"id":"fuzz","title":"t","choices":[{"code":"A"},{"code":"B"}],"roster":"r.csv"})",
        "election.json", "station,country,capacity\nS1,AA,10\nS2,BB,5\n", "r.csv");
    if (!parsed.ok()) std::abort();
    return new canvass::Election(std::move(parsed).value());
  }();
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  canvass::CheckpointLayout layout;
  auto checkpoint = canvass::DecodeCheckpoint("fuzz.ckpt", bytes, &layout);
  if (checkpoint.ok()) {
    // One whole frame re-encodes to its own bytes; a log re-encodes as one whole frame that
    // decodes to the same checkpoint.
    if (layout.intact_bytes == layout.whole_bytes &&
        canvass::EncodeCheckpoint(*checkpoint) != bytes.substr(0, layout.whole_bytes)) {
      std::abort();
    }
    auto again = canvass::DecodeCheckpoint("again.ckpt", canvass::EncodeCheckpoint(*checkpoint));
    if (!again.ok() || !(*again == *checkpoint)) std::abort();
  }
  // The aggregator state alone, too: the fuzzer reaches it without forging checksums.
  canvass::Aggregator aggregator(*election);
  if (!aggregator.Restore(bytes).ok()) return 0;
  auto tally = aggregator.Finish();
  if (!tally.ok()) return 0;  // OutOfRange for counters past 2^63 - 1 is a correct answer
  if (tally->records_read != tally->TotalCounted() + tally->TotalRejected()) std::abort();
  return 0;
}
