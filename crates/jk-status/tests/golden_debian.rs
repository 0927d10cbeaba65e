//! Our XML/TXT/PROP output against Debian mod_jk 1.2.48's real output
//! (tests/data/debian, see its README): every line equal once time-dependent values
//! (times, `*_ago`, maintenance countdown) are masked.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use jk_status::*;

fn check(model: &StatusModel, cfg: &StatusConfig, query: &str, fixture_name: &str) {
    let (r, _) = run(cfg, model, query);
    assert_eq!(r.status, 200);
    assert_same(&r.body, &fixture(fixture_name), fixture_name);
}

fn cfg() -> StatusConfig {
    StatusConfig::default()
}

fn ro() -> StatusConfig {
    StatusConfig {
        read_only: true,
        ..StatusConfig::default()
    }
}

#[test]
fn list_xml() {
    check(&fresh(), &cfg(), "mime=xml", "list_xml");
}

#[test]
fn list_txt() {
    check(&fresh(), &cfg(), "mime=txt", "list_txt");
}

#[test]
fn list_prop() {
    check(&fresh(), &cfg(), "mime=prop", "list_prop");
}

#[test]
fn content_types_and_headers() {
    for (mime, ct) in [
        ("xml", "text/xml"),
        ("txt", "text/plain"),
        ("prop", "text/plain"),
        ("html", "text/html"),
        ("json", "application/json"),
    ] {
        let (r, _) = run(&cfg(), &fresh(), &format!("mime={mime}"));
        assert_eq!(r.content_type, ct);
        assert!(r
            .headers
            .contains(&("Cache-Control".into(), "no-cache".into())));
        assert!(r.headers.contains(&("Pragma".into(), "no-cache".into())));
    }
    let (r, _) = run(&cfg(), &fresh(), "mime=XML");
    assert_eq!(r.content_type, "text/plain");
}

#[test]
fn show_variants() {
    let m = fresh();
    check(
        &m,
        &cfg(),
        "cmd=show&w=loadbalancer&mime=xml",
        "show_lb_xml",
    );
    check(
        &m,
        &cfg(),
        "cmd=show&w=loadbalancer&sw=tomcat1&mime=xml",
        "show_lb_sw_xml",
    );
    check(&m, &cfg(), "cmd=show&w=tomcat1&mime=xml", "show_ajp_xml");
    check(
        &m,
        &cfg(),
        "cmd=show&w=loadbalancer&mime=txt",
        "show_lb_txt",
    );
    check(
        &m,
        &cfg(),
        "cmd=show&w=loadbalancer&mime=prop",
        "show_lb_prop",
    );
    check(
        &m,
        &cfg(),
        "cmd=show&w=jkstatus&mime=xml",
        "status_worker_xml",
    );
}

#[test]
fn show_member_in_error_state() {
    let m = errored();
    check(
        &m,
        &cfg(),
        "cmd=show&w=loadbalancer&sw=tomcat2&mime=txt",
        "show_sw_txt",
    );
    check(
        &m,
        &cfg(),
        "cmd=show&w=loadbalancer&sw=tomcat2&mime=prop",
        "show_sw_prop",
    );
}

#[test]
fn errored_state_all_formats() {
    let m = errored();
    check(&m, &cfg(), "mime=xml", "err_xml");
    check(&m, &cfg(), "mime=txt", "err_txt");
    // Includes the quirk: member reset/error times keyed by the lb name, with spaces.
    check(&m, &cfg(), "mime=prop", "err_prop");
}

#[test]
fn version_and_dump() {
    let mut m = fresh();
    let dump = fixture("dump_txt");
    m.dump = dump
        .lines()
        .skip_while(|l| *l != "Configuration:")
        .skip(1)
        .take_while(|l| !l.starts_with("Result:"))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(m.dump.len(), 17);
    for mime in ["xml", "txt", "prop"] {
        check(
            &m,
            &cfg(),
            &format!("cmd=version&mime={mime}"),
            &format!("version_{mime}"),
        );
        check(
            &m,
            &cfg(),
            &format!("cmd=dump&mime={mime}"),
            &format!("dump_{mime}"),
        );
    }
}

#[test]
fn read_only_refusals() {
    let q = "cmd=update&w=loadbalancer&sw=tomcat1&vwa=1";
    for mime in ["xml", "txt", "prop"] {
        let (r, rec) = run(&ro(), &fresh(), &format!("{q}&mime={mime}"));
        assert_same(&r.body, &fixture(&format!("ro_update_{mime}")), mime);
        assert!(rec.calls.is_empty());
    }
    check(
        &fresh(),
        &cfg(),
        "cmd=reset&w=loadbalancer&opt=32&mime=xml",
        "opt_ro_reset_xml",
    );
}

#[test]
fn error_messages() {
    let m = fresh();
    check(&m, &cfg(), "cmd=foo&mime=xml", "invalid_cmd_xml");
    check(&m, &cfg(), "cmd=foo&mime=txt", "invalid_cmd_txt");
    check(&m, &cfg(), "mime=XML", "invalid_mime");
    check(&m, &cfg(), "cmd=show&w=nope&mime=xml", "unknown_worker_xml");
    check(&m, &cfg(), "cmd=show&mime=xml", "empty_worker_xml");
    check(
        &m,
        &cfg(),
        "cmd=show&w=loadbalancer&sw=nope&mime=xml",
        "unknown_sub_xml",
    );
    check(
        &m,
        &cfg(),
        "cmd=show&w=tomcat1&sw=x&mime=xml",
        "ajp_sub_xml",
    );
    check(
        &m,
        &cfg(),
        "cmd=show&w=loadbalancer&sw=tom*&mime=xml",
        "wildcard_show_xml",
    );
    check(
        &m,
        &cfg(),
        "cmd=recover&w=loadbalancer&sw=tomcat1&mime=xml",
        "recover_ok_xml",
    );
    check(&m, &cfg(), "mime=xml&w=%zz", "bad_escape_xml");
    check(&m, &cfg(), "cmd=edit&w=loadbalancer&mime=xml", "edit_xml");
    check(
        &m,
        &cfg(),
        "cmd=update&w=loadbalancer&sw=zz*&vwd=3&mime=txt",
        "update_wild_none",
    );
    check(
        &m,
        &cfg(),
        "cmd=show&w=loadbalancer&sw=&mime=txt",
        "sw_empty_show",
    );
}

#[test]
fn updates_and_too_long_values() {
    let m = fresh();
    check(
        &m,
        &cfg(),
        "cmd=update&w=loadbalancer&sw=tomcat2&vwa=s&mime=xml",
        "update_xml",
    );
    check(
        &m,
        &cfg(),
        "cmd=update&w=loadbalancer&sw=tomcat2&vwa=d&mime=txt",
        "update_txt",
    );
    check(
        &m,
        &cfg(),
        "cmd=update&w=loadbalancer&sw=tomcat2&vwa=d&mime=prop",
        "update_prop",
    );
    let a70 = "a".repeat(70);
    let a61 = "a".repeat(61);
    check(
        &m,
        &cfg(),
        &format!("cmd=update&w=loadbalancer&sw=tomcat2&vwn={a70}&mime=xml"),
        "update_toolong_xml",
    );
    check(
        &m,
        &cfg(),
        &format!("cmd=update&w=loadbalancer&sw=tomcat2&vwr={a61}&mime=txt"),
        "toolong_redirect",
    );
    check(
        &m,
        &cfg(),
        &format!("cmd=update&w=loadbalancer&sw=tomcat2&vwc={a61}&mime=txt"),
        "toolong_domain",
    );
    check(
        &m,
        &cfg(),
        &format!("cmd=update&w=tomcat1&vahst={a61}&mime=txt"),
        "toolong_host",
    );
}

#[test]
fn html_update_redirect_matches_debian_text() {
    let (r, rec) = run(
        &cfg(),
        &fresh(),
        "cmd=update&from=list&w=loadbalancer&sw=tomcat1&vwa=1",
    );
    assert_eq!(rec.calls.len(), 1);
    let theirs = fixture("update_html");
    for needle in [
        "<title>JK Status Manager</title>",
        "<meta http-equiv=\"Refresh\" content=\"3;url=/jkmanager?cmd=list&amp;w=loadbalancer\"",
        "Result: OK - You will be redirected in 3 seconds.",
        "<a href=\"/jkmanager\">JK Status Manager Start Page</a>",
        "Copyright &#169; 1999-2020, The Apache Software Foundation",
    ] {
        assert!(theirs.contains(needle), "fixture lacks {needle}");
        assert!(r.body.contains(needle), "ours lacks {needle}:\n{}", r.body);
    }
    let (r, _) = run(&cfg(), &fresh(), "cmd=reset&w=loadbalancer&from=show");
    assert!(r
        .body
        .contains("content=\"3;url=/jkmanager?cmd=show&amp;w=loadbalancer\""));
    let (r, _) = run(&cfg(), &fresh(), "cmd=show&w=nope");
    assert!(fixture("err_html_unknown").contains("Result: ERROR - Could not find given worker"));
    assert!(r
        .body
        .contains("Result: ERROR - Could not find given worker"));
}

#[test]
fn html_forms_use_debian_parameter_names() {
    // Every input name of Debian's edit pages appears in ours.
    for (q, fx) in [
        ("cmd=edit&w=loadbalancer&sw=tomcat1", "edit_sw_html"),
        ("cmd=edit&w=loadbalancer&att=vwa", "edit_att_html"),
        ("cmd=edit&w=loadbalancer", "edit_lb_html"),
    ] {
        let (r, _) = run(&cfg(), &errored(), q);
        let theirs = fixture(fx);
        for part in theirs.split("name=\"").skip(1) {
            let name = part.split('"').next().unwrap();
            assert!(
                r.body.contains(&format!("name=\"{name}\"")),
                "{q}: missing input {name}"
            );
        }
        // mod_jk's forms use GET; ours POST (with the write token) so that no other web
        // page can submit them through an operator's browser.
        assert!(r.body.contains("method=\"post\""));
    }
}
