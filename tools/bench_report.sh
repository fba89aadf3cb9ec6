#!/usr/bin/env bash
# One command for the whole performance report (docs/PERFORMANCE.md): installs what is
# missing, builds the release preset's benchmark targets, runs the core and counter
# benchmarks and the peers comparison, and plots everything. About 10 minutes on 2 cores.
#
# Usage: tools/bench_report.sh [--scale K] [--rows N] [--img DIR]
#   --scale K   canvass_bench's --canvass_scale (default 1000: 88,325,000 ballots)
#   --rows N    rows of the peers CSV (default 10,000,000, so the whole report takes about
#               10 minutes on 2 cores; bench/peers/run_peers.sh alone defaults to 50,000,000)
#   --img DIR   where the PNGs go (default docs/img)
#
# Outputs: build/bench-report/{core,scale,counters}.json (Google Benchmark JSON, medians
# of 5 repetitions for core, 3 for the rest) and *.log, bench/peers/results.{md,json}, and the PNGs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)

scale=1000
rows=10000000
img=docs/img
while (($#)); do
  case $1 in
    --scale) scale=${2:?--scale: expected K}; shift 2 ;;
    --rows) rows=${2:?--rows: expected N}; shift 2 ;;
    --img) img=${2:?--img: expected a folder}; shift 2 ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench_report: unknown argument \"$1\" (see --help)" >&2; exit 2 ;;
  esac
done

report=build/bench-report
started=$SECONDS
step_started=$SECONDS
step() {
  echo "bench_report: [$((SECONDS - started)) s] $*" >&2
  step_started=$SECONDS
}
step_done() { echo "bench_report:   done in $((SECONDS - step_started)) s" >&2; }

# ---- 1. What is missing: the build's packages, matplotlib, sqlite3, Node.js ----
step "installing what is missing"
extra=(python3-matplotlib sqlite3)
command -v node >/dev/null || extra+=(nodejs)
command -v npm >/dev/null || extra+=(npm)
bash tools/install-deps.sh "${extra[@]}"
step_done

# ---- 2. Build the release preset's benchmark targets ----
step "building the release preset (canvass, canvass_bench, canvass_counters_bench)"
cmake --preset release >/dev/null
targets=(canvass canvass_bench)
if grep -q '^build bench/canvass_counters_bench:' build/release/build.ninja; then
  targets+=(canvass_counters_bench)
fi
cmake --build --preset release --target "${targets[@]}"
step_done
mkdir -p "$report"
benchmark_flags=(--benchmark_repetitions=3 --benchmark_report_aggregates_only=true
                 --benchmark_out_format=json)

# ---- 3. Core engine benchmarks; the scale sweep in its own process ----
# The sweep reports the process's peak resident memory, which would otherwise include
# every earlier benchmark's fixtures.
# Five repetitions in random order: 1- and 2-thread runs of a benchmark interleave, so
# that the machine's drift (a shared VM) falls on both alike and their ratio holds.
step "canvass_bench --canvass_scale=$scale (log: $report/core.log)"
build/release/bench/canvass_bench --canvass_scale="$scale" "${benchmark_flags[@]}" \
  --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \
  --benchmark_filter=-BM_Scale_ --benchmark_out="$report/core.json" | tee "$report/core.log"
step_done
step "canvass_bench scale sweep (log: $report/scale.log)"
build/release/bench/canvass_bench --canvass_scale="$scale" "${benchmark_flags[@]}" \
  --benchmark_filter=BM_Scale_ --benchmark_out="$report/scale.json" | tee "$report/scale.log"
step_done

# ---- 4. Counter designs, where the program exists ----
counters_json=()
if [[ -x build/release/bench/canvass_counters_bench ]]; then
  step "canvass_counters_bench (log: $report/counters.log)"
  build/release/bench/canvass_counters_bench "${benchmark_flags[@]}" \
    --benchmark_out="$report/counters.json" | tee "$report/counters.log"
  counters_json=(--counters "$report/counters.json")
  step_done
else
  step "no canvass_counters_bench in this tree: skipping the counter designs"
fi

# ---- 5. Peers: DuckDB and SQLite on one CSV ----
step "bench/peers/run_peers.sh $rows (log: $report/peers.log)"
CANVASS="$repo/build/release/tools/canvass" bench/peers/run_peers.sh "$rows" 2>&1 |
  tee "$report/peers.log"
step_done

# ---- 6. Plots (Debian's matplotlib serves /usr/bin/python3) ----
step "plotting into $img"
python=python3
[[ -x /usr/bin/python3 ]] && python=/usr/bin/python3
"$python" tools/plot_bench.py --core "$report/core.json" "$report/scale.json" \
  "${counters_json[@]}" --peers bench/peers/results.json --out "$img"
step_done

cat <<EOF

bench_report: finished in $((SECONDS - started)) s.
  core benchmarks     $report/core.json, $report/core.log
  scale sweep         $report/scale.json, $report/scale.log
  counter designs     ${counters_json[1]:-(not built)}
  peers               bench/peers/results.md, bench/peers/results.json ($report/peers.log)
  plots               $img/*.png
EOF
