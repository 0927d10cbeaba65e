//! Credentials for the status worker (HTTP basic auth): where they come from, and keeping
//! them out of everything jkctl prints.
//!
//! The user name comes from `--user` or `JKCTL_USER`, else from the URL's `user@`. The
//! password comes from `--password-file` (its first line), else from `JKCTL_PASSWORD`,
//! else from the URL's `user:password@` (percent-decoded). So the precedence is:
//! URL < environment < command line (file).
//!
//! Credentials are sent only in an `Authorization: Basic` header. The URL handed to the
//! HTTP client has no userinfo, so no error of the client can contain them, and every URL
//! that jkctl shows goes through [`redact_url`].

use crate::Error;
use base64::Engine;
use std::convert::Infallible;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Environment variable with the user name (same as `--user`).
pub const ENV_USER: &str = "JKCTL_USER";
/// Environment variable with the password.
pub const ENV_PASSWORD: &str = "JKCTL_PASSWORD";
/// What stands for a password wherever a URL is shown.
pub const MASK: &str = "***";
/// A password file is read up to this many bytes (its first line is the password).
const MAX_PASSWORD_FILE: u64 = 64 * 1024;

/// The `--url` value as given. Its `Debug` and `Display` forms are redacted
/// ([`redact_url`]); [`StatusUrl::as_str`] is the URL itself.
#[derive(Clone, PartialEq, Eq)]
pub struct StatusUrl(String);

impl StatusUrl {
    /// The URL as given, credentials included: not for printing.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for StatusUrl {
    type Err = Infallible;
    fn from_str(s: &str) -> Result<StatusUrl, Infallible> {
        Ok(StatusUrl(s.to_string()))
    }
}

impl fmt::Debug for StatusUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StatusUrl")
            .field(&redact_url(&self.0))
            .finish()
    }
}

impl fmt::Display for StatusUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

/// `url` cut at its userinfo: (scheme and `://`, userinfo, the rest after the `@`).
///
/// The userinfo runs to the LAST `@` of the URL, so that a password with an unencoded
/// `@`, `/`, `?` or `#` is still taken (and masked) whole; see [`is_malformed`].
fn cut(url: &str) -> Option<(&str, &str, &str)> {
    let start = url.find("://").map_or(0, |i| i + 3);
    let at = start + url[start..].rfind('@')?;
    Some((&url[..start], &url[start..at], &url[at + 1..]))
}

/// A userinfo that cannot be one: it has a `/`, `?` or `#` (an unencoded one in the
/// password, or an `@` after the host).
fn is_malformed(userinfo: &str) -> bool {
    userinfo.contains(['/', '?', '#'])
}

/// `url` with its password replaced by `***`: `http://admin:***@host/jkmanager/`. A user
/// name without a password is kept; a userinfo that cannot be split safely is masked whole
/// (`http://***@host/`). Every URL that jkctl prints goes through here.
pub fn redact_url(url: &str) -> String {
    match cut(url) {
        None => url.to_string(),
        Some((scheme, info, rest)) if is_malformed(info) => format!("{scheme}{MASK}@{rest}"),
        Some((scheme, info, rest)) => match info.split_once(':') {
            Some((user, _)) => format!("{scheme}{user}:{MASK}@{rest}"),
            None => url.to_string(),
        },
    }
}

/// Decodes `%XX` escapes (invalid ones are kept as they are).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit));
        match (b[i], hex) {
            (b'%', Some(h)) => {
                let digit = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
                out.push((digit(h[0]) << 4) | digit(h[1]));
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A user name and password for basic auth. `Debug` does not show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    user: String,
    password: String,
}

impl Credentials {
    /// Credentials of `user` with `password`.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials {
            user: user.into(),
            password: password.into(),
        }
    }

    /// The user name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The `Authorization` header value: `Basic base64(user:password)`.
    pub fn basic_auth(&self) -> String {
        let pair = format!("{}:{}", self.user, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &MASK)
            .finish()
    }
}

/// Where credentials may come from besides the URL.
#[derive(Clone, Default)]
pub struct Sources {
    /// `--user` or `JKCTL_USER`.
    pub user: Option<String>,
    /// `JKCTL_PASSWORD`.
    pub password_env: Option<String>,
    /// `--password-file`.
    pub password_file: Option<PathBuf>,
}

impl fmt::Debug for Sources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sources")
            .field("user", &self.user)
            .field("password_env", &self.password_env.as_ref().map(|_| MASK))
            .field("password_file", &self.password_file)
            .finish()
    }
}

impl Sources {
    /// `user` (from `--user`/`JKCTL_USER`), `password_file`, and `JKCTL_PASSWORD` from the
    /// environment (unset or empty: none).
    pub fn from_env(
        user: Option<String>,
        password_file: Option<PathBuf>,
    ) -> Result<Sources, Error> {
        let password_env = match std::env::var(ENV_PASSWORD) {
            Ok(p) => Some(p).filter(|p| !p.is_empty()),
            Err(std::env::VarError::NotPresent) => None,
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(Error::Usage(format!("{ENV_PASSWORD} is not valid UTF-8")))
            }
        };
        Ok(Sources {
            user,
            password_env,
            password_file,
        })
    }
}

/// The first line of a password file, without its line end. Warns (on stderr) when the
/// file is accessible by group or others.
pub fn read_password_file(path: &Path) -> Result<String, Error> {
    let what = format!("--password-file {}", path.display());
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_PASSWORD_FILE).read_to_end(&mut bytes))
        .map_err(|e| Error::Usage(format!("cannot read {what}: {e}")))?;
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let password = std::str::from_utf8(line)
        .map_err(|_| Error::Usage(format!("{what}: the first line is not valid UTF-8")))?;
    if password.is_empty() {
        return Err(Error::Usage(format!("{what}: the first line is empty")));
    }
    warn_if_shared(path, &what);
    Ok(password.to_string())
}

#[cfg(unix)]
fn warn_if_shared(path: &Path, what: &str) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            eprintln!(
                "jkctl: warning: {what} is accessible by group or others (mode {mode:03o}); \
                 chmod 600 it"
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_: &Path, _: &str) {}

/// A status URL made ready to use.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The URL to request: without userinfo.
    pub url: String,
    /// The URL to show in messages ([`redact_url`] of the one given).
    pub shown: String,
    /// What to send as basic auth, if anything.
    pub credentials: Option<Credentials>,
}

/// Takes the userinfo out of `url` and settles the credentials: user name from
/// `sources.user`, else the URL; password from `sources.password_file`, else
/// `sources.password_env`, else the URL. A user without a password sends an empty one;
/// a password without any user is a usage error.
pub fn resolve(url: &str, sources: &Sources) -> Result<Resolved, Error> {
    let shown = redact_url(url);
    let (url, url_user, url_password) = match cut(url) {
        None => (url.to_string(), None, None),
        Some((_, info, _)) if is_malformed(info) => {
            return Err(Error::Usage(format!(
                "--url {shown}: the user name or password has a '/', '?' or '#' that is not \
                 percent-encoded (%2F, %3F, %23), or there is an '@' after the host; \
                 better, give the password with {ENV_PASSWORD} or --password-file"
            )))
        }
        Some((scheme, info, rest)) => {
            let (user, password) = match info.split_once(':') {
                Some((u, p)) => (u, Some(percent_decode(p))),
                None => (info, None),
            };
            (
                format!("{scheme}{rest}"),
                Some(percent_decode(user)),
                password,
            )
        }
    };
    let user = sources.user.clone().filter(|u| !u.is_empty()).or(url_user);
    let password = match &sources.password_file {
        Some(path) => Some(read_password_file(path)?),
        None => sources.password_env.clone().or(url_password),
    };
    let credentials = match (user, password) {
        (None, None) => None,
        (Some(user), password) => Some(Credentials::new(user, password.unwrap_or_default())),
        (None, Some(_)) => {
            return Err(Error::Usage(format!(
                "a password was given but no user name: give --user NAME, set {ENV_USER}, \
                 or put the user in the URL (http://NAME@host/…)"
            )))
        }
    };
    Ok(Resolved {
        url,
        shown,
        credentials,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_the_password_only() {
        assert_eq!(
            redact_url("http://admin:s3cret@127.0.0.1:8080/jk/"),
            "http://admin:***@127.0.0.1:8080/jk/"
        );
        assert_eq!(redact_url("http://admin@h/jk/"), "http://admin@h/jk/");
        assert_eq!(redact_url("http://h/jk/"), "http://h/jk/");
        assert_eq!(redact_url("HTTPS://a:b@h"), "HTTPS://a:***@h");
        // No scheme (refused later, but shown first).
        assert_eq!(redact_url("admin:s3cret@h/jk"), "admin:***@h/jk");
        // Unencoded '@', '#', '/', '?' in the password: nothing of it is shown.
        for url in [
            "http://admin:p@s3cret@h/jk/",
            "http://admin:ab#s3cret@h/jk/",
            "http://admin:ab/s3cret@h/jk/",
            "http://admin:a@b?s3cret@h/jk/",
            "ftp://admin:s3cret:x@h/",
        ] {
            let r = redact_url(url);
            assert!(!r.contains("s3cret"), "{url} -> {r}");
            assert!(r.ends_with("@h/jk/") || r.ends_with("@h/"), "{url} -> {r}");
        }
    }

    #[test]
    fn status_url_debug_and_display_are_redacted() {
        let u: StatusUrl = "http://admin:s3cret@h/jk/".parse().expect("infallible");
        assert_eq!(u.as_str(), "http://admin:s3cret@h/jk/");
        assert!(!format!("{u:?}").contains("s3cret"));
        assert_eq!(u.to_string(), "http://admin:***@h/jk/");
    }

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(percent_decode("p%40ss%2f%3A"), "p@ss/:");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%+1%4"), "%zz%+1%4");
        assert_eq!(percent_decode("%C3%A9"), "é");
    }

    #[test]
    fn basic_auth_header() {
        let c = Credentials::new("admin", "s3cret");
        assert_eq!(c.basic_auth(), "Basic YWRtaW46czNjcmV0");
        assert_eq!(c.user(), "admin");
        assert!(!format!("{c:?}").contains("s3cret"));
        let s = Sources {
            password_env: Some("s3cret".into()),
            ..Sources::default()
        };
        assert!(!format!("{s:?}").contains("s3cret"));
    }

    #[test]
    fn url_credentials_are_taken_out_of_the_url() {
        let r = resolve("http://admin:p%40ss@h:81/jk/", &Sources::default()).expect("ok");
        assert_eq!(r.url, "http://h:81/jk/");
        assert_eq!(r.shown, "http://admin:***@h:81/jk/");
        assert_eq!(r.credentials, Some(Credentials::new("admin", "p@ss")));
        let r = resolve("http://admin@h/", &Sources::default()).expect("ok");
        assert_eq!(r.url, "http://h/");
        assert_eq!(r.credentials, Some(Credentials::new("admin", "")));
        let r = resolve("http://h/", &Sources::default()).expect("ok");
        assert_eq!(r.credentials, None);
        let e = resolve("http://admin:a#s3cret@h/", &Sources::default()).expect_err("bad");
        assert_eq!(e.exit_code(), 2);
        assert!(!e.message().contains("s3cret"), "{e}");
    }

    #[test]
    fn precedence_url_then_env_then_file() {
        let dir = std::env::temp_dir().join(format!("jkctl-creds-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("pw");
        std::fs::write(&file, "from-file\r\nignored\n").expect("write");
        let env = Sources {
            user: Some("envuser".into()),
            password_env: Some("from-env".into()),
            password_file: None,
        };
        let r = resolve("http://u:from-url@h/", &env).expect("ok");
        assert_eq!(r.credentials, Some(Credentials::new("envuser", "from-env")));
        let both = Sources {
            password_file: Some(file.clone()),
            ..env
        };
        let r = resolve("http://u:from-url@h/", &both).expect("ok");
        assert_eq!(
            r.credentials,
            Some(Credentials::new("envuser", "from-file"))
        );
        let file_only = Sources {
            password_file: Some(file),
            ..Sources::default()
        };
        let r = resolve("http://u:from-url@h/", &file_only).expect("ok");
        assert_eq!(r.credentials, Some(Credentials::new("u", "from-file")));
        let e = resolve("http://h/", &file_only).expect_err("no user");
        assert_eq!(e.exit_code(), 2);
        let missing = Sources {
            password_file: Some(dir.join("missing")),
            ..Sources::default()
        };
        let e = resolve("http://u@h/", &missing).expect_err("missing");
        assert!(e.message().contains("missing"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
