#!/usr/bin/env bash
# Golden comparison: the reports (stdout, stderr and exit code) of `canvass run`,
# `aggregate` and `reconcile` over the reference election, generated CSV and cvb folders
# with record and file faults, and every file of the bad-input catalogue
# (tests/data/bad_inputs), byte for byte against tests/data/golden/. The goldens were
# written by the binary before the reading stage moved to engine/ingest and
# io::InputFormat (8e0cfb9), so a refactor that changes any output byte fails here. One
# change since was deliberate: folders whose files no longer match their manifest report
# `ground_truth` "inputs_changed" (text: "NOT CHECKED"), where 8e0cfb9 said "differs"
# (4 JSON lines and 2 text lines of the generate-with-file-faults cases).
# And since: every report carries the plausibility warnings (JSON `plausibility` and
# `warnings`, text "Plausibility warnings", CSV `warning` rows; docs/REPORT.md): stations
# with no ballots and stations with more records than serials show up there.
#
# Usage: golden_test.sh SOURCE_DIR CANVASS            compare (ctest; exit 1 on a difference)
#        golden_test.sh SOURCE_DIR CANVASS --write    rewrite the goldens (review the diff!)
# CANVASS_BINARY_UNDER_TEST, when set, replaces CANVASS (as for the e2e suites).
# CANVASS_LAUNCHER, when set, starts every run, aggregate and reconcile case through it
# (e.g. "mpirun --allow-run-as-root --oversubscribe --quiet -np 3": a job of several ranks
# must print exactly what one process prints, stderr and exit code included); generate
# runs in one process.
set -euo pipefail
root="$(cd "$1" && pwd)"
canvass="$(realpath "${CANVASS_BINARY_UNDER_TEST:-$2}")"
mode="${3:-compare}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
out="$work/out"
mkdir -p "$out"

# case NAME ARGS...: runs canvass ARGS in the current folder into $out/NAME.
read -r -a launcher <<<"${CANVASS_LAUNCHER:-}"
case_() {
  local name="$1"
  shift
  local status=0
  local start=("$canvass")
  if [[ "$1" != generate ]]; then start=("${launcher[@]}" "$canvass"); fi
  "${start[@]}" "$@" >"$out/$name.stdout" 2>"$out/$name.stderr" </dev/null || status=$?
  echo "$status" >"$out/$name.exit"
  # Open MPI 4.1's runtime (its libevent) now and then warns on mpirun's stderr when a
  # rank's connection closes under it: "[warn] Epoll MOD(1) on fd 27 failed. Old events
  # were 6; ...". It is mpirun's line, not the job's, and made CI fail by chance once; it
  # is taken out (and counted) before the comparison, nothing else is.
  if [[ ${#launcher[@]} -gt 0 ]] && grep -q '^\[warn\] Epoll [A-Z]*([0-9]*) on fd [0-9]* failed\.' \
      "$out/$name.stderr"; then
    sed -i '/^\[warn\] Epoll [A-Z]*([0-9]*) on fd [0-9]* failed\./d' "$out/$name.stderr"
    echo "golden: $name: took mpirun's libevent warning out of stderr"
  fi
}

faults="drop=0.01,dup=0.005,conflict=0.001,corrupt=0.001,unknown_station=0.0005,unknown_choice=0.0005,bad_seq=0.0005,reorder=1,truncate=0.01,double_report=0.02"

cd "$root"
case_ run_json run --format json
case_ run_text run
case_ run_faults_station run --format json --faults "$faults" --by station --seed 7
case_ run_scale_country run --format csv --scale 3 --seed 5 --by country
for file in tests/data/bad_inputs/*; do
  name="$(basename "$file")"
  case_ "catalogue_$name" aggregate --election tests/data/tiny_election --format json \
    --threads 1 "$file"
  case_ "catalogue_skip_$name" reconcile --election tests/data/tiny_election --format json \
    --skip-damaged --threads 2 "$file"
done

cd "$work"
for format in csv cvb; do
  case_ "generate_$format" generate --out "ballots_$format" --format "$format" --seed 3 \
    --faults "$faults" --file-faults "truncate=0.05,flip=0.05,missing=0.02,extra=1"
  case_ "reconcile_$format" reconcile --format json --skip-damaged --by station \
    "ballots_$format"
  case_ "aggregate_$format" aggregate --format json --skip-damaged --threads 1 "ballots_$format"
  case_ "reconcile_text_$format" reconcile --skip-damaged "ballots_$format"
done

golden="$root/tests/data/golden"
if [[ "$mode" == --write ]]; then
  rm -rf "$golden"
  cp -r "$out" "$golden"
  echo "golden: wrote $(ls "$golden" | wc -l) files to $golden"
  exit 0
fi
if ! diff -r "$golden" "$out" >"$work/diff"; then
  head -c 6000 "$work/diff"
  echo "golden: the output differs from tests/data/golden (above)"
  exit 1
fi
echo "golden: $(ls "$out" | wc -l) files identical to tests/data/golden"
