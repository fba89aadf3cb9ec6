#!/usr/bin/env bash
# Builds a ThreadSanitizer-instrumented oneTBB from Debian's own source package, for the
# `tsan` preset. Debian's prebuilt libtbb is not instrumented, so TSan reports races inside
# oneTBB's scheduler on any parallel_for (false positives); linking against this build
# removes them. Idempotent: the source is downloaded once into build/tbb-tsan-src, the
# library is built once into build/tbb-tsan (and kept in a machine-wide cache, below); a
# second run only prints where it is.
# Run as root (it may install dpkg-dev and add a deb-src entry). Prints the TBB_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
src_cache="$root/build/tbb-tsan-src"
build_dir="$root/build/tbb-tsan"
config_dir="$build_dir/install/lib/cmake/TBB"
log() { echo "build-tbb-tsan: $*" >&2; }

# A machine-wide cache of the instrumented library, keyed by the libtbb-dev version Debian
# installed and the clang that builds it, so that every fresh clone on this machine reuses
# one build instead of downloading and building oneTBB again (about 40 s of each CI run).
# CANVASS_CACHE_DIR moves it (default /var/cache/canvass); an empty value disables it.
cache_root="${CANVASS_CACHE_DIR-/var/cache/canvass}"
cached=""
if [[ -n "$cache_root" ]] && command -v clang++ >/dev/null &&
  tbb_version="$(dpkg-query -W -f='${Version}' libtbb-dev 2>/dev/null)"; then
  key="$(printf '%s-%s' "$tbb_version" "$(clang++ --version | head -n 1)" | tr -c 'A-Za-z0-9._-' '_')"
  cached="$cache_root/tbb-tsan-$key"
fi
# Keeps a finished build in the cache (copied under a temporary name, then renamed).
save_to_cache() {
  [[ -n "$cached" && ! -f "$cached/install/lib/cmake/TBB/TBBConfig.cmake" ]] || return 0
  if mkdir -p "$cached" && rm -rf "$cached/install.tmp" &&
    cp -a "$build_dir/install" "$cached/install.tmp" &&
    mv "$cached/install.tmp" "$cached/install"; then
    log "saved in $cached"
  fi
}

if [[ -f "$config_dir/TBBConfig.cmake" && -f "$build_dir/.built" ]]; then
  save_to_cache
  echo "$config_dir"
  exit 0
fi
if [[ -n "$cached" && -f "$cached/install/lib/cmake/TBB/TBBConfig.cmake" ]]; then
  rm -rf "$build_dir"
  mkdir -p "$build_dir"
  cp -a "$cached/install" "$build_dir/install"
  touch "$build_dir/.built"
  log "reused $cached"
  echo "$config_dir"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive

# dpkg-source (from dpkg-dev) unpacks the package and applies Debian's patches, so the
# instrumented library is the same code as the libtbb12 the release build links against.
packages=(dpkg-dev clang cmake ninja-build)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p "$src_cache"
dsc=$(find "$src_cache" -maxdepth 1 -name 'onetbb_*.dsc' | head -n 1)
if [[ -z "$dsc" ]]; then
  # apt-get source needs a deb-src entry: the same archives as the binary packages.
  if ! apt-cache showsrc onetbb 2>/dev/null | grep -q '^Package: onetbb'; then
    src_list=/etc/apt/sources.list.d/debian-src.sources
    if [[ ! -f "$src_list" ]]; then
      log "adding $src_list"
      sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"$src_list"
    fi
    apt-get update -qq
    fi
  log "downloading Debian's onetbb source into $src_cache"
  # _apt cannot write into root-owned directories; downloading as root is what we want here.
  (cd "$src_cache" && apt-get source -qq --download-only onetbb 2>&1 |
    grep -v 'unsandboxed as root' >&2 || true)
  dsc=$(find "$src_cache" -maxdepth 1 -name 'onetbb_*.dsc' | head -n 1)
  [[ -n "$dsc" ]] || { log "apt-get source onetbb downloaded nothing"; exit 1; }
fi

unpacked="$src_cache/unpacked"
if [[ ! -f "$unpacked/CMakeLists.txt" ]]; then
  rm -rf "$unpacked"
  log "unpacking $(basename "$dsc")"
  (cd "$src_cache" && dpkg-source --no-check -x "$(basename "$dsc")" unpacked >/dev/null)
fi

log "building oneTBB with -fsanitize=thread into $build_dir"
rm -rf "$build_dir"
cmake -S "$unpacked" -B "$build_dir/obj" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_INSTALL_PREFIX="$build_dir/install" \
  -DTBB_SANITIZE=thread -DTBB_TEST=OFF -DTBB_EXAMPLES=OFF -DTBBMALLOC_BUILD=OFF \
  -DTBB_STRICT=OFF >/dev/null
cmake --build "$build_dir/obj" >/dev/null
cmake --install "$build_dir/obj" >/dev/null
[[ -f "$config_dir/TBBConfig.cmake" ]] || { log "no TBBConfig.cmake in $config_dir"; exit 1; }
touch "$build_dir/.built"
save_to_cache
echo "$config_dir"
