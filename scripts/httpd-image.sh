#!/usr/bin/env bash
# Builds the httpd of the official `httpd:2.4` image on this machine (the "host tier" of
# README "Deploy"): Debian's apache2 source package (its upstream tarball, what the image's
# Dockerfile downloads from apache.org) configured with the image's flags for the prefix
# /usr/local/apache2, installed under a cache directory, then the image's sed on httpd.conf.
#   scripts/httpd-image.sh [CACHE]     (default: $HTTPD_IMAGE_CACHE or target/httpd-image)
# Prints the staged prefix (CACHE/root/usr/local/apache2). A cache that holds a finished build
# of the same tarball is reused (the build takes minutes). The source comes from `apt-get
# source --download-only` against a private list of deb-src entries derived from the host's
# apt sources (the host's apt configuration and lists are not changed). Build dependencies:
# HTTPD_IMAGE_DEPS in the Makefile (the image's list).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${1:-${HTTPD_IMAGE_CACHE:-$top/target/httpd-image}}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
prefix=/usr/local/apache2
stage=$cache/root
log=$cache/build.log

src_dir=$cache/src
if ! ls "$src_dir"/apache2_*.orig.tar.gz >/dev/null 2>&1; then
  # A private apt state: deb-src lines for the suites of the host's deb lines.
  apt_dir=$cache/apt
  mkdir -p "$apt_dir/lists/partial" "$src_dir"
  : > "$apt_dir/sources.list"
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] && sed -n 's/^deb \(.*\)$/deb-src \1/p' "$f" >> "$apt_dir/sources.list"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && sed 's/^Types: deb$/Types: deb-src/' "$f" > "$apt_dir/$(basename "$f")"
  done
  opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=$apt_dir"
        -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o "APT::Sandbox::User=root")
  echo "httpd-image: fetching Debian's apache2 source package (log: $log)" >&2
  apt-get "${opts[@]}" update -q > "$log" 2>&1 || { tail -20 "$log" >&2; exit 1; }
  # Newest version first; a mirror may lack one suite's sources (then the next is tried).
  ok=
  for v in $(apt-cache "${opts[@]}" showsrc apache2 | sed -n 's/^Version: //p' | sort -rV | uniq); do
    if (cd "$src_dir" && apt-get "${opts[@]}" source --download-only "apache2=$v") >> "$log" 2>&1; then
      ok=1
      break
    fi
  done
  [ -n "$ok" ] || { tail -20 "$log" >&2; echo "httpd-image: no apache2 source" >&2; exit 1; }
fi
tarball=$(ls "$src_dir"/apache2_*.orig.tar.gz | sort -V | tail -1)
stamp="$(basename "$tarball") $(sha256sum < "$tarball" | cut -c1-16)"
if [ -x "$stage$prefix/bin/httpd" ] && [ "$(cat "$cache/done" 2>/dev/null)" = "$stamp" ]; then
  echo "$stage$prefix"
  exit 0
fi

echo "httpd-image: building $(basename "$tarball") with the image's configure flags (log: $log)" >&2
rm -rf "$cache/build" "$stage" "$cache/done"
mkdir -p "$cache/build"
tar -xzf "$tarball" -C "$cache/build" --strip-components=1
cd "$cache/build"
gnu_arch=$(dpkg-architecture --query DEB_BUILD_GNU_TYPE)
{
  ./configure --build="$gnu_arch" --prefix="$prefix" \
    --enable-mods-shared=reallyall --enable-mpms-shared=all --enable-pie \
    CFLAGS="-pipe $(dpkg-buildflags --get CFLAGS)" \
    CPPFLAGS="$(dpkg-buildflags --get CPPFLAGS)" \
    LDFLAGS="-Wl,--as-needed $(dpkg-buildflags --get LDFLAGS)"
  make -j "$(nproc)"
  make install DESTDIR="$stage"
} >> "$log" 2>&1 || { tail -30 "$log" >&2; echo "httpd-image: build failed (see $log)" >&2; exit 1; }
rm -rf "$stage$prefix/man" "$stage$prefix/manual"
# The image's edits of its configuration: logs to the container's stdout/stderr, www-data.
sed -ri \
  -e 's!^(\s*CustomLog)\s+\S+!\1 /proc/self/fd/1!g' \
  -e 's!^(\s*ErrorLog)\s+\S+!\1 /proc/self/fd/2!g' \
  -e 's!^(\s*TransferLog)\s+\S+!\1 /proc/self/fd/1!g' \
  -e 's!^(\s*User)\s+daemon\s*$!\1 www-data!g' \
  -e 's!^(\s*Group)\s+daemon\s*$!\1 www-data!g' \
  "$stage$prefix/conf/httpd.conf" "$stage$prefix/conf/extra/httpd-ssl.conf"
grep -Eq '^\s*User www-data$' "$stage$prefix/conf/httpd.conf"
"$stage$prefix/bin/httpd" -v >&2 || true
rm -rf "$cache/build"
echo "$stamp" > "$cache/done"
echo "$stage$prefix"
