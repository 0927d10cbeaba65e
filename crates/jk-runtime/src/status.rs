//! The status worker's side of the runtime: the model jk-status renders, built from one
//! generation's configuration, balancer snapshots from the shared region and URI maps; and
//! the changes it accepts, applied to the balancers and the shared ajp settings, each logged
//! with the client's address and the old and new values.

use jk_config::{Activation, AjpWorker, MemberState, StatusWorker, WorkerKind};
use jk_shm::{Field, StrField};
use jk_status::{
    AjpChanges, AjpSettings, AjpView, Apply, ErrorTime, HistogramView, LatencyView, LbChanges,
    LbView, MapView, MemberChanges, MemberView, StatusConfig, StatusModel, TimeView, WriteVerdict,
};

use crate::View;

/// What the model says about the request and server (read from httpd by the glue).
#[derive(Clone, Debug, Default)]
pub struct Header {
    pub request_uri: String,
    /// mod_jk's `s->server_name` for this request (see [`jk_status::StatusModel`]).
    pub server_name: String,
    /// mod_jk's `s->server_port` for this request.
    pub server_port: i32,
    pub web_server: String,
}

/// The status worker's configuration for jk-status; `write_token` is the configuration
/// generation's token (the page's forms carry it).
pub fn status_config(sw: &StatusWorker, write_token: &str) -> StatusConfig {
    StatusConfig {
        read_only: sw.read_only,
        users: sw.users.clone(),
        user_case_insensitive: sw.user_case_insensitive,
        good: sw.good.clone(),
        bad: sw.bad.clone(),
        css: sw.css.clone(),
        prefix: sw.prefix.clone(),
        ns: sw.ns.clone().unwrap_or_default(),
        xmlns: sw.xmlns.clone().unwrap_or_default(),
        doctype: sw.doctype.clone(),
        write_token: write_token.to_string(),
        write_requires_token: sw.write_requires_token,
    }
}

/// A write token for a new configuration generation: 16 random bytes, hex. `source` is
/// `/dev/urandom` in the module (read once per generation, in the parent: every child
/// inherits the same token, and a graceful restart makes a new one).
pub fn new_write_token(mut source: impl std::io::Read) -> std::io::Result<String> {
    let mut b = [0u8; 16];
    source.read_exact(&mut b)?;
    if b.iter().all(|&x| x == 0) {
        return Err(std::io::Error::other(
            "the random source gave only zero bytes",
        ));
    }
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// `YYYYMMDDhhmmss` and `±hhmm` of a broken-down local time, as mod_jk's status shows them.
fn stamp(t: &jk_log::BrokenDownTime) -> (String, String) {
    let sign = if t.utc_offset_secs < 0 { '-' } else { '+' };
    let off = t.utc_offset_secs.unsigned_abs();
    (
        format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            t.year, t.month, t.day, t.hour, t.minute, t.second
        ),
        format!("{sign}{:02}{:02}", off / 3600, (off % 3600) / 60),
    )
}

fn now_view(t: &jk_log::BrokenDownTime) -> TimeView {
    let (datetime, tz) = stamp(t);
    TimeView {
        datetime,
        tz,
        unix: t.epoch_secs,
    }
}

/// A past instant in local time. `utc_offset` is the clock's current offset (cosmetic for an
/// instant across a DST change); the caller computes it once per page.
fn error_time(unix: u64, now: u64, utc_offset: i32) -> Option<ErrorTime> {
    if unix == 0 {
        return None;
    }
    let t = jk_log::BrokenDownTime::from_epoch(unix as i64, 0, utc_offset, "");
    let (datetime, tz) = stamp(&t);
    Some(ErrorTime {
        datetime,
        tz,
        unix: unix as i64,
        ago: now.saturating_sub(unix) as i64,
    })
}

fn settings(v: View<'_>, name: &str, w: &AjpWorker) -> AjpSettings {
    // Follow edits made through other children before showing where the worker points.
    if let (Some(ep), Some(sh)) = (v.endpoints.get(name), v.ajp.get(name)) {
        sh.sync(ep, w);
    }
    let address = match v.endpoints.get(name).and_then(|e| e.config().addr) {
        Some(a) => a.to_string(),
        None if w.port == 0 => "invalid".into(),
        None => "unresolved".into(),
    };
    AjpSettings {
        worker_type: jk_config::WorkerType::from(w.protocol).as_str().into(),
        host: shared_host(v, name).unwrap_or_else(|| w.host.clone()),
        port: shared(v, name, Field::AjpPort).map_or(i32::from(w.port), |v| v as i32),
        address,
        source: w.source.clone().unwrap_or_else(|| "undefined".into()),
        connection_pool_timeout: shared(v, name, Field::AjpPoolTimeout)
            .map_or(w.connection_pool_timeout_s as i32, |v| v as i32),
        ping_timeout: shared(v, name, Field::AjpPingTimeout)
            .map_or(w.ping_timeout_ms as i32, |v| v as i32),
        connect_timeout: shared(v, name, Field::AjpConnectTimeout)
            .map_or(w.connect_timeout_ms as i32, |v| v as i32),
        prepost_timeout: shared(v, name, Field::AjpPrepostTimeout)
            .map_or(w.prepost_timeout_ms as i32, |v| v as i32),
        reply_timeout: shared(v, name, Field::AjpReplyTimeout)
            .map_or(w.reply_timeout_ms as i32, |v| v as i32),
        connection_ping_interval: shared(v, name, Field::AjpPingInterval)
            .map_or(w.connection_ping_interval_s as i32, |v| v as i32),
        retries: shared(v, name, Field::AjpRetries).map_or(w.retries as i32, |v| v as i32),
        retry_interval: shared(v, name, Field::AjpRetryInterval)
            .map_or(w.retry_interval_ms as i32, |v| v as i32),
        recovery_options: shared(v, name, Field::AjpRecoveryOptions)
            .map_or(w.recovery_options.0, |v| v as u32),
        busy_limit: w.busy_limit as i32,
        max_packet_size: shared(v, name, Field::AjpMaxPacketSize)
            .map_or(w.max_packet_size, |v| v as u32),
    }
}

/// A runtime-editable ajp setting from the shared region (None: the configured one).
fn shared(v: View<'_>, name: &str, f: Field) -> Option<u64> {
    v.ajp.get(name).filter(|s| s.trusted()).map(|s| s.get(f))
}

fn shared_host(v: View<'_>, name: &str) -> Option<String> {
    v.ajp.get(name).filter(|s| s.trusted()).map(|s| s.host())
}

fn maps_for(v: View<'_>, worker: &str) -> Vec<MapView> {
    let mut out = Vec::new();
    for (server, map) in v.maps {
        for rule in map.rules() {
            if &*rule.worker != worker {
                continue;
            }
            let e = &rule.ext;
            let list = |a| e.members(a).collect::<Vec<_>>().join(",");
            out.push(MapView {
                server: server.clone(),
                uri: rule.pattern.clone(),
                map_type: rule.type_text(),
                source: rule.source.to_string(),
                reply_timeout: e.reply_timeout,
                sticky_ignore: i32::from(e.sticky_ignore),
                stateless: i32::from(e.stateless),
                fail_on_status: e
                    .fail_on_status
                    .as_ref()
                    .map(|v| {
                        v.iter()
                            .map(|c| c.to_string())
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default(),
                active: list(Activation::Active),
                disabled: list(Activation::Disabled),
                stopped: list(Activation::Stopped),
                use_server_errors: i32::from(e.use_server_errors),
            });
        }
    }
    out
}

fn histogram_view(h: &jk_shm::HistogramCounts) -> HistogramView {
    HistogramView {
        bounds_us: h.bounds_us.to_vec(),
        counts: h.counts.clone(),
        sum_us: h.sum_us,
    }
}

fn latency_view(l: &jk_lb::Latency) -> LatencyView {
    LatencyView {
        reply: histogram_view(&l.reply),
        hold: histogram_view(&l.hold),
        replies: l.replies,
    }
}

/// The model jk-status renders. `now` is the Unix time, `local` the same instant in local
/// time (error times are shown with its UTC offset).
pub fn model(v: View<'_>, header: Header, now: u64, local: &jk_log::BrokenDownTime) -> StatusModel {
    let mut m = StatusModel {
        request_uri: header.request_uri,
        server_name: header.server_name,
        server_port: header.server_port,
        web_server: header.web_server,
        jk_version: jk_status::JK_VERSION.to_string(),
        time: now_view(local),
        ..Default::default()
    };
    let maintain = v.maintain_secs as i64;
    for name in &v.workers.list {
        let Some(w) = v.workers.worker(name) else {
            continue;
        };
        match &w.kind {
            WorkerKind::Lb(_) => {
                let Some(b) = v.balancers.get(name) else {
                    continue;
                };
                let snap = b.lb_snapshot();
                let since_maintain = now.saturating_sub(snap.last_maintain) as i64;
                let ttm = (maintain - since_maintain).max(0);
                let members = snap
                    .members
                    .iter()
                    .filter_map(|ms| {
                        let aw = v.ajp_worker(&ms.worker)?;
                        let ttr = ms.time_to_recover.map_or(0, |t| (t as i64).max(ttm));
                        Some(MemberView {
                            name: ms.name.clone(),
                            settings: settings(v, &ms.worker, aw),
                            activation: ms.activation,
                            lbfactor: ms.lbfactor as i32,
                            route: ms.route.clone(),
                            redirect: ms.redirect.clone(),
                            domain: ms.domain.clone(),
                            distance: ms.distance as i32,
                            state: ms.state,
                            lbmult: ms.lb_mult,
                            lbvalue: ms.lb_value,
                            elected: ms.elected,
                            sessions: ms.sessions,
                            errors: ms.errors,
                            client_errors: ms.client_errors,
                            reply_timeouts: ms.reply_timeouts,
                            transferred: ms.transferred,
                            read: ms.read,
                            busy: ms.busy,
                            max_busy: ms.max_busy,
                            connected: ms.connected,
                            max_connected: ms.max_connected,
                            time_to_recover_min: ttr,
                            time_to_recover_max: if ttr > 0 { ttr + maintain } else { 0 },
                            last_reset_at: ms.last_reset as i64,
                            last_reset_ago: now.saturating_sub(ms.last_reset) as i64,
                            error_time: error_time(ms.first_error_time, now, local.utc_offset_secs),
                            in_flight: Some(ms.in_flight),
                            last_error: None,
                            restarting: Some(ms.restarting),
                            draining: Some(ms.activation == Activation::Disabled || ms.restarting),
                            awaiting_readiness: Some(ms.awaiting_readiness),
                            last_sticky_time: Some(ms.last_sticky_time),
                            recent_sessions: Some(ms.recent_sessions),
                            held: Some(ms.held),
                            origin: Some(ms.origin.text().to_string()),
                            lifecycle: Some(ms.lifecycle.text().to_string()),
                            latency: Some(latency_view(&ms.latency)),
                        })
                    })
                    .collect();
                m.lbs.push(LbView {
                    name: name.clone(),
                    sticky_session: snap.settings.sticky_session,
                    sticky_session_force: snap.settings.sticky_session_force,
                    retries: snap.settings.retries as i32,
                    retry_interval: snap.settings.retry_interval_ms as i32,
                    recover_time: snap.settings.recover_time_s as i32,
                    error_escalation_time: snap.settings.error_escalation_time_s as i32,
                    max_reply_timeouts: snap.settings.max_reply_timeouts as i32,
                    method: snap.settings.method,
                    lock: snap.settings.lock,
                    busy: snap.busy,
                    max_busy: snap.max_busy,
                    time_to_maintenance_min: ttm,
                    time_to_maintenance_max: ttm + maintain,
                    last_reset_at: snap.last_reset as i64,
                    last_reset_ago: now.saturating_sub(snap.last_reset) as i64,
                    members,
                    maps: maps_for(v, name),
                    member_slots: Some(snap.member_slots as u64),
                    registry: registry_view(v, name, now),
                    latency: Some(latency_view(&snap.latency)),
                });
            }
            WorkerKind::Ajp(a) => {
                let sh = v.ajp.get(name);
                let g = |f| sh.map_or(0, |s| s.get(f));
                let last_reset = g(Field::LastReset);
                let busy = sh.map_or(0, |s| s.slot.busy());
                m.ajps.push(AjpView {
                    name: name.clone(),
                    settings: settings(v, name, a),
                    state: sh.map_or(MemberState::Idle, |s| s.state()),
                    used: sh.map_or(0, |s| s.slot.elected()),
                    errors: g(Field::Errors),
                    client_errors: g(Field::ClientErrors),
                    reply_timeouts: g(Field::ReplyTimeouts),
                    transferred: sh.map_or(0, |s| s.transferred()),
                    read: sh.map_or(0, |s| s.read()),
                    busy,
                    max_busy: g(Field::MaxBusy),
                    connected: sh.map_or(0, |s| s.connected()),
                    max_connected: g(Field::MaxConnected),
                    last_reset_at: last_reset as i64,
                    last_reset_ago: now.saturating_sub(last_reset) as i64,
                    error_time: error_time(g(Field::LastErrorTime), now, local.utc_offset_secs),
                    maps: maps_for(v, name),
                    in_flight: Some(busy),
                    last_error: None,
                });
            }
            WorkerKind::Status(_) => m.status_workers.push(name.clone()),
        }
    }
    // cmd=dump: the configuration as read (never secrets).
    m.dump = v
        .props
        .entries()
        .filter(|(k, _, _)| !k.ends_with(".secret"))
        .map(|(k, v, _)| (k.to_string(), v.to_string()))
        .collect();
    m
}

/// Applies accepted changes to the balancers and the shared ajp settings, and logs each one
/// through `log` (one line per changed value).
pub struct Applier<'a> {
    pub view: View<'a>,
    /// The status worker's name, for the log.
    pub status_worker: &'a str,
    /// The client's address, for the log.
    pub client: String,
    /// Unix time now (a statistics reset records it).
    pub now: u64,
    pub log: &'a dyn Fn(&str),
    /// Whether this request may change anything ([`jk_status::check_write`]'s verdict on
    /// its origin and token, computed by the glue).
    pub write: WriteVerdict,
    /// Logs a refused change (the glue logs it at warn level).
    pub warn: &'a dyn Fn(&str),
}

impl Applier<'_> {
    fn log_change(&self, what: &str, target: &str, old: &str, new: &str) {
        (self.log)(&format!(
            "Status worker '{}' changing '{what}' for {target} from '{old}' to '{new}' (client {})",
            self.status_worker, self.client
        ));
    }

    fn balancer(&self, lb: &str) -> Result<std::sync::Arc<jk_lb::Balancer>, String> {
        self.view
            .balancers
            .get(lb)
            .cloned()
            .ok_or_else(|| format!("no load balancer '{lb}'"))
    }
}

impl Apply for Applier<'_> {
    fn may_write(&self) -> Result<(), String> {
        match &self.write {
            WriteVerdict::Allow => Ok(()),
            WriteVerdict::Refuse(why) => {
                (self.warn)(&format!(
                    "Status worker '{}' refused a change (client {}): {why}",
                    self.status_worker, self.client
                ));
                Err(why.clone())
            }
        }
    }

    fn update_lb(&mut self, lb: &str, c: &LbChanges) -> Result<(), String> {
        let b = self.balancer(lb)?;
        let before = b.lb_snapshot().settings;
        let target = format!("lb worker '{lb}'");
        let pos = |v: i32| u32::try_from(v).map_err(|_| format!("{v} is negative"));
        type SetU32<'b> = &'b dyn Fn(u32) -> Result<(), String>;
        let numbers: [(&str, Option<i32>, u32, SetU32<'_>); 5] = [
            ("retries", c.retries, before.retries, &|v| b.set_retries(v)),
            (
                "retry_interval",
                c.retry_interval,
                before.retry_interval_ms,
                &|v| b.set_retry_interval(v),
            ),
            (
                "recover_time",
                c.recover_time,
                before.recover_time_s,
                &|v| b.set_recover_time(v),
            ),
            (
                "error_escalation_time",
                c.error_escalation_time,
                before.error_escalation_time_s,
                &|v| b.set_error_escalation_time(v),
            ),
            (
                "max_reply_timeouts",
                c.max_reply_timeouts,
                before.max_reply_timeouts,
                &|v| {
                    b.set_max_reply_timeouts(v);
                    Ok(())
                },
            ),
        ];
        for (what, new, old, set) in numbers {
            if let Some(v) = new {
                set(pos(v)?)?;
                self.log_change(what, &target, &old.to_string(), &v.to_string());
            }
        }
        type SetBool<'b> = &'b dyn Fn(bool);
        let flags: [(&str, Option<bool>, bool, SetBool<'_>); 2] = [
            (
                "sticky_session",
                c.sticky_session,
                before.sticky_session,
                &|v| b.set_sticky_session(v),
            ),
            (
                "sticky_session_force",
                c.sticky_session_force,
                before.sticky_session_force,
                &|v| b.set_sticky_session_force(v),
            ),
        ];
        for (what, new, old, set) in flags {
            if let Some(v) = new {
                set(v);
                self.log_change(what, &target, &old.to_string(), &v.to_string());
            }
        }
        if let Some(v) = c.method {
            b.set_method(v);
            self.log_change("method", &target, before.method.text(), v.text());
        }
        if let Some(v) = c.lock {
            b.set_lock(v);
            self.log_change("lock", &target, before.lock.text(), v.text());
        }
        Ok(())
    }

    fn update_member(&mut self, lb: &str, member: &str, c: &MemberChanges) -> Result<(), String> {
        let b = self.balancer(lb)?;
        let i = b
            .find_member(member)
            .ok_or_else(|| format!("no member '{member}' in '{lb}'"))?;
        let before = b.snapshot(i).ok_or("member vanished")?;
        let target = format!("sub worker '{member}' of lb worker '{lb}'");
        if let Some(a) = c.activation {
            b.set_activation(i, a)?;
            self.log_change("activation", &target, before.activation.text(), a.text());
        }
        if let Some(f) = c.lbfactor {
            b.set_lbfactor(i, u32::try_from(f).map_err(|_| "negative lbfactor")?)?;
            self.log_change(
                "lbfactor",
                &target,
                &before.lbfactor.to_string(),
                &f.to_string(),
            );
        }
        if let Some(r) = &c.route {
            b.set_route(i, r)?;
            self.log_change("route", &target, &before.route, r);
        }
        if let Some(r) = &c.redirect {
            b.set_redirect(i, r)?;
            self.log_change("redirect", &target, &before.redirect, r);
        }
        if let Some(d) = &c.domain {
            b.set_domain(i, d)?;
            self.log_change("domain", &target, &before.domain, d);
        }
        if let Some(d) = c.distance {
            b.set_distance(i, u32::try_from(d).map_err(|_| "negative distance")?)?;
            self.log_change(
                "distance",
                &target,
                &before.distance.to_string(),
                &d.to_string(),
            );
        }
        if let Some(on) = c.restarting {
            b.set_restarting(i, on)?;
            self.log_change(
                "restart maintenance",
                &target,
                if before.restarting { "on" } else { "off" },
                if on { "on" } else { "off" },
            );
        }
        if let Some(v) = c.ajp.busy_limit {
            b.set_busy_limit(i, u32::try_from(v).map_err(|_| "negative busy_limit")?)?;
            self.log_change(
                "busy_limit",
                &target,
                &before.busy_limit.to_string(),
                &v.to_string(),
            );
        }
        // The member's own ajp worker (a runtime member's is its growth slot).
        self.update_ajp(&before.worker, &c.ajp)
    }

    fn update_ajp(&mut self, worker: &str, c: &AjpChanges) -> Result<(), String> {
        // The settings live in the shared region; every child's endpoint follows the edit
        // count (AjpSeq) on its next request.
        let Some(sh) = self.view.ajp.get(worker) else {
            return if *c == AjpChanges::default() {
                Ok(())
            } else {
                Err(format!("no ajp worker '{worker}'"))
            };
        };
        let target = format!("ajp worker '{worker}'");
        let mut changed = false;
        if let Some(h) = &c.host {
            let old = sh.host();
            sh.slot
                .set_string(StrField::Host, h)
                .map_err(|e| e.to_string())?;
            self.log_change("host", &target, &old, h);
            changed = true;
        }
        let nums: [(&str, Option<u64>, Field); 11] = [
            ("port", c.port.map(|v| v as u64), Field::AjpPort),
            (
                "connection_pool_timeout",
                c.connection_pool_timeout.map(|v| v as u64),
                Field::AjpPoolTimeout,
            ),
            (
                "ping_timeout",
                c.ping_timeout.map(|v| v as u64),
                Field::AjpPingTimeout,
            ),
            (
                "connect_timeout",
                c.connect_timeout.map(|v| v as u64),
                Field::AjpConnectTimeout,
            ),
            (
                "prepost_timeout",
                c.prepost_timeout.map(|v| v as u64),
                Field::AjpPrepostTimeout,
            ),
            (
                "reply_timeout",
                c.reply_timeout.map(|v| v as u64),
                Field::AjpReplyTimeout,
            ),
            ("retries", c.retries.map(|v| v as u64), Field::AjpRetries),
            (
                "retry_interval",
                c.retry_interval.map(|v| v as u64),
                Field::AjpRetryInterval,
            ),
            (
                "connection_ping_interval",
                c.connection_ping_interval.map(|v| v as u64),
                Field::AjpPingInterval,
            ),
            (
                "recovery_options",
                c.recovery_options.map(u64::from),
                Field::AjpRecoveryOptions,
            ),
            (
                "max_packet_size",
                c.max_packet_size.map(u64::from),
                Field::AjpMaxPacketSize,
            ),
        ];
        for (what, v, f) in nums {
            if let Some(v) = v {
                let old = sh.get(f);
                sh.slot.set(f, v);
                self.log_change(what, &target, &old.to_string(), &v.to_string());
                changed = true;
            }
        }
        if changed {
            sh.slot.add(Field::AjpSeq, 1);
        }
        Ok(())
    }

    fn reset(&mut self, worker: &str, member: Option<&str>) -> Result<(), String> {
        let Some(b) = self.view.balancers.get(worker) else {
            if let Some(sh) = self.view.ajp.get(worker) {
                sh.reset(self.now);
                self.log_change("statistics", worker, "…", "reset");
            }
            return Ok(());
        };
        let i = match member {
            Some(m) => Some(b.find_member(m).ok_or_else(|| format!("no member '{m}'"))?),
            None => None,
        };
        b.reset(i)?;
        self.log_change("statistics", worker, "…", "reset");
        Ok(())
    }

    fn add_member(&mut self, lb: &str, spec: &jk_status::AddMember) -> Result<String, String> {
        let s = crate::membership::AddSpec {
            name: spec.name.as_deref(),
            host: &spec.host,
            port: spec.port,
            route: spec.route.as_deref(),
            template: spec.template.as_deref(),
            origin: jk_lb::Origin::Runtime,
            handover_of: spec.handover.as_deref(),
        };
        let (_, name) = crate::membership::add(&self.view, lb, &s)?;
        (self.log)(&format!(
            "Status worker '{}' added member '{name}' at {}:{} to lb worker '{lb}'{}{} (client \
             {}); it joins after its readiness probes",
            self.status_worker,
            spec.host,
            spec.port,
            spec.route
                .as_deref()
                .map(|r| format!(", route '{r}'"))
                .unwrap_or_else(|| ", route learned from its first session".into()),
            spec.template
                .as_deref()
                .map(|t| format!(", settings of '{t}'"))
                .unwrap_or_default()
                + &spec
                    .handover
                    .as_deref()
                    .map(|m| format!(", standby to take over the route of '{m}' once it stops"))
                    .unwrap_or_default(),
            self.client
        ));
        Ok(name)
    }

    fn remove_member(&mut self, lb: &str, member: &str, force: bool) -> Result<(), String> {
        crate::membership::remove(&self.view, lb, member, force)?;
        (self.log)(&format!(
            "Status worker '{}' removed member '{member}' of lb worker '{lb}' (client {}){}",
            self.status_worker,
            self.client,
            if force {
                ": its slot is free"
            } else {
                ": it drains (no new sessions) until idle, then leaves"
            }
        ));
        Ok(())
    }

    fn recover(&mut self, lb: &str, member: &str) -> Result<(), String> {
        let b = self.balancer(lb)?;
        let i = b
            .find_member(member)
            .ok_or_else(|| format!("no member '{member}'"))?;
        if b.recover(i)? {
            self.log_change(
                "state",
                &format!("sub worker '{member}' of lb worker '{lb}'"),
                MemberState::Error.text(),
                MemberState::Recover.text(),
            );
            Ok(())
        } else {
            Err("Marking worker for recovery failed".into())
        }
    }
}

/// One warning per status worker that can change state (not read_only, no user list) and is
/// mounted: whoever reaches that URL can stop Tomcats unless httpd restricts it.
pub fn exposure_warnings(v: View<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for w in &v.workers.workers {
        let WorkerKind::Status(sw) = &w.kind else {
            continue;
        };
        if sw.read_only || !sw.users.is_empty() {
            continue;
        }
        let mut mounts: Vec<String> = v
            .maps
            .iter()
            .flat_map(|(_, m)| m.rules())
            .filter(|r| &*r.worker == w.name.as_str() && !r.exclusion && !r.disabled)
            .map(|r| r.pattern.clone())
            .collect();
        mounts.dedup();
        if mounts.is_empty() {
            continue;
        }
        out.push(format!(
            "status worker '{}' can change workers at runtime (stop a Tomcat, change factors) and is \
             mounted at {} without worker.{}.user or read_only; unless httpd restricts access there \
             (e.g. `Require ip 127.0.0.1` in its <Location>; `Allow from all` does not), anyone who \
             reaches it can do so. Restrict it with Require, worker.{}.read_only=true, or \
             worker.{}.user=<names> with authentication",
            w.name,
            mounts.join(", "),
            w.name,
            w.name,
            w.name
        ));
    }
    out
}

/// The registry connection of lb `name` (README "ZooKeeper"), as the child following it last
/// published it in shared memory.
fn registry_view(v: View<'_>, name: &str, now: u64) -> Option<jk_status::RegistryView> {
    let z = v.workers.worker(name)?.as_lb()?.discovery_zk.as_ref()?;
    let b = v.balancers.get(name)?;
    let r = b.registry_status();
    let now_ms = now.saturating_mul(1000);
    Some(jk_status::RegistryView {
        source: format!("zk://{}{}", z.connect_string(), z.path),
        state: r.state.text().to_string(),
        session_id: if r.session == 0 {
            String::new()
        } else {
            format!("0x{:x}", r.session)
        },
        holder_pid: b.discovery_holder(),
        last_event_ms: r.event_at_ms,
        last_event_ago_ms: now_ms.saturating_sub(r.event_at_ms),
        lag_ms: r.lag_ms,
        members: r.members,
        world_writable: r.flags & jk_lb::RegistryStatus::WORLD_WRITABLE != 0,
        shrink_held: r.flags & jk_lb::RegistryStatus::SHRINK_HELD != 0,
        bad_records: r.flags & jk_lb::RegistryStatus::BAD_RECORDS != 0,
    })
}
