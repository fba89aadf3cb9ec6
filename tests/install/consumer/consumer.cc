// The library in a few lines: load the installed reference election, aggregate a generated
// stream of its ballots on every core, reconcile, and check the figures. Exit 0 when every
// figure is the reported one (the generator reproduces them exactly), else 1.
#include <cstdio>
#include <string>

#include "engine/election/election.h"
#include "engine/pipeline/pipeline.h"
#include "engine/reconcile/reconciler.h"

int main() {
  absl::StatusOr<canvass::Election> election =
      canvass::LoadElectionDirectory(std::string(CANVASS_DATADIR) + "/ir-2024-runoff-overseas");
  if (!election.ok()) {
    std::fprintf(stderr, "%s\n", std::string(election.status().message()).c_str());
    return 2;
  }
  canvass::SyntheticRunOptions options;
  options.scale = 10;
  absl::StatusOr<canvass::SyntheticRun> run = canvass::RunSynthetic(*election, options);
  if (!run.ok()) return 2;
  const canvass::Reconciliation rec = canvass::Reconcile(run->election, run->tally, {});
  const std::vector<uint64_t> totals = run->tally.ChoiceTotals();
  std::printf("counted %llu: JAL %llu, PEZ %llu, INV %llu; %s\n",
              static_cast<unsigned long long>(run->tally.TotalCounted()),
              static_cast<unsigned long long>(totals[0]),
              static_cast<unsigned long long>(totals[1]),
              static_cast<unsigned long long>(totals[2]), rec.match ? "match" : "mismatch");
  // 10 x the reported 88,325 = 50,206 + 36,169 + 1,950.
  const bool exact = run->tally.TotalCounted() == 883250 && totals[0] == 502060 &&
                     totals[1] == 361690 && totals[2] == 19500 && rec.match;
  return exact ? 0 : 1;
}
