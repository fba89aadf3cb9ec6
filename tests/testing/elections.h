// Test helper: small elections spelled out in a few calls and built through the real loader
// (ParseElection), so that every suite's election has passed the checks a loaded one does
// and has its indexes built. Header-only; one owner at a time.
//
// Usage:
//   const Election election = testing::ElectionBuilder("agg-test", "aggregator test")
//                                 .AddChoices(3)  // C0, C1, C2
//                                 .AddStation("S0", "AA", 10)
//                                 .Reported(10, {{"C0", 6}, {"C1", 4}})
//                                 .Build();
#ifndef CANVASS_TESTS_TESTING_ELECTIONS_H_
#define CANVASS_TESTS_TESTING_ELECTIONS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "engine/election/election.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace canvass::testing {

class ElectionBuilder {
 public:
  ElectionBuilder(const std::string& id, const std::string& title) {
    json_["id"] = id;
    json_["title"] = title;
    json_["roster"] = kRosterName;
    json_["choices"] = nlohmann::json::array();
  }

  ElectionBuilder& Source(const std::string& source) {
    json_["source"] = source;
    return *this;
  }

  ElectionBuilder& SyntheticRoster(bool synthetic) {
    json_["synthetic_roster"] = synthetic;
    return *this;
  }

  // One choice, in ballot order. Without a kind the loader's default (candidate) applies;
  // without a name the loader names it by its code.
  ElectionBuilder& AddChoice(const std::string& code, std::optional<std::string> kind = {},
                             std::optional<std::string> name = {}) {
    nlohmann::json choice = {{"code", code}};
    if (name) choice["name"] = *name;
    if (kind) choice["kind"] = *kind;
    json_["choices"].push_back(std::move(choice));
    return *this;
  }

  // Choices C0..C{count - 1}: candidates named by their codes.
  ElectionBuilder& AddChoices(int count) {
    for (int c = 0; c < count; ++c) AddChoice(absl::StrCat("C", c));
    return *this;
  }

  // The reported cast total and the figures of the codes listed (a code left out is not
  // reported).
  ElectionBuilder& Reported(uint64_t cast,
                            const std::vector<std::pair<std::string, uint64_t>>& choices) {
    json_["reported"] = {{"cast", cast}, {"choices", nlohmann::json::object()}};
    for (const auto& [code, figure] : choices) json_["reported"]["choices"][code] = figure;
    return *this;
  }

  // One roster line, in roster order.
  ElectionBuilder& AddStation(const std::string& id, const std::string& country,
                              uint64_t capacity) {
    absl::StrAppend(&roster_, id, ",", country, ",", capacity, "\n");
    return *this;
  }

  // Stations S0..S{n - 1} with these capacities; station s is in country
  // countries[s % countries.size()].
  ElectionBuilder& AddStations(const std::vector<uint64_t>& capacities,
                               const std::vector<std::string>& countries) {
    for (size_t s = 0; s < capacities.size(); ++s) {
      AddStation(absl::StrCat("S", s), countries[s % countries.size()], capacities[s]);
    }
    return *this;
  }

  // The election as the loader reads it; a test failure (and an empty election) when the
  // loader refuses it.
  Election Build() const {
    absl::StatusOr<Election> election =
        ParseElection(json_.dump(), "election.json", roster_, kRosterName);
    EXPECT_TRUE(election.ok()) << election.status();
    return election.ok() ? *std::move(election) : Election();
  }

 private:
  static constexpr char kRosterName[] = "roster.csv";

  nlohmann::json json_;
  std::string roster_ = "station,country,capacity\n";
};

}  // namespace canvass::testing

#endif  // CANVASS_TESTS_TESTING_ELECTIONS_H_
