//! Query-string parsing with mod_jk's XSS masking.

use std::fmt;

/// A status request command (`cmd=`, case-sensitive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// `list` (default)
    List,
    /// `show`
    Show,
    /// `edit`
    Edit,
    /// `update`
    Update,
    /// `reset`
    Reset,
    /// `version`
    Version,
    /// `recover`
    Recover,
    /// `dump`
    Dump,
    /// `add` (mod_jk-rs): add a member to lb `w` at runtime (`host`, `port`, optional
    /// `name`, `route`, `template`).
    Add,
    /// `remove` (mod_jk-rs): remove member `sw` of lb `w` (drained first unless `force=1`).
    Remove,
}

impl Command {
    /// From the exact (case-sensitive) name.
    pub fn from_name(s: &str) -> Option<Command> {
        Some(match s {
            "list" => Command::List,
            "show" => Command::Show,
            "edit" => Command::Edit,
            "update" => Command::Update,
            "reset" => Command::Reset,
            "version" => Command::Version,
            "recover" => Command::Recover,
            "dump" => Command::Dump,
            "add" => Command::Add,
            "remove" => Command::Remove,
            _ => return None,
        })
    }

    /// The name used in `cmd=`.
    pub fn name(self) -> &'static str {
        match self {
            Command::List => "list",
            Command::Show => "show",
            Command::Edit => "edit",
            Command::Update => "update",
            Command::Reset => "reset",
            Command::Version => "version",
            Command::Recover => "recover",
            Command::Dump => "dump",
            Command::Add => "add",
            Command::Remove => "remove",
        }
    }

    /// Whether the command changes something (refused in read-only mode).
    pub fn is_changing(self) -> bool {
        matches!(
            self,
            Command::Edit
                | Command::Update
                | Command::Reset
                | Command::Recover
                | Command::Add
                | Command::Remove
        )
    }
}

/// Output format (`mime=`, case-sensitive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mime {
    /// `html` (default)
    Html,
    /// `xml`
    Xml,
    /// `txt`
    Txt,
    /// `prop`
    Prop,
    /// `json` (mod_jk-rs extension)
    Json,
    /// `prometheus` (mod_jk-rs extension, text exposition format 0.0.4)
    Prometheus,
}

impl Mime {
    /// From the exact (case-sensitive) name.
    pub fn from_name(s: &str) -> Option<Mime> {
        Some(match s {
            "html" => Mime::Html,
            "xml" => Mime::Xml,
            "txt" => Mime::Txt,
            "prop" => Mime::Prop,
            "json" => Mime::Json,
            "prometheus" => Mime::Prometheus,
            _ => return None,
        })
    }

    /// The `Content-Type` of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Mime::Html => "text/html",
            Mime::Xml => "text/xml",
            Mime::Txt | Mime::Prop => "text/plain",
            Mime::Json => "application/json",
            Mime::Prometheus => "text/plain; version=0.0.4",
        }
    }
}

/// `opt` bits.
pub mod opt {
    /// Hide lb members.
    pub const NO_MEMBERS: u32 = 0x0001;
    /// Hide URI maps.
    pub const NO_MAPS: u32 = 0x0002;
    /// Hide the legend (HTML).
    pub const NO_LEGEND: u32 = 0x0004;
    /// Hide lb workers.
    pub const NO_LB: u32 = 0x0008;
    /// Hide ajp workers.
    pub const NO_AJP: u32 = 0x0010;
    /// Read-only for this request.
    pub const READ_ONLY: u32 = 0x0020;
    /// Hide lb configuration (HTML).
    pub const NO_LB_CONF: u32 = 0x0040;
    /// Hide lb summary (HTML).
    pub const NO_LB_SUMMARY: u32 = 0x0080;
    /// Hide ajp/member configuration (HTML).
    pub const NO_AJP_CONF: u32 = 0x0100;
}

/// An error of the status worker (its text is mod_jk's message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusError {
    /// The message shown as `Result: type=ERROR message="…"`.
    pub message: String,
    /// For a bad %-escape: the parameters parsed before it (mod_jk keeps them, so the
    /// error is rendered in the `mime` requested up to there).
    pub partial: Option<Params>,
}

impl StatusError {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> StatusError {
        StatusError {
            message: message.into(),
            partial: None,
        }
    }
}

impl fmt::Display for StatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StatusError {}

/// The message for a bad %-escape.
pub const ERR_URI: &str = "Error during parsing of URI";

/// Parsed request parameters (values decoded and XSS-masked; last duplicate wins).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
    masked_query: String,
}

/// Replaces `<`, `>`, `?`, `"` by `@`.
pub fn mask_xss(s: &str) -> String {
    s.chars()
        .map(|c| {
            if matches!(c, '<' | '>' | '?' | '"') {
                '@'
            } else {
                c
            }
        })
        .collect()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// %-decoding with `+` as space. `None` on a bad escape.
pub fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = b.get(i + 1).copied().and_then(hex)?;
                let lo = b.get(i + 2).copied().and_then(hex)?;
                out.push(hi * 16 + lo);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Parses a query string (without `?`). See the crate docs for the rules.
pub fn parse_query(query: &str) -> Result<Params, StatusError> {
    let mut p = Params {
        pairs: Vec::new(),
        masked_query: mask_xss(query),
    };
    for part in query.split('&') {
        let Some((k, v)) = part.split_once('=') else {
            continue;
        };
        if k.is_empty() {
            continue;
        }
        let Some(value) = percent_decode(v) else {
            return Err(StatusError {
                message: ERR_URI.into(),
                partial: Some(p),
            });
        };
        p.set(k, &mask_xss(&value));
    }
    Ok(p)
}

/// C `atoi`: optional whitespace and sign, then digits; garbage ⇒ 0; saturating.
pub fn atoi(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut v: i64 = 0;
    for c in digits.bytes() {
        if !c.is_ascii_digit() {
            break;
        }
        v = v.saturating_mul(10).saturating_add(i64::from(c - b'0'));
    }
    if neg {
        -v
    } else {
        v
    }
}

impl Params {
    /// Sets (replaces) one parameter; the value is stored as given.
    pub fn set(&mut self, key: &str, value: &str) {
        if let Some(e) = self.pairs.iter_mut().find(|(k, _)| k == key) {
            e.1 = value.to_string();
        } else {
            self.pairs.push((key.to_string(), value.to_string()));
        }
    }

    /// A raw parameter value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// All parameters in first-seen order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The raw query string with `<>?"` masked (used for refresh links).
    pub fn masked_query(&self) -> &str {
        &self.masked_query
    }

    /// `cmd` as given (default `list`).
    pub fn cmd(&self) -> &str {
        self.get("cmd").unwrap_or("list")
    }

    /// The command, `None` if unknown.
    pub fn command(&self) -> Option<Command> {
        Command::from_name(self.cmd())
    }

    /// `mime` as given (default `html`).
    pub fn mime_name(&self) -> &str {
        self.get("mime").unwrap_or("html")
    }

    /// The format, `None` if unknown.
    pub fn mime(&self) -> Option<Mime> {
        Mime::from_name(self.mime_name())
    }

    /// `w`
    pub fn w(&self) -> Option<&str> {
        self.get("w")
    }

    /// `sw`
    pub fn sw(&self) -> Option<&str> {
        self.get("sw")
    }

    /// `att`
    pub fn att(&self) -> Option<&str> {
        self.get("att")
    }

    /// `val<n>`
    pub fn val(&self, n: usize) -> Option<&str> {
        self.get(&format!("val{n}"))
    }

    /// `re` (auto refresh seconds; 0 = off).
    pub fn refresh(&self) -> i64 {
        self.get("re").map(atoi).unwrap_or(0).max(0)
    }

    /// `opt` bits.
    pub fn opt(&self) -> u32 {
        self.get("opt").map(atoi).map(|v| v as u32).unwrap_or(0)
    }

    /// `from` (previous command).
    pub fn from(&self) -> Option<&str> {
        self.get("from")
    }

    /// `psw` (previous sub worker).
    pub fn psw(&self) -> Option<&str> {
        self.get("psw")
    }
}
