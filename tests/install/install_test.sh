#!/usr/bin/env bash
# Installs the build into a scratch prefix (cmake --install), then configures, builds and
# runs tests/install/consumer against it with find_package(Canvass): the program links the
# installed engine and checks the figures of a generated run; one translation unit of every
# installed header checks that none needs a header that was not installed; the installed
# `canvass` runs from bin/; no internal header was installed.
# Usage: install_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
source_dir="$(cd "$1" && pwd)"
build_dir="$(cd "$2" && pwd)"
work="$(mktemp -d /tmp/canvass-install.XXXXXX)"
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
cmake --install "$build_dir" --prefix "$prefix" >"$work/install.log"

fail() { echo "install test: $*" >&2; exit 1; }
[[ -x "$prefix/bin/canvass" ]] || fail "bin/canvass not installed"
[[ -f "$prefix/lib/cmake/Canvass/CanvassConfig.cmake" ]] || fail "no CanvassConfig.cmake"
[[ -f "$prefix/lib/cmake/Canvass/CanvassConfigVersion.cmake" ]] || fail "no version file"
[[ -f "$prefix/share/canvass/ir-2024-runoff-overseas/election.json" ]] || fail "no election"
if [[ "$(ls "$prefix/include/canvass")" != "engine" ]]; then
  fail "include/canvass holds more than engine/: $(ls "$prefix/include/canvass")"
fi
if find "$prefix/include" -path '*/internal/*' | grep -q .; then
  fail "internal headers installed: $(find "$prefix/include" -path '*/internal/*' | head -3)"
fi
"$prefix/bin/canvass" run --election "$prefix/share/canvass/ir-2024-runoff-overseas" \
  >"$work/run.txt" || fail "the installed canvass run failed"
grep -q '^MATCH$' "$work/run.txt" || fail "the installed canvass run did not match"

mkdir -p "$work/consumer-build"
{
  echo "// Every installed header in one translation unit: none needs one that was not installed."
  (cd "$prefix/include/canvass" && find engine -name '*.h' | sort) | while read -r header; do
    echo "#include \"$header\""
  done
} >"$work/consumer-build/headers.cc"
headers=$(grep -c '#include' "$work/consumer-build/headers.cc")
cmake -S "$source_dir/tests/install/consumer" -B "$work/consumer-build" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >"$work/configure.log" ||
  { cat "$work/configure.log"; fail "the consumer does not configure"; }
cmake --build "$work/consumer-build" -j2 >"$work/build.log" 2>&1 ||
  { tail -40 "$work/build.log"; fail "the consumer does not build"; }
"$work/consumer-build/consumer" || fail "the consumer's figures are not exact"
echo "install test: $headers public headers, bin/canvass, the package and the consumer all good"
