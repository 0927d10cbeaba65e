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

/// Writes the desired state and waits for every gateway; prints one line per step.
pub fn change(c: &ZkChange) -> Result<(), Error> {
    let s = connect(&c.zk, c.auth.as_deref())?;
    let root = format!("/mod_jk/{}", c.service);
    let node = format!("{root}/desired/{}", c.member);
    s.ensure_parents(&node, c.auth.as_deref())
        .map_err(Error::Failed)?;
    // Versioned read-modify-write: keeps a weight someone else set.
    let mut version = None;
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
        d.activation = c.activation.to_string();
        let data = serde_json::to_vec(&d).map_err(|e| Error::Failed(e.to_string()))?;
        match s.put(&node, &data, expected) {
            Ok(v) => {
                version = Some(v);
                break;
            }
            Err(e) if e == "BadVersion" => continue,
            Err(e) => return Err(Error::Failed(e)),
        }
    }
    let version = version.ok_or_else(|| {
        Error::Failed(format!(
            "{node}: other writers kept changing it; nothing written"
        ))
    })?;
    println!(
        "{}/{}: desired {} (version {version})",
        c.service, c.member, c.activation
    );
    let t0 = Instant::now();
    loop {
        let gateways = s
            .children(&format!("{root}/gateways"))
            .map_err(Error::Failed)?;
        let mut lagging = Vec::new();
        let mut busy = Vec::new();
        for g in &gateways {
            let Some((data, _)) = s
                .get(&format!("{root}/gateways/{g}"))
                .map_err(Error::Failed)?
            else {
                continue; // (gone meanwhile: not live)
            };
            let Ok(r) = GatewayReport::parse(&data) else {
                lagging.push(format!("{g} (unreadable report)"));
                continue;
            };
            if r.applied.get(&c.member).is_none_or(|v| *v < version) {
                lagging.push(g.clone());
            } else if c.wait_idle {
                if let Some(m) = r.members.get(&c.member).filter(|m| m.in_flight > 0) {
                    busy.push(format!("{g} ({} in flight)", m.in_flight));
                }
            }
        }
        if lagging.is_empty() && busy.is_empty() {
            println!(
                "{}/{}: applied by {} gateway(s){}",
                c.service,
                c.member,
                gateways.len(),
                if c.wait_idle { ", idle on all" } else { "" }
            );
            return Ok(());
        }
        if t0.elapsed() > c.timeout {
            return Err(Error::Failed(format!(
                "{}/{}: not applied within {:?} by: {}{}",
                c.service,
                c.member,
                c.timeout,
                lagging.join(", "),
                if busy.is_empty() {
                    String::new()
                } else {
                    format!("; still busy on: {}", busy.join(", "))
                }
            )));
        }
        std::thread::sleep(c.interval);
    }
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
