#!/usr/bin/env bash
# The house format (.clang-format: Google, 100 columns) for every C++ file git tracks.
#   tools/format.sh          rewrites the files in place
#   tools/format.sh --check  changes nothing; lists the files that differ and exits 1
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || bash tools/install-deps.sh clang-format
mapfile -t files < <(git ls-files '*.cc' '*.h' '*.cc.in')
if [[ "${1:-}" == "--check" ]]; then
  status=0
  for f in "${files[@]}"; do
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
      echo "format: $f differs from .clang-format (run tools/format.sh)"
      status=1
    fi
  done
  ((status == 0)) && echo "format: ${#files[@]} files match .clang-format"
  exit "$status"
fi
clang-format -i "${files[@]}"
