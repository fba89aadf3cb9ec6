// An independent, deliberately naive model of what `canvass aggregate` must report, written
// from docs/FORMAT.md, DESIGN.md and docs/REPORT.md alone (never from engine/), so that the
// bad-input campaign can compare every figure of the real binary's report with it.
//
// It expands command-line paths as FORMAT.md "Paths given" says, parses ballot CSV by the
// documented grammar one byte at a time, takes cvb records as the campaign wrote them, and
// applies DESIGN.md's rejection order and identity rules over all files at once. It trades
// speed for being obviously right: a std::map per identity. One owner at a time.
//
// Usage:
//   IndependentCounter counter(election);
//   counter.AddCsv("in/a.csv", bytes);
//   counter.AddCvbBlock("in/b.cvb", 32, station_index, records, 0);
//   const ExpectedTally expected = counter.Finish();
#ifndef CANVASS_TESTS_CAMPAIGN_INDEPENDENT_COUNTER_H_
#define CANVASS_TESTS_CAMPAIGN_INDEPENDENT_COUNTER_H_

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace canvass::campaign {

// DESIGN.md's reasons, in the order a record meets them (the first that applies wins).
enum Reason { kMalformed, kUnknownStation, kUnknownChoice, kBadSeq, kDuplicate, kConflict };
inline constexpr int kReasonCount = 6;
inline constexpr std::array<const char*, kReasonCount> kReasonNames = {
    "malformed", "unknown_station", "unknown_choice", "bad_seq", "duplicate", "conflict"};

struct StationSpec {
  std::string id;
  std::string country;
  uint64_t capacity = 0;
};

// The parts of an election that decide a tally: choice codes and the roster, in order.
struct ElectionSpec {
  std::string id;
  std::vector<std::string> codes;
  std::vector<StationSpec> stations;
};

// Every figure of an `aggregate --format json --by station` report that the inputs decide.
struct ExpectedTally {
  uint64_t read = 0;
  uint64_t counted = 0;
  std::array<uint64_t, kReasonCount> rejected{};
  std::vector<uint64_t> totals;                        // per choice, contest order
  std::vector<std::vector<uint64_t>> station_counted;  // [station][choice]
  std::vector<uint64_t> station_records;               // well-formed records naming the station
  std::vector<std::string> malformed_examples;         // first 20, "file:line" / "file@byte"
};

// One cvb record as written: a serial and a contest index (0xFF: code not in the contest).
struct CvbRecord {
  uint64_t seq = 0;
  uint8_t choice = 0;
};
inline constexpr uint32_t kCvbNoStation = 0xFFFFFFFF;
inline constexpr uint8_t kCvbNoChoice = 0xFF;

class IndependentCounter {
 public:
  explicit IndependentCounter(ElectionSpec election);

  // One ballot CSV file, `path` as the report shows it. Returns false when the file is not a
  // ballot file (no header after an optional BOM), which makes the whole job exit 2.
  bool AddCsv(const std::string& path, std::string_view bytes);

  // One cvb block at byte `offset` of `path`: its station (roster index or kCvbNoStation),
  // records and damaged-record count.
  void AddCvbBlock(const std::string& path, uint64_t offset, uint32_t station,
                   const std::vector<CvbRecord>& records, uint32_t malformed);

  ExpectedTally Finish() const;

 private:
  // A record that passed the first four checks, waiting for the identity rules.
  void AddWellFormed(size_t station, uint64_t seq, size_t choice);
  void AddMalformed(std::string example);
  // One parsed CSV record (3 fields, or malformed), `line` its first line.
  void AddCsvRecord(const std::string& path, uint64_t line, bool malformed,
                    const std::vector<std::string>& fields);

  ElectionSpec election_;
  std::map<std::string, size_t> station_index_;
  std::map<std::string, size_t> choice_index_;
  uint64_t read_ = 0;
  std::array<uint64_t, kReasonCount> early_rejected_{};  // the first four reasons
  std::vector<uint64_t> station_records_;
  std::vector<std::string> malformed_examples_;
  // (station, seq) -> the choice of every copy, in arrival order.
  std::map<std::pair<size_t, uint64_t>, std::vector<size_t>> copies_;
};

// Parses `seq` as FORMAT.md says: 1 to 20 decimal digits whose value fits in 64 bits.
std::optional<uint64_t> ParseSeq(std::string_view text);

// What FORMAT.md "Paths given" makes of a command line's PATH arguments.
struct ExpandedPaths {
  std::vector<std::string> files;  // read, in reading order, as the report names them
  std::vector<std::pair<std::string, std::string>> skipped;    // {path, reason}
  std::vector<std::pair<std::string, std::string>> read_once;  // {path, same_as}
  uint64_t bytes = 0;
};
ExpandedPaths ExpandPaths(const std::vector<std::string>& arguments);

// `bytes` as the JSON report carries it: each byte that is not part of a valid UTF-8
// sequence becomes U+FFFD (docs/REPORT.md, "Any bytes, carried safely").
std::string JsonSafe(std::string_view bytes);

}  // namespace canvass::campaign

#endif  // CANVASS_TESTS_CAMPAIGN_INDEPENDENT_COUNTER_H_
