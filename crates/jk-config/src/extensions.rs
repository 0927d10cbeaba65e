//! Rule extensions: `worker;name=value;…` after the worker of a mount rule (mod_jk
//! `uri_worker_map_ext`, "Rule extensions" in the uriworkermap documentation). Parsed here for
//! every mount source (jk-urimap) and read by the load balancer (jk-lb) as they are.
//!
//! mod_jk turns garbage numbers into 0 with `atoi`; here a value that cannot mean anything is
//! an error, so a typo in `reply_timeout=3OOO` stops the configuration instead of silently
//! disabling the timeout. Unknown extension names stay warnings, as in mod_jk.

use std::fmt;

use crate::lb::Activation;

/// Per-rule overrides parsed from the extension part of a worker spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleExtensions {
    /// `reply_timeout=` in milliseconds; `-1` = not set (the worker's value applies).
    pub reply_timeout: i32,
    /// `sticky_ignore=`: ignore session routing for this rule (lb only).
    pub sticky_ignore: bool,
    /// `stateless=`: request does not count as a new session (lb only).
    pub stateless: bool,
    /// `active=`/`disabled=`/`stopped=`: lb members whose activation this rule overrides,
    /// in the order they were first named (a member named in two lists gets the later one,
    /// with a warning; names that are no member are ignored by the balancer).
    pub activations: Vec<(String, Activation)>,
    /// `fail_on_status=`: replaces the worker's fail_on_status list for this rule.
    pub fail_on_status: Option<Vec<i32>>,
    /// `use_server_errors=`: backend statuses ≥ this are answered by httpd; 0 = not set.
    pub use_server_errors: u16,
    /// `session_cookie=`: cookie name used for routing (lb only).
    pub session_cookie: Option<String>,
    /// `session_path=`: path-parameter name used for routing (lb only).
    pub session_path: Option<String>,
    /// `session_cookie_path=`: stored only; mod_jk does not use it for generated cookies.
    pub session_cookie_path: Option<String>,
    /// `set_session_cookie=`: generate a session cookie for this rule (lb only).
    pub set_session_cookie: bool,
}

impl Default for RuleExtensions {
    fn default() -> Self {
        RuleExtensions {
            reply_timeout: -1,
            sticky_ignore: false,
            stateless: false,
            activations: Vec::new(),
            fail_on_status: None,
            use_server_errors: 0,
            session_cookie: None,
            session_path: None,
            session_cookie_path: None,
            set_session_cookie: false,
        }
    }
}

impl RuleExtensions {
    /// True when no extension was given (the rule behaves like a plain `pattern=worker`).
    pub fn is_default(&self) -> bool {
        *self == RuleExtensions::default()
    }

    /// The members this rule sets to activation `a`, in order.
    pub fn members(&self, a: Activation) -> impl Iterator<Item = &str> {
        self.activations
            .iter()
            .filter(move |(_, b)| *b == a)
            .map(|(m, _)| m.as_str())
    }

    /// True if an extension that only an lb worker understands is set; the glue warns
    /// ("ignored") when such a rule points at a non-lb worker.
    pub fn uses_lb_only(&self) -> bool {
        self.sticky_ignore
            || self.stateless
            || !self.activations.is_empty()
            || self.session_cookie.is_some()
            || self.session_path.is_some()
            || self.session_cookie_path.is_some()
            || self.set_session_cookie
    }
}

/// A worker spec that cannot mean anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerSpecError {
    /// Nothing before the first `;`.
    EmptyWorker(String),
    /// An extension value of the wrong shape, e.g. `reply_timeout=abc`.
    BadValue {
        /// Extension name, e.g. `reply_timeout`.
        name: String,
        /// The offending value as written.
        value: String,
        /// What was expected, e.g. "an integer".
        expected: &'static str,
    },
}

impl fmt::Display for WorkerSpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkerSpecError::EmptyWorker(spec) => write!(f, "no worker name in '{spec}'"),
            WorkerSpecError::BadValue {
                name,
                value,
                expected,
            } => write!(f, "rule extension {name}: '{value}' is not {expected}"),
        }
    }
}

impl std::error::Error for WorkerSpecError {}

/// Splits `worker;name=value;…` into the worker name, its extensions and warnings.
///
/// Empty fields (`lb;;x=1`) are skipped like mod_jk's `strtok`. `session_path=;jsessionid`
/// reproduces mod_jk's quirk: an empty `session_path` value takes the *next* field as value.
/// Unknown names give the warning `unknown rule extension '…'`.
///
/// ```
/// use jk_config::{parse_worker_spec, Activation};
/// let (worker, ext, warnings) = parse_worker_spec("lb;reply_timeout=3000;active=a,b").unwrap();
/// assert_eq!(worker, "lb");
/// assert_eq!(ext.reply_timeout, 3000);
/// assert!(ext.members(Activation::Active).eq(["a", "b"]));
/// assert!(warnings.is_empty());
/// ```
pub fn parse_worker_spec(
    spec: &str,
) -> Result<(String, RuleExtensions, Vec<String>), WorkerSpecError> {
    let mut fields = spec.split(';');
    let worker = fields.next().unwrap_or("").trim();
    if worker.is_empty() {
        return Err(WorkerSpecError::EmptyWorker(spec.to_owned()));
    }
    let mut ext = RuleExtensions::default();
    let mut warnings = Vec::new();

    let mut fields = fields.map(str::trim).filter(|f| !f.is_empty());
    while let Some(field) = fields.next() {
        let Some((name, value)) = field.split_once('=') else {
            warnings.push(format!("unknown rule extension '{field}'"));
            continue;
        };
        match name {
            "reply_timeout" => ext.reply_timeout = int_value(name, value)?,
            "sticky_ignore" => ext.sticky_ignore = int_value(name, value)? != 0,
            "stateless" => ext.stateless = int_value(name, value)? != 0,
            "set_session_cookie" => ext.set_session_cookie = int_value(name, value)? != 0,
            "use_server_errors" => {
                ext.use_server_errors = value
                    .trim()
                    .parse::<u16>()
                    .map_err(|_| bad(name, value, "an HTTP status (0-65535)"))?;
            }
            "fail_on_status" => {
                let codes = list_items(value)
                    .map(|code| {
                        code.parse::<i32>()
                            .map_err(|_| bad(name, code, "an integer"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                ext.fail_on_status = Some(codes);
            }
            "active" => assign(
                &mut ext.activations,
                value,
                Activation::Active,
                &mut warnings,
            ),
            "disabled" => assign(
                &mut ext.activations,
                value,
                Activation::Disabled,
                &mut warnings,
            ),
            "stopped" => assign(
                &mut ext.activations,
                value,
                Activation::Stopped,
                &mut warnings,
            ),
            "session_cookie" => ext.session_cookie = text_value(name, value, &mut warnings),
            "session_cookie_path" => {
                ext.session_cookie_path = text_value(name, value, &mut warnings)
            }
            "session_path" => {
                if value.is_empty() {
                    // `session_path=;jsessionid`: the ';' belonging to the value split it off,
                    // so mod_jk takes the next field (without its ';') as the value.
                    match fields.next() {
                        Some(next) => ext.session_path = Some(next.to_owned()),
                        None => warnings.push(
                            "rule extension session_path has an empty value, ignored".to_owned(),
                        ),
                    }
                } else {
                    ext.session_path = Some(value.to_owned());
                }
            }
            _ => warnings.push(format!("unknown rule extension '{field}'")),
        }
    }

    Ok((worker.to_owned(), ext, warnings))
}

fn bad(name: &str, value: &str, expected: &'static str) -> WorkerSpecError {
    WorkerSpecError::BadValue {
        name: name.to_owned(),
        value: value.to_owned(),
        expected,
    }
}

fn int_value(name: &str, value: &str) -> Result<i32, WorkerSpecError> {
    value
        .trim()
        .parse::<i32>()
        .map_err(|_| bad(name, value, "an integer"))
}

fn text_value(name: &str, value: &str, warnings: &mut Vec<String>) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        warnings.push(format!("rule extension {name} has an empty value, ignored"));
        None
    } else {
        Some(value.to_owned())
    }
}

/// Items of a member or status list: separated by commas and/or white space.
fn list_items(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(|c: char| c == ',' || c.is_ascii_whitespace())
        .filter(|s| !s.is_empty())
}

/// Records `member → activation`; a member may be named once per rule, a later assignment
/// wins.
fn assign(
    activations: &mut Vec<(String, Activation)>,
    value: &str,
    a: Activation,
    warnings: &mut Vec<String>,
) {
    // The extension's own name: `active`, `disabled`, `stopped`.
    let ext = |a: Activation| a.name().to_ascii_lowercase();
    for member in list_items(value) {
        if let Some(slot) = activations.iter_mut().find(|(m, _)| m == member) {
            if slot.1 != a {
                warnings.push(format!(
                    "rule extension {}: member '{member}' was already set to {}, {} wins",
                    ext(a),
                    ext(slot.1),
                    ext(a)
                ));
                slot.1 = a;
            }
        } else {
            activations.push((member.to_owned(), a));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn plain_worker() {
        let (w, ext, warn) = parse_worker_spec("worker1").unwrap();
        assert_eq!(w, "worker1");
        assert!(ext.is_default());
        assert!(warn.is_empty());
        let (w, ext, _) = parse_worker_spec("lb;").unwrap();
        assert_eq!(w, "lb");
        assert!(ext.is_default());
    }

    #[test]
    fn every_extension() {
        let spec = "lb;reply_timeout=3000;sticky_ignore=1;stateless=2;active=a,b;disabled=c d;\
                    stopped=e;fail_on_status=500, 503,-404;use_server_errors=400;\
                    session_cookie=MYID;session_path=;jsessionid;session_cookie_path=/app;\
                    set_session_cookie=1";
        let (w, ext, warn) = parse_worker_spec(spec).unwrap();
        assert_eq!(w, "lb");
        assert!(warn.is_empty(), "{warn:?}");
        assert_eq!(ext.reply_timeout, 3000);
        assert!(ext.sticky_ignore);
        assert!(ext.stateless);
        assert!(ext.members(Activation::Active).eq(["a", "b"]));
        assert!(ext.members(Activation::Disabled).eq(["c", "d"]));
        assert!(ext.members(Activation::Stopped).eq(["e"]));
        assert_eq!(ext.fail_on_status, Some(vec![500, 503, -404]));
        assert_eq!(ext.use_server_errors, 400);
        assert_eq!(ext.session_cookie.as_deref(), Some("MYID"));
        assert_eq!(ext.session_path.as_deref(), Some("jsessionid"));
        assert_eq!(ext.session_cookie_path.as_deref(), Some("/app"));
        assert!(ext.set_session_cookie);
        assert!(ext.uses_lb_only());
    }

    #[test]
    fn zero_means_false_and_session_path_with_value() {
        let (_, ext, _) =
            parse_worker_spec("lb;sticky_ignore=0;stateless=0;session_path=sid").unwrap();
        assert!(!ext.sticky_ignore);
        assert!(!ext.stateless);
        assert_eq!(ext.session_path.as_deref(), Some("sid"));
    }

    #[test]
    fn session_path_quirk_at_end() {
        let (_, ext, warn) = parse_worker_spec("lb;session_path=").unwrap();
        assert_eq!(ext.session_path, None);
        assert_eq!(warn.len(), 1);
    }

    #[test]
    fn unknown_extension_warns() {
        let (w, ext, warn) = parse_worker_spec("w;foo=bar;;stateless").unwrap();
        assert_eq!(w, "w");
        assert!(ext.is_default());
        assert_eq!(
            warn,
            [
                "unknown rule extension 'foo=bar'",
                "unknown rule extension 'stateless'"
            ]
        );
    }

    #[test]
    fn conflicting_activation_last_wins() {
        let (_, ext, warn) = parse_worker_spec("lb;active=a,b;disabled=a;stopped=b,c").unwrap();
        assert_eq!(ext.members(Activation::Active).count(), 0);
        assert!(ext.members(Activation::Disabled).eq(["a"]));
        assert!(ext.members(Activation::Stopped).eq(["b", "c"]));
        assert_eq!(
            warn,
            [
                "rule extension disabled: member 'a' was already set to active, disabled wins",
                "rule extension stopped: member 'b' was already set to active, stopped wins"
            ]
        );
    }

    #[test]
    fn bad_values_are_errors() {
        for spec in [
            "w;reply_timeout=abc",
            "w;reply_timeout=",
            "w;sticky_ignore=yes",
            "w;stateless=1.5",
            "w;fail_on_status=500,x",
            "w;use_server_errors=-1",
            "w;use_server_errors=70000",
            "w;set_session_cookie=on",
        ] {
            let err = parse_worker_spec(spec).unwrap_err();
            assert!(matches!(err, WorkerSpecError::BadValue { .. }), "{spec}");
        }
        let err = parse_worker_spec("w;reply_timeout=3OOO").unwrap_err();
        assert_eq!(
            err.to_string(),
            "rule extension reply_timeout: '3OOO' is not an integer"
        );
        assert!(matches!(
            parse_worker_spec(";reply_timeout=1"),
            Err(WorkerSpecError::EmptyWorker(_))
        ));
        assert!(matches!(
            parse_worker_spec(""),
            Err(WorkerSpecError::EmptyWorker(_))
        ));
    }

    #[test]
    fn empty_fail_on_status_clears_the_list() {
        let (_, ext, _) = parse_worker_spec("w;fail_on_status=").unwrap();
        assert_eq!(ext.fail_on_status, Some(vec![]));
    }
}
