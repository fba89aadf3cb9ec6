// canvass stress: seeded rounds of random elections with injected faults, each checked
// against the generator's ground truth and the serial reference aggregator, or one round
// replayed with a full diff; with --contests, rounds of random multi-contest elections
// read from cast vote record files, checked against an independent model (commands.h).
#include <stdlib.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/base/bytes.h"
#include "engine/base/decimal.h"
#include "engine/stress/contest_stress.h"
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

// A scratch folder for the contest rounds' files, under $TMPDIR (else /tmp); removed with
// everything in it when it goes.
class ScratchDir {
 public:
  static absl::StatusOr<ScratchDir> Create() {
    const char* tmp = getenv("TMPDIR");
    std::string pattern = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp",
                                       "/canvass-contest-stress-XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot create a scratch folder like ", pattern));
    }
    return ScratchDir(pattern);
  }
  ScratchDir(ScratchDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ScratchDir& operator=(ScratchDir&&) = delete;
  ~ScratchDir() {
    if (path_.empty()) return;
    std::error_code error;
    std::filesystem::remove_all(path_, error);
  }
  const std::string& path() const { return path_; }

 private:
  explicit ScratchDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

std::string ContestFailureText(const ContestStressResult& result, uint64_t round) {
  std::string text =
      absl::StrCat("round ", round, " FAILED, replay with: canvass stress --contests --replay ",
                   result.seed, "\n  ", result.description, "\n");
  for (const std::string& failure : result.failures) absl::StrAppend(&text, "  ", failure, "\n");
  return text;
}

int ReplayContestRound(uint64_t seed, int threads) {
  absl::StatusOr<ScratchDir> scratch = ScratchDir::Create();
  if (!scratch.ok()) return Fail(scratch.status());
  const ContestStressResult result =
      RunContestStressRound(DrawContestStressWorld(seed, threads), scratch->path(), false);
  std::printf("%s\n", result.description.c_str());
  for (const std::string& failure : result.failures) std::printf("  %s\n", failure.c_str());
  std::fputs(result.diff.c_str(), stdout);
  std::printf("%d passed, %d failed\n", result.passed ? 1 : 0, result.passed ? 0 : 1);
  return result.passed ? kExitMatch : kExitMismatch;
}

// R rounds of random contest elections, then the canary: a round whose prediction is
// perturbed by one vote, which must fail.
int ContestStress(const StressFlags& flags) {
  absl::StatusOr<ScratchDir> scratch = ScratchDir::Create();
  if (!scratch.ok()) return Fail(scratch.status());
  uint64_t passed = 0;
  uint64_t failed = 0;
  uint64_t files = 0;
  uint64_t records = 0;
  uint64_t ballots = 0;
  uint64_t counted = 0;
  std::array<uint64_t, kNumCastRejects> rejected{};
  bool first_round_passed = false;
  // On several ranks (mpirun), rank r runs the rounds whose index is r modulo their
  // number, and rank 0 the canary; their counts and failures are then summed and printed
  // in round order by rank 0, as one process prints them.
  const RankGroup* ranks = JobRanks();
  const uint64_t rank = ranks ? static_cast<uint64_t>(ranks->rank()) : 0;
  const uint64_t size = ranks ? static_cast<uint64_t>(ranks->size()) : 1;
  std::string failures;  // one process's, in round order
  for (uint64_t round = rank; round < flags.rounds; round += size) {
    const ContestStressResult result =
        ContestStressRound(flags.seed, round, flags.threads, scratch->path());
    files += result.files;
    records += result.records;
    ballots += result.ballots;
    counted += result.actual.counted;
    for (int r = 0; r < kNumCastRejects; ++r) rejected[r] += result.actual.rejected[r];
    if (round == 0) first_round_passed = result.passed;
    if (result.passed) {
      ++passed;
    } else {
      ++failed;
      const std::string text = ContestFailureText(result, round);
      PutLittleEndian<uint64_t>(round, &failures);
      PutLittleEndian<uint64_t>(text.size(), &failures);
      failures += text;
    }
  }
  if (ranks != nullptr) {
    std::vector<uint64_t> figures = {files, records, ballots, counted, passed, failed};
    figures.insert(figures.end(), rejected.begin(), rejected.end());
    absl::StatusOr<std::vector<uint64_t>> sums = SumOverRanks(*ranks, figures);
    if (!sums.ok()) return Fail(sums.status());
    files = (*sums)[0], records = (*sums)[1], ballots = (*sums)[2], counted = (*sums)[3];
    passed = (*sums)[4], failed = (*sums)[5];
    std::copy(sums->begin() + 6, sums->end(), rejected.begin());
    std::vector<std::pair<uint64_t, std::string>> entries;
    for (const std::string& theirs : ranks->AllGather(failures)) {
      absl::string_view in = theirs;
      uint64_t round = 0, bytes = 0;
      while (ConsumeLittleEndian(&in, &round) && ConsumeLittleEndian(&in, &bytes)) {
        entries.emplace_back(round, std::string(in.substr(0, bytes)));
        in.remove_prefix(std::min<uint64_t>(bytes, in.size()));
      }
    }
    std::sort(entries.begin(), entries.end());
    for (const auto& [round, text] : entries) std::fputs(text.c_str(), stdout);
  } else {
    absl::string_view in = failures;
    uint64_t round = 0, bytes = 0;
    while (ConsumeLittleEndian(&in, &round) && ConsumeLittleEndian(&in, &bytes)) {
      std::fputs(std::string(in.substr(0, bytes)).c_str(), stdout);
      in.remove_prefix(bytes);
    }
  }
  // The canary perturbs round 0, which rank 0 ran; the other ranks' verdicts are not used.
  if (rank != 0) return kExitMatch;
  const ContestStressResult canary =
      ContestStressRound(flags.seed, 0, flags.threads, scratch->path(), /*canary=*/true);
  // Caught: round 0 passes as drawn and fails with one vote added to its prediction.
  const bool caught = first_round_passed && !canary.passed;
  std::vector<std::string> reasons;
  for (int r = 0; r < kNumCastRejects; ++r) {
    reasons.push_back(absl::StrCat(CastRejectName(static_cast<CastReject>(r)), " ", rejected[r]));
  }
  std::printf("contest rounds: %llu, files %llu, records %llu, ballots %llu, counted %llu\n",
              static_cast<unsigned long long>(flags.rounds), static_cast<unsigned long long>(files),
              static_cast<unsigned long long>(records), static_cast<unsigned long long>(ballots),
              static_cast<unsigned long long>(counted));
  std::printf("rejected: %s\n", absl::StrJoin(reasons, ", ").c_str());
  if (caught) {
    std::printf(
        "canary caught: round seed %llu, one vote added to unit %u cell %u of the "
        "prediction, reported as a mismatch\n",
        static_cast<unsigned long long>(canary.seed),
        canary.canary_cell ? canary.canary_cell->first : 0,
        canary.canary_cell ? canary.canary_cell->second : 0);
  } else if (!first_round_passed) {
    std::printf("canary NOT caught: its round (seed %llu) fails without the perturbation\n",
                static_cast<unsigned long long>(canary.seed));
  } else {
    std::printf("canary NOT caught: round seed %llu passed with a perturbed prediction\n",
                static_cast<unsigned long long>(canary.seed));
  }
  std::printf("%llu passed, %llu failed\n", static_cast<unsigned long long>(passed),
              static_cast<unsigned long long>(failed));
  return failed == 0 && caught ? kExitMatch : kExitMismatch;
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
  stress->add_flag("--contests", flags->contests,
                   "Rounds of random multi-contest elections instead: cast vote record files "
                   "with record faults, read back and checked figure by figure against an "
                   "independent model, then a canary round that must fail");
  return stress;
}

int StressCommand(const StressFlags& flags) {
  if (flags.contests) {
    if (flags.replay) return ReplayContestRound(*flags.replay, flags.threads);
    return ContestStress(flags);
  }
  if (flags.replay) return ReplayRound(*flags.replay, flags.threads);
  StressOptions options;
  options.rounds = flags.rounds;
  options.seed = flags.seed;
  options.threads = flags.threads;
  options.ranks = JobRanks();
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
