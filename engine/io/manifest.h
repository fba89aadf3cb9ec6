// manifest.json: what `canvass generate` wrote into a folder (election, generation
// parameters, and per file: station, records, bytes, XXH3-128 hash), plus the
// generator's predicted tally, so that `canvass reconcile` can check that the folder
// arrived whole and report the same ground truth as `canvass run`.
// Plain values and pure functions; thread-safe.
#ifndef CANVASS_ENGINE_IO_MANIFEST_H_
#define CANVASS_ENGINE_IO_MANIFEST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/ballot/tally.h"
#include "engine/election/election.h"

namespace canvass {

inline constexpr char kManifestFileName[] = "manifest.json";
// The largest manifest read (a million files listed take about 200 MB less than this).
inline constexpr uint64_t kMaxManifestBytes = uint64_t{256} << 20;

struct ManifestFile {
  std::string file;     // name inside the folder
  std::string station;  // station id, or "" for records no roster station claims
  uint64_t records = 0;
  uint64_t bytes = 0;
  std::string xxh3_128;  // 32 lowercase hex digits
};

struct Manifest {
  std::string election;
  uint64_t election_fingerprint = 0;
  std::string format;  // "csv" or "cvb"
  uint64_t seed = 0;
  uint64_t scale = 1;
  // The generator's fault plan as its spec string (synth/fault_plan.h parses it), and how
  // often each fault fired, by fault name in the file's order. The ingest stage checks both
  // against the faults it knows; this layer only carries them.
  std::string faults;
  std::vector<std::pair<std::string, uint64_t>> fired;
  std::vector<ManifestFile> files;
  std::optional<Tally> predicted;  // ground truth for the records as written
};

std::string ManifestToJson(const Manifest& manifest, const Election& election);
// DataLoss naming the file and field when the manifest is damaged or inconsistent with
// `election` (another election, another shape).
// The manifest's `scale` alone (read before the election is scaled to it); errors as
// ParseManifest's.
absl::StatusOr<uint64_t> ParseManifestScale(const std::string& path, absl::string_view text);

absl::StatusOr<Manifest> ParseManifest(const std::string& path, absl::string_view text,
                                       const Election& election);

}  // namespace canvass

#endif  // CANVASS_ENGINE_IO_MANIFEST_H_
