#!/usr/bin/env bash
# One command from a clean clone: install what is missing, build the release preset and
# run `canvass run` on the embedded reference election. Extra arguments go to `canvass run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target canvass
exec build/release/tools/canvass run "$@"
