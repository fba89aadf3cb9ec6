#!/usr/bin/env bash
# Builds one sanitizer preset and runs its checks. Usage: tools/sanitize.sh asan-ubsan|tsan
#   asan-ubsan  the whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer,
#               except the 10,000-round stress test (label `stress`, several minutes under
#               ASan): a shorter `canvass stress` run stands in for it.
#   tsan        the concurrency tests (the filter in the tsan test preset) and a
#               `canvass stress` run under ThreadSanitizer, against a TSan-built oneTBB
#               (tools/build-tbb-tsan.sh; Debian's libtbb gives false reports).
# Then the release build's end-to-end suites (label e2e: they only start `canvass`
# processes) run once more against this preset's instrumented `canvass`
# (CANVASS_BINARY_UNDER_TEST; test presets asan-ubsan-e2e and tsan-e2e), so that they are
# compiled once for all three builds; the release targets they need are built here. The
# cvb damage sweeps (CvbDamageTest: a process per damaged byte, about 80 s of CPU under
# ASan) run in the release suite only; the cvb reader is under ASan in its fuzz target.
# The first sanitizer report ends the program with a nonzero status, so the test (or the
# stress run) fails; child `canvass` processes inherit the same options. Safe to run again.
# CANVASS_SANITIZE_STRESS_ROUNDS sets the stress run's length (default 1000, about 15 s under
# TSan on 2 cores; 0 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
preset="${1:-}"
case "$preset" in
  asan-ubsan|tsan) ;;
  *) echo "usage: $0 asan-ubsan|tsan" >&2; exit 2 ;;
esac

export ASAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$root/tools/tsan.supp"

bash tools/install-deps.sh clang libclang-rt-14-dev
if [[ "$preset" == tsan ]]; then
  bash tools/build-tbb-tsan.sh >/dev/null
fi
cmake --preset "$preset" >/dev/null
if [[ "$preset" == tsan ]]; then
  # Only what the tsan test preset's filter runs: a whole-suite TSan build would double
  # CI's build time for tests that are not concurrent.
  cmake --build --preset tsan --target canvass canvass_aggregate_test canvass_synth_test \
      canvass_faulty_streams_test canvass_stress_round_test canvass_canary_test \
      canvass_ingest_test canvass_nist_test canvass_routing_test
  e2e_targets=(canvass_cli_test canvass_checkpoint_test)
else
  cmake --build --preset "$preset"
  e2e_targets=(canvass_cli_test canvass_os_boundary_test canvass_bad_inputs_test canvass_files_test
                canvass_checkpoint_test canvass_campaign_test canvass_nist_bad_inputs_test
                canvass_dominion_bad_inputs_test)
fi
ctest --preset "$preset"

echo "sanitize: the release build's end-to-end suites against build/$preset/tools/canvass"
bash tools/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target canvass "${e2e_targets[@]}"
ctest --preset "$preset-e2e"

rounds="${CANVASS_SANITIZE_STRESS_ROUNDS:-1000}"
if ((rounds > 0)); then
  echo "sanitize: canvass stress --rounds $rounds --seed 1 under $preset"
  "build/$preset/tools/canvass" stress --rounds "$rounds" --seed 1
  # The contest elections' rounds: real CVR files through the reading pipeline.
  echo "sanitize: canvass stress --contests --rounds $((rounds / 10)) --seed 1 under $preset"
  "build/$preset/tools/canvass" stress --contests --rounds "$((rounds / 10))" --seed 1
fi
