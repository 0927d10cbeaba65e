//! Models resembling the seed (and the Debian capture) and a recording `Apply`.
#![allow(dead_code, clippy::unwrap_used)]

use jk_status::*;

pub const PORT: u16 = 56975;

pub fn settings(port: i32) -> AjpSettings {
    AjpSettings {
        host: "127.0.0.1".into(),
        port,
        address: format!("127.0.0.1:{port}"),
        connection_pool_timeout: 600,
        ..AjpSettings::default()
    }
}

pub fn member(name: &str, port: i32) -> MemberView {
    MemberView {
        name: name.into(),
        settings: settings(port),
        lbfactor: 1,
        route: name.into(),
        lbmult: 1,
        last_reset_at: 1795579003,
        last_reset_ago: 1,
        ..MemberView::default()
    }
}

pub fn map(uri: &str, t: &str) -> MapView {
    MapView {
        server: "127.0.0.1".into(),
        uri: uri.into(),
        map_type: t.into(),
        ..MapView::default()
    }
}

pub fn ajp(name: &str, port: i32) -> AjpView {
    AjpView {
        name: name.into(),
        settings: settings(port),
        last_reset_at: 1795579003,
        last_reset_ago: 1,
        ..AjpView::default()
    }
}

/// The fresh state of the Debian capture.
pub fn fresh() -> StatusModel {
    StatusModel {
        request_uri: "/jkmanager".into(),
        server_name: "127.0.0.1".into(),
        server_port: PORT.into(),
        web_server: "Apache/2.4.71 (Debian) mod_jk/1.2.48".into(),
        jk_version: JK_VERSION.into(),
        time: TimeView {
            datetime: "20261125035644".into(),
            tz: "+0000".into(),
            unix: 1795579004,
        },
        lbs: vec![LbView {
            name: "loadbalancer".into(),
            time_to_maintenance_min: 59,
            time_to_maintenance_max: 119,
            last_reset_at: 1795579003,
            last_reset_ago: 1,
            members: vec![member("tomcat1", 8009), member("tomcat2", 8010)],
            maps: vec![map("/app/*", "Wildchar"), map("/app", "Exact")],
            ..LbView::default()
        }],
        ajps: vec![ajp("tomcat1", 8009), ajp("tomcat2", 8010)],
        status_workers: vec!["jkstatus".into(), "jkro".into()],
        dump: Vec::new(),
    }
}

/// The state of the `err_*` captures.
pub fn errored() -> StatusModel {
    let mut m = fresh();
    let lb = &mut m.lbs[0];
    lb.retries = 3;
    lb.max_busy = 1;
    let t1 = &mut lb.members[0];
    t1.activation = Activation::Disabled;
    t1.lbfactor = 2;
    t1.distance = 3;
    t1.lbmult = 3;
    t1.last_reset_at = 1795579025;
    let t2 = &mut lb.members[1];
    t2.lbfactor = 3;
    t2.distance = 3;
    t2.lbmult = 2;
    t2.lbvalue = 6;
    t2.elected = 3;
    t2.sessions = 3;
    t2.errors = 3;
    t2.max_busy = 1;
    t2.state = MemberState::Error;
    t2.redirect = "b".repeat(60);
    t2.time_to_recover_min = 60;
    t2.time_to_recover_max = 120;
    let et = ErrorTime {
        datetime: "20261125035711".into(),
        tz: "+0000".into(),
        unix: 1795579031,
        ago: 0,
    };
    t2.error_time = Some(et.clone());
    m.ajps[0].last_reset_at = 1795579025;
    let a2 = &mut m.ajps[1];
    a2.used = 3;
    a2.errors = 3;
    a2.max_busy = 1;
    a2.state = MemberState::Error;
    a2.error_time = Some(et);
    m
}

#[derive(Default)]
pub struct Rec {
    pub calls: Vec<String>,
    pub fail_on: Option<String>,
    /// `may_write` answers `Err(this)` (a write the glue's verdict refused).
    pub refuse_write: Option<String>,
}

impl Rec {
    fn call(&mut self, c: String) -> Result<(), String> {
        let failed = self.fail_on.as_deref().is_some_and(|f| c.contains(f));
        self.calls.push(c);
        if failed {
            Err("backend refused".into())
        } else {
            Ok(())
        }
    }
}

impl Apply for Rec {
    fn may_write(&self) -> Result<(), String> {
        self.refuse_write.clone().map_or(Ok(()), Err)
    }
    fn update_lb(&mut self, lb: &str, c: &LbChanges) -> Result<(), String> {
        self.call(format!("lb {lb} {c:?}"))
    }
    fn update_member(&mut self, lb: &str, m: &str, c: &MemberChanges) -> Result<(), String> {
        self.call(format!("member {lb}/{m} {c:?}"))
    }
    fn update_ajp(&mut self, w: &str, c: &AjpChanges) -> Result<(), String> {
        self.call(format!("ajp {w} {c:?}"))
    }
    fn reset(&mut self, w: &str, m: Option<&str>) -> Result<(), String> {
        self.call(format!("reset {w} {m:?}"))
    }
    fn recover(&mut self, lb: &str, m: &str) -> Result<(), String> {
        self.call(format!("recover {lb}/{m}"))
    }
    fn add_member(&mut self, lb: &str, spec: &AddMember) -> Result<String, String> {
        self.call(format!("add {lb} {spec:?}"))?;
        Ok(spec.name.clone().unwrap_or_else(|| format!("{lb}~3")))
    }
    fn remove_member(&mut self, lb: &str, m: &str, force: bool) -> Result<(), String> {
        self.call(format!("remove {lb}/{m} force={force}"))
    }
}

pub fn run(cfg: &StatusConfig, model: &StatusModel, query: &str) -> (StatusResponse, Rec) {
    let mut rec = Rec::default();
    let r = handle_query(cfg, query, None, model, &mut rec);
    (r, rec)
}

pub fn fixture(name: &str) -> String {
    let p = format!(
        "{}/tests/data/debian/{name}.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&p)
        .unwrap()
        .replace("PORT", &PORT.to_string())
}

const VOLATILE: [&str; 14] = [
    "time_to_recover_min",
    "time_to_recover_max",
    "datetime",
    "unix",
    "time_datetime",
    "time_unix",
    "last_reset_at",
    "last_reset_ago",
    "time_to_maintenance_min",
    "time_to_maintenance_max",
    "error_time_datetime",
    "error_time_unix_seconds",
    "error_time_unix seconds",
    "error_time_ago",
];

fn volatile(key: &str) -> bool {
    let last = key.rsplit('.').next().unwrap_or(key);
    VOLATILE.contains(&last) || last == "error_time_ago seconds"
}

/// Replaces time-dependent values by `X` (XML attribute lines, TXT tokens, PROP lines).
pub fn normalize(s: &str) -> String {
    let mut out = Vec::new();
    for line in s.lines() {
        let t = line.trim_start();
        let indent = &line[..line.len() - t.len()];
        if let Some((k, v)) = t.split_once('=') {
            if v.starts_with('"') && !k.contains(' ') && volatile(k) {
                out.push(format!("{indent}{k}=\"X\""));
                continue;
            }
            if !t.contains(": ") && volatile(k) {
                out.push(format!("{indent}{k}=X"));
                continue;
            }
        }
        if let Some((label, rest)) = line.split_once(": ") {
            let toks: Vec<String> = rest
                .split(' ')
                .map(|tok| match tok.split_once('=') {
                    Some((k, _)) if volatile(k) => format!("{k}=X"),
                    _ => tok.to_string(),
                })
                .collect();
            out.push(format!("{label}: {}", toks.join(" ")));
            continue;
        }
        out.push(line.to_string());
    }
    out.join("\n")
}

/// Line-by-line comparison with a readable failure.
pub fn assert_same(ours: &str, theirs: &str, what: &str) {
    let a = normalize(ours);
    let b = normalize(theirs);
    let al: Vec<&str> = a.lines().collect();
    let bl: Vec<&str> = b.lines().collect();
    for (i, (x, y)) in al.iter().zip(bl.iter()).enumerate() {
        assert_eq!(x, y, "{what}: line {} differs\nours:\n{ours}", i + 1);
    }
    assert_eq!(
        al.len(),
        bl.len(),
        "{what}: line count differs\nours:\n{ours}"
    );
}
