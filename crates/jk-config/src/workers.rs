//! From the property map to typed, validated workers (mod_jk's `jk_worker.c`, `jk_ajp_common.c`
//! `ajp_validate`/`ajp_init`, `jk_lb_worker.c` `validate`/`init`, `jk_status.c` `init`).

use std::collections::{HashMap, HashSet};

use crate::attributes::{self, Deprecated};
use crate::diagnostic::{ConfigError, Diagnostic, Location};
use crate::lb::{Activation, LbLock, LbMethod};
use crate::map::{worker_key, Key, PropertyMap};
use crate::model::*;
use crate::values::{self, Word};

/// What the caller knows that workers.properties does not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildOptions {
    /// Default `connection_pool_size`: the MPM's threads per child (1 for prefork).
    pub default_pool_size: u32,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            default_pool_size: 1,
        }
    }
}

/// mod_jk `jk_map_resolve_references`: chains of `reference` are followed this deep.
pub const MAX_REFERENCE_DEPTH: usize = 20;

const DEFAULT_WORKER: &str = "ajp13";
const DEFAULT_MAINTAIN_S: u32 = 60;
const DEFAULT_PING_TIMEOUT_MS: u32 = 10_000;
const DEFAULT_RETRIES: u32 = 2;
const DEFAULT_RETRY_INTERVAL_MS: u32 = 100;
const DEFAULT_RECOVER_TIME_S: u32 = 60;
const MIN_PACKET_SIZE: u32 = 8192;
const MAX_PACKET_SIZE: u32 = 65536;

/// One property as a worker sees it. `key` and `loc` are where the text was written (the
/// template's line for an inherited value), so messages point at the line to edit.
#[derive(Clone, Debug)]
struct Prop {
    key: String,
    value: String,
    loc: Option<Location>,
    inherited: bool,
}

#[derive(Clone, Debug, Default)]
struct WorkerProps {
    attrs: Vec<(String, Prop)>,
}

impl WorkerProps {
    fn get(&self, attr: &str) -> Option<&Prop> {
        self.attrs.iter().find(|(a, _)| a == attr).map(|(_, p)| p)
    }

    fn first_loc(&self) -> Option<&Location> {
        self.get("type")
            .or_else(|| self.attrs.first().map(|(_, p)| p))
            .and_then(|p| p.loc.as_ref())
    }
}

struct Diags {
    list: Vec<Diagnostic>,
}

impl Diags {
    fn error(&mut self, loc: Option<&Location>, key: Option<&str>, msg: impl Into<String>) {
        self.list.push(Diagnostic::error(loc, key, msg));
    }

    fn warning(&mut self, loc: Option<&Location>, key: Option<&str>, msg: impl Into<String>) {
        self.list.push(Diagnostic::warning(loc, key, msg));
    }

    fn on(&mut self, p: &Prop, error: bool, worker: &str, msg: String) {
        let msg = if p.inherited {
            format!("{msg} (inherited by worker '{worker}')")
        } else {
            msg
        };
        self.list.push(if error {
            Diagnostic::error(p.loc.as_ref(), Some(&p.key), msg)
        } else {
            Diagnostic::warning(p.loc.as_ref(), Some(&p.key), msg)
        });
    }
}

/// Builds the typed model. Collects every error before failing.
pub fn build(map: &PropertyMap, opts: &BuildOptions) -> Result<WorkersConfig, ConfigError> {
    let mut d = Diags { list: Vec::new() };
    let (order, mut props) = collect(map);
    resolve_references(&order, &mut props, &mut d);

    let list = worker_list(map, &mut d);
    let maintain_secs = maintain(map, &mut d);

    let mut workers: Vec<Worker> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let empty = WorkerProps::default();
    let list_loc = map.location("worker.list");
    for name in &list {
        let p = match props.get(name) {
            Some(p) => p,
            None => {
                d.warning(
                    list_loc,
                    Some("worker.list"),
                    format!(
                        "worker '{name}' has no properties; it is an ajp13 worker to \
                         localhost:8009 (mod_jk default)"
                    ),
                );
                &empty
            }
        };
        if let Some(w) = build_worker(name, p, list_loc, opts, &mut d) {
            index.insert(name.clone(), workers.len());
            workers.push(w);
        }
    }

    // Members of listed lb workers are instantiated too, even when not listed themselves.
    let lbs: Vec<usize> = (0..workers.len())
        .filter(|&i| workers[i].as_lb().is_some())
        .collect();
    for &i in &lbs {
        let members = workers[i]
            .as_lb()
            .map(|l| l.members.clone())
            .unwrap_or_default();
        let lb_name = workers[i].name.clone();
        let members_prop = member_prop(&props, &lb_name);
        for m in members {
            if index.contains_key(&m) {
                continue;
            }
            let Some(p) = props.get(&m) else {
                let msg = format!(
                    "member '{m}' is not defined (no worker.{m}.* property and not in \
                     worker.list)"
                );
                report_member(&mut d, members_prop, &lb_name, msg);
                continue;
            };
            if let Some(w) = build_worker(&m, p, None, opts, &mut d) {
                index.insert(m.clone(), workers.len());
                workers.push(w);
            }
        }
    }
    for &i in &lbs {
        check_members(i, &mut workers, &index, &props, &mut d);
    }
    let mut growth = Vec::new();
    for &i in &lbs {
        add_growth_slots(i, &mut workers, &mut growth, &index, &props, opts, &mut d);
    }

    let mounts = collect_mounts(&list, &workers, &props, &mut d);

    let mut warnings: Vec<Diagnostic> = map.warnings().to_vec();
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for diag in d.list {
        if !seen.insert(diag.to_string()) {
            continue;
        }
        if diag.is_error() {
            errors.push(diag);
        } else {
            warnings.push(diag);
        }
    }
    if !errors.is_empty() {
        return Err(ConfigError { errors });
    }
    let by_name = workers
        .iter()
        .enumerate()
        .map(|(i, w)| (w.name.clone(), (false, i)))
        .chain(
            growth
                .iter()
                .enumerate()
                .map(|(i, w)| (w.name.clone(), (true, i))),
        )
        .collect();
    Ok(WorkersConfig {
        list,
        maintain_secs,
        workers,
        growth,
        mounts,
        warnings,
        by_name,
    })
}

/// Groups `worker.<name>.<attr>` properties by worker, in order of first appearance.
fn collect(map: &PropertyMap) -> (Vec<String>, HashMap<String, WorkerProps>) {
    let mut order = Vec::new();
    let mut props: HashMap<String, WorkerProps> = HashMap::new();
    for e in map.raw_entries() {
        if let Key::Worker { name, attr } = worker_key(&e.key) {
            if !props.contains_key(name) {
                order.push(name.to_owned());
            }
            props.entry(name.to_owned()).or_default().attrs.push((
                attr.to_owned(),
                Prop {
                    key: e.key.clone(),
                    value: e.value.clone(),
                    loc: e.loc.clone(),
                    inherited: false,
                },
            ));
        }
    }
    (order, props)
}

/// `worker.<w>.reference=worker.<template>`: copies every template attribute `<w>` does not set.
fn resolve_references(order: &[String], props: &mut HashMap<String, WorkerProps>, d: &mut Diags) {
    let mut done = HashSet::new();
    for name in order {
        let mut chain = Vec::new();
        resolve_one(name, &mut chain, props, &mut done, d);
    }
}

fn resolve_one(
    name: &str,
    chain: &mut Vec<String>,
    props: &mut HashMap<String, WorkerProps>,
    done: &mut HashSet<String>,
    d: &mut Diags,
) {
    if done.contains(name) {
        return;
    }
    let Some(reference) = props.get(name).and_then(|p| p.get("reference")).cloned() else {
        done.insert(name.to_owned());
        return;
    };
    let Some(target) = reference_target(&reference, name, props, d) else {
        done.insert(name.to_owned());
        return;
    };
    if target == name || chain.iter().any(|c| c == &target) {
        let mut path: Vec<String> = chain.iter().map(|c| format!("worker.{c}")).collect();
        path.push(format!("worker.{name}"));
        path.push(format!("worker.{target}"));
        d.on(
            &reference,
            true,
            name,
            format!("reference loop: {}", path.join(" -> ")),
        );
        done.insert(name.to_owned());
        return;
    }
    if chain.len() >= MAX_REFERENCE_DEPTH {
        d.on(
            &reference,
            true,
            name,
            format!("references are nested more than {MAX_REFERENCE_DEPTH} deep"),
        );
        done.insert(name.to_owned());
        return;
    }
    chain.push(name.to_owned());
    resolve_one(&target, chain, props, done, d);
    chain.pop();
    let inherited: Vec<(String, Prop)> = props
        .get(&target)
        .map(|t| {
            t.attrs
                .iter()
                .filter(|(a, _)| a != "reference")
                .map(|(a, p)| {
                    (
                        a.clone(),
                        Prop {
                            inherited: true,
                            ..p.clone()
                        },
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(own) = props.get_mut(name) {
        for (attr, p) in inherited {
            if own.get(&attr).is_none() {
                own.attrs.push((attr, p));
            }
        }
    }
    done.insert(name.to_owned());
}

/// The worker a `reference` value names; the value must be the full prefix `worker.<name>`.
fn reference_target(
    reference: &Prop,
    name: &str,
    props: &HashMap<String, WorkerProps>,
    d: &mut Diags,
) -> Option<String> {
    let value = reference.value.trim_end_matches('.');
    if let Some(t) = value.strip_prefix("worker.") {
        if props.contains_key(t) {
            return Some(t.to_owned());
        }
    }
    let hint = if props.contains_key(value) {
        format!(" (did you mean 'worker.{value}'?)")
    } else {
        let names: Vec<&str> = props.keys().map(String::as_str).collect();
        let bare = value.strip_prefix("worker.").unwrap_or(value);
        attributes::nearest(bare, &names)
            .map(|n| format!(" (did you mean 'worker.{n}'?)"))
            .unwrap_or_default()
    };
    d.on(
        reference,
        true,
        name,
        format!(
            "reference '{}' not found: no property starts with '{value}.'{hint}",
            reference.value
        ),
    );
    None
}

fn worker_list(map: &PropertyMap, d: &mut Diags) -> Vec<String> {
    let Some(value) = map.get("worker.list") else {
        return vec![DEFAULT_WORKER.to_owned()];
    };
    let loc = map.location("worker.list");
    let mut list: Vec<String> = Vec::new();
    for name in values::list(value) {
        if !list.iter().any(|n| n == name) {
            check_name(name, loc, "worker.list", d);
            list.push(name.to_owned());
        }
    }
    if list.is_empty() {
        d.warning(
            loc,
            Some("worker.list"),
            "names no worker; nothing is instantiated",
        );
    }
    list
}

fn check_name(name: &str, loc: Option<&Location>, key: &str, d: &mut Diags) {
    if name.len() > values::MAX_NAME_BYTES {
        d.error(
            loc,
            Some(key),
            format!(
                "worker name '{name}' is {} bytes too long, at most {} bytes are supported",
                name.len() - values::MAX_NAME_BYTES,
                values::MAX_NAME_BYTES
            ),
        );
    } else if !values::is_documented_name(name) {
        d.warning(
            loc,
            Some(key),
            format!("worker name '{name}' has characters outside A-Z a-z 0-9 _ -"),
        );
    }
}

fn maintain(map: &PropertyMap, d: &mut Diags) -> u32 {
    let Some(value) = map.get("worker.maintain") else {
        return DEFAULT_MAINTAIN_S;
    };
    let loc = map.location("worker.maintain");
    match values::int_in(value, i64::from(i32::MIN), i64::from(i32::MAX)) {
        Ok(n) if n < 0 => {
            d.warning(
                loc,
                Some("worker.maintain"),
                format!("\"{value}\" is read as 0 (maintenance disabled)"),
            );
            0
        }
        Ok(n) => n as u32,
        Err(m) => {
            d.error(loc, Some("worker.maintain"), m);
            DEFAULT_MAINTAIN_S
        }
    }
}

/// Reads one worker's attributes, reporting into `d`.
struct Reader<'a> {
    name: &'a str,
    props: &'a WorkerProps,
    d: &'a mut Diags,
}

impl<'a> Reader<'a> {
    fn prop(&self, attr: &str) -> Option<&'a Prop> {
        self.props.get(attr)
    }

    /// The current attribute, else its deprecated alias.
    fn prop_or(&self, attr: &str, alias: &str) -> Option<&'a Prop> {
        self.props.get(attr).or_else(|| self.props.get(alias))
    }

    fn error(&mut self, p: &Prop, msg: String) {
        self.d.on(p, true, self.name, msg);
    }

    fn warn(&mut self, p: &Prop, msg: String) {
        self.d.on(p, false, self.name, msg);
    }

    fn parse<T>(
        &mut self,
        p: Option<&Prop>,
        default: T,
        f: impl Fn(&str) -> Result<T, String>,
    ) -> T {
        match p {
            None => default,
            Some(p) => match f(&p.value) {
                Ok(v) => v,
                Err(m) => {
                    self.error(p, m);
                    default
                }
            },
        }
    }

    fn uint(&mut self, attr: &str, default: u32) -> u32 {
        let p = self.prop(attr);
        self.parse(p, default, values::non_negative)
    }

    /// A count mod_jk raises to `min` (e.g. lbfactor 0 → 1): accepted with a warning.
    fn count_min(&mut self, p: Option<&Prop>, default: u32, min: u32) -> u32 {
        let n = self.parse(p, default, values::non_negative);
        match p {
            Some(p) if n < min => {
                self.warn(
                    p,
                    format!("\"{}\" is raised to {min}, as mod_jk does", p.value),
                );
                min
            }
            _ => n,
        }
    }

    fn boolean(&mut self, attr: &str, default: bool) -> bool {
        let p = self.prop(attr);
        self.parse(p, default, values::boolean)
    }

    fn string(&self, attr: &str) -> Option<String> {
        self.prop(attr).map(|p| p.value.clone())
    }

    /// Strings mod_jk stores in 60-byte fields.
    fn short(&mut self, p: Option<&Prop>) -> Option<String> {
        let p = p?;
        match values::short_string(&p.value) {
            Ok(s) => Some(s.to_owned()),
            Err(m) => {
                self.error(p, m);
                None
            }
        }
    }

    /// An enum word; one mod_jk reads by its first letter only is accepted with a warning.
    fn word<T: Copy + std::fmt::Display>(
        &mut self,
        attr: &str,
        default: T,
        f: impl Fn(&str) -> Result<Word<T>, String>,
    ) -> T {
        let Some(p) = self.prop(attr) else {
            return default;
        };
        match f(&p.value) {
            Ok(w) => {
                if !w.exact {
                    self.warn(
                        p,
                        format!(
                            "\"{}\" is read as '{}' (by its first letter)",
                            p.value, w.value
                        ),
                    );
                }
                w.value
            }
            Err(m) => {
                self.error(p, m);
                default
            }
        }
    }

    /// Attributes this type of worker never reads (mod_jk ignores them silently).
    fn warn_inapplicable(&mut self, kind: u8, kind_name: &str) {
        for (attr, p) in &self.props.attrs {
            if p.inherited || matches!(attributes::deprecated(attr), Some(Deprecated::Ignored)) {
                continue;
            }
            if attributes::applies_to(attr) & kind == 0 && attr != "list" && attr != "maintain" {
                self.d.on(
                    p,
                    false,
                    self.name,
                    format!("'{attr}' has no effect on {kind_name} worker"),
                );
            }
        }
    }
}

fn build_worker(
    name: &str,
    props: &WorkerProps,
    fallback_loc: Option<&Location>,
    opts: &BuildOptions,
    d: &mut Diags,
) -> Option<Worker> {
    let mut r = Reader { name, props, d };
    let wtype = match r.prop("type") {
        None => WorkerType::Ajp13,
        Some(p) => match values::worker_type(&p.value) {
            Ok(t) => t,
            Err(m) => {
                r.error(p, m);
                return None;
            }
        },
    };
    let kind = match wtype {
        WorkerType::Ajp12 => WorkerKind::Ajp(ajp(&mut r, AjpProtocol::Ajp12, opts)),
        WorkerType::Ajp13 => WorkerKind::Ajp(ajp(&mut r, AjpProtocol::Ajp13, opts)),
        WorkerType::Ajp14 => WorkerKind::Ajp(ajp(&mut r, AjpProtocol::Ajp14, opts)),
        WorkerType::Lb => WorkerKind::Lb(lb(&mut r)),
        WorkerType::Status => WorkerKind::Status(status(&mut r)),
    };
    let loc = props.first_loc().or(fallback_loc).cloned();
    Some(Worker {
        name: name.to_owned(),
        loc,
        kind,
    })
}

fn ajp(r: &mut Reader<'_>, protocol: AjpProtocol, opts: &BuildOptions) -> AjpWorker {
    r.warn_inapplicable(attributes::AJP, "an ajp");
    let host_prop = r.prop("host");
    let host = r.short(host_prop).unwrap_or_else(|| "localhost".to_owned());
    if let Some(p) = host_prop {
        // mod_jk documents `host:port` but never parses it: resolution fails, the port is 0.
        if let Some((_, port)) = host.rsplit_once(':') {
            if !host.contains("::") && host.matches(':').count() == 1 && !port.is_empty() {
                r.error(
                    p,
                    format!(
                        "\"{host}\": a port in host is not supported, use worker.{}.port",
                        r.name
                    ),
                );
            }
        }
    }
    let port_prop = r.prop("port");
    let port = r.parse(port_prop, protocol.default_port(), values::port);
    let source_prop = r.prop("source");
    let source = r.short(source_prop);
    let prefer_ipv6 = r.boolean("prefer_ipv6", false);
    let socket_timeout_s = r.uint("socket_timeout", 0);
    let socket_connect_timeout_ms = r.uint(
        "socket_connect_timeout",
        socket_timeout_s.saturating_mul(1000),
    );
    let socket_keepalive = r.boolean("socket_keepalive", false);
    let ping_prop = r.prop("ping_mode");
    let ping_mode = r.parse(ping_prop, PingMode::NONE, values::ping_mode);
    let ping_timeout_ms = r.uint("ping_timeout", DEFAULT_PING_TIMEOUT_MS);
    let if_mode = |m: PingMode, v: u32| if ping_mode.contains(m) { v } else { 0 };
    let connect_timeout_ms = r.uint(
        "connect_timeout",
        if_mode(PingMode::CONNECT, ping_timeout_ms),
    );
    let prepost_timeout_ms = r.uint(
        "prepost_timeout",
        if_mode(PingMode::PREPOST, ping_timeout_ms),
    );
    let connection_ping_interval_s = r.uint(
        "connection_ping_interval",
        if_mode(PingMode::INTERVAL, ping_timeout_ms / 100),
    );
    let reply_timeout_ms = r.uint("reply_timeout", 0);
    let retries_prop = r.prop("retries");
    let retries = r.count_min(retries_prop, DEFAULT_RETRIES, 1);
    let retry_interval_ms = r.uint("retry_interval", DEFAULT_RETRY_INTERVAL_MS);
    let recovery_options = RecoveryOptions(r.uint("recovery_options", 0));
    if let Some(p) = r.prop("recovery_options") {
        if recovery_options.0 & !RecoveryOptions::KNOWN_BITS != 0 {
            r.warn(
                p,
                format!(
                    "\"{}\" sets bits other than 1, 2, 4, 8, 16; they have no effect",
                    p.value
                ),
            );
        }
    }
    let fos_prop = r.prop("fail_on_status");
    let fail_on_status = r.parse(fos_prop, Vec::new(), values::status_codes);
    let busy_limit = r.uint("busy_limit", 0);
    let rp_prop = r.prop("ready_probes");
    let ready_probes = r.count_min(rp_prop, 2, 1);
    let health_url = r.string("health_url");
    if let (Some(u), Some(p)) = (&health_url, r.prop("health_url")) {
        if !u.starts_with('/') {
            r.error(p, format!("\"{u}\" is not a path (it must start with '/')"));
        }
    }
    let slow_start_s = r.uint("slow_start", 0);
    let max_packet_size = packet_size(r);
    let mut socket_buffer = r.uint("socket_buffer", 0);
    if socket_buffer > 0 && socket_buffer < max_packet_size {
        if let Some(p) = r.prop("socket_buffer") {
            r.warn(
                p,
                format!(
                    "\"{}\" is raised to max_packet_size {max_packet_size}",
                    p.value
                ),
            );
        }
        socket_buffer = max_packet_size;
    }
    let secret = r.string("secret");
    let secretkey = r.string("secretkey");
    let pool_prop = r.prop_or("connection_pool_size", "cachesize");
    let connection_pool_size = r.parse(pool_prop, opts.default_pool_size.max(1), |v| {
        values::int_in(v, 1, i64::from(i32::MAX)).map(|n| n as u32)
    });
    let min_prop = r.prop("connection_pool_minsize");
    let mut connection_pool_minsize = r.parse(
        min_prop,
        connection_pool_size.div_ceil(2),
        values::non_negative,
    );
    if connection_pool_minsize > connection_pool_size {
        if let Some(p) = min_prop {
            r.warn(
                p,
                format!(
                    "\"{}\" is lowered to connection_pool_size {connection_pool_size}",
                    p.value
                ),
            );
        }
        connection_pool_minsize = connection_pool_size;
    }
    let timeout_prop = r.prop_or("connection_pool_timeout", "cache_timeout");
    let connection_pool_timeout_s = r.parse(timeout_prop, 0, values::non_negative);
    let connection_acquire_timeout_ms = r.uint(
        "connection_acquire_timeout",
        retries.saturating_mul(retry_interval_ms),
    );
    let lbr_prop = r.prop("lb_retries");
    let lb_retries = r.count_min(lbr_prop, DEFAULT_RETRIES, 1);
    let lbf_prop = r.prop("lbfactor");
    let lbfactor = r.count_min(lbf_prop, 1, 1);
    let route_prop = r.prop_or("route", "jvm_route");
    let route = r.short(route_prop).unwrap_or_else(|| r.name.to_owned());
    let domain_prop = r.prop("domain");
    // A route `node.a` implies domain `node` when none is configured (mod_jk lb init).
    let domain = r.short(domain_prop).unwrap_or_else(|| {
        route
            .split_once('.')
            .map(|(dom, _)| dom.to_owned())
            .unwrap_or_default()
    });
    let redirect_prop = r.prop("redirect");
    let redirect = r.short(redirect_prop);
    let distance = r.uint("distance", 0);
    let mut activation = activation(r);
    if port == 0 {
        activation = Activation::Stopped;
        if let Some(p) = port_prop {
            r.warn(
                p,
                "port 0 disables contact: the worker's activation is Stopped".to_owned(),
            );
        }
    }
    AjpWorker {
        protocol,
        host,
        port,
        source,
        prefer_ipv6,
        socket_timeout_s,
        socket_connect_timeout_ms,
        socket_keepalive,
        socket_buffer,
        ping_mode,
        ping_timeout_ms,
        connect_timeout_ms,
        prepost_timeout_ms,
        connection_ping_interval_s,
        reply_timeout_ms,
        retries,
        retry_interval_ms,
        recovery_options,
        fail_on_status,
        busy_limit,
        ready_probes,
        health_url,
        slow_start_s,
        max_packet_size,
        secret,
        secretkey,
        connection_pool_size,
        connection_pool_minsize,
        connection_pool_timeout_s,
        connection_acquire_timeout_ms,
        lb_retries,
        lbfactor,
        route,
        domain,
        redirect,
        distance,
        activation,
        growth_of: None,
    }
}

/// Rounded up to a multiple of 1024 and kept within [8192, 65536], as mod_jk does.
fn packet_size(r: &mut Reader<'_>) -> u32 {
    let Some(p) = r.prop("max_packet_size") else {
        return MIN_PACKET_SIZE;
    };
    let n = r.parse(Some(p), MIN_PACKET_SIZE, values::non_negative);
    let fixed = n
        .div_ceil(1024)
        .saturating_mul(1024)
        .clamp(MIN_PACKET_SIZE, MAX_PACKET_SIZE);
    if fixed != n {
        r.warn(
            p,
            format!(
                "\"{}\" is changed to {fixed} (a multiple of 1024 within 8192-65536)",
                p.value
            ),
        );
    }
    fixed
}

/// `activation`, else the deprecated booleans `stopped` then `disabled`.
fn activation(r: &mut Reader<'_>) -> Activation {
    if r.prop("activation").is_some() {
        return r.word("activation", Activation::Active, values::activation);
    }
    if r.boolean("stopped", false) {
        return Activation::Stopped;
    }
    if r.boolean("disabled", false) {
        return Activation::Disabled;
    }
    Activation::Active
}

fn lb(r: &mut Reader<'_>) -> LbWorker {
    r.warn_inapplicable(attributes::LB, "an lb");
    let mut members: Vec<String> = Vec::new();
    for attr in ["balance_workers", "balanced_workers"] {
        let Some(p) = r.prop(attr) else { continue };
        for m in values::list(&p.value) {
            if members.iter().any(|x| x == m) {
                r.warn(p, format!("member '{m}' is named twice"));
            } else {
                check_name(m, p.loc.as_ref(), &p.key, r.d);
                members.push(m.to_owned());
            }
        }
    }
    // An lb that discovers its members (DNS, a registry) may start with none configured: its
    // members then take the settings of the worker named by `template`.
    let discovers = r.prop("discover_dns").is_some() || r.prop("discovery").is_some();
    if members.is_empty() && !discovers {
        let loc = r.props.first_loc().cloned();
        r.d.error(
            loc.as_ref(),
            Some(&format!("worker.{}.balance_workers", r.name)),
            format!(
                "lb worker '{}' has no members (set balance_workers, or discover_dns with a \
                 template)",
                r.name
            ),
        );
    } else if members.is_empty() && r.prop("template").is_none() {
        let loc = r.props.first_loc().cloned();
        r.d.error(
            loc.as_ref(),
            Some(&format!("worker.{}.template", r.name)),
            format!(
                "lb worker '{}' has no configured members: name the ajp13 worker whose \
                 settings its discovered members take (template)",
                r.name
            ),
        );
    }
    let sticky_session = r.boolean("sticky_session", true);
    let sticky_session_force = r.boolean("sticky_session_force", false);
    let method = r.word("method", LbMethod::Request, values::lb_method);
    let lock = r.word("lock", LbLock::Optimistic, values::lb_lock);
    let retries_prop = r.prop("retries");
    let retries = r.count_min(retries_prop, DEFAULT_RETRIES, 1);
    let lbr_prop = r.prop("lb_retries");
    let lb_retries = r.count_min(lbr_prop, DEFAULT_RETRIES, 1);
    let retry_interval_ms = r.uint("retry_interval", DEFAULT_RETRY_INTERVAL_MS);
    let rt_prop = r.prop("recover_time");
    let recover_time_s = r.count_min(rt_prop, DEFAULT_RECOVER_TIME_S, 1);
    let error_escalation_time_s = r.uint("error_escalation_time", recover_time_s / 2);
    let max_reply_timeouts = r.uint("max_reply_timeouts", 0);
    let hold_timeout_ms = r.uint("hold_timeout", 0);
    let hold_max = r.uint("hold_max", 0);
    let pi_prop = r.prop("probe_interval");
    let probe_interval_ms = r.count_min(pi_prop, 500, 50);
    let sw_prop = r.prop("session_window");
    let session_window_s = r.count_min(sw_prop, 60, 1);
    let replay_buffer = r.uint("replay_buffer", 65_536);
    let p = r.prop("session_cookie");
    let session_cookie = r.short(p).unwrap_or_else(|| "JSESSIONID".to_owned());
    let p = r.prop("session_path");
    let session_path = r.short(p).unwrap_or_else(|| ";jsessionid".to_owned());
    let set_session_cookie = r.boolean("set_session_cookie", false);
    let p = r.prop("session_cookie_path");
    let session_cookie_path = r.short(p).unwrap_or_else(|| "/".to_owned());
    let secret = r.string("secret");
    let discover_dns = match r.prop("discover_dns") {
        None => None,
        Some(p) => match values::host_port(&p.value) {
            Ok((name, port)) => Some(DnsDiscovery { name, port }),
            Err(m) => {
                r.error(p, m);
                None
            }
        },
    };
    let discovery_zk = match r.prop("discovery") {
        None => None,
        Some(p) => match values::zk_url(&p.value) {
            Ok((servers, path)) => Some(ZkDiscovery {
                servers,
                path,
                session_timeout_ms: 0,
                auth: None,
            }),
            Err(m) => {
                r.error(p, m);
                None
            }
        },
    };
    let st_prop = r.prop("discover_session_timeout");
    let mut session_timeout_s = r.parse(st_prop, 10, values::non_negative);
    if let Some(p) = st_prop.filter(|_| session_timeout_s < 2) {
        r.warn(
            p,
            format!(
                "\"{}\" is raised to 2 (ZooKeeper sessions are at least two ticks)",
                p.value
            ),
        );
        session_timeout_s = 2;
    }
    let auth = match r.prop("discover_auth") {
        None => None,
        Some(p) => match p.value.split_once(':') {
            Some((u, pw)) if !u.is_empty() && !pw.is_empty() && p.value.len() <= 256 => {
                Some(p.value.clone())
            }
            _ => {
                r.error(
                    p,
                    "is not USER:PASSWORD (ZooKeeper digest credentials)".into(),
                );
                None
            }
        },
    };
    let discovery_zk = discovery_zk.map(|z| ZkDiscovery {
        session_timeout_ms: session_timeout_s.saturating_mul(1000),
        auth,
        ..z
    });
    if let (Some(p), Some(_)) = (r.prop("discovery"), &discover_dns) {
        r.error(
            p,
            "an lb follows one discovery source: discovery and discover_dns are both set".into(),
        );
    }
    let default_growth = if discover_dns.is_some() || discovery_zk.is_some() {
        DEFAULT_DNS_GROWTH
    } else {
        DEFAULT_GROWTH
    };
    let growth = match r.prop("growth") {
        Some(p) => {
            let n = r.parse(Some(p), default_growth, values::non_negative);
            if n > MAX_GROWTH {
                r.error(p, format!("\"{}\" is more than {MAX_GROWTH}", p.value));
                MAX_GROWTH
            } else {
                n
            }
        }
        None => default_growth,
    };
    for key in ["discover_dns", "discovery"] {
        if let (Some(p), 0) = (r.prop(key), growth) {
            r.error(
                p,
                format!("{key} needs room for the members it finds: growth must not be 0"),
            );
        }
    }
    let template = r
        .string("template")
        .or_else(|| members.first().cloned())
        .unwrap_or_default();
    let drain_timeout_s = r.uint("drain_timeout", 600);
    let drain_idle_s = r.uint("drain_idle", 60);
    let di_prop = r.prop("discover_interval");
    let discover_interval_s = r.count_min(di_prop, 5, 1);
    let discover_hold_s = r.uint("discover_hold", 30);
    let state_file = r.string("state_file").filter(|s| !s.is_empty());
    LbWorker {
        members,
        sticky_session,
        sticky_session_force,
        method,
        lock,
        retries,
        lb_retries,
        retry_interval_ms,
        recover_time_s,
        error_escalation_time_s,
        max_reply_timeouts,
        hold_timeout_ms,
        hold_max,
        probe_interval_ms,
        session_window_s,
        replay_buffer,
        session_cookie,
        session_path,
        set_session_cookie,
        session_cookie_path,
        secret,
        max_packet_size: MIN_PACKET_SIZE,
        growth,
        growth_members: Vec::new(),
        template,
        drain_timeout_s,
        drain_idle_s,
        discover_dns,
        discovery_zk,
        discover_interval_s,
        discover_hold_s,
        state_file,
    }
}

fn status(r: &mut Reader<'_>) -> StatusWorker {
    r.warn_inapplicable(attributes::STATUS, "a status");
    let read_only = r.boolean("read_only", false);
    let users = r
        .prop("user")
        .map(|p| values::list(&p.value).map(str::to_owned).collect())
        .unwrap_or_default();
    let user_case_insensitive = r.boolean("user_case_insensitive", false);
    let default_good = || ["a.o", "a.n", "a.b", "a.r"].map(String::from).to_vec();
    let p = r.prop("good");
    let good = r.parse(p, default_good(), values::ratings);
    let p = r.prop("bad");
    let bad = r.parse(p, vec!["s".to_owned(), "e".to_owned()], values::ratings);
    let none_if_dash = |v: String| if v == "-" { None } else { Some(v) };
    StatusWorker {
        read_only,
        users,
        user_case_insensitive,
        good,
        bad,
        css: r.string("css"),
        prefix: r.string("prefix").unwrap_or_else(|| "worker".to_owned()),
        ns: none_if_dash(r.string("ns").unwrap_or_else(|| "jk:".to_owned())),
        xmlns: none_if_dash(
            r.string("xmlns")
                .unwrap_or_else(|| "xmlns:jk=\"http://tomcat.apache.org\"".to_owned()),
        ),
        doctype: r.string("doctype"),
        write_requires_token: r.boolean("write_requires_token", false),
    }
}

fn member_prop<'a>(props: &'a HashMap<String, WorkerProps>, lb: &str) -> Option<&'a Prop> {
    props.get(lb).and_then(|p| {
        p.get("balance_workers")
            .or_else(|| p.get("balanced_workers"))
    })
}

fn report_member(d: &mut Diags, members_prop: Option<&Prop>, lb: &str, msg: String) {
    match members_prop {
        Some(p) => d.on(p, true, lb, msg),
        None => d.error(None, Some(&format!("worker.{lb}.balance_workers")), msg),
    }
}

/// Member rules of mod_jk's lb `validate`/`init`: members are ajp13/ajp14 workers with distinct
/// routes; they inherit the lb's `secret`; `redirect` should name another member's route.
fn check_members(
    lb_index: usize,
    workers: &mut [Worker],
    index: &HashMap<String, usize>,
    props: &HashMap<String, WorkerProps>,
    d: &mut Diags,
) {
    let lb_name = workers[lb_index].name.clone();
    let Some(lb) = workers[lb_index].as_lb().cloned() else {
        return;
    };
    let members_prop = member_prop(props, &lb_name);
    let mut routes: Vec<(String, String)> = Vec::new();
    let mut max_packet = MIN_PACKET_SIZE;
    let mut good = Vec::new();
    for m in &lb.members {
        let Some(&i) = index.get(m) else { continue };
        let wtype = workers[i].worker_type();
        let WorkerKind::Ajp(a) = &mut workers[i].kind else {
            report_member(
                d,
                members_prop,
                &lb_name,
                format!(
                    "member '{m}' is {} {wtype} worker; members must be ajp13 or ajp14 workers",
                    if wtype == WorkerType::Lb { "an" } else { "a" }
                ),
            );
            continue;
        };
        if a.protocol == AjpProtocol::Ajp12 {
            report_member(
                d,
                members_prop,
                &lb_name,
                format!("member '{m}' is an ajp12 worker; members must be ajp13 or ajp14 workers"),
            );
            continue;
        }
        if a.secret.is_none() {
            a.secret.clone_from(&lb.secret);
        }
        max_packet = max_packet.max(a.max_packet_size);
        let route_prop = props
            .get(m)
            .and_then(|p| p.get("route").or_else(|| p.get("jvm_route")));
        if let Some((other, _)) = routes.iter().find(|(_, r)| *r == a.route) {
            let msg = format!(
                "route '{}' of member '{m}' is already the route of member '{other}' in \
                 lb '{lb_name}'",
                a.route
            );
            match route_prop {
                Some(p) => d.on(p, true, m, msg),
                None => report_member(d, members_prop, &lb_name, msg),
            }
        } else {
            routes.push((m.clone(), a.route.clone()));
        }
        good.push(i);
    }
    for &i in &good {
        let Some(a) = workers[i].as_ajp() else {
            continue;
        };
        let Some(redirect) = &a.redirect else {
            continue;
        };
        if !routes
            .iter()
            .any(|(n, r)| r == redirect && *n != workers[i].name)
        {
            if let Some(p) = props.get(&workers[i].name).and_then(|p| p.get("redirect")) {
                d.on(
                    p,
                    false,
                    &workers[i].name,
                    format!(
                        "redirect '{redirect}' is not the route of another member of lb \
                         '{lb_name}'"
                    ),
                );
            }
        }
    }
    if let WorkerKind::Lb(l) = &mut workers[lb_index].kind {
        l.max_packet_size = max_packet;
    }
}

/// The longest worker name a growth slot may get (`<lb>~<n>` is stored in the shared
/// region's 64-byte string fields).
const MAX_GROWTH_NAME: usize = 60;

/// mod_jk-rs runtime membership: lb `lb_index`'s growth slots, hidden spare members named
/// `<lb>~1` ..., go to `growth` and their names to the lb's `growth_members`. Each is a copy
/// of the lb's template worker (its AJP settings) with port 0 (contact disabled, activation
/// Stopped) and its own name as route, until a member is added into it at runtime. A
/// template named by `template` that is no ajp13 worker is an error; without `template`, an
/// lb whose first member is no ajp13 worker (already an error) gets no growth slots.
fn add_growth_slots(
    lb_index: usize,
    workers: &mut [Worker],
    growth: &mut Vec<Worker>,
    index: &HashMap<String, usize>,
    props: &HashMap<String, WorkerProps>,
    opts: &BuildOptions,
    d: &mut Diags,
) {
    let lb_name = workers[lb_index].name.clone();
    let Some(lb) = workers[lb_index].as_lb().cloned() else {
        return;
    };
    if lb.growth == 0 {
        return;
    }
    let template_prop = props.get(&lb_name).and_then(|p| p.get("template"));
    let template_error = |d: &mut Diags, msg: String| {
        if let Some(p) = template_prop {
            d.on(p, true, &lb_name, msg);
        }
    };
    // The template: a worker already built (listed or a member), else one defined only by
    // its properties.
    let built;
    let template = match index.get(&lb.template) {
        Some(&i) => &workers[i],
        None => {
            let Some(p) = props.get(&lb.template) else {
                template_error(
                    d,
                    format!(
                        "template '{}' is not defined (no worker.{}.* property)",
                        lb.template, lb.template
                    ),
                );
                return;
            };
            let mut quiet = Diags { list: Vec::new() };
            let Some(w) = build_worker(&lb.template, p, None, opts, &mut quiet) else {
                template_error(
                    d,
                    format!("template '{}' is not a valid worker", lb.template),
                );
                return;
            };
            built = w;
            &built
        }
    };
    let Some(mut base) = template
        .as_ajp()
        .filter(|a| a.protocol != AjpProtocol::Ajp12)
        .cloned()
    else {
        template_error(
            d,
            format!(
                "template '{}' is not an ajp13 worker; added members copy an ajp13 worker's \
                 settings",
                lb.template
            ),
        );
        return;
    };
    if base.secret.is_none() {
        base.secret.clone_from(&lb.secret);
    }
    base.port = 0;
    base.activation = Activation::Stopped;
    base.redirect = None;
    base.domain = String::new();
    base.growth_of = Some(lb_name.clone());
    if lb_name.len() + 1 + lb.growth.to_string().len() > MAX_GROWTH_NAME {
        let p = props.get(&lb_name).and_then(|p| p.get("growth"));
        let msg = format!(
            "lb worker name '{lb_name}' is too long for growth slots named '{lb_name}~N' (at \
             most {MAX_GROWTH_NAME} bytes); shorten it or set growth=0"
        );
        match p {
            Some(p) => d.on(p, true, &lb_name, msg),
            None => d.error(None, Some(&format!("worker.{lb_name}.growth")), msg),
        }
        return;
    }
    let mut names = Vec::with_capacity(lb.growth as usize);
    for n in 1..=lb.growth {
        let name = format!("{lb_name}~{n}");
        let mut w = base.clone();
        w.route = name.clone();
        growth.push(Worker {
            name: name.clone(),
            loc: workers[lb_index].loc.clone(),
            kind: WorkerKind::Ajp(w),
        });
        names.push(name);
    }
    if let WorkerKind::Lb(l) = &mut workers[lb_index].kind {
        l.growth_members = names;
    }
}

fn collect_mounts(
    list: &[String],
    workers: &[Worker],
    props: &HashMap<String, WorkerProps>,
    d: &mut Diags,
) -> Vec<WorkerMount> {
    let mut mounts = Vec::new();
    for w in workers {
        let Some(p) = props.get(&w.name).and_then(|p| p.get("mount")) else {
            continue;
        };
        if !list.contains(&w.name) {
            d.on(
                p,
                false,
                &w.name,
                format!(
                    "worker '{}' is not in worker.list, its mount is ignored",
                    w.name
                ),
            );
            continue;
        }
        for pattern in values::list(&p.value) {
            mounts.push(WorkerMount {
                pattern: pattern.to_owned(),
                worker: w.name.clone(),
                loc: p.loc.clone(),
            });
        }
    }
    mounts
}
