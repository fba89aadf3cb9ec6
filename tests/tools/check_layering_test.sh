#!/usr/bin/env bash
# Test of tools/check_layering.sh: it passes on the source tree, and on a copy of the
# engine it fails on each kind of wrong include (a layer including one above it, one
# beside it, and a folder missing from engine/LAYERS), naming the file and line.
# Usage: check_layering_test.sh SOURCE_ROOT
set -euo pipefail
root="$1"
script="$root/tools/check_layering.sh"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

out="$(bash "$script" "$root")" || fail "the source tree does not pass: $out"
[[ "$out" == "layering: "*" includes of engine/ checked against engine/LAYERS, all allowed" ]] ||
  fail "unexpected output on the source tree: $out"

# Each case: a fresh copy of engine/, one change, the exact line the check must print.
check_case() {
  local name="$1" file="$2" text="$3" expected="$4"
  rm -rf "$work/tree" && mkdir -p "$work/tree" && cp -r "$root/engine" "$work/tree/engine"
  mkdir -p "$(dirname "$work/tree/$file")"
  printf '%s\n' "$text" >>"$work/tree/$file"
  local got status=0
  got="$(bash "$script" "$work/tree")" || status=$?
  ((status == 1)) || fail "$name: exit $status, expected 1 (output: $got)"
  grep -qxF "$expected" <<<"$got" || fail "$name: expected the line '$expected', got: $got"
  echo "ok: $name"
}
lines_of() { wc -l <"$root/$1"; }

# The pipe the issue named: a report including the ingest stage (a layer above it).
n=$(($(lines_of engine/report/report.h) + 1))
check_case "upward include" engine/report/report.h '#include "engine/ingest/ingest.h"' \
  "layering: engine/report/report.h:$n: engine/report includes engine/ingest, which it may not (engine/LAYERS)"
# io beside synth: the other pipe the issue named.
n=$(($(lines_of engine/io/manifest.h) + 1))
check_case "sideways include" engine/io/manifest.h '#include "engine/synth/fault_plan.h"' \
  "layering: engine/io/manifest.h:$n: engine/io includes engine/synth, which it may not (engine/LAYERS)"
# base is the bottom: it may include nothing of the engine.
n=$(($(lines_of engine/base/kernel.cc) + 1))
check_case "base includes above" engine/base/kernel.cc '#include "engine/election/election.h"' \
  "layering: engine/base/kernel.cc:$n: engine/base includes engine/election, which it may not (engine/LAYERS)"
check_case "folder not in the table" engine/newstage/x.h '#include "engine/base/check.h"' \
  "layering: engine/newstage is not in engine/LAYERS"
echo "check_layering_test: all cases passed"
