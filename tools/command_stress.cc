// canvass stress: seeded rounds of random elections with injected faults, each checked
// against the generator's ground truth and the serial reference aggregator, or one round
// replayed with a full diff (commands.h).
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/base/decimal.h"
#include "engine/stress/stress.h"
#include "engine/synth/fault_plan.h"
#include "tools/commands.h"

namespace canvass::cli {
namespace {

std::string DescribeRound(const StressRound& round) {
  uint64_t ballots = round.election.contest().reported->cast;
  return absl::StrCat("round seed ", round.seed, ": ", round.election.contest().choices.size(),
                      " choices, ", round.election.stations.size(), " stations, ", ballots,
                      " ballots, ", round.threads, " threads (rerun on ", round.second_threads,
                      "), batch size ", round.batch_size, ", faults \"", round.plan.ToString(),
                      "\"");
}

int ReplayRound(uint64_t seed, int threads) {
  StressRound round = DrawStressRound(seed, threads);
  std::printf("%s\n", DescribeRound(round).c_str());
  StressRoundResult result = RunStressRound(round, ProductionAggregateFn());
  for (const std::string& failure : result.failures) std::printf("  %s\n", failure.c_str());
  std::fputs(result.diff.c_str(), stdout);
  std::printf("%d passed, %d failed\n", result.passed ? 1 : 0, result.passed ? 0 : 1);
  return result.passed ? kExitMatch : kExitMismatch;
}

}  // namespace

CLI::App* AddStressCommand(CLI::App* app, StressFlags* flags) {
  CLI::App* stress = app->add_subcommand(
      "stress",
      "Run seeded rounds of random elections with injected faults and check every "
      "invariant against the generator's ground truth and the serial reference "
      "aggregator; prints failing seeds, ends with 'N passed, M failed'");
  AddDecimal(stress, "--rounds", &flags->rounds, "Rounds to run", 1, uint64_t{1} << 40);
  AddDecimal(stress, "--seed", &flags->seed, "Seed of the whole run", 0, UINT64_MAX);
  AddThreads(stress, &flags->threads);
  stress->add_option_function<std::string>(
      "--replay",
      [flags](const std::string& text) {
        const std::optional<uint64_t> seed = ParseDecimalUint64(text);
        if (!seed) {
          throw CLI::ValidationError("--replay",
                                     absl::StrCat("expected a round seed, got \"", text, "\""));
        }
        flags->replay = *seed;
      },
      "Run the round with this seed alone (as printed by a failing run), with a full diff");
  return stress;
}

int StressCommand(const StressFlags& flags) {
  if (flags.replay) return ReplayRound(*flags.replay, flags.threads);
  StressOptions options;
  options.rounds = flags.rounds;
  options.seed = flags.seed;
  options.threads = flags.threads;
  StressSummary summary = RunStress(options, ProductionAggregateFn(), std::cout);
  std::vector<std::string> exercised;
  for (int f = 0; f < kNumFaults; ++f) {
    exercised.push_back(
        absl::StrCat(FaultName(static_cast<Fault>(f)), " ", summary.rounds_with_fault[f]));
  }
  std::printf("rounds asserting each fault fired: %s\n", absl::StrJoin(exercised, ", ").c_str());
  std::printf("%llu passed, %llu failed\n", static_cast<unsigned long long>(summary.passed),
              static_cast<unsigned long long>(summary.failed));
  return summary.failed == 0 ? kExitMatch : kExitMismatch;
}

}  // namespace canvass::cli
