//! Update value parameters (`vl*`, `vw*`, `va*`): parsed, range-checked and compared with
//! the current values. Invalid or out-of-range values leave the field unchanged (`None`),
//! as do values equal to the current one.

use crate::config::parse_bool;
use crate::model::{Activation, AjpSettings, LbLock, LbMethod, LbView, MemberView};
use crate::query::{atoi, Params};

/// Maximum length of host, route, redirect and domain strings.
pub const MAX_NAME_LEN: usize = 60;

/// Changes to an lb worker's settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LbChanges {
    /// `vlr` retries (> 0).
    pub retries: Option<i32>,
    /// `vlri` retry_interval (> 0).
    pub retry_interval: Option<i32>,
    /// `vlt` recover_time (> 0).
    pub recover_time: Option<i32>,
    /// `vlee` error_escalation_time (> 0).
    pub error_escalation_time: Option<i32>,
    /// `vlx` max_reply_timeouts (≥ 0).
    pub max_reply_timeouts: Option<i32>,
    /// `vls` sticky_session.
    pub sticky_session: Option<bool>,
    /// `vlf` sticky_session_force.
    pub sticky_session_force: Option<bool>,
    /// `vlm` method.
    pub method: Option<LbMethod>,
    /// `vll` lock.
    pub lock: Option<LbLock>,
}

impl LbChanges {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        *self == LbChanges::default()
    }
}

/// Changes to the AJP settings of a standalone worker or an lb member.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AjpChanges {
    /// `vahst` host (≤ 60 chars; re-resolve, close idle connections).
    pub host: Option<String>,
    /// `vaprt` port (≥ 0; re-resolve).
    pub port: Option<i32>,
    /// `vacpt` connection_pool_timeout (≥ 0).
    pub connection_pool_timeout: Option<i32>,
    /// `vapng` ping_timeout (≥ 0).
    pub ping_timeout: Option<i32>,
    /// `vact` connect_timeout (≥ 0).
    pub connect_timeout: Option<i32>,
    /// `vapt` prepost_timeout (≥ 0).
    pub prepost_timeout: Option<i32>,
    /// `vart` reply_timeout (≥ 0).
    pub reply_timeout: Option<i32>,
    /// `var` retries (≥ 1).
    pub retries: Option<i32>,
    /// `vari` retry_interval (≥ 1).
    pub retry_interval: Option<i32>,
    /// `vacpi` connection_ping_interval (≥ 1).
    pub connection_ping_interval: Option<i32>,
    /// `varo` recovery_options (≥ 0).
    pub recovery_options: Option<u32>,
    /// `vabl` busy_limit (≥ 0).
    pub busy_limit: Option<i32>,
    /// `vamps` max_packet_size (rounded up to a multiple of 1024, 8192…65536).
    pub max_packet_size: Option<u32>,
}

impl AjpChanges {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        *self == AjpChanges::default()
    }
}

/// Changes to one lb member (its balancing settings and its AJP settings).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberChanges {
    /// `vwa` activation (changing it resets the lb_values of the lb, except Busyness).
    pub activation: Option<Activation>,
    /// `vwf` lbfactor (≥ 1; lb_mult of all members is recomputed).
    pub lbfactor: Option<i32>,
    /// `vwn` route (≤ 60 chars; sets domain from route if domain empty).
    pub route: Option<String>,
    /// `vwr` redirect (≤ 60 chars).
    pub redirect: Option<String>,
    /// `vwc` domain (≤ 60 chars).
    pub domain: Option<String>,
    /// `vwd` distance (≥ 0).
    pub distance: Option<i32>,
    /// `vwm` restart maintenance (mod_jk-rs): `R`/`1` marks the member restarting (no new
    /// sessions, sticky requests held, back only through readiness); `0`/`A` clears it.
    pub restarting: Option<bool>,
    /// `va*` AJP settings of the member.
    pub ajp: AjpChanges,
}

impl MemberChanges {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        *self == MemberChanges::default()
    }
}

fn int_min(v: Option<&str>, min: i64, current: i32) -> Option<i32> {
    let n = atoi(v?);
    let n = i32::try_from(n).ok()?;
    (i64::from(n) >= min && n != current).then_some(n)
}

fn packet_size(v: Option<&str>, current: u32) -> Option<u32> {
    let n = atoi(v?);
    if n < 0 {
        return None;
    }
    let n = n.saturating_add(1023) / 1024 * 1024;
    let n = u32::try_from(n.clamp(8192, 65536)).ok()?;
    (n != current).then_some(n)
}

/// A string change: `Ok(None)` unchanged, `Err(value)` too long.
fn name(v: Option<&str>, current: &str) -> Result<Option<String>, String> {
    match v {
        None => Ok(None),
        Some(s) if s.chars().count() > MAX_NAME_LEN => Err(s.to_string()),
        Some(s) if s == current => Ok(None),
        Some(s) => Ok(Some(s.to_string())),
    }
}

fn bool_change(v: Option<&str>, current: bool) -> Option<bool> {
    parse_bool(v?).filter(|b| *b != current)
}

/// Looks a value parameter up; `get(code)` abstracts over `vxx=` and `att`/`val<N>`.
type Getter<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The lb changes requested by `params` relative to `lb`.
pub fn lb_changes(params: &Params, lb: &LbView) -> LbChanges {
    let g = |k: &str| params.get(k);
    LbChanges {
        retries: int_min(g("vlr"), 1, lb.retries),
        retry_interval: int_min(g("vlri"), 1, lb.retry_interval),
        recover_time: int_min(g("vlt"), 1, lb.recover_time),
        error_escalation_time: int_min(g("vlee"), 1, lb.error_escalation_time),
        max_reply_timeouts: int_min(g("vlx"), 0, lb.max_reply_timeouts),
        sticky_session: bool_change(g("vls"), lb.sticky_session),
        sticky_session_force: bool_change(g("vlf"), lb.sticky_session_force),
        method: g("vlm")
            .and_then(LbMethod::from_word)
            .filter(|m| *m != lb.method),
        lock: g("vll")
            .and_then(LbLock::from_word)
            .filter(|l| *l != lb.lock),
    }
}

/// The AJP changes, plus (field, value) of a too-long host name (the other changes are
/// still returned, to be applied).
pub(crate) fn ajp_changes_with(
    get: Getter<'_>,
    cur: &AjpSettings,
) -> (AjpChanges, Option<(&'static str, String)>) {
    let mut too_long = None;
    let host = match name(get("vahst").as_deref(), &cur.host) {
        Ok(h) => h,
        Err(v) => {
            too_long = Some(("host name", v));
            None
        }
    };
    let c = AjpChanges {
        host,
        port: int_min(get("vaprt").as_deref(), 0, cur.port),
        connection_pool_timeout: int_min(get("vacpt").as_deref(), 0, cur.connection_pool_timeout),
        ping_timeout: int_min(get("vapng").as_deref(), 0, cur.ping_timeout),
        connect_timeout: int_min(get("vact").as_deref(), 0, cur.connect_timeout),
        prepost_timeout: int_min(get("vapt").as_deref(), 0, cur.prepost_timeout),
        reply_timeout: int_min(get("vart").as_deref(), 0, cur.reply_timeout),
        retries: int_min(get("var").as_deref(), 1, cur.retries),
        retry_interval: int_min(get("vari").as_deref(), 1, cur.retry_interval),
        connection_ping_interval: int_min(get("vacpi").as_deref(), 1, cur.connection_ping_interval),
        recovery_options: get("varo")
            .map(|v| atoi(&v))
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n != cur.recovery_options),
        busy_limit: int_min(get("vabl").as_deref(), 0, cur.busy_limit),
        max_packet_size: packet_size(get("vamps").as_deref(), cur.max_packet_size),
    };
    (c, too_long)
}

/// The changes of a standalone ajp worker; the second value is a too-long error message.
pub fn ajp_changes(
    params: &Params,
    worker: &str,
    cur: &AjpSettings,
) -> (AjpChanges, Option<String>) {
    let get = |k: &str| params.get(k).map(String::from);
    let (c, e) = ajp_changes_with(&get, cur);
    (c, e.map(|(f, v)| too_long_message(f, &v, worker)))
}

/// The changes of one member; the second value is a too-long error message.
pub(crate) fn member_changes_with(
    get: Getter<'_>,
    m: &MemberView,
) -> (MemberChanges, Option<String>) {
    let mut err = None;
    let mut string =
        |code: &str, field: &'static str, cur: &str| match name(get(code).as_deref(), cur) {
            Ok(v) => v,
            Err(v) => {
                if err.is_none() {
                    err = Some(too_long_message(field, &v, &m.name));
                }
                None
            }
        };
    let route = string("vwn", "route", &m.route);
    let redirect = string("vwr", "redirect", &m.redirect);
    let domain = string("vwc", "domain", &m.domain);
    let (ajp, host_err) = ajp_changes_with(get, &m.settings);
    if err.is_none() {
        err = host_err.map(|(f, v)| too_long_message(f, &v, &m.name));
    }
    let c = MemberChanges {
        activation: get("vwa")
            .as_deref()
            .and_then(Activation::from_word)
            .filter(|a| *a != m.activation),
        lbfactor: int_min(get("vwf").as_deref(), 1, m.lbfactor),
        route,
        redirect,
        domain,
        distance: int_min(get("vwd").as_deref(), 0, m.distance),
        restarting: get("vwm").as_deref().and_then(|v| match v.trim() {
            "R" | "r" | "1" => Some(true),
            "0" | "A" | "a" => Some(false),
            _ => None,
        }),
        ajp,
    };
    (c, err)
}

/// The changes of one member from `vw*`/`va*` parameters.
pub fn member_changes(params: &Params, m: &MemberView) -> (MemberChanges, Option<String>) {
    let get = |k: &str| params.get(k).map(String::from);
    member_changes_with(&get, m)
}

/// `att` codes accepted for "edit this attribute for all members".
pub const ATT_CODES: [&str; 17] = [
    "vwa", "vwf", "vwn", "vwr", "vwc", "vwd", "vacpt", "vapng", "vact", "vapt", "vart", "var",
    "vari", "vacpi", "varo", "vabl", "vamps",
];

/// The change of attribute `att` for member number `index` (value from `val<index>`).
pub fn att_changes(
    params: &Params,
    att: &str,
    index: usize,
    m: &MemberView,
) -> (MemberChanges, Option<String>) {
    let val = params.val(index).map(String::from);
    let get = |k: &str| if k == att { val.clone() } else { None };
    member_changes_with(&get, m)
}

/// `new <field> '<value>' too long for sub worker '<worker>', see log file for details.`
pub fn too_long_message(field: &str, value: &str, worker: &str) -> String {
    format!("new {field} '{value}' too long for sub worker '{worker}', see log file for details.")
}
