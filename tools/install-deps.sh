#!/usr/bin/env bash
# Installs the Debian 12 packages Canvass builds with, only those that are missing
# (safe to run again). Run as root. Extra arguments name more packages to make sure of
# (tools/sanitize.sh passes clang and its sanitizer runtimes).
set -euo pipefail
packages=(cmake ninja-build g++ libtbb-dev libabsl-dev libgtest-dev libgmock-dev
          libbenchmark-dev libcli11-dev nlohmann-json3-dev libsimdjson-dev libpugixml-dev
          libxxhash-dev libarchive-dev time python3 dpkg-dev file man-db ccache libopenmpi-dev openmpi-bin "$@")
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
