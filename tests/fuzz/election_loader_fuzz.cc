// libFuzzer target: the election loader (election.json + roster CSV) on arbitrary bytes.
// The input is split at the first NUL byte: JSON before it, roster after it. A loaded
// election must satisfy the loader's promises (unique codes and stations, capacities >= 1).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>

#include "engine/election/election.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find('\0');
  const std::string json = input.substr(0, split);
  const std::string roster = split == std::string::npos ? "" : input.substr(split + 1);
  auto election = canvass::ParseElection(json, "election.json", roster, "roster.csv");
  if (!election.ok()) return 0;
  std::set<std::string> codes, stations;
  for (const auto& choice : election->contest().choices) {
    if (!codes.insert(choice.code).second) std::abort();
  }
  for (const auto& station : election->stations) {
    if (!stations.insert(station.id).second || station.capacity == 0) std::abort();
  }
  return 0;
}
