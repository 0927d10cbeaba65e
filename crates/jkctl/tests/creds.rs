//! Credentials of the status URL: sent as HTTP basic auth, never printed.
//!
//! Runs the real `jkctl` binary against a small loopback HTTP listener that records the
//! request heads it received and answers every request with one fixed status and body.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

const SECRET: &str = "s3cret";

/// A minimal status document: one balancer with one member.
const STATUS_JSON: &str = r#"{"balancers":[{"name":"lb","members":[{"name":"tomcat1","activation":"ACT","state":"OK"}]}]}"#;

/// A loopback listener answering `status` with `body`, recording every request head.
struct Server {
    /// `host:port`.
    addr: String,
    heads: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(status: &'static str, body: &'static str) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr").to_string();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (h2, s2) = (heads.clone(), stop.clone());
        // Bounded: stops when told to, and after 60 s whatever happens.
        let deadline = Instant::now() + Duration::from_secs(60);
        let thread = thread::spawn(move || {
            while !s2.load(Ordering::SeqCst) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => serve(stream, &h2, status, body),
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Server {
            addr,
            heads,
            stop,
            thread: Some(thread),
        }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().expect("heads").clone()
    }

    /// The `Authorization` header of every request received, in order.
    fn authorizations(&self) -> Vec<String> {
        self.heads()
            .iter()
            .map(|h| {
                h.lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("authorization")
                            .then(|| v.trim().to_string())
                    })
                    .unwrap_or_default()
            })
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut s: TcpStream, heads: &Mutex<Vec<String>>, status: &str, body: &str) {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 65536 {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    heads.lock().expect("heads").push(head.clone());
    // An unhelpful server that echoes the request head in its error pages.
    let body = if status.starts_with("200") {
        body.to_string()
    } else {
        format!("{body}\n{head}")
    };
    let _ = write!(
        s,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nWWW-Authenticate: Basic realm=\"jk\"\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A loopback port nothing listens on (it was free a moment ago).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Runs jkctl with `args` and exactly the `JKCTL_*` variables in `env`: (exit code, stdout, stderr).
fn jkctl(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jkctl"));
    cmd.args(args)
        .env_remove("JKCTL_URL")
        .env_remove("JKCTL_USER")
        .env_remove("JKCTL_PASSWORD");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run jkctl");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!("--- jkctl {args:?}\n{stdout}{stderr}");
    (out.status.code().unwrap_or(-1), stdout, stderr)
}

/// Asserts that no output of a run contains `secret`.
fn assert_not_printed(secret: &str, out: &str, err: &str) {
    assert!(!out.contains(secret), "stdout shows {secret:?}: {out}");
    assert!(!err.contains(secret), "stderr shows {secret:?}: {err}");
}

/// `Basic base64(user:password)`, spelled out for the values the tests use.
fn basic(user_password: &str) -> String {
    let encoded = match user_password {
        "admin:s3cret" => "YWRtaW46czNjcmV0",
        "admin:f1le-s3cret" => "YWRtaW46ZjFsZS1zM2NyZXQ=",
        "admin:p@ss/s3cret" => "YWRtaW46cEBzcy9zM2NyZXQ=",
        other => panic!("no encoding written down for {other:?}"),
    };
    format!("Basic {encoded}")
}

/// A file in a fresh temporary directory; removed with the directory on drop.
struct TempFile {
    dir: PathBuf,
    path: PathBuf,
}

impl TempFile {
    fn new(name: &str, contents: &str, mode: u32) -> TempFile {
        let dir = std::env::temp_dir().join(format!("jkctl-creds-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("password");
        std::fs::write(&path, contents).expect("write password file");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        }
        #[cfg(not(unix))]
        let _ = mode;
        TempFile { dir, path }
    }

    fn path(&self) -> &str {
        self.path.to_str().expect("utf-8 temp path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn unreachable_url_error_does_not_print_the_password() {
    let url = format!("http://admin:{SECRET}@127.0.0.1:{}/jk/", closed_port());
    let (code, out, err) = jkctl(&["--url", &url, "status"], &[]);
    assert_eq!(code, 3, "{err}");
    assert_not_printed(SECRET, &out, &err);
    // Still says which URL, with the password masked.
    assert!(err.contains("http://admin:***@127.0.0.1:"), "{err}");
}

#[test]
fn http_401_and_500_errors_do_not_print_the_password() {
    for status in ["401 Unauthorized", "500 Internal Server Error"] {
        let server = Server::start(status, "denied");
        let url = format!("http://admin:{SECRET}@{}/jk/", server.addr);
        let (code, out, err) = jkctl(&["--url", &url, "status"], &[]);
        assert_eq!(code, 3, "{status}: {err}");
        assert_not_printed(SECRET, &out, &err);
        assert!(err.contains(&status[..3]), "{err}");
        // The URL's credentials were sent as basic auth.
        assert_eq!(server.authorizations(), [basic("admin:s3cret")], "{status}");
        // And they never appear in the request line.
        assert!(server.heads().iter().all(|h| !h.contains(SECRET)));
    }
}

#[test]
fn non_http_url_is_refused_without_printing_the_password() {
    let url = format!("ftp://admin:{SECRET}@127.0.0.1:{}/jk/", closed_port());
    let (code, out, err) = jkctl(&["--url", &url, "status"], &[]);
    assert_eq!(code, 2, "{err}");
    assert_not_printed(SECRET, &out, &err);
}

#[test]
fn unencoded_hash_in_the_password_is_refused_without_printing_it() {
    // `#` ends the authority: without the fix the password leaked as part of the URL.
    let url = format!("http://admin:ab#{SECRET}@127.0.0.1:{}/jk/", closed_port());
    let (code, out, err) = jkctl(&["--url", &url, "status"], &[]);
    assert_ne!(code, 0, "{err}");
    assert_not_printed(SECRET, &out, &err);
}

#[test]
fn password_from_env_is_sent_as_basic_auth_and_never_printed() {
    let server = Server::start("200 OK", STATUS_JSON);
    let url = format!("http://{}/jk/", server.addr);
    let (code, out, err) = jkctl(
        &["--url", &url, "status"],
        &[("JKCTL_USER", "admin"), ("JKCTL_PASSWORD", SECRET)],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("tomcat1"), "{out}");
    assert_not_printed(SECRET, &out, &err);
    assert_eq!(server.authorizations(), [basic("admin:s3cret")]);

    // --user on the command line, the password from the environment; it also replaces a
    // password given in the URL.
    let url = format!("http://someone:wrong@{}/jk/", server.addr);
    let (code, out, err) = jkctl(
        &["--url", &url, "--user", "admin", "status"],
        &[("JKCTL_PASSWORD", SECRET)],
    );
    assert_eq!(code, 0, "{err}");
    assert_not_printed(SECRET, &out, &err);
    assert_eq!(server.authorizations()[1], basic("admin:s3cret"));
}

#[test]
fn password_from_env_is_not_printed_on_401() {
    let server = Server::start("401 Unauthorized", "denied");
    let url = format!("http://admin@{}/jk/", server.addr);
    let (code, out, err) = jkctl(&["--url", &url, "status"], &[("JKCTL_PASSWORD", SECRET)]);
    assert_eq!(code, 3, "{err}");
    assert_not_printed(SECRET, &out, &err);
    assert_eq!(server.authorizations(), [basic("admin:s3cret")]);
}

#[test]
fn password_file_wins_over_env_and_url() {
    let server = Server::start("200 OK", STATUS_JSON);
    let file = TempFile::new("wins", "f1le-s3cret\nsecond line is ignored\n", 0o600);
    let url = format!("http://admin:url-s3cret@{}/jk/", server.addr);
    let (code, out, err) = jkctl(
        &["--url", &url, "--password-file", file.path(), "status"],
        &[("JKCTL_PASSWORD", "env-s3cret")],
    );
    assert_eq!(code, 0, "{err}");
    for secret in ["f1le-s3cret", "url-s3cret", "env-s3cret"] {
        assert_not_printed(secret, &out, &err);
    }
    assert!(!err.contains("warning"), "mode 600 needs no warning: {err}");
    assert_eq!(server.authorizations(), [basic("admin:f1le-s3cret")]);

    // CRLF and no final newline are fine too.
    let file = TempFile::new("crlf", "f1le-s3cret\r\n", 0o600);
    let (code, _, err) = jkctl(
        &["--url", &url, "--password-file", file.path(), "status"],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let file = TempFile::new("nonl", "f1le-s3cret", 0o600);
    let (code, _, err) = jkctl(
        &["--url", &url, "--password-file", file.path(), "status"],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        server.authorizations()[1..],
        [basic("admin:f1le-s3cret"), basic("admin:f1le-s3cret")]
    );
}

#[test]
fn unreadable_password_file_is_a_usage_error_naming_the_path() {
    let server = Server::start("200 OK", STATUS_JSON);
    let url = format!("http://admin@{}/jk/", server.addr);
    let missing = std::env::temp_dir().join(format!("jkctl-creds-missing-{}", std::process::id()));
    let missing = missing.to_str().expect("utf-8 temp path");
    let (code, _, err) = jkctl(&["--url", &url, "--password-file", missing, "status"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(missing), "{err}");
    let empty = TempFile::new("empty", "\n", 0o600);
    let (code, _, err) = jkctl(
        &["--url", &url, "--password-file", empty.path(), "status"],
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(empty.path()), "{err}");
    assert!(server.heads().is_empty(), "nothing was asked");
}

#[test]
#[cfg(unix)]
fn password_file_readable_by_others_gets_a_warning() {
    let server = Server::start("200 OK", STATUS_JSON);
    let file = TempFile::new("mode", "f1le-s3cret\n", 0o644);
    let url = format!("http://admin@{}/jk/", server.addr);
    let (code, out, err) = jkctl(
        &["--url", &url, "--password-file", file.path(), "status"],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("warning"), "{err}");
    assert!(err.contains(file.path()), "{err}");
    assert_not_printed("f1le-s3cret", &out, &err);
    assert_eq!(server.authorizations(), [basic("admin:f1le-s3cret")]);
}

#[test]
fn password_without_user_is_a_usage_error() {
    let url = format!("http://127.0.0.1:{}/jk/", closed_port());
    let (code, out, err) = jkctl(&["--url", &url, "status"], &[("JKCTL_PASSWORD", SECRET)]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("JKCTL_USER"), "{err}");
    assert_not_printed(SECRET, &out, &err);
}

#[test]
fn percent_encoded_url_password_is_decoded() {
    let server = Server::start("200 OK", STATUS_JSON);
    let url = format!("http://admin:p%40ss%2F{SECRET}@{}/jk/", server.addr);
    let (code, out, err) = jkctl(&["--url", &url, "status"], &[]);
    assert_eq!(code, 0, "{err}");
    assert_not_printed(SECRET, &out, &err);
    assert_eq!(server.authorizations(), [basic("admin:p@ss/s3cret")]);
}

#[test]
fn help_documents_the_credential_sources() {
    let (code, out, _) = jkctl(&["--help"], &[]);
    assert_eq!(code, 0);
    for s in ["--password-file", "--user", "JKCTL_PASSWORD", "JKCTL_USER"] {
        assert!(out.contains(s), "--help lacks {s}: {out}");
    }
}
