// A hand-made contest election for the generator's tests (cvr_generator_test.cc,
// cvr_faults_test.cc): one unit "p" under scope "s"; contest "c", vote for 2, selections
// x, y, z with the reported figures given.
#ifndef CANVASS_TESTS_NIST_HAND_ELECTION_H_
#define CANVASS_TESTS_NIST_HAND_ELECTION_H_

#include <cstdint>

#include "engine/election/contests.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace canvass::testing {

inline ContestElection VoteForTwo(uint64_t x, uint64_t y, uint64_t z, uint64_t over,
                                  uint64_t under) {
  ContestElection e;
  e.id = "hand";
  e.source = "hand";
  e.scope_id = "s";
  e.units = {{"s", "", "", {"p"}}, {"p"}};
  e.contests = {{"c", "", 2, ContestKind::kPlurality, {{"x"}, {"y"}, {"z"}}}};
  EXPECT_THAT(e.Finalize("hand"), IsOk());
  const uint32_t p = *e.FindUnit("p");
  e.reported = {{p, e.SelectionCell(0, 0), x},
                {p, e.SelectionCell(0, 1), y},
                {p, e.SelectionCell(0, 2), z},
                {p, e.FigureCell(0, ContestFigure::kOvervotes), over},
                {p, e.FigureCell(0, ContestFigure::kUndervotes), under}};
  EXPECT_THAT(e.Finalize("hand"), IsOk());
  return e;
}

}  // namespace canvass::testing

#endif  // CANVASS_TESTS_NIST_HAND_ELECTION_H_
