#!/usr/bin/env bash
# Checks that no layer of the engine includes a layer above it or beside it, against the
# table in engine/LAYERS. Prints each wrong include as FILE:LINE and exits 1; exits 0
# when every include is allowed. Usage: tools/check_layering.sh [SOURCE_ROOT]
set -euo pipefail
root="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
table="$root/engine/LAYERS"
[[ -f "$table" ]] || { echo "layering: $table not found" >&2; exit 2; }
declare -A allowed=()
while IFS= read -r entry; do
  entry="${entry%%#*}"
  [[ "$entry" == *:* ]] || continue
  layer="${entry%%:*}"
  layer="${layer// /}"
  allowed[$layer]=" ${entry#*:} "
done <"$table"
status=0
checked=0
for dir in "$root"/engine/*/; do
  layer="$(basename "$dir")"
  if [[ -z "${allowed[$layer]+set}" ]]; then
    echo "layering: engine/$layer is not in engine/LAYERS"
    status=1
    continue
  fi
  while IFS= read -r hit; do
    file="${hit%%:*}"
    rest="${hit#*:}"
    line="${rest%%:*}"
    target="$(sed -E 's|.*#include "engine/([A-Za-z0-9_]+)/.*|\1|' <<<"$rest")"
    checked=$((checked + 1))
    [[ "$target" == "$layer" ]] && continue
    if [[ "${allowed[$layer]}" != *" $target "* ]]; then
      echo "layering: ${file#"$root"/}:$line: engine/$layer includes engine/$target, which it may not (engine/LAYERS)"
      status=1
    fi
  done < <(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"engine/' "$dir" \
             --include='*.h' --include='*.cc' --include='*.inc' --include='*.in' || true)
done
if ((status == 0)); then
  echo "layering: $checked includes of engine/ checked against engine/LAYERS, all allowed"
fi
exit "$status"
