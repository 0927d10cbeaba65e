#!/usr/bin/env python3
"""Simulated testers for the container tiers (scripts/image-test.sh), as tests/support/testers.rs
does for the host tests: each of N testers logs in once (session.jsp?login=NAME), then clicks
every 50 ms with its own cookie and checks that the page still knows who it is. Counts requests,
failed requests (any status but 200, or no answer within 30 s) and re-logins (the page no longer
knows the user: the session was lost), the longest time one click took, when each failure
and re-login happened (seconds from the start, the session's route), and how many logins
(first ones and re-logins) each route got.

    testers.py URL SECONDS [--testers 20] [--ramp S]    -> one JSON line on stdout

Runs until SECONDS passed or the file named by --stop-file exists. Only the standard library.
"""
import argparse
import http.client
import json
import os
import re
import threading
import time
import urllib.parse


def click(host, port, path, cookie):
    c = http.client.HTTPConnection(host, port, timeout=30)
    try:
        c.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        r = c.getresponse()
        body = r.read().decode(errors="replace")
        return r.status, body, r.getheader("Set-Cookie") or ""
    finally:
        c.close()


T0 = time.monotonic()


def tester(i, host, port, deadline, stop_file, out, delay=0.0):
    name = f"tester{i}"
    time.sleep(delay)
    res = {"requests": 0, "failed": 0, "relogins": 0, "longest_ms": 0, "events": [], "logins": {}}
    cookie = ""
    while time.monotonic() < deadline and not (stop_file and os.path.exists(stop_file)):
        path = "/app/session.jsp" + ("" if cookie else f"?login={name}")
        t = time.monotonic()
        why = ""
        try:
            status, body, set_cookie = click(host, port, path, cookie)
        except OSError as e:
            status, body, set_cookie = 0, "", ""
            why = f": {type(e).__name__} after {time.monotonic() - t:.1f} s"
        res["longest_ms"] = max(res["longest_ms"], int((time.monotonic() - t) * 1000))
        res["requests"] += 1
        route = cookie.rsplit(".", 1)[-1] if cookie else "-"
        if status != 200:
            res["failed"] += 1
            res["events"].append(f"failed at {t - T0:.1f} s ({route}, status {status}{why})")
        elif not cookie:
            m = re.search(r"JSESSIONID=([^;]+)", set_cookie)
            if m:
                cookie = f"JSESSIONID={m.group(1)}"
                login = cookie.rsplit(".", 1)[-1]
                res["logins"][login] = res["logins"].get(login, 0) + 1
        elif f"user={name} " not in body:
            res["relogins"] += 1
            res["events"].append(f"re-login at {t - T0:.1f} s ({route})")
            cookie = ""  # logs in again
        time.sleep(0.05)
    out[i] = res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("seconds", type=float)
    ap.add_argument("--testers", type=int, default=20)
    ap.add_argument("--stop-file")
    ap.add_argument("--ramp", type=float, default=0.0,
                    help="seconds over which the testers start (and log in), evenly")
    a = ap.parse_args()
    u = urllib.parse.urlsplit(a.url)
    deadline = time.monotonic() + a.seconds
    out = {}
    ts = [threading.Thread(target=tester, args=(i, u.hostname, u.port or 80, deadline,
                                                a.stop_file, out, a.ramp * i / a.testers))
          for i in range(a.testers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    total = {k: sum(r[k] for r in out.values()) for k in ("requests", "failed", "relogins")}
    total["longest_ms"] = max(r["longest_ms"] for r in out.values())
    total["testers"] = a.testers
    logins = {}
    for r in out.values():
        for route, n in r["logins"].items():
            logins[route] = logins.get(route, 0) + n
    total["logins_by_route"] = dict(sorted(logins.items()))
    total["events"] = sorted(e for r in out.values() for e in r["events"])[:40]
    print(json.dumps(total))


if __name__ == "__main__":
    main()
