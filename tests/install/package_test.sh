#!/usr/bin/env bash
# Builds the Debian package with CPack (canvass_<version>_amd64.deb), checks its name, its
# contents (the program, canvass.1, the bash completion, the reference election; no
# headers or libraries) and that its Depends are the Debian runtime packages the program
# links (dpkg-shlibdeps) and are installed here; unpacks it into a clean folder, runs the
# unpacked `canvass run` and `man -l` on its page, and removes the folder.
# Usage: package_test.sh BUILD_DIR VERSION
set -euo pipefail
build_dir="$(cd "$1" && pwd)"
version="$2"
work="$(mktemp -d /tmp/canvass-package.XXXXXX)"
trap 'rm -rf "$work"' EXIT
fail() { echo "package test: $*" >&2; exit 1; }

(cd "$build_dir" && cpack -G DEB -B "$work/out" >"$work/cpack.log" 2>&1) ||
  { tail -30 "$work/cpack.log"; fail "cpack failed"; }
deb="$work/out/canvass_${version}_amd64.deb"
[[ -f "$deb" ]] || fail "no $deb (found: $(ls "$work/out"))"

dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$work/contents"
for path in /usr/bin/canvass /usr/share/man/man1/canvass.1.gz \
  /usr/share/bash-completion/completions/canvass \
  /usr/share/canvass/ir-2024-runoff-overseas/election.json; do
  grep -qx "$path" "$work/contents" || fail "$path is not in the package"
done
if grep -Eq '^/usr/(include|lib)/' "$work/contents"; then
  fail "the package holds development files: $(grep -E '^/usr/(include|lib)/' "$work/contents" | head -3)"
fi

depends="$(dpkg-deb -f "$deb" Depends)"
[[ -n "$depends" ]] || fail "no Depends (dpkg-shlibdeps did not run)"
# The Debian packages of the shared libraries the program links itself (its NEEDED
# entries; theirs are their packages' business), each in Depends.
needed="$(readelf -d "$build_dir/tools/canvass" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')"
[[ -n "$needed" ]] || fail "readelf found no NEEDED entries"
for library in $(ldd "$build_dir/tools/canvass" | awk '/=> \//{print $1 " " $3}' |
  while read -r soname path; do grep -qx "$soname" <<<"$needed" && echo "$path"; done); do
  owner="$(dpkg -S "$(readlink -f "$library")" 2>/dev/null | head -1 | cut -d: -f1)" || true
  [[ -z "$owner" ]] && continue
  grep -q "\b${owner}\b" <<<"$depends" || fail "Depends lacks $owner (for $library): $depends"
done
for package in $(tr ',' '\n' <<<"$depends" | awk '{print $1}' | sed 's/:.*//'); do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    fail "Depends names $package, which is not installed here"
done

root="$work/root"
dpkg-deb -x "$deb" "$root"
"$root/usr/bin/canvass" --version | grep -q "^canvass $version " || fail "--version"
"$root/usr/bin/canvass" run --election "$root/usr/share/canvass/ir-2024-runoff-overseas" \
  >"$work/run.txt" || fail "the packaged canvass run failed"
grep -qx MATCH "$work/run.txt" || fail "the packaged canvass run did not match"
if command -v man >/dev/null; then
  man -l "$root/usr/share/man/man1/canvass.1.gz" 2>/dev/null | grep -q "canvass reconcile" ||
    fail "the manual page does not describe canvass reconcile"
fi
bash -n "$root/usr/share/bash-completion/completions/canvass" || fail "the completion is not bash"
rm -rf "$root"
echo "package test: $(basename "$deb"), Depends: $depends"
