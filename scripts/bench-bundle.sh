#!/bin/bash
# make bench-bundle: a self-contained directory (and a .tar.gz of it) that runs the many-core
# comparison (bench/bench.py --scale: ours, Debian's mod_jk 1.2.48, mod_proxy_ajp and the
# static-file ceiling in the same event-MPM httpd, one child per CPU) on any x86-64 Linux
# without installing anything. It carries Debian's apache2 with its modules and mod_jk, wrk,
# Debian's perf (for the profiles after the table: CPU samples, system calls per request, and
# perf c2c where the CPU samples memory loads),
# Python 3 with its standard library, our module and ajp-test-server, every library they load
# (their whole closure, found with ldd) and the dynamic loader; each program is started through
# that loader with the bundle's library directory, so the host's own libraries are never used.
#
#   scripts/bench-bundle.sh            (make bench-bundle; needs the release build)
#   target/bench-bundle/mod_jk-rs-bench/run.sh [bench.py options]    on the machine to measure
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=${BUNDLE_OUT:-$REPO/target/bench-bundle}
NAME=mod_jk-rs-bench
B=$OUT/$NAME
PY=${BUNDLE_PYTHON:-/usr/bin/python3.11}
PYLIB=/usr/lib/$(basename "$PY")
LOADER=/lib64/ld-linux-x86-64.so.2

PERF=$(command -v perf || echo perf)
for need in /usr/sbin/apache2 /usr/lib/apache2/modules/mod_jk.so "$(command -v wrk || echo wrk)" \
            "$PERF" "$PY" "$PYLIB" "$REPO/target/release/libmod_jk.so" \
            "$REPO/target/release/ajp-test-server" /etc/mime.types "$LOADER"; do
  [ -e "$need" ] || { echo "bench-bundle: $need missing (make deps; make release)" >&2; exit 1; }
done

rm -rf "$B" "$OUT/$NAME.tar.gz"
mkdir -p "$B"/{bin,real,lib,modules,bench,apache-conf,etc,python/lib}

# The programs (run through the loader by the wrappers in bin/).
cp /usr/sbin/apache2 "$B/real/apache2"
cp "$(command -v wrk)" "$B/real/wrk"
cp "$REPO/target/release/ajp-test-server" "$B/real/ajp-test-server"
cp "$PERF" "$B/real/perf"
cp "$PY" "$B/real/python3"
# httpd's modules (Debian's mod_jk among them) and ours, under a name of its own.
cp /usr/lib/apache2/modules/*.so "$B/modules/"
cp "$REPO/target/release/libmod_jk.so" "$B/modules/mod_jk-rs.so"
# Python's standard library without what the benchmark never imports.
cp -a "$PYLIB" "$B/python/lib/"
rm -rf "$B/python/lib/$(basename "$PYLIB")"/{test,idlelib,tkinter,turtledemo,ensurepip,lib2to3,pydoc_data,config-*}
find "$B/python" -name __pycache__ -prune -exec rm -rf {} +
cp /etc/mime.types "$B/etc/"
cp "$REPO/bench/bench.py" "$REPO/bench/wrk.lua" "$B/bench/"
cp "$REPO/apache-conf/private-httpd.conf.in" "$B/apache-conf/"

# The library closure of every ELF file in the bundle, and the loader.
elfs=$(find "$B/real" "$B/modules" "$B/python" -type f \( -perm -u+x -o -name '*.so*' \))
for f in $elfs; do
  { ldd "$f" 2>/dev/null || true; } | awk '/=> \// {print $3} /^\s*\/.*ld-linux/ {print $1}'
done | sort -u | while read -r lib; do
  [ "$lib" = "$LOADER" ] && continue
  cp -L "$lib" "$B/lib/"
done
cp -L "$LOADER" "$B/lib/ld-linux-x86-64.so.2"

for prog in apache2 wrk ajp-test-server python3 perf; do
  cat > "$B/bin/$prog" <<WRAP
#!/bin/sh
# $prog from this bundle, through the bundle's loader and libraries.
d=\${0%/*}/..
exec "\$d/lib/ld-linux-x86-64.so.2" --library-path "\$d/lib" "\$d/real/$prog" "\$@"
WRAP
  chmod 755 "$B/bin/$prog"
done

cat > "$B/run.sh" <<'RUN'
#!/bin/sh
# The many-core comparison of mod_jk-rs (bench/bench.py --scale), from this bundle only:
# ours, Debian's mod_jk 1.2.48, mod_proxy_ajp and the ceiling (httpd serving the same bytes from
# a static file) in one event-MPM httpd configuration (a child per CPU × 64 threads), two fast
# AJP test backends, wrk at c=64, 256 and 1024, 3 interleaved rounds of 8 s, stopped after 7
# minutes at the latest. Prints the report (also in ./results/results.md). Then, where the kernel
# lets perf in (root, or kernel.perf_event_paranoid <= 1), profiles of ours and mod_jk at c=256
# (results/perf-*.txt; --no-perf skips them). Options go to bench.py (e.g. --repeats 1,
# --conc 256). Run as root or as a user; loopback only.
case $0 in */*) d=${0%/*} ;; *) d=. ;; esac
d=$(cd "$d" && pwd)
export APACHE2="$d/bin/apache2" APACHE_MODULES="$d/modules" MOD_JK_SO="$d/modules/mod_jk-rs.so" \
       DEBIAN_MOD_JK="$d/modules/mod_jk.so" AJP_TEST_SERVER="$d/bin/ajp-test-server" \
       WRK="$d/bin/wrk" BENCH_MIME_TYPES="$d/etc/mime.types" PYTHONHOME="$d/python" \
       PYTHONDONTWRITEBYTECODE=1 PATH="$d/bin:$PATH"
exec "$d/bin/python3" "$d/bench/bench.py" --scale --perf --time-limit 420 --out "${OUT:-$d/results}" "$@"
RUN
chmod 755 "$B/run.sh"
{
  echo "mod_jk-rs bench bundle, built $(date -u '+%Y-%m-%d %H:%M UTC') from $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)"
  echo "apache2: $(dpkg-query -W -f '${Version}' apache2-bin 2>/dev/null)"
  echo "libapache2-mod-jk: $(dpkg-query -W -f '${Version}' libapache2-mod-jk 2>/dev/null)"
  echo "wrk: $(dpkg-query -W -f '${Version}' wrk 2>/dev/null)"
  echo "perf: $("$PERF" --version 2>&1)"
  echo "python: $("$PY" --version 2>&1)"
} > "$B/VERSIONS"
tar -C "$OUT" -czf "$OUT/$NAME.tar.gz" "$NAME"
echo "bench-bundle: $B ($(du -sh "$B" | cut -f1)), $OUT/$NAME.tar.gz ($(du -h "$OUT/$NAME.tar.gz" | cut -f1))"
echo "run it: $B/run.sh"
