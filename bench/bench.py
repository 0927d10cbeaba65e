#!/usr/bin/env python3
"""Benchmark of mod_jk-rs against Debian's mod_jk 1.2.48 and mod_proxy_ajp + mod_proxy_balancer,
and against the ceiling: the same httpd serving the same bytes itself.

    python3 bench/bench.py              # the full run (make bench): roughly 13 minutes
    python3 bench/bench.py --smoke      # 5 s of our module, 2 s of the ceiling (make bench-smoke)
    python3 bench/bench.py --only graceful   # the graceful-restart test alone (~2.5 minutes)
    python3 bench/bench.py --only members    # the lb-members family alone (~1.5 minutes)
    python3 bench/bench.py --only restarts   # stop and restart times alone (~1 minute)

Three private httpd 2.4 instances (event MPM, identical configuration except the module lines)
run side by side on loopback ports, in front of the same backends: two Tomcat 10 instances and
pairs of `ajp-test-server` (this repository's fast AJP backend). A fourth, the ceiling, has the
same configuration without a connector and serves each scenario's URL from a static file that
holds the bytes the backend answered through a connector (same length and content type): the
limit no connector in this httpd can pass. wrk drives one httpd at a time; runs are interleaved
(ours, mod_jk, proxy, ceiling; each cell and round starts with the next connector) and
repeated. Per run we record
wrk's requests/s, p50/p99 latency and errors, the CPU time (utime+stime) of the httpd parent and
children per request (from /proc/<pid>/stat before and after) and VmRSS of every child after
the run. A failover test kills one of two members with SIGKILL under load and restarts it; a
graceful test sends three graceful restarts (SIGUSR1) to httpd under load. The members family
measures one lb of 2, 16 and 64 members (one ajp-test-server each, one httpd per connector and
member count) with small requests without a session: requests/s and CPU per request, and how
the cost per request grows from 2 to 64 members. Stop and restart: how long a plain restart
(SIGHUP), a graceful restart (SIGUSR1), a stop (SIGTERM) and a graceful stop (SIGWINCH) take
with each connector on the same configuration.

Output: a markdown report on stdout and in target/bench/results.md, raw data (wrk output,
results.json, configurations, error logs) under target/bench/. Everything started here is
stopped by its pid at the end (also on Ctrl-C).
Only the Python 3 standard library is used.
"""

import argparse
import datetime
import json
import os
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODULES = os.environ.get("APACHE_MODULES", "/usr/lib/apache2/modules")
APACHE2 = os.environ.get("APACHE2", "/usr/sbin/apache2")
OURS_SO = Path(os.environ.get("MOD_JK_SO", REPO / "target/release/libmod_jk.so"))
DEBIAN_SO = Path(os.environ.get("DEBIAN_MOD_JK", f"{MODULES}/mod_jk.so"))
AJP_SERVER = Path(os.environ.get("AJP_TEST_SERVER", REPO / "target/release/ajp-test-server"))
WRK = os.environ.get("WRK", "wrk")
LUA = REPO / "bench/wrk.lua"
CLK_TCK = os.sysconf("SC_CLK_TCK")
HOST = "127.0.0.1"

# httpd: the same MPM and thread settings for all three connectors. Two children with 96
# threads each, never more or fewer (StartServers = ServerLimit, MaxSpareThreads =
# MaxRequestWorkers), so CPU and memory are measured on the same processes; 192 workers keep
# c=128 clear of MinSpareThreads (where the event MPM starts closing keep-alive connections).
MPM = """StartServers 2
ServerLimit 2
ThreadsPerChild 96
ThreadLimit 96
MaxRequestWorkers 192
MinSpareThreads 32
MaxSpareThreads 192
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 5"""

# --scale (the many-core comparison, `make bench-bundle`): one child per CPU with 64 threads
# each (as a 16-core machine's default run: 16 × 64), wrk with a thread per two CPUs, the
# fast-small scenario at these concurrencies, 3 interleaved rounds of 8 s.
SCALE_THREADS = 64
SCALE_CONNS = (64, 256, 1024)
# Concurrency of the --perf profiles (with --scale the middle one of its concurrencies).
PERF_CONC = 32
# results.md once the table is written (printed if the profiles after it are interrupted).
RESULTS = None
# ServerLimit of the --callgrind runs (--callgrind-server-limit; None: the MPM's).
CALLGRIND_SERVER_LIMIT = None
# Children every httpd runs (MPM above); wrk threads (run_wrk).
CHILDREN = 2
WRK_THREADS = 2


def mpm_threads():
    """ThreadsPerChild of the MPM lines in use."""
    return re.search(r"ThreadsPerChild (\d+)", MPM).group(1)


def scale_mpm(children, conns):
    """The MPM lines of --scale: `children` children × SCALE_THREADS threads (16 CPUs: 16 × 64,
    the configuration of the many-core comparison). Where that is fewer workers than the largest
    concurrency `conns` (a small machine), each child gets a thread per connection plus
    SCALE_THREADS spare (2 CPUs, c=1024: 2 × 576): below MinSpareThreads idle workers the event
    MPM closes keep-alive connections, and every connector, the ceiling too, counts errors."""
    threads = SCALE_THREADS
    if children * SCALE_THREADS < conns:
        threads = -(-conns // children) + SCALE_THREADS
    workers = children * threads
    return (f"StartServers {children}\nServerLimit {children}\nThreadsPerChild {threads}\n"
            f"ThreadLimit {threads}\nMaxRequestWorkers {workers}\nMinSpareThreads "
            f"{SCALE_THREADS}\nMaxSpareThreads {workers}\nMaxConnectionsPerChild 0\n"
            "KeepAlive On\nMaxKeepAliveRequests 0\nKeepAliveTimeout 5\n"
            f"ListenBacklog {max(511, 2 * conns)}")


CONNECTORS = ["ours", "mod_jk", "proxy", "ceiling"]
LABEL = {"ours": "ours (mod_jk-rs)", "mod_jk": "mod_jk 1.2.48", "proxy": "mod_proxy_ajp",
         "ceiling": "ceiling (static file)"}
# The ceiling: no connector, no backend; httpd's core serves a static file per scenario with the
# bytes a connector got from the backend. It has no failover or graceful-restart behaviour of a
# connector to show: those tests skip it. In --smoke it runs SMOKE_CEILING_S seconds (a check that
# it works, with a rough figure), ours the full 5 s.
CEILING = "ceiling"
SMOKE_CEILING_S = 2

# name -> (backend pair, URL path, POST bytes, uses the sticky session cookie, description)
SCENARIOS = {
    "tc-static": ("tc", "/app/static.txt", 0, False, "Tomcat 10: static.txt (22 B)"),
    "tc-session": ("tc", "/app/session.jsp", 0, True, "Tomcat 10: session.jsp, sticky cookie"),
    "fast-small": ("fast", "/fast/hello", 0, False, "ajp-test-server: 11 B"),
    "fast-1mb": ("big", "/big/file.bin", 0, False, "ajp-test-server: 1 MiB download"),
    "fast-post64k": ("echo", "/echo/upload", 65536, False, "ajp-test-server: 64 KiB POST, echoed"),
}
# The default matrix (a subset of 5 scenarios x 3 concurrencies, to fit in 10 minutes on
# 2 cores): every scenario at c=32, the two small-response scenarios also at c=1 and c=128.
DEFAULT_MATRIX = [
    ("tc-static", 1), ("fast-small", 1),
    ("tc-static", 32), ("tc-session", 32), ("fast-small", 32), ("fast-1mb", 32),
    ("fast-post64k", 32),
    ("tc-static", 128), ("fast-small", 128),
]
FULL_MATRIX = [(s, c) for c in (1, 32, 128) for s in SCENARIOS]
# ajp-test-server pairs: name -> mode
AJP_PAIRS = {"fast": "status:200", "big": "download:1048576", "echo": "echo", "fo": "status:200"}
FAILOVER_RECOVER_S = 5  # recover_time (jk) / retry (proxy) of the failover balancer only
# Tests besides the scenario matrix, selectable by name with --only.
EXTRA_TESTS = ("failover", "graceful", "members", "restarts")
# Graceful restarts under load: wrk c=64 on fast-small, SIGUSR1 to the httpd parent at these
# fractions of the run (4, 9 and 14 s of the default 20 s).
GRACEFUL_CONNS = 64
GRACEFUL_AT = (0.2, 0.45, 0.7)
GRACEFUL_EXIT_SLACK_S = 0.2  # target: our old children exit at most this much later than mod_jk's
# The members family: one lb ("mem", mounted at /members) of N ajp13 members, each its own
# ajp-test-server (status:200, the fast-small answer); requests without a session cookie at
# c=32; one httpd per connector and member count, in which that lb is the only worker.
MEMBER_COUNTS = (2, 16, 64)
MEMBERS_LB = "mem"
MEMBERS_PATH = "/members/hello"
MEMBERS_CONNS = 32
MEMBERS_COST_GOAL = 1.05
# Stop and restart: the goal is ours within this factor of mod_jk's time, for each signal.
RESTARTS_GOAL = 2.0
# Their MPM: the other runs' two children, with room for two more (ServerLimit 4), so that a
# graceful restart's new generation does not wait for the old one's process slots (that wait,
# 1 or 2 s of httpd's own maintenance ticks, is the graceful test's subject, not this one's).
RESTARTS_MPM = MPM.replace("ServerLimit 2", "ServerLimit 4").replace(
    "MaxRequestWorkers 192", "MaxRequestWorkers 384")  # target: ours' CPU per request at 64 members ≤ this × at 2 members


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def port_open(port, timeout=0.2):
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(what, secs, pred, interval=0.05):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(interval)
    raise RuntimeError(f"timed out after {secs}s waiting for {what}")


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def stop_pid(pid, group=False, grace=10.0):
    """SIGTERM, then SIGKILL after `grace` seconds; `group`: the process group `pid` leads."""
    kill = os.killpg if group else os.kill
    try:
        kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.05)
    try:
        kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class Cleanup:
    """Everything this run started, stopped in reverse order by pid."""

    def __init__(self):
        self.items = []

    def add(self, obj):
        self.items.append(obj)
        return obj

    def stop(self, obj):
        """Stops `obj` now (before the end of the run) and forgets it."""
        self.items.remove(obj)
        obj.stop()

    def run(self):
        while self.items:
            obj = self.items.pop()
            try:
                obj.stop()
            except Exception as e:  # keep stopping the rest
                log(f"stopping {obj}: {e}")


CLEANUP = Cleanup()


# ---------------------------------------------------------------- backends


class AjpServer:
    def __init__(self, name, mode, port, logdir):
        self.name, self.mode, self.port, self.logdir = name, mode, port, logdir
        self.proc = None
        self.generation = 0
        self.out = None

    def start(self):
        self.generation += 1
        self.out = self.logdir / f"ajp-{self.name}-{self.generation}.out"
        with open(self.out, "wb") as f:
            self.proc = subprocess.Popen(
                [str(AJP_SERVER), "--listen", f"{HOST}:{self.port}", "--mode", self.mode],
                stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_until(f"ajp-test-server {self.name} on {self.port}", 10,
                   lambda: b"listening on" in self.out.read_bytes())
        return self

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def served_any(self):
        return b"conn=" in self.out.read_bytes()

    def log_size(self):
        """Bytes of its request log (one line per request served) so far."""
        return self.out.stat().st_size

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __repr__(self):
        return f"ajp-test-server {self.name}:{self.port}"


# Tomcat through scripts/tomcat.sh, the launcher the tests and make demo use: no access log,
# warnings only, full JIT (C1+C2), fixed 256 MB heap.
TOMCAT_SH = REPO / "scripts/tomcat.sh"
TOMCAT_ARGS = ["--contexts", "app", "--sessions", "none", "--jit", "full", "--heap", "256m",
               "--heap-min", "256m", "--log-level", "WARNING", "--access-log", "off",
               "--timeout", "120"]


class Tomcat:
    def __init__(self, route, port, base):
        self.route, self.port, self.base = route, port, base
        self.http = free_port()
        self.proc = None

    def start(self):
        """Starts the script in the background (both Tomcats start side by side)."""
        shutil.rmtree(self.base, ignore_errors=True)
        self.proc = subprocess.Popen(
            [str(TOMCAT_SH), "start", str(self.base), "--address", HOST, "--ajp-port",
             str(self.port), "--http-port", str(self.http), "--route", self.route, *TOMCAT_ARGS],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        return self

    def wait_ready(self):
        _, err = self.proc.communicate()
        if self.proc.returncode != 0:
            raise RuntimeError(f"Tomcat {self.route}: {err}see {self.base}/logs/catalina.out")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        subprocess.run([str(TOMCAT_SH), "stop", str(self.base)], stdin=subprocess.DEVNULL)

    def __repr__(self):
        return f"Tomcat {self.route}:{self.port}"


# ---------------------------------------------------------------- httpd


def workers_properties(members):
    """One lb per entry of `members` (lb name -> member ports), its members named lb1, lb2, …"""
    lines = ["# written by bench/bench.py: one lb per backend group, one ajp13 member per port",
             "worker.list=" + ",".join(members),
             # maintenance every 5 s (default 60) so a recovered member can be seen again
             # within the failover test; same file for ours and Debian's mod_jk
             "worker.maintain=5"]
    for lb, ports in members.items():
        names = [f"{lb}{i}" for i in range(1, len(ports) + 1)]
        lines += [f"worker.{lb}.type=lb", f"worker.{lb}.balance_workers={','.join(names)}"]
        if lb == "fo":
            lines.append(f"worker.{lb}.recover_time={FAILOVER_RECOVER_S}")
        for n, p in zip(names, ports):
            lines += [f"worker.{n}.type=ajp13", f"worker.{n}.host={HOST}", f"worker.{n}.port={p}"]
    return "\n".join(lines) + "\n"


MOUNTS = {"tc": "/app", "fast": "/fast", "big": "/big", "echo": "/echo", "fo": "/fo",
          MEMBERS_LB: "/members"}


def module_lines(connector, d, members, static=None):
    if connector == CEILING:
        # no module: core's default handler serves the files under DocumentRoot, ForceType
        # (core) gives each the content type the backend sent
        out = ["# no connector: each scenario's URL is a static file under DocumentRoot"]
        for url, (_, ctype) in (static or {}).items():
            out.append(f'<Location "{url}">')
            if ctype:
                out.append(f'  ForceType "{ctype}"')
            out.append("</Location>")
        return "\n".join(out)
    if connector in ("ours", "mod_jk"):
        so = OURS_SO if connector == "ours" else DEBIAN_SO
        out = [f"LoadModule jk_module {so}",
               f'JkWorkersFile "{d}/workers.properties"',
               f'JkShmFile "{d}/logs/jk-runtime-status"',
               f'JkLogFile "{d}/logs/mod_jk.log"',
               "JkLogLevel error"]
        out += [f"JkMount {MOUNTS[lb]}/* {lb}" for lb in members]
        return "\n".join(out)
    out = [f"LoadModule proxy_module {MODULES}/mod_proxy.so",
           f"LoadModule proxy_ajp_module {MODULES}/mod_proxy_ajp.so",
           f"LoadModule slotmem_shm_module {MODULES}/mod_slotmem_shm.so",
           f"LoadModule proxy_balancer_module {MODULES}/mod_proxy_balancer.so",
           f"LoadModule lbmethod_byrequests_module {MODULES}/mod_lbmethod_byrequests.so"]
    for lb, ports in members.items():
        retry = f" retry={FAILOVER_RECOVER_S}" if lb == "fo" else ""
        out.append(f"<Proxy balancer://{lb}>")
        for i, p in enumerate(ports, 1):
            out.append(f"  BalancerMember ajp://{HOST}:{p} route={lb}{i}{retry}")
        out.append("  ProxySet lbmethod=byrequests stickysession=JSESSIONID|jsessionid")
        out.append("</Proxy>")
        out.append(f"ProxyPass {MOUNTS[lb]} balancer://{lb}{MOUNTS[lb]}")
    return "\n".join(out)


def private_httpd_conf(d, port, mpm_conf):
    """apache-conf/private-httpd.conf.in (the tests' and make demo's too) filled in: event MPM."""
    user = ""
    if os.geteuid() == 0:  # www-data where it exists (Debian, Ubuntu), else nobody
        import grp
        import pwd
        names = {x.pw_name for x in pwd.getpwall()}
        groups = {x.gr_name for x in grp.getgrall()}
        u = "www-data" if "www-data" in names else "nobody"
        g = u if u in groups else ("nogroup" if "nogroup" in groups else "nobody")
        user = f"User {u}\nGroup {g}"
    fields = {"DIR": str(d), "PORT": str(port), "LOGLEVEL": "warn", "MODULES": MODULES,
              "MPM_CONF": mpm_conf, "MPM": "event", "USER": user}
    text = (REPO / "apache-conf/private-httpd.conf.in").read_text()
    for k, v in fields.items():
        text = text.replace(f"@{k}@", v)
    if os.environ.get("BENCH_MIME_TYPES"):  # the bundle brings its own copy
        text = text.replace("TypesConfig /etc/mime.types",
                            f"TypesConfig {os.environ['BENCH_MIME_TYPES']}")
    return text


class Httpd:
    def __init__(self, connector, d, members, static=None, mpm=None):
        """`static` (the ceiling): URL path -> (body, content type) of the files it serves;
        `mpm`: the MPM's sizing lines (default: MPM as it is when the httpd is made, so that
        --scale's sizing applies; a default of `mpm=MPM` would be bound at import)."""
        self.connector, self.dir, self.members, self.static = connector, d, members, static
        self.mpm = mpm or MPM
        self.port = free_port()
        self.conf = d / "httpd.conf"

    def write_conf(self):
        d = self.dir
        shutil.rmtree(d, ignore_errors=True)
        (d / "logs").mkdir(parents=True)
        (d / "htdocs").mkdir()
        for p in (d, d / "logs", d / "htdocs"):
            p.chmod(0o755)
        if self.connector == CEILING:
            self.write_static(self.static or {})
        else:
            (d / "workers.properties").write_text(workers_properties(self.members))
        self.conf.write_text(f"""# written by bench/bench.py ({self.connector})
{private_httpd_conf(d, self.port, self.mpm)}# ---- connector ({self.connector}): the only lines that differ
{module_lines(self.connector, d, self.members, self.static)}
""")

    def write_static(self, files):
        """The ceiling's files under htdocs at their URL paths (also while httpd runs: core
        opens the file per request; each is replaced by a rename, never seen half-written)."""
        for url, (body, _) in files.items():
            f = self.dir / "htdocs" / url.lstrip("/")
            for p in reversed(f.relative_to(self.dir / "htdocs").parents[:-1]):
                (self.dir / "htdocs" / p).mkdir(exist_ok=True)
                (self.dir / "htdocs" / p).chmod(0o755)
            tmp = f.with_name(f.name + ".new")
            tmp.write_bytes(body)
            tmp.chmod(0o644)
            tmp.replace(f)

    def start(self):
        self.write_conf()
        r = subprocess.run([APACHE2, "-f", str(self.conf), "-k", "start"], capture_output=True,
                           text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{self.connector}: apache2 -k start failed: {r.stdout}{r.stderr}\n"
                               f"{self.error_log()}")
        try:
            wait_until(f"httpd ({self.connector}) on {self.port}", 15,
                       lambda: self.pid() and port_open(self.port) and len(self.children()) == CHILDREN)
        except RuntimeError:
            raise RuntimeError(f"httpd ({self.connector}) did not come up\n{self.error_log()}")
        return self

    def pid(self):
        try:
            return int((self.dir / "httpd.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def children(self):
        ppid = self.pid()
        kids = []
        for e in os.listdir("/proc"):
            if e.isdigit():
                st = proc_stat(int(e))
                if st and st["ppid"] == ppid:
                    kids.append(int(e))
        return kids

    def cpu_ticks(self):
        """utime+stime of the parent, its reaped children and its live children."""
        total = 0
        p = proc_stat(self.pid())
        if p:
            total += p["utime"] + p["stime"] + p["cutime"] + p["cstime"]
        for c in self.children():
            s = proc_stat(c)
            if s:
                total += s["utime"] + s["stime"]
        return total

    def sched_counts(self):
        """(voluntary, involuntary context switches, run-queue delay in ns) summed over the
        threads of the live children: waiting that CPU time does not show. A voluntary switch
        is a thread that blocked (a lock, a socket with nothing to read), an involuntary one a
        thread preempted; the run-queue delay (schedstat's second field) is the time threads
        were ready to run but waited for a CPU."""
        vol = invol = delay = 0
        timed = False
        for c in self.children():
            try:
                tasks = os.listdir(f"/proc/{c}/task")
            except OSError:
                continue
            for t in tasks:
                try:
                    st = Path(f"/proc/{c}/task/{t}/status").read_text()
                    v = re.search(r"^voluntary_ctxt_switches:\s+(\d+)", st, re.M)
                    n = re.search(r"^nonvoluntary_ctxt_switches:\s+(\d+)", st, re.M)
                    vol += int(v.group(1)) if v else 0
                    invol += int(n.group(1)) if n else 0
                except (OSError, ValueError):
                    pass
                try:  # a kernel without schedstats has no such file: the switches still count
                    d = Path(f"/proc/{c}/task/{t}/schedstat").read_text().split()
                    delay += int(d[1])
                    timed = True
                except (OSError, ValueError, IndexError):
                    pass
        return vol, invol, (delay if timed else None)

    def rss_kb(self):
        out = []
        for c in self.children():
            try:
                m = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{c}/status").read_text(), re.M)
                if m:
                    out.append(int(m.group(1)))
            except OSError:
                pass
        return out

    def error_log(self):
        try:
            return (self.dir / "logs/error.log").read_text(errors="replace")
        except OSError:
            return ""

    def crashes(self):
        return len(re.findall(r"exit signal|AH00052|Segmentation", self.error_log()))

    def stop(self):
        pid = self.pid()
        if pid:
            stop_pid(pid)
            wait_until(f"httpd {pid} gone", 15, lambda: not pid_alive(pid))

    def __repr__(self):
        return f"httpd ({self.connector}) :{self.port}"


def proc_stat(pid):
    if not pid:
        return None
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    f = raw[raw.rindex(")") + 2:].split()
    # fields from 3 (state): ppid=4, utime=14, stime=15, cutime=16, cstime=17
    return {"ppid": int(f[1]), "utime": int(f[11]), "stime": int(f[12]),
            "cutime": int(f[13]), "cstime": int(f[14])}


# ---------------------------------------------------------------- ceiling


def ceiling_start(out, matrix, answers, cookie):
    """The ceiling's httpd, serving `answers` (URL path -> (body, content type) as the reference
    connector got them from the backend) from static files; each checked: status 200, the same
    bytes, the same content type."""
    h = CLEANUP.add(Httpd(CEILING, out / f"run/httpd-{CEILING}", {}, answers)).start()
    shutil.copy(h.conf, out / f"raw/httpd-{CEILING}.conf")
    for s in dict.fromkeys(s for s, _ in matrix):
        _, path, post, sticky, _ = SCENARIOS[s]
        body, ctype = answers[path]
        st, got, headers = check_http(h.port, path, post, cookie if sticky else "")
        got_type = headers.get("Content-Type") or ""
        if st != 200 or got != body or (ctype and got_type.lower() != ctype.lower()):
            raise RuntimeError(f"{CEILING} {s}: status {st}, {len(got)} bytes, {got_type!r} "
                               f"(want {len(body)} bytes, {ctype!r})")
    ceiling_files(out, answers)
    return h


def ceiling_refresh(out, h, ref, matrix, cookie):
    """After the warm-up: the session page's answer again (its per-session counter has grown
    by some digits), so that the ceiling's file has the size the backend answers in the runs."""
    for s in dict.fromkeys(s for s, _ in matrix):
        _, path, post, sticky, _ = SCENARIOS[s]
        if sticky:
            st, body, _ = check_http(ref.port, path, post, cookie)
            if st != 200:
                raise RuntimeError(f"{s}: status {st} through {ref.connector}")
            h.static[path] = (body, h.static[path][1])
            h.write_static({path: h.static[path]})
            log(f"{CEILING}: {path} is now {len(body)} bytes, as the backend answers")
    ceiling_files(out, h.static)


def ceiling_files(out, files):
    (out / "raw/ceiling-files.txt").write_text(
        "URL path, bytes, content type of the ceiling's static files\n" +
        "".join(f"{url}\t{len(body)}\t{ctype}\n" for url, (body, ctype) in files.items()))


# ---------------------------------------------------------------- load


def run_wrk(port, path, conns, secs, post=0, cookie="", raw_path=None, popen=False):
    threads = max(1, min(WRK_THREADS, conns))
    cmd = [WRK, f"-t{threads}", f"-c{conns}", f"-d{secs}s", "--latency", "--timeout", "10s",
           "-s", str(LUA), f"http://{HOST}:{port}{path}"]
    env = dict(os.environ, BENCH_POST_BYTES=str(post), BENCH_COOKIE=cookie)
    if popen:
        return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=secs + 60)
    return parse_wrk(r.stdout + r.stderr, raw_path)


def parse_wrk(text, raw_path=None):
    if raw_path:
        raw_path.write_text(text)
    m = re.search(r"^BENCHJSON (\{.*\})$", text, re.M)
    if not m:
        raise RuntimeError(f"wrk produced no summary:\n{text}")
    d = json.loads(m.group(1))
    d["rps"] = d["requests"] / (d["duration_us"] / 1e6) if d["duration_us"] else 0.0
    d["errors"] = d["connect"] + d["read"] + d["write"] + d["status"] + d["timeout"]
    return d


def measure(h, scen, conns, secs, cookie, raw_path):
    _, path, post, sticky, _ = SCENARIOS[scen]
    return measure_path(h, path, conns, secs, raw_path, post, cookie if sticky else "")


def measure_path(h, path, conns, secs, raw_path, post=0, cookie=""):
    """One wrk run on `path` with httpd's CPU per request and its children's RSS."""
    sched_before = h.sched_counts()
    before = h.cpu_ticks()
    w = run_wrk(h.port, path, conns, secs, post, cookie, raw_path)
    after = h.cpu_ticks()
    sched_after = h.sched_counts()
    rss = h.rss_kb()
    n = w["requests"]

    def per_req(a, b, scale=1.0):
        # None where a count is missing or fell (a thread or child that exited during the
        # run took its count with it: the difference would mean nothing).
        if not n or a is None or b is None or b < a:
            return None
        return (b - a) / scale / n

    w["vcsw_per_req"] = per_req(sched_before[0], sched_after[0])
    w["ivcsw_per_req"] = per_req(sched_before[1], sched_after[1])
    w["runq_us_per_req"] = per_req(sched_before[2], sched_after[2], 1000.0)
    cpu_s = (after - before) / CLK_TCK
    w["cpu_s"] = cpu_s
    w["cpu_us_per_req"] = cpu_s * 1e6 / w["requests"] if w["requests"] else None
    w["rss_kb"] = rss
    w["rss_mean_kb"] = statistics.mean(rss) if rss else None
    w["rss_max_kb"] = max(rss) if rss else None
    return w


def check_http(port, path, post=0, cookie=""):
    data = b"b" * post if post else None
    req = urllib.request.Request(f"http://{HOST}:{port}{path}", data=data,
                                 headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.read(), r.headers


# ---------------------------------------------------------------- failover


def failover(h, a, b, secs_before=2.0, down_s=4.0, window=20.0, raw_path=None):
    """Load at c=32 on the fo balancer; kill -9 member b, restart it after down_s; measure the
    failed requests and the time from the restart until b serves a request again."""
    # 1 s pre-roll so the connector has pooled connections to both members
    run_wrk(h.port, "/fo/x", 32, 1)
    w = run_wrk(h.port, "/fo/x", 32, int(secs_before + down_s + window + 5), popen=True)
    time.sleep(secs_before)
    b.kill9()
    t_kill = time.monotonic()
    time.sleep(down_s)
    b.start()
    t_restart = time.monotonic()
    recovered = None
    while time.monotonic() - t_restart < window:
        if b.served_any():
            recovered = time.monotonic() - t_restart
            break
        time.sleep(0.05)
    time.sleep(1.0)
    w.send_signal(signal.SIGINT)  # wrk stops and reports
    out, _ = w.communicate(timeout=30)
    r = parse_wrk(out, raw_path)
    r["recovered_s"] = recovered
    r["down_s"] = t_restart - t_kill
    return r


# ---------------------------------------------------------------- graceful restart


def proc_gone(pid):
    """True once `pid` has exited; a zombie that httpd has not reaped yet counts as gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return raw[raw.rindex(")") + 2] == "Z"


def live_children(h):
    return [c for c in h.children() if not proc_gone(c)]


def log_lines(h):
    """httpd's error log lines at warn and above, and the JkLogFile's lines (ours, mod_jk)."""
    err = [ln for ln in h.error_log().splitlines()
           if re.search(r"^\[[^]]*\] \[[^]]*:(warn|error|crit|alert|emerg)\]", ln)]
    try:
        jk = (h.dir / "logs/mod_jk.log").read_text(errors="replace").splitlines()
    except OSError:
        jk = []
    return err + jk


def graceful(h, secs, raw_path=None):
    """wrk c=64 on fast-small for `secs` s; a graceful restart (SIGUSR1 to the httpd parent, as
    `apache2 -k graceful` sends) at 20 %, 45 % and 70 % of the run. Besides wrk's figures, per
    restart: when every old child had exited and when the first child of the new generation
    ran (sampled every 20 ms and 100 ms)."""
    path = SCENARIOS["fast-small"][1]
    wait_until(f"httpd ({h.connector}) with two children", 15,
               lambda: len(live_children(h)) == 2 and port_open(h.port))
    st, _, _ = check_http(h.port, path)
    if st != 200:
        raise RuntimeError(f"{h.connector} {path}: status {st}")
    run_wrk(h.port, path, GRACEFUL_CONNS, 1)  # pre-roll: pooled backend connections
    pid = h.pid()
    logs_before = len(log_lines(h))
    w = run_wrk(h.port, path, GRACEFUL_CONNS, secs, popen=True)
    t0 = time.monotonic()
    restarts = []
    marks = [secs * f for f in GRACEFUL_AT] + [secs]
    for at, until in zip(marks, marks[1:]):
        time.sleep(max(0.0, t0 + at - time.monotonic()))
        old = set(live_children(h))
        os.kill(pid, signal.SIGUSR1)
        t_sig = time.monotonic()
        r = {"at_s": round(t_sig - t0, 2), "children": len(old), "old_gone_s": None,
             "new_up_s": None}
        n = 0
        while time.monotonic() < t0 + until - 0.1 and (r["old_gone_s"] is None or
                                                      r["new_up_s"] is None):
            dt = time.monotonic() - t_sig
            if r["old_gone_s"] is None and all(proc_gone(p) for p in old):
                r["old_gone_s"] = dt
            # a scan of /proc costs more: every 100 ms
            if r["new_up_s"] is None and n % 5 == 0:
                if any(c not in old for c in live_children(h)):
                    r["new_up_s"] = dt
            n += 1
            time.sleep(0.02)
        restarts.append(r)
    out, _ = w.communicate(timeout=secs + 60)
    res = parse_wrk(out, raw_path)
    res["restarts"] = restarts
    gone = [r["old_gone_s"] for r in restarts]
    up = [r["new_up_s"] for r in restarts]
    res["old_gone_max_s"] = None if None in gone else max(gone)
    res["new_up_max_s"] = None if None in up else max(up)
    res["log_lines"] = log_lines(h)[logs_before:]
    res["log_count"] = len(res["log_lines"])
    restart(h)
    return res


def restart(h):
    """A plain restart (SIGHUP): after graceful restarts the event MPM may run only one child
    (StartServers counts only at a plain start); the next run starts from two again."""
    old = set(live_children(h))
    os.kill(h.pid(), signal.SIGHUP)
    wait_until(f"httpd ({h.connector}) restarted with two children", 15,
               lambda: len(kids := live_children(h)) == 2 and not old & set(kids)
               and port_open(h.port))


def graceful_table(L, gr, conns, rounds, secs, ceiling=False):
    """The graceful-restart report: one row per figure, one column per connector, ratios;
    `ceiling`: the ceiling ran in the matrix but not here (say so)."""
    L.append("### Graceful restart under load")
    L.append("")
    at = ", ".join(f"{secs * f:g}" for f in GRACEFUL_AT)
    L.append(f"wrk c={GRACEFUL_CONNS} (2 threads, keep-alive, 10 s timeout as in the other "
             f"runs) on fast-small for {secs} s; a graceful restart (SIGUSR1 to the httpd "
             f"parent, what `apache2 -k graceful` sends) at {at} s; then a plain restart "
             f"(SIGHUP) so that the next run starts from two children again. {rounds} "
             f"round{'s' if rounds > 1 else ''}, interleaved; figures are medians over the "
             "rounds, errors and log lines summed over them; ratios are the median [min–max] of "
             "the per-round ratios (▲ ours ahead, ▼ ours behind, = within 3 %). Old children "
             "gone / first new child running: seconds after the signal, the slowest of the "
             "three restarts.")
    L.append("")
    L.append("Reading: on a graceful restart the old children close their keep-alive "
             "connections and stop accepting, and httpd 2.4's event MPM starts the new "
             "generation only at its next once-a-second maintenance and only into free process "
             "slots. With no spare slot here (ServerLimit 2), the first restart of a run also "
             "waits for the old children to be reaped: new connections wait about 2 s, at the "
             "later restarts (the new generation runs one child, a slot is free) about 1 s, for "
             "every connector. A connector whose old children take about a second or more to "
             "exit keeps the slots past the tick and makes them wait a second more; below "
             "that only the exit time shows it (row old children gone). The wait shows in p99 "
             "and max; wrk's default 2 s timeout would drop these requests from its latency "
             "figures and count "
             "them as timeouts instead. Read errors are keep-alive connections that the old "
             "children close as wrk sends on them; they vary from run to run for every "
             "connector.")
    L.append("")
    if ceiling:
        L.append(f"{LABEL[CEILING]}: does not apply here (no connector whose children could "
                 "hold the restart up, no backend); not run.")
        L.append("")
    others = [k for k in ("mod_jk", "proxy") if k in conns and "ours" in conns]
    L.append("| | " + " | ".join(LABEL[k] for k in conns) +
             "".join(f" | ours/{o}" for o in others) + " |")
    L.append("|---|" + "---|" * (len(conns) + len(others)))

    def vals(k, key):
        return [rr[k][key] for rr in gr if k in rr and rr[k].get(key) is not None]

    def ratio_cells(key, higher_is_better):
        cells = []
        for o in others:
            rs = [rr["ours"][key] / rr[o][key] for rr in gr
                  if "ours" in rr and o in rr and rr["ours"].get(key) and rr[o].get(key)]
            cells.append(fmt_ratio(rs, higher_is_better))
        return "".join(f" | {c}" for c in cells)

    def row(name, key, nd=0, scale=1.0, higher_is_better=None):
        cells = []
        for k in conns:
            m = med(vals(k, key))
            cells.append(fmt_num(m and m / scale, nd) if m is not None else "–")
        ratio = (ratio_cells(key, higher_is_better) if higher_is_better is not None
                 else " | –" * len(others))
        L.append(f"| {name} | " + " | ".join(cells) + ratio + " |")

    def total_row(name, keys):
        cells = [" / ".join(str(sum(vals(k, key))) for key in keys) for k in conns]
        L.append(f"| {name} | " + " | ".join(cells) + " | –" * len(others) + " |")

    row("requests", "requests")
    row("requests/s", "rps", higher_is_better=True)
    total_row("non-2xx/3xx", ["status"])
    total_row("socket errors connect / read / write / timeout",
              ["connect", "read", "write", "timeout"])
    row("latency p50 (ms)", "p50_us", 2, 1000, False)
    row("latency p99 (ms)", "p99_us", 2, 1000, False)
    row("latency max (ms)", "max_us", 1, 1000, False)
    row("old children gone (s)", "old_gone_max_s", 3, higher_is_better=False)
    row("first new child running (s)", "new_up_max_s", 3, higher_is_better=False)
    total_row("error-log lines (warn+) and JkLogFile lines", ["log_count"])
    L.append("")


# ---------------------------------------------------------------- stop and restart


def sample_until(t_sig, checks, limit=15.0, step=0.005):
    """Polls each named predicate of `checks` until all held or `limit` s passed; returns
    {name: seconds after t_sig when it first held, or None}."""
    got = {name: None for name in checks}
    while time.monotonic() < t_sig + limit and None in got.values():
        for name, pred in checks.items():
            if got[name] is None and pred():
                got[name] = time.monotonic() - t_sig
        time.sleep(step)
    return got


def timed_restart(h, sig):
    """Sends `sig` (SIGHUP or SIGUSR1) to the parent: seconds until a child of the new
    generation runs and answers, and until every old child has exited."""
    path = SCENARIOS["fast-small"][1]
    old = set(live_children(h))
    os.kill(h.pid(), sig)
    t = time.monotonic()
    return sample_until(t, {
        "serving_s": lambda: (bool(set(live_children(h)) - old)
                              and check_http(h.port, path)[0] == 200),
        "old_gone_s": lambda: all(proc_gone(p) for p in old)})


def timed_stop(h, sig):
    """Sends `sig` (SIGTERM: stop; SIGWINCH: graceful stop) to the parent: seconds until the
    parent and every child have exited. A zombie counts as exited: after `apache2 -k start` the
    parent is a daemon whose zombie waits for PID 1 to reap it, which some inits do only now
    and then (here up to 2 s: a `kill -0` loop measures that, for every connector alike)."""
    pid = h.pid()
    kids = live_children(h)
    os.kill(pid, sig)
    t = time.monotonic()
    return sample_until(t, {"parent_gone_s": lambda: proc_gone(pid),
                            "all_gone_s": lambda: proc_gone(pid) and all(proc_gone(k)
                                                                        for k in kids)})


def stop_restart(out, conns, rounds):
    """Stop and restart times of each connector in `conns`, the same configuration (the
    fast-small lb over two ajp-test-servers, pooled connections after a warm-up): per round
    and connector one httpd for a plain restart (SIGHUP), a graceful restart (SIGUSR1) and a
    stop (SIGTERM), and one for a graceful stop (SIGWINCH, the official httpd image's
    STOPSIGNAL). Returns [{connector: {figure: seconds}}] per round."""
    servers = [CLEANUP.add(AjpServer(f"sr{i}", "status:200", free_port(), out / "raw")).start()
               for i in (1, 2)]
    members = {"fast": [s.port for s in servers]}
    path = SCENARIOS["fast-small"][1]
    res = []
    for rnd in range(rounds):
        res.append({})
        for k in conns:
            r = {}
            for final in ("stop", "graceful_stop"):
                h = CLEANUP.add(Httpd(k, out / f"run/restarts-{k}", members,
                                      mpm=RESTARTS_MPM)).start()
                for _ in range(8):
                    if check_http(h.port, path)[0] != 200:
                        raise RuntimeError(f"{k}: {path} failed\n{h.error_log()}")
                if final == "stop":
                    for name, sig in (("hup", signal.SIGHUP), ("graceful", signal.SIGUSR1)):
                        wait_until(f"httpd ({k}) with two children", 15,
                                   lambda: len(live_children(h)) == 2)
                        for key, v in timed_restart(h, sig).items():
                            r[f"{name}_{key}"] = v
                    st = timed_stop(h, signal.SIGTERM)
                else:
                    st = timed_stop(h, signal.SIGWINCH)
                for key, v in st.items():
                    r[f"{final}_{key}"] = v
                (out / f"raw/error-restarts-r{rnd + 1}-{final}-{k}.log").write_text(h.error_log())
                CLEANUP.stop(h)
            res[-1][k] = r
            log(f"restarts round {rnd + 1} {k}: " + ", ".join(
                f"{key} {'–' if v is None else f'{v:.3f}'}" for key, v in r.items()))
    for s in servers:
        CLEANUP.stop(s)
    return res


RESTART_ROWS = [
    ("restart (SIGHUP): new generation serving", "hup_serving_s"),
    ("restart (SIGHUP): old children gone", "hup_old_gone_s"),
    ("graceful (SIGUSR1): new generation serving", "graceful_serving_s"),
    ("graceful (SIGUSR1): old children gone", "graceful_old_gone_s"),
    ("stop (SIGTERM): parent exited", "stop_parent_gone_s"),
    ("stop (SIGTERM): every process exited", "stop_all_gone_s"),
    ("graceful stop (SIGWINCH): every process exited", "graceful_stop_all_gone_s"),
]


def restarts_table(L, sr, conns):
    L.append("### Stop and restart")
    L.append("")
    L.append(f"The fast-small configuration (one lb over two ajp-test-servers, connections "
             f"pooled by 8 requests first), event MPM (2 children, ServerLimit 4: a new "
             f"generation never waits for the old one's process slots); per round and connector a "
             f"plain restart (SIGHUP, `apache2 -k restart`), a graceful restart (SIGUSR1, "
             f"`-k graceful`) and a stop (SIGTERM, `-k stop`) of one httpd, and a graceful stop "
             f"(SIGWINCH, `-k graceful-stop`, the httpd image's STOPSIGNAL) of another. Seconds "
             f"after the signal, sampled every 5 ms; medians over {len(sr)} rounds. An exited "
             f"process not yet reaped (a zombie) counts as exited. Goal: ours within "
             f"{RESTARTS_GOAL:g}× mod_jk.")
    L.append("")
    others = [o for o in ("mod_jk", "proxy") if o in conns and "ours" in conns]
    L.append("| | " + " | ".join(LABEL[k] for k in conns) +
             "".join(f" | ours/{o}" for o in others) + " |")
    L.append("|---|" + "---|" * (len(conns) + len(others)))
    for name, key in RESTART_ROWS:
        cells = []
        for k in conns:
            vs = [rr[k][key] for rr in sr if k in rr and rr[k].get(key) is not None]
            cells.append(f"{med(vs):.3f}" if vs else "–")
        for o in others:
            a = [rr["ours"][key] for rr in sr if rr.get("ours", {}).get(key) is not None]
            b = [rr[o][key] for rr in sr if rr.get(o, {}).get(key) is not None]
            cells.append(f"{med(a) / med(b):.2f}" if a and b and med(b) > 0 else "–")
        L.append(f"| {name} | " + " | ".join(cells) + " |")
    L.append("")


# ---------------------------------------------------------------- members


def members_family(out, conns, rounds, secs, callgrind=False):
    """The members family: for each connector in `conns` and each count in MEMBER_COUNTS an
    httpd whose only worker is one lb of that many members, all in front of the same
    max(MEMBER_COUNTS) ajp-test-server processes (the first N of them for N members). Each
    httpd is checked (status 200) and warmed up 1 s at c=32; members that served nothing in its
    warm-up are reported (the lb should reach them all). Then `rounds` rounds of `secs` s at
    c=32, interleaved (2, 16, 64 members × conns per round). Everything it starts is stopped
    before it returns.

    With `callgrind`, each httpd's configuration is then also run as one `apache2 -X` under
    callgrind (user-space instructions per request: the deterministic cost, unmoved by what
    else the 2 cores run), stored as results[n][0][k]["instr_per_req"].

    Returns (results, idle, crashes): results[n] is a list of rounds, each connector -> the
    figures of measure_path(); idle[(n, k)] the members that served nothing in the warm-up;
    crashes["k m{n}"] the child crashes in that httpd's error log."""
    started = []
    try:
        servers = []
        for i in range(1, max(MEMBER_COUNTS) + 1):  # each listens before the next port is picked
            s = AjpServer(f"{MEMBERS_LB}{i}", "status:200", free_port(), out / "raw")
            started.append(CLEANUP.add(s))
            servers.append(s.start())
        httpds = {}
        for n in MEMBER_COUNTS:
            for k in conns:
                h = Httpd(k, out / f"run/httpd-{k}-m{n}",
                          {MEMBERS_LB: [s.port for s in servers[:n]]})
                started.append(CLEANUP.add(h))
                httpds[(n, k)] = h.start()
                shutil.copy(h.conf, out / f"raw/httpd-{k}-m{n}.conf")
        log(f"members: {len(servers)} ajp-test-servers and {len(httpds)} httpds up; warm-up")
        idle = {}
        for (n, k), h in httpds.items():
            st, body, _ = check_http(h.port, MEMBERS_PATH)
            if st != 200 or not body:
                raise RuntimeError(f"{k} {n} members {MEMBERS_PATH}: status {st}, "
                                   f"{len(body)} bytes")
            before = [s.log_size() for s in servers[:n]]
            run_wrk(h.port, MEMBERS_PATH, MEMBERS_CONNS, 1)

            def idle_members():
                return [s.name for s, b in zip(servers[:n], before) if s.log_size() == b]
            try:  # the servers write their request lines within about half a second
                wait_until("every member to serve", 2, lambda: not idle_members())
            except RuntimeError:
                idle[(n, k)] = idle_members()
                log(f"members: {k} with {n} members left {len(idle[(n, k)])} idle in the "
                    f"warm-up: {', '.join(idle[(n, k)])}")
        results = {n: [{} for _ in range(rounds)] for n in MEMBER_COUNTS}
        total, done = rounds * len(httpds), 0
        for rnd in range(rounds):
            for n in MEMBER_COUNTS:
                for k in conns:
                    raw = out / f"raw/wrk-r{rnd + 1}-members{n}-c{MEMBERS_CONNS}-{k}.txt"
                    r = measure_path(httpds[(n, k)], MEMBERS_PATH, MEMBERS_CONNS, secs, raw)
                    results[n][rnd][k] = r
                    done += 1
                    log(f"members [{done}/{total}] round {rnd + 1} {n} members {k}: "
                        f"{r['rps']:.0f} req/s errors {r['errors']} "
                        f"cpu {r['cpu_us_per_req'] or 0:.1f} µs/req rss {r['rss_kb']}")
        if callgrind:
            for (n, k), h in httpds.items():
                p = callgrind_profile(h, out, f"{k}-m{n}", secs=8, path=MEMBERS_PATH)
                if p:
                    results[n][0][k]["instr_per_req"] = p["instr_per_req"]
        crashes = {}
        for (n, k), h in httpds.items():
            crashes[f"{k} m{n}"] = h.crashes()
            (out / f"raw/error-{k}-m{n}.log").write_text(h.error_log())
        return results, idle, crashes
    finally:
        for obj in reversed(started):
            CLEANUP.stop(obj)


def members_cost_ratios(mres, k, key="cpu_us_per_req"):
    """Per-round ratios of `key` at the most members to the fewest, for connector `k`."""
    lo, hi = min(MEMBER_COUNTS), max(MEMBER_COUNTS)
    out = []
    for a, b in zip(mres[lo], mres[hi]):
        if k in a and k in b and a[k].get(key) and b[k].get(key):
            out.append(b[k][key] / a[k][key])
    return out


def members_table(L, mres, idle, conns, rounds, secs):
    """The members family's report: a row per member count, then the growth from the fewest
    to the most members (per-round ratios)."""
    counts = ", ".join(str(n) for n in MEMBER_COUNTS)
    lo, hi = min(MEMBER_COUNTS), max(MEMBER_COUNTS)
    L.append(f"### Members: {counts}")
    L.append("")
    L.append(f"One lb of {counts} ajp13 members, each member its own ajp-test-server process "
             f"(the fast-small answer, 11 B), the default lb method (Request), requests "
             f"without a session cookie; one httpd per connector and member count (the same MPM "
             f"settings; the lb is its only worker; our lbs keep their default spare growth "
             f"slots). wrk c={MEMBERS_CONNS} on `{MEMBERS_PATH}`, {secs} s per run, {rounds} "
             f"round{'s' if rounds > 1 else ''}, runs interleaved ({counts} members × "
             f"{', '.join(conns)}); figures are medians over the rounds. CPU as in the CPU "
             f"table: utime+stime of the httpd parent and children ÷ requests (the backends' "
             f"CPU is not counted); RSS: mean VmRSS of the httpd children after the run. "
             f"Row {hi} ÷ {lo}: the figure at {hi} members over the one at {lo}, median "
             f"[min–max] of the per-round ratios." +
             (" Instructions: user-space instructions per request of the same configuration "
              "run as one `apache2 -X` under callgrind (`--callgrind`; one keep-alive "
              "connection, 8 s): the cost that does not move with what else the machine runs."
              if any(rr.get(k, {}).get("instr_per_req") for rr in mres[lo] for k in conns)
              else ""))
    L.append("")
    peer = ["mod_jk"] if "ours" in conns and "mod_jk" in conns else []
    icol = [k for k in conns if mres[lo][0].get(k, {}).get("instr_per_req")]
    L.append("| members | " + " | ".join(f"{LABEL[k]} req/s" for k in conns) + " | " +
             " | ".join(f"{LABEL[k]} µs/req" for k in conns) +
             "".join(f" | CPU ours/{o}" for o in peer) +
             "".join(f" | {LABEL[k]} instr/req" for k in icol) + " | " +
             " | ".join(f"{LABEL[k]} RSS MiB" for k in conns) +
             " | errors " + "/".join(conns) + " |")
    L.append("|" + "---|" * (2 + 3 * len(conns) + len(peer) + len(icol)))

    def figure(n, k, key):
        return med([rr[k][key] for rr in mres[n] if k in rr and rr[k].get(key) is not None])

    def mib(kb):
        return None if kb is None else kb / 1024

    for n in MEMBER_COUNTS:
        rps = [fmt_num(figure(n, k, "rps")) for k in conns]
        cpu = [fmt_num(figure(n, k, "cpu_us_per_req"), 1) for k in conns]
        rss = [fmt_num(mib(figure(n, k, "rss_mean_kb")), 1) for k in conns]
        ratio = []
        for o in peer:
            rs = [rr["ours"]["cpu_us_per_req"] / rr[o]["cpu_us_per_req"] for rr in mres[n]
                  if "ours" in rr and o in rr and rr["ours"].get("cpu_us_per_req")
                  and rr[o].get("cpu_us_per_req")]
            ratio.append(fmt_ratio(rs, higher_is_better=False))
        errs = "/".join(str(sum(rr[k]["errors"] for rr in mres[n] if k in rr)) for k in conns)
        instr = [fmt_num(mres[n][0].get(k, {}).get("instr_per_req")) for k in icol]
        L.append(f"| {n} | " + " | ".join(rps) + " | " + " | ".join(cpu) +
                 "".join(f" | {c}" for c in ratio) + "".join(f" | {c}" for c in instr) +
                 " | " + " | ".join(rss) + f" | {errs} |")
    growth = [fmt_ratio(members_cost_ratios(mres, k, "rps"), mark=False) for k in conns]
    growth += [fmt_ratio(members_cost_ratios(mres, k), mark=False) for k in conns]
    growth += ["–"] * len(peer)
    growth += [fmt_ratio(members_cost_ratios(mres, k, "instr_per_req"), mark=False)
               for k in icol]
    growth += [fmt_ratio(members_cost_ratios(mres, k, "rss_mean_kb"), mark=False) for k in conns]
    L.append(f"| {hi} ÷ {lo} | " + " | ".join(growth) + " | – |")
    L.append("")
    for (n, k), names in idle.items():
        L.append(f"Warm-up: {LABEL[k]} with {n} members sent nothing to {len(names)} of them "
                 f"({', '.join(names)}).")
        L.append("")


# ---------------------------------------------------------------- report


def machine():
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    kernel = os.uname().release
    return {"nproc": os.cpu_count(), "cpu": cpu, "mem_gib": round(mem_kb / 1048576, 1),
            "kernel": kernel}


def versions():
    def cmd(*a):
        try:
            return subprocess.run(a, capture_output=True, text=True, cwd=REPO).stdout.strip()
        except OSError:
            return "?"
    httpd = re.search(r"Apache/\S+", cmd(APACHE2, "-v"))
    modjk = cmd("dpkg-query", "-W", "-f=${Version}", "libapache2-mod-jk")
    wrk = re.search(r"wrk \S+", cmd(WRK, "-v"))
    return {"httpd": httpd.group(0) if httpd else "?", "mod_jk": modjk or "?",
            "ours": cmd("git", "rev-parse", "--short", "HEAD") +
            ("+dirty" if cmd("git", "status", "--porcelain", "--untracked-files=no") else ""),
            "wrk": wrk.group(0).replace("debian/", "") if wrk else "?"}


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt_num(x, nd=0):
    if x is None:
        return "–"
    return f"{x:,.{nd}f}".replace(",", " ")


def fmt_ratio(rs, higher_is_better=True, mark=True):
    """median [min–max] of per-round ratios, with ▲ (ours ahead), ▼ (behind) or = (±3 %);
    `mark` False (a fraction of the ceiling, below 1 by nature): the figures only."""
    rs = [r for r in rs if r is not None]
    if not rs:
        return "–"
    m = statistics.median(rs)
    good = m > 1.03 if higher_is_better else m < 0.97
    bad = m < 0.97 if higher_is_better else m > 1.03
    sign = ("▲ " if good else ("▼ " if bad else "= ")) if mark else ""
    span = f" [{min(rs):.2f}–{max(rs):.2f}]" if len(rs) > 1 else ""
    return f"{sign}**{m:.2f}**{span}"


def ratios(res, scen, c, key, other, num="ours"):
    """Per-round ratios num/other of `key` in one cell."""
    out = []
    for rnd in res[(scen, c)]:
        o, t = rnd.get(num), rnd.get(other)
        if o and t and o.get(key) and t.get(key):
            out.append(o[key] / t[key])
    return out


def series(res, scen, c, conn, key):
    return [rnd[conn][key] for rnd in res[(scen, c)] if conn in rnd and rnd[conn].get(key) is not None]


def ratio_peers(conns):
    """The columns ours is divided by: the peers and the ceiling that ran."""
    return [k for k in ("mod_jk", "proxy", CEILING) if "ours" in conns and k in conns]


def ratio_cell(res, s, c, key, other, higher_is_better=True):
    return fmt_ratio(ratios(res, s, c, key, other), higher_is_better, mark=other != CEILING)


def matrix_tables(L, res, matrix, conns):
    """Requests/s, latency, CPU/memory/errors of the scenario matrix."""
    others = ratio_peers(conns)
    # --- throughput
    L.append("### Requests/s")
    L.append("")
    L.append("| scenario | c | " + " | ".join(LABEL[c] for c in conns) +
             "".join(f" | ours/{o}" for o in others) + " |")
    L.append("|" + "---|" * (2 + len(conns) + len(others)))
    for s, c in matrix:
        row = f"| {s} | {c} | " + " | ".join(fmt_num(med(series(res, s, c, k, "rps")))
                                             for k in conns)
        row += "".join(f" | {ratio_cell(res, s, c, 'rps', o)}" for o in others)
        L.append(row + " |")
    L.append("")
    # --- latency
    L.append("### Latency p50 / p99 (ms)")
    L.append("")
    L.append("| scenario | c | " + " | ".join(f"{LABEL[k]} p50 / p99" for k in conns) +
             "".join(f" | p99 ours/{o}" for o in others) + " |")
    L.append("|" + "---|" * (2 + len(conns) + len(others)))
    for s, c in matrix:
        cells = []
        for k in conns:
            p50, p99 = med(series(res, s, c, k, "p50_us")), med(series(res, s, c, k, "p99_us"))
            cells.append(f"{fmt_num(p50 and p50 / 1000, 2)} / {fmt_num(p99 and p99 / 1000, 2)}")
        row = f"| {s} | {c} | " + " | ".join(cells)
        row += "".join(f" | {ratio_cell(res, s, c, 'p99_us', o, False)}" for o in others)
        L.append(row + " |")
    L.append("")
    # --- cpu / memory / errors
    L.append("### CPU per request, memory per child, errors")
    L.append("")
    L.append("CPU: utime+stime of the httpd parent and children over the run ÷ requests (httpd "
             "only: the backends' CPU is not counted). "
             "RSS: VmRSS of each httpd child after the run (children live across all runs, "
             "as in production), mean (max). Errors: wrk's socket errors + non-2xx/3xx, "
             "summed over the rounds.")
    L.append("")
    rss_peer = ["mod_jk"] if "mod_jk" in others else []
    L.append("| scenario | c | " + " | ".join(f"{LABEL[k]} µs/req" for k in conns) +
             "".join(f" | CPU ours/{o}" for o in others) + " | " +
             " | ".join(f"{LABEL[k]} RSS MiB" for k in conns) +
             "".join(f" | RSS ours/{o}" for o in rss_peer) + " | errors " + "/".join(conns) +
             " |")
    L.append("|" + "---|" * (3 + 2 * len(conns) + len(others) + len(rss_peer)))
    for s, c in matrix:
        cpu = [fmt_num(med(series(res, s, c, k, "cpu_us_per_req")), 1) for k in conns]
        rss = []
        for k in conns:
            mean, mx = med(series(res, s, c, k, "rss_mean_kb")), med(series(res, s, c, k, "rss_max_kb"))
            rss.append(f"{fmt_num(mean and mean / 1024, 1)} ({fmt_num(mx and mx / 1024, 1)})")
        errs = "/".join(str(sum(series(res, s, c, k, "errors"))) for k in conns)
        row = f"| {s} | {c} | " + " | ".join(cpu)
        row += "".join(f" | {ratio_cell(res, s, c, 'cpu_us_per_req', o, False)}" for o in others)
        row += " | " + " | ".join(rss)
        row += "".join(f" | {ratio_cell(res, s, c, 'rss_mean_kb', o, False)}" for o in rss_peer)
        L.append(row + f" | {errs} |")
    L.append("")
    # --- waiting: what CPU time does not show (issue 17's question at many cores)
    if any(series(res, s, c, k, "runq_us_per_req") for s, c in matrix for k in conns):
        L.append("### Waiting per request")
        L.append("")
        L.append("Summed over the threads of the httpd children during the run, ÷ requests "
                 "(medians over the rounds): voluntary context switches (a thread blocked: on a "
                 "lock, on a socket with nothing to read), involuntary ones (a thread "
                 "preempted), and the run-queue delay (time threads were ready but waited for "
                 "a CPU, from /proc/<pid>/task/<tid>/schedstat). A connector that blocks more "
                 "than another under the same load shows it in the first column.")
        L.append("")
        L.append("| scenario | c | " + " | ".join(
            f"{LABEL[k]} switches vol/invol | {LABEL[k]} run-queue µs" for k in conns) + " |")
        L.append("|" + "---|" * (2 + 2 * len(conns)))
        for s, c in matrix:
            cells = []
            for k in conns:
                v = med(series(res, s, c, k, "vcsw_per_req"))
                i = med(series(res, s, c, k, "ivcsw_per_req"))
                q = med(series(res, s, c, k, "runq_us_per_req"))
                cells.append(f"{fmt_num(v, 2)} / {fmt_num(i, 2)} | {fmt_num(q, 1)}")
            L.append(f"| {s} | {c} | " + " | ".join(cells) + " |")
        L.append("")


def ceiling_summary(res, matrix, conns):
    """Each connector's requests/s as a fraction of the ceiling's: (one-sentence statement, table
    lines), or None without a ceiling or connector runs."""
    ks = [k for k in conns if k != CEILING]
    if CEILING not in conns or not ks or not matrix:
        return None
    L = ["| scenario | c | " + " | ".join(LABEL[k] for k in ks) + " |",
         "|" + "---|" * (2 + len(ks))]
    per_cell = {k: [] for k in ks}
    for s, c in matrix:
        cells = []
        for k in ks:
            rs = ratios(res, s, c, "rps", CEILING, num=k)
            cells.append(fmt_ratio(rs, mark=False))
            if rs:
                per_cell[k].append(statistics.median(rs))
        L.append(f"| {s} | {c} | " + " | ".join(cells) + " |")

    def pct(k):
        xs = per_cell[k]
        if not xs:
            return "–"
        lo, hi = f"{min(xs) * 100:.0f}", f"{max(xs) * 100:.0f}"
        span = f" ({lo}–{hi} %)" if lo != hi else ""
        return f"{statistics.median(xs) * 100:.0f} %{span}"
    lead = "ours" if "ours" in ks else ks[0]
    rest = "".join(f", {LABEL[k]} {pct(k)}" for k in ks if k != lead)
    where = (f"medians over the {len(matrix)} cells, their range in brackets" if len(matrix) > 1
             else f"{matrix[0][0]} c={matrix[0][1]}")
    text = (f"Against the ceiling (the same httpd serving the same bytes from a static file, no "
            f"connector, no backend): {LABEL[lead]} serves {pct(lead)} of its requests/s{rest} "
            f"({where}).")
    return text, L


def report(args, res, matrix, conns, fo, meta, prof=None, gr=None, members=None, sr=None):
    """The markdown report; `members`: (results, idle, connectors) of members_family()."""
    L = []
    m, v = meta["machine"], meta["versions"]
    L.append(f"Run {meta['date']} on {m['nproc']} × {m['cpu']}, {m['mem_gib']} GiB RAM, "
             f"Linux {m['kernel']}; {v['httpd']} (event MPM: {CHILDREN} children × "
             f"{mpm_threads()} threads), "
             f"Debian mod_jk {v['mod_jk']}, mod_jk-rs {v['ours']}, {v['wrk']}.")
    L.append("")
    rounds = f"{args.repeats} round{'s' if args.repeats > 1 else ''}"
    if matrix and len(conns) > 1:
        short = (f" ({CEILING} {SMOKE_CEILING_S} s: a check that it runs, a rough figure)"
                 if args.smoke and CEILING in conns else "")
        L.append(f"Each cell: {args.duration} s of wrk (2 threads, keep-alive) per run{short}, "
                 f"{rounds}, runs interleaved ({', '.join(conns)}; each cell and round starts "
                 "with the next one); figures "
                 "are medians over the rounds, ratios are the median [min–max] of the "
                 "per-round ratios; ▲ ours ahead, ▼ ours behind, = within 3 %" +
                 ("; ours/ceiling is the fraction of the limit (no mark)" if CEILING in conns
                  and "ours" in conns else "") +
                 ". wrk, httpd and the backends share the same cores.")
    elif matrix:
        L.append(f"Each cell: {args.duration} s of wrk (2 threads, keep-alive), {rounds}, "
                 f"{conns[0]} only.")
    if not args.smoke and matrix == DEFAULT_MATRIX:
        L.append("Matrix: a subset of 5 scenarios × c ∈ {1, 32, 128} to keep the run short: "
                 "every scenario at c=32, the two small-response scenarios also at c=1 and "
                 "c=128 (`--matrix full` runs all 15 cells).")
    if matrix:
        L.append("")
        L.append("Scenarios: " + "; ".join(f"`{k}` {SCENARIOS[k][4]}"
                                            for k in dict.fromkeys(s for s, _ in matrix)) + ".")
    L.append("")
    cs = ceiling_summary(res, matrix, conns)
    if cs:
        L.append("### Against the ceiling")
        L.append("")
        L.append("The ceiling is the same httpd (same MPM settings and modules, no connector) "
                 "serving each scenario's URL from a static file that holds the bytes the "
                 "backend answered through a connector (same length and content type; for "
                 "tc-session one answer of the same size); no backend works for it. No "
                 "connector in this httpd can pass it: the gap is what going to a backend "
                 "costs, the connector's work in httpd and the backend's on the same cores. "
                 "Requests/s as a fraction of the ceiling's, median [min–max] of the per-round "
                 "ratios:")
        L.append("")
        L += cs[1]
        L.append("")
        L.append(cs[0])
        L.append("")
    if matrix:
        matrix_tables(L, res, matrix, conns)
    # --- members
    if members:
        mres, midle, mconns = members
        members_table(L, mres, midle, mconns, args.repeats, args.duration)
    # --- failover
    if fo:
        L.append("### Failover")
        L.append("")
        L.append(f"Balancer over two ajp-test-server members, wrk c=32; after 2 s one member "
                 f"gets SIGKILL, 4 s later it is restarted on the same port (4 s > jk's "
                 f"error_escalation_time = recover_time/2). Same recovery setting for all: jk "
                 f"`recover_time={FAILOVER_RECOVER_S}` + `worker.maintain=5`, proxy "
                 f"`retry={FAILOVER_RECOVER_S}`. Latency: p99 / max over the whole run.")
        L.append("")
        L.append("| connector | requests | failed (non-2xx + socket errors) | "
                 "p99 / max latency (ms) | restarted member takes traffic after |")
        L.append("|---|---|---|---|---|")
        for k in conns:
            r = fo.get(k)
            if k == CEILING:
                L.append(f"| {LABEL[k]} | – | does not apply: no connector, no backend to fail "
                         "| – | – |")
            if not r:
                continue
            rec = (f"{r['recovered_s']:.1f} s" if r["recovered_s"] is not None
                   else "not within 20 s")
            L.append(f"| {LABEL[k]} | {fmt_num(r['requests'])} | {r['errors']} "
                     f"(status {r['status']}, connect {r['connect']}, read {r['read']}, "
                     f"write {r['write']}, timeout {r['timeout']}) | "
                     f"{r['p99_us'] / 1000:.1f} / {r['max_us'] / 1000:.1f} | {rec} |")
        L.append("")
    # --- graceful restarts
    gconns = [k for k in conns if any(k in rr for rr in gr or [])]
    if gr:
        graceful_table(L, gr, gconns, len(gr), args.graceful_duration, CEILING in conns)
    # --- stop and restart
    if sr:
        restarts_table(L, sr, [k for k in conns if any(k in rr for rr in sr)])
    # --- where the time goes
    if prof and any(prof.values()):
        L.append("### Where the time goes")
        L.append("")
        L.append(f"perf (`--perf`): samples of the httpd children under fast-small c={PERF_CONC}, "
                 "by where the CPU was (kernel, the connector's own code, the rest of user space "
                 "in httpd, APR and libc), system calls per request (futex among them: waits "
                 "and wake-ups of contended locks) and, where the CPU samples memory loads, "
                 "sampled loads per thousand requests that found a cache line modified by "
                 "another core (perf c2c HITM; the lines and functions in "
                 "`perf-*-c2c.txt`). callgrind "
                 "(`--callgrind`): user-space instructions per request of `apache2 -X` "
                 "serving fast-small over one keep-alive connection (exact and reproducible; "
                 f"top functions in `{'target/bench'}/callgrind-*.txt`).")
        L.append("")
        L.append("| connector | kernel | connector's code | other user space | system calls / req "
                 "| futex / req | HITM loads / 1k req | user instructions / req |")
        L.append("|---|---|---|---|---|---|---|---|")
        for k in [k for k in conns if prof.get(k)]:
            p = prof.get(k, {})
            pct = lambda key: (f"{p[key]:.1f} %" if key in p else "–") if (
                k != CEILING or key != "module_pct") else "none"
            other = (f"{100 - p['kernel_pct'] - p['module_pct']:.1f} %"
                     if "kernel_pct" in p and "module_pct" in p else "–")
            sc = f"{p['syscalls_per_req']:.1f}" if "syscalls_per_req" in p else "–"
            ir = fmt_num(p["instr_per_req"]) if "instr_per_req" in p else "–"
            fx = f"{p['futex_per_req']:.2f}" if "futex_per_req" in p else "–"
            hitm = f"{p['hitm_per_kreq']:.1f}" if "hitm_per_kreq" in p else "–"
            L.append(f"| {LABEL[k]} | {pct('kernel_pct')} | {pct('module_pct')} | {other} | "
                     f"{sc} | {fx} | {hitm} | {ir} |")
        L.append("")
        o, j = prof.get("ours", {}), prof.get("mod_jk", {})
        if args.scale and "module_pct" in o and "module_pct" in j:
            # many cores: the question is waiting and sharing, not the code's own share
            text = (f"Reading: our own code takes {o['module_pct']:.1f} % of the httpd children's "
                    f"CPU, mod_jk's {j['module_pct']:.1f} %.")
            if "futex_per_req" in o and "futex_per_req" in j:
                text += (f" futex calls per request (lock waits and wake-ups): ours "
                         f"{o['futex_per_req']:.2f}, mod_jk {j['futex_per_req']:.2f}.")
            if "hitm_per_kreq" in o and "hitm_per_kreq" in j:
                text += (f" Sampled loads of lines another core had modified, per 1000 "
                         f"requests: ours {o['hitm_per_kreq']:.1f}, mod_jk "
                         f"{j['hitm_per_kreq']:.1f} (which lines: `perf-*-c2c.txt`).")
            L.append(text)
            L.append("")
        elif "module_pct" in o and "kernel_pct" in o:
            bound = 1 / (1 - o["module_pct"] / 100)
            text = (f"Reading: the kernel (TCP over loopback, waking httpd's worker threads) takes "
                    f"{o['kernel_pct']:.0f} % of the httpd children's CPU with our module")
            if "kernel_pct" in j:
                text += f" and {j['kernel_pct']:.0f} % with mod_jk"
            text += (f"; our own code takes {o['module_pct']:.1f} %. Even if it cost nothing, httpd's "
                     f"CPU per request would fall by at most that much (≤ {bound:.2f}× throughput "
                     "where httpd is the bottleneck), so a 1.25× lead over mod_jk cannot come from "
                     "the connector's code: what both connectors spend is mostly the same kernel "
                     "and httpd work.")
            if "instr_per_req" in o and "instr_per_req" in j:
                text += (f" In user space ours executes {o['instr_per_req'] / j['instr_per_req']:.2f}× "
                         "mod_jk's instructions per request.")
            L.append(text)
            L.append("")
        c = prof.get(CEILING, {})
        if "instr_per_req" in o and "instr_per_req" in c:
            L.append(f"The ceiling's httpd, serving fast-small's answer from a file itself, executes "
                     f"{fmt_num(c['instr_per_req'])} user instructions per request; ours "
                     f"{o['instr_per_req'] / c['instr_per_req']:.2f}× that"
                     + (f", mod_jk {j['instr_per_req'] / c['instr_per_req']:.2f}×"
                        if "instr_per_req" in j else "")
                     + (f", mod_proxy_ajp {prof['proxy']['instr_per_req'] / c['instr_per_req']:.2f}×"
                        if "instr_per_req" in prof.get("proxy", {}) else "") + ".")
            L.append("")
    # --- targets
    if not args.smoke:  # every target compares ours with a peer or with itself
        T = []
        for s in ("tc-static", "tc-session", "fast-small"):
            if (s, 32) not in res:
                continue
            for other, goal in (("mod_jk", 1.25), ("proxy", 1.10)):
                rs = ratios(res, s, 32, "rps", other)
                if rs:
                    mm = statistics.median(rs)
                    ok = "✅ met" if mm >= goal else "❌ missed"
                    T.append(f"| {s} c=32 req/s ours ≥ {goal:.2f}× {other} | {ok} ({mm:.2f}×) |")
            rs = ratios(res, s, 32, "p99_us", "mod_jk")
            if rs:
                mm = statistics.median(rs)
                T.append(f"| {s} c=32 p99 ours ≤ mod_jk | {'✅ met' if mm <= 1.0 else '❌ missed'} "
                         f"({mm:.2f}×) |")
        worst = []
        for s, c in matrix:
            rs = ratios(res, s, c, "rss_max_kb", "mod_jk")
            if rs:
                worst.append((statistics.median(rs), s, c))
        if worst:
            w = max(worst)
            T.append(f"| RSS per child ours ≤ mod_jk (all cells) | "
                     f"{'✅ met' if w[0] <= 1.0 else '❌ missed'} (worst {w[0]:.2f}× at {w[1]} c={w[2]}) |")
        if gr and "ours" in gconns and "mod_jk" in gconns:
            # read errors (keep-alive connections the old children close) vary from run to
            # run for every connector: not part of the target
            fail = {k: sum(rr[k][e] for rr in gr if k in rr for e in ("status", "connect",
                                                                        "write", "timeout"))
                    for k in ("ours", "mod_jk")}
            T.append(f"| graceful under load: non-2xx/3xx + connect/write/timeout errors ours ≤ "
                     f"mod_jk | {'✅ met' if fail['ours'] <= fail['mod_jk'] else '❌ missed'} "
                     f"({fail['ours']} vs {fail['mod_jk']}) |")
            rs = [rr["ours"]["p99_us"] / rr["mod_jk"]["p99_us"] for rr in gr
                  if "ours" in rr and "mod_jk" in rr and rr["mod_jk"]["p99_us"]]
            if rs:
                mm = statistics.median(rs)
                T.append(f"| graceful under load: p99 ours ≤ 1.25× mod_jk | "
                         f"{'✅ met' if mm <= 1.25 else '❌ missed'} ({mm:.2f}×) |")
            # the stall only grows once an old child takes about a second to exit (httpd's
            # maintenance tick), so the exit time itself is the early warning
            o, j = (med([rr[k]["old_gone_max_s"] for rr in gr if k in rr])
                    for k in ("ours", "mod_jk"))
            if o is not None and j is not None:
                T.append(f"| graceful under load: old children gone ours ≤ mod_jk + "
                         f"{GRACEFUL_EXIT_SLACK_S} s | "
                         f"{'✅ met' if o <= j + GRACEFUL_EXIT_SLACK_S else '❌ missed'} "
                         f"({o:.3f} s vs {j:.3f} s) |")
        if sr and all("ours" in rr and "mod_jk" in rr for rr in sr):
            worst = None
            for name, key in RESTART_ROWS:
                o = [rr["ours"][key] for rr in sr if rr["ours"].get(key) is not None]
                j = [rr["mod_jk"][key] for rr in sr if rr["mod_jk"].get(key) is not None]
                if o and j and med(j) > 0:
                    ratio = med(o) / med(j)
                    if worst is None or ratio > worst[0]:
                        worst = (ratio, name, med(o), med(j))
            if worst:
                T.append(f"| stop and restart: every figure ours ≤ {RESTARTS_GOAL:g}× mod_jk | "
                         f"{'✅ met' if worst[0] <= RESTARTS_GOAL else '❌ missed'} (worst "
                         f"{worst[0]:.2f}×: {worst[1]}, {worst[2]:.3f} s vs {worst[3]:.3f} s) |")
        if members and "ours" in members[2]:
            lo, hi = min(MEMBER_COUNTS), max(MEMBER_COUNTS)
            rs = members_cost_ratios(members[0], "ours")
            ri = members_cost_ratios(members[0], "ours", "instr_per_req")
            if ri:
                mi = statistics.median(ri)
                cpu = f"; CPU time {statistics.median(rs):.2f}×" if rs else ""
                T.append(f"| per-request cost ours {hi} vs {lo} members ≤ "
                         f"{MEMBERS_COST_GOAL:.2f}× (user instructions) | "
                         f"{'✅ met' if mi <= MEMBERS_COST_GOAL else '❌ missed'} "
                         f"({mi:.3f}×{cpu}) |")
            elif rs:
                mm = statistics.median(rs)
                T.append(f"| per-request CPU ours {hi} vs {lo} members ≤ {MEMBERS_COST_GOAL:.2f}× | "
                         f"{'✅ met' if mm <= MEMBERS_COST_GOAL else '❌ missed'} ({mm:.2f}×) |")
        if T:
            L += ["### Targets", "", "| target | result |", "|---|---|"] + T + [""]
    return "\n".join(L)


def update_readme(table, statement=None, minutes=None, path=REPO / "README.md"):
    """README.md's '## Benchmark' section: what `make bench` does, the statement against the
    ceiling (from ceiling_summary) and the report."""
    text = path.read_text()
    took = f"{minutes:.1f} min on 2 cores for the run below" if minutes else "minutes"
    section = ("## Benchmark\n\n"
               f"`make bench` ({took}; needs apache2, libapache2-mod-jk, "
               "tomcat10, wrk and python3, and valgrind and linux-perf for the profiles; `make bench` "
               "installs what is missing) compares our module with Debian's mod_jk 1.2.48 and "
               "mod_proxy_ajp + mod_proxy_balancer in the same httpd (throughput, latency, CPU, "
               "memory, cost as an lb grows from 2 to 64 members, failover, graceful restarts "
               "under load, stop and restart times), and measures all three against "
               "the limit: the ceiling, the same httpd serving the same bytes from static files "
               "itself, with no connector and no backend. It writes the report "
               "below to `target/bench/results.md` (raw data next to it). "
               "`make bench-smoke` is a 5-second run of one scenario with our module "
               f"(and {SMOKE_CEILING_S} s of the ceiling). Latest `make bench`:\n\n" +
               (f"**{statement}**\n\n" if statement else "") + table.strip() + "\n")
    m = re.search(r"^## Benchmark\n.*?(?=^## |\Z)", text, re.M | re.S)
    if m:
        text = text[:m.start()] + section + ("\n" if m.end() < len(text) else "") + text[m.end():]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", action="store_true",
                    help="the many-core comparison (make bench-bundle): one child per CPU × "
                         f"{SCALE_THREADS} threads (more where that is less than a thread per "
                         "connection), wrk with a thread per two CPUs, fast-small "
                         f"at c={','.join(map(str, SCALE_CONNS))}, 3 rounds of 8 s "
                         "(--duration, --repeats change them), no other test")
    ap.add_argument("--time-limit", type=int, default=0,
                    help="stop everything and exit after this many seconds (0: no limit)")
    ap.add_argument("--smoke", action="store_true",
                    help=f"fast-small c=32: 5 s of our module, {SMOKE_CEILING_S} s of the ceiling")
    ap.add_argument("--duration", type=int, default=3, help="seconds per run (default 3)")
    ap.add_argument("--repeats", type=int, default=3, help="rounds (default 3)")
    ap.add_argument("--matrix", choices=["default", "full"], default="default")
    ap.add_argument("--only", help="comma-separated scenario list (overrides --matrix); may "
                    "name the extra tests failover, graceful and members: then only the extra "
                    "tests named run (--only graceful: the graceful test alone)")
    ap.add_argument("--conc", help="comma-separated concurrencies for --only (default 32)")
    ap.add_argument("--connectors", default=",".join(CONNECTORS),
                    help=f"among {','.join(CONNECTORS)} (default: all); {CEILING} needs one of "
                         "the others (it serves what a connector got from the backend)")
    ap.add_argument("--no-failover", action="store_true")
    ap.add_argument("--no-graceful", action="store_true",
                    help="skip the graceful-restart-under-load test")
    ap.add_argument("--no-members", action="store_true",
                    help="skip the members family (one lb of 2, 16, 64 members)")
    ap.add_argument("--no-restarts", action="store_true",
                    help="skip the stop and restart times (SIGHUP, SIGUSR1, SIGTERM, SIGWINCH)")
    ap.add_argument("--restarts-connectors", default="ours,mod_jk",
                    help="connectors of the stop and restart times, among --connectors "
                         "(default ours,mod_jk)")
    ap.add_argument("--members-connectors", default="ours,mod_jk",
                    help="connectors of the members family, among --connectors (default "
                         "ours,mod_jk; ours,mod_jk,proxy adds mod_proxy_ajp, ~30 s more)")
    ap.add_argument("--graceful-duration", type=int, default=20,
                    help="seconds of wrk per graceful run, restarts at 20/45/70 %% (default 20)")
    ap.add_argument("--graceful-repeats", type=int, default=3,
                    help="rounds of the graceful test (default 3)")
    ap.add_argument("--graceful-connectors", default="ours,mod_jk",
                    help="connectors of the graceful test, among --connectors (default "
                         "ours,mod_jk; ours,mod_jk,proxy adds mod_proxy_ajp, ~1 min more)")
    ap.add_argument("--out", help="output directory (default target/bench or target/bench-smoke)")
    ap.add_argument("--update-readme", action="store_true",
                    help="replace README.md's '## Benchmark' section with the report")
    ap.add_argument("--readme", default=str(REPO / "README.md"),
                    help="the file --update-readme rewrites (default README.md; a copy to see "
                         "the section without touching it)")
    ap.add_argument("--no-perf", action="store_true",
                    help="no --perf profiles (the bench bundle's run.sh asks for them)")
    ap.add_argument("--perf", action="store_true",
                    help="after the runs, perf-record the httpd children of each connector "
                         "under fast-small c=32 (with --scale: at the middle concurrency, 256, "
                         "and only ours and mod_jk): "
                         "CPU samples with call graphs, system calls per request (perf stat on "
                         "the kernel's tracepoints) "
                         "and, where the CPU has memory-load sampling, the cache lines loaded "
                         "while another core held them modified (perf c2c); the table is "
                         "written before the profiles start")
    ap.add_argument("--callgrind", action="store_true",
                    help="after the runs, count the user-space instructions per request of each "
                         "connector's httpd (apache2 -X under valgrind's callgrind, fast-small, "
                         "one keep-alive connection) and write the top functions")
    ap.add_argument("--callgrind-server-limit", type=int, metavar="N",
                    help="ServerLimit of the --callgrind runs (default: the MPM's: 2, or a "
                         "child per CPU with --scale): the "
                         "shared memory has a line per possible child, so this shows what "
                         "a larger child table costs per request (prefork's default is 256)")
    args = ap.parse_args()
    if args.no_perf:
        args.perf = False

    global MPM, CHILDREN, WRK_THREADS, CALLGRIND_SERVER_LIMIT, PERF_CONC, RESULTS
    CALLGRIND_SERVER_LIMIT = args.callgrind_server_limit
    if args.scale:
        cpus = os.cpu_count() or 2
        CHILDREN, WRK_THREADS = max(2, cpus), max(2, cpus // 2)
        args.only = args.only or "fast-small"
        args.conc = args.conc or ",".join(map(str, SCALE_CONNS))
        MPM = scale_mpm(CHILDREN, max(int(c) for c in args.conc.split(",")))
        cs = sorted(int(c) for c in args.conc.split(","))
        PERF_CONC = cs[len(cs) // 2]  # 256 of 64, 256, 1024
        if "--duration" not in sys.argv:
            args.duration = 8
        args.no_failover = args.no_graceful = args.no_members = args.no_restarts = True
        log(f"--scale: {cpus} CPUs: {CHILDREN} children × {mpm_threads()} threads per httpd, "
            f"wrk -t{WRK_THREADS}")
    if args.smoke:
        conns, matrix = ["ours", CEILING], [("fast-small", 32)]
        args.duration, args.repeats, args.no_failover, args.no_graceful = 5, 1, True, True
        args.no_members = args.no_restarts = True
    else:
        conns = [c.strip() for c in args.connectors.split(",") if c.strip()]
        if args.only:
            cs = [int(x) for x in (args.conc or "32").split(",")]
            names = [x.strip() for x in args.only.split(",") if x.strip()]
            extras = [x for x in names if x in EXTRA_TESTS]
            if extras:
                args.no_failover = args.no_failover or "failover" not in extras
                args.no_graceful = args.no_graceful or "graceful" not in extras
                args.no_members = args.no_members or "members" not in extras
                args.no_restarts = args.no_restarts or "restarts" not in extras
            matrix = [(s, c) for c in cs for s in names if s not in EXTRA_TESTS]
        else:
            matrix = FULL_MATRIX if args.matrix == "full" else DEFAULT_MATRIX
    for s, _ in matrix:
        if s not in SCENARIOS:
            sys.exit(f"unknown scenario {s}; known: {', '.join(SCENARIOS)}")
    for k in conns:
        if k not in CONNECTORS:
            sys.exit(f"unknown connector {k}; known: {', '.join(CONNECTORS)}")
    if not matrix:  # only failover/graceful/members: nothing for the ceiling to serve
        conns = [k for k in conns if k != CEILING]
    # the connector whose answers the ceiling serves, and that warms Tomcat up
    ref = next((k for k in conns if k != CEILING), None)
    if ref is None:
        sys.exit(f"{CEILING} serves what a connector got from the backend: name a connector too")
    out = Path(args.out) if args.out else REPO / ("target/bench-smoke" if args.smoke else "target/bench")
    shutil.rmtree(out / "raw", ignore_errors=True)
    shutil.rmtree(out / "run", ignore_errors=True)
    for f in out.glob("perf-*"):
        f.unlink()
    (out / "raw").mkdir(parents=True)
    (out / "run").mkdir(parents=True)
    (out / "run").chmod(0o755)

    needs_tc = any(SCENARIOS[s][0] == "tc" for s, _ in matrix)
    for need, hint in ((OURS_SO, "make release"),
                       (AJP_SERVER, "cargo build --release -p jk-ajp-testserver --bins"),
                       (Path(APACHE2), "apt-get install apache2")):
        if not need.exists():
            sys.exit(f"{need} missing: {hint}")
    if "mod_jk" in conns and not DEBIAN_SO.exists():
        sys.exit(f"{DEBIAN_SO} missing: apt-get install libapache2-mod-jk")
    if not shutil.which(WRK):
        sys.exit("wrk missing: apt-get install wrk")

    t0 = time.monotonic()
    n_runs = len(matrix) * len(conns) * args.repeats
    # the ceiling has no connector to restart: never in the graceful test
    gconns = [k for k in conns if k in args.graceful_connectors.split(",") and k != CEILING]
    n_gr = 0 if args.no_graceful else len(gconns) * args.graceful_repeats
    # the ceiling has no lb: never in the members family
    mconns = [] if args.no_members else [
        k for k in conns if k in args.members_connectors.split(",") and k != CEILING]
    n_members = len(mconns) * len(MEMBER_COUNTS) * args.repeats
    rconns = [] if args.no_restarts else [
        k for k in conns if k in args.restarts_connectors.split(",") and k != CEILING]
    # the scenario matrix's httpds serve the matrix, the failover and the graceful test
    need_main = bool(matrix) or not args.no_failover or not args.no_graceful

    def secs_of(k):
        return SMOKE_CEILING_S if args.smoke and k == CEILING else args.duration
    est = (sum(secs_of(k) + 0.6 for k in conns) * len(matrix) * args.repeats +
           n_members * (args.duration + 0.6) + n_gr * (args.graceful_duration + 1.5))
    log(f"{n_runs} runs of {args.duration} s ({len(matrix)} cells × {len(conns)} connectors × "
        f"{args.repeats} rounds), {n_members} members runs of {args.duration} s and {n_gr} "
        f"graceful runs of {args.graceful_duration} s, "
        f"estimated {est / 60:.1f} min + startup/warm-up/failover")

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    if args.time_limit:
        signal.signal(signal.SIGALRM, on_signal)
        signal.alarm(args.time_limit)
    try:
        # backends
        pairs = {lb for s, _ in matrix for lb in [SCENARIOS[s][0]]}
        if not args.no_failover:
            pairs.add("fo")
        if not args.no_graceful:
            pairs.add("fast")
        members, servers, tomcats = {}, {}, []
        if "tc" in pairs:
            for i in (1, 2):
                t = CLEANUP.add(Tomcat(f"tc{i}", free_port(), out / f"run/tomcat{i}"))
                t.start()
                tomcats.append(t)
            members["tc"] = [t.port for t in tomcats]
        for lb in ("fast", "big", "echo", "fo"):
            if lb in pairs:
                servers[lb] = [CLEANUP.add(AjpServer(f"{lb}{i}", AJP_PAIRS[lb], free_port(), out / "raw")).start()
                               for i in (1, 2)]
                members[lb] = [s.port for s in servers[lb]]
        members = {lb: members[lb] for lb in MOUNTS if lb in members}
        httpds = {}
        for k in conns if need_main else []:
            if k != CEILING:  # the ceiling starts once the connectors have answered
                httpds[k] = CLEANUP.add(Httpd(k, out / f"run/httpd-{k}", members)).start()
                shutil.copy(httpds[k].conf, out / f"raw/httpd-{k}.conf")
        if need_main:
            shutil.copy(out / f"run/httpd-{ref}/workers.properties",
                        out / "raw/workers.properties")
        if tomcats:
            log("waiting for Tomcat …")
            for t in tomcats:
                t.wait_ready()
        log(f"backends up after {time.monotonic() - t0:.0f} s; checking every connector")

        # correctness check of every scenario through every connector; session cookie
        cookie = ""
        answers = {}  # URL path -> (body, content type) through the reference connector
        for s in dict.fromkeys(s for s, _ in matrix):
            lb, path, post, sticky, _ = SCENARIOS[s]
            for k in conns:
                if k == CEILING:
                    continue
                st, body, headers = check_http(httpds[k].port, path, post, cookie if sticky else "")
                want = {"fast-1mb": 1048576, "fast-post64k": post}.get(s)
                if st != 200 or (want and len(body) != want):
                    raise RuntimeError(f"{k} {s}: status {st}, {len(body)} bytes")
                if sticky and not cookie:
                    m = re.search(r"JSESSIONID=([^;]+)", headers.get("Set-Cookie", ""))
                    if not m:
                        raise RuntimeError(f"{s}: no session cookie from {k}")
                    cookie = f"JSESSIONID={m.group(1)}"
                if k == ref:
                    answers[path] = (body, headers.get("Content-Type"))
        if cookie:
            log(f"session cookie for tc-session: {cookie}")
        if CEILING in conns:
            httpds[CEILING] = ceiling_start(out, matrix, answers, cookie)

        # warm-up (not recorded): JIT in Tomcat, connection pools, page cache
        log("warm-up")
        if tomcats and not args.smoke:
            # Tomcat's JIT first (shared by all connectors): 6 s per Tomcat scenario
            for s in dict.fromkeys(s for s, _ in matrix if SCENARIOS[s][0] == "tc"):
                _, path, post, sticky, _ = SCENARIOS[s]
                run_wrk(httpds[ref].port, path, 32, 6, post, cookie if sticky else "")
        # Each connector's pools are filled at the largest concurrency it will see (--scale:
        # c=1024), as in a gateway that has been serving: otherwise its first round there
        # opens hundreds of backend connections at once, more than a backend's listen queue
        # holds (ajp-test-server's and Tomcat's are ~100-128), and the connects that wait for a
        # SYN retransmission (1 s, then 3 s) decide that round's p99 for every connector.
        warm_conns = max(32, max((c for _, c in matrix), default=32)) if args.scale else 32
        for s in dict.fromkeys(s for s, _ in matrix):
            lb, path, post, sticky, _ = SCENARIOS[s]
            # The ceiling has no backend to warm (page cache only); none for it in --smoke.
            for k in conns:
                if args.smoke and k == CEILING:
                    continue
                tc_long = lb == "tc" and not args.smoke and k != CEILING
                run_wrk(httpds[k].port, path, warm_conns, 3 if args.scale else
                        (2 if tc_long else 1), post, cookie if sticky else "")
        if CEILING in conns:
            ceiling_refresh(out, httpds[CEILING], httpds[ref], matrix, cookie)

        # measured rounds
        res = {cell: [{} for _ in range(args.repeats)] for cell in matrix}
        done_runs = 0
        for rnd in range(args.repeats):
            for cell, (s, c) in enumerate(matrix):
                # Who goes first turns with each cell and round: measured head to head, two
                # builds of ours came out ~5 % apart in req/s and CPU per request whichever
                # ran second in the cell (2 cores, 2026-12-05), an order effect that the
                # interleaving alone left in every comparison with ours in front.
                turn = (rnd + cell) % len(conns)
                for k in conns[turn:] + conns[:turn]:
                    raw = out / f"raw/wrk-r{rnd + 1}-{s}-c{c}-{k}.txt"
                    r = measure(httpds[k], s, c, secs_of(k), cookie, raw)
                    res[(s, c)][rnd][k] = r
                    done_runs += 1
                    log(f"[{done_runs}/{n_runs}] round {rnd + 1} {s} c={c} {k}: "
                        f"{r['rps']:.0f} req/s p99 {r['p99_us'] / 1000:.2f} ms errors {r['errors']} "
                        f"cpu {r['cpu_us_per_req'] or 0:.1f} µs/req rss {r['rss_kb']}")

        # lb members: 2, 16, 64 (its own backends and httpds, stopped when done)
        members = None
        member_crashes = {}
        if mconns:
            log(f"members family: {', '.join(map(str, MEMBER_COUNTS))} members × "
                f"{', '.join(mconns)}")
            mres, midle, member_crashes = members_family(out, mconns, args.repeats,
                                                         args.duration, args.callgrind)
            members = (mres, midle, mconns)

        # stop and restart times (their own httpds and backends, stopped when done)
        sr = None
        if rconns:
            log(f"stop and restart: {', '.join(rconns)}")
            sr = stop_restart(out, rconns, args.repeats)

        # failover
        fo = {}
        if not args.no_failover:
            a, b = servers["fo"]
            for k in conns:
                if k == CEILING:  # no backend to fail over from
                    continue
                if b.proc.poll() is not None:
                    b.start()
                log(f"failover {k}")
                fo[k] = failover(httpds[k], a, b, raw_path=out / f"raw/wrk-failover-{k}.txt")
                log(f"failover {k}: {fo[k]['requests']} requests, {fo[k]['errors']} failed, "
                    f"recovered after {fo[k]['recovered_s']}")

        # graceful restarts under load
        gr = []
        if not args.no_graceful:
            for rnd in range(args.graceful_repeats):
                gr.append({})
                for k in gconns:
                    log(f"graceful round {rnd + 1} {k}")
                    r = graceful(httpds[k], args.graceful_duration,
                                 raw_path=out / f"raw/wrk-graceful-r{rnd + 1}-{k}.txt")
                    gr[-1][k] = r
                    secs = lambda key: ", ".join("–" if x[key] is None else f"{x[key]:.3f}"
                                                 for x in r["restarts"])
                    log(f"graceful round {rnd + 1} {k}: {r['requests']} requests, "
                        f"{r['errors']} failed (read {r['read']}, timeout {r['timeout']}), p99 "
                        f"{r['p99_us'] / 1000:.2f} ms, max {r['max_us'] / 1000:.1f} ms; old "
                        f"children gone after {secs('old_gone_s')} s, first new child after "
                        f"{secs('new_up_s')} s; children at the signals "
                        f"{', '.join(str(x['children']) for x in r['restarts'])}; "
                        f"{r['log_count']} log lines")

        # optional profiles (fast-small; the ceiling only where it has that file; with --scale
        # only ours and mod_jk, to stay within the bundle's time)
        prof = {}
        pconns = [k for k in conns if k in httpds and
                  (k != CEILING or SCENARIOS["fast-small"][1] in answers) and
                  (not args.scale or k in ("ours", "mod_jk"))]
        meta = {"date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
                "machine": machine(), "versions": versions()}
        if args.perf or args.callgrind:
            # The table first: profiles cut short by --time-limit must not take it with them.
            RESULTS = out / "results.md"
            RESULTS.write_text(report(args, res, matrix, conns, fo, meta, {}, gr, members, sr)
                               + "\n_Written before the profiles; they follow._\n")
            log(f"table written to {RESULTS}; profiles next")
        if args.perf and not shutil.which("perf"):
            log("perf missing (apt-get install linux-perf): no profiles")
        elif args.perf:
            # One kind of profile for every connector before the next kind, the cheapest
            # first, each skipped when too little of --time-limit is left for it, and the
            # table rewritten with what is there after each: a run cut short keeps the
            # profiles it finished. Many cores: fewer samples per second and shorter records
            # (the reports' time grows with CPUs × seconds × frequency).
            secs, freq = (3, 499) if args.scale else (4, 999)
            deadline = t0 + args.time_limit if args.time_limit else None
            for stage, need_s in (("record", 30), ("stat", 15), ("c2c", 45)):
                for k in pconns:
                    if deadline and deadline - time.monotonic() < need_s:
                        log(f"perf {stage} of {k} skipped: less than {need_s} s of "
                            f"--time-limit left")
                        continue
                    try:
                        PROFILE_STAGES[stage](httpds[k], out, k, secs, freq)
                    except Exception as e:  # a profile never costs the table
                        log(f"perf {stage} of {k} failed: {e!r}")
                    prof[k] = perf_summary(out, k)
                    RESULTS.write_text(
                        report(args, res, matrix, conns, fo, meta, prof, gr, members, sr)
                        + "\n_Written while the profiles run; more may follow._\n")
        if args.callgrind:
            for k in pconns:
                prof.setdefault(k, {}).update(callgrind_profile(httpds[k], out, k))

        crashes = {k: h.crashes() for k, h in httpds.items()}
        crashes.update(member_crashes)
        for k, h in httpds.items():
            (out / f"raw/error-{k}.log").write_text(h.error_log())
        text = report(args, res, matrix, conns, fo, meta, prof, gr, members, sr)
        if any(crashes.values()):
            text += f"\nhttpd child crashes in the error logs: {crashes}\n"
        elapsed = time.monotonic() - t0
        text += f"\n_Total bench time: {elapsed / 60:.1f} min._\n"
        (out / "results.md").write_text(text)
        (out / "results.json").write_text(json.dumps(
            {"meta": meta, "args": vars(args), "matrix": matrix, "failover": fo, "graceful": gr,
             "restarts": sr,
             "crashes": crashes, "profile": prof,
             "members": [{"members": n, "round": i + 1, "connector": k, **r}
                         for n, rounds in (members[0] if members else {}).items()
                         for i, rr in enumerate(rounds) for k, r in rr.items()],
             "members_idle_in_warmup": {f"{k} m{n}": names for (n, k), names in
                                        (members[1] if members else {}).items()},
             "runs": [{"scenario": s, "c": c, "round": i + 1, "connector": k, **r}
                      for (s, c), rounds in res.items() for i, rr in enumerate(rounds)
                      for k, r in rr.items()]}, indent=1))
        print(text)
        if args.update_readme:
            cs = ceiling_summary(res, matrix, conns)
            update_readme(text, cs and cs[0], elapsed / 60, Path(args.readme))
            log(f"{args.readme} '## Benchmark' updated")
        log(f"done in {elapsed:.0f} s; report in {out / 'results.md'}")
        if args.smoke:
            for k, r in res[matrix[0]][0].items():
                if r["requests"] == 0 or r["errors"] > 0 or any(crashes.values()):
                    log(f"smoke run FAILED ({k}): {r['requests']} requests, {r['errors']} "
                        f"errors, crashes {crashes}")
                    return 1
        return 0
    finally:
        CLEANUP.run()


# The system calls counted per request by --perf (perf stat on tracepoints): all of them, the
# waits and wake-ups of contended locks, the event loop's waits and yields of spinning locks.
SYSCALL_EVENTS = ("raw_syscalls:sys_enter", "syscalls:sys_enter_futex",
                  "syscalls:sys_enter_epoll_wait", "syscalls:sys_enter_sched_yield")


def profile_record(h, out, k, secs, freq):
    """perf record -g on the httpd children during a fast-small run at PERF_CONC, and its
    reports: by function (self, and with callees) and by shared object."""
    data = out / f"perf-{k}.data"
    r, _ = perf_window(["record", "-q", "-g", "-F", str(freq), "-p", children_of(h), "-o",
                        str(data)], out, f"{k}-record", fast_small_load(h, secs))
    if r.returncode != 0:
        # e.g. a container without perf_event_open, or perf_event_paranoid above 1 for a user
        log(f"perf record: no samples for {k} ({perf_why(r)})")
        return
    for mode, extra in (("self", ["--no-children"]), ("children", ["--children"])):
        rr = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--percent-limit",
                             "1", "-g", "none", *extra], capture_output=True, text=True)
        (out / f"perf-{k}-{mode}.txt").write_text(rr.stdout + rr.stderr)
    rr = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--sort", "dso", "-g",
                         "none"], capture_output=True, text=True)
    (out / f"perf-{k}-dso.txt").write_text(rr.stdout + rr.stderr)
    log(f"perf record of {k}: {out}/perf-{k}-{{self,children,dso}}.txt")


def profile_stat(h, out, k, secs, _freq):
    """System calls per request of the httpd children, counted on the kernel's tracepoints
    (perf trace would slow every call down)."""
    stat = out / f"perf-{k}-stat.txt"
    r, w = perf_window(["stat", "-x", ",", "-e", ",".join(SYSCALL_EVENTS), "-p",
                        children_of(h), "-o", str(stat)], out, f"{k}-stat",
                       fast_small_load(h, min(secs, 3)))
    counts = {}
    if r.returncode == 0 and stat.exists():
        for line in stat.read_text().splitlines():
            f = line.split(",")
            if len(f) > 2 and f[0].isdigit():  # not "<not counted>" nor "<not supported>"
                counts[f[2]] = int(f[0])
    if not (w and w["requests"] and counts.get(SYSCALL_EVENTS[0])):
        # e.g. no tracefs (a container, a chroot without /sys, a user other than root)
        log(f"perf stat: no system call counts for {k} ({perf_why(r)})")
        return
    lines = [f"{'total':14} {counts[SYSCALL_EVENTS[0]] / w['requests']:6.2f}"]
    lines += [f"{e.split('sys_enter_')[-1]:14} {counts.get(e, 0) / w['requests']:6.2f}"
              for e in SYSCALL_EVENTS[1:]]
    (out / f"perf-{k}-syscalls.txt").write_text(
        f"system calls per request of the httpd children ({k}, fast-small c={PERF_CONC}, "
        f"{w['requests']} requests)\n" + "\n".join(lines) + "\n")
    log(f"perf stat of {k}: {out}/perf-{k}-syscalls.txt")


def profile_c2c(h, out, k, secs, _freq):
    """perf c2c on the httpd children under load: how many sampled loads hit a cache line that
    another core held modified (HITM: the cost of lines written by several children or threads),
    and which lines and functions they were. Needs the CPU's load sampling (Intel PEBS, AMD IBS),
    which most virtual machines do not pass on: then the file says why there is none."""
    data, txt = out / f"perf-{k}-c2c.data", out / f"perf-{k}-c2c.txt"
    # 1000 samples/s per event and thread (perf's default is 4000): the report's time grows
    # with the samples, and a share of HITM loads needs no more
    r, w = perf_window(["c2c", "record", "-o", str(data), "-F", "1000", "-p", children_of(h)],
                       out, f"{k}-c2c", fast_small_load(h, min(secs, 2)))
    if r.returncode != 0 or w is None or not data.exists():
        why = perf_why(r)
        txt.write_text(f"perf c2c: no data for {k}: {why}\n")
        log(f"perf c2c: no data for {k} ({why})")
        return
    # --stdio begins with the "Trace Event Information" totals that c2c_summary reads
    full = subprocess.run(["perf", "c2c", "report", "-i", str(data), "--stdio", "-N",
                           "--full-symbols"], capture_output=True, text=True)
    txt.write_text(f"perf c2c of the httpd children ({k}, fast-small c={PERF_CONC}: "
                   f"{w['requests']} requests)\n\n" + full.stdout[:400_000]
                   + full.stderr[-2000:])
    log(f"perf c2c of {k}: {txt}")


PROFILE_STAGES = {"record": profile_record, "stat": profile_stat, "c2c": profile_c2c}


def children_of(h):
    """The httpd children's pids, as perf's -p takes them."""
    return ",".join(str(p) for p in h.children())


def fast_small_load(h, secs):
    """A wrk run of fast-small at PERF_CONC, to start once perf is attached."""
    return lambda: run_wrk(h.port, SCENARIOS["fast-small"][1], PERF_CONC, secs)


def perf_why(r):
    """The line of perf's standard error that says why it did not measure."""
    lines = [x.strip() for x in (r.stderr or "").splitlines()
             if x.strip() and not x.startswith(("Events ", "#"))]
    first = next((x for x in lines if re.search(r"error|fail|not |denied|permission|unknown",
                                                 x, re.I)), lines[0] if lines else "")
    return (first or f"exit status {r.returncode}")[:200]


def perf_window(args, out, tag, run, attach_s=60):
    """`perf <args>` on running processes with its events off until it is attached (`-D -1`
    and a control FIFO: perf answers "enable" once every event is open), then on while `run()`
    runs, then off and stopped. Returns (perf's CompletedProcess, run()'s result or None if
    perf never got attached)."""
    d = out / "run"
    d.mkdir(parents=True, exist_ok=True)
    ctl, ack = d / f"perf-{tag}.ctl", d / f"perf-{tag}.ack"
    for f in (ctl, ack):
        f.unlink(missing_ok=True)
        os.mkfifo(f)
    ack_fd = ctl_fd = p = None

    def command(word, timeout):
        """Sends a control word; True once perf acknowledged it (False if perf is gone)."""
        try:
            os.write(ctl_fd, word.encode() + b"\n")
        except OSError:  # perf exited after opening its FIFOs (e.g. perf_event_open refused)
            return False
        got, deadline = b"", time.monotonic() + timeout
        while b"ack" not in got and time.monotonic() < deadline and p.poll() is None:
            select.select([ack_fd], [], [], 0.1)
            try:
                got += os.read(ack_fd, 64)
            except BlockingIOError:
                pass
            if not got:
                time.sleep(0.05)  # no writer yet: the read end reports end of file
        return b"ack" in got

    result = None
    try:
        ack_fd = os.open(ack, os.O_RDONLY | os.O_NONBLOCK)
        p = subprocess.Popen(["perf", *args, "-D", "-1", "--control", f"fifo:{ctl},{ack}"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + attach_s
        while ctl_fd is None and time.monotonic() < deadline and p.poll() is None:
            try:
                ctl_fd = os.open(ctl, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: perf has not opened it yet
                time.sleep(0.05)
        if ctl_fd is not None and command("enable", max(1.0, deadline - time.monotonic())):
            result = run()
            command("disable", 10)
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
        try:
            o, e = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            o, e = p.communicate()
    finally:
        if p is not None and p.poll() is None:  # an exception on the way: perf goes too
            p.kill()
            p.wait()
        for fd in (ctl_fd, ack_fd):
            if fd is not None:
                os.close(fd)
        for f in (ctl, ack):
            f.unlink(missing_ok=True)
    rc = p.returncode
    if result is not None and rc in (-signal.SIGINT, 128 + signal.SIGINT):
        rc = 0  # perf record re-raises the SIGINT that ended it, once its file is written
    elif result is None and rc == 0:
        rc = 1  # stopped before it was attached
    return subprocess.CompletedProcess(p.args, rc, o, e), result


def c2c_summary(text):
    """Sampled HITM loads (local and remote) per thousand requests from profile_c2c's file."""
    m = re.search(r"c=\d+: (\d+) requests\)", text)
    # The first of each (the --stats part; the full report repeats them).
    hitm = [int(x.group(1)) for x in
            (re.search(rf"^\s*Load {where} HITM\s*:\s*(\d+)", text, re.M)
             for where in ("Local", "Remote")) if x]
    if not m or not hitm or int(m.group(1)) == 0:
        return {}
    return {"hitm_per_kreq": sum(hitm) * 1000 / int(m.group(1))}


# The connector's own shared objects, as perf names them (ours is mod_jk-rs.so in the bundle).
CONNECTOR_DSOS = {"ours": ("libmod_jk.so", "mod_jk-rs.so"), "mod_jk": ("mod_jk.so",),
                  "proxy": ("mod_proxy.so", "mod_proxy_ajp.so", "mod_proxy_balancer.so")}


def perf_summary(out, k):
    """What the profiles of connector `k` wrote, as the report's figures: kernel and connector
    shares (self samples), system calls and futex calls per request, HITM loads per 1000
    requests; each from its own file (one kind of profile may work where another does not)."""
    def read(name):
        try:
            return (out / f"perf-{k}-{name}.txt").read_text()
        except OSError:
            return ""
    res = {}
    shares = {m.group(2): float(m.group(1)) for m in
              re.finditer(r"^\s+[\d.]+%\s+([\d.]+)%\s+(\S+)", read("dso"), re.M)}
    if shares:
        res["kernel_pct"] = shares.get("[kernel.kallsyms]", 0.0)
        res["module_pct"] = sum(shares.get(d, 0.0) for d in CONNECTOR_DSOS.get(k, ()))
    syscalls = read("syscalls")
    for key, pat in (("syscalls_per_req", r"^total\s+([\d.]+)"),
                     ("futex_per_req", r"^futex\s+([\d.]+)")):
        m = re.search(pat, syscalls, re.M)
        if m:
            res[key] = float(m.group(1))
    res.update(c2c_summary(read("c2c")))
    return res


def callgrind_profile(h, out, k, secs=15, path=None):
    """User-space instructions per request of one httpd process (apache2 -X) under callgrind
    (on `path`; default: the fast-small scenario's)."""
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        log("valgrind missing (apt-get install valgrind): no instruction counts")
        return {}
    d = out / f"run/callgrind-{k}"
    shutil.rmtree(d, ignore_errors=True)
    (d / "logs").mkdir(parents=True)
    for p in (d, d / "logs"):
        p.chmod(0o777)
    port = free_port()
    conf = h.conf.read_text()
    conf = re.sub(r"^Listen .*$", f"Listen {HOST}:{port}", conf, flags=re.M)
    for key in ("PidFile", "ErrorLog"):
        conf = re.sub(rf'^{key} .*$', f'{key} "{d}/{"httpd.pid" if key == "PidFile" else "logs/error.log"}"',
                      conf, flags=re.M)
    conf = re.sub(r'^JkShmFile .*$', f'JkShmFile "{d}/logs/jk-shm"', conf, flags=re.M)
    conf = re.sub(r'^JkLogFile .*$', f'JkLogFile "{d}/logs/mod_jk.log"', conf, flags=re.M)
    conf = re.sub(r'^DefaultRuntimeDir .*$', f'DefaultRuntimeDir "{d}"', conf, flags=re.M)
    conf = re.sub(r'^Mutex .*$', f'Mutex file:{d} default', conf, flags=re.M)
    if CALLGRIND_SERVER_LIMIT:
        conf = re.sub(r"^ServerLimit \d+$", f"ServerLimit {CALLGRIND_SERVER_LIMIT}", conf,
                      flags=re.M)
    # One process that keeps its user: valgrind's control FIFOs belong to the starting user.
    conf = re.sub(r"^(User|Group) .*$", "", conf, flags=re.M)
    (d / "httpd.conf").write_text(conf)
    dump = d / "callgrind.out"
    with open(d / "valgrind.out", "wb") as f:
        proc = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={dump}",
                                 APACHE2, "-X", "-f", str(d / "httpd.conf")],
                                stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        path = path or SCENARIOS["fast-small"][1]
        wait_until(f"httpd -X under callgrind ({k})", 120, lambda: port_open(port), interval=0.5)
        for _ in range(20):
            check_http(port, path)
        subprocess.run(["callgrind_control", "-z", str(proc.pid)], capture_output=True, timeout=60)
        w = run_wrk(port, path, 1, secs)
        subprocess.run(["callgrind_control", "-d", str(proc.pid)], capture_output=True, timeout=60)
        time.sleep(1)
    finally:
        stop_pid(proc.pid)
        proc.wait(timeout=60)
    dumps = sorted(d.glob("callgrind.out.*"), key=lambda p: p.stat().st_mtime)
    if not dumps or not w["requests"]:
        log(f"callgrind ({k}): no dump or no requests")
        return {}
    text = dumps[-1].read_text(errors="replace")
    total = 0
    for line in text.splitlines():
        if line.startswith(("summary:", "totals:")):
            total = int(line.split()[1])
    calls = callgrind_calls(text, ALLOC_FNS)
    n = w["requests"]
    allocs = sum(calls.get(f, 0) for f in ALLOC_FNS if f != "free")
    r = subprocess.run(["callgrind_annotate", "--threshold=95", str(dumps[-1])],
                       capture_output=True, text=True)
    (out / f"callgrind-{k}.txt").write_text(
        f"callgrind, {k}: {n} requests over one keep-alive connection, "
        f"{total} instructions = {total / n:.0f} per request; "
        f"allocations (malloc, calloc, realloc, posix_memalign) {allocs / n:.2f} per request, "
        f"free {calls.get('free', 0) / n:.2f} per request ("
        + ", ".join(f"{f} {calls.get(f, 0)}" for f in ALLOC_FNS) + ")\n\n" + r.stdout)
    log(f"callgrind {k}: {total / n:.0f} user instructions, {allocs / n:.2f} allocations "
        "per request")
    return {"instr_per_req": total / n, "allocs_per_req": allocs / n}


# libc's allocator entry points, counted as calls in a callgrind dump (malloc calls per request).
ALLOC_FNS = ("malloc", "calloc", "realloc", "posix_memalign", "free")


def callgrind_calls(text, names):
    """Calls to the functions `names` in a callgrind dump, summed over their callers (the
    `calls=` lines under a `cfn=`; function names are compressed as `(id) name`, later `(id)`)."""
    ids, counts, target = {}, {}, None
    for line in text.splitlines():
        if line.startswith(("fn=", "cfn=")):
            m = re.match(r"c?fn=\((\d+)\)(?: (.*))?$", line)
            name = line.split("=", 1)[1]
            if m:
                if m.group(2) is not None:
                    ids[m.group(1)] = m.group(2)
                name = ids.get(m.group(1), "")
            target = name if line.startswith("cfn=") else None
        elif line.startswith("calls=") and target in names:
            counts[target] = counts.get(target, 0) + int(line.split("=", 1)[1].split()[0])
            target = None
    return counts


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as e:
        log(f"interrupted ({e}); stopped everything started")
        if RESULTS and RESULTS.exists():
            print(RESULTS.read_text())
            log(f"the table above was written before the profiles: {RESULTS}")
        sys.exit(130)
