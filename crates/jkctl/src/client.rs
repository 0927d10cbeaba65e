//! Talking to the status worker over HTTP.

use crate::creds::{self, Sources};
use crate::doc::StatusDoc;
use crate::Error;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// What jkctl needs from a status worker (a trait so that procedures can be tested).
pub trait Api {
    /// `cmd=list&mime=json`.
    fn fetch(&self) -> Result<StatusDoc, Error>;
    /// `cmd=update&from=list&w=<lb>&sw=<member>&<params>&mime=txt`, checking the result line.
    fn update(&self, lb: &str, member: &str, params: &[(&str, &str)]) -> Result<(), Error>;
    /// Any other changing command (`params` start with `cmd=`; `mime=txt` is added), sent
    /// as [`Api::update`] sends its own (GET, or a POST with the token where the status
    /// worker requires it or refused the GET for lack of it). Returns the OK result's
    /// message.
    fn change(&self, params: &[(&str, &str)]) -> Result<String, Error>;
}

/// A member to add at runtime (`jkctl add`; the status worker's `cmd=add`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddSpec {
    /// Backend host (an IPv6 address without brackets).
    pub host: String,
    /// Backend AJP port.
    pub port: u16,
    /// The member's name (`None`: the module picks one).
    pub name: Option<String>,
    /// Its route (`None`: the module's default).
    pub route: Option<String>,
    /// Worker whose AJP settings it copies (`None`: the module's default).
    pub template: Option<String>,
    /// Handover: the member whose route it takes over once that member's backend stopped.
    pub handover: Option<String>,
}

/// The parameters of `cmd=add` for `spec` in balancer `lb` (without `mime`).
pub fn add_params(lb: &str, spec: &AddSpec) -> Vec<(&'static str, String)> {
    let mut p = vec![
        ("cmd", "add".to_string()),
        ("from", "list".to_string()),
        ("w", lb.to_string()),
        ("host", spec.host.clone()),
        ("port", spec.port.to_string()),
    ];
    for (k, v) in [
        ("name", &spec.name),
        ("route", &spec.route),
        ("template", &spec.template),
        ("handover", &spec.handover),
    ] {
        if let Some(v) = v {
            p.push((k, v.clone()));
        }
    }
    p
}

/// The parameters of `cmd=remove` of member `member` of `lb` (without `mime`).
pub fn remove_params(lb: &str, member: &str, force: bool) -> Vec<(&'static str, String)> {
    let mut p = vec![
        ("cmd", "remove".to_string()),
        ("from", "list".to_string()),
        ("w", lb.to_string()),
        ("sw", member.to_string()),
    ];
    if force {
        p.push(("force", "1".to_string()));
    }
    p
}

/// The new member's name in the OK message of `cmd=add`
/// (`Action finished: member NAME added to LB`).
pub fn added_member(message: &str) -> Option<&str> {
    let rest = message.split_once("member ")?.1;
    let (name, _) = rest.split_once(" added")?;
    (!name.is_empty()).then_some(name)
}

/// The status worker at a URL.
pub struct HttpApi {
    agent: ureq::Agent,
    /// The URL requested: without userinfo.
    url: String,
    /// The URL in messages: password masked ([`creds::redact_url`]).
    shown: String,
    /// `Authorization` header value (basic auth), if any.
    auth: Option<String>,
    /// The status worker's write token from the last status read (mod_jk-rs).
    token: Mutex<Option<String>>,
    /// The last status read said every change must be a POST with the token.
    token_required: AtomicBool,
}

impl HttpApi {
    /// A client for `url` (e.g. `http://127.0.0.1/jkmanager/`) with a per-request timeout.
    ///
    /// Credentials in the URL's userinfo, or in `sources`, are sent as basic auth
    /// ([`creds::resolve`] says which wins); the URL itself is requested without them.
    pub fn new(url: &str, sources: &Sources, timeout: Duration) -> Result<HttpApi, Error> {
        let lower = url.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return Err(Error::Usage(format!(
                "--url must be an http:// or https:// URL, not {:?}",
                creds::redact_url(url)
            )));
        }
        let target = creds::resolve(url, sources)?;
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(true)
            .user_agent(concat!("jkctl/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(HttpApi {
            agent: ureq::Agent::new_with_config(config),
            url: target.url,
            shown: target.shown,
            auth: target.credentials.map(|c| c.basic_auth()),
            token: Mutex::new(None),
            token_required: AtomicBool::new(false),
        })
    }

    /// A POST of `params` as a form (what the status page's buttons send), with `token`.
    fn post(&self, params: &[(&str, &str)], token: &str) -> Result<String, Error> {
        let mut req = self.agent.post(&self.url);
        if let Some(auth) = &self.auth {
            req = req.header("Authorization", auth);
        }
        let form = params.iter().copied().chain([("token", token)]);
        let unreachable = |e: ureq::Error| Error::Unreachable(describe(&self.shown, &e));
        let mut resp = req.send_form(form).map_err(unreachable)?;
        resp.body_mut().read_to_string().map_err(unreachable)
    }

    fn remember(&self, doc: &StatusDoc) {
        if let Ok(mut t) = self.token.lock() {
            t.clone_from(&doc.write_token);
        }
        self.token_required
            .store(doc.write_requires_token == Some(true), Ordering::Relaxed);
    }

    fn known_token(&self) -> Option<String> {
        self.token.lock().ok().and_then(|t| t.clone())
    }

    /// The token of a fresh status read (`None`: the status worker shows none).
    fn fresh_token(&self) -> Result<Option<String>, Error> {
        self.fetch()?;
        Ok(self.known_token())
    }

    fn get(&self, params: &[(&str, &str)]) -> Result<String, Error> {
        let mut req = self.agent.get(&self.url);
        for (k, v) in params {
            req = req.query(*k, *v);
        }
        if let Some(auth) = &self.auth {
            req = req.header("Authorization", auth);
        }
        let unreachable = |e: ureq::Error| Error::Unreachable(describe(&self.shown, &e));
        let mut resp = req.call().map_err(unreachable)?;
        resp.body_mut().read_to_string().map_err(unreachable)
    }
}

/// The message of a failed request; `url` is the redacted one.
fn describe(url: &str, e: &ureq::Error) -> String {
    match e {
        ureq::Error::StatusCode(401) => format!(
            "status URL {url} answered HTTP 401: the status worker wants a user and password \
             (give --user and JKCTL_PASSWORD or --password-file)"
        ),
        ureq::Error::StatusCode(403) => format!(
            "status URL {url} answered HTTP 403: httpd does not let this client reach the status \
             worker (its Require lines), or the user is not in the status worker's `user` list"
        ),
        ureq::Error::StatusCode(404) => format!(
            "status URL {url} answered HTTP 404: no status worker there; give the URL that a \
             JkMount maps to a status worker (worker.<name>.type=status), e.g. \
             http://HOST/jkmanager/"
        ),
        ureq::Error::StatusCode(code) => {
            format!("status URL {url} answered HTTP {code} (is it the status worker's URL?)")
        }
        ureq::Error::Timeout(_) => format!("status URL {url} timed out"),
        e => format!("status URL {url} unreachable: {e}"),
    }
}

impl Api for HttpApi {
    fn fetch(&self) -> Result<StatusDoc, Error> {
        let body = self.get(&[("cmd", "list"), ("mime", "json")])?;
        let doc = StatusDoc::parse(&body)
            .map_err(|e| Error::Unreachable(not_a_status_worker(&self.shown, &body, &e)))?;
        self.remember(&doc);
        if let Some(r) = &doc.result {
            if r.kind.as_deref() == Some("ERROR") {
                return Err(Error::Failed(format!(
                    "status worker: {}",
                    r.message.as_deref().unwrap_or("error")
                )));
            }
        }
        Ok(doc)
    }

    fn update(&self, lb: &str, member: &str, params: &[(&str, &str)]) -> Result<(), Error> {
        let mut all = vec![
            ("cmd", "update"),
            ("from", "list"),
            ("w", lb),
            ("sw", member),
        ];
        all.extend_from_slice(params);
        self.change(&all).map(|_| ())
    }

    fn change(&self, params: &[(&str, &str)]) -> Result<String, Error> {
        let mut all = params.to_vec();
        all.push(("mime", "txt"));
        // mod_jk's GET update URL, unless the status worker said it takes changes only as a
        // POST with its token (mod_jk-rs `write_requires_token`).
        let first = if self.token_required.load(Ordering::Relaxed) {
            match self
                .known_token()
                .map_or_else(|| self.fresh_token(), |t| Ok(Some(t)))?
            {
                Some(t) => self.post(&all, &t),
                None => self.get(&all),
            }
        } else {
            self.get(&all)
        }
        .and_then(|body| result_message(&body));
        match first {
            // Refused for lack of the token (or a stale one, after a graceful restart):
            // read it from the status and POST the change with it, once.
            Err(Error::Failed(m)) if refused_for_token(&m) => match self.fresh_token()? {
                Some(t) => result_message(&self.post(&all, &t)?),
                None => Err(Error::Failed(m)),
            },
            r => r,
        }
    }
}

/// Why an answer that is no status-worker JSON was refused, and what to do: an HTML page or
/// anything else means the URL is not a status worker's.
pub fn not_a_status_worker(url: &str, body: &str, parse_error: &str) -> String {
    let start: String = body.trim_start().chars().take(60).collect();
    let looks = if start.starts_with('<') {
        "an HTML page"
    } else if start.is_empty() {
        "nothing"
    } else {
        "something else"
    };
    format!(
        "status URL {url} answered {looks} ({start:?}), not the status worker's JSON \
         ({parse_error}): give the URL that a JkMount maps to a status worker \
         (worker.<name>.type=status), e.g. http://HOST/jkmanager/"
    )
}

/// Whether a refusal message is the status worker's for a missing or wrong write token.
pub fn refused_for_token(message: &str) -> bool {
    message.contains("Change refused") && message.contains("token")
}

/// Checks the `Result: type=OK message="…"` line of a `mime=txt` answer.
pub fn parse_result(body: &str) -> Result<(), Error> {
    result_message(body).map(|_| ())
}

/// As [`parse_result`], returning the OK result's message.
pub fn result_message(body: &str) -> Result<String, Error> {
    let Some(line) = body.lines().rev().find(|l| l.starts_with("Result:")) else {
        return Err(Error::Failed(format!(
            "the status worker's answer has no Result line: {:?}",
            body.chars().take(200).collect::<String>()
        )));
    };
    let kind = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("type="))
        .unwrap_or("");
    let message = line
        .split_once("message=")
        .map(|(_, m)| m.trim().trim_matches('"'))
        .unwrap_or("");
    if kind == "OK" {
        Ok(message.to_string())
    } else if message.contains("read only mode") {
        Err(Error::Failed(format!(
            "the status worker is read-only ({message}): it shows members but changes nothing; \
             use the URL of a status worker without read_only=true (and without opt=32), or set \
             worker.<name>.read_only=false"
        )))
    } else {
        Err(Error::Failed(format!(
            "the status worker refused: {}",
            if message.is_empty() { line } else { message }
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_line() {
        assert!(parse_result("Result: type=OK message=\"Action finished\"\n").is_ok());
        assert!(
            parse_result("Server: name=x\nResult: type=OK message=\"Action finished\"").is_ok()
        );
        let e = parse_result("Result: type=ERROR message=\"could not find sub worker\"\n")
            .expect_err("error");
        assert_eq!(e.exit_code(), 1);
        assert!(e.message().ends_with("could not find sub worker"), "{e}");
        let e = parse_result("<html>hello</html>").expect_err("no result");
        assert!(e.message().contains("no Result line"), "{e}");
    }

    #[test]
    fn errors_say_what_to_do() {
        let e = parse_result(
            "Result: type=ERROR message=\"This command is not allowed in read only mode.\"\n",
        )
        .expect_err("read-only");
        assert!(
            e.message().contains("the status worker is read-only"),
            "{e}"
        );
        assert!(e.message().contains("read_only"), "{e}");
        let m = not_a_status_worker("http://h/app/", "<!DOCTYPE html><html>", "expected value");
        assert!(m.contains("answered an HTML page"), "{m}");
        assert!(m.contains("JkMount maps to a status worker"), "{m}");
        assert!(not_a_status_worker("u", "", "eof").contains("answered nothing"));
    }

    #[test]
    fn result_messages_and_the_added_member() {
        let m = result_message(
            "Result: type=OK message=\"Action finished: member app_3 added to lb\"\n",
        )
        .expect("ok");
        assert_eq!(m, "Action finished: member app_3 added to lb");
        assert_eq!(added_member(&m), Some("app_3"));
        assert_eq!(
            added_member("Action finished: member lb~3 added to lb"),
            Some("lb~3")
        );
        assert_eq!(added_member("Action finished"), None);
        assert_eq!(added_member("Action finished: member  added"), None);
    }

    #[test]
    fn add_and_remove_requests() {
        let spec = AddSpec {
            host: "10.0.0.7".into(),
            port: 8019,
            name: Some("app_3".into()),
            route: None,
            template: Some("tomcat1".into()),
            handover: None,
        };
        let p = add_params("lb", &spec);
        let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(
            p,
            [
                ("cmd", "add"),
                ("from", "list"),
                ("w", "lb"),
                ("host", "10.0.0.7"),
                ("port", "8019"),
                ("name", "app_3"),
                ("template", "tomcat1"),
            ]
        );
        let handover = AddSpec {
            host: "10.0.0.8".into(),
            port: 8009,
            handover: Some("tomcat1".into()),
            ..spec
        };
        let p = add_params("lb", &handover);
        assert_eq!(p.last(), Some(&("handover", "tomcat1".to_string())));
        let p = remove_params("lb", "app_3", false);
        assert_eq!(p.len(), 4);
        assert_eq!(p[0], ("cmd", "remove".to_string()));
        assert_eq!(p[3], ("sw", "app_3".to_string()));
        let p = remove_params("lb", "app_3", true);
        assert_eq!(p.last(), Some(&("force", "1".to_string())));
    }

    #[test]
    fn rejects_non_http_urls() {
        let none = Sources::default();
        let e = HttpApi::new("127.0.0.1/jkmanager", &none, Duration::from_secs(1))
            .err()
            .expect("usage");
        assert_eq!(e.exit_code(), 2);
        assert!(HttpApi::new("HTTP://127.0.0.1/jkmanager/", &none, Duration::from_secs(1)).is_ok());
        let e = HttpApi::new("admin:s3cret@127.0.0.1/jk/", &none, Duration::from_secs(1))
            .err()
            .expect("usage");
        assert!(!e.message().contains("s3cret"), "{e}");
    }

    #[test]
    fn unreachable_is_exit_3() {
        // A loopback port that was free a moment ago: nothing listens there now.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let url = format!("http://admin:s3cret@127.0.0.1:{port}/jkmanager/");
        let api = HttpApi::new(&url, &Sources::default(), Duration::from_secs(2)).expect("client");
        let e = api.fetch().expect_err("unreachable");
        assert_eq!(e.exit_code(), 3, "{e}");
        assert!(!e.message().contains("s3cret"), "{e}");
        assert!(e.message().contains("admin:***@127.0.0.1"), "{e}");
    }
}
