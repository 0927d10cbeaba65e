//! What the differential test compares, and how: the client's view of an answer ([`Seen`]), the
//! FORWARD_REQUESTs the recording AJP server saw, field by field, with every mismatch of a
//! run collected into one [`Report`]. Values that legitimately differ between two runs are
//! rewritten in [`normalise_run_specific`] only; differences kept on purpose are listed in
//! [`INTENDED_DIFFERENCES`].

use jk_ajp_testserver::{AttributeValue, ForwardRequest, HeaderName, RecordedRequest};

use crate::support::{find, parse_response, split_interim, Exchange};

/// Differences between Debian's mod_jk and ours that are kept on purpose: (field, reason).
/// `field` is either a field name as printed in a mismatch (e.g. `forward.uri`) — then it
/// applies to every request — or `"<case>: <field>"` for one request only.
pub const INTENDED_DIFFERENCES: &[(&str, &str)] = &[];

/// The placeholder for the client's source port (it differs on every connection).
pub const CLIENT_PORT: &str = "<client source port>";

/// Rewrites the values that legitimately differ between the two runs, in ONE place:
///
/// * `AJP_REMOTE_PORT` (req_attribute 0x0A): the source port of the test client's TCP
///   connection, different for every connection. Replaced by [`CLIENT_PORT`] only when it is
///   exactly the port the client used (so an override through `JK_REMOTE_PORT` is still
///   compared as is).
///
/// The same replacement is made in the raw FORWARD_REQUEST bytes (compared when a packet
/// does not decode, or when every decoded field is equal).
///
/// The httpd port is NOT normalised: both httpds listen on the same port, one after the other.
pub fn normalise_run_specific(rec: &mut RecordedRequest, client_port: u16) {
    let port = client_port.to_string();
    for (code, name, value) in &mut rec.decoded.attributes {
        if *code == 0x0A
            && name.as_deref() == Some("AJP_REMOTE_PORT")
            && value.as_str() == Some(port.as_str())
        {
            *value = AttributeValue::Str(CLIENT_PORT.to_string());
        }
    }
    // Raw: 0x0A, string "AJP_REMOTE_PORT", string "<port>".
    let mut key = vec![0x0A, 0x00, 15];
    key.extend_from_slice(b"AJP_REMOTE_PORT\0");
    let mut val = (port.len() as u16).to_be_bytes().to_vec();
    val.extend_from_slice(port.as_bytes());
    val.push(0);
    if let Some(at) = find(&rec.raw, &key) {
        let start = at + key.len();
        if rec.raw[start..].starts_with(&val) {
            let mut with = (CLIENT_PORT.len() as u16).to_be_bytes().to_vec();
            with.extend_from_slice(CLIENT_PORT.as_bytes());
            with.push(0);
            rec.raw.splice(start..start + val.len(), with);
        }
    }
}

/// What the client saw: every status line (1xx interim ones first), the final headers
/// without the ones that may differ between runs, and the (de-chunked) body.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Seen {
    pub interim: Vec<String>,
    pub status_line: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Transport trouble (timeout, unparsable answer).
    pub problem: Option<String>,
}

/// Response headers not compared (they differ between two runs by nature).
const IGNORED_RESPONSE_HEADERS: &[&str] = &["date", "server", "keep-alive", "connection"];

impl Seen {
    fn from_answer(raw: &[u8], problem: Option<String>) -> Seen {
        let Ok(r) = parse_response(raw) else {
            return Seen {
                interim: split_interim(raw).0,
                problem: problem
                    .or_else(|| Some(format!("no complete response head in {}", show_bytes(raw)))),
                ..Seen::default()
            };
        };
        let (body, framing) = match r.decoded_body() {
            Some(b) => (b, None),
            None => (r.body.clone(), Some("bad chunked framing".to_string())),
        };
        Seen {
            interim: r.interim,
            status_line: r.status_line,
            headers: r
                .headers
                .into_iter()
                .filter(|(k, _)| {
                    !IGNORED_RESPONSE_HEADERS
                        .iter()
                        .any(|i| k.eq_ignore_ascii_case(i))
                })
                .collect(),
            body,
            problem: framing.or(problem),
        }
    }
}

/// Everything observed for one request through one module.
#[derive(Debug, Clone)]
pub struct Observed {
    pub seen: Seen,
    pub forwards: Vec<RecordedRequest>,
}

#[derive(Default)]
pub struct Report {
    /// (case, field, debian, ours)
    pub mismatches: Vec<(String, String, String, String)>,
    /// (case, field, reason) for differences found and listed in INTENDED_DIFFERENCES.
    pub intended: Vec<(String, String, String)>,
    /// Request text per case with mismatches.
    pub requests: Vec<(String, String)>,
}

impl Report {
    pub fn check(&mut self, case: &str, field: &str, debian: String, ours: String) {
        if debian == ours {
            return;
        }
        let scoped = format!("{case}: {field}");
        if let Some((_, why)) = INTENDED_DIFFERENCES
            .iter()
            .find(|(f, _)| *f == field || *f == scoped)
        {
            self.intended
                .push((case.to_string(), field.to_string(), why.to_string()));
            return;
        }
        self.mismatches
            .push((case.to_string(), field.to_string(), debian, ours));
    }

    pub fn text(&self) -> String {
        let mut s = format!(
            "{} mismatch(es) between Debian's mod_jk 1.2.48 and ours:\n",
            self.mismatches.len()
        );
        let mut last_case = "";
        for (case, field, d, o) in &self.mismatches {
            if case != last_case {
                let req = self
                    .requests
                    .iter()
                    .find(|(c, _)| c == case)
                    .map(|(_, r)| r.as_str())
                    .unwrap_or("");
                s.push_str(&format!("\n== request `{case}`:\n{req}\n"));
                last_case = case;
            }
            s.push_str(&format!(
                "  {field}:\n      Debian: {d}\n      ours:   {o}\n"
            ));
        }
        s
    }
}

/// Shortens long values for the report (keeping their length visible).
pub fn show(s: &str) -> String {
    if s.len() > 160 {
        let head: String = s.chars().take(60).collect();
        let tail: String = s
            .chars()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("{head:?}…{tail:?} ({} bytes)", s.len())
    } else {
        format!("{s:?}")
    }
}

fn show_bytes(b: &[u8]) -> String {
    show(&String::from_utf8_lossy(b))
}

/// The request as sent, for the report (head escaped, body summarised).
pub fn show_request(raw: &[u8]) -> String {
    let split = find(raw, b"\r\n\r\n").map(|p| p + 4).unwrap_or(raw.len());
    let mut s = String::new();
    for line in String::from_utf8_lossy(&raw[..split]).split("\r\n") {
        if !line.is_empty() {
            s.push_str(&format!("    {}\n", show(line)));
        }
    }
    if split < raw.len() {
        s.push_str(&format!("    + body {} bytes\n", raw.len() - split));
    }
    s
}

/// Both raw packets around their first difference (equal strings when equal).
fn raw_diff(d: &[u8], o: &[u8]) -> (String, String) {
    if d == o {
        return (String::new(), String::new());
    }
    let at = d.iter().zip(o).take_while(|(a, b)| a == b).count();
    let from = at.saturating_sub(24);
    let hex = |b: &[u8]| {
        let end = (at + 24).min(b.len());
        let bytes: Vec<String> = b[from.min(end)..end]
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect();
        format!(
            "{} bytes, first difference at offset {at}: [{from}..] {} | {}",
            b.len(),
            bytes.join(" "),
            show_bytes(&b[from.min(end)..end])
        )
    };
    (hex(d), hex(o))
}

fn header_name(n: &HeaderName) -> String {
    match n {
        HeaderName::Code(c) => format!("code 0x{c:04X} ({})", n.as_str()),
        HeaderName::Name(s) => format!("string {s:?}"),
    }
}

fn attr_label(code: u8, name: &Option<String>) -> String {
    let known = match code {
        0x01 => "context",
        0x02 => "servlet_path",
        0x03 => "remote_user",
        0x04 => "auth_type",
        0x05 => "query_string",
        0x06 => "route",
        0x07 => "ssl_cert",
        0x08 => "ssl_cipher",
        0x09 => "ssl_session",
        0x0A => "req_attribute",
        0x0B => "ssl_key_size",
        0x0C => "secret",
        0x0D => "stored_method",
        _ => "?",
    };
    match name {
        Some(n) => format!("0x{code:02X} {known} {n}"),
        None => format!("0x{code:02X} {known}"),
    }
}

fn attr_value(v: &AttributeValue) -> String {
    match v {
        AttributeValue::Str(s) => show(s),
        AttributeValue::U16(n) => format!("int {n}"),
    }
}

fn opt<T>(v: Option<&T>, f: impl Fn(&T) -> String) -> String {
    v.map(f).unwrap_or_else(|| "<absent>".into())
}

/// Compares one FORWARD_REQUEST (with its body) field by field.
fn compare_forward(
    rep: &mut Report,
    case: &str,
    p: &str,
    d: &RecordedRequest,
    o: &RecordedRequest,
) {
    let before = rep.mismatches.len();
    let mut c = |field: &str, a: String, b: String| rep.check(case, &format!("{p}{field}"), a, b);
    c(
        "decode_error",
        format!("{:?}", d.decode_error),
        format!("{:?}", o.decode_error),
    );
    // A packet that does not decode is compared as raw bytes only (its decoded fields are
    // default values); one whose fields are all equal is also compared byte for byte.
    let decoded = d.decode_error.is_none() && o.decode_error.is_none();
    if decoded {
        compare_decoded(&mut c, &d.decoded, &o.decoded);
    }
    if !decoded || rep.mismatches.len() == before {
        let (a, b) = raw_diff(&d.raw, &o.raw);
        rep.check(case, &format!("{p}raw_bytes"), a, b);
    }
    let mut c = |field: &str, a: String, b: String| rep.check(case, &format!("{p}{field}"), a, b);
    c(
        "body",
        format!("{} bytes {}", d.body.len(), show_bytes(&d.body)),
        format!("{} bytes {}", o.body.len(), show_bytes(&o.body)),
    );
    let sizes = |r: &RecordedRequest| {
        r.body_packets
            .iter()
            .map(|p| p.len().to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    c(
        "body_packet_payload_sizes",
        format!("[{}]", sizes(d)),
        format!("[{}]", sizes(o)),
    );
    c(
        "body_complete",
        d.body_complete.to_string(),
        o.body_complete.to_string(),
    );
}

/// The decoded FORWARD_REQUEST fields, in wire order.
fn compare_decoded(
    c: &mut impl FnMut(&str, String, String),
    df: &ForwardRequest,
    of: &ForwardRequest,
) {
    c(
        "method",
        format!("{:?} (byte 0x{:02X})", df.method, df.method_code),
        format!("{:?} (byte 0x{:02X})", of.method, of.method_code),
    );
    c("protocol", show(&df.protocol), show(&of.protocol));
    c("uri", show(&df.uri), show(&of.uri));
    c("remote_addr", show(&df.remote_addr), show(&of.remote_addr));
    c(
        "remote_host",
        opt(df.remote_host.as_ref(), |s| show(s)),
        opt(of.remote_host.as_ref(), |s| show(s)),
    );
    c("server_name", show(&df.server_name), show(&of.server_name));
    c("port", df.port.to_string(), of.port.to_string());
    c("is_ssl", df.is_ssl.to_string(), of.is_ssl.to_string());
    compare_list(
        c,
        ("header", "name"),
        &df.headers,
        &of.headers,
        |h| header_name(&h.0),
        |h| h.0.as_str().to_string(),
        |h| show(&h.1),
    );
    compare_list(
        c,
        ("attribute", "code/name"),
        &df.attributes,
        &of.attributes,
        |a| attr_label(a.0, &a.1),
        |a| a.1.clone().unwrap_or_else(|| attr_label(a.0, &None)),
        |a| attr_value(&a.2),
    );
}

/// Two lists entry by entry: their lengths (`<list>_count`), then per index the entry's key
/// (`<list>[i].<key>`) and its value, labelled (`<list>[i](label).value`).
fn compare_list<T>(
    c: &mut impl FnMut(&str, String, String),
    (list, key): (&str, &str),
    d: &[T],
    o: &[T],
    key_of: impl Fn(&T) -> String,
    label_of: impl Fn(&T) -> String,
    value_of: impl Fn(&T) -> String,
) {
    c(
        &format!("{list}_count"),
        d.len().to_string(),
        o.len().to_string(),
    );
    for i in 0..d.len().max(o.len()) {
        let (de, oe) = (d.get(i), o.get(i));
        c(
            &format!("{list}[{i}].{key}"),
            opt(de, &key_of),
            opt(oe, &key_of),
        );
        let label = de.or(oe).map(&label_of).unwrap_or_default();
        c(
            &format!("{list}[{i}]({label}).value"),
            opt(de, &value_of),
            opt(oe, &value_of),
        );
    }
}

fn compare_seen(rep: &mut Report, case: &str, d: &Seen, o: &Seen) {
    let mut c = |field: &str, a: String, b: String| rep.check(case, field, a, b);
    c(
        "response.problem",
        format!("{:?}", d.problem),
        format!("{:?}", o.problem),
    );
    c(
        "response.interim",
        format!("{:?}", d.interim),
        format!("{:?}", o.interim),
    );
    c(
        "response.status_line",
        show(&d.status_line),
        show(&o.status_line),
    );
    let hs = |s: &Seen| {
        s.headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    c("response.headers", hs(d), hs(o));
    c(
        "response.body",
        format!("{} bytes {}", d.body.len(), show_bytes(&d.body)),
        format!("{} bytes {}", o.body.len(), show_bytes(&o.body)),
    );
}

pub fn compare_observed(rep: &mut Report, case: &str, d: &Observed, o: &Observed) {
    rep.check(
        case,
        "forward_request_count",
        d.forwards.len().to_string(),
        o.forwards.len().to_string(),
    );
    for (i, (df, of)) in d.forwards.iter().zip(&o.forwards).enumerate() {
        let prefix = if d.forwards.len().max(o.forwards.len()) > 1 {
            format!("forward#{i}.")
        } else {
            "forward.".to_string()
        };
        compare_forward(rep, case, &prefix, df, of);
    }
    compare_seen(rep, case, &d.seen, &o.seen);
}

/// One request's observation: the client's answer and the normalised FORWARD_REQUESTs.
pub fn observed(mut forwards: Vec<RecordedRequest>, answer: Exchange) -> Observed {
    for f in &mut forwards {
        normalise_run_specific(f, answer.client_port);
    }
    Observed {
        seen: Seen::from_answer(&answer.raw, answer.problem),
        forwards,
    }
}
