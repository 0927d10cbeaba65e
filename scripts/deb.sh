#!/usr/bin/env bash
# make deb: the Debian package libapache2-mod-jk-rs_<version>_<arch>.deb in target/deb/.
# dpkg-buildpackage (debhelper with dh_apache2, the tools Debian builds libapache2-mod-jk
# with) runs on a copy of the tracked and untracked-but-not-ignored files under
# target/deb/src, so nothing is written next to the repository; cargo builds into the
# repository's target/ (CARGO_TARGET_DIR), incrementally. Then lintian; its tags are
# printed, and any that is not explained in debian/libapache2-mod-jk-rs.lintian-overrides
# fails the build (LINTIAN=0 skips lintian).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/target/deb
src=$out/src
rm -rf "$src"
mkdir -p "$src"
(cd "$top" && git ls-files -z --cached --others --exclude-standard) \
  | (cd "$top" && xargs -0 cp --parents -t "$src" 2>/dev/null || true)
rm -f "$out"/*.deb "$out"/*.buildinfo "$out"/*.changes
cd "$src"
export CARGO_TARGET_DIR=$top/target
log=$out/build.log
echo "deb: dpkg-buildpackage -b (log: $log)" >&2
if ! dpkg-buildpackage -b -us -uc > "$log" 2>&1; then
  tail -40 "$log" >&2
  echo "deb: dpkg-buildpackage failed (whole output in $log)" >&2
  exit 1
fi
# dpkg-buildpackage writes next to the source tree: target/deb/.
deb=$(ls "$out"/libapache2-mod-jk-rs_*.deb)
echo "deb: $deb" >&2
dpkg-deb --info "$deb" | sed -n '/Package:/,$p' >&2
if [ "${LINTIAN:-1}" != 0 ]; then
  echo "deb: lintian" >&2
  lintian --info --display-info --pedantic "$deb" | tee "$out/lintian.txt" >&2 || true
  if grep -E '^[EW]: ' "$out/lintian.txt" >/dev/null; then
    echo "deb: lintian errors or warnings above (not overridden)" >&2
    exit 1
  fi
fi
echo "$deb"
