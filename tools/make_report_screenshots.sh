#!/usr/bin/env bash
# Writes the README's screenshots of the HTML report (docs/img/html_report_desktop.png,
# 1280x900, and docs/img/html_report_phone.png, 390x844) with Debian's headless chromium,
# from the page of the run shown in the README:
#   canvass run --faults drop=0.01,dup=0.005,conflict=0.001,corrupt=0.001 --by country \
#     --format html > report.html
# Usage: tools/make_report_screenshots.sh [BUILD_DIR]   (default build/release)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
canvass="${1:-$root/build/release}/tools/canvass"
[[ -x "$canvass" ]] || { echo "screenshots: $canvass not built" >&2; exit 2; }
command -v chromium >/dev/null || { echo "screenshots: chromium not installed" >&2; exit 2; }
work="$(mktemp -d /tmp/canvass-screenshots.XXXXXX)"
trap 'rm -rf "$work"' EXIT
# Exit 1 is the run's verdict (the faults make it a mismatch), not a failure here.
"$canvass" run --faults drop=0.01,dup=0.005,conflict=0.001,corrupt=0.001 --by country \
  --format html >"$work/report.html" || [[ $? == 1 ]]
mkdir -p "$root/docs/img"
for shot in desktop:1280,900 phone:390,844; do
  chromium --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
    --window-size="${shot#*:}" --screenshot="$root/docs/img/html_report_${shot%%:*}.png" \
    "file://$work/report.html" 2>/dev/null
done
ls -l "$root/docs/img/html_report_desktop.png" "$root/docs/img/html_report_phone.png"
