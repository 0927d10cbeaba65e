//! A status worker (`/jkmanager`) query string, from arbitrary bytes, through the query parser
//! and the whole request: command, mime, worker lookup, update/reset/recover and every output
//! format, against a model like the seed configuration's. Run with
//! `cargo +nightly fuzz run status_query`.
//!
//! Asserted, beyond "no panic":
//! * parsing: the only error is a bad %-escape (and only with a `%` in the query); keys are
//!   non-empty and unique; no value and no masked query holds `<`, `>`, `?` or `"` (mod_jk's
//!   XSS masking); the parameters written back as a query parse to the same parameters;
//! * the answer: always 200 with `no-cache` headers and the content type of a known format;
//!   `mime=json` answers are JSON; an HTML page never carries a `<script`.
#![no_main]

use std::sync::OnceLock;

use jk_status::{
    handle_query, parse_query, AjpChanges, AjpSettings, AjpView, Apply, LbChanges, LbView, MapView,
    MemberChanges, MemberState, MemberView, Mime, NoApply, StatusConfig, StatusModel, TimeView,
    ERR_URI, JK_VERSION,
};
use libfuzzer_sys::fuzz_target;

/// Accepts every change, so the update paths run to the end.
struct AcceptAll;

impl Apply for AcceptAll {
    fn update_lb(&mut self, _: &str, _: &LbChanges) -> Result<(), String> {
        Ok(())
    }
    fn update_member(&mut self, _: &str, _: &str, _: &MemberChanges) -> Result<(), String> {
        Ok(())
    }
    fn update_ajp(&mut self, _: &str, _: &AjpChanges) -> Result<(), String> {
        Ok(())
    }
    fn reset(&mut self, _: &str, _: Option<&str>) -> Result<(), String> {
        Ok(())
    }
    fn recover(&mut self, _: &str, _: &str) -> Result<(), String> {
        Ok(())
    }
}

fn settings(port: i32) -> AjpSettings {
    AjpSettings {
        host: "127.0.0.1".into(),
        port,
        address: format!("127.0.0.1:{port}"),
        connection_pool_timeout: 600,
        ..AjpSettings::default()
    }
}

fn member(name: &str, port: i32) -> MemberView {
    MemberView {
        name: name.into(),
        settings: settings(port),
        lbfactor: 1,
        route: name.into(),
        lbmult: 1,
        ..MemberView::default()
    }
}

/// The seed configuration: lb `lb` with members t1 (in error) and t2, two ajp workers, maps.
fn model() -> &'static StatusModel {
    static MODEL: OnceLock<StatusModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        let mut t1 = member("t1", 8009);
        t1.state = MemberState::Error;
        t1.domain = "d1".into();
        let t2 = member("t2", 8010);
        StatusModel {
            request_uri: "/jkmanager".into(),
            server_name: "localhost".into(),
            server_port: 80,
            web_server: "Apache/2.4".into(),
            jk_version: JK_VERSION.into(),
            time: TimeView {
                datetime: "20261204000000".into(),
                tz: "+0000".into(),
                unix: 1_796_342_400,
            },
            lbs: vec![LbView {
                name: "lb".into(),
                members: vec![t1, t2],
                maps: vec![
                    MapView {
                        uri: "/app/*".into(),
                        map_type: "Wildchar".into(),
                        ..MapView::default()
                    },
                    MapView {
                        uri: "/app".into(),
                        ..MapView::default()
                    },
                ],
                ..LbView::default()
            }],
            ajps: vec![
                AjpView {
                    name: "t1".into(),
                    settings: settings(8009),
                    ..AjpView::default()
                },
                AjpView {
                    name: "t2".into(),
                    settings: settings(8010),
                    ..AjpView::default()
                },
            ],
            status_workers: vec!["jkstatus".into()],
            dump: vec![
                ("worker.list".into(), "lb,jkstatus".into()),
                ("worker.lb.balance_workers".into(), "t1,t2".into()),
            ],
        }
    })
}

fn masked(s: &str) -> bool {
    !s.contains(['<', '>', '?', '"'])
}

/// Every byte that is not alphanumeric as `%XX`.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let query = String::from_utf8_lossy(data);
    match parse_query(&query) {
        Ok(p) => {
            assert!(masked(p.masked_query()));
            for (i, (k, v)) in p.pairs().iter().enumerate() {
                assert!(!k.is_empty() && !k.contains(['&', '=']));
                assert!(masked(v), "{k}={v} not masked");
                assert!(p.pairs()[..i].iter().all(|(o, _)| o != k), "{k} twice");
                assert_eq!(p.get(k), Some(v.as_str()));
            }
            let _ = (p.command(), p.mime(), p.opt(), p.val(0), p.from(), p.psw());
            assert!(p.refresh() >= 0);
            // Written back as a query (keys are taken as written, values %-decoded).
            let written: Vec<String> = p
                .pairs()
                .iter()
                .map(|(k, v)| format!("{k}={}", encode(v)))
                .collect();
            let written = written.join("&");
            match parse_query(&written) {
                Ok(again) => assert_eq!(again.pairs(), p.pairs(), "written back: {written}"),
                Err(e) => panic!("written back query {written} does not parse: {e}"),
            }
        }
        Err(e) => {
            assert_eq!(e.message, ERR_URI);
            assert!(query.contains('%'));
            let partial = e.partial.expect("parameters before the bad escape");
            assert!(partial.pairs().iter().all(|(_, v)| masked(v)));
        }
    }

    let open = StatusConfig::default();
    let read_only = StatusConfig {
        read_only: true,
        users: vec!["admin".into()],
        ..StatusConfig::default()
    };
    let answers = [
        handle_query(&open, &query, None, model(), &mut AcceptAll),
        handle_query(&read_only, &query, Some("admin"), model(), &mut NoApply),
    ];
    for r in answers {
        assert_eq!(r.status, 200);
        assert!(r
            .headers
            .iter()
            .any(|(k, v)| k == "Cache-Control" && v == "no-cache"));
        let mime = [
            Mime::Html,
            Mime::Xml,
            Mime::Txt,
            Mime::Prop,
            Mime::Json,
            Mime::Prometheus,
        ]
        .into_iter()
        .find(|m| m.content_type() == r.content_type)
        .unwrap_or_else(|| panic!("content type {}", r.content_type));
        match mime {
            Mime::Json => {
                if let Err(e) = serde_json::from_str::<serde_json::Value>(&r.body) {
                    panic!("mime=json answer is not JSON ({e}):\n{}", r.body);
                }
            }
            Mime::Html => {
                // The overview's own live-chart script (allowed by its hash in the page's
                // Content-Security-Policy) at most once; no other script, ever.
                let own = format!(
                    "<script type=\"text/javascript\">{}</script>",
                    jk_status::LIVE_SCRIPT
                );
                let rest = r.body.replacen(&own, "", 1);
                assert!(
                    !rest.to_ascii_lowercase().contains("<script"),
                    "script in the page:\n{}",
                    r.body
                );
            }
            _ => {}
        }
    }
});
