#!/usr/bin/env bash
# Builds the libFuzzer targets (in the `asan-ubsan` preset: clang, ASan + UBSan, coverage
# instrumentation) and runs each one for
# SECONDS seconds (default 30) from its seed corpus in tests/fuzz/corpus plus the seeds
# write_fuzz_seeds makes. A crash fails the script and leaves its input in build/asan-ubsan/crashes;
# every crash found becomes a regression test (tests/io, tests/election, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
bash tools/install-deps.sh
bash tools/install-deps.sh clang libclang-rt-14-dev
cmake --preset asan-ubsan >/dev/null
cmake --build --preset asan-ubsan --target csv_reader_fuzz cvb_reader_fuzz election_loader_fuzz \
    checkpoint_decoder_fuzz cvr_json_fuzz cvr_xml_fuzz err_json_fuzz dominion_session_fuzz \
    write_fuzz_seeds
bin=build/asan-ubsan/tests/fuzz
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p build/asan-ubsan/crashes
for corpus in csv cvb election checkpoint cvr-json cvr-xml err-json dominion; do
  mkdir -p "$work/$corpus"
  cp tests/fuzz/corpus/"$corpus"/* "$work/$corpus"/ 2>/dev/null || true
done
"$bin/write_fuzz_seeds" "$work/cvb" "$work/checkpoint" "$work/csv"
# The NIST readers start from the real test elections (datasets/nist-cdf, small files).
for election in datasets/nist-cdf/*/; do
  name=$(basename "$election")
  cp "$election/cvr-$name.json" "$work/cvr-json/"
  cp "$election/cvr-$name.xml" "$work/cvr-xml/"
  cp "$election/err-$name.json" "$work/err-json/"
done
status=0
for pair in csv_reader:csv cvb_reader:cvb election_loader:election checkpoint_decoder:checkpoint \
    cvr_json:cvr-json cvr_xml:cvr-xml err_json:err-json dominion_session:dominion; do
  target="${pair%%:*}"
  corpus="${pair##*:}"
  echo "fuzz: $target for ${seconds}s"
  # Inputs up to 32 KiB; CSV inputs up to 1 KiB, which span many of the small parse chunks
  # the csv_reader target sets (see its comment).
  max_len=32768
  [[ "$target" == csv_reader ]] && max_len=1024
  if ! "$bin/${target}_fuzz" -max_total_time="$seconds" -print_final_stats=1 -max_len="$max_len" \
       -artifact_prefix="build/asan-ubsan/crashes/${target}-" "$work/$corpus" 2>"$work/$target.log"; then
    tail -n 40 "$work/$target.log"
    echo "fuzz: $target FAILED; the input is in build/asan-ubsan/crashes/"
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::average_exec_per_sec|Done" "$work/$target.log" |
      tail -n 3 | sed "s/^/  /"
  fi
done
exit "$status"
