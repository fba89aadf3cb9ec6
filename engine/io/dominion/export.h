// Dominion Democracy Suite cast vote record exports: the election their manifests define
// (ContestManifest, CandidateManifest, PrecinctPortionManifest, ...) and the numeric ids
// their sessions use, resolved to the election's indexes. Rules: docs/FORMAT.md,
// "Dominion CVR exports".
//
// An export's election has the units (ids are Canvass's, so that they cannot collide):
//   election                 the scope
//   district-<Id>            composing the portions DistrictPrecinctPortionManifest lists
//   precinct-<Id>            composing its portions
//   portion-<Id>             a precinct portion (the unit a session names)
//   group-<Id>               a counting group (election day, absentee, ...)
//   portion-<P>/group-<G>    the leaves, one per portion x counting group, where the
//                            export has a CountingGroupManifest (else portions are leaves)
// and contests and candidates with their Dominion Ids as ids ("4", "542").
//
// Thread safety: a DominionExport is immutable once built and safe to read from many
// threads; sessions' readers hold a const reference, which must outlive them.
#ifndef CANVASS_ENGINE_IO_DOMINION_EXPORT_H_
#define CANVASS_ENGINE_IO_DOMINION_EXPORT_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/election/contests.h"

namespace canvass {

// The manifests an export needs, and those it may have.
inline constexpr absl::string_view kDominionRequiredManifests[] = {
    "ContestManifest.json", "CandidateManifest.json", "PrecinctPortionManifest.json"};

struct DominionCandidate {
  uint32_t contest = 0;
  uint32_t selection = 0;
};

struct DominionExport {
  ContestElection election;                         // finalized, with the kInvalid figure
  absl::flat_hash_map<int64_t, uint32_t> contests;  // contest Id -> index
  absl::flat_hash_map<int64_t, DominionCandidate> candidates;  // candidate Id -> cell
  absl::flat_hash_map<int64_t, uint32_t> portions;             // portion Id -> ordinal
  absl::flat_hash_map<int64_t, uint32_t> groups;               // counting group Id -> ordinal
  // Unit index of portion ordinal p and group ordinal g: leaves[p * max(1, groups) + g].
  std::vector<uint32_t> leaves;
  // The OutstackConditionManifest's "InvalidContest" id, when it has one.
  std::optional<int64_t> invalid_condition;
  std::vector<std::string> manifests;  // the manifests read, by file name

  // The leaf unit of a session, or nullopt for an unknown portion or counting group. A
  // session of an export without counting groups ignores `group`.
  std::optional<uint32_t> Leaf(int64_t portion, int64_t group) const {
    const auto p = portions.find(portion);
    if (p == portions.end()) return std::nullopt;
    if (groups.empty()) return leaves[p->second];
    const auto g = groups.find(group);
    if (g == groups.end()) return std::nullopt;
    return leaves[static_cast<size_t>(p->second) * groups.size() + g->second];
  }
};

// A manifest's bytes by its file name ("ContestManifest.json"), or nullopt when the export
// has none of that name.
using DominionManifestReader =
    std::function<absl::StatusOr<std::optional<std::string>>(absl::string_view name)>;

// Builds the election of an export from its manifests. `source` names the export in
// messages (a folder or a zip). Errors are InvalidArgument naming the manifest, the JSON
// path and what was expected: a required manifest missing, a malformed one, an id given
// twice, a candidate of a contest ContestManifest lacks, a portion of an unknown precinct.
absl::StatusOr<DominionExport> BuildDominionExport(std::string source,
                                                   const DominionManifestReader& read);

// Whether `name` (a file's or zip member's name, without folders) is one of an export's
// session files: CvrExport.json or CvrExport<anything>.json.
bool IsDominionSessionFile(absl::string_view name);
// Sorts session file names in the natural order of the numbers in them (CvrExport_3.json
// before CvrExport_12.json), ties by name.
void SortDominionSessionFiles(std::vector<std::string>* names);

}  // namespace canvass

#endif  // CANVASS_ENGINE_IO_DOMINION_EXPORT_H_
