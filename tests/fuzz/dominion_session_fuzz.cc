// libFuzzer target: a Dominion CvrExport file's scanner and session decoder on arbitrary
// bytes (the input is the whole file), against an export built in code from small manifests:
// the shared election of tests/data/dominion, so that its sessions (the seeds in
// tests/fuzz/corpus/dominion) decode in full. The checks are cvr_fuzz.h's, and a counted
// session's unit is a leaf of the export.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/io/dominion/export.h"
#include "engine/io/dominion/sessions.h"
#include "tests/fuzz/cvr_fuzz.h"

namespace {

// Contests 1 (plurality, vote for 1), 2 (vote for 2), 3 (ranked, 3 ranks), 5 (NumOfRanks 1:
// plurality); portions 101 and 102 of precinct 1, 103 of precinct 2; counting groups 1 and 2;
// InvalidContest is condition 3.
const canvass::DominionExport& FuzzExport() {
  static const canvass::DominionExport* dominion = [] {
    const std::map<std::string, std::string> manifests = {
        {"ContestManifest.json",
         R"({"List":[{"Id":1,"Description":"Mayor","VoteFor":1,"NumOfRanks":0},
                     {"Id":2,"Description":"Council","VoteFor":2,"NumOfRanks":0},
                     {"Id":3,"Description":"Governor","VoteFor":1,"NumOfRanks":3},
                     {"Id":5,"Description":"Measure A","VoteFor":1,"NumOfRanks":1}]})"},
        {"CandidateManifest.json",
         R"({"List":[{"Id":11,"ContestId":1},{"Id":12,"ContestId":1},
                     {"Id":19,"ContestId":1,"Type":"WriteIn"},
                     {"Id":21,"ContestId":2},{"Id":22,"ContestId":2},{"Id":23,"ContestId":2},
                     {"Id":31,"ContestId":3},{"Id":32,"ContestId":3},{"Id":33,"ContestId":3},
                     {"Id":39,"ContestId":3,"Type":"WriteIn"},
                     {"Id":51,"ContestId":5},{"Id":52,"ContestId":5}]})"},
        {"PrecinctManifest.json", R"({"List":[{"Id":1},{"Id":2}]})"},
        {"PrecinctPortionManifest.json",
         R"({"List":[{"Id":101,"PrecinctId":1},{"Id":102,"PrecinctId":1},
                     {"Id":103,"PrecinctId":2}]})"},
        {"CountingGroupManifest.json", R"({"List":[{"Id":1},{"Id":2}]})"},
        {"OutstackConditionManifest.json",
         R"({"List":[{"Id":0,"Description":"Ambiguous"},{"Id":3,"Description":"InvalidContest"},
                     {"Id":7,"Description":"SkippedRanking"}]})"},
    };
    absl::StatusOr<canvass::DominionExport> built = canvass::BuildDominionExport(
        "fuzz", [&](absl::string_view name) -> absl::StatusOr<std::optional<std::string>> {
          const auto it = manifests.find(std::string(name));
          if (it == manifests.end()) return std::optional<std::string>();
          return std::optional<std::string>(it->second);
        });
    if (!built.ok()) std::abort();
    return new canvass::DominionExport(*std::move(built));
  }();
  return *dominion;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const canvass::DominionExport& dominion = FuzzExport();
  const std::vector<canvass_fuzz::Record> records = canvass_fuzz::FuzzRecordReader(
      canvass::CvrFormat::kDominionJson,
      absl::string_view(reinterpret_cast<const char*>(data), size), '{', '}', dominion.election,
      [&dominion] { return canvass::NewDominionSessionDecoder(dominion); });
  for (const canvass_fuzz::Record& record : records) {
    if (record.reject) continue;
    bool leaf = false;
    for (const uint32_t unit : dominion.leaves) leaf |= unit == record.unit;
    if (!leaf) std::abort();
  }
  // The one-pass path of a whole file (DecodeFile): when it takes the file, it tells the
  // very records the scanner and record-by-record path find, at the same places.
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  std::unique_ptr<canvass::CvrDecoder> decoder = canvass::NewDominionSessionDecoder(dominion);
  canvass::CvrBuilder builder(dominion.election);
  canvass::CastBallotBatch batch;
  std::vector<canvass_fuzz::Record> whole;
  std::vector<uint64_t> begins;
  const bool taken = decoder->DecodeFile(text, &builder, [&](const canvass::CvrSpan& span) {
    batch.Clear();
    canvass_fuzz::Record& record = whole.emplace_back();
    record.reject = builder.End(&batch);
    begins.push_back(span.begin);
    if (record.reject) return;
    record.identity = std::string(batch.identity(0));
    record.unit = batch.unit(0);
    record.cells.assign(batch.cells(0).begin(), batch.cells(0).end());
  });
  if (taken) {
    const canvass_fuzz::Scan scan =
        canvass_fuzz::ScanAll(canvass::CvrFormat::kDominionJson, text, uint64_t{1} << 40);
    if (!scan.status.ok() || whole != records) std::abort();
    for (size_t i = 0; i < begins.size(); ++i) {
      if (begins[i] != scan.spans[i].begin) std::abort();
    }
  }
  return 0;
}
