// The election model: contests, choices, reported figures and the station roster, plus
// the loader that reads an election directory (election.json + roster CSV) and checks it.
//
// An Election is immutable once loaded and is safe to read from many threads at once.
// Every later stage (generator, aggregator, reconciler) holds a const reference to it:
// the Election must outlive them.
//
// The model keeps the contest a value from the start: an election holds contests; the
// reference election, and every election.json in the DESIGN.md format, holds one.
//
// Usage:
//   absl::StatusOr<canvass::Election> election = canvass::LoadElectionDirectory("datasets/x");
//   if (!election.ok()) { ... election.status().message() names file and field ... }
//   const canvass::Contest& contest = election->contest();
#ifndef CANVASS_ENGINE_ELECTION_ELECTION_H_
#define CANVASS_ENGINE_ELECTION_ELECTION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace canvass {

// Index types: positions in Contest::choices and Election::stations.
using ChoiceIndex = uint8_t;
using StationIndex = uint32_t;
// Index into Election::contests (the reference election and every single-contest election
// have one, index 0).
using ContestIndex = uint16_t;

// At most 254 choices per contest, so that a choice index and the exactly-once state
// (choice + 1 per ballot serial, at most 8 bits, see aggregate/) both fit in a byte.
inline constexpr int kMaxChoices = 254;

enum class ChoiceKind : uint8_t { kCandidate, kInvalid, kBlank };
absl::string_view ChoiceKindName(ChoiceKind kind);

struct Choice {
  std::string code;  // short code, e.g. "JAL"; unique within the contest
  std::string name;  // e.g. "Saeed Jalili"
  ChoiceKind kind = ChoiceKind::kCandidate;
};

// Officially reported figures for one contest. `choices[i]` is the figure for
// Contest::choices[i]; a choice the source did not report is nullopt.
struct ReportedFigures {
  uint64_t cast = 0;
  std::vector<std::optional<uint64_t>> choices;

  // True when every choice is reported and they sum to `cast`.
  bool InternallyConsistent() const;
};

struct Contest {
  std::string id;
  std::string title;
  std::vector<Choice> choices;  // in ballot order
  std::optional<ReportedFigures> reported;

  // Index of `code` in `choices`, or nullopt. Answers from the index BuildIndex made.
  std::optional<ChoiceIndex> FindChoice(absl::string_view code) const;

  // (Re)builds the code lookup from `choices`: call it once the choices are set or changed
  // (Election::BuildIndexes does, for every contest). When codes repeat, the first wins.
  // Requires: choices.size() <= kMaxChoices.
  void BuildIndex();

 private:
  absl::flat_hash_map<std::string, ChoiceIndex> choice_index_;
};

struct Station {
  std::string id;         // as in the roster, e.g. "AE-01"
  std::string country;    // ISO 3166-1 alpha-2
  uint64_t capacity = 0;  // ballot serials issued: valid seq is 1..capacity
  uint64_t weight = 0;    // synthetic generator's share; defaults to capacity
};

class Election {
 public:
  std::string id;
  std::string title;
  std::string source;
  bool synthetic_roster = false;
  std::vector<Contest> contests;       // the DESIGN.md format always yields exactly one
  std::vector<Station> stations;       // roster order
  std::vector<std::string> countries;  // distinct station countries, sorted

  // The single contest of a DESIGN.md election.
  const Contest& contest() const { return contests.front(); }

  // Index of station `id`, or nullopt when it is not in the roster.
  std::optional<StationIndex> FindStation(absl::string_view id) const;
  // Index of station `s`'s country in `countries`.
  uint32_t CountryOf(StationIndex s) const { return station_country_[s]; }

  // Builds the lookup indexes, the contests' (Contest::BuildIndex) among them; the loader
  // calls it once the fields are set, and so must any code that builds or edits an Election.
  void BuildIndexes();

 private:
  absl::flat_hash_map<std::string, StationIndex> station_index_;
  std::vector<uint32_t> station_country_;
};

// Loads DIR/election.json and the roster it names. Errors are InvalidArgument (bad
// content), NotFound (missing file) or OutOfRange (a sum of capacities or weights past
// 2^63 - 1), and the message names the file, the field or
// line, and what was expected.
absl::StatusOr<Election> LoadElectionDirectory(const std::string& directory);

// The largest election.json and roster the loader reads (OutOfRange past them, docs/FORMAT.md):
// far above any real election's (a roster of a million stations is about 40 MB), and low
// enough that /dev/zero or a runaway file is refused after a bounded read.
inline constexpr uint64_t kMaxElectionJsonBytes = uint64_t{16} << 20;
inline constexpr uint64_t kMaxRosterBytes = uint64_t{256} << 20;

// Same checks over in-memory text; `json_name` and `roster_name` label error messages.
absl::StatusOr<Election> ParseElection(absl::string_view json_text, absl::string_view json_name,
                                       absl::string_view roster_text,
                                       absl::string_view roster_name);

// The reference election (Iran 2024 runoff, votes cast abroad) embedded in the binary.
const Election& ReferenceElection();

}  // namespace canvass

#endif  // CANVASS_ENGINE_ELECTION_ELECTION_H_
