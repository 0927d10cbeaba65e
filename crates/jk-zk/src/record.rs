//! Apache Curator's service-discovery record (`ServiceInstance` as JSON), the way Curator's
//! x-discovery and Spring Cloud Zookeeper register an application instance under
//! `<base>/<service>/<id>`, and the way `jkctl announce` writes one. Registry contents are
//! untrusted input (ARCHITECTURE rule 14): bounded in size, every field checked, a record that
//! fails is skipped with a reason, never half-used.

use serde::Serialize;
use serde_json::Value;

/// The largest record read (Curator's records are a few hundred bytes).
pub const MAX_RECORD: usize = 8192;
/// The longest instance id and host name.
pub const MAX_ID: usize = 128;
pub const MAX_HOST: usize = 60;
/// The longest route (mod_jk's 60-byte strings).
pub const MAX_ROUTE: usize = 60;

/// One member as the registry lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    /// The znode's name (Curator: the instance id).
    pub node: String,
    pub id: String,
    pub address: String,
    pub port: u16,
    /// `payload.jvmRoute` (or `payload.metadata.jvmRoute`); None: the id is the route
    /// ([`Instance::route_or_id`]).
    pub route: Option<String>,
    /// `payload.weight` (mod_jk's lbfactor), if given.
    pub weight: Option<u32>,
}

impl Instance {
    /// The route a gateway gives this member: the payload's `jvmRoute`, else the id.
    pub fn route_or_id(&self) -> &str {
        self.route.as_deref().unwrap_or(&self.id)
    }
}

fn host_ok(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= MAX_HOST
        && h.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b':'))
}

fn word_ok(w: &str, max: usize) -> bool {
    !w.is_empty()
        && w.len() <= max
        && w.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
}

/// Parses the record in znode `node`. `Ok(None)`: a valid record that asks not to be used
/// (`"enabled": false`).
pub fn parse(node: &str, data: &[u8]) -> Result<Option<Instance>, String> {
    if data.len() > MAX_RECORD {
        return Err(format!(
            "{} bytes, more than the {MAX_RECORD} a record may have",
            data.len()
        ));
    }
    let v: Value = serde_json::from_slice(data).map_err(|e| format!("not JSON ({e})"))?;
    let o = v.as_object().ok_or("not a JSON object")?;
    if o.get("enabled").and_then(Value::as_bool) == Some(false) {
        return Ok(None);
    }
    let address = o
        .get("address")
        .and_then(Value::as_str)
        .ok_or("no \"address\" string")?;
    if !host_ok(address) {
        return Err(format!(
            "\"address\" '{}' is not a host name or address of at most {MAX_HOST} bytes",
            address.escape_default()
        ));
    }
    let port = o
        .get("port")
        .and_then(Value::as_u64)
        .filter(|p| (1..=65535).contains(p))
        .ok_or("no \"port\" number in 1..65535")? as u16;
    let id = match o.get("id") {
        None | Some(Value::Null) => node.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err("\"id\" is not a string".into()),
    };
    if !word_ok(&id, MAX_ID) {
        return Err(format!(
            "\"id\" '{}' is not 1..{MAX_ID} letters, digits, '.', '-' or '_'",
            id.escape_default()
        ));
    }
    let payload = o.get("payload").filter(|p| !p.is_null());
    let route_value = payload.and_then(|p| {
        p.get("jvmRoute")
            .or_else(|| p.get("metadata").and_then(|m| m.get("jvmRoute")))
    });
    let route = match route_value {
        None | Some(Value::Null) => None,
        Some(Value::String(r)) if word_ok(r, MAX_ROUTE) => Some(r.clone()),
        Some(r) => {
            return Err(format!(
                "payload jvmRoute {} is not 1..{MAX_ROUTE} letters, digits, '.', '-' or '_'",
                r.to_string().escape_default()
            ))
        }
    };
    if route.is_none() && id.len() > MAX_ROUTE {
        return Err(format!(
            "no payload jvmRoute, and the id is longer than a route may be ({MAX_ROUTE} bytes)"
        ));
    }
    let weight = match payload.and_then(|p| p.get("weight")) {
        None | Some(Value::Null) => None,
        Some(w) => Some(
            w.as_u64()
                .filter(|w| (1..=100_000).contains(w))
                .ok_or("payload weight is not a number in 1..100000")? as u32,
        ),
    };
    Ok(Some(Instance {
        node: node.to_string(),
        id,
        address: address.to_string(),
        port,
        route,
        weight,
    }))
}

/// What `jkctl announce` writes: a Curator `ServiceInstance` record (so Curator and Spring
/// Cloud clients read it too) whose payload carries the route and weight.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    name: &'a str,
    id: &'a str,
    address: &'a str,
    port: u16,
    ssl_port: Option<u16>,
    payload: Payload<'a>,
    #[serde(rename = "registrationTimeUTC")]
    registration_time: u64,
    service_type: &'static str,
    uri_spec: Option<&'a str>,
    enabled: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Payload<'a> {
    jvm_route: &'a str,
    weight: u32,
}

/// The record for instance `id` of service `name` at `address:port`.
pub fn build(
    name: &str,
    id: &str,
    address: &str,
    port: u16,
    route: &str,
    weight: u32,
    now_ms: u64,
) -> Vec<u8> {
    serde_json::to_vec(&Record {
        name,
        id,
        address,
        port,
        ssl_port: None,
        payload: Payload {
            jvm_route: route,
            weight,
        },
        registration_time: now_ms,
        service_type: "DYNAMIC",
        uri_spec: None,
        enabled: true,
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_a_curator_record() {
        // As Curator's JsonInstanceSerializer writes one with a typed payload.
        let data = br#"{"name":"app","id":"b1c4","address":"10.0.0.7","port":8009,
            "sslPort":null,"payload":{"@class":"x.Meta","jvmRoute":"tc2","weight":3},
            "registrationTimeUTC":1700000000000,"serviceType":"DYNAMIC","uriSpec":null}"#;
        let i = parse("b1c4", data).unwrap().unwrap();
        assert_eq!(
            i,
            Instance {
                node: "b1c4".into(),
                id: "b1c4".into(),
                address: "10.0.0.7".into(),
                port: 8009,
                route: Some("tc2".into()),
                weight: Some(3),
            }
        );
        assert_eq!(i.route_or_id(), "tc2");
    }

    #[test]
    fn spring_cloud_metadata_and_id_as_route() {
        let data = br#"{"name":"app","id":"app-1","address":"h1","port":8009,
            "payload":{"@class":"org.springframework.cloud.zookeeper.discovery.ZookeeperInstance",
            "id":"app","name":"app","metadata":{"jvmRoute":"node7"}}}"#;
        assert_eq!(
            parse("n", data).unwrap().unwrap().route.as_deref(),
            Some("node7")
        );
        let data = br#"{"address":"h1","port":8009}"#;
        let i = parse("tc9", data).unwrap().unwrap();
        assert_eq!((i.id.as_str(), i.route_or_id()), ("tc9", "tc9"));
    }

    #[test]
    fn disabled_records_are_not_members() {
        let data = br#"{"address":"h1","port":8009,"enabled":false}"#;
        assert_eq!(parse("n", data).unwrap(), None);
    }

    #[test]
    fn untrusted_input_is_refused_with_a_reason() {
        let cases: &[(&[u8], &str)] = &[
            (b"not json", "not JSON"),
            (b"[1]", "not a JSON object"),
            (br#"{"port":8009}"#, "no \"address\""),
            (br#"{"address":"a b","port":8009}"#, "is not a host name"),
            (br#"{"address":"h","port":0}"#, "no \"port\""),
            (br#"{"address":"h","port":70000}"#, "no \"port\""),
            (br#"{"address":"h","port":"8009"}"#, "no \"port\""),
            (br#"{"address":"h","port":1,"id":"a/b"}"#, "\"id\""),
            (
                br#"{"address":"h","port":1,"payload":{"jvmRoute":"x;y"}}"#,
                "jvmRoute",
            ),
            (
                br#"{"address":"h","port":1,"payload":{"weight":0}}"#,
                "weight",
            ),
        ];
        for (data, why) in cases {
            let e = parse("n", data).unwrap_err();
            assert!(e.contains(why), "{}: {e}", String::from_utf8_lossy(data));
        }
        let big = vec![b' '; MAX_RECORD + 1];
        assert!(parse("n", &big).unwrap_err().contains("more than"));
        let long_id = format!(r#"{{"address":"h","port":1,"id":"{}"}}"#, "a".repeat(100));
        assert!(parse("n", long_id.as_bytes())
            .unwrap_err()
            .contains("longer than a route"));
    }

    #[test]
    fn what_announce_writes_reads_back() {
        let data = build("app", "tc3", "127.0.1.3", 8009, "tc3", 2, 1);
        let text = String::from_utf8(data.clone()).unwrap();
        assert!(text.contains("\"registrationTimeUTC\":1"), "{text}");
        assert!(text.contains("\"serviceType\":\"DYNAMIC\""), "{text}");
        let i = parse("tc3", &data).unwrap().unwrap();
        assert_eq!(
            (i.address.as_str(), i.port, i.route_or_id(), i.weight),
            ("127.0.1.3", 8009, "tc3", Some(2))
        );
    }
}
