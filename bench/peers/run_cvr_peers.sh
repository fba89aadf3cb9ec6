#!/usr/bin/env bash
# Times Canvass against DuckDB on one NIST SP 1500-103 cast vote record report (JSON): the
# tally per reporting unit, contest and selection of `canvass reconcile`, and the same tally
# in DuckDB SQL, plus `cat FILE > /dev/null` as the read baseline. Writes the table to
# bench/peers/results-cvr.md and bench/peers/results-cvr.json.
#
# Usage: bench/peers/run_cvr_peers.sh [SCALE]      (default 20000: 800,000 CVRs, about 2.03e9 bytes)
#
# The file: `canvass generate --reported ERR --format nist-json --scale SCALE --seed SEED
# --interleave` (records in a seeded order across units) of NIST's gen-01 results report,
# 40 ballots per scale unit, about 2.5 KB a ballot, all of it one top-level JSON object.
# DuckDB reads that file as it is (one object; maximum_object_size raised so that its read
# buffer, twice that, holds the file) and, as its best case, the same records one CVR per
# line (NDJSON, converted once, not timed). If DuckDB cannot read the one object at SCALE
# (an object size limit, or memory: its peak RSS is several times the file), the results
# say why, and the largest scale it can read (halving, then bisecting) is measured against
# Canvass too. DuckDB does not apply the overvote rule; the results say so, and its totals
# are checked against Canvass's per unit and contest (`--by unit`, not timed).
#
# Every time is the wall clock of a whole process (start, load, read, tally, report), the
# median of PEERS_REPETITIONS runs, all from the page cache (each file is read once first).
#
# Expects build/release/tools/canvass (it builds nothing). Installs what else it needs:
# Node.js/npm and GNU time with apt-get (as root) if missing, and @duckdb/node-api with npm
# into bench/peers/node_modules (git-ignored). Safe to run again.
#
# Environment:
#   CANVASS=PATH            the canvass binary (default build/release/tools/canvass)
#   PEERS_REPETITIONS=N     runs per measurement, the median is reported (default 3)
#   PEERS_DUCKDB_THREADS=L  DuckDB thread counts (default "1 2")
#   PEERS_DUCKDB_MEMORY_LIMIT=SIZE  DuckDB's memory_limit (default DuckDB's: 80% of RAM)
#   PEERS_REPORTED=PATH     the results report (default datasets/nist-cdf/gen-01/err-gen-01.json)
#   CVR_SEED=S              the generator's seed (default 1)
#   CVR_FILE=PATH           keep the CVR file at PATH (and its NDJSON copy at PATH.ndjson)
#                           and reuse them on the next run: an existing PATH is not
#                           generated again; its scale and seed are read from its Notes
#   TMPDIR                  where the files are written without CVR_FILE (the report and
#                           its NDJSON copy, about 2 GB each by default); removed at the end
set -euo pipefail
export LC_ALL=C  # '.' as the decimal point in $EPOCHREALTIME and printf

readonly kDuckdbPackage="@duckdb/node-api@1.5.6-r.1"  # the same as run_peers.sh
readonly kDefaultScale=20000

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
peers="$repo/bench/peers"
canvass=${CANVASS:-$repo/build/release/tools/canvass}
reported=${PEERS_REPORTED:-$repo/datasets/nist-cdf/gen-01/err-gen-01.json}
repetitions=${PEERS_REPETITIONS:-3}
duckdb_threads=${PEERS_DUCKDB_THREADS:-1 2}
duckdb_memory_limit=${PEERS_DUCKDB_MEMORY_LIMIT:-}
seed=${CVR_SEED:-1}
scale_arg=${1:-}
cvr_file=${CVR_FILE:-}

die() { echo "run_cvr_peers: $*" >&2; exit 2; }
note() { echo "run_cvr_peers: $*" >&2; }

(( $# <= 1 )) || die "usage: bench/peers/run_cvr_peers.sh [SCALE]"
[[ -z $scale_arg || ($scale_arg =~ ^[0-9]+$ && $scale_arg -ge 1) ]] ||
  die "SCALE: expected a positive integer, got \"$scale_arg\""
[[ $repetitions =~ ^[0-9]+$ && $repetitions -ge 1 ]] ||
  die "PEERS_REPETITIONS: expected a positive integer, got \"$repetitions\""
[[ $seed =~ ^[0-9]+$ ]] || die "CVR_SEED: expected a non-negative integer, got \"$seed\""
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

# ---- Tools: node, npm and GNU time from Debian if missing, DuckDB from npm ----

apt_install() {
  [[ $(id -u) -eq 0 ]] || die "$1 is missing; install it (as root: apt-get install $*)"
  note "installing $* with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
command -v node >/dev/null || apt_install nodejs npm
command -v npm >/dev/null || apt_install npm
[[ -x /usr/bin/time ]] || apt_install time  # peak RSS of each run

duckdb_installed() {
  local manifest="$peers/node_modules/@duckdb/node-api/package.json"
  [[ -f $manifest ]] && grep -q "\"version\": \"${kDuckdbPackage##*@}\"" "$manifest"
}
if ! duckdb_installed; then
  note "npm install $kDuckdbPackage into bench/peers/node_modules"
  npm install --prefix "$peers" --no-audit --no-fund --loglevel=error "$kDuckdbPackage" >&2
  duckdb_installed || die "npm did not install $kDuckdbPackage"
fi

# ---- The input: one CVR report, generated or reused ----

work=$(mktemp -d "${TMPDIR:-/tmp}/canvass-cvr-peers-XXXXXX")
partial=""  # a file being written outside $work, removed if the script stops
trap 'rm -rf "$work"; [[ -z $partial ]] || rm -rf "$partial"' EXIT

# generate SCALE PATH: the CVR report of $reported at SCALE, interleaved, written to PATH
# (through a folder beside it, so that PATH appears whole or not at all).
generate() {
  local scale=$1 path=$2 folder
  folder=$(mktemp -d "$(dirname "$path")/.cvr-generate-XXXXXX")
  partial=$folder
  note "generating $path: scale $scale, seed $seed, interleaved"
  "$canvass" generate --reported "$reported" --format nist-json --scale "$scale" \
    --seed "$seed" --interleave --out "$folder" >&2 || die "canvass generate failed (exit $?)"
  mv "$folder/cvr.json" "$path"
  rm -rf "$folder"
  partial=""
}

# The seed and scale the generator wrote into the report's Notes, as "SEED SCALE".
generation_of() {
  head -c 65536 "$1" | grep -o -m1 '(seed [0-9]*, scale [0-9]*)' | tr -dc '0-9 ' |
    awk '{ print $1, $2 }'
}

if [[ -n $cvr_file ]]; then
  cvr=$(realpath -m "$cvr_file")
  if [[ -f $cvr ]]; then
    read -r file_seed file_scale < <(generation_of "$cvr") ||
      die "$cvr: no \"(seed S, scale K)\" in its Notes: not written by canvass generate"
    [[ -z $scale_arg || $scale_arg == "$file_scale" ]] ||
      die "$cvr is at scale $file_scale, not $scale_arg (remove it, or drop SCALE)"
    scale=$file_scale seed=$file_seed
    interleaved=$(sed -n 's/^interleaved=//p' "$cvr.generation" 2>/dev/null || true)
    interleaved=${interleaved:-unknown}
    note "reusing $cvr (scale $scale, seed $seed, interleaved: $interleaved)"
  else
    scale=${scale_arg:-$kDefaultScale}
    mkdir -p "$(dirname "$cvr")"
    rm -f "$cvr.generation" "$cvr.ndjson"
    generate "$scale" "$cvr"
    interleaved=yes
    printf 'scale=%s\nseed=%s\ninterleaved=yes\n' "$scale" "$seed" >"$cvr.generation"
  fi
  ndjson="$cvr.ndjson"
else
  scale=${scale_arg:-$kDefaultScale}
  cvr="$work/cvr.json"
  generate "$scale" "$cvr"
  interleaved=yes
  ndjson="$work/cvr.ndjson"
fi
file_bytes=$(stat -c %s "$cvr")

# The NDJSON copy, for DuckDB's best case: the generator writes the report's head on line 1,
# then one record per line (each but the last ending in ','), then "]}". The records are
# copied byte for byte; a file of another layout is refused (convert it yourself, e.g.
# `jq -c '.CVR[]' FILE > FILE.ndjson`, and give CVR_FILE=FILE).
if [[ -f $ndjson && $ndjson -nt $cvr ]]; then
  note "reusing $ndjson"
else
  note "writing $ndjson (one CVR per line; not timed)"
  partial="$ndjson.partial"
  awk '
    NR == 1 { if ($0 !~ /"CVR":\[$/) bad = "line 1 does not end with \"CVR\":["; next }
    bad != "" { next }
    /^\{"@type":"CVR\.CVR"/ { if (closed) bad = "a record after \"]}\""; sub(/,$/, ""); print; next }
    $0 == "]}" { closed = 1; next }
    { bad = "line " NR " is neither a record nor \"]}\"" }
    END {
      if (bad == "" && !closed) bad = "no closing \"]}\" line"
      if (bad != "") { print "not the generator layout: " bad > "/dev/stderr"; exit 1 }
    }' "$cvr" >"$partial" ||
    die "$cvr: cannot convert to NDJSON line by line; convert it with jq -c '.CVR[]' into $ndjson"
  mv "$partial" "$ndjson"
  partial=""
fi
ndjson_bytes=$(stat -c %s "$ndjson")
ndjson_records=$(wc -l <"$ndjson")
note "$cvr: $file_bytes bytes; $ndjson: $ndjson_records records, $ndjson_bytes bytes"

# ---- Measurements ----
# $measurements: "tool<TAB>threads<TAB>input<TAB>seconds...<TAB>peak RSS KB...<TAB>note"
# $inputs: "input<TAB>path<TAB>bytes<TAB>scale"

load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
measurements="$work/measurements.tsv" inputs="$work/inputs.tsv"
: >"$measurements"
printf 'report\t%s\t%s\t%s\nndjson\t%s\t%s\t%s\n' "$cvr" "$file_bytes" "$scale" \
  "$ndjson" "$ndjson_bytes" "$scale" >"$inputs"
seconds_since() { awk -v start="$1" -v end="$EPOCHREALTIME" 'BEGIN { printf "%.6f", end - start }'; }

# timed COMMAND...: runs it (stdout and stderr as the caller redirects them) under GNU time;
# sets $last_seconds (wall clock of the whole process), $last_rss (peak RSS, KB) and
# returns its exit status.
last_seconds="" last_rss=""
timed() {
  local start=$EPOCHREALTIME status=0
  /usr/bin/time -f '%M' -o "$work/rss" "$@" || status=$?
  last_seconds=$(seconds_since "$start")
  last_rss=$(tail -n 1 "$work/rss")
  [[ $last_rss =~ ^[0-9]+$ ]] || last_rss=0
  return $status
}
record() {  # tool threads input seconds rss note
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$measurements"
}

# cat: the read baseline.
measure_cat() {  # input path
  local times=() rss=()
  cat "$2" >/dev/null  # into the page cache
  for ((r = 0; r < repetitions; ++r)); do
    timed cat "$2" >/dev/null || die "cat $2 failed"
    times+=("$last_seconds") rss+=("$last_rss")
  done
  record cat 1 "$1" "${times[*]}" "${rss[*]}" ""
  note "cat $1: ${times[*]} s"
}

# Canvass: `reconcile` of the report at its scale; exit 0 and "verdict": "match" required.
# The last run's report is kept for the checks ($work/canvass-INPUT-THREADS.json).
measure_canvass() {  # input path scale
  local threads times rss out status
  cat "$2" >/dev/null  # back into the page cache (a peer's memory may have pushed it out)
  for threads in 1 2; do
    times=() rss=() out="$work/canvass-$1-$threads.json"
    for ((r = 0; r < repetitions; ++r)); do
      status=0
      timed "$canvass" reconcile --reported "$reported" --scale "$3" "$2" --format json \
        --threads "$threads" >"$out" 2>"$work/canvass.err" || status=$?
      ((status == 0)) || die "canvass reconcile --threads $threads of $2: exit $status: $(head -c 2000 "$work/canvass.err")"
      tail -n 2 "$out" | grep -q '^  "verdict": "match"$' ||
        die "canvass reconcile --threads $threads of $2: no \"verdict\": \"match\""
      times+=("$last_seconds") rss+=("$last_rss")
    done
    record Canvass "$threads" "$1" "${times[*]}" "${rss[*]}" ""
    note "canvass $1, $threads threads: ${times[*]} s"
  done
  # Not timed: the same with --by unit, the per-unit cells DuckDB's are checked against.
  "$canvass" reconcile --reported "$reported" --scale "$3" "$2" --format json --threads 2 \
    --by unit >"$work/canvass-$1-units.json" || die "canvass reconcile --by unit of $2 failed"
}

# DuckDB: one process per run (node start and DuckDB load included, like Canvass's);
# duckdb_cvr_peer.mjs also reports the query's own time. Returns 1 when DuckDB failed, with
# the reason in $duckdb_failure; the last run's output is $work/duckdb-INPUT-THREADS.json.
duckdb_failure=""
duckdb_run() {  # input path layout threads output
  local status=0
  mkdir -p "$work/duckdb-tmp"
  timed node "$peers/duckdb_cvr_peer.mjs" --file "$2" --layout "$3" --threads "$4" \
    --temp-directory "$work/duckdb-tmp" ${duckdb_memory_limit:+--memory-limit "$duckdb_memory_limit"} \
    >"$5" 2>"$work/duckdb.err" || status=$?
  rm -rf "$work/duckdb-tmp"
  ((status == 0)) && return 0
  if ((status == 3)); then
    duckdb_failure=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).error)' "$5")
  elif ((status > 128)); then
    duckdb_failure="the process was killed by signal $((status - 128)) (peak RSS $((last_rss / 1024)) MB; out of memory?) $(tail -c 500 "$work/duckdb.err")"
  else
    duckdb_failure="exit $status (peak RSS $((last_rss / 1024)) MB): $(tail -c 1000 "$work/duckdb.err")"
  fi
  duckdb_failure=${duckdb_failure//$'\t'/ }
  duckdb_failure=${duckdb_failure//$'\n'/ }
  return 1
}
measure_duckdb() {  # input path layout   (returns 1 if DuckDB failed)
  local threads times rss query out
  cat "$2" >/dev/null  # back into the page cache
  for threads in $duckdb_threads; do
    times=() rss=() query=() out="$work/duckdb-$1-$threads.json"
    for ((r = 0; r < repetitions; ++r)); do
      if ! duckdb_run "$1" "$2" "$3" "$threads" "$out"; then
        note "duckdb $1, $threads threads: FAILED: $duckdb_failure"
        record DuckDB "$threads" "$1" "" "$last_rss" "failed after ${last_seconds} s: $duckdb_failure"
        return 1
      fi
      times+=("$last_seconds") rss+=("$last_rss")
      query+=("$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).seconds[0].toFixed(6))' "$out")")
    done
    record DuckDB "$threads" "$1" "${times[*]}" "${rss[*]}" "query ${query[*]}"
    note "duckdb $1, $threads threads: ${times[*]} s (query alone: ${query[*]} s)"
  done
}

measure_cat report "$cvr"
measure_cat ndjson "$ndjson"
measure_canvass report "$cvr" "$scale"
report_ok=yes
measure_duckdb report "$cvr" report || report_ok=no
measure_duckdb ndjson "$ndjson" ndjson || true  # a failure is in the table

# DuckDB could not read the one object: find the largest scale it can (halving from SCALE,
# then two bisection steps between the last failure and the first success), and measure
# it against Canvass and cat on that file.
largest="" largest_failure=$duckdb_failure
if [[ $report_ok == no ]]; then
  small="$work/largest.json"
  fails=$scale ok=0
  probe() {  # scale: 0 when DuckDB (at its largest thread count) reads it
    generate "$1" "$small"
    local status=0 threads
    threads=$(tr ' ' '\n' <<<"$duckdb_threads" | sort -n | tail -n 1)
    duckdb_run probe "$small" report "$threads" "$work/probe.json" || status=1
    note "probe: scale $1 ($(stat -c %s "$small") bytes): $( ((status == 0)) && echo read || echo "FAILED: $duckdb_failure")"
    return $status
  }
  try=$((scale / 2))
  while ((try >= 1)); do
    if probe "$try"; then ok=$try; break; fi
    fails=$try try=$((try / 2))
  done
  if ((ok > 0)); then
    for _ in 1 2; do
      try=$(( (ok + fails) / 2 ))
      ((try > ok && try < fails)) || break
      if probe "$try"; then ok=$try; else fails=$try; fi
    done
    largest=$ok
    generate "$largest" "$small"
    printf 'largest\t%s\t%s\t%s\n' "$small" "$(stat -c %s "$small")" "$largest" >>"$inputs"
    measure_cat largest "$small"
    measure_canvass largest "$small" "$largest"
    measure_duckdb largest "$small" report || die "DuckDB failed at scale $largest after reading it once"
  else
    note "DuckDB read none of the report files, down to scale 1"
  fi
fi

# ---- Versions, checks and the report ----

commit=$(git -C "$repo" describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)
export PEERS_WORK=$work PEERS_SCALE=$scale PEERS_SEED=$seed PEERS_INTERLEAVED=$interleaved
export PEERS_REPORTED=$reported PEERS_REPETITIONS=$repetitions PEERS_COMMIT=$commit
PEERS_NODE=$(node --version)
PEERS_CORES=$(nproc)
PEERS_MEMORY_KB=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
PEERS_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
PEERS_LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
PEERS_DUCKDB_VERSION=$(node "$peers/duckdb_cvr_peer.mjs" --version)
export PEERS_NODE PEERS_CORES PEERS_MEMORY_KB PEERS_DATE PEERS_LOAD_END PEERS_DUCKDB_VERSION
export PEERS_CPU=$cpu PEERS_LOAD_START=$load_at_start PEERS_DUCKDB_PACKAGE=$kDuckdbPackage
export PEERS_NDJSON_RECORDS=$ndjson_records PEERS_REPORT_OK=$report_ok
export PEERS_LARGEST=$largest PEERS_LARGEST_FAILURE=$largest_failure
export PEERS_COMMAND="${CVR_FILE:+CVR_FILE=$CVR_FILE }${PEERS_DUCKDB_THREADS:+PEERS_DUCKDB_THREADS=\"$PEERS_DUCKDB_THREADS\" }${PEERS_DUCKDB_MEMORY_LIMIT:+PEERS_DUCKDB_MEMORY_LIMIT=$PEERS_DUCKDB_MEMORY_LIMIT }bench/peers/run_cvr_peers.sh${scale_arg:+ $scale_arg}"
export PEERS_CVR_FILE=$cvr_file
node --input-type=module - "$peers/results-cvr.md" "$peers/results-cvr.json" <<'EOF'
// Builds results-cvr.md and results-cvr.json from the measurements, and checks DuckDB's
// tally against Canvass's.
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

const inputs = {};
for (const line of lines('inputs.tsv')) {
  const [input, path, bytes, scale] = line.split('\t');
  inputs[input] = { path, bytes: Number(bytes), scale: Number(scale) };
}
const results = [];
for (const line of lines('measurements.tsv')) {
  const [tool, threads, input, seconds, rss, note] = line.split('\t');
  const each = numbers(seconds);
  const row = { tool, threads: Number(threads), input, file_bytes: inputs[input].bytes };
  if (each.length === 0) {
    Object.assign(row, { failed: true, why: note, seconds: null });
  } else {
    Object.assign(row, {
      seconds: median(each), seconds_min: Math.min(...each), seconds_max: Math.max(...each),
      seconds_each: each, mb_per_second: inputs[input].bytes / 1e6 / median(each),
    });
    if (note.startsWith('query ')) row.query_seconds_each = numbers(note.slice(6));
  }
  row.peak_rss_mb_each = numbers(rss).map((kb) => Math.round(kb / 1024));
  results.push(row);
}
// The ratios: DuckDB's median at the same thread count (on the one report object, and on
// the NDJSON copy of the same records) over this row's; 10.0x: this row took a tenth.
const duckdbSeconds = (input, threads) =>
  results.find((r) => r.tool === 'DuckDB' && r.input === input && r.threads === threads && !r.failed)?.seconds ?? null;
for (const r of results) {
  if (r.failed) continue;
  const object = duckdbSeconds(r.input === 'largest' ? 'largest' : 'report', r.threads);
  const ndjson = r.input === 'largest' ? null : duckdbSeconds('ndjson', r.threads);
  r.duckdb_object_over_this = object === null ? null : object / r.seconds;
  r.duckdb_ndjson_over_this = ndjson === null ? null : ndjson / r.seconds;
}

// ---- Checks ----
const failures = [];
const checks = [];
const canvass = {};
for (const input of Object.keys(inputs).filter((i) => i !== 'ndjson')) {
  for (const threads of [1, 2]) {
    const name = `canvass-${input}-${threads}.json`;
    if (!exists(name)) continue;
    const report = read(name);
    const rejected = Object.values(report.records.rejected).reduce((a, b) => a + b, 0);
    if (report.verdict !== 'match' || report.records.read !== report.records.counted || rejected !== 0) {
      failures.push(`Canvass ${input}, ${threadsText(threads)}: verdict ${report.verdict}, ` +
                    `read ${report.records.read}, counted ${report.records.counted}, rejected ${rejected}`);
    }
    canvass[`${input}-${threads}`] = report;
  }
  if (canvass[`${input}-1`] && fs.readFileSync(`${work}/canvass-${input}-1.json`, 'utf8') !==
                               fs.readFileSync(`${work}/canvass-${input}-2.json`, 'utf8')) {
    failures.push(`Canvass ${input}: the reports at 1 and 2 threads differ`);
  }
}
const records = canvass['report-1'].records.read;
if (Number(env.PEERS_NDJSON_RECORDS) !== records) {
  failures.push(`the NDJSON copy has ${env.PEERS_NDJSON_RECORDS} records, Canvass read ${records}`);
}

// DuckDB against Canvass's --by unit report: at every unit DuckDB tallied, per contest,
// overvotes, undervotes and ballots always, and the selection totals where Canvass counted
// no overvote there (DuckDB does not apply the overvote rule); then the same at the
// election scope, DuckDB's units summed.
const sample = {};
const compare = (name, input, duckdb, duckdbInput) => {
  const units = read(`canvass-${input}-units.json`);
  const byId = Object.fromEntries(units.units.map((u) => [u.id, u]));
  let cells = 0, skipped = 0;
  const mismatches = [];
  const same = (where, counted, peer) => {
    ++cells;
    if ((counted ?? 0) !== (peer ?? 0)) mismatches.push(`${where}: DuckDB ${peer ?? 0}, Canvass ${counted ?? 0}`);
  };
  const compareContest = (where, mine, theirs) => {
    mine ??= { totals: {}, overvotes: 0, undervotes: 0, ballots: 0 };
    theirs ??= { totals: {}, overvotes: 0, undervotes: 0, ballots: 0 };
    for (const key of ['overvotes', 'undervotes', 'ballots']) same(`${where} ${key}`, theirs[key], mine[key]);
    const selections = new Set([...Object.keys(mine.totals), ...Object.keys(theirs.totals)]);
    if ((theirs.overvotes ?? 0) > 0) {
      skipped += selections.size;
      return;
    }
    for (const s of selections) same(`${where} ${s}`, theirs.totals[s], mine.totals[s]);
  };
  const scope = {};
  for (const [unit, contests] of Object.entries(duckdb.units)) {
    const theirs = byId[unit];
    if (!theirs) {
      mismatches.push(`unit ${unit}: DuckDB tallied it, Canvass has no such unit`);
      continue;
    }
    const theirContests = Object.fromEntries(theirs.contests.map((c) => [c.id, c]));
    for (const id of new Set([...Object.keys(contests), ...Object.keys(theirContests)])) {
      compareContest(`${unit} ${id}`, contests[id], theirContests[id]);
    }
    for (const [id, c] of Object.entries(contests)) {
      const s = (scope[id] ??= { totals: {}, overvotes: 0, undervotes: 0, ballots: 0 });
      for (const [sel, n] of Object.entries(c.totals)) s.totals[sel] = (s.totals[sel] ?? 0) + n;
      for (const key of ['overvotes', 'undervotes', 'ballots']) s[key] += c[key];
    }
  }
  const scopeContests = Object.fromEntries(units.contests.map((c) => [c.id, c]));
  for (const id of new Set([...Object.keys(scope), ...Object.keys(scopeContests)])) {
    compareContest(`${units.election.scope} ${id}`, scope[id], scopeContests[id]);
  }
  if (!sample.unit) {
    const unit = Object.keys(duckdb.units).sort()[0];
    const contest = duckdb.units[unit]['cc-president'] ? 'cc-president' : Object.keys(duckdb.units[unit]).sort()[0];
    const theirs = byId[unit].contests.find((c) => c.id === contest);
    const order = Object.keys(theirs.totals);
    const pick = (c) => Object.fromEntries(
        [...order.map((s) => [s, c.totals[s] ?? 0]), ...['overvotes', 'undervotes', 'ballots'].map((k) => [k, c[k] ?? 0])]);
    Object.assign(sample, { input: duckdbInput, unit, contest, duckdb: pick(duckdb.units[unit][contest]), canvass: pick(theirs) });
  }
  checks.push({ what: name, cells_compared: cells, selection_cells_not_compared: skipped, mismatches: mismatches.length });
  if (mismatches.length) failures.push(`${name}: ${mismatches.length} cells differ, e.g. ${mismatches.slice(0, 5).join('; ')}`);
};
for (const r of results.filter((r) => r.tool === 'DuckDB' && !r.failed)) {
  compare(`DuckDB ${r.input}, ${threadsText(r.threads)}`, r.input === 'ndjson' ? 'report' : r.input,
          read(`duckdb-${r.input}-${r.threads}.json`), r.input);
}
// The last successful run's output of an input, for its settings and SQL (null if none).
const outputOf = (input) => {
  const r = results.find((x) => x.tool === 'DuckDB' && x.input === input && !x.failed);
  return r ? read(`duckdb-${input}-${r.threads}.json`) : null;
};
const reportOutput = outputOf('report') ?? outputOf('largest');
const ndjsonOutput = outputOf('ndjson');
const failedNdjson = results.find((r) => r.tool === 'DuckDB' && r.input === 'ndjson' && r.failed);

// ---- The report ----
const order = ['cat', 'Canvass', 'DuckDB'];
const inputOrder = ['report', 'ndjson', 'largest'];
results.sort((a, b) => inputOrder.indexOf(a.input) - inputOrder.indexOf(b.input) ||
                       order.indexOf(a.tool) - order.indexOf(b.tool) || a.threads - b.threads);
const group = (n) => Math.round(n).toLocaleString('en-US');
const ratio = (x) => (x === null || x === undefined ? '-' : `${x.toFixed(1)}x`);
const inputName = { report: 'cvr.json, one object', ndjson: 'cvr.ndjson, one CVR a line', largest: 'cvr.json, one object' };
const tableOf = (rows, withNdjson) => [
  `| tool | threads | input | seconds, median (min-max) | MB/s | peak RSS MB | DuckDB (object) / this |${withNdjson ? ' DuckDB (NDJSON) / this |' : ''}`,
  `|---|---|---|---|---|---|---|${withNdjson ? '---|' : ''}`,
  ...rows.map((r) => (r.failed
    ? `| ${r.tool} | ${r.threads} | ${inputName[r.input]} | FAILED | - | ${r.peak_rss_mb_each.join(', ')} | - |${withNdjson ? ' - |' : ''}`
    : `| ${r.tool} | ${r.threads} | ${inputName[r.input]} | ${r.seconds.toFixed(3)} (${r.seconds_min.toFixed(3)}-${r.seconds_max.toFixed(3)}) | ` +
      `${r.mb_per_second.toFixed(0)} | ${Math.max(...r.peak_rss_mb_each)} | ${ratio(r.duckdb_object_over_this)} |` +
      `${withNdjson ? ` ${ratio(r.duckdb_ndjson_over_this)} |` : ''}`)),
].join('\n');
const main = results.filter((r) => r.input !== 'largest');
const largestRows = results.filter((r) => r.input === 'largest');
const table = tableOf(main, true);
const failedObject = results.find((r) => r.tool === 'DuckDB' && r.input === 'report' && r.failed);
const reportBytes = inputs.report.bytes;
const sqlOf = (output) => output.sql.replaceAll(env.PEERS_WORK, '$TMPDIR/...');
const queryMedian = (input, threads) => {
  const r = results.find((x) => x.tool === 'DuckDB' && x.input === input && x.threads === threads && !x.failed);
  return r ? median(r.query_seconds_each).toFixed(3) : null;
};
const duckdbThreads = [...new Set(results.filter((r) => r.tool === 'DuckDB').map((r) => r.threads))];
const queryTimes = ['report', 'ndjson', 'largest'].flatMap((input) => duckdbThreads.map((t) => [input, t, queryMedian(input, t)]))
  .filter(([, , q]) => q !== null)
  .map(([input, t, q]) => `${inputName[input]} (${input === 'largest' ? `scale ${env.PEERS_LARGEST}, ` : ''}${threadsText(t)}) ${q} s`)
  .join('; ');

let objectText;
if (!failedObject) {
  objectText = `DuckDB read the whole ${group(reportBytes)}-byte report as one JSON value ` +
    `(\`maximum_object_size=${reportOutput.settings.maximum_object_size}\`, memory_limit ${reportOutput.settings.memory_limit}).`;
} else {
  objectText = `**DuckDB could not read the ${group(reportBytes)}-byte report as one JSON object**: ${failedObject.why}. ` +
    (env.PEERS_LARGEST
      ? `The largest scale it read (halving from ${env.PEERS_SCALE}, then bisecting twice; a lower bound within the last ` +
        `bracket) is ${env.PEERS_LARGEST}, ${group(inputs.largest.bytes)} bytes; that file is measured below against Canvass.`
      : 'It read none of the smaller files tried either (down to scale 1).');
}
objectText += ' DuckDB 1.5 holds one JSON object in a read buffer of 2 x `maximum_object_size` bytes, taken from its ' +
  'memory limit up front, and refuses an object over 2 x `maximum_object_size` - 4 bytes; the option is a UINTEGER ' +
  '(at most 4 GiB - 1), so no object over about 8 GiB can be read at all, and the script sets it to the least that ' +
  'holds the file, max(16 MiB, FILE_BYTES / 2 + 1 MiB). The report is one JSON value, read whole before its records ' +
  'are tallied; DuckDB\'s peak RSS is several times the file (see the table).';
if (failedNdjson) {
  objectText += `\n\n**DuckDB could not tally the NDJSON copy either**: ${failedNdjson.why}.`;
}
const largestText = largestRows.length
  ? `\n## The largest single object DuckDB read: scale ${env.PEERS_LARGEST}, ${group(inputs.largest.bytes)} bytes\n\n${tableOf(largestRows, false)}\n`
  : '';
const sampleText = sample.unit
  ? `For example (${inputName[sample.input]}${sample.input === 'largest' ? `, scale ${env.PEERS_LARGEST}` : ''}), unit \`${sample.unit}\`, contest \`${sample.contest}\`: DuckDB ${JSON.stringify(sample.duckdb)}, ` +
    `Canvass ${JSON.stringify(sample.canvass)}.`
  : '';
const includes = {
  cat: '`cat FILE > /dev/null`: the whole process, reading the file from the page cache; the floor for any tool that reads every byte.',
  Canvass: 'the whole `canvass reconcile --reported ERR --scale K FILE --format json --threads T` process: start, ' +
    'loading the results report, reading and validating every record (identity, exactly-once over whole ballots, ' +
    'overvote rule, unknown units, contests and selections), the per-unit tally with its roll-up, ' +
    'the reconciliation of every reported cell, the JSON report. Each run exits 0 with "verdict": "match".',
  DuckDB: 'the whole `node duckdb_cvr_peer.mjs` process: Node start, loading DuckDB, one query (read_json of the ' +
    'file with the fields it needs typed, so no schema sampling; the CVR array, the current snapshot, CVRContest, ' +
    'CVRContestSelection and SelectionPosition UNNESTed; sum(NumberVotes) where HasIndication = \'yes\' and ' +
    'IsAllocable = \'yes\' per unit, contest and selection; sum(Overvotes), sum(Undervotes) and count(*) per unit ' +
    'and contest), the result rows in JavaScript. It does not apply the overvote rule, nor check identities, ' +
    `exactly-once or units, nor roll up units or compare with reported figures: less work than Canvass. ` +
    `The query alone (medians): ${queryTimes}.`,
};
const memoryGb = (Number(env.PEERS_MEMORY_KB) / 1048576).toFixed(0);
const markdown = `# Canvass against DuckDB on one NIST cast vote record report (JSON)

The file: \`canvass generate --reported ${env.PEERS_REPORTED.replace(/^.*\/datasets\//, 'datasets/')} --format nist-json ` +
`--scale ${env.PEERS_SCALE} --seed ${env.PEERS_SEED}${env.PEERS_INTERLEAVED === 'yes' ? ' --interleave' : ''}\` ` +
`(interleaved: ${env.PEERS_INTERLEAVED}, records in a seeded order across units): ${group(records)} cast vote records, ` +
`${group(reportBytes)} bytes, one top-level JSON object. Its NDJSON copy (the same records byte for byte, ` +
`one CVR a line, converted once, not timed): ${group(inputs.ndjson.bytes)} bytes. All read from the page cache.
Median of ${env.PEERS_REPETITIONS} runs each, whole processes, wall clock; ${env.PEERS_DATE}; ${env.PEERS_CPU}, ` +
`${env.PEERS_CORES} cores, ${memoryGb} GiB; load average (1, 5, 15 min) ${env.PEERS_LOAD_START} at the start and ` +
`${env.PEERS_LOAD_END} at the end. Made by \`${env.PEERS_COMMAND}\`.

${table}

MB/s: the input's bytes over the median seconds. DuckDB (object) / this: DuckDB's median seconds on the one
report object at the same thread count over this row's (so 10.0x means this row took a tenth of DuckDB's
time); DuckDB (NDJSON) / this: the same against DuckDB on the NDJSON copy, its best case.

${objectText}
${largestText}
What each time includes:

- **cat**: ${includes.cat}
- **Canvass**: ${includes.Canvass}
- **DuckDB**: ${includes.DuckDB}

Checks: ${failures.length ? 'FAILED: ' + failures.join('; ') : 'every DuckDB run\'s per-unit, per-contest figures equal ' +
  'Canvass\'s (`--by unit`) at every unit DuckDB tallied and at the election scope: overvotes, undervotes and ballots ' +
  'everywhere, and every selection total where Canvass counted no overvote (' +
  checks.map((c) => `${c.what}: ${c.cells_compared} cells${c.selection_cells_not_compared ? `, ${c.selection_cells_not_compared} selection cells not compared (overvotes)` : ''}`).join('; ') +
  '); Canvass reported "match", counted every record, rejected none, and wrote the same report at 1 and 2 threads; ' +
  'the NDJSON copy holds as many records as Canvass read'}.
${sampleText}

DuckDB settings: \`SET threads=T\`, \`SET enable_external_file_cache=false\` (each run reads the file); the one object with ` +
`\`read_json(FILE, format='auto', records='true', maximum_object_size=max(16 MiB, FILE_BYTES / 2 + 1 MiB), columns={'CVR': 'STRUCT(...)[]'})\`, ` +
`the NDJSON copy with \`format='newline_delimited'\` and the record's fields as columns. The query (one object):

${reportOutput ? `\`\`\`sql\n${sqlOf(reportOutput)}\n\`\`\`` : '(DuckDB read no report object.)'}

Versions: Canvass ${env.PEERS_COMMIT}; DuckDB ${env.PEERS_DUCKDB_VERSION} (npm ${env.PEERS_DUCKDB_PACKAGE}); Node.js ${env.PEERS_NODE}.
`;
fs.writeFileSync(process.argv[2], markdown);
fs.writeFileSync(process.argv[3], JSON.stringify({
  file: {
    reported: env.PEERS_REPORTED.replace(/^.*\/datasets\//, 'datasets/'), scale: Number(env.PEERS_SCALE),
    seed: Number(env.PEERS_SEED), interleaved: env.PEERS_INTERLEAVED, records, bytes: reportBytes,
    ndjson_bytes: inputs.ndjson.bytes,
  },
  duckdb_object: failedObject
    ? { read: false, why: failedObject.why, largest_scale_read: env.PEERS_LARGEST ? Number(env.PEERS_LARGEST) : null,
        largest_bytes_read: inputs.largest ? inputs.largest.bytes : null }
    : { read: true, settings: reportOutput.settings },
  duckdb_applies_overvote_rule: false,
  repetitions: Number(env.PEERS_REPETITIONS), date: env.PEERS_DATE, command: env.PEERS_COMMAND,
  machine: { cpu: env.PEERS_CPU, cores: Number(env.PEERS_CORES), memory_kb: Number(env.PEERS_MEMORY_KB),
             load_average_at_start: env.PEERS_LOAD_START, load_average_at_end: env.PEERS_LOAD_END },
  versions: { canvass_commit: env.PEERS_COMMIT, duckdb: `${env.PEERS_DUCKDB_VERSION} (npm ${env.PEERS_DUCKDB_PACKAGE})`, node: env.PEERS_NODE },
  includes, checks: { passed: failures.length === 0, failures, compared: checks, sample },
  results,
}, null, 1) + '\n');
console.log(table);
if (largestRows.length) console.log(tableOf(largestRows, false));
if (failedObject) console.log(`DuckDB could not read the report as one object: ${failedObject.why}`);
if (failures.length) {
  console.error(`run_cvr_peers: checks failed: ${failures.join('; ')}`);
  process.exit(1);
}
EOF
note "wrote $peers/results-cvr.md and $peers/results-cvr.json"
