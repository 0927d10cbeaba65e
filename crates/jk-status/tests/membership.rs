//! Runtime membership (mod_jk-rs, issue 12): `cmd=add` / `cmd=remove`, their checks and
//! guards, and origin / lifecycle / member slots in the JSON, Prometheus and HTML output.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use jk_status::*;

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

fn cfg() -> StatusConfig {
    StatusConfig::default()
}

fn with_token() -> StatusConfig {
    StatusConfig {
        write_token: TOKEN.into(),
        ..cfg()
    }
}

/// The fresh model with runtime membership: 5 slots, tomcat3 added at runtime (joining),
/// tomcat4 found by DNS (draining).
fn dynamic() -> StatusModel {
    let mut m = fresh();
    let lb = &mut m.lbs[0];
    lb.member_slots = Some(5);
    for mv in &mut lb.members {
        mv.origin = Some("config".into());
        mv.lifecycle = Some("active".into());
    }
    let mut t3 = member("tomcat3", 8011);
    t3.origin = Some("runtime".into());
    t3.lifecycle = Some("joining".into());
    let mut t4 = member("tomcat4", 8012);
    t4.origin = Some("dns".into());
    t4.lifecycle = Some("draining".into());
    lb.members.extend([t3, t4]);
    m
}

/// The `Result:` line of a `mime=txt` answer.
fn result_line(r: &StatusResponse) -> &str {
    r.body
        .lines()
        .find(|l| l.starts_with("Result:"))
        .unwrap_or("")
}

fn err_txt(message: &str) -> String {
    format!("Result: type=ERROR message=\"{message}\"")
}

// ---------- the commands ----------

#[test]
fn add_and_remove_are_changing_commands() {
    for (name, c) in [("add", Command::Add), ("remove", Command::Remove)] {
        assert_eq!(Command::from_name(name), Some(c));
        assert_eq!(c.name(), name);
        assert!(c.is_changing(), "{name}");
        let p = parse_query(&format!("cmd={name}&w=loadbalancer")).unwrap();
        assert_eq!(p.command(), Some(c));
    }
    assert_eq!(
        Command::from_name("Add"),
        None,
        "case-sensitive like mod_jk"
    );
}

#[test]
fn add_with_handover_names_an_existing_member() {
    let q = "cmd=add&w=loadbalancer&host=10.0.0.8&port=8009&handover=tomcat1&mime=txt";
    let (_, rec) = run(&cfg(), &dynamic(), q);
    assert_eq!(
        rec.calls,
        [format!(
            "add loadbalancer {:?}",
            AddMember {
                host: "10.0.0.8".into(),
                port: 8009,
                handover: Some("tomcat1".into()),
                ..AddMember::default()
            }
        )]
    );
    let q = "cmd=add&w=loadbalancer&host=10.0.0.8&port=8009&handover=nobody&mime=txt";
    let (r, rec) = run(&cfg(), &dynamic(), q);
    assert!(rec.calls.is_empty());
    assert_eq!(result_line(&r), err_txt(msg::UNKNOWN_SUB_WORKER));
}

#[test]
fn add_calls_apply_with_the_checked_parameters() {
    let q = "cmd=add&w=loadbalancer&host=10.0.0.7&port=8019&name=app_3&route=r3&template=tomcat1&mime=txt";
    let (r, rec) = run(&cfg(), &dynamic(), q);
    assert_eq!(
        rec.calls,
        [format!(
            "add loadbalancer {:?}",
            AddMember {
                name: Some("app_3".into()),
                host: "10.0.0.7".into(),
                port: 8019,
                route: Some("r3".into()),
                template: Some("tomcat1".into()),
                handover: None,
            }
        )]
    );
    assert_eq!(
        result_line(&r),
        "Result: type=OK message=\"Action finished: member app_3 added to loadbalancer\""
    );
    assert_eq!(r.error, None);

    // Blank optional fields (an HTML form's) are absent; the module names the member.
    let q = "cmd=add&w=loadbalancer&host=tc.example&port=+8009+&name=&route=&template=&mime=txt";
    let (r, rec) = run(&cfg(), &dynamic(), q);
    assert_eq!(
        rec.calls,
        [format!(
            "add loadbalancer {:?}",
            AddMember {
                host: "tc.example".into(),
                port: 8009,
                ..AddMember::default()
            }
        )]
    );
    assert!(
        result_line(&r).contains("member loadbalancer~3 added to loadbalancer"),
        "{}",
        r.body
    );

    // IPv6 literals are hosts too.
    let (_, rec) = run(
        &cfg(),
        &dynamic(),
        "cmd=add&w=loadbalancer&host=%5B%3A%3A1%5D&port=8009&mime=txt",
    );
    assert_eq!(rec.calls.len(), 1, "{:?}", rec.calls);
    assert!(rec.calls[0].contains("host: \"[::1]\""), "{:?}", rec.calls);
}

#[test]
fn add_parameters_are_checked_before_apply() {
    let long = "a".repeat(61);
    let sixty = "a".repeat(60);
    let cases: Vec<(String, String)> = vec![
        ("".into(), "NULL or EMPTY worker param".into()),
        ("&w=".into(), "NULL or EMPTY worker param".into()),
        (
            "&w=nope&host=h&port=1".into(),
            "Could not find given worker".into(),
        ),
        (
            "&w=tomcat1&host=h&port=1".into(),
            "worker type has no sub workers".into(),
        ),
        (
            "&w=jkstatus&host=h&port=1".into(),
            "worker type has no sub workers".into(),
        ),
        (
            "&w=loadbalancer&port=8009".into(),
            "NULL or EMPTY host param".into(),
        ),
        (
            "&w=loadbalancer&host=+&port=8009".into(),
            "NULL or EMPTY host param".into(),
        ),
        (
            "&w=loadbalancer&host=a/b&port=8009".into(),
            "host 'a/b' has characters outside A-Z a-z 0-9 . - _ : [ ] %".into(),
        ),
        (
            "&w=loadbalancer&host=a%3Fb&port=8009".into(),
            "host 'a@b' has characters outside A-Z a-z 0-9 . - _ : [ ] %".into(),
        ),
        (
            format!("&w=loadbalancer&host={long}&port=8009"),
            format!("host '{long}' too long (61 bytes, at most 60)"),
        ),
        (
            "&w=loadbalancer&host=h".into(),
            "NULL or EMPTY port param".into(),
        ),
        (
            "&w=loadbalancer&host=h&port=".into(),
            "NULL or EMPTY port param".into(),
        ),
        (
            "&w=loadbalancer&host=h&port=0".into(),
            "port '0' is not a number in 1-65535".into(),
        ),
        (
            "&w=loadbalancer&host=h&port=65536".into(),
            "port '65536' is not a number in 1-65535".into(),
        ),
        (
            "&w=loadbalancer&host=h&port=80x".into(),
            "port '80x' is not a number in 1-65535".into(),
        ),
        (
            "&w=loadbalancer&host=h&port=-1".into(),
            "port '-1' is not a number in 1-65535".into(),
        ),
        (
            format!("&w=loadbalancer&host=h&port=1&name={long}"),
            format!("member name '{long}' too long (61 bytes, at most 60)"),
        ),
        (
            "&w=loadbalancer&host=h&port=1&name=a.b".into(),
            "member name 'a.b' has characters outside A-Z a-z 0-9 _ -".into(),
        ),
        (
            "&w=loadbalancer&host=h&port=1&name=tomcat2".into(),
            "worker name 'tomcat2' is already in use".into(),
        ),
        (
            "&w=loadbalancer&host=h&port=1&name=loadbalancer".into(),
            "worker name 'loadbalancer' is already in use".into(),
        ),
        (
            "&w=loadbalancer&host=h&port=1&name=jkro".into(),
            "worker name 'jkro' is already in use".into(),
        ),
        (
            format!("&w=loadbalancer&host=h&port=1&route={long}"),
            format!("route '{long}' too long (61 bytes, at most 60)"),
        ),
        (
            "&w=loadbalancer&host=h&port=1&route=r+1".into(),
            "route 'r 1' has characters outside A-Z a-z 0-9 _ -".into(),
        ),
        (
            "&w=loadbalancer&host=h&port=1&template=a%2Cb".into(),
            "template worker 'a,b' has characters outside A-Z a-z 0-9 _ -".into(),
        ),
    ];
    for (q, want) in &cases {
        let (r, rec) = run(&cfg(), &dynamic(), &format!("cmd=add&mime=txt{q}"));
        assert_eq!(result_line(&r), err_txt(want), "{q}");
        assert_eq!(r.error.as_deref(), Some(want.as_str()), "{q}");
        assert!(rec.calls.is_empty(), "{q}: {:?}", rec.calls);
    }
    // At the limits: 60 bytes and port 65535 pass.
    let q = format!("cmd=add&mime=txt&w=loadbalancer&host={sixty}&port=65535&name={sixty}");
    let (r, rec) = run(&cfg(), &dynamic(), &q);
    assert_eq!(rec.calls.len(), 1, "{}", r.body);

    // Every slot in use.
    let mut full = dynamic();
    full.lbs[0].member_slots = Some(4);
    let (r, rec) = run(
        &cfg(),
        &full,
        "cmd=add&mime=txt&w=loadbalancer&host=h&port=1",
    );
    assert_eq!(
        result_line(&r),
        err_txt("no free member slot in balancer 'loadbalancer' (4 of 4 used)")
    );
    assert!(rec.calls.is_empty());
    // Slots not reported (a build without runtime membership): Apply decides.
    let (_, rec) = run(
        &cfg(),
        &fresh(),
        "cmd=add&mime=txt&w=loadbalancer&host=h&port=1",
    );
    assert_eq!(rec.calls.len(), 1);
}

#[test]
fn errors_come_in_the_requested_format() {
    let (r, _) = run(
        &cfg(),
        &dynamic(),
        "cmd=add&w=loadbalancer&port=1&mime=json",
    );
    assert_eq!(r.content_type, "application/json");
    assert!(
        r.body
            .contains("\"result\":{\"type\":\"ERROR\",\"message\":\"NULL or EMPTY host param\"}"),
        "{}",
        r.body
    );
    let (r, _) = run(
        &cfg(),
        &dynamic(),
        "cmd=remove&w=loadbalancer&sw=x&mime=xml",
    );
    assert!(
        r.body.contains("type=\"ERROR\"")
            && r.body.contains("message=\"could not find sub worker\""),
        "{}",
        r.body
    );
    let (r, _) = run(
        &cfg(),
        &dynamic(),
        "cmd=add&w=loadbalancer&host=h&port=0&mime=prop",
    );
    assert!(
        r.body
            .contains("worker.result.message=port '0' is not a number in 1-65535"),
        "{}",
        r.body
    );
    let (r, _) = run(&cfg(), &dynamic(), "cmd=add&w=loadbalancer&host=h");
    assert!(
        r.body
            .contains("<p><b>Result: ERROR - NULL or EMPTY port param</b></p>"),
        "{}",
        r.body
    );
    let (r, _) = run(
        &cfg(),
        &dynamic(),
        "cmd=add&w=loadbalancer&host=h&port=1&mime=prometheus",
    );
    assert!(
        r.body.contains("mod_jk_status_result{type=\"OK\"} 1"),
        "{}",
        r.body
    );
}

#[test]
fn remove_calls_apply_once_for_the_named_member() {
    let (r, rec) = run(
        &cfg(),
        &dynamic(),
        "cmd=remove&w=loadbalancer&sw=tomcat3&mime=txt",
    );
    assert_eq!(rec.calls, ["remove loadbalancer/tomcat3 force=false"]);
    assert_eq!(
        result_line(&r),
        "Result: type=OK message=\"Action finished: member tomcat3 of loadbalancer is draining, \
         removed when idle\""
    );
    for force in ["1", "on", "true", "yes"] {
        let (r, rec) = run(
            &cfg(),
            &dynamic(),
            &format!("cmd=remove&w=loadbalancer&sw=tomcat4&force={force}&mime=txt"),
        );
        assert_eq!(
            rec.calls,
            ["remove loadbalancer/tomcat4 force=true"],
            "{force}"
        );
        assert_eq!(
            result_line(&r),
            "Result: type=OK message=\"Action finished: member tomcat4 removed from loadbalancer\""
        );
    }
    for force in ["0", "off", "", "x"] {
        let (_, rec) = run(
            &cfg(),
            &dynamic(),
            &format!("cmd=remove&w=loadbalancer&sw=tomcat4&force={force}&mime=txt"),
        );
        assert_eq!(
            rec.calls,
            ["remove loadbalancer/tomcat4 force=false"],
            "{force}"
        );
    }
}

#[test]
fn remove_parameters_are_checked_before_apply() {
    let cases = [
        ("", "NULL or EMPTY worker param"),
        ("&w=nope&sw=tomcat1", "Could not find given worker"),
        ("&w=loadbalancer", "EMPTY sub worker param"),
        ("&w=loadbalancer&sw=", "EMPTY sub worker param"),
        (
            "&w=loadbalancer&sw=tomcat*",
            "wildcard not allowed in sub worker for this command",
        ),
        // `?` is masked to `@` (mod_jk's XSS masking): no wildcard, no such member.
        ("&w=loadbalancer&sw=tomcat?", "could not find sub worker"),
        ("&w=loadbalancer&sw=tomcat9", "could not find sub worker"),
        ("&w=tomcat1&sw=tomcat1", "worker type has no sub workers"),
        ("&w=tomcat1", "worker type has no sub workers"),
        ("&w=jkstatus", "worker type has no sub workers"),
    ];
    for (q, want) in cases {
        let (r, rec) = run(&cfg(), &dynamic(), &format!("cmd=remove&mime=txt{q}"));
        assert_eq!(result_line(&r), err_txt(want), "{q}");
        assert!(rec.calls.is_empty(), "{q}: {:?}", rec.calls);
    }
}

#[test]
fn apply_failures_and_the_default_methods() {
    let mut rec = Rec {
        fail_on: Some("add".into()),
        ..Rec::default()
    };
    let r = handle_query(
        &cfg(),
        "cmd=add&w=loadbalancer&host=h&port=1&mime=txt",
        None,
        &dynamic(),
        &mut rec,
    );
    assert_eq!(
        result_line(&r),
        err_txt("Adding the member failed: backend refused")
    );
    let mut rec = Rec {
        fail_on: Some("remove".into()),
        ..Rec::default()
    };
    let r = handle_query(
        &cfg(),
        "cmd=remove&w=loadbalancer&sw=tomcat3&mime=txt",
        None,
        &dynamic(),
        &mut rec,
    );
    assert_eq!(
        result_line(&r),
        err_txt("Removing the member failed: backend refused")
    );
    // An Apply written before runtime membership answers "not supported".
    let r = handle_query(
        &cfg(),
        "cmd=add&w=loadbalancer&host=h&port=1&mime=txt",
        None,
        &dynamic(),
        &mut NoApply,
    );
    assert_eq!(
        result_line(&r),
        err_txt("Adding the member failed: not supported")
    );
    let r = handle_query(
        &cfg(),
        "cmd=remove&w=loadbalancer&sw=tomcat3&mime=txt",
        None,
        &dynamic(),
        &mut NoApply,
    );
    assert_eq!(
        result_line(&r),
        err_txt("Removing the member failed: not supported")
    );
}

// ---------- guards ----------

#[test]
fn read_only_and_users_refuse_add_and_remove() {
    let queries = [
        "cmd=add&w=loadbalancer&host=h&port=1&mime=txt",
        "cmd=remove&w=loadbalancer&sw=tomcat3&mime=txt",
    ];
    let ro = StatusConfig {
        read_only: true,
        ..cfg()
    };
    for q in queries {
        let (r, rec) = run(&ro, &dynamic(), q);
        assert_eq!(
            result_line(&r),
            err_txt("This command is not allowed in read only mode."),
            "{q}"
        );
        assert!(rec.calls.is_empty());
        let (r, rec) = run(&cfg(), &dynamic(), &format!("{q}&opt=32"));
        assert_eq!(
            result_line(&r),
            err_txt("This command is not allowed in read only mode."),
            "{q}"
        );
        assert!(rec.calls.is_empty());
        let users = StatusConfig {
            users: vec!["admin".into()],
            ..cfg()
        };
        let mut rec = Rec::default();
        let r = handle_query(&users, q, Some("guest"), &dynamic(), &mut rec);
        assert_eq!(result_line(&r), err_txt("Access denied."), "{q}");
        assert!(rec.calls.is_empty());
        let r = handle_query(&users, q, Some("admin"), &dynamic(), &mut rec);
        assert!(result_line(&r).contains("type=OK"), "{q}: {}", r.body);
        assert_eq!(rec.calls.len(), 1);
    }
}

/// The glue answers `may_write` from `check_write`: with `write_requires_token`, add and
/// remove need a POST with the token, as every other change does.
#[test]
fn add_and_remove_need_the_token_when_writes_require_it() {
    let queries = [
        "cmd=add&w=loadbalancer&host=h&port=1&mime=txt",
        "cmd=remove&w=loadbalancer&sw=tomcat3&mime=txt",
    ];
    let c = StatusConfig {
        write_requires_token: true,
        ..with_token()
    };
    let origin = |method, token| WriteOrigin {
        method,
        host: Some("127.0.0.1:56975"),
        token,
        ..WriteOrigin::default()
    };
    for q in queries {
        for (o, allowed) in [
            (origin("GET", None), false),
            (origin("GET", Some(TOKEN)), false),
            (origin("POST", None), false),
            (origin("POST", Some("0123")), false),
            (origin("POST", Some(TOKEN)), true),
        ] {
            let mut rec = Rec {
                refuse_write: match check_write(&o, &c.write_token, c.write_requires_token) {
                    WriteVerdict::Allow => None,
                    WriteVerdict::Refuse(why) => Some(why),
                },
                ..Rec::default()
            };
            let r = handle_query(&c, q, None, &dynamic(), &mut rec);
            if allowed {
                assert!(result_line(&r).contains("type=OK"), "{q} {o:?}: {}", r.body);
                assert_eq!(rec.calls.len(), 1, "{q} {o:?}");
            } else {
                assert!(
                    result_line(&r).contains("Change refused: "),
                    "{q} {o:?}: {}",
                    r.body
                );
                assert!(rec.calls.is_empty(), "{q} {o:?}");
            }
        }
    }
    // A browser's cross-site POST is refused even with the token.
    let o = WriteOrigin {
        sec_fetch_site: Some("cross-site"),
        ..origin("POST", Some(TOKEN))
    };
    assert!(matches!(
        check_write(&o, TOKEN, false),
        WriteVerdict::Refuse(_)
    ));
}

#[test]
fn a_refused_write_is_checked_before_the_parameters() {
    let mut rec = Rec {
        refuse_write: Some("no".into()),
        ..Rec::default()
    };
    let r = handle_query(
        &cfg(),
        "cmd=add&w=nope&mime=txt",
        None,
        &dynamic(),
        &mut rec,
    );
    assert_eq!(result_line(&r), err_txt("Change refused: no"));
}

// ---------- output ----------

#[test]
fn json_shows_origin_lifecycle_and_slots() {
    let (r, _) = run(&cfg(), &dynamic(), "mime=json");
    let b = &r.body;
    assert!(
        b.contains("\"member_slots\":5,\"members_free\":1,\"members\":["),
        "{b}"
    );
    assert!(
        b.contains("\"held\":null,\"origin\":\"runtime\",\"lifecycle\":\"joining\"}"),
        "{b}"
    );
    assert!(
        b.contains("\"origin\":\"dns\",\"lifecycle\":\"draining\"}"),
        "{b}"
    );
    assert_eq!(b.matches("\"origin\":").count(), 4);
    // Not reported: no keys (the JSON of a build without runtime membership).
    let (r, _) = run(&cfg(), &fresh(), "mime=json");
    for k in ["origin", "lifecycle", "member_slots", "members_free"] {
        assert!(!r.body.contains(&format!("\"{k}\"")), "{k}: {}", r.body);
    }
}

#[test]
fn prometheus_shows_member_info_and_slots() {
    let (r, _) = run(&cfg(), &dynamic(), "mime=prometheus");
    let b = &r.body;
    for line in [
        "# TYPE mod_jk_member_info gauge",
        "mod_jk_member_info{balancer=\"loadbalancer\",member=\"tomcat1\",origin=\"config\",lifecycle=\"active\"} 1",
        "mod_jk_member_info{balancer=\"loadbalancer\",member=\"tomcat3\",origin=\"runtime\",lifecycle=\"joining\"} 1",
        "mod_jk_member_info{balancer=\"loadbalancer\",member=\"tomcat4\",origin=\"dns\",lifecycle=\"draining\"} 1",
        "# TYPE mod_jk_lb_member_slots gauge",
        "mod_jk_lb_member_slots{balancer=\"loadbalancer\"} 5",
        "# TYPE mod_jk_lb_members_free gauge",
        "mod_jk_lb_members_free{balancer=\"loadbalancer\"} 1",
        "mod_jk_lb_members{balancer=\"loadbalancer\"} 4",
    ] {
        assert!(b.lines().any(|l| l == line), "{line}\n{b}");
    }
    let (r, _) = run(&cfg(), &fresh(), "mime=prometheus");
    for f in [
        "mod_jk_member_info",
        "mod_jk_lb_member_slots",
        "mod_jk_lb_members_free",
    ] {
        assert!(!r.body.contains(f), "{f}");
    }
}

#[test]
fn xml_txt_and_prop_stay_mod_jks() {
    // The same members with and without runtime membership data: identical answers.
    let mut plain = dynamic();
    plain.lbs[0].member_slots = None;
    for m in &mut plain.lbs[0].members {
        m.origin = None;
        m.lifecycle = None;
    }
    for mime in ["xml", "txt", "prop"] {
        let q = format!("mime={mime}");
        let (a, _) = run(&cfg(), &dynamic(), &q);
        let (b, _) = run(&cfg(), &plain, &q);
        assert_eq!(a.body, b.body, "{mime}");
        assert!(a.body.contains("tomcat3"), "runtime members are members");
        for k in ["origin", "lifecycle", "slots", "runtime", "joining"] {
            assert!(!a.body.contains(k), "{mime}: {k}");
        }
    }
}

fn between<'a>(s: &'a str, from: &str, to: &str) -> &'a str {
    s.split(from)
        .nth(1)
        .unwrap_or("")
        .split(to)
        .next()
        .unwrap_or("")
}

#[test]
fn html_shows_origin_lifecycle_slots_and_the_forms() {
    let (r, _) = run(&with_token(), &dynamic(), "");
    let b = &r.body;
    let ov = between(b, "<h2>Overview</h2>", "<hr/>");
    assert!(ov.contains("<th>Origin</th><th>Lifecycle</th>"), "{ov}");
    assert!(ov.contains("<th>Remove</th>"), "{ov}");
    let t3 = between(ov, "<td>tomcat3</td>", "</tr>");
    assert!(t3.contains("<td>runtime</td><td>joining</td>"), "{t3}");
    let t1 = between(ov, "<td>tomcat1</td>", "</tr>");
    assert!(t1.contains("<td>config</td><td>active</td>"), "{t1}");
    assert!(
        !t1.contains("value=\"remove\""),
        "configured members have no Remove"
    );
    assert!(t1.ends_with("<td>&nbsp;</td>"), "{t1}");
    // Remove: a POST with the token and a force checkbox.
    let rm = t3
        .split("<form")
        .find(|f| f.contains("value=\"remove\""))
        .unwrap_or("");
    for part in [
        "method=\"post\"",
        "name=\"cmd\" value=\"remove\"",
        "name=\"w\" value=\"loadbalancer\"",
        "name=\"sw\" value=\"tomcat3\"",
        &format!("name=\"token\" value=\"{TOKEN}\""),
        "type=\"checkbox\" name=\"force\" value=\"1\"",
        "value=\"Remove\"",
    ] {
        assert!(rm.contains(part), "{part}: {rm}");
    }
    assert!(between(ov, "<td>tomcat4</td>", "</tr>").contains("value=\"remove\""));
    assert!(
        ov.contains("<p>Members used/free: 4/1 (5 slots)</p>"),
        "{ov}"
    );
    // Add member: a POST with the token and the five fields.
    let add = between(ov, "<b>Add member</b>", "</form>");
    let form = between(ov, "Members used/free", "<b>Add member</b>");
    for part in [
        "method=\"post\"",
        "name=\"cmd\" value=\"add\"",
        "name=\"w\" value=\"loadbalancer\"",
        &format!("name=\"token\" value=\"{TOKEN}\""),
    ] {
        assert!(form.contains(part), "{part}: {form}");
    }
    for field in ["host", "port", "name", "route", "template"] {
        assert!(add.contains(&format!("name=\"{field}\"")), "{field}: {add}");
    }
    assert!(!add.contains("disabled"), "{add}");
    // No free slot: the button is disabled.
    let mut full = dynamic();
    full.lbs[0].member_slots = Some(4);
    let (r, _) = run(&with_token(), &full, "");
    let add = between(&r.body, "<b>Add member</b>", "</form>");
    assert!(
        add.contains("value=\"Add member\" disabled=\"disabled\""),
        "{add}"
    );

    // Read only: shown, but no forms that change anything.
    let (r, _) = run(&with_token(), &dynamic(), "opt=32");
    let ov = between(&r.body, "<h2>Overview</h2>", "<hr/>");
    assert!(ov.contains("<td>runtime</td><td>joining</td>"), "{ov}");
    assert!(ov.contains("Members used/free: 4/1"), "{ov}");
    assert!(!ov.contains("<form"), "{ov}");
    assert!(!r.body.contains("token"));

    // A model without runtime membership: the overview is as before.
    let (r, _) = run(&with_token(), &fresh(), "");
    for s in [
        "Origin",
        "Lifecycle",
        "Remove",
        "Add member",
        "Members used/free",
    ] {
        assert!(!r.body.contains(s), "{s}");
    }
}

#[test]
fn html_add_and_remove_redirect_saying_what_was_done() {
    let (r, rec) = run(
        &cfg(),
        &dynamic(),
        "cmd=add&from=list&w=loadbalancer&host=h&port=8009&name=n1",
    );
    assert_eq!(rec.calls.len(), 1);
    assert!(
        r.body.contains(
            "<p><b>Result: OK - Action finished: member n1 added to loadbalancer. You will be \
             redirected in 3 seconds.</b></p>"
        ),
        "{}",
        r.body
    );
    assert!(r
        .body
        .contains("content=\"3;url=/jkmanager?cmd=list&amp;w=loadbalancer\""));
    let (r, _) = run(
        &cfg(),
        &dynamic(),
        "cmd=remove&from=list&w=loadbalancer&sw=tomcat3&force=1",
    );
    assert!(
        r.body
            .contains("Result: OK - Action finished: member tomcat3 removed from loadbalancer."),
        "{}",
        r.body
    );
}

#[test]
fn helpers() {
    assert_eq!(check_port("8009"), Ok(8009));
    assert!(check_port("65536").is_err());
    assert!(check_port("0x10").is_err());
    assert_eq!(check_port(""), Err("NULL or EMPTY port param".into()));
    assert!(check_host("tomcat-3.example.org").is_ok());
    assert!(check_host("fe80::1%25eth0").is_ok());
    assert!(check_host("a b").is_err());
    assert!(check_member_name("member name", "app_3-x").is_ok());
    assert!(check_member_name("member name", "").is_err());
    let lb = LbView {
        member_slots: Some(3),
        members: vec![member("a", 1)],
        ..LbView::default()
    };
    assert_eq!(lb.members_free(), Some(2));
    assert_eq!(LbView::default().members_free(), None);
    assert!(MemberView::default().is_configured());
    let rt = MemberView {
        origin: Some("runtime".into()),
        ..MemberView::default()
    };
    assert!(!rt.is_configured());
}
