//! The status worker's `mime=json` document, read leniently: every field may be absent or
//! `null`, numbers may come as strings, booleans as 0/1. Unknown fields are ignored.

use jk_config::{Activation, MemberState};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::time::{SystemTime, UNIX_EPOCH};

/// The whole document (`cmd=list&mime=json`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct StatusDoc {
    /// `server` object.
    #[serde(default, deserialize_with = "lenient")]
    pub server: Option<Server>,
    /// `time` object (present for `cmd=list`).
    #[serde(default, deserialize_with = "lenient")]
    pub time: Option<Time>,
    /// Load balancer workers.
    #[serde(default, deserialize_with = "vec_or_empty")]
    pub balancers: Vec<Balancer>,
    /// `result` object.
    #[serde(default, deserialize_with = "lenient")]
    pub result: Option<ResultObj>,
    /// The token changes may be POSTed with (mod_jk-rs; absent on a read-only status worker
    /// and on builds without it).
    #[serde(default, deserialize_with = "opt_string")]
    pub write_token: Option<String>,
    /// Whether every change must be a POST with [`StatusDoc::write_token`].
    #[serde(default, deserialize_with = "opt_bool")]
    pub write_requires_token: Option<bool>,
}

/// `server`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct Server {
    /// Server name.
    #[serde(default, deserialize_with = "opt_string")]
    pub name: Option<String>,
    /// Server port.
    #[serde(default, deserialize_with = "opt_u64")]
    pub port: Option<u64>,
}

/// `time`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct Time {
    /// The server's clock, seconds since the epoch.
    #[serde(default, deserialize_with = "opt_u64")]
    pub unix: Option<u64>,
}

/// `result`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct ResultObj {
    /// `OK` or `ERROR`.
    #[serde(rename = "type", default, deserialize_with = "opt_string")]
    pub kind: Option<String>,
    /// The message.
    #[serde(default, deserialize_with = "opt_string")]
    pub message: Option<String>,
}

/// A load balancer worker.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct Balancer {
    /// Worker name.
    #[serde(default, deserialize_with = "string_or_empty")]
    pub name: String,
    /// Member slots: configured members plus growth slots (mod_jk-rs runtime membership).
    #[serde(default, deserialize_with = "opt_u64")]
    pub member_slots: Option<u64>,
    /// Free member slots (mod_jk-rs runtime membership).
    #[serde(default, deserialize_with = "opt_u64")]
    pub members_free: Option<u64>,
    /// Its members, in configuration order.
    #[serde(default, deserialize_with = "vec_or_empty")]
    pub members: Vec<Member>,
}

/// One balancer member.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct Member {
    /// Worker name.
    #[serde(default, deserialize_with = "string_or_empty")]
    pub name: String,
    /// `ACT`, `DIS` or `STP`.
    #[serde(default, deserialize_with = "opt_string")]
    pub activation: Option<String>,
    /// `OK`, `OK/IDLE`, `OK/BUSY`, `ERR`, `ERR/REC`, `ERR/FRC`, `ERR/PRB`.
    #[serde(default, deserialize_with = "opt_string")]
    pub state: Option<String>,
    /// Busy connections (mod_jk).
    #[serde(default, deserialize_with = "opt_u64")]
    pub busy: Option<u64>,
    /// Requests in flight (mod_jk-rs).
    #[serde(default, deserialize_with = "opt_u64")]
    pub in_flight: Option<u64>,
    /// Requests sent to this member.
    #[serde(default, deserialize_with = "opt_u64")]
    pub elected: Option<u64>,
    /// Errors.
    #[serde(default, deserialize_with = "opt_u64")]
    pub errors: Option<u64>,
    /// Sessions created (total).
    #[serde(default, deserialize_with = "opt_u64")]
    pub sessions: Option<u64>,
    /// Sessions recently seen (mod_jk-rs).
    #[serde(default, deserialize_with = "opt_u64")]
    pub recent_sessions: Option<u64>,
    /// Requests held for this member while it restarts (mod_jk-rs).
    #[serde(default, deserialize_with = "opt_u64")]
    pub held: Option<u64>,
    /// Unix time of the last sticky request (0 = never).
    #[serde(default, deserialize_with = "opt_u64")]
    pub last_sticky_time: Option<u64>,
    /// Alias of `last_sticky_time` (unix time), in mod_jk's `*_at` naming.
    #[serde(default, deserialize_with = "opt_u64")]
    pub last_sticky_at: Option<u64>,
    /// Seconds since the last sticky request, if the module reports an age.
    #[serde(default, deserialize_with = "opt_u64")]
    pub last_sticky_ago: Option<u64>,
    /// Restart maintenance (`vwm=R`) in force.
    #[serde(default, deserialize_with = "opt_bool")]
    pub restarting: Option<bool>,
    /// Out of rotation until its readiness probes pass (set with restart maintenance and
    /// kept after `vwm=0` until `ready_probes` consecutive good probes).
    #[serde(default, deserialize_with = "opt_bool")]
    pub awaiting_readiness: Option<bool>,
    /// Draining.
    #[serde(default, deserialize_with = "opt_bool")]
    pub draining: Option<bool>,
    /// Last error text.
    #[serde(default, deserialize_with = "opt_string")]
    pub last_error: Option<String>,
    /// Where the member comes from: `config`, `runtime`, `dns`, `registry` (mod_jk-rs
    /// runtime membership; absent: a build without it, where every member is `config`).
    #[serde(default, deserialize_with = "opt_string")]
    pub origin: Option<String>,
    /// `joining`, `active`, `draining` or `leaving` (mod_jk-rs runtime membership).
    #[serde(default, deserialize_with = "opt_string")]
    pub lifecycle: Option<String>,
}

/// When the last sticky request was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sticky {
    /// The status worker does not report it.
    Unknown,
    /// No sticky request seen.
    Never,
    /// Seconds ago.
    Ago(u64),
}

impl Member {
    /// Requests in progress: `in_flight`, else mod_jk's `busy`.
    pub fn in_flight_or_busy(&self) -> Option<u64> {
        self.in_flight.or(self.busy)
    }

    /// The activation text (`?` when absent).
    pub fn activation_text(&self) -> &str {
        self.activation.as_deref().unwrap_or("?")
    }

    /// The state text (`?` when absent).
    pub fn state_text(&self) -> &str {
        self.state.as_deref().unwrap_or("?")
    }

    /// The activation, when its text is one the status worker shows.
    pub fn activation(&self) -> Option<Activation> {
        self.activation.as_deref().and_then(Activation::from_text)
    }

    /// The state, when its text is one the status worker shows.
    pub fn state(&self) -> Option<MemberState> {
        self.state.as_deref().and_then(MemberState::from_text)
    }

    /// Whether the activation is `ACT`.
    pub fn is_active(&self) -> bool {
        self.activation() == Some(Activation::Active)
    }

    /// Whether the state is an error state (`ERR…`).
    pub fn is_error_state(&self) -> bool {
        self.state().is_some_and(MemberState::is_error)
    }

    /// The age of the last sticky request, with `now` the server's unix time.
    pub fn last_sticky(&self, now: u64) -> Sticky {
        if let Some(ago) = self.last_sticky_ago {
            return Sticky::Ago(ago);
        }
        match self.last_sticky_time.or(self.last_sticky_at) {
            None => Sticky::Unknown,
            Some(0) => Sticky::Never,
            Some(t) => Sticky::Ago(now.saturating_sub(t)),
        }
    }
}

impl StatusDoc {
    /// Parses a `mime=json` answer.
    pub fn parse(text: &str) -> Result<StatusDoc, String> {
        serde_json::from_str(text).map_err(|e| format!("not a status worker JSON document: {e}"))
    }

    /// The server's unix time from `time.unix`, else this machine's clock.
    pub fn now_unix(&self) -> u64 {
        self.time
            .as_ref()
            .and_then(|t| t.unix)
            .unwrap_or_else(local_unix)
    }

    /// The balancer named `name`.
    pub fn balancer(&self, name: &str) -> Option<&Balancer> {
        self.balancers.iter().find(|b| b.name == name)
    }

    /// Member `member` of balancer `lb`.
    pub fn member(&self, lb: &str, member: &str) -> Option<&Member> {
        self.balancer(lb)?.members.iter().find(|m| m.name == member)
    }
}

/// This machine's clock, seconds since the epoch.
pub fn local_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Any value that does not deserialize as `T` (wrong type, null) becomes `None`.
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let v = Value::deserialize(d)?;
    Ok(serde_json::from_value(v).ok())
}

/// An array of `T`; `null` or anything else is empty; elements that do not parse are dropped.
fn vec_or_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect(),
        _ => Vec::new(),
    })
}

fn value_to_string(v: Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(value_to_string(Value::deserialize(d)?))
}

fn string_or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(value_to_string(Value::deserialize(d)?).unwrap_or_default())
}

/// A non-negative integer from a number (fractions truncated) or a numeric string.
pub fn value_to_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0 && *f < u64::MAX as f64)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(value_to_u64(&Value::deserialize(d)?))
}

/// A boolean from `true`/`false`, 0/1 or the strings true/false/yes/no/1/0.
pub fn value_to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_u64().map(|n| n != 0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Some(true),
            "false" | "no" | "off" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(value_to_bool(&Value::deserialize(d)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the current build renders (trimmed): `restarting` is null, no sticky fields.
    const CURRENT: &str = r#"{"server":{"name":"localhost","port":80},
      "time":{"datetime":"2025-01-01 00:00:00","tz":"UTC","unix":1735689600},
      "software":{"web_server":"Apache/2.4","jk_version":"mod_jk/1.2.48"},
      "balancers":[{"name":"loadbalancer","type":"lb","sticky_session":true,
        "members":[
          {"name":"tomcat1","type":"ajp13","host":"127.0.0.2","port":8009,"activation":"ACT",
           "state":"OK/IDLE","lbfactor":1,"route":"tomcat1","elected":42,"sessions":3,
           "errors":0,"busy":0,"in_flight":null,"last_error":null,"restarting":null,"draining":null},
          {"name":"tomcat2","activation":"DIS","state":"ERR","errors":7,"busy":2}],
        "maps":[]}],
      "ajp_workers":[{"name":"ajp1","state":"OK","maps":[]}],
      "result":{"type":"OK","message":"Action finished"}}"#;

    #[test]
    fn parses_the_current_build() {
        let d = StatusDoc::parse(CURRENT).expect("parse");
        assert_eq!(d.now_unix(), 1_735_689_600);
        assert_eq!(d.balancers.len(), 1);
        let lb = &d.balancers[0];
        assert_eq!(lb.name, "loadbalancer");
        assert_eq!(lb.members.len(), 2);
        let t1 = &lb.members[0];
        assert_eq!(t1.activation.as_deref(), Some("ACT"));
        assert_eq!(t1.state.as_deref(), Some("OK/IDLE"));
        assert_eq!(t1.in_flight, None);
        assert_eq!(t1.in_flight_or_busy(), Some(0));
        assert_eq!(t1.restarting, None);
        assert_eq!(
            (t1.origin.as_deref(), t1.lifecycle.as_deref()),
            (None, None)
        );
        assert_eq!((lb.member_slots, lb.members_free), (None, None));
        assert_eq!(t1.last_sticky(d.now_unix()), Sticky::Unknown);
        let t2 = &lb.members[1];
        assert!(t2.is_error_state());
        assert!(!t2.is_active());
        assert_eq!(t2.in_flight_or_busy(), Some(2));
        assert_eq!(d.result.and_then(|r| r.kind).as_deref(), Some("OK"));
        assert_eq!((d.write_token, d.write_requires_token), (None, None));
        let d = StatusDoc::parse(r#"{"write_token":"ab12","write_requires_token":true}"#)
            .expect("parse");
        assert_eq!(d.write_token.as_deref(), Some("ab12"));
        assert_eq!(d.write_requires_token, Some(true));
    }

    #[test]
    fn parses_the_extended_fields() {
        let d = StatusDoc::parse(
            r#"{"time":{"unix":1000},"balancers":[{"name":"lb","members":[
              {"name":"a","in_flight":3,"busy":9,"restarting":true,"recent_sessions":5,
               "awaiting_readiness":true,
               "last_sticky_time":990},
              {"name":"b","last_sticky_time":0,"restarting":false},
              {"name":"c","last_sticky_ago":4,"last_sticky_time":1},
              {"name":"d","last_sticky_at":400}]}]}"#,
        )
        .expect("parse");
        let m = &d.balancers[0].members;
        assert_eq!(m[0].in_flight_or_busy(), Some(3));
        assert_eq!(m[0].restarting, Some(true));
        assert_eq!(m[0].awaiting_readiness, Some(true));
        assert_eq!(m[1].awaiting_readiness, None);
        assert_eq!(m[0].recent_sessions, Some(5));
        assert_eq!(m[0].last_sticky(1000), Sticky::Ago(10));
        assert_eq!(m[1].last_sticky(1000), Sticky::Never);
        assert_eq!(m[2].last_sticky(1000), Sticky::Ago(4));
        assert_eq!(m[3].last_sticky(1000), Sticky::Ago(600));
        // A timestamp from the future (clock skew) is "0 s ago", not an underflow.
        assert_eq!(m[0].last_sticky(500), Sticky::Ago(0));
    }

    #[test]
    fn parses_runtime_membership() {
        let d = StatusDoc::parse(
            r#"{"balancers":[{"name":"lb","member_slots":6,"members_free":4,"members":[
              {"name":"a","origin":"config","lifecycle":"active"},
              {"name":"b","origin":"runtime","lifecycle":"joining"}]}]}"#,
        )
        .expect("parse");
        let b = &d.balancers[0];
        assert_eq!((b.member_slots, b.members_free), (Some(6), Some(4)));
        assert_eq!(b.members[1].origin.as_deref(), Some("runtime"));
        assert_eq!(b.members[1].lifecycle.as_deref(), Some("joining"));
    }

    #[test]
    fn tolerates_missing_null_and_odd_types() {
        let d = StatusDoc::parse("{}").expect("empty");
        assert!(d.balancers.is_empty());
        assert!(d.server.is_none());

        let d = StatusDoc::parse(r#"{"balancers":null,"time":null,"server":"x"}"#).expect("null");
        assert!(d.balancers.is_empty());
        assert!(d.time.is_none());
        assert!(d.server.is_none());

        let d = StatusDoc::parse(
            r#"{"balancers":[{"name":"lb","members":null},{"name":"lb2","members":[
              {"name":"m","busy":"4","in_flight":-1,"errors":2.0,"restarting":1,
               "draining":"no","activation":null,"state":7}, 17]}]}"#,
        )
        .expect("odd");
        assert!(d.balancers[0].members.is_empty());
        let m = &d.balancers[1].members;
        assert_eq!(m.len(), 1, "the non-object member is dropped");
        assert_eq!(m[0].busy, Some(4));
        assert_eq!(m[0].in_flight, None);
        assert_eq!(m[0].in_flight_or_busy(), Some(4));
        assert_eq!(m[0].errors, Some(2));
        assert_eq!(m[0].restarting, Some(true));
        assert_eq!(m[0].draining, Some(false));
        assert_eq!(m[0].activation_text(), "?");
        assert_eq!(m[0].state.as_deref(), Some("7"));
    }

    #[test]
    fn rejects_non_json() {
        assert!(StatusDoc::parse("<html>").is_err());
        assert!(StatusDoc::parse("").is_err());
    }

    #[test]
    fn lookup_helpers() {
        let d = StatusDoc::parse(CURRENT).expect("parse");
        assert!(d.member("loadbalancer", "tomcat2").is_some());
        assert!(d.member("loadbalancer", "nope").is_none());
        assert!(d.member("nope", "tomcat1").is_none());
    }
}
