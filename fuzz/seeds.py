#!/usr/bin/env python3
"""Writes the committed seed corpus (fuzz/corpus/<target>/seed-*): a handful of realistic
inputs per target. corpus/workers_properties/seed is the user's own file (a copy of
tests/fixtures/seed/workers.properties) and is not written here. Run from anywhere:
    python3 fuzz/seeds.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# --- AJP13 replies as Tomcat sends them (byte 0 of the input: 0 = max_packet_size 8192,
# 1 = 65536; then packets, each 41 42 <len> <payload>). Same packets as the tests in
# crates/jk-ajp/tests/robustness.rs and crates/jk-ajp-testserver/src/tests.rs.
def packet(payload):
    return b"AB" + struct.pack(">H", len(payload)) + payload


def s(v):
    return struct.pack(">H", len(v)) + v + b"\x00"


NULL = b"\xff\xff"


def send_headers(status, reason, headers):
    p = b"\x04" + struct.pack(">H", status) + (NULL if reason is None else s(reason))
    p += struct.pack(">H", len(headers))
    for name, value in headers:
        p += struct.pack(">H", name) if isinstance(name, int) else s(name)
        p += s(value)
    return packet(p)


def body(data):
    return packet(b"\x03" + struct.pack(">H", len(data)) + data + b"\x00")


def end(reuse):
    return packet(b"\x05" + bytes([reuse]))


def get_body(n):
    return packet(b"\x06" + struct.pack(">H", n))


CPONG = packet(b"\x09")
CONTENT_TYPE, CONTENT_LENGTH, SET_COOKIE = 0xA001, 0xA003, 0xA007

write("ajp_reply", "response", b"\x00" + send_headers(200, b"200", [
    (CONTENT_TYPE, b"text/html;charset=UTF-8"),
    (SET_COOKIE, b"JSESSIONID=ABC.m2; Path=/"),
    (b"X-Powered-By", b"Servlet"),
    (CONTENT_LENGTH, b"11"),
]) + body(b"hell") + body(b"o wo") + body(b"rld") + end(1))
write("ajp_reply", "post-body", b"\x00" + get_body(8186) + get_body(5)
      + send_headers(201, b"Created", [(b"Location", b"/app/items/7")]) + end(1))
write("ajp_reply", "cpong", b"\x00" + CPONG)
write("ajp_reply", "paused-503", b"\x00" + send_headers(503, None, []) + end(0))
write("ajp_reply", "404-flush", b"\x01" + send_headers(404, None, [(CONTENT_TYPE, b"text/plain")])
      + body(b"") + body(b"not found\n" * 20) + end(1))

# --- uriworkermap.properties (JkMountFile).
write("uriworkermap", "mounts", """\
# The seed configuration's JkMount lines as a mount file.
/jkmanager=jkstatus
/jkmanager/*=jkstatus
/app=loadbalancer
/app/*=loadbalancer
""")
write("uriworkermap", "prefixes", """\
/app/*=lb1 # trailing comment
!/app/static/*=lb1
-/old/*=lb1
-!/x=*
/ctx|/*=w2;reply_timeout=100
/ref=$(/ctx|/*)
/*.jsp=lb1
/a?c=lb1
garbage line
""")
write("uriworkermap", "extensions", """\
/shop/*=lb;sticky_ignore=1;stateless=0;active=t1;disabled=t2;stopped=t3
/sid/*=lb;session_path=;sid;session_cookie=SID;set_session_cookie=1;session_cookie_path=/sid
/err/*=lb;fail_on_status=500,-503 404;use_server_errors=400;bogus=1
/env/*=$(JK_WORKER)
""")

# --- status worker query strings (without the '?').
for name, q in [
    ("list", ""),
    ("show-xml", "cmd=show&w=lb&mime=xml"),
    ("update-activation", "cmd=update&w=lb&sw=t1&vwa=1"),
    ("edit-att", "cmd=edit&from=list&w=lb&sw=t1&att=vwa&val0=2&val1=0"),
    ("update-wildcard-json", "cmd=update&w=lb&sw=t*&vwd=1&vwf=5&mime=json"),
    ("update-lb", "cmd=update&w=lb&vlr=3&vlt=120&vls=0&vlm=B&vll=P"),
    ("update-ajp", "cmd=update&w=t1&vahst=app&vaprt=8010&vamps=16384&varo=3"),
    ("reset-recover", "cmd=recover&w=lb&sw=t1&opt=1&re=5&mime=prometheus"),
    ("escapes", "cmd=show&w=%3Cscript%3E&mime=html&vwn=a+b%20c&psw=%E9"),
    ("bad-escape", "mime=txt&cmd=dump&w=%zz"),
]:
    write("status_query", name, q)

# --- session route: byte 0 picks the names (0: ;jsessionid / JSESSIONID, 1: rule
# session_path=jsessionid, 2: rule ;sid / SID, 3: empty cookie name), then URI and Cookie lines.
write("session_route", "cookie", b"\x00/app/x\nJSESSIONID=abc.t1")
write("session_route", "path-param", b"\x00/app/x;jsessionid=abc.t2?q=1\nJSESSIONID=def.t1")
write("session_route", "several", b"\x00/app/\nx=1; JSESSIONID=\"old.zz\", JSESSIONID=new.t3\nJSESSIONID=dom.d2.t9")
write("session_route", "rule-names", b"\x02/shop/;sid=9F.t2/cart\nSID=1.t1; JSESSIONID=2.t3")
write("session_route", "empty", b"\x01/app/;jsessionid=;x\nJSESSIONID=")

# --- request URIs as httpd holds them (decoded; not necessarily UTF-8).
for name, uri in [
    ("dots", b"/app/./static/../WEB-INF/web.xml"),
    ("above-root", b"/app/../../etc/passwd"),
    ("pct-dot", b"/app/%2e%2e/%2E/x"),
    ("jsessionid", b"/app;jsessionid=ABC.t1/secret.jsp;x=1?q=a?b"),
    ("slashes", b"//app///x//"),
    ("latin1", b"/app/caf\xe9/\xff x#frag"),
    ("star", b"*"),
]:
    write("uri_normalise", name, uri)

# --- workers.properties beyond the user's seed.
write("workers_properties", "lb", """\
worker.list=lb,jkstatus
worker.maintain=60
worker.template.type=ajp13
worker.template.port=8009
worker.template.socket_keepalive=true
worker.t1.reference=worker.template
worker.t1.host=app1
worker.t1.route=t1
worker.t1.domain=d1
worker.t2.reference=worker.template
worker.t2.host=app2
worker.t2.activation=disabled
worker.t2.redirect=t1
worker.lb.type=lb
worker.lb.balance_workers=t1
worker.lb.balance_workers=t2
worker.lb.method=Busyness
worker.lb.sticky_session=1
worker.lb.session_cookie=SID
worker.lb.mount=/app|/* !/app/static/*
worker.jkstatus.type=status
worker.jkstatus.read_only=true
worker.jkstatus.user=admin,ops
""")
write("workers_properties", "substitution", """\
base=/opt/tomcat
workers.tomcat_home=$(base)
ps=/
worker.list=w1
worker.w1.host=$(HOST_NOT_SET)
worker.w1.port=8009
worker.w1.fail_on_status=500,-503
worker.w1.ping_mode=A
worker.w1.max_packet_size=65536
worker.w1.unknown_attr=1
""")


# --- libFuzzer dictionaries (fuzz/dict/<target>.dict, passed with -dict= by scripts/fuzz.sh):
# the keywords the parsers compare against, which the fuzzer cannot see being compared
# without a sanitizer's memcmp hooks.
def dict_file(target, tokens):
    d = os.path.join(HERE, "dict")
    os.makedirs(d, exist_ok=True)

    def esc(t):
        out = ""
        for b in t if isinstance(t, bytes) else t.encode():
            ch = chr(b)
            if ch in '\\"':
                out += "\\" + ch
            elif 0x20 <= b < 0x7F:
                out += ch
            else:
                out += "\\x%02X" % b
        return '"' + out + '"'

    seen = []
    for t in tokens:
        if t not in seen:
            seen.append(t)
    with open(os.path.join(d, target + ".dict"), "w") as f:
        f.write("# Written by fuzz/seeds.py.\n")
        for t in seen:
            f.write(esc(t) + "\n")


def attribute_names():
    import re
    src = open(os.path.join(HERE, "..", "crates", "jk-config", "src", "attributes.rs")).read()
    names = []
    for block in ("pub const CURRENT", "const DEPRECATED_NAMES"):
        start = src.index(block)
        body = src[start:src.index("];", start)]
        names += re.findall(r'"([a-z_0-9]+)"', body)
    return names


dict_file("workers_properties", ["worker.", "worker.list=", "=", "\n", "#", ",", "$(", ")", " "]
          + ["." + a + "=" for a in attribute_names()]
          + ["ajp13", "ajp14", "lb", "status", "jni", "Request", "Session", "Next", "Busyness",
             "R", "S", "N", "B", "Optimistic", "Pessimistic", "active", "disabled", "stopped",
             "A", "D", "true", "false", "ServerRoot", "workers.tomcat_home", "ps", "%", "-1",
             "65536", "8192", "2147483648"])
dict_file("uriworkermap", ["=", "\n", "#", "!", "-", "|", ";", "*", "?", "/", "$(", ")", "/*",
                           "reply_timeout=", "sticky_ignore=", "stateless=", "active=",
                           "disabled=", "stopped=", "fail_on_status=", "use_server_errors=",
                           "session_cookie=", "session_path=", "session_cookie_path=",
                           "set_session_cookie=", "JK_WORKER", "-1", "65536"])
dict_file("status_query", ["&", "=", "%", "+", "%3C", "%22", "%26", "%E9", "*", "?",
                           "cmd=", "mime=", "w=", "sw=", "att=", "val0=", "val1=", "from=",
                           "psw=", "opt=", "re=",
                           "list", "show", "edit", "update", "reset", "version", "recover",
                           "dump", "html", "xml", "txt", "prop", "json", "prometheus",
                           "lb", "t1", "t2", "jkstatus",
                           "vwa=", "vwf=", "vwn=", "vwr=", "vwc=", "vwd=", "vwm=", "vacpt=",
                           "vapng=", "vact=", "vapt=", "vart=", "var=", "vari=", "vacpi=",
                           "varo=", "vabl=", "vamps=", "vahst=", "vaprt=", "vlr=", "vlri=",
                           "vlt=", "vlee=", "vlx=", "vls=", "vlf=", "vlm=", "vll=",
                           "-1", "2147483648"])
dict_file("session_route", ["\n", ";", ",", ".", "=", "\"", "?", "/", " ",
                            "JSESSIONID=", ";jsessionid=", "jsessionid=", "SID=", ";sid=",
                            ".t1", ".t2", ".t3", ".d2", ".d2."])
dict_file("uri_normalise", ["/", "//", "/.", "/..", "/./", "/../", ";", ";jsessionid=",
                            "jsessionid", "?", "%", "%2e", "%2f", "\\", "*", b"\xe9", b"\xff"])
