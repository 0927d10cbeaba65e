//! `mime=json` (mod_jk-rs extension). Schema:
//!
//! ```text
//! { "server": {"name": str, "port": int},
//!   "time": {"datetime": str, "tz": str, "unix": int},            (list/show/version/dump)
//!   "software": {"web_server": str, "jk_version": str},           (list/show/version/dump)
//!   "balancers": [ { <balancer attributes of the XML>,
//!                    "members": [ { <member attributes of the XML>,
//!                                   "in_flight": int|null, "last_error": str|null,
//!                                   "restarting": bool|null, "draining": bool|null,
//!                                   "held": int|null,
//!                                   "origin": str, "lifecycle": str,       (when known)
//!                                   "latency": <latency> } ],              (when known)
//!                    "member_slots": int, "members_free": int,            (when known)
//!                    "registry": { "source": str, "state": str, "session_id": str,
//!                                  "holder_pid": int, "last_event_ms": int,
//!                                  "last_event_ago_ms": int, "lag_ms": int, "members": int,
//!                                  "world_writable": bool, "shrink_held": bool,
//!                                  "bad_records": bool },          (lb with discovery=zk://)
//!                    "latency": <latency>,        (the sum of the members', when known)
//!                    "maps": [ { "id": int, <map attributes of the XML> } ] } ],
//!   "ajp_workers": [ { <ajp attributes of the XML>, "state": str,
//!                      "in_flight": int|null, "last_error": str|null, "maps": [...] } ],
//!   "configuration": { key: str, ... },                            (dump)
//!   "write_token": str, "write_requires_token": bool,              (list/show/version/dump,
//!                                                      a status worker that is not read_only)
//!   "result": {"type": "OK"|"ERROR", "message": str} }
//! ```
//! <latency> = { "reply": <histogram>, "hold": <histogram>,
//!               "replies": {"1xx": int, "2xx": int, "3xx": int, "4xx": int, "5xx": int} }
//! <histogram> = { "le": [upper bounds, seconds], "buckets": [cumulative counts; one more
//!                 than "le", the last is every observation], "sum_seconds": num, "count": int }
//! Keys equal the XML attribute names; numbers and booleans are native JSON values.
//! `error_time_*` keys are present only when an error time is recorded. Objects that the
//! command or `opt` hides are absent.

use super::{
    ajp_attrs, lb_attrs, member_attrs, server_attrs, software_attrs, time_attrs, Attrs, Doc,
    Flavor, Header, V,
};
use crate::config::StatusConfig;
use crate::model::{HistogramView, LatencyView, MapView, StatusModel};
use crate::render::prom::seconds;

/// Appends `s` as a JSON string literal.
pub fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn push_value(out: &mut String, v: &V) {
    match v {
        V::S(t) | V::Q(t) => push_json_string(out, t),
        V::N(t) => out.push_str(t),
        V::B(b) => out.push_str(if *b { "true" } else { "false" }),
    }
}

/// A tiny JSON object writer.
struct Obj<'o> {
    out: &'o mut String,
    first: bool,
}

impl<'o> Obj<'o> {
    fn new(out: &'o mut String) -> Obj<'o> {
        out.push('{');
        Obj { out, first: true }
    }

    fn key(&mut self, k: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        push_json_string(self.out, k);
        self.out.push(':');
        self.out
    }

    fn attrs(&mut self, attrs: &Attrs) {
        for (k, v) in attrs {
            let o = self.key(k);
            push_value(o, v);
        }
    }

    fn opt_num(&mut self, k: &str, v: Option<u64>) {
        let o = self.key(k);
        match v {
            Some(v) => o.push_str(&v.to_string()),
            None => o.push_str("null"),
        }
    }

    fn opt_str(&mut self, k: &str, v: Option<&str>) {
        let o = self.key(k);
        match v {
            Some(v) => push_json_string(o, v),
            None => o.push_str("null"),
        }
    }

    fn opt_bool(&mut self, k: &str, v: Option<bool>) {
        let o = self.key(k);
        o.push_str(match v {
            Some(true) => "true",
            Some(false) => "false",
            None => "null",
        });
    }

    fn end(self) {
        self.out.push('}');
    }
}

/// `{"le": [bounds in seconds], "buckets": [cumulative counts, the last one all],
/// "sum_seconds": number, "count": int}`.
fn histogram(out: &mut String, h: &HistogramView) {
    let bounds: Vec<String> = h.bounds_us.iter().map(|&b| seconds(b)).collect();
    let buckets: Vec<String> = h.cumulative().iter().map(u64::to_string).collect();
    out.push_str(&format!(
        "{{\"le\":[{}],\"buckets\":[{}],\"sum_seconds\":{},\"count\":{}}}",
        bounds.join(","),
        buckets.join(","),
        seconds(h.sum_us),
        h.count()
    ));
}

/// `{"reply": histogram, "hold": histogram, "replies": {"1xx": int, ... "5xx": int}}`.
fn latency(out: &mut String, l: &LatencyView) {
    let mut o = Obj::new(out);
    histogram(o.key("reply"), &l.reply);
    histogram(o.key("hold"), &l.hold);
    let mut r = Obj::new(o.key("replies"));
    for (i, n) in l.replies.iter().enumerate() {
        r.key(&format!("{}xx", i + 1)).push_str(&n.to_string());
    }
    r.end();
    o.end();
}

fn obj_of(out: &mut String, attrs: &Attrs) {
    let mut o = Obj::new(out);
    o.attrs(attrs);
    o.end();
}

fn maps(out: &mut String, maps: &[MapView]) {
    out.push('[');
    for (i, m) in maps.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let mut o = Obj::new(out);
        o.attrs(&vec![
            ("id", V::N((i + 1).to_string())),
            ("server", V::S(m.server.clone())),
            ("uri", V::S(m.uri.clone())),
            ("type", V::S(m.map_type.clone())),
            ("source", V::S(m.source.clone())),
            ("reply_timeout", V::N(m.reply_timeout.to_string())),
            ("sticky_ignore", V::N(m.sticky_ignore.to_string())),
            ("stateless", V::N(m.stateless.to_string())),
            ("fail_on_status", V::S(m.fail_on_status.clone())),
            ("active", V::S(m.active.clone())),
            ("disabled", V::S(m.disabled.clone())),
            ("stopped", V::S(m.stopped.clone())),
            ("use_server_errors", V::N(m.use_server_errors.to_string())),
        ]);
        o.end();
    }
    out.push(']');
}

pub(crate) fn render(cfg: &StatusConfig, model: &StatusModel, doc: &Doc<'_>) -> String {
    let mut out = String::new();
    let mut root = Obj::new(&mut out);
    if doc.header != Header::None {
        obj_of(root.key("server"), &server_attrs(model));
    }
    if doc.header == Header::Full {
        obj_of(root.key("time"), &time_attrs(model));
        obj_of(root.key("software"), &software_attrs(model));
        // What a script needs to POST changes (jkctl does when a write is refused for lack
        // of it, or when writes require it): only for a status worker that can change
        // anything, and only to whoever passed its user check.
        if !cfg.read_only && !cfg.write_token.is_empty() {
            push_json_string(root.key("write_token"), &cfg.write_token);
            root.key("write_requires_token")
                .push_str(if cfg.write_requires_token {
                    "true"
                } else {
                    "false"
                });
        }
    }
    if let Some(lbs) = &doc.lbs {
        let o = root.key("balancers");
        o.push('[');
        for (i, p) in lbs.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            let mut lb = Obj::new(o);
            lb.attrs(&lb_attrs(cfg, p.lb));
            if let Some(slots) = p.lb.member_slots {
                lb.key("member_slots").push_str(&slots.to_string());
                let free = p.lb.members_free().unwrap_or(0);
                lb.key("members_free").push_str(&free.to_string());
            }
            if let Some(r) = &p.lb.registry {
                let mut ro = Obj::new(lb.key("registry"));
                push_json_string(ro.key("source"), &r.source);
                push_json_string(ro.key("state"), &r.state);
                push_json_string(ro.key("session_id"), &r.session_id);
                ro.opt_num("holder_pid", Some(u64::from(r.holder_pid)));
                ro.opt_num("last_event_ms", Some(r.last_event_ms));
                ro.opt_num("last_event_ago_ms", Some(r.last_event_ago_ms));
                ro.opt_num("lag_ms", Some(r.lag_ms));
                ro.opt_num("members", Some(r.members));
                ro.opt_bool("world_writable", Some(r.world_writable));
                ro.opt_bool("shrink_held", Some(r.shrink_held));
                ro.opt_bool("bad_records", Some(r.bad_records));
                ro.end();
            }
            if let Some(l) = &p.lb.latency {
                latency(lb.key("latency"), l);
            }
            let mo = lb.key("members");
            mo.push('[');
            for (j, m) in p.members.iter().enumerate() {
                if j > 0 {
                    mo.push(',');
                }
                let mut mobj = Obj::new(mo);
                mobj.attrs(&member_attrs(m, Flavor::Xml));
                mobj.opt_num("in_flight", m.in_flight);
                mobj.opt_str("last_error", m.last_error.as_deref());
                mobj.opt_bool("restarting", m.restarting);
                mobj.opt_bool("draining", m.draining);
                mobj.opt_bool("awaiting_readiness", m.awaiting_readiness);
                mobj.opt_num("last_sticky_time", m.last_sticky_time);
                mobj.opt_num("recent_sessions", m.recent_sessions);
                mobj.opt_num("held", m.held);
                if let Some(o) = &m.origin {
                    push_json_string(mobj.key("origin"), o);
                }
                if let Some(l) = &m.lifecycle {
                    push_json_string(mobj.key("lifecycle"), l);
                }
                if let Some(l) = &m.latency {
                    latency(mobj.key("latency"), l);
                }
                mobj.end();
            }
            mo.push(']');
            maps(lb.key("maps"), p.maps);
            lb.end();
        }
        o.push(']');
    }
    if let Some(ajps) = &doc.ajps {
        let o = root.key("ajp_workers");
        o.push('[');
        for (i, (w, m)) in ajps.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            let mut a = Obj::new(o);
            a.attrs(&ajp_attrs(w, Flavor::Xml));
            a.attrs(&vec![("state", V::S(w.state.text().into()))]);
            a.opt_num("in_flight", w.in_flight);
            a.opt_str("last_error", w.last_error.as_deref());
            maps(a.key("maps"), m);
            a.end();
        }
        o.push(']');
    }
    if let Some(dump) = doc.dump {
        let mut c = Obj::new(root.key("configuration"));
        for (k, v) in dump {
            push_json_string(c.key(k), v);
        }
        c.end();
    }
    obj_of(
        root.key("result"),
        &vec![
            ("type", V::S(doc.result_type().into())),
            ("message", V::S(doc.message.clone())),
        ],
    );
    root.end();
    out.push('\n');
    out
}
