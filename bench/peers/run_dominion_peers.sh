#!/usr/bin/env bash
# Times Canvass against DuckDB on one Dominion CVR export (a folder of CvrExport_N.json
# files, and the same export as a .zip): the tally per contest and candidate of `canvass
# reconcile`, and the same tally in DuckDB SQL over the folder, with `cat` of the
# CvrExport files (folder) and `unzip -p` of the zip as the read baselines. Writes the table
# to bench/peers/results-dominion.md and bench/peers/results-dominion.json, and prints it.
#
# Usage: bench/peers/run_dominion_peers.sh [SCALE]   (default 19000: 760,000 sessions,
#                                                     about 2.2e9 bytes of JSON in 760 files)
#
# The export: `canvass generate --reported ERR --format dominion --scale SCALE --seed SEED
# --interleave --out DIR` (sessions in a seeded order across units, 1000 a CvrExport file,
# 40 ballots per scale unit, about 2.9 KB of JSON a session, 1 in 25 adjudicated: an
# Original with IsCurrent false and a current Modified) of NIST's gen-01 results report,
# and the same with `--out DIR.zip` (deflated members). Each writes DIR-reported.csv (the
# report's figures keyed by the export's ids); the two must be byte for byte the same.
#
# What is timed, each the wall clock of one whole process ($EPOCHREALTIME around it; peak
# RSS from GNU time), the median of PEERS_REPETITIONS runs, all from the page cache (the
# files are read once before each group of runs):
#   cat:     `cat DIR/CvrExport_*.json > /dev/null`: read bandwidth, the floor for the folder
#   unzip:   `unzip -p DIR.zip > /dev/null`: reading and inflating every member (the
#            manifests too, a few KB), the floor for the zip
#   Canvass: `canvass reconcile --reported DIR-reported.csv DIR --format json --threads T`
#            (T = 1, 2), and the same of DIR.zip: loading the manifests and the reported
#            figures, reading and validating every session (identity, exactly-once, the
#            current version, units, contests and candidates, the overvote rule), the tally
#            with its roll-up, the reconciliation of every reported cell, the JSON report;
#            each run must exit 0 with "verdict": "match"
#   DuckDB:  `node duckdb_dominion_peer.mjs --folder DIR --threads T` (T from
#            PEERS_DUCKDB_THREADS): Node start, loading DuckDB, one query (read_json of
#            DIR/CvrExport_*.json, one object a file, the fields it needs typed; Sessions,
#            the current version's Cards, Contests and Marks UNNESTed; the marks with IsVote
#            and not IsAmbiguous and Rank = 1 counted per contest and candidate; the stated
#            Overvotes and Undervotes summed and the contests counted per contest), the
#            result rows in JavaScript. DuckDB reads no zip (it has no zip file system
#            without a community extension), so it has no zip rows.
# MB/s is always the CvrExport files' bytes (uncompressed JSON) over the median seconds,
# also for the zip rows. The load average is recorded at the start, the end and before
# each group of runs: other work on the machine shows there.
#
# Checks (not timed): DuckDB's per-(contest, candidate) totals, and its per-contest
# overvotes, undervotes and ballots, equal those of `canvass aggregate DIR --format json`
# (contests[].totals is {candidate id: votes}) at every thread count; Canvass's reports
# agree at 1 and 2 threads, folder and zip, with the aggregate; DuckDB counts as many
# sessions and adjudicated sessions as Canvass read. DuckDB does not apply the overvote
# rule: it counts IsVote marks, which is Canvass's tally exactly when no contest holds more
# counted marks than its VoteFor (Dominion, and this generator, write an overvoted plurality
# contest's marks with IsVote false); an untimed DuckDB query counts the contests that
# break that, the marks that are not votes, and those with Rank other than 1, and the
# results say what it found. If DuckDB fails (memory, object size), the results say why.
#
# Expects build/release/tools/canvass (it builds nothing), and copies it at the start: every
# run and check uses that copy, even if the build folder is rebuilt meanwhile (the results
# say so if it was). Installs what else it needs:
# Node.js/npm, GNU time and unzip with apt-get (as root) if missing, and @duckdb/node-api
# with npm into bench/peers/node_modules (git-ignored). Safe to run again.
#
# Environment:
#   CANVASS=PATH            the canvass binary (default build/release/tools/canvass)
#   PEERS_REPETITIONS=N     runs per measurement, the median is reported (default 3)
#   PEERS_DUCKDB_THREADS=L  DuckDB thread counts (default "1 2")
#   PEERS_DUCKDB_MEMORY_LIMIT=SIZE  DuckDB's memory_limit (default DuckDB's: 80% of RAM)
#   PEERS_REPORTED=PATH     the results report (default datasets/nist-cdf/gen-01/err-gen-01.json)
#   DOMINION_SEED=S         the generator's seed (default 1)
#   DOMINION_EXPORT=PATH    keep the export: the folder at PATH, the zip at PATH.zip, the
#                           figures at PATH-reported.csv and what made them at
#                           PATH.generation; reused on the next run (its scale and seed are
#                           read from PATH.generation; an export there without one is
#                           refused, never overwritten)
#   TMPDIR                  where the export is written without DOMINION_EXPORT (the folder,
#                           about 2.2 GB by default, and the zip); removed at the end
set -euo pipefail
export LC_ALL=C  # '.' as the decimal point in $EPOCHREALTIME and printf

readonly kDuckdbPackage="@duckdb/node-api@1.5.6-r.1"  # the same as run_peers.sh
readonly kDefaultScale=19000

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
peers="$repo/bench/peers"
canvass=${CANVASS:-$repo/build/release/tools/canvass}
reported=${PEERS_REPORTED:-$repo/datasets/nist-cdf/gen-01/err-gen-01.json}
repetitions=${PEERS_REPETITIONS:-3}
duckdb_threads=${PEERS_DUCKDB_THREADS:-1 2}
duckdb_memory_limit=${PEERS_DUCKDB_MEMORY_LIMIT:-}
seed=${DOMINION_SEED:-1}
scale_arg=${1:-}
export_arg=${DOMINION_EXPORT:-}
# How this was run, for the results (before anything below exports PEERS_* for them).
command_line="${DOMINION_EXPORT:+DOMINION_EXPORT=$DOMINION_EXPORT }${PEERS_REPETITIONS:+PEERS_REPETITIONS=$PEERS_REPETITIONS }${PEERS_DUCKDB_THREADS:+PEERS_DUCKDB_THREADS=\"$PEERS_DUCKDB_THREADS\" }${PEERS_DUCKDB_MEMORY_LIMIT:+PEERS_DUCKDB_MEMORY_LIMIT=$PEERS_DUCKDB_MEMORY_LIMIT }${DOMINION_SEED:+DOMINION_SEED=$DOMINION_SEED }bench/peers/run_dominion_peers.sh${scale_arg:+ $scale_arg}"

die() { echo "run_dominion_peers: $*" >&2; exit 2; }
note() { echo "run_dominion_peers: $*" >&2; }

(( $# <= 1 )) || die "usage: bench/peers/run_dominion_peers.sh [SCALE]"
[[ -z $scale_arg || ($scale_arg =~ ^[0-9]+$ && $scale_arg -ge 1) ]] ||
  die "SCALE: expected a positive integer, got \"$scale_arg\""
[[ $repetitions =~ ^[0-9]+$ && $repetitions -ge 1 ]] ||
  die "PEERS_REPETITIONS: expected a positive integer, got \"$repetitions\""
[[ $seed =~ ^[0-9]+$ ]] || die "DOMINION_SEED: expected a non-negative integer, got \"$seed\""
for threads in $duckdb_threads; do
  [[ $threads =~ ^[0-9]+$ && $threads -ge 1 ]] ||
    die "PEERS_DUCKDB_THREADS: expected positive integers, got \"$duckdb_threads\""
done
[[ -n ${duckdb_threads// /} ]] || die "PEERS_DUCKDB_THREADS: empty"
[[ -f $reported ]] || die "no results report at $reported"
if [[ ! -x $canvass ]]; then
  die "no canvass binary at $canvass; build it first:
  cmake --preset release && cmake --build --preset release --target canvass"
fi

# ---- Tools: node, npm, GNU time and unzip from Debian if missing, DuckDB from npm ----

apt_install() {
  [[ $(id -u) -eq 0 ]] || die "$1 is missing; install it (as root: apt-get install $*)"
  note "installing $* with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
command -v node >/dev/null || apt_install nodejs npm
command -v npm >/dev/null || apt_install npm
[[ -x /usr/bin/time ]] || apt_install time  # peak RSS of each run
command -v unzip >/dev/null || apt_install unzip

duckdb_installed() {
  local manifest="$peers/node_modules/@duckdb/node-api/package.json"
  [[ -f $manifest ]] && grep -q "\"version\": \"${kDuckdbPackage##*@}\"" "$manifest"
}
if ! duckdb_installed; then
  note "npm install $kDuckdbPackage into bench/peers/node_modules"
  npm install --prefix "$peers" --no-audit --no-fund --loglevel=error "$kDuckdbPackage" >&2
  duckdb_installed || die "npm did not install $kDuckdbPackage"
fi

# ---- The input: one export, as a folder and as a zip, generated or reused ----

work=$(mktemp -d "${TMPDIR:-/tmp}/canvass-dominion-peers-XXXXXX")
partial=()  # what is being written outside $work, removed if the script stops
cleanup() {
  rm -rf "$work"
  ((${#partial[@]} == 0)) || rm -rf "${partial[@]}"
}
trap cleanup EXIT
# A copy of the binary: the measurements and the checks all use the same one, even if the
# build folder is rebuilt while this runs.
cp "$canvass" "$work/canvass"
canvass_built=$(date -u -r "$canvass" +%Y-%m-%dT%H:%M:%SZ)
canvass_source=$canvass
canvass=$work/canvass

# generate SCALE BASE: the export of $reported at SCALE, interleaved: the folder BASE, the
# zip BASE.zip and the figures BASE-reported.csv, written in a folder beside BASE and moved
# into place (BASE.generation, written last, says they are whole).
generate() {
  local scale=$1 base=$2 staging piece
  staging=$(mktemp -d "$(dirname "$base")/.dominion-generate-XXXXXX")
  partial=("$staging")
  note "generating $base and $base.zip: scale $scale, seed $seed, interleaved"
  "$canvass" generate --reported "$reported" --format dominion --scale "$scale" \
    --seed "$seed" --interleave --out "$staging/export" >&2 ||
    die "canvass generate (folder) failed"
  mv "$staging/export-reported.csv" "$staging/folder-reported.csv"
  "$canvass" generate --reported "$reported" --format dominion --scale "$scale" \
    --seed "$seed" --interleave --out "$staging/export.zip" >&2 ||
    die "canvass generate (zip) failed"
  cmp -s "$staging/folder-reported.csv" "$staging/export-reported.csv" ||
    die "the folder's and the zip's reported figures differ ($staging kept no further)"
  for piece in "" .zip -reported.csv; do
    partial+=("$base$piece")
    mv "$staging/export$piece" "$base$piece"
  done
  printf 'scale=%s\nseed=%s\ninterleaved=yes\nreported=%s\n' "$scale" "$seed" "$reported" \
    >"$base.generation"
  rm -rf "$staging"
  partial=()
}

if [[ -n $export_arg ]]; then
  base=$(realpath -m "$export_arg")
  base=${base%.zip}
  if [[ -f $base.generation ]]; then
    file_scale=$(sed -n 's/^scale=//p' "$base.generation")
    file_seed=$(sed -n 's/^seed=//p' "$base.generation")
    [[ $file_scale =~ ^[0-9]+$ && $file_seed =~ ^[0-9]+$ ]] ||
      die "$base.generation: no scale= and seed= lines"
    for piece in "" .zip -reported.csv; do
      [[ -e $base$piece ]] || die "$base$piece is missing (remove $base.generation to regenerate)"
    done
    [[ -z $scale_arg || $scale_arg == "$file_scale" ]] ||
      die "$base is at scale $file_scale, not $scale_arg (remove $base, $base.zip, $base-reported.csv and $base.generation, or drop SCALE)"
    scale=$file_scale seed=$file_seed
    file_reported=$(sed -n 's/^reported=//p' "$base.generation")
    reported=${file_reported:-$reported}
    note "reusing $base and $base.zip (scale $scale, seed $seed)"
  else
    for piece in "" .zip -reported.csv; do
      [[ ! -e $base$piece ]] ||
        die "$base$piece exists but $base.generation does not (not a whole export made by this script): remove it"
    done
    scale=${scale_arg:-$kDefaultScale}
    mkdir -p "$(dirname "$base")"
    generate "$scale" "$base"
  fi
else
  scale=${scale_arg:-$kDefaultScale}
  base="$work/export"
  generate "$scale" "$base"
fi
folder=$base zip=$base.zip figures=$base-reported.csv
shopt -s nullglob
cvr_files=("$folder"/CvrExport_*.json)
shopt -u nullglob
((${#cvr_files[@]} > 0)) || die "$folder: no CvrExport_*.json files"
cvr_bytes=$(stat -c %s "${cvr_files[@]}" | awk '{ s += $1 } END { printf "%.0f", s }')
zip_bytes=$(stat -c %s "$zip")
note "$folder: ${#cvr_files[@]} CvrExport files, $cvr_bytes bytes; $zip: $zip_bytes bytes"

# ---- Measurements ----
# $measurements: "what<TAB>threads<TAB>input<TAB>seconds...<TAB>peak RSS KB...<TAB>load<TAB>
#                 others' CPU seconds...<TAB>note"

load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
measurements="$work/measurements.tsv"
: >"$measurements"
seconds_since() { awk -v start="$1" -v end="$EPOCHREALTIME" 'BEGIN { printf "%.6f", end - start }'; }
load_now() { cut -d' ' -f1 /proc/loadavg; }
# The machine's busy CPU time so far, in clock ticks (user, nice, system, irq, softirq of
# every core; not idle, iowait or steal).
kTicks=$(getconf CLK_TCK)
readonly kTicks
cpu_busy() { awk '$1 == "cpu" { printf "%.0f", $2 + $3 + $4 + $7 + $8 }' /proc/stat; }

# timed COMMAND...: runs it (stdout and stderr as the caller redirects them) under GNU time;
# sets $last_seconds (wall clock of the whole process), $last_rss (peak RSS, KB),
# $last_others (the CPU seconds the rest of the machine used meanwhile: all busy time less
# the command's own user and system time; other work's noise) and returns its exit status.
last_seconds="" last_rss="" last_others=""
timed() {
  local start=$EPOCHREALTIME busy status=0 usage
  busy=$(cpu_busy)
  /usr/bin/time -f '%M %U %S' -o "$work/usage" "$@" || status=$?
  last_seconds=$(seconds_since "$start")
  busy=$(( $(cpu_busy) - busy ))
  usage=$(tail -n 1 "$work/usage")
  read -r last_rss _ <<<"$usage"
  [[ $last_rss =~ ^[0-9]+$ ]] || last_rss=0
  last_others=$(awk -v busy="$busy" -v ticks="$kTicks" -v usage="$usage" 'BEGIN {
    n = split(usage, u, " "); own = n == 3 ? u[2] + u[3] : 0
    others = busy / ticks - own; printf "%.2f", others < 0 ? 0 : others }')
  return $status
}
record() {  # what threads input seconds rss load others note
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$measurements"
}
into_cache() { cat "${cvr_files[@]}" "$zip" >/dev/null; }

# The baselines: cat of the CvrExport files, unzip -p of the zip.
measure_baseline() {  # what input COMMAND...
  local what=$1 input=$2 times=() rss=() others=() load
  shift 2
  into_cache
  load=$(load_now)
  for ((r = 0; r < repetitions; ++r)); do
    timed "$@" >/dev/null || die "$what failed"
    times+=("$last_seconds") rss+=("$last_rss") others+=("$last_others")
  done
  record "$what" 1 "$input" "${times[*]}" "${rss[*]}" "$load" "${others[*]}" ""
  note "$what: ${times[*]} s"
}

# Canvass: `reconcile` of the folder or the zip; exit 0 and "verdict": "match" required.
# The last run's report is kept for the checks ($work/canvass-INPUT-THREADS.json).
measure_canvass() {  # input path
  local threads times rss others out status load
  into_cache
  for threads in 1 2; do
    times=() rss=() others=() out="$work/canvass-$1-$threads.json" load=$(load_now)
    for ((r = 0; r < repetitions; ++r)); do
      status=0
      timed "$canvass" reconcile --reported "$figures" "$2" --format json \
        --threads "$threads" >"$out" 2>"$work/canvass.err" || status=$?
      ((status == 0)) || die "canvass reconcile --threads $threads of $2: exit $status: $(head -c 2000 "$work/canvass.err")"
      tail -n 2 "$out" | grep -q '^  "verdict": "match"$' ||
        die "canvass reconcile --threads $threads of $2: no \"verdict\": \"match\""
      times+=("$last_seconds") rss+=("$last_rss") others+=("$last_others")
    done
    record Canvass "$threads" "$1" "${times[*]}" "${rss[*]}" "$load" "${others[*]}" ""
    note "canvass $1, threads=$threads: ${times[*]} s"
  done
}

# DuckDB: one process per run (node start and DuckDB load included, like Canvass's);
# duckdb_dominion_peer.mjs also reports the query's own time. Returns 1 when DuckDB failed,
# with the reason in $duckdb_failure.
duckdb_failure=""
duckdb_run() {  # threads output [--diagnostics]
  local status=0
  mkdir -p "$work/duckdb-tmp"
  timed node "$peers/duckdb_dominion_peer.mjs" --folder "$folder" --threads "$1" \
    --temp-directory "$work/duckdb-tmp" ${duckdb_memory_limit:+--memory-limit "$duckdb_memory_limit"} \
    "${@:3}" >"$2" 2>"$work/duckdb.err" || status=$?
  rm -rf "$work/duckdb-tmp"
  ((status == 0)) && return 0
  if ((status == 3)); then
    duckdb_failure=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).error)' "$2")
  elif ((status > 128)); then
    duckdb_failure="the process was killed by signal $((status - 128)) (peak RSS $((last_rss / 1024)) MB; out of memory?) $(tail -c 500 "$work/duckdb.err")"
  else
    duckdb_failure="exit $status (peak RSS $((last_rss / 1024)) MB): $(tail -c 1000 "$work/duckdb.err")"
  fi
  duckdb_failure=${duckdb_failure//$'\t'/ }
  duckdb_failure=${duckdb_failure//$'\n'/ }
  return 1
}
measure_duckdb() {  # (returns 1 if DuckDB failed)
  local threads times rss others query out load
  into_cache
  for threads in $duckdb_threads; do
    times=() rss=() others=() query=() out="$work/duckdb-folder-$threads.json" load=$(load_now)
    for ((r = 0; r < repetitions; ++r)); do
      if ! duckdb_run "$threads" "$out"; then
        note "duckdb folder, threads=$threads: FAILED: $duckdb_failure"
        record DuckDB "$threads" folder "" "$last_rss" "$load" "$last_others" "failed after ${last_seconds} s: $duckdb_failure"
        return 1
      fi
      times+=("$last_seconds") rss+=("$last_rss") others+=("$last_others")
      query+=("$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).seconds[0].toFixed(6))' "$out")")
    done
    record DuckDB "$threads" folder "${times[*]}" "${rss[*]}" "$load" "${others[*]}" "query ${query[*]}"
    note "duckdb folder, threads=$threads: ${times[*]} s (query alone: ${query[*]} s)"
  done
}

measure_baseline cat folder cat "${cvr_files[@]}"
measure_baseline unzip zip unzip -p "$zip"
measure_canvass folder "$folder"
measure_canvass zip "$zip"
duckdb_ok=yes
measure_duckdb || duckdb_ok=no
load_after_timing=$(cut -d' ' -f1-3 /proc/loadavg)

# Not timed: Canvass's tally, for the checks, and DuckDB's diagnostics.
note "canvass aggregate $folder (not timed)"
"$canvass" aggregate "$folder" --format json --threads 2 >"$work/canvass-aggregate.json" ||
  die "canvass aggregate of $folder failed"
if [[ $duckdb_ok == yes ]]; then
  note "DuckDB diagnostics (not timed)"
  max_threads=$(tr ' ' '\n' <<<"$duckdb_threads" | sed '/^$/d' | sort -n | tail -n 1)
  duckdb_run "$max_threads" "$work/duckdb-diagnostics.json" --diagnostics ||
    note "DuckDB diagnostics FAILED: $duckdb_failure"
fi

# ---- Versions, checks and the report ----

commit=$(git -C "$repo" describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)
export PEERS_WORK=$work PEERS_SCALE=$scale PEERS_SEED=$seed PEERS_REPORTED=$reported
export PEERS_REPETITIONS=$repetitions PEERS_COMMIT=$commit PEERS_DUCKDB_OK=$duckdb_ok
export PEERS_CVR_FILES=${#cvr_files[@]} PEERS_CVR_BYTES=$cvr_bytes PEERS_ZIP_BYTES=$zip_bytes
PEERS_NODE=$(node --version)
PEERS_CORES=$(nproc)
PEERS_MEMORY_KB=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
PEERS_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
PEERS_LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
PEERS_DUCKDB_VERSION=$(node "$peers/duckdb_dominion_peer.mjs" --version)
PEERS_CANVASS_VERSION=$("$canvass" --version 2>&1 | head -n 1)
PEERS_CANVASS_MTIME=$canvass_built
PEERS_CANVASS_REBUILT=$( [[ $(date -u -r "$canvass_source" +%Y-%m-%dT%H:%M:%SZ) == "$canvass_built" ]] || echo yes)
export PEERS_NODE PEERS_CORES PEERS_MEMORY_KB PEERS_DATE PEERS_LOAD_END PEERS_DUCKDB_VERSION
export PEERS_CANVASS_VERSION PEERS_CANVASS_MTIME PEERS_CANVASS_REBUILT
export PEERS_CPU=$cpu PEERS_LOAD_START=$load_at_start PEERS_LOAD_TIMED=$load_after_timing
export PEERS_DUCKDB_PACKAGE=$kDuckdbPackage
export PEERS_COMMAND=$command_line
node --input-type=module - "$peers/results-dominion.md" "$peers/results-dominion.json" <<'EOF'
// Builds results-dominion.md and results-dominion.json from the measurements, and checks
// DuckDB's tally and Canvass's reports against `canvass aggregate`.
import fs from 'node:fs';
const env = process.env;
const work = env.PEERS_WORK;
const read = (name) => JSON.parse(fs.readFileSync(`${work}/${name}`, 'utf8'));
const exists = (name) => fs.existsSync(`${work}/${name}`);
const threadsText = (t) => `${t} thread${t === 1 ? '' : 's'}`;
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const numbers = (text) => (text.trim() === '' ? [] : text.trim().split(/\s+/).map(Number));
const lines = (name) => fs.readFileSync(`${work}/${name}`, 'utf8').split('\n').filter((l) => l !== '');
const cvrBytes = Number(env.PEERS_CVR_BYTES);

const results = [];
for (const line of lines('measurements.tsv')) {
  const [what, threads, input, seconds, rss, load, others, note] = line.split('\t');
  const each = numbers(seconds);
  const row = { what, threads: Number(threads), input, load_average_1min_before: Number(load),
                others_cpu_seconds_each: numbers(others) };
  if (each.length === 0) {
    Object.assign(row, { failed: true, why: note, seconds: null });
  } else {
    Object.assign(row, {
      seconds: median(each), seconds_min: Math.min(...each), seconds_max: Math.max(...each),
      seconds_each: each, mb_per_second: cvrBytes / 1e6 / median(each),
      // The cores the rest of the machine kept busy, on average, during this row's runs.
      others_cores: row.others_cpu_seconds_each.reduce((a, b) => a + b, 0) / each.reduce((a, b) => a + b, 0),
    });
    if (note.startsWith('query ')) row.query_seconds_each = numbers(note.slice(6));
  }
  row.peak_rss_mb_each = numbers(rss).map((kb) => Math.round(kb / 1024));
  results.push(row);
}
// x vs baseline: this row's median over its input's baseline (cat for the folder, unzip for
// the zip); 1.0x is the baseline's speed. DuckDB / this: DuckDB's median on the folder at the
// same thread count over this row's (folder rows only).
const baseline = { folder: results.find((r) => r.what === 'cat'), zip: results.find((r) => r.what === 'unzip') };
const duckdbSeconds = (threads) =>
  results.find((r) => r.what === 'DuckDB' && r.threads === threads && !r.failed)?.seconds ?? null;
for (const r of results) {
  if (r.failed) continue;
  r.baseline = baseline[r.input].what;
  r.over_baseline = r.seconds / baseline[r.input].seconds;
  const duckdb = r.input === 'folder' && r.what !== 'DuckDB' ? duckdbSeconds(r.threads) : null;
  r.duckdb_over_this = duckdb === null ? null : duckdb / r.seconds;
}

// ---- Checks ----
const failures = [];
const checks = [];
const aggregate = read('canvass-aggregate.json');
const sessions = aggregate.records.read;
const figureKeys = ['overvotes', 'undervotes', 'ballots'];
const contestMap = (contests) => Object.fromEntries(contests.map((c) => [c.id, c]));
// compare(name, mine, theirs): {contest: {totals, overvotes, undervotes, ballots}} against
// Canvass's aggregate; a candidate missing on one side counts 0.
const compare = (name, mine) => {
  const theirs = contestMap(aggregate.contests);
  let cells = 0;
  const mismatches = [];
  const same = (where, counted, peer) => {
    ++cells;
    if ((counted ?? 0) !== (peer ?? 0)) mismatches.push(`${where}: ${name} ${peer ?? 0}, Canvass ${counted ?? 0}`);
  };
  for (const id of new Set([...Object.keys(mine), ...Object.keys(theirs)])) {
    const m = mine[id] ?? { totals: {} }, t = theirs[id] ?? { totals: {} };
    for (const key of figureKeys) same(`contest ${id} ${key}`, t[key], m[key]);
    for (const c of new Set([...Object.keys(m.totals), ...Object.keys(t.totals)])) {
      same(`contest ${id} candidate ${c}`, t.totals[c], m.totals[c]);
    }
  }
  checks.push({ what: name, cells_compared: cells, mismatches: mismatches.length });
  if (mismatches.length) failures.push(`${name}: ${mismatches.length} cells differ, e.g. ${mismatches.slice(0, 5).join('; ')}`);
};
const rejectedOf = (report) => Object.values(report.records.rejected).reduce((a, b) => a + b, 0);
if (aggregate.records.read !== aggregate.records.counted || rejectedOf(aggregate) !== 0) {
  failures.push(`canvass aggregate: read ${aggregate.records.read}, counted ${aggregate.records.counted}, rejected ${rejectedOf(aggregate)}`);
}
if (sessions !== Number(env.PEERS_SCALE) * 40) {
  failures.push(`canvass aggregate read ${sessions} sessions, expected 40 x scale = ${Number(env.PEERS_SCALE) * 40}`);
}
const asTally = (report) => Object.fromEntries(report.contests.map((c) => [c.id,
  { totals: c.totals, overvotes: c.overvotes, undervotes: c.undervotes, ballots: c.ballots }]));
for (const input of ['folder', 'zip']) {
  for (const threads of [1, 2]) {
    const report = read(`canvass-${input}-${threads}.json`);
    if (report.verdict !== 'match' || report.records.read !== sessions ||
        report.records.counted !== sessions || rejectedOf(report) !== 0 ||
        report.records.adjudicated !== aggregate.records.adjudicated) {
      failures.push(`Canvass ${input}, ${threadsText(threads)}: verdict ${report.verdict}, read ${report.records.read}, ` +
                    `counted ${report.records.counted}, rejected ${rejectedOf(report)}, adjudicated ${report.records.adjudicated}`);
    }
    compare(`Canvass reconcile ${input}, ${threadsText(threads)}`, asTally(report));
  }
  if (fs.readFileSync(`${work}/canvass-${input}-1.json`, 'utf8') !== fs.readFileSync(`${work}/canvass-${input}-2.json`, 'utf8')) {
    failures.push(`Canvass ${input}: the reports at 1 and 2 threads differ`);
  }
}
const duckdbRows = results.filter((r) => r.what === 'DuckDB' && !r.failed);
for (const r of duckdbRows) compare(`DuckDB, ${threadsText(r.threads)}`, read(`duckdb-folder-${r.threads}.json`).contests);
const duckdbOutput = duckdbRows.length ? read(`duckdb-folder-${duckdbRows[0].threads}.json`) : null;
const duckdbFailed = results.find((r) => r.what === 'DuckDB' && r.failed);

// What the tally assumed, from DuckDB's untimed diagnostics.
let diagnostics = null, diagnosticsText;
if (exists('duckdb-diagnostics.json')) {
  const out = read('duckdb-diagnostics.json');
  diagnostics = out.diagnostics ?? null;
  if (!diagnostics) failures.push(`DuckDB diagnostics: ${out.error ?? 'no output'}`);
}
const canvassOvervotes = aggregate.contests.reduce((a, c) => a + c.overvotes, 0);
if (diagnostics) {
  const d = diagnostics;
  if (d.sessions !== sessions) failures.push(`DuckDB counted ${d.sessions} sessions, Canvass read ${sessions}`);
  if (d.adjudicated !== aggregate.records.adjudicated) {
    failures.push(`DuckDB counted ${d.adjudicated} adjudicated sessions, Canvass ${aggregate.records.adjudicated}`);
  }
  for (const key of ['no_current_version', 'contests_counted_over_vote_for', 'contests_not_in_manifest']) {
    if (d[key] !== 0) failures.push(`DuckDB diagnostics: ${key} = ${d[key]}, expected 0`);
  }
  diagnosticsText = `In the current versions DuckDB found ${d.marks.toLocaleString('en-US')} marks, ` +
    `${d.counted_marks.toLocaleString('en-US')} of them counted (IsVote, not IsAmbiguous, Rank 1); ` +
    `${d.unambiguous_not_vote_marks} unambiguous marks with IsVote false (how Dominion and this generator write an overvoted ` +
    `plurality contest's marks), ${d.ambiguous_marks} ambiguous, ${d.rank_not_1_marks} with a Rank other than 1; ` +
    `${d.contests_stating_overvotes} contests stating Overvotes > 0; ${d.contests_counted_over_vote_for} contests with more ` +
    `counted marks than their VoteFor (where Canvass's overvote rule would count nobody and DuckDB's tally would differ). ` +
    `Canvass counted ${canvassOvervotes} overvotes. ` +
    (canvassOvervotes === 0 && d.unambiguous_not_vote_marks === 0
      ? 'So counting IsVote marks is exactly Canvass\'s tally here, but only because the gen-01 results report ' +
        'states no overvotes at all: the generator writes no overvoted contest, and the IsVote-false path ' +
        '(engine/synth/dominion_generator.cc) is not exercised by this export. '
      : 'Counting IsVote marks is Canvass\'s tally exactly: no contest holds more IsVote marks than its VoteFor. ') +
    `Sessions: DuckDB ${d.sessions.toLocaleString('en-US')}, adjudicated (Original IsCurrent false, Modified counted) ` +
    `${d.adjudicated.toLocaleString('en-US')}; Canvass read ${sessions.toLocaleString('en-US')}, adjudicated ` +
    `${aggregate.records.adjudicated.toLocaleString('en-US')}.`;
} else {
  diagnosticsText = 'DuckDB\'s diagnostics did not run (DuckDB failed), so the overvote assumption was not checked.';
}

// ---- The report ----
const order = ['cat', 'unzip', 'Canvass', 'DuckDB'];
const inputOrder = ['folder', 'zip'];
results.sort((a, b) => inputOrder.indexOf(a.input) - inputOrder.indexOf(b.input) ||
                       order.indexOf(a.what) - order.indexOf(b.what) || a.threads - b.threads);
const group = (n) => Math.round(n).toLocaleString('en-US');
const ratio = (x) => (x === null || x === undefined ? '-' : `${x.toFixed(2)}x`);
const whatText = {
  cat: 'cat DIR/CvrExport_*.json (folder baseline)',
  unzip: 'unzip -p DIR.zip (zip baseline)',
  Canvass: { folder: 'canvass reconcile DIR (folder)', zip: 'canvass reconcile DIR.zip (zip)' },
  DuckDB: { folder: 'DuckDB read_json DIR/CvrExport_*.json (folder)' },
};
const nameOf = (r) => (typeof whatText[r.what] === 'string' ? whatText[r.what] : whatText[r.what][r.input]);
const table = [
  '| what | threads | seconds, median (min-max) | MB/s | x vs baseline | DuckDB / this | peak RSS MB | other work, cores | load (1 min) before |',
  '|---|---|---|---|---|---|---|---|---|',
  ...results.map((r) => (r.failed
    ? `| ${nameOf(r)} | ${r.threads} | FAILED | - | - | - | ${r.peak_rss_mb_each.join(', ')} | - | ${r.load_average_1min_before.toFixed(2)} |`
    : `| ${nameOf(r)} | ${r.threads} | ${r.seconds.toFixed(3)} (${r.seconds_min.toFixed(3)}-${r.seconds_max.toFixed(3)}) | ` +
      `${r.mb_per_second.toFixed(0)} | ${r.what === r.baseline ? '1.00x' : ratio(r.over_baseline)} | ${ratio(r.duckdb_over_this)} | ` +
      `${Math.max(...r.peak_rss_mb_each)} | ${r.others_cores.toFixed(2)} | ${r.load_average_1min_before.toFixed(2)} |`)),
].join('\n');
const queryMedian = (threads) => {
  const r = duckdbRows.find((x) => x.threads === threads);
  return r ? median(r.query_seconds_each).toFixed(3) : null;
};
const queryTimes = duckdbRows.map((r) => `${threadsText(r.threads)} ${queryMedian(r.threads)} s`).join('; ');
const sqlOf = (output) => output.sql.replaceAll(work, '$TMPDIR/...').replaceAll(env.PEERS_REPORTED, 'ERR');
const includes = {
  cat: '`cat DIR/CvrExport_*.json > /dev/null`: the whole process, reading every CvrExport file from the page cache; the floor for any tool that reads every byte of the folder.',
  unzip: '`unzip -p DIR.zip > /dev/null`: the whole process, reading the zip from the page cache and inflating every member (the manifests too, a few KB) to /dev/null, on one core. Debian\'s unzip (Info-ZIP 6.0) inflates with its own code, not zlib, and more slowly than zlib: Canvass, inflating with zlib through libarchive, can take less than this baseline.',
  Canvass: 'the whole `canvass reconcile --reported DIR-reported.csv DIR|DIR.zip --format json --threads T` process: start, ' +
    'loading the manifests and the reported figures, reading and validating every session (identity by TabulatorId, BatchId, RecordId, ' +
    'exactly-once, the current version, units, contests and candidates, the overvote rule), the tally with its roll-up, ' +
    'the reconciliation of every reported cell, the JSON report; the zip\'s members inflated in memory (libarchive). ' +
    'Each run exits 0 with "verdict": "match".',
  DuckDB: 'the whole `node duckdb_dominion_peer.mjs --folder DIR --threads T` process: Node start, loading DuckDB, one query ' +
    '(read_json of DIR/CvrExport_*.json, one object a file, with the fields it needs typed, so no schema sampling; Sessions UNNESTed, ' +
    'the current version chosen (Original unless its IsCurrent is false, then Modified), its Cards, Contests and Marks UNNESTed; ' +
    'count(*) of the marks with IsVote and not IsAmbiguous and Rank = 1 per contest and candidate; sum(Overvotes), sum(Undervotes) ' +
    'and count(*) per contest), the result rows in JavaScript. It does not apply the overvote rule, nor check identities, exactly-once, ' +
    'units or candidates against the manifests, nor compare with reported figures: less work than Canvass. ' +
    (queryTimes ? `The query alone (medians): ${queryTimes}.` : ''),
};
const memoryGb = (Number(env.PEERS_MEMORY_KB) / 1048576).toFixed(0);
const reportedName = env.PEERS_REPORTED.replace(/^.*\/datasets\//, 'datasets/');
const duckdbText = duckdbFailed
  ? `**DuckDB could not tally the export**: ${duckdbFailed.why}.`
  : `DuckDB read every CvrExport file as one JSON value (\`format='unstructured'\`, \`maximum_object_size=${duckdbOutput.settings.maximum_object_size}\` ` +
    `for a largest file of ${group(duckdbOutput.settings.largest_file_bytes)} bytes, memory_limit ${duckdbOutput.settings.memory_limit}).`;
const checksText = failures.length
  ? `FAILED: ${failures.join('; ')}`
  : `${checks.filter((c) => c.what.startsWith('DuckDB')).map((c) => `${c.what}: ${c.cells_compared} cells`).join('; ') || 'no DuckDB run to compare'} ` +
    '(every contest\'s overvotes, undervotes and ballots and every (contest, candidate) total) equal `canvass aggregate DIR --format json`; ' +
    'so do the four Canvass reconcile reports (folder and zip, 1 and 2 threads), each "match" with every session counted and none rejected; ' +
    'each input\'s reports at 1 and 2 threads are byte for byte the same.';
const markdown = `# Canvass against DuckDB on one Dominion CVR export (folder and zip)

The export: \`canvass generate --reported ${reportedName} --format dominion --scale ${env.PEERS_SCALE} --seed ${env.PEERS_SEED} ` +
`--interleave --out DIR\` (sessions in a seeded order across units, 1000 a file), and the same with \`--out DIR.zip\`; both write ` +
`the same DIR-reported.csv. ${group(sessions)} sessions (${group(aggregate.records.adjudicated)} adjudicated), ` +
`${group(env.PEERS_CVR_FILES)} CvrExport files, ${group(cvrBytes)} bytes of JSON; the zip ${group(env.PEERS_ZIP_BYTES)} bytes. ` +
`All read from the page cache. Median of ${env.PEERS_REPETITIONS} runs each, whole processes, wall clock; ${env.PEERS_DATE}; ` +
`${env.PEERS_CPU}, ${env.PEERS_CORES} cores, ${memoryGb} GiB; load average (1, 5, 15 min) ${env.PEERS_LOAD_START} at the start, ` +
`${env.PEERS_LOAD_TIMED} after the timed runs, ${env.PEERS_LOAD_END} at the end. Other work on the machine adds noise: ` +
`"other work, cores" is the CPU time the rest of the machine used during the row's runs (all busy CPU time from /proc/stat ` +
`less the runs' own user and system time) over their wall time, so 1.00 is one of the ${env.PEERS_CORES} cores kept busy by ` +
`something else; the last column, the 1-minute load average before the row's runs, includes this script's own runs just before. ` +
`Made by \`${env.PEERS_COMMAND}\`.

${table}

MB/s: the CvrExport files' bytes (uncompressed JSON, ${group(cvrBytes)}) over the median seconds, for the zip rows too. ` +
`x vs baseline: this row's median over its input's baseline (cat for the folder, unzip for the zip): 2.00x took twice as long as ` +
`merely reading (inflating) the bytes. DuckDB / this: DuckDB's median on the folder at the same thread count over this row's ` +
`(3.0x: this row took a third of DuckDB's time); none on DuckDB's own rows, nor on the zip rows (DuckDB reads no zip).

${duckdbText}

What each time includes:

- **cat**: ${includes.cat}
- **unzip**: ${includes.unzip}
- **Canvass**: ${includes.Canvass}
- **DuckDB**: ${includes.DuckDB}

Checks: ${checksText}

The overvote rule: ${diagnosticsText}

DuckDB settings: \`SET threads=T\`, \`SET enable_external_file_cache=false\` (each run reads the files). The query:

${duckdbOutput ? `\`\`\`sql\n${sqlOf(duckdbOutput)}\n\`\`\`` : '(DuckDB ran no query to the end.)'}

Versions: ${env.PEERS_CANVASS_VERSION} (the binary built ${env.PEERS_CANVASS_MTIME}, copied at the start and used throughout` +
`${env.PEERS_CANVASS_REBUILT ? '; the build folder\'s binary was rebuilt during the run' : ''}; the tree at the end ${env.PEERS_COMMIT}); ` +
`DuckDB ${env.PEERS_DUCKDB_VERSION} (npm ${env.PEERS_DUCKDB_PACKAGE}); Node.js ${env.PEERS_NODE}.
`;
fs.writeFileSync(process.argv[2], markdown);
fs.writeFileSync(process.argv[3], JSON.stringify({
  export: {
    reported: reportedName, scale: Number(env.PEERS_SCALE), seed: Number(env.PEERS_SEED), interleaved: true,
    sessions, adjudicated: aggregate.records.adjudicated, cvr_files: Number(env.PEERS_CVR_FILES),
    cvr_bytes: cvrBytes, zip_bytes: Number(env.PEERS_ZIP_BYTES),
  },
  duckdb: duckdbFailed
    ? { read: false, why: duckdbFailed.why }
    : { read: true, settings: duckdbOutput.settings, sql: sqlOf(duckdbOutput) },
  duckdb_applies_overvote_rule: false,
  repetitions: Number(env.PEERS_REPETITIONS), date: env.PEERS_DATE, command: env.PEERS_COMMAND,
  machine: { cpu: env.PEERS_CPU, cores: Number(env.PEERS_CORES), memory_kb: Number(env.PEERS_MEMORY_KB),
             load_average_at_start: env.PEERS_LOAD_START, load_average_after_timed_runs: env.PEERS_LOAD_TIMED,
             load_average_at_end: env.PEERS_LOAD_END },
  versions: { canvass: env.PEERS_CANVASS_VERSION, canvass_binary_built: env.PEERS_CANVASS_MTIME,
              canvass_rebuilt_during_run: env.PEERS_CANVASS_REBUILT === 'yes', tree: env.PEERS_COMMIT,
              duckdb: `${env.PEERS_DUCKDB_VERSION} (npm ${env.PEERS_DUCKDB_PACKAGE})`, node: env.PEERS_NODE },
  includes,
  checks: { passed: failures.length === 0, failures, compared: checks, canvass_overvotes: canvassOvervotes, duckdb_diagnostics: diagnostics },
  results,
}, null, 1) + '\n');
console.log(table);
if (duckdbFailed) console.log(`DuckDB could not tally the export: ${duckdbFailed.why}`);
if (failures.length) {
  console.error(`run_dominion_peers: checks failed: ${failures.join('; ')}`);
  process.exit(1);
}
EOF
note "wrote $peers/results-dominion.md and $peers/results-dominion.json"
