#!/usr/bin/env bash
# The HTML report of 10,000 stations: how large the page is and how long Debian's chromium
# takes to open and render it (docs/PERFORMANCE.md, "HTML report"). A measurement, not a
# timed test. The election is the reference one with a synthetic roster of 10,000 stations
# in 98 countries (written here, seeded) at scale 100 (8,832,500 ballots), with faults, so
# every section of the page has rows; `run --by station` writes the page.
#
# Usage: bench/html/run_html_bench.sh [BUILD_DIR]   (default build/release; needs chromium)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build/release}"
canvass="$build/tools/canvass"
[[ -x "$canvass" ]] || { echo "html bench: $canvass not built" >&2; exit 2; }
command -v chromium >/dev/null || { echo "html bench: chromium not installed" >&2; exit 2; }
work="$(mktemp -d /tmp/canvass-html-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# The roster: 10,000 stations spread over the reference roster's countries, capacities
# drawn from a fixed seed (the weights are the capacities).
election="$work/election"
mkdir -p "$election"
python3 - "$root/datasets/ir-2024-runoff-overseas" "$election" <<'PY'
import csv, json, random, sys
source, out = sys.argv[1], sys.argv[2]
with open(source + "/election.json") as f:
    election = json.load(f)
with open(source + "/roster.csv") as f:
    countries = sorted({row["country"] for row in csv.DictReader(f)})
rng = random.Random(20240705)
with open(out + "/roster.csv", "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["station", "country", "capacity"])
    for i in range(10000):
        country = countries[i % len(countries)]
        writer.writerow(["%s-%04d" % (country, i // len(countries) + 1), country,
                         rng.randint(12, 40)])
election["roster"] = "roster.csv"
election["synthetic_roster"] = True
with open(out + "/election.json", "w") as f:
    json.dump(election, f, indent=2)
PY

args=(run --election "$election" --scale 100 --faults drop=0.001,dup=0.001,corrupt=0.0005
      --by station)
"$canvass" "${args[@]}" --format json --html "$work/report.html" >"$work/report.json" || true
echo '<!DOCTYPE html><html><head><meta charset="utf-8"><title>empty</title></head></html>' \
  >"$work/empty.html"

# Median wall time of three headless chromium runs of `mode` on `page`, in milliseconds.
median_ms() {
  local mode="$1" page="$2"
  python3 - "$mode" "$page" "$work" <<'PY'
import statistics, subprocess, sys, time
mode, page, work = sys.argv[1:4]
command = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-extensions", "--hide-scrollbars"]
if mode == "dom":
    command += ["--dump-dom"]
else:
    command += ["--screenshot=" + work + "/shot.png", "--window-size=1280,900"]
times = []
for _ in range(3):
    start = time.monotonic()
    subprocess.run(command + ["file://" + page], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
    times.append((time.monotonic() - start) * 1000)
print("%.0f" % statistics.median(times))
PY
}

stations=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['stations']))" \
  "$work/report.json")
html_bytes=$(stat -c %s "$work/report.html")
json_bytes=$(stat -c %s "$work/report.json")
dom_empty=$(median_ms dom "$work/empty.html")
dom_report=$(median_ms dom "$work/report.html")
shot_empty=$(median_ms shot "$work/empty.html")
shot_report=$(median_ms shot "$work/report.html")
echo "stations in the report:            $stations"
echo "HTML page:                         $html_bytes bytes (JSON: $json_bytes bytes)"
echo "chromium --dump-dom, empty page:   $dom_empty ms (median of 3)"
echo "chromium --dump-dom, report:       $dom_report ms (median of 3)"
echo "chromium --screenshot, empty page: $shot_empty ms (median of 3)"
echo "chromium --screenshot, report:     $shot_report ms (median of 3)"
status=0
if ((html_bytes >= 5 * 1024 * 1024)); then
  echo "html bench: the page is 5 MB or more" >&2
  status=1
fi
exit "$status"
