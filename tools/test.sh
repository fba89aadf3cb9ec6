#!/usr/bin/env bash
# One command from a clean clone: install what is missing, build everything (release
# preset) and run the whole test suite with ctest. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
# chromium (about 300 MB) is for the HTML report's browser test only (tests/CMakeLists.txt).
bash tools/install-deps.sh chromium
cmake --preset release >/dev/null
cmake --build --preset release
ctest --preset release
