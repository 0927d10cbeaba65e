//! `jkctl --zk HOSTS activate|disable|stop|drain|maintenance SERVICE/MEMBER` (README
//! "ZooKeeper"): one desired state for every gateway. jkctl writes the member's persistent
//! znode `/mod_jk/<SERVICE>/desired/<MEMBER>` (a versioned write: read, change, write if the
//! version is unchanged, retried when another writer came first), then waits until every live
//! gateway (an ephemeral report under `/mod_jk/<SERVICE>/gateways`) says it applied that
//! version; `drain --wait` also waits until no gateway has a request of the member in flight.

use std::time::{Duration, Instant};

use jk_zk::desired::{Desired, GatewayReport};

use crate::Error;

/// What to do and how long to wait.
#[derive(Clone, Debug)]
pub struct ZkChange {
    pub zk: String,
    pub auth: Option<String>,
    pub service: String,
    pub member: String,
    /// active, disabled, stopped, restarting.
    pub activation: &'static str,
    /// Also wait until the member is idle on every gateway.
    pub wait_idle: bool,
    pub timeout: Duration,
    pub interval: Duration,
}

/// Splits `SERVICE/MEMBER`.
pub fn split_target(t: &str) -> Result<(String, String), Error> {
    match t.split_once('/') {
        Some((s, m))
            if !s.is_empty()
                && !m.is_empty()
                && !m.contains('/')
                && jk_config::values::is_documented_name(s)
                && jk_config::values::is_documented_name(m) =>
        {
            Ok((s.to_string(), m.to_string()))
        }
        _ => Err(Error::Usage(format!(
            "with --zk the member is SERVICE/MEMBER (e.g. app/tomcat2), not {t:?}"
        ))),
    }
}

fn connect(zk: &str, auth: Option<&str>) -> Result<jk_zk::Session, Error> {
    jk_zk::Session::connect(zk, Duration::from_secs(10), auth, Duration::from_secs(10))
        .map_err(Error::Unreachable)
}

/// What to wait for on every gateway after a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// The version is applied.
    Applied,
    /// Applied, and nothing of the member in flight.
    Idle,
    /// Applied, and the member takes requests (state OK, readiness passed).
    Ready,
}

/// Writes `activation` into `/mod_jk/<service>/desired/<member>` (versioned
/// read-modify-write); returns the version written.
pub fn write_desired(
    s: &jk_zk::Session,
    service: &str,
    member: &str,
    activation: &str,
    auth: Option<&str>,
) -> Result<i32, Error> {
    let node = format!("/mod_jk/{service}/desired/{member}");
    s.ensure_parents(&node, auth).map_err(Error::Failed)?;
    for _ in 0..5 {
        let (mut d, expected) = match s.get(&node).map_err(Error::Failed)? {
            Some((data, v)) => (
                jk_zk::desired::parse_desired(&data, v).unwrap_or(Desired {
                    activation: "active".into(),
                    weight: None,
                    version: v,
                }),
                Some(v),
            ),
            None => (
                Desired {
                    activation: "active".into(),
                    weight: None,
                    version: 0,
                },
                None,
            ),
        };
        d.activation = activation.to_string();
        let data = serde_json::to_vec(&d).map_err(|e| Error::Failed(e.to_string()))?;
        match s.put(&node, &data, expected) {
            Ok(v) => return Ok(v),
            Err(e) if e == "BadVersion" => continue,
            Err(e) => return Err(Error::Failed(e)),
        }
    }
    Err(Error::Failed(format!(
        "{node}: other writers kept changing it; nothing written"
    )))
}

/// The live gateways' reports (node name, report).
pub fn reports(
    s: &jk_zk::Session,
    service: &str,
) -> Result<Vec<(String, Option<GatewayReport>)>, Error> {
    let root = format!("/mod_jk/{service}/gateways");
    let mut out = Vec::new();
    for g in s.children(&root).map_err(Error::Failed)? {
        if let Some((data, _)) = s.get(&format!("{root}/{g}")).map_err(Error::Failed)? {
            out.push((g, GatewayReport::parse(&data).ok()));
        }
    }
    Ok(out)
}

/// Waits until every live gateway applied `version` of `member`'s desired record (and
/// `until`); returns how many gateways there were.
pub fn wait_gateways(
    s: &jk_zk::Session,
    service: &str,
    member: &str,
    version: i32,
    until: Until,
    timeout: Duration,
    interval: Duration,
) -> Result<usize, Error> {
    let t0 = Instant::now();
    loop {
        let all = reports(s, service)?;
        let mut waiting = Vec::new();
        for (g, r) in &all {
            let Some(r) = r else {
                waiting.push(format!("{g} (unreadable report)"));
                continue;
            };
            if r.applied.get(member).is_none_or(|v| *v < version) {
                waiting.push(format!("{g} (not applied)"));
                continue;
            }
            let m = r.members.get(member);
            match until {
                Until::Applied => {}
                Until::Idle => {
                    if let Some(m) = m.filter(|m| m.in_flight > 0) {
                        waiting.push(format!("{g} ({} in flight)", m.in_flight));
                    }
                }
                Until::Ready => {
                    if !m.is_some_and(|m| m.ready) {
                        waiting.push(format!("{g} (not ready)"));
                    }
                }
            }
        }
        if waiting.is_empty() {
            return Ok(all.len());
        }
        if t0.elapsed() > timeout {
            return Err(Error::Failed(format!(
                "{service}/{member}: not done within {timeout:?} on: {}",
                waiting.join(", ")
            )));
        }
        std::thread::sleep(interval);
    }
}

/// Writes the desired state and waits for every gateway; prints one line per step.
pub fn change(c: &ZkChange) -> Result<(), Error> {
    let s = connect(&c.zk, c.auth.as_deref())?;
    let version = write_desired(&s, &c.service, &c.member, c.activation, c.auth.as_deref())?;
    println!(
        "{}/{}: desired {} (version {version})",
        c.service, c.member, c.activation
    );
    let until = if c.wait_idle {
        Until::Idle
    } else {
        Until::Applied
    };
    let n = wait_gateways(
        &s, &c.service, &c.member, version, until, c.timeout, c.interval,
    )?;
    if n == 0 {
        println!(
            "{}/{}: no gateway reports under /mod_jk/{}/gateways: the desired state is kept \
             for gateways that start later (gateways publish reports only where they may \
             write: with digest ACLs give them discover_auth)",
            c.service, c.member, c.service
        );
    }
    println!(
        "{}/{}: applied by {n} gateway(s){}",
        c.service,
        c.member,
        if c.wait_idle { ", idle on all" } else { "" }
    );
    Ok(())
}

/// `jkctl --zk HOSTS roll -b SERVICE --cmd ...`.
#[derive(Clone, Debug)]
pub struct ZkRoll {
    pub zk: String,
    pub auth: Option<String>,
    pub service: String,
    pub cmd: String,
    pub drain_timeout: Duration,
    pub ready_timeout: Duration,
    pub pause: Duration,
    pub force: bool,
    pub interval: Duration,
}

/// Restarts every member of SERVICE once, across all gateways: per member (in name order)
/// desired `restarting` (every gateway holds its sticky requests and sends it nothing new)
/// until it is idle on every gateway, the command, desired `active`, until every gateway
/// has it ready again. Members stopped on every gateway are skipped. Refuses to start with
/// fewer than two members ready everywhere (--force overrides).
pub fn roll(r: &ZkRoll) -> Result<(), Error> {
    let s = connect(&r.zk, r.auth.as_deref())?;
    let all = reports(&s, &r.service)?;
    if all.is_empty() {
        return Err(Error::Failed(format!(
            "no gateway reports under /mod_jk/{}/gateways: nothing follows this service",
            r.service
        )));
    }
    let mut members = std::collections::BTreeMap::<String, (usize, usize)>::new();
    for (_, rep) in &all {
        for (name, m) in rep.iter().flat_map(|r| r.members.iter()) {
            let e = members.entry(name.clone()).or_default();
            if m.activation != "STP" {
                e.0 += 1;
            }
            if m.ready && m.activation == "ACT" {
                e.1 += 1;
            }
        }
    }
    let order: Vec<String> = members
        .iter()
        .filter(|(_, (not_stopped, _))| *not_stopped > 0)
        .map(|(n, _)| n.clone())
        .collect();
    let ready_everywhere = members.values().filter(|(_, r)| *r == all.len()).count();
    if ready_everywhere < 2 && !r.force {
        return Err(Error::Failed(format!(
            "roll refused: {ready_everywhere} member(s) of {} are ready on every gateway (at \
             least 2 needed; --force overrides)",
            r.service
        )));
    }
    println!(
        "roll {}: {} member(s) over {} gateway(s): {}",
        r.service,
        order.len(),
        all.len(),
        order.join(", ")
    );
    for (k, m) in order.iter().enumerate() {
        restart_member(&s, r, m, &format!("roll {}/{m}", r.service))?;
        if k + 1 < order.len() && !r.pause.is_zero() {
            std::thread::sleep(r.pause);
        }
    }
    println!("roll {}: done", r.service);
    Ok(())
}

/// One member of `r.service` restarted across every gateway (the step of a roll): desired
/// `restarting` until it is idle on every gateway, the command, desired `active` until every
/// gateway has it ready again. Prints a line per step, each starting with `prefix`.
fn restart_member(s: &jk_zk::Session, r: &ZkRoll, m: &str, prefix: &str) -> Result<(), Error> {
    let fail = |step: &str, e: Error| e.context(&format!("{prefix}: {step} failed"));
    let v = write_desired(s, &r.service, m, "restarting", r.auth.as_deref())
        .map_err(|e| fail("marking restarting", e))?;
    let n = wait_gateways(
        s,
        &r.service,
        m,
        v,
        Until::Idle,
        r.drain_timeout,
        r.interval,
    )
    .map_err(|e| fail("draining", e))?;
    println!("{prefix}: restarting on {n} gateway(s), idle on all");
    let cmd = crate::template::render(&r.cmd, m, &r.service);
    crate::ops::run_command(&cmd, m, &r.service)
        .map_err(|e| fail("the command", Error::Failed(e)))?;
    println!("{prefix}: command done");
    let v = write_desired(s, &r.service, m, "active", r.auth.as_deref())
        .map_err(|e| fail("marking active", e))?;
    let n = wait_gateways(
        s,
        &r.service,
        m,
        v,
        Until::Ready,
        r.ready_timeout,
        r.interval,
    )
    .map_err(|e| fail("waiting until ready", e))?;
    println!("{prefix}: ready on {n} gateway(s)");
    Ok(())
}

/// `jkctl --zk HOSTS restart SERVICE/MEMBER --cmd ...`: one member restarted across every
/// gateway, as one step of a roll (no minimum of ready members: the others keep serving).
pub fn restart(r: &ZkRoll, member: &str) -> Result<(), Error> {
    let s = connect(&r.zk, r.auth.as_deref())?;
    if reports(&s, &r.service)?.is_empty() {
        return Err(Error::Failed(format!(
            "no gateway reports under /mod_jk/{}/gateways: nothing follows this service",
            r.service
        )));
    }
    let prefix = format!("restart {}/{member}", r.service);
    restart_member(&s, r, member, &prefix)?;
    println!("{prefix}: done");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_service_slash_member() {
        assert_eq!(
            split_target("app/tomcat2").ok(),
            Some(("app".to_string(), "tomcat2".to_string()))
        );
        for bad in ["tomcat2", "app/", "/x", "a/b/c", "a b/c"] {
            assert!(split_target(bad).is_err(), "{bad}");
        }
    }
}
