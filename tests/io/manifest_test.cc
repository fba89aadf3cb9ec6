// Tests of manifest.json parsing: every damaged field is named, with what was expected and
// what was found (issue "Hardening", unclear messages).
#include "engine/io/manifest.h"

#include <string>
#include <vector>

#include "engine/ballot/tally.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/elections.h"
#include "tests/testing/status_matchers.h"

namespace canvass {
namespace {

using ::canvass::testing::IsOk;
using ::canvass::testing::StatusIs;
using ::testing::HasSubstr;
using Json = nlohmann::ordered_json;

Election TwoStations() {
  return testing::ElectionBuilder("manifest-test", "manifest test")
      .AddChoices(2)
      .AddStations({10, 20}, {"AA"})
      .Build();
}

// A manifest as `canvass generate` writes it, as JSON to edit.
Json GoodManifest(const Election& election) {
  Manifest manifest;
  manifest.election = election.id;
  manifest.election_fingerprint = 0x0123456789abcdefu;
  manifest.format = "csv";
  manifest.seed = 7;
  manifest.scale = 3;
  manifest.faults = "dup=0.1";
  manifest.fired = {{"dup", 2}};
  manifest.files = {{"S0.csv", "S0", 10, 100, std::string(32, 'a')},
                    {"S1.csv", "S1", 20, 200, std::string(32, 'b')}};
  Tally predicted(2, 2);
  predicted.records_read = 30;
  manifest.predicted = predicted;
  return Json::parse(ManifestToJson(manifest, election));
}

void ExpectDamage(const std::string& text, const std::string& message) {
  const Election election = TwoStations();
  EXPECT_THAT(ParseManifest("dir/manifest.json", text, election),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("dir/manifest.json: " + message)))
      << text;
}

TEST(ManifestTest, WhatGenerateWritesReadsBack) {
  const Election election = TwoStations();
  absl::StatusOr<Manifest> manifest =
      ParseManifest("m.json", GoodManifest(election).dump(), election);
  ASSERT_THAT(manifest, IsOk());
  EXPECT_EQ(manifest->scale, 3u);
  EXPECT_EQ(manifest->election_fingerprint, 0x0123456789abcdefu);
  ASSERT_EQ(manifest->files.size(), 2u);
  EXPECT_EQ(manifest->files[1].records, 20u);
  ASSERT_TRUE(manifest->predicted.has_value());
  EXPECT_EQ(manifest->predicted->records_read, 30u);
  EXPECT_THAT(ParseManifestScale("m.json", GoodManifest(election).dump()), IsOk());
}

TEST(ManifestTest, EveryDamagedFieldIsNamedWithWhatWasFound) {
  const Election election = TwoStations();
  ExpectDamage("xyz", "byte 1: not valid JSON");
  ExpectDamage("[1]", "expected a JSON object, got [1]");
  struct Case {
    void (*edit)(Json&);
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](Json& m) { m.erase("manifest_version"); }, "field 'manifest_version' is missing"},
      {[](Json& m) { m["manifest_version"] = 2; }, "field 'manifest_version': expected 1, got 2"},
      {[](Json& m) { m["scale"] = -5; },
       "field 'scale': expected a count (a whole number, 0 or more), got -5"},
      {[](Json& m) { m["scale"] = "3"; },
       "field 'scale': expected a count (a whole number, 0 "
       "or more), got \"3\""},
      {[](Json& m) { m["seed"] = 1.5; }, "field 'seed': expected a count"},
      {[](Json& m) { m["election"] = 5; }, "field 'election': expected a string, got 5"},
      {[](Json& m) { m["election_fingerprint"] = "xyz"; },
       "field 'election_fingerprint': expected 16 lowercase hex digits, got \"xyz\""},
      {[](Json& m) { m["fired"]["dup"] = -1; }, "field 'fired.dup': expected a count"},
      {[](Json& m) { m["files"] = 3; }, "field 'files': expected an array, got 3"},
      {[](Json& m) { m["files"][1] = "S1.csv"; },
       "field 'files[1]': expected a JSON object, got \"S1.csv\""},
      {[](Json& m) { m["files"][1]["records"] = -5; },
       "field 'files[1].records': expected a count (a whole number, 0 or more), got -5"},
      {[](Json& m) { m["files"][0].erase("bytes"); }, "field 'files[0].bytes' is missing"},
      {[](Json& m) { m["files"][1]["file"] = "S0.csv"; },
       "field 'files[1].file': \"S0.csv\" is listed twice (files[0] and files[1])"},
      {[](Json& m) { m["predicted"]["counted"][1] = -2; },
       "field 'predicted.counted[1]': expected a count"},
      {[](Json& m) { m["predicted"].erase("rejected"); }, "field 'predicted.rejected' is missing"},
      {[](Json& m) { m["predicted"]["counted"] = Json::array({1}); },
       "field 'predicted': shape does not match the election"},
  };
  for (const Case& c : cases) {
    Json manifest = GoodManifest(election);
    c.edit(manifest);
    ExpectDamage(manifest.dump(), c.message);
  }
  EXPECT_THAT(ParseManifestScale("dir/manifest.json", R"({"scale": -5})"),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("dir/manifest.json: field 'scale': expected a count")));
  EXPECT_THAT(ParseManifestScale("dir/manifest.json", "{}"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("field 'scale' is missing")));
}

}  // namespace
}  // namespace canvass
