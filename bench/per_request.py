#!/usr/bin/env python3
"""Counts per request that do not depend on how busy the machine is (issue 17): for our module
and Debian's mod_jk in the same httpd (bench.py's fast-small configuration: event MPM, two
children, one lb over two ajp-test-servers), under wrk at a fixed concurrency:

- shared memory: which words of the JkShmFile changed during the run, and by how much per
  request (ours: decoded into slot, field and cache line from crates/jk-shm's layout; mod_jk:
  the count of 64-byte lines that changed), so a word that every request of every child writes
  shows up with a delta of about one per request;
- system calls per request of the httpd children, by name (`perf trace -s`; futex calls are
  where a lock inside a child was contended: an uncontended parking_lot or pthread lock makes
  none);
- context switches per request of the httpd children (voluntary and not, summed over every
  thread's /proc/<pid>/task/<tid>/status).

    python3 bench/per_request.py [--conc 32] [--secs 5] [--connectors ours,mod_jk]

Only the Python standard library and bench.py's helpers; everything started is stopped by pid.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

LINE = 64
SHM_SRC = bench.REPO / "crates/jk-shm/src/lib.rs"


def enum_names(src, enum):
    """`Name = N` of `pub enum <enum>` in the jk-shm source: word offset -> name."""
    m = re.search(rf"pub enum {enum} \{{(.*?)\n\}}", src, re.S)
    return {int(v): k for k, v in re.findall(r"^\s+(\w+) = (\d+),", m.group(1), re.M)} if m else {}


def const(src, name):
    return int(re.search(rf"const {name}: usize = (\d+);", src).group(1))


def words(path):
    b = Path(path).read_bytes()
    return [int.from_bytes(b[i:i + 8], "little") for i in range(0, len(b) - 7, 8)]


def decode_ours(before, after, requests):
    """Changed words of our region, named by slot, field and child line."""
    src = SHM_SRC.read_text()
    header, fixed = const(src, "HEADER_WORDS"), const(src, "FIXED_WORDS")
    line_words = const(src, "LINE_WORDS")
    # CHILD_WORDS: one cache line up to layout 4, `4 * LINE_WORDS` from layout 5
    m = re.search(r"const CHILD_WORDS: usize = (?:(\d+) \* )?LINE_WORDS;", src)
    child_words = line_words * int(m.group(1) or 1)
    fields, strs = enum_names(src, "Field"), enum_names(src, "StrField")
    cfields = enum_names(src, "ChildField")
    classes = ("class1xx", "class2xx", "class3xx", "class4xx", "class5xx")
    named = {166: "HoldTime.sum"}
    named.update({183 + i: f"HoldTime.bucket{i}" for i in range(14)})
    cnamed = {}
    if child_words > line_words:  # layout 5: the reply figures are per child
        cnamed = {8: "ReplyTime.sum"}
        cnamed.update({9 + i: c for i, c in enumerate(classes)})
        cnamed.update({16 + i: f"ReplyTime.bucket{i}" for i in range(15)})
    else:  # layout 4: shared words of the slot
        named.update({160: "ReplyTime.sum", 165: "class5xx"})
        named.update({161 + i: c for i, c in enumerate(classes)})
        named.update({168 + i: f"ReplyTime.bucket{i}" for i in range(15)})
    children = before[2]
    child_table = -(-children // line_words) * line_words
    slot_words = fixed + children * child_words
    start = header + child_table
    kinds = {1: "ajp", 2: "lb", 3: "member", 4: "held"}

    def slot_name(s):
        base = start + s * slot_words
        raw = b"".join(after[base + strs.get("Name", 2) + i].to_bytes(8, "little")
                       for i in range(8))
        name = raw.split(b"\0")[0].decode(errors="replace")
        return f"{kinds.get(after[base], '?')} {name}"

    rows = []
    for i, (a, b) in enumerate(zip(before, after)):
        if a == b or i < start:
            if a != b:
                rows.append((i, f"header word {i}", b - a))
            continue
        s, off = divmod(i - start, slot_words)
        if off < fixed:
            what = fields.get(off) or named.get(off) or f"word {off}"
            line = f"line {off // line_words} (shared by every child)"
        else:
            c, w = divmod(off - fixed, child_words)
            what = f"child {c}: {cfields.get(w) or cnamed.get(w) or w}"
            line = f"child {c}'s own lines"
        rows.append((i, f"slot {s} ({slot_name(s)}) {what} [{line}]", b - a))
    out = []
    for i, name, d in rows:
        out.append(f"  {name:70} +{d:>12}  ({d / requests:8.3f} per request)")
    lines = {(i * 8) // LINE for i, _, _ in rows}
    # Counters that requests add to (not values set by the once-a-while maintenance, nor
    # maxima that rarely move).
    set_by_maintenance = ("ElectedSnapshot", "LbLastMaintain", "LastReset", "MaxBusy",
                          "MaxConnected")
    shared = {(i * 8) // LINE for i, name, d in rows if "shared by every child" in name
              and d >= requests // 4 and not any(f in name for f in set_by_maintenance)}
    return out, len(lines), len(shared)


def decode_raw(before, after, requests):
    changed = [i for i, (a, b) in enumerate(zip(before, after)) if a != b]
    lines = {(i * 8) // LINE for i in changed}
    hot = sorted({(i * 8) // LINE for i in changed
                  if 0 < (after[i] - before[i]) % (1 << 64) < (1 << 63)
                  and (after[i] - before[i]) >= requests // 4})
    out = [f"  word {i} (line {(i * 8) // LINE}): {before[i]} -> {after[i]} "
           f"({((after[i] - before[i]) % (1 << 64)) / requests:8.3f} per request)"
           for i in changed[:80]]
    return out, len(lines), len(hot)


def task_switches(pids):
    v = n = 0
    for p in pids:
        for t in os.listdir(f"/proc/{p}/task"):
            try:
                text = Path(f"/proc/{p}/task/{t}/status").read_text()
            except OSError:
                continue
            v += int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", text, re.M).group(1))
            n += int(re.search(r"^nonvoluntary_ctxt_switches:\s+(\d+)", text, re.M).group(1))
    return v, n


def one(k, h, conc, secs):
    path = bench.SCENARIOS["fast-small"][1]
    for _ in range(50):
        bench.check_http(h.port, path)
    kids = h.children()
    # mod_jk's name, ours too: <JkShmFile>.<parent pid> (and a .lock beside it)
    shm = h.dir / f"logs/jk-runtime-status.{h.pid()}"
    print(f"## {bench.LABEL[k]}: fast-small, wrk c={conc}, {secs} s, children {kids}")
    # 1. shared memory and context switches over one run
    before = words(shm)
    sw0 = task_switches(kids)
    w = bench.run_wrk(h.port, path, conc, secs)
    sw1 = task_switches(kids)
    after = words(shm)
    n = w["requests"]
    rows, lines, shared = (decode_ours if k == "ours" else decode_raw)(before, after, n)
    print(f"requests {n}; shared-memory words changed: {len(rows)}, in {lines} cache lines; "
          f"shared lines (written by every child) that requests add to: {shared}")
    print("\n".join(rows))
    print(f"context switches per request: voluntary {(sw1[0] - sw0[0]) / n:.3f}, "
          f"involuntary {(sw1[1] - sw0[1]) / n:.3f}")
    # 2. system calls per request
    with tempfile.NamedTemporaryFile(prefix="perf-trace-", suffix=".txt", delete=False) as f:
        trace = Path(f.name)
    p = subprocess.Popen(["perf", "trace", "-s", "-p", ",".join(map(str, kids)), "-o",
                          str(trace)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    w = bench.run_wrk(h.port, path, conc, secs)
    p.send_signal(signal.SIGINT)
    p.wait(timeout=60)
    counts = {}
    for m in re.finditer(r"^\s+(\w+)\s+(\d+)\s+\d+\s+[\d.]+", trace.read_text(), re.M):
        counts[m.group(1)] = counts.get(m.group(1), 0) + int(m.group(2))
    trace.unlink()
    n = w["requests"]
    per = sorted(((c / n, name) for name, c in counts.items()), reverse=True)
    print(f"system calls per request (perf trace -s, {n} requests): total "
          f"{sum(counts.values()) / n:.2f}: " +
          ", ".join(f"{name} {c:.3f}" for c, name in per if c >= 0.005))
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--conc", type=int, default=32)
    ap.add_argument("--secs", type=int, default=5)
    ap.add_argument("--connectors", default="ours,mod_jk")
    args = ap.parse_args()
    out = Path(tempfile.mkdtemp(prefix="jkrs-per-request-"))
    os.chmod(out, 0o755)
    reg = bench.Cleanup()
    try:
        ports = [bench.free_port(), bench.free_port()]
        for i, p in enumerate(ports):
            reg.add(bench.AjpServer(f"fast{i}", bench.AJP_PAIRS["fast"], p, out).start())
        for k in args.connectors.split(","):
            h = reg.add(bench.Httpd(k, out / k, {"fast": ports}).start())
            one(k, h, args.conc, args.secs)
            reg.stop(h)
    finally:
        reg.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
