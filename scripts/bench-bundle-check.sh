#!/bin/bash
# make bench-bundle-check (CI): proves that the bench bundle needs nothing from the machine it
# runs on. A throw-away root holds only the bundle, a static busybox (for /bin/sh) and a
# passwd file without www-data; in a private mount namespace with its own /proc and /dev/shm
# (what every Linux has), the bundle's
# run.sh does a short comparison there (1 round, 2 s, c=64) and its profiles. Fails unless the
# report lists all four connectors with requests and no errors, and the bundle's perf runs
# there (whether the kernel let it record is reported, not required: that is the machine's
# say). Everything it made is removed.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
B=$REPO/target/bench-bundle/mod_jk-rs-bench
[ -x "$B/run.sh" ] || { echo "bench-bundle-check: no bundle: make bench-bundle" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "bench-bundle-check: needs root (chroot)" >&2; exit 1; }
BB=$(command -v busybox) || { echo "bench-bundle-check: busybox-static missing" >&2; exit 1; }
root=$(mktemp -d /tmp/jkrs-bundle-root.XXXXXX)
cleanup() { rm -rf "$root"; }
trap cleanup EXIT
mkdir -p "$root"/{bin,proc,dev,tmp,etc}
chmod 1777 "$root/tmp"
cp "$BB" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
for d in null zero urandom random; do cp -a "/dev/$d" "$root/dev/"; done
printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
cp -a "$B" "$root/bundle"
chmod 755 "$root" "$root/bundle"
mkdir -p "$root/dev/shm"
unshare -m /bin/sh -c "mount -t proc proc '$root/proc' && mount -t tmpfs shm '$root/dev/shm' && \
  chroot '$root' /bundle/run.sh --repeats 1 --duration 2 --conc 64 --time-limit 240" \
  > "$root/tmp/report.txt" 2> "$root/tmp/log.txt" || {
    cat "$root/tmp/log.txt" "$root/tmp/report.txt" >&2; echo "bench-bundle-check: run.sh failed" >&2
    exit 1; }
report=$root/bundle/results/results.md
perf_version=$(chroot "$root" /bundle/bin/perf --version 2>&1) || {
  echo "bench-bundle-check: the bundle's perf does not run in the bare root: $perf_version" >&2
  exit 1; }
profiles=$(cd "$root/bundle/results" && ls perf-*-self.txt perf-*-syscalls.txt perf-*-c2c.txt \
             2>/dev/null | tr '\n' ' ' || true)
echo "bench-bundle-check: $perf_version runs in the bare root; profiles written: ${profiles:-none}"
grep -h "perf record: no\|perf c2c: no data\|perf stat: no" "$root/tmp/log.txt" || true
python3 - "$report" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
bad = []
rps = re.search(r"^### Requests/s\n\n.*\n.*\n\| fast-small \| 64 \| ([^|]+)\| ([^|]+)\| ([^|]+)\| ([^|]+)\|",
                text, re.M)
errs = re.search(r"^\| fast-small \| 64 \|.*\| (\d+)/(\d+)/(\d+)/(\d+) \|$", text, re.M)
if not rps:
    bad.append("no requests/s row for fast-small c=64")
elif any(float(v.replace(" ", "")) <= 0 for v in rps.groups()):
    bad.append("a connector served nothing")
if not errs:
    bad.append("no errors column")
elif any(int(v) for v in errs.groups()):
    bad.append("errors: " + "/".join(errs.groups()))
if "2 children × 64 threads" not in text and "children × 64 threads" not in text:
    bad.append("not the --scale MPM")
if bad:
    print("bench-bundle-check FAILED: " + "; ".join(bad) + "\n" + text, file=sys.stderr)
    sys.exit(1)
print("bench-bundle-check: the bundle ran in a root with nothing but busybox; requests/s "
      "ours, mod_jk, proxy, ceiling: " + ", ".join(v.strip() for v in rps.groups()) +
      "; errors 0")
PY
