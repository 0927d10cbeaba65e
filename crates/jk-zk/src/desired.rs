//! One desired state for all gateways (README "ZooKeeper"): per member, a persistent znode
//! `/mod_jk/<service>/desired/<id>` holding `{"activation": "active|disabled|stopped|
//! restarting", "weight": N}` written by `jkctl --zk` with versioned writes; and per gateway an
//! ephemeral `/mod_jk/<service>/gateways/<gateway>` where the gateway publishes which version of
//! each desired record it applied and how its members are now. `<service>` is the last segment
//! of the lb's discovery path (`/services/app` → `app`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The root of a service's desired state and gateway reports.
pub fn state_root(discovery_path: &str) -> String {
    format!(
        "/mod_jk/{}",
        discovery_path.rsplit('/').next().unwrap_or("")
    )
}

/// What an operator wants for one member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Desired {
    /// active, disabled, stopped or restarting.
    pub activation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    /// The znode's version (not in the JSON).
    #[serde(skip)]
    pub version: i32,
}

pub const ACTIVATIONS: [&str; 4] = ["active", "disabled", "stopped", "restarting"];

/// Parses a desired record (untrusted: bounded, checked).
pub fn parse_desired(data: &[u8], version: i32) -> Result<Desired, String> {
    if data.len() > 1024 {
        return Err("more than 1024 bytes".into());
    }
    let mut d: Desired =
        serde_json::from_slice(data).map_err(|e| format!("not a desired record ({e})"))?;
    if !ACTIVATIONS.contains(&d.activation.as_str()) {
        return Err(format!(
            "activation '{}' is not one of {}",
            d.activation.escape_default(),
            ACTIVATIONS.join(", ")
        ));
    }
    if d.weight.is_some_and(|w| !(1..=100_000).contains(&w)) {
        return Err("weight is not in 1..100000".into());
    }
    d.version = version;
    Ok(d)
}

/// How one member is on a gateway.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberReport {
    /// ACT, DIS or STP.
    pub activation: String,
    pub restarting: bool,
    pub lifecycle: String,
    pub in_flight: u64,
    /// Takes requests: state OK, not restarting, readiness passed.
    #[serde(default)]
    pub ready: bool,
}

/// What a gateway publishes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayReport {
    pub gateway: String,
    pub lb: String,
    /// Desired record id → the version applied.
    pub applied: BTreeMap<String, i32>,
    pub members: BTreeMap<String, MemberReport>,
}

impl GatewayReport {
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn parse(data: &[u8]) -> Result<GatewayReport, String> {
        if data.len() > 256 * 1024 {
            return Err("report too large".into());
        }
        serde_json::from_slice(data).map_err(|e| format!("not a gateway report ({e})"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn desired_records_are_checked() {
        assert_eq!(state_root("/services/app"), "/mod_jk/app");
        let d = parse_desired(br#"{"activation":"disabled"}"#, 3).unwrap();
        assert_eq!(
            (d.activation.as_str(), d.weight, d.version),
            ("disabled", None, 3)
        );
        assert!(parse_desired(br#"{"activation":"gone"}"#, 0).is_err());
        assert!(parse_desired(br#"{"activation":"active","weight":0}"#, 0).is_err());
        assert!(parse_desired(b"[]", 0).is_err());
        let r = GatewayReport {
            gateway: "g".into(),
            lb: "lb".into(),
            applied: [("a".to_string(), 2)].into(),
            members: BTreeMap::new(),
        };
        assert_eq!(GatewayReport::parse(&r.to_json()).unwrap(), r);
    }
}
