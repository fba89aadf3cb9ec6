#!/usr/bin/env bash
# The multi-process mode against one process on the same machine, same run: whole-process
# wall time of `canvass run`, and of `canvass aggregate` over CSV and cvb inputs (station
# files, and one file with the stations interleaved line by line), as 1 rank x 2 threads
# and 2 ranks x 1 thread, alternating, medians of REPS (default 5). Then the bytes each
# rank sent per record and its seconds in MPI collectives (CANVASS_RANK_STATS=1).
# Then cast vote records: NIST's gen-01 election generated at CVR_SCALE (default 250;
# 2500 makes a 240 MB report) as one report (shared by the ranks chunk by chunk) and as a
# folder of 8 copies of it (each file read whole by one rank; the copies are duplicates).
# Usage: bench/mpi/mpi_bench.sh [CANVASS] [REPS] [SCALE]   (docs/SCALING.md quotes it)
set -euo pipefail
canvass="$(realpath "${1:-build/release/tools/canvass}")"
reps="${2:-5}"
scale="${3:-114}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mpirun=(mpirun --allow-run-as-root --oversubscribe --quiet --bind-to none)

"$canvass" generate --out "$work/csv" --format csv --scale "$scale" >/dev/null
"$canvass" generate --out "$work/cvb" --format cvb --scale "$scale" >/dev/null
# The same rows in one file, stations interleaved line by line (a seeded shuffle).
{
  head -n 1 "$work/csv/AE-01.csv"
  for file in "$work"/csv/*.csv; do tail -n +2 "$file"; done |
    shuf --random-source=<(yes 20240705)
} >"$work/shuffled.csv"
mkdir "$work/one" && mv "$work/shuffled.csv" "$work/one/"
rows=$(($(wc -l <"$work/one/shuffled.csv") - 1))

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
seconds() {  # seconds ARGS...: wall time of one run, output discarded
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || true
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}

printf '| job | 1 rank x 2 threads | 2 ranks x 1 thread | ratio |\n|---|---|---|---|\n'
run_case() {  # run_case NAME ARGS...
  local name="$1"
  shift
  local one=() two=()
  for ((i = 0; i < reps; ++i)); do
    one+=("$(seconds "${mpirun[@]}" -np 1 "$canvass" "$@" --threads 2)")
    two+=("$(seconds "${mpirun[@]}" -np 2 "$canvass" "$@" --threads 1)")
  done
  local m1 m2
  m1=$(printf '%s\n' "${one[@]}" | median)
  m2=$(printf '%s\n' "${two[@]}" | median)
  printf '| %s | %.3f s | %.3f s | %.2f |\n' "$name" "$m1" "$m2" "$(echo "$m2 / $m1" | bc -l)"
}
run_case "run --scale $((scale * 10))" run --scale $((scale * 10)) --format json
run_case "aggregate, CSV station files ($rows rows)" aggregate "$work/csv" --format json
run_case "aggregate, CSV interleaved, one file" aggregate "$work/one" --scale "$scale" --format json
run_case "aggregate, cvb station files" aggregate "$work/cvb" --format json

cvr_scale="${CVR_SCALE:-250}"
err="$(cd "$(dirname "$0")/../.." && pwd)/datasets/nist-cdf/gen-01/err-gen-01.json"
"$canvass" generate --reported "$err" --format nist-json --scale "$cvr_scale" --seed 7 \
  --interleave --out "$work/cvr" >/dev/null
mkdir "$work/cvr8"
for i in 1 2 3 4 5 6 7 8; do cp "$work/cvr/cvr.json" "$work/cvr8/c$i.json"; done
run_case "aggregate, one CVR report ($(du -m "$work/cvr/cvr.json" | cut -f1) MB)" aggregate \
  --reported "$err" --scale "$cvr_scale" "$work/cvr/cvr.json" --format json
run_case "aggregate, a folder of 8 CVR reports" aggregate --reported "$err" --scale "$cvr_scale" \
  "$work/cvr8" --format json

echo
echo "Per rank, 2 ranks x 1 thread (CANVASS_RANK_STATS=1), $rows records read:"
for input in "$work/csv" "$work/one --scale $scale" "$work/cvb"; do
  # shellcheck disable=SC2086
  CANVASS_RANK_STATS=1 "${mpirun[@]}" -x CANVASS_RANK_STATS -np 2 "$canvass" aggregate $input \
    --threads 1 --format json 2>&1 >/dev/null | sed "s|$work/||" | sed "s|^|  $(basename "${input%% *}"): |"
done
