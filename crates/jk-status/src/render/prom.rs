//! `mime=prometheus` (mod_jk-rs extension): Prometheus text exposition format 0.0.4.
//!
//! Families (every one with `# HELP` and `# TYPE`, samples grouped per family):
//! `mod_jk_info{web_server,jk_version}` gauge 1;
//! `mod_jk_lb_members`, `mod_jk_lb_good`, `mod_jk_lb_degraded`, `mod_jk_lb_bad`,
//! `mod_jk_lb_busy`, `mod_jk_lb_max_busy` gauges `{balancer}`;
//! `mod_jk_lb_member_slots` and `mod_jk_lb_members_free` gauges `{balancer}` (runtime
//! membership: slots = configured members plus growth slots; when reported);
//! `mod_jk_lb_registry_state{balancer,state}`, `mod_jk_lb_registry_members`,
//! `mod_jk_lb_registry_lag_seconds`, `mod_jk_lb_registry_last_event_timestamp_seconds`,
//! `mod_jk_lb_registry_world_writable` gauges (lbs with `discovery=zk://`);
//! `mod_jk_member_requests_total` (elected), `mod_jk_member_errors_total`,
//! `mod_jk_member_client_errors_total`, `mod_jk_member_reply_timeouts_total`,
//! `mod_jk_member_sessions_total`, `mod_jk_member_bytes_read_total`,
//! `mod_jk_member_bytes_transferred_total` counters and `mod_jk_member_busy`,
//! `mod_jk_member_max_busy`, `mod_jk_member_connected`, `mod_jk_member_lbfactor`,
//! `mod_jk_member_in_flight` and `mod_jk_member_held` (when known) gauges
//! `{balancer,member}`;
//! `mod_jk_member_state{balancer,member,state}` and
//! `mod_jk_member_activation{balancer,member,activation}`: one sample per possible value,
//! 1 for the current one; `mod_jk_member_info{balancer,member,origin,lifecycle}` 1 (runtime
//! membership, when reported; an unreported origin is `config`); `mod_jk_ajp_*` likewise for standalone ajp workers `{worker}`;
//! latency (mod_jk-rs): `mod_jk_lb_reply_duration_seconds` and
//! `mod_jk_lb_hold_duration_seconds` histograms and `mod_jk_lb_replies_total{code}` counters
//! `{balancer}` (the sums of the members'), the same as `mod_jk_member_*` `{balancer,member}`;
//! `mod_jk_status_result{type}` 1 (the command's outcome, message in a comment on error).

use super::Doc;
use crate::config::StatusConfig;
use crate::model::{
    Activation, AjpView, HistogramView, LatencyView, MemberState, MemberView, StatusModel,
};

/// Escapes a label value (`\`, `"`, newline).
pub fn escape_label(v: &str) -> String {
    let mut o = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '"' => o.push_str("\\\""),
            '\n' => o.push_str("\\n"),
            c => o.push(c),
        }
    }
    o
}

fn labels(pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    samples: Vec<String>,
}

impl Family {
    fn new(name: &'static str, kind: &'static str, help: &'static str) -> Family {
        Family {
            name,
            kind,
            help,
            samples: Vec::new(),
        }
    }

    fn add(&mut self, l: &[(&str, &str)], v: impl std::fmt::Display) {
        self.samples.push(format!("{}{} {v}", self.name, labels(l)));
    }

    /// The samples of a histogram (`_bucket` per bound, cumulative, with `le`; `_sum` in
    /// seconds; `_count`).
    fn add_histogram(&mut self, l: &[(&str, &str)], h: &HistogramView) {
        let cumulative = h.cumulative();
        for (i, n) in cumulative.iter().enumerate() {
            let le = h
                .bounds_us
                .get(i)
                .map_or_else(|| "+Inf".to_string(), |&b| seconds(b));
            let mut with_le = l.to_vec();
            with_le.push(("le", &le));
            self.samples
                .push(format!("{}_bucket{} {n}", self.name, labels(&with_le)));
        }
        self.samples.push(format!(
            "{}_sum{} {}",
            self.name,
            labels(l),
            seconds(h.sum_us)
        ));
        self.samples.push(format!(
            "{}_count{} {}",
            self.name,
            labels(l),
            cumulative.last().copied().unwrap_or(0)
        ));
    }

    /// The samples of a replies-by-class counter (`code="1xx"` … `"5xx"`).
    fn add_classes(&mut self, l: &[(&str, &str)], replies: &[u64; 5]) {
        for (code, n) in CLASSES.iter().zip(replies) {
            let mut with = l.to_vec();
            with.push(("code", code));
            self.add(&with, n);
        }
    }

    fn write(&self, out: &mut String) {
        if self.samples.is_empty() {
            return;
        }
        out.push_str(&format!("# HELP {} {}\n", self.name, self.help));
        out.push_str(&format!("# TYPE {} {}\n", self.name, self.kind));
        for s in &self.samples {
            out.push_str(s);
            out.push('\n');
        }
    }
}

const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Microseconds as seconds, exactly (`0.0005`, `2.5`, `10`).
pub(crate) fn seconds(us: u64) -> String {
    let (s, frac) = (us / 1_000_000, us % 1_000_000);
    if frac == 0 {
        return s.to_string();
    }
    let f = format!("{frac:06}");
    format!("{s}.{}", f.trim_end_matches('0'))
}

/// The latency families of members and balancers (`mod_jk_{member,lb}_...`).
struct LatencyFamilies {
    reply: Family,
    hold: Family,
    replies: Family,
}

impl LatencyFamilies {
    fn new(lb: bool) -> LatencyFamilies {
        let (reply, hold, replies) = if lb {
            (
                "mod_jk_lb_reply_duration_seconds",
                "mod_jk_lb_hold_duration_seconds",
                "mod_jk_lb_replies_total",
            )
        } else {
            (
                "mod_jk_member_reply_duration_seconds",
                "mod_jk_member_hold_duration_seconds",
                "mod_jk_member_replies_total",
            )
        };
        LatencyFamilies {
            reply: Family::new(
                reply,
                "histogram",
                "Time from sending the request to the end of the reply, of the backend's replies.",
            ),
            hold: Family::new(
                hold,
                "histogram",
                "Time requests were held for a restarting or not yet ready member.",
            ),
            replies: Family::new(
                replies,
                "counter",
                "Replies of the backend by status class.",
            ),
        }
    }

    fn add(&mut self, l: &[(&str, &str)], lat: &LatencyView) {
        self.reply.add_histogram(l, &lat.reply);
        self.hold.add_histogram(l, &lat.hold);
        self.replies.add_classes(l, &lat.replies);
    }

    fn into_families(self) -> [Family; 3] {
        [self.reply, self.hold, self.replies]
    }
}

type MemberMetric = (
    &'static str,
    &'static str,
    &'static str,
    fn(&MemberView) -> Option<u64>,
);

const MEMBER_METRICS: [MemberMetric; 16] = [
    (
        "mod_jk_member_requests_total",
        "counter",
        "Requests sent to the member (elected).",
        |m| Some(m.elected),
    ),
    (
        "mod_jk_member_errors_total",
        "counter",
        "Errors of the member.",
        |m| Some(m.errors),
    ),
    (
        "mod_jk_member_client_errors_total",
        "counter",
        "Client errors seen on the member.",
        |m| Some(m.client_errors),
    ),
    (
        "mod_jk_member_reply_timeouts_total",
        "counter",
        "Reply timeouts of the member.",
        |m| Some(m.reply_timeouts),
    ),
    (
        "mod_jk_member_sessions_total",
        "counter",
        "Requests without session id sent to the member.",
        |m| Some(m.sessions),
    ),
    (
        "mod_jk_member_bytes_read_total",
        "counter",
        "Bytes read from the member.",
        |m| Some(m.read),
    ),
    (
        "mod_jk_member_bytes_transferred_total",
        "counter",
        "Bytes sent to the member.",
        |m| Some(m.transferred),
    ),
    (
        "mod_jk_member_busy",
        "gauge",
        "Busy connections to the member.",
        |m| Some(m.busy),
    ),
    (
        "mod_jk_member_max_busy",
        "gauge",
        "Maximum busy connections since the last reset.",
        |m| Some(m.max_busy),
    ),
    (
        "mod_jk_member_connected",
        "gauge",
        "Open backend connections of the member.",
        |m| Some(m.connected),
    ),
    (
        "mod_jk_member_lbfactor",
        "gauge",
        "Load balancing factor of the member.",
        |m| u64::try_from(m.lbfactor).ok(),
    ),
    (
        "mod_jk_member_in_flight",
        "gauge",
        "Requests in flight on the member.",
        |m| m.in_flight,
    ),
    (
        "mod_jk_member_last_sticky_time_seconds",
        "gauge",
        "Unix time of the last request routed to the member by its session (drain signal).",
        |m| m.last_sticky_time,
    ),
    (
        "mod_jk_member_held",
        "gauge",
        "Requests held for the member while it restarts (not in flight).",
        |m| m.held,
    ),
    (
        "mod_jk_member_recent_sessions",
        "gauge",
        "Distinct sessions seen on the member in the recent window (estimate; drain signal).",
        |m| m.recent_sessions,
    ),
    (
        "mod_jk_member_restarting",
        "gauge",
        "1 while the member is in restart maintenance.",
        |m| m.restarting.map(u64::from),
    ),
];

type AjpMetric = (
    &'static str,
    &'static str,
    &'static str,
    fn(&AjpView) -> Option<u64>,
);

const AJP_METRICS: [AjpMetric; 10] = [
    (
        "mod_jk_ajp_requests_total",
        "counter",
        "Requests served by the ajp worker.",
        |w| Some(w.used),
    ),
    (
        "mod_jk_ajp_errors_total",
        "counter",
        "Errors of the ajp worker.",
        |w| Some(w.errors),
    ),
    (
        "mod_jk_ajp_client_errors_total",
        "counter",
        "Client errors of the ajp worker.",
        |w| Some(w.client_errors),
    ),
    (
        "mod_jk_ajp_reply_timeouts_total",
        "counter",
        "Reply timeouts of the ajp worker.",
        |w| Some(w.reply_timeouts),
    ),
    (
        "mod_jk_ajp_bytes_read_total",
        "counter",
        "Bytes read from the ajp worker.",
        |w| Some(w.read),
    ),
    (
        "mod_jk_ajp_bytes_transferred_total",
        "counter",
        "Bytes sent to the ajp worker.",
        |w| Some(w.transferred),
    ),
    (
        "mod_jk_ajp_busy",
        "gauge",
        "Busy connections of the ajp worker.",
        |w| Some(w.busy),
    ),
    (
        "mod_jk_ajp_max_busy",
        "gauge",
        "Maximum busy connections since the last reset.",
        |w| Some(w.max_busy),
    ),
    (
        "mod_jk_ajp_connected",
        "gauge",
        "Open backend connections of the ajp worker.",
        |w| Some(w.connected),
    ),
    (
        "mod_jk_ajp_in_flight",
        "gauge",
        "Requests in flight on the ajp worker.",
        |w| w.in_flight,
    ),
];

pub(crate) fn render(cfg: &StatusConfig, model: &StatusModel, doc: &Doc<'_>) -> String {
    let mut fams: Vec<Family> = Vec::new();
    if doc.header == super::Header::Full {
        let mut f = Family::new("mod_jk_info", "gauge", "Web server and mod_jk version.");
        f.add(
            &[
                ("web_server", &model.web_server),
                ("jk_version", &model.jk_version),
            ],
            1,
        );
        fams.push(f);
    }
    if let Some(lbs) = &doc.lbs {
        let mut members = Family::new(
            "mod_jk_lb_members",
            "gauge",
            "Members of the load balancer.",
        );
        let mut good = Family::new("mod_jk_lb_good", "gauge", "Members rated good.");
        let mut degraded = Family::new("mod_jk_lb_degraded", "gauge", "Members rated degraded.");
        let mut bad = Family::new("mod_jk_lb_bad", "gauge", "Members rated bad.");
        let mut busy = Family::new(
            "mod_jk_lb_busy",
            "gauge",
            "Busy requests of the load balancer.",
        );
        let mut max_busy = Family::new(
            "mod_jk_lb_max_busy",
            "gauge",
            "Maximum busy since the last reset.",
        );
        let mut mfams: Vec<Family> = MEMBER_METRICS
            .iter()
            .map(|(n, k, h, _)| Family::new(n, k, h))
            .collect();
        let mut state = Family::new(
            "mod_jk_member_state",
            "gauge",
            "Runtime state of the member (1 for the current state).",
        );
        let mut act = Family::new(
            "mod_jk_member_activation",
            "gauge",
            "Activation of the member (1 for the current activation).",
        );
        let mut slots = Family::new(
            "mod_jk_lb_member_slots",
            "gauge",
            "Member slots of the load balancer (configured members plus growth slots).",
        );
        let mut free = Family::new(
            "mod_jk_lb_members_free",
            "gauge",
            "Free member slots of the load balancer.",
        );
        let mut info = Family::new(
            "mod_jk_member_info",
            "gauge",
            "Origin (config, runtime, dns, registry) and lifecycle (joining, active, draining, \
             leaving) of the member; always 1.",
        );
        let mut reg_state = Family::new(
            "mod_jk_lb_registry_state",
            "gauge",
            "ZooKeeper registry connection of the load balancer (1 for the current state: \
             connecting, connected, disconnected, expired, auth_failed).",
        );
        let mut reg_members = Family::new(
            "mod_jk_lb_registry_members",
            "gauge",
            "Members the load balancer's registry lists.",
        );
        let mut reg_lag = Family::new(
            "mod_jk_lb_registry_lag_seconds",
            "gauge",
            "Seconds from the last registry change to its members being applied.",
        );
        let mut reg_event = Family::new(
            "mod_jk_lb_registry_last_event_timestamp_seconds",
            "gauge",
            "Unix time of the last registry event (watch or connection state change).",
        );
        let mut reg_open = Family::new(
            "mod_jk_lb_registry_world_writable",
            "gauge",
            "1 when anyone may write the registry path the load balancer follows.",
        );
        let mut lb_latency = LatencyFamilies::new(true);
        let mut member_latency = LatencyFamilies::new(false);
        for p in lbs {
            let l = [("balancer", p.lb.name.as_str())];
            if let Some(r) = &p.lb.registry {
                for s in [
                    "connecting",
                    "connected",
                    "disconnected",
                    "expired",
                    "auth_failed",
                ] {
                    reg_state.add(
                        &[("balancer", p.lb.name.as_str()), ("state", s)],
                        u64::from(r.state == s),
                    );
                }
                reg_members.add(&l, r.members);
                reg_lag.add(&l, r.lag_ms as f64 / 1000.0);
                reg_event.add(&l, r.last_event_ms as f64 / 1000.0);
                reg_open.add(&l, u64::from(r.world_writable));
            }
            if let Some(lat) = &p.lb.latency {
                lb_latency.add(&l, lat);
            }
            let (g, d, b) = cfg.rate_all(&p.lb.members);
            members.add(&l, p.lb.members.len());
            good.add(&l, g);
            degraded.add(&l, d);
            bad.add(&l, b);
            busy.add(&l, p.lb.busy);
            max_busy.add(&l, p.lb.max_busy);
            if let (Some(n), Some(f)) = (p.lb.member_slots, p.lb.members_free()) {
                slots.add(&l, n);
                free.add(&l, f);
            }
            for m in &p.members {
                let l = [
                    ("balancer", p.lb.name.as_str()),
                    ("member", m.name.as_str()),
                ];
                for (f, (_, _, _, get)) in mfams.iter_mut().zip(MEMBER_METRICS.iter()) {
                    if let Some(v) = get(m) {
                        f.add(&l, v);
                    }
                }
                if let Some(lat) = &m.latency {
                    member_latency.add(&l, lat);
                }
                for s in MemberState::ALL {
                    let v = u8::from(s == m.state);
                    state.add(&[l[0], l[1], ("state", s.text())], v);
                }
                for a in Activation::ALL {
                    let v = u8::from(a == m.activation);
                    act.add(&[l[0], l[1], ("activation", a.text())], v);
                }
                if m.origin.is_some() || m.lifecycle.is_some() {
                    let origin = m.origin.as_deref().unwrap_or("config");
                    let lifecycle = m.lifecycle.as_deref().unwrap_or("");
                    info.add(
                        &[l[0], l[1], ("origin", origin), ("lifecycle", lifecycle)],
                        1,
                    );
                }
            }
        }
        fams.extend([members, good, degraded, bad, busy, max_busy, slots, free]);
        fams.extend([reg_state, reg_members, reg_lag, reg_event, reg_open]);
        fams.extend(lb_latency.into_families());
        fams.extend(mfams);
        fams.extend(member_latency.into_families());
        fams.extend([state, act, info]);
    }
    if let Some(ajps) = &doc.ajps {
        let mut afams: Vec<Family> = AJP_METRICS
            .iter()
            .map(|(n, k, h, _)| Family::new(n, k, h))
            .collect();
        let mut state = Family::new(
            "mod_jk_ajp_state",
            "gauge",
            "Runtime state of the ajp worker (1 for the current state).",
        );
        for (w, _) in ajps {
            let l = [("worker", w.name.as_str())];
            for (f, (_, _, _, get)) in afams.iter_mut().zip(AJP_METRICS.iter()) {
                if let Some(v) = get(w) {
                    f.add(&l, v);
                }
            }
            for s in MemberState::ALL {
                state.add(&[l[0], ("state", s.text())], u8::from(s == w.state));
            }
        }
        fams.extend(afams);
        fams.push(state);
    }
    let mut result = Family::new(
        "mod_jk_status_result",
        "gauge",
        "Outcome of the status command (1 for the result type).",
    );
    result.add(&[("type", doc.result_type())], 1);
    fams.push(result);

    let mut out = String::new();
    if !doc.ok {
        out.push_str(&format!("# ERROR {}\n", doc.message.replace('\n', " ")));
    }
    for f in &fams {
        f.write(&mut out);
    }
    out
}
