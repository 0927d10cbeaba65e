//! Runtime membership commands (mod_jk-rs): `cmd=add` and `cmd=remove`, their parameters
//! and the checks made here before [`Apply::add_member`](crate::Apply::add_member) /
//! [`Apply::remove_member`](crate::Apply::remove_member) are asked.
//!
//! `cmd=add&w=LB&host=H&port=P[&name=N][&route=R][&template=W][&handover=M]` adds a member
//! to lb `LB` (it enters through readiness probes and slow start; with `handover=M` it waits
//! as standby and takes over member `M`'s route once `M`'s backend has stopped); `cmd=remove&w=LB&sw=M[&force=1]`
//! removes member `M` (drained first; `force=1` frees its slot at once). Empty optional
//! parameters (an HTML form's blank fields) count as absent.

use crate::config::parse_bool;
use crate::handle::msg;
use crate::model::{LbView, StatusModel};
use crate::query::Params;
use jk_config::values::{is_documented_name, MAX_NAME_BYTES};

/// A member to add at runtime (`cmd=add`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddMember {
    /// The member's worker name (`name=`); `None`: the module picks one.
    pub name: Option<String>,
    /// Backend host (`host=`).
    pub host: String,
    /// Backend AJP port (`port=`, 1..=65535).
    pub port: u16,
    /// Route (jvmRoute, `route=`); `None`: the module's default (the name).
    pub route: Option<String>,
    /// Worker whose AJP settings the member copies (`template=`); `None`: the module's
    /// default.
    pub template: Option<String>,
    /// The member whose route it takes over once that member's backend stopped
    /// (`handover=`, a handover); `None`: an ordinary member.
    pub handover: Option<String>,
}

/// A parameter's value, `None` when absent or empty (after trimming spaces).
fn non_empty<'a>(params: &'a Params, key: &str) -> Option<&'a str> {
    params.get(key).map(str::trim).filter(|v| !v.is_empty())
}

/// Checks a worker name, route or template name: at most 60 bytes of `A-Z a-z 0-9 _ -`
/// (the characters mod_jk documents for worker names).
pub fn check_member_name(what: &str, value: &str) -> Result<(), String> {
    if value.len() > MAX_NAME_BYTES {
        return Err(format!(
            "{what} '{value}' too long ({} bytes, at most {MAX_NAME_BYTES})",
            value.len()
        ));
    }
    if !is_documented_name(value) {
        return Err(format!(
            "{what} '{value}' has characters outside A-Z a-z 0-9 _ -"
        ));
    }
    Ok(())
}

/// Checks a backend host: at most 60 bytes of letters, digits and `. - _ : [ ] %` (names,
/// IPv4 and IPv6 addresses).
pub fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err(msg::NO_HOST.into());
    }
    if host.len() > MAX_NAME_BYTES {
        return Err(format!(
            "host '{host}' too long ({} bytes, at most {MAX_NAME_BYTES})",
            host.len()
        ));
    }
    if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b".-_:[]%".contains(&b))
    {
        return Err(format!(
            "host '{host}' has characters outside A-Z a-z 0-9 . - _ : [ ] %"
        ));
    }
    Ok(())
}

/// Parses a port strictly (decimal digits only) and checks 1..=65535.
pub fn check_port(port: &str) -> Result<u16, String> {
    let p = port.trim();
    if p.is_empty() {
        return Err(msg::NO_PORT.into());
    }
    p.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| p.parse::<u32>().ok())
        .flatten()
        .and_then(|v| u16::try_from(v).ok())
        .filter(|v| *v > 0)
        .ok_or_else(|| format!("port '{p}' is not a number in 1-65535"))
}

/// Whether `name` already names a worker (an lb, a member of any lb, an ajp or status
/// worker): worker names are global in mod_jk.
fn name_in_use(model: &StatusModel, name: &str) -> bool {
    model
        .lbs
        .iter()
        .any(|l| l.name == name || l.member(name).is_some())
        || model.ajp(name).is_some()
        || model.status_workers.iter().any(|s| s == name)
}

/// The lb worker `w` of an add command: mod_jk's worker lookup messages, and "worker type
/// has no sub workers" for an ajp or status worker.
pub(crate) fn add_target<'a>(
    params: &Params,
    model: &'a StatusModel,
) -> Result<&'a LbView, String> {
    let w = params.w().unwrap_or("");
    if w.is_empty() {
        return Err(msg::NO_WORKER.into());
    }
    if let Some(lb) = model.lb(w) {
        return Ok(lb);
    }
    if model.ajp(w).is_some() || model.status_workers.iter().any(|s| s == w) {
        return Err(msg::NO_SUB_WORKERS.into());
    }
    Err(msg::UNKNOWN_WORKER.into())
}

/// Reads and checks the parameters of `cmd=add` for lb `lb`: host, port, name, route,
/// template, a name not in use, and a free member slot (when the model reports slots).
pub fn parse_add(params: &Params, lb: &LbView, model: &StatusModel) -> Result<AddMember, String> {
    let host = non_empty(params, "host").ok_or_else(|| msg::NO_HOST.to_string())?;
    check_host(host)?;
    let port = check_port(params.get("port").unwrap_or(""))?;
    let name = non_empty(params, "name");
    if let Some(n) = name {
        check_member_name("member name", n)?;
        if name_in_use(model, n) {
            return Err(format!("worker name '{n}' is already in use"));
        }
    }
    let route = non_empty(params, "route");
    if let Some(r) = route {
        check_member_name("route", r)?;
    }
    let template = non_empty(params, "template");
    if let Some(t) = template {
        check_member_name("template worker", t)?;
    }
    let handover = non_empty(params, "handover");
    if let Some(m) = handover {
        if lb.member(m).is_none() {
            return Err(msg::UNKNOWN_SUB_WORKER.into());
        }
    }
    if let (Some(slots), Some(free)) = (lb.member_slots, lb.members_free()) {
        if free == 0 {
            return Err(format!(
                "no free member slot in balancer '{}' ({} of {slots} used)",
                lb.name,
                lb.members.len()
            ));
        }
    }
    Ok(AddMember {
        name: name.map(String::from),
        host: host.to_string(),
        port,
        route: route.map(String::from),
        template: template.map(String::from),
        handover: handover.map(String::from),
    })
}

/// `force=` of `cmd=remove`: mod_jk's boolean words (`1`, `on`, `true`, …).
pub fn remove_force(params: &Params) -> bool {
    params.get("force").and_then(parse_bool).unwrap_or(false)
}

/// The result message of a successful add.
pub fn added_message(lb: &str, member: &str) -> String {
    format!("{}: member {member} added to {lb}", msg::OK)
}

/// The result message of a successful remove (`force`: freed at once; else drained first).
pub fn removed_message(lb: &str, member: &str, force: bool) -> String {
    if force {
        format!("{}: member {member} removed from {lb}", msg::OK)
    } else {
        format!(
            "{}: member {member} of {lb} is draining, removed when idle",
            msg::OK
        )
    }
}
