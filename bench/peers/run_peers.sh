#!/usr/bin/env bash
# Times Canvass against two peers, DuckDB and SQLite, on one ballot CSV of the reference
# election (group by choice, and exactly-once by (station, seq)), and writes the table to
# bench/peers/results.md and bench/peers/results.json.
#
# Usage: bench/peers/run_peers.sh [ROWS]          (default 50,000,000)
#
# With PEERS_ORDER=shuffled the file's lines are shuffled (a seeded shuffle: the same file
# every run), so stations interleave line by line, and the results go to
# results-shuffled.md and results-shuffled.json.
#
# Expects build/release/tools/canvass (it builds nothing). Installs what else it needs:
# sqlite3 and Node.js with apt-get (as root) if missing, and @duckdb/node-api with npm into
# bench/peers/node_modules (git-ignored).
#
# Environment:
#   CANVASS=PATH            the canvass binary (default build/release/tools/canvass)
#   PEERS_REPETITIONS=N     runs per measurement, the median is reported (default 3)
#   PEERS_ORDER=ORDER       sorted (station order, the default) or shuffled
#   TMPDIR                  where the CSV is written (about 16 bytes a row, twice over
#                           while it is assembled); removed at the end
set -euo pipefail
export LC_ALL=C  # '.' as the decimal point in $EPOCHREALTIME and printf

readonly kDuckdbPackage="@duckdb/node-api@1.5.6-r.1"  # prebuilt for linux-x64 glibc, Node 18+
readonly kReferenceBallots=88325                       # the reference election at scale 1

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
peers="$repo/bench/peers"
canvass=${CANVASS:-$repo/build/release/tools/canvass}
repetitions=${PEERS_REPETITIONS:-3}
rows_wanted=${1:-50000000}
order=${PEERS_ORDER:-sorted}

die() { echo "run_peers: $*" >&2; exit 2; }

[[ $rows_wanted =~ ^[0-9]+$ && $rows_wanted -ge 1 ]] ||
  die "ROWS: expected a positive integer, got \"$rows_wanted\""
[[ $repetitions =~ ^[0-9]+$ && $repetitions -ge 1 ]] ||
  die "PEERS_REPETITIONS: expected a positive integer, got \"$repetitions\""
[[ $order == sorted || $order == shuffled ]] ||
  die "PEERS_ORDER: expected sorted or shuffled, got \"$order\""
suffix=$([[ $order == shuffled ]] && echo "-shuffled" || true)
if [[ ! -x $canvass ]]; then
  die "no canvass binary at $canvass; build it first:
  cmake --preset release && cmake --build --preset release"
fi

# ---- Tools: sqlite3 and node from Debian if missing, DuckDB from npm ----

apt_install() {
  [[ $(id -u) -eq 0 ]] || die "$1 is missing; install it (as root: apt-get install $*)"
  echo "run_peers: installing $* with apt-get" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
command -v sqlite3 >/dev/null || apt_install sqlite3
command -v node >/dev/null || apt_install nodejs npm
command -v npm >/dev/null || apt_install npm

duckdb_installed() {
  local manifest="$peers/node_modules/@duckdb/node-api/package.json"
  [[ -f $manifest ]] && grep -q "\"version\": \"${kDuckdbPackage##*@}\"" "$manifest"
}
if ! duckdb_installed; then
  echo "run_peers: npm install $kDuckdbPackage into bench/peers/node_modules" >&2
  npm install --prefix "$peers" --no-audit --no-fund --loglevel=error "$kDuckdbPackage" >&2
  duckdb_installed || die "npm did not install $kDuckdbPackage"
fi

# ---- The input: one CSV of the reference election at scale K ----

scale=$(( (rows_wanted + kReferenceBallots - 1) / kReferenceBallots ))
work=$(mktemp -d "${TMPDIR:-/tmp}/canvass-peers-XXXXXX")
trap 'rm -rf "$work"' EXIT
csv="$work/ballots.csv"

echo "run_peers: generating the reference election at scale $scale (ROWS=$rows_wanted)" >&2
"$canvass" generate --format csv --scale "$scale" --out "$work/stations" >/dev/null
{
  echo "station,seq,choice"
  find "$work/stations" -name '*.csv' -print0 | sort -z | xargs -0 tail -q -n +2
} >"$csv"
rm -rf "$work/stations"
if [[ $order == shuffled ]]; then
  # Fisher-Yates with a seeded xorshift generator, in Node (already needed for DuckDB).
  node --max-old-space-size=8192 --input-type=module - "$csv" "$work/shuffled.csv" <<'EOF'
import fs from 'node:fs';
const lines = fs.readFileSync(process.argv[2], 'latin1').split('\n');
const header = lines.shift();
if (lines[lines.length - 1] === '') lines.pop();
let state = 20240707n;
const next = () => {
  state ^= (state << 13n) & 0xFFFFFFFFFFFFFFFFn;
  state ^= state >> 7n;
  state ^= (state << 17n) & 0xFFFFFFFFFFFFFFFFn;
  return state;
};
for (let i = lines.length - 1; i > 0; --i) {
  const j = Number(next() % BigInt(i + 1));
  [lines[i], lines[j]] = [lines[j], lines[i]];
}
fs.writeFileSync(process.argv[3], header + '\n' + lines.join('\n') + '\n', 'latin1');
EOF
  mv "$work/shuffled.csv" "$csv"
fi
rows=$(( $(wc -l <"$csv") - 1 ))
file_bytes=$(stat -c %s "$csv")
(( rows == scale * kReferenceBallots )) ||
  die "expected $((scale * kReferenceBallots)) rows in $csv, found $rows"
echo "run_peers: $csv: $rows rows, $file_bytes bytes" >&2

# ---- Measurements: each line of $measurements is "tool<TAB>threads<TAB>what<TAB>seconds..." ----

load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
measurements="$work/measurements.tsv"
: >"$measurements"
seconds_since() { awk -v start="$1" -v end="$EPOCHREALTIME" 'BEGIN { printf "%.6f", end - start }'; }

# Canvass: wall time of the whole process (see the notes in results.md); one pass does the
# group-by and exactly-once together. The last run's report is kept and checked below.
canvass_once() {  # threads output
  local start=$EPOCHREALTIME
  "$canvass" aggregate --quiet --format json --threads "$1" --scale "$scale" "$csv" >"$2" ||
    die "canvass aggregate --threads $1 failed (exit $?)"
  seconds_since "$start"
}
for threads in 1 2; do
  times=()
  for ((r = 0; r < repetitions; ++r)); do
    times+=("$(canvass_once "$threads" "$work/canvass-$threads.json")")
  done
  printf 'Canvass\t%s\tgroup-by + exactly-once (one pass)\t%s\n' "$threads" "${times[*]}" \
    >>"$measurements"
  echo "run_peers: canvass, $threads threads: ${times[*]} s" >&2
done
# What the process costs with (almost) no input: start, election load, report.
printf 'station,seq,choice\nAE-01,1,JAL\n' >"$work/one.csv"
startup=()
for ((r = 0; r < repetitions; ++r)); do
  start=$EPOCHREALTIME
  "$canvass" aggregate --quiet --format json --threads 1 --scale "$scale" "$work/one.csv" >/dev/null
  startup+=("$(seconds_since "$start")")
done

# DuckDB: the node script times each query inside one process.
for threads in 1 2; do
  node "$peers/duckdb_peer.mjs" --file "$csv" --threads "$threads" \
    --repetitions "$repetitions" >"$work/duckdb-$threads.json"
  echo "run_peers: duckdb, $threads threads: $(head -c 300 "$work/duckdb-$threads.json")..." >&2
done

# SQLite: .import into an in-memory table, then the queries; timestamps taken inside the
# session (julianday('now'), millisecond resolution) so the process start is excluded.
sqlite_session() {
  local mark="SELECT 'mark', printf('%.3f', (julianday('now') - 2440587.5) * 86400.0);"
  sqlite3 -batch -bail :memory: <<EOF
CREATE TABLE ballots(station TEXT, seq INTEGER, choice TEXT);
$mark
.import --csv --skip 1 "$csv" ballots
$mark
SELECT 'count', choice, count(*) FROM ballots GROUP BY choice;
$mark
SELECT 'distinct', count(*) FROM (SELECT DISTINCT station, seq FROM ballots);
$mark
EOF
}
sqlite_group_by=() sqlite_exactly_once=() sqlite_import=()
for ((r = 0; r < repetitions; ++r)); do
  sqlite_session >"$work/sqlite.out"
  read -r import group_by exactly_once < <(awk -F'|' '
    $1 == "mark" { mark[n++] = $2 }
    END { printf "%.3f %.3f %.3f\n", mark[1] - mark[0], mark[2] - mark[1], mark[3] - mark[2] }
  ' "$work/sqlite.out")
  sqlite_import+=("$import")
  sqlite_group_by+=("$(awk -v a="$import" -v b="$group_by" 'BEGIN { printf "%.3f", a + b }')")
  sqlite_exactly_once+=("$(awk -v a="$import" -v b="$exactly_once" 'BEGIN { printf "%.3f", a + b }')")
  echo "run_peers: sqlite: import $import s, group-by $group_by s, exactly-once $exactly_once s" >&2
done
printf 'SQLite\t1\tgroup-by (import + query)\t%s\n' "${sqlite_group_by[*]}" >>"$measurements"
printf 'SQLite\t1\texactly-once (import + query)\t%s\n' "${sqlite_exactly_once[*]}" >>"$measurements"

# ---- Versions, checks and the report ----

commit=$(git -C "$repo" describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
sqlite_version=$(sqlite3 --version | cut -d' ' -f1-2)
node_version=$(node --version)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)

cores=$(nproc)
load_at_end=$(cut -d' ' -f1-3 /proc/loadavg)
date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
export PEERS_ROWS_WANTED=$rows_wanted PEERS_ROWS=$rows PEERS_SCALE=$scale PEERS_FILE_BYTES=$file_bytes PEERS_WORK=$work
export PEERS_REPETITIONS=$repetitions PEERS_COMMIT=$commit PEERS_SQLITE=$sqlite_version
export PEERS_NODE=$node_version PEERS_CPU=$cpu PEERS_CORES=$cores PEERS_DATE=$date
export PEERS_LOAD_START=$load_at_start PEERS_LOAD_END=$load_at_end
export PEERS_DUCKDB_PACKAGE=$kDuckdbPackage
export PEERS_STARTUP="${startup[*]}" PEERS_SQLITE_IMPORT="${sqlite_import[*]}"
export PEERS_ORDER=$order
node --input-type=module - "$peers/results$suffix.md" "$peers/results$suffix.json" <<'EOF'
// Builds results.md and results.json from the measurements and checks that every tool
// found the same answer.
import fs from 'node:fs';
const env = process.env;
const work = env.PEERS_WORK;
const rows = Number(env.PEERS_ROWS);
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const numbers = (text) => text.trim().split(/\s+/).map(Number);

const results = [];
const add = (tool, threads, what, seconds) =>
  results.push({ tool, threads, what, seconds: median(seconds), seconds_each: seconds });
for (const line of fs.readFileSync(`${work}/measurements.tsv`, 'utf8').trim().split('\n')) {
  const [tool, threads, what, seconds] = line.split('\t');
  add(tool, Number(threads), what, numbers(seconds));
}
const failures = [];
const canvass = {};
for (const threads of [1, 2]) {
  const report = JSON.parse(fs.readFileSync(`${work}/canvass-${threads}.json`, 'utf8'));
  const rejected = Object.values(report.records.rejected).reduce((a, b) => a + b, 0);
  if (report.records.counted !== rows || rejected !== 0) {
    failures.push(`canvass, ${threads} threads: counted ${report.records.counted} of ${rows}, ` +
                  `rejected ${rejected}`);
  }
  canvass[threads] = report.totals;
}
let duckdbVersion = 'unknown';
const sameTotals = (name, counts) => {
  for (const [choice, count] of Object.entries(counts)) {
    if (canvass[1][choice] !== count) {
      failures.push(`${name}: ${choice} ${count}, Canvass ${canvass[1][choice]}`);
    }
  }
};
for (const threads of [1, 2]) {
  const duckdb = JSON.parse(fs.readFileSync(`${work}/duckdb-${threads}.json`, 'utf8'));
  duckdbVersion = duckdb.duckdb_version;
  add('DuckDB', threads, 'group-by', duckdb.group_by.seconds);
  add('DuckDB', threads, 'exactly-once (count distinct)', duckdb.exactly_once.seconds);
  sameTotals(`DuckDB, ${threads} threads`, duckdb.group_by.counts);
  if (duckdb.exactly_once.distinct !== rows) {
    failures.push(`DuckDB, ${threads} threads: ${duckdb.exactly_once.distinct} distinct of ${rows}`);
  }
}
const sqlite = fs.readFileSync(`${work}/sqlite.out`, 'utf8').trim().split('\n').map((l) => l.split('|'));
sameTotals('SQLite', Object.fromEntries(sqlite.filter((f) => f[0] === 'count').map((f) => [f[1], Number(f[2])])));
const distinct = sqlite.find((f) => f[0] === 'distinct');
if (!distinct || Number(distinct[1]) !== rows) failures.push(`SQLite: ${distinct} distinct of ${rows}`);
if (JSON.stringify(canvass[1]) !== JSON.stringify(canvass[2])) failures.push('Canvass: 1 and 2 threads differ');

// Order: Canvass, then each peer; rows/s and Canvass's rows/s over the peer's at the same
// thread count (SQLite is single-threaded, so against Canvass on 1 thread).
const order = ['Canvass', 'DuckDB', 'SQLite'];
results.sort((a, b) => order.indexOf(a.tool) - order.indexOf(b.tool) || a.threads - b.threads);
const canvassSeconds = Object.fromEntries(
    results.filter((r) => r.tool === 'Canvass').map((r) => [r.threads, r.seconds]));
for (const r of results) {
  r.rows_per_second = rows / r.seconds;
  r.canvass_over_peer = r.tool === 'Canvass' ? null : r.seconds / canvassSeconds[r.threads];
}

const includes = {
  Canvass: 'the whole `canvass aggregate --quiet --format json --threads T --scale K FILE` ' +
           'process: start, election load, mapping the file, parsing and validating every ' +
           'record, exactly-once by (station, seq), totals by choice and station, the JSON ' +
           `report. The same process on a 1-row file takes ${median(numbers(env.PEERS_STARTUP)).toFixed(3)} s.`,
  DuckDB: 'one query, from submitting the SQL to holding the result rows in JavaScript ' +
          '(`read_csv` with the column types given, so no sniffing of types); Node start, ' +
          'loading DuckDB and opening the in-memory database are excluded. ' +
          '`enable_external_file_cache` is off, so each query reads the file.',
  SQLite: '`.import --csv` into an in-memory table (station TEXT, seq INTEGER, choice TEXT) ' +
          'plus one query, timed inside the session; process start is excluded. Import alone: ' +
          `${median(numbers(env.PEERS_SQLITE_IMPORT)).toFixed(3)} s. Single-threaded.`,
};
const versions = {
  canvass_commit: env.PEERS_COMMIT,
  duckdb: `${duckdbVersion} (npm ${env.PEERS_DUCKDB_PACKAGE})`,
  sqlite3: env.PEERS_SQLITE,
  node: env.PEERS_NODE,
};
const machine = {
  cpu: env.PEERS_CPU, cores: Number(env.PEERS_CORES),
  load_average_at_start: env.PEERS_LOAD_START, load_average_at_end: env.PEERS_LOAD_END,
};

const group = (n) => Math.round(n).toLocaleString('en-US');
const rate = (n) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} G` : `${(n / 1e6).toFixed(1)} M`);
const table = [
  '| tool | threads | what | seconds | rows/s | Canvass/peer |',
  '|---|---|---|---|---|---|',
  ...results.map((r) => `| ${r.tool} | ${r.threads} | ${r.what} | ${r.seconds.toFixed(3)} | ` +
      `${rate(r.rows_per_second)} | ${r.canvass_over_peer === null ? '-' : r.canvass_over_peer.toFixed(1) + 'x'} |`),
].join('\n');
const orderText = env.PEERS_ORDER === 'shuffled'
  ? 'lines shuffled, so stations interleave line by line'
  : 'in station order';
const markdown = `# Canvass against DuckDB and SQLite on one ballot CSV, ${env.PEERS_ORDER}

${group(rows)} rows (\`station,seq,choice\`; the reference election at scale ${env.PEERS_SCALE},
138 stations), ${orderText}, ${group(Number(env.PEERS_FILE_BYTES))} bytes, read from the page cache.
Median of ${env.PEERS_REPETITIONS} runs each; ${env.PEERS_DATE}; ${machine.cpu}, ${machine.cores} cores,
load average (1, 5, 15 min) ${machine.load_average_at_start} at the start
and ${machine.load_average_at_end} at the end. Made by \`${env.PEERS_ORDER === 'shuffled' ? 'PEERS_ORDER=shuffled ' : ''}bench/peers/run_peers.sh ${env.PEERS_ROWS_WANTED}\`.

${table}

Canvass/peer: the peer's seconds over Canvass's at the same thread count (SQLite against
Canvass on 1 thread), so 3.0x means Canvass took a third of the time. Canvass does both jobs
in one pass, so its single time stands against each peer query.

What each time includes:

- **Canvass**: ${includes.Canvass}
- **DuckDB**: ${includes.DuckDB}
- **SQLite**: ${includes.SQLite}

Checks: ${failures.length ? 'FAILED: ' + failures.join('; ') : 'every tool found the same totals by choice; ' +
  'Canvass counted every row and rejected none at 1 and 2 threads; both exactly-once counts equal the row count'}.

Versions: Canvass ${versions.canvass_commit}; DuckDB ${versions.duckdb}; SQLite ${versions.sqlite3}; Node.js ${versions.node}.
`;
fs.writeFileSync(process.argv[2], markdown);
fs.writeFileSync(process.argv[3], JSON.stringify({
  rows, order: env.PEERS_ORDER, scale: Number(env.PEERS_SCALE), file_bytes: Number(env.PEERS_FILE_BYTES),
  repetitions: Number(env.PEERS_REPETITIONS), date: env.PEERS_DATE, machine, versions,
  includes, checks: { passed: failures.length === 0, failures },
  results,
}, null, 1) + '\n');
console.log(table);
if (failures.length) {
  console.error(`run_peers: answers differ: ${failures.join('; ')}`);
  process.exit(1);
}
EOF
echo "run_peers: wrote $peers/results$suffix.md and $peers/results$suffix.json" >&2
