#!/usr/bin/env bash
# Builds the libFuzzer targets (preset `fuzz`: clang, ASan + UBSan) and runs each one for
# SECONDS seconds (default 30) from its seed corpus in tests/fuzz/corpus plus the seeds
# write_fuzz_seeds makes. A crash fails the script and leaves its input in build/fuzz/crashes;
# every crash found becomes a regression test (tests/io, tests/election, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
bash tools/install-deps.sh
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz
bin=build/fuzz/tests/fuzz
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p build/fuzz/crashes
for corpus in csv cvb election checkpoint; do
  mkdir -p "$work/$corpus"
  cp tests/fuzz/corpus/"$corpus"/* "$work/$corpus"/ 2>/dev/null || true
done
"$bin/write_fuzz_seeds" "$work/cvb" "$work/checkpoint"
status=0
for pair in csv_reader:csv cvb_reader:cvb election_loader:election checkpoint_decoder:checkpoint; do
  target="${pair%%:*}"
  corpus="${pair##*:}"
  echo "fuzz: $target for ${seconds}s"
  if ! "$bin/${target}_fuzz" -max_total_time="$seconds" -print_final_stats=1 \
       -artifact_prefix="build/fuzz/crashes/${target}-" "$work/$corpus" 2>"$work/$target.log"; then
    tail -n 40 "$work/$target.log"
    echo "fuzz: $target FAILED; the input is in build/fuzz/crashes/"
    status=1
  else
    grep -E "stat::number_of_executed_units|Done" "$work/$target.log" | tail -n 2 | sed "s/^/  /"
  fi
done
exit "$status"
