//! Commands, parameters, access control, changes and the extra formats.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use jk_status::*;

fn cfg() -> StatusConfig {
    StatusConfig::default()
}

// ---------- query parsing ----------

#[test]
fn query_decoding_masking_and_duplicates() {
    let p = parse_query("cmd=show&w=a%3Cb%3E+c&sw=%22x%3F&w2&=v&w=last%20one&x=").unwrap();
    assert_eq!(p.cmd(), "show");
    assert_eq!(p.w(), Some("last one"));
    assert_eq!(p.sw(), Some("@x@"));
    assert_eq!(p.get("w2"), None);
    assert_eq!(p.get(""), None);
    assert_eq!(p.get("x"), Some(""));
    let p = parse_query("w=<script>alert(\"1\")</script>?").unwrap();
    assert_eq!(p.w(), Some("@script@alert(@1@)@/script@@"));
    assert!(!p.masked_query().contains(['<', '>', '"', '?']));
}

#[test]
fn query_defaults_and_typed_access() {
    let p = parse_query("").unwrap();
    assert_eq!(p.command(), Some(Command::List));
    assert_eq!(p.mime(), Some(Mime::Html));
    assert_eq!(p.opt(), 0);
    assert_eq!(p.refresh(), 0);
    let p = parse_query("mime=Xml&cmd=LIST&opt=33&re=10&val3=7&from=show&psw=t1").unwrap();
    assert_eq!(p.mime(), None);
    assert_eq!(p.command(), None);
    assert_eq!(p.opt(), 33);
    assert_eq!(p.refresh(), 10);
    assert_eq!(p.val(3), Some("7"));
    assert_eq!(p.from(), Some("show"));
    assert_eq!(p.psw(), Some("t1"));
    for (n, m) in [
        ("json", Mime::Json),
        ("prometheus", Mime::Prometheus),
        ("prop", Mime::Prop),
    ] {
        assert_eq!(parse_query(&format!("mime={n}")).unwrap().mime(), Some(m));
    }
}

#[test]
fn bad_escape_is_an_error_in_the_format_requested_so_far() {
    let e = parse_query("mime=txt&w=%4").unwrap_err();
    assert_eq!(e.message, "Error during parsing of URI");
    let (r, _) = run(&cfg(), &fresh(), "mime=txt&w=%g1");
    assert_eq!(
        r.body,
        "Result: type=ERROR message=\"Error during parsing of URI\"\n"
    );
    // mime not parsed yet: the default (HTML).
    let (r, _) = run(&cfg(), &fresh(), "w=%&mime=txt");
    assert!(r
        .body
        .contains("Result: ERROR - Error during parsing of URI"));
}

#[test]
fn atoi_like_c() {
    assert_eq!(atoi(" 42abc"), 42);
    assert_eq!(atoi("-7"), -7);
    assert_eq!(atoi("abc"), 0);
    assert_eq!(atoi(""), 0);
}

// ---------- access control ----------

#[test]
fn users_case_sensitive_and_insensitive() {
    let mut c = cfg();
    assert!(c.set("user", "Alice, bob"));
    let m = fresh();
    let q = parse_query("mime=txt&cmd=version").unwrap();
    let denied = "Result: type=ERROR message=\"Access denied.\"\n";
    for (user, ok) in [
        (None, false),
        (Some("alice"), false),
        (Some("Alice"), true),
        (Some("bob"), true),
    ] {
        let r = handle(&c, &q, user, &m, &mut NoApply);
        assert_eq!(r.body == denied, !ok, "{user:?}");
    }
    c.set("user_case_insensitive", "true");
    let r = handle(&c, &q, Some("ALICE"), &m, &mut NoApply);
    assert_ne!(r.body, denied);
    assert_eq!(r.status, 200);
}

#[test]
fn user_check_comes_before_read_only_and_command() {
    let mut c = cfg();
    c.set("user", "admin");
    c.set("read_only", "1");
    let q = parse_query("cmd=bogus&mime=txt").unwrap();
    let r = handle(&c, &q, Some("x"), &fresh(), &mut NoApply);
    assert!(r.body.contains("Access denied."));
    let q = parse_query("cmd=update&mime=bogus").unwrap();
    let r = handle(&c, &q, Some("admin"), &fresh(), &mut NoApply);
    assert_eq!(
        r.body,
        "worker.result.type=ERROR\nworker.result.message=This command is not allowed in read only mode.\n"
    );
}

#[test]
fn read_only_refuses_every_changing_command_and_allows_the_others() {
    let c = StatusConfig {
        read_only: true,
        ..cfg()
    };
    for cmd in ["edit", "update", "reset", "recover"] {
        let (r, rec) = run(
            &c,
            &errored(),
            &format!("cmd={cmd}&w=loadbalancer&sw=tomcat2&mime=txt"),
        );
        assert_eq!(
            r.body,
            "Result: type=ERROR message=\"This command is not allowed in read only mode.\"\n"
        );
        assert!(rec.calls.is_empty());
        let (r, _) = run(
            &cfg(),
            &errored(),
            &format!("cmd={cmd}&w=loadbalancer&sw=tomcat2&opt=32&mime=txt"),
        );
        assert!(r.body.contains("read only mode"));
    }
    for cmd in ["list", "show&w=loadbalancer", "version", "dump"] {
        let (r, _) = run(&c, &fresh(), &format!("cmd={cmd}&mime=txt"));
        assert!(
            r.body
                .ends_with("Result: type=OK message=\"Action finished\"\n"),
            "{cmd}"
        );
    }
    // The HTML page shows "(read only)" and no buttons.
    let (r, _) = run(&c, &errored(), "");
    assert!(r.body.contains("(read only)</h1>"));
    assert!(!r.body.contains("name=\"vwa\""));
    assert!(!r.body.contains(">Read/Write<"));
}

// ---------- commands and Apply ----------

#[test]
fn update_member_calls_apply_with_parsed_values() {
    let (r, rec) = run(
        &cfg(),
        &fresh(),
        "cmd=update&w=loadbalancer&sw=tomcat1&vwa=D&vwf=3&vwn=r1&vwd=-1&vacpt=30&var=0&vamps=9000&mime=txt",
    );
    assert_eq!(r.body, "Result: type=OK message=\"Action finished\"\n");
    assert_eq!(rec.calls.len(), 1);
    let c = &rec.calls[0];
    assert!(c.starts_with("member loadbalancer/tomcat1 "), "{c}");
    assert!(c.contains("activation: Some(Disabled)"));
    assert!(c.contains("lbfactor: Some(3)"));
    assert!(c.contains("route: Some(\"r1\")"));
    assert!(c.contains("distance: None"), "negative distance is ignored");
    assert!(c.contains("connection_pool_timeout: Some(30)"), "{c}");
    assert!(c.contains("retries: None"), "retries 0 is out of range");
    assert!(c.contains("max_packet_size: Some(9216)"));
}

#[test]
fn member_changes_ranges() {
    let m = member("t", 8009);
    let p = parse_query("vwa=x&vwf=0&vwd=0&vacpt=600&vamps=100000&vari=5&varo=3").unwrap();
    let (c, e) = member_changes(&p, &m);
    assert!(e.is_none());
    assert_eq!(c.activation, None);
    assert_eq!(c.lbfactor, None);
    assert_eq!(c.distance, None, "equal to current");
    assert_eq!(c.ajp.connection_pool_timeout, None, "equal to current");
    assert_eq!(c.ajp.max_packet_size, Some(65536));
    assert_eq!(c.ajp.retry_interval, Some(5));
    assert_eq!(c.ajp.recovery_options, Some(3));
    for (v, a) in [
        ("0", Activation::Active),
        ("s", Activation::Stopped),
        ("Stopped", Activation::Stopped),
        ("2", Activation::Stopped),
    ] {
        let mut m2 = m.clone();
        m2.activation = Activation::Disabled;
        let (c, _) = member_changes(&parse_query(&format!("vwa={v}")).unwrap(), &m2);
        assert_eq!(c.activation, Some(a), "{v}");
    }
}

#[test]
fn lb_update_values() {
    let lb = &fresh().lbs[0];
    let p = parse_query("vlr=0&vlt=10&vlee=0&vlx=0&vls=off&vlf=on&vlm=b&vll=1&vlri=-3").unwrap();
    let c = lb_changes(&p, lb);
    assert_eq!(c.retries, None);
    assert_eq!(c.recover_time, Some(10));
    assert_eq!(c.error_escalation_time, None);
    assert_eq!(c.max_reply_timeouts, None, "equal");
    assert_eq!(c.sticky_session, Some(false));
    assert_eq!(c.sticky_session_force, Some(true));
    assert_eq!(c.method, Some(LbMethod::Busyness));
    assert_eq!(c.lock, Some(LbLock::Pessimistic));
    assert_eq!(c.retry_interval, None);
    let (r, rec) = run(&cfg(), &fresh(), "cmd=update&w=loadbalancer&vlm=3&mime=txt");
    assert!(r.body.contains("type=OK"));
    assert_eq!(rec.calls, vec!["lb loadbalancer LbChanges { retries: None, retry_interval: None, recover_time: None, error_escalation_time: None, max_reply_timeouts: None, sticky_session: None, sticky_session_force: None, method: Some(Sessions), lock: None }"]);
}

#[test]
fn wildcard_update_hits_all_matching_members_and_stops_at_first_failure() {
    let mut m = fresh();
    m.lbs[0].members.push(member("other", 8011));
    let (_, rec) = run(
        &cfg(),
        &m,
        "cmd=update&w=loadbalancer&sw=tomcat*&vwd=5&mime=txt",
    );
    assert_eq!(rec.calls.len(), 2);
    // `?` is masked to `@` by the XSS rule before matching (as in mod_jk), so it matches nothing.
    let (r, rec) = run(
        &cfg(),
        &m,
        "cmd=update&w=loadbalancer&sw=tomcat%3F&vwd=5&mime=txt",
    );
    assert!(rec.calls.is_empty() && r.body.contains("could not find sub worker"));
    let (_, rec) = run(&cfg(), &m, "cmd=update&w=loadbalancer&sw=*&vwd=5&mime=txt");
    assert_eq!(rec.calls.len(), 3);
    let mut rec = Rec {
        fail_on: Some("tomcat1".into()),
        ..Rec::default()
    };
    let r = handle_query(
        &cfg(),
        "cmd=update&w=loadbalancer&sw=*&vwd=5&mime=txt",
        None,
        &m,
        &mut rec,
    );
    assert_eq!(rec.calls.len(), 1);
    assert_eq!(
        r.body,
        "Result: type=ERROR message=\"Update failed (at least partially): backend refused\"\n"
    );
    assert!(wildcard_match("t*1", "tomcat1"));
    assert!(!wildcard_match("t?1", "tomcat1"));
    for cmd in ["show", "reset", "recover", "edit"] {
        let (r, _) = run(
            &cfg(),
            &m,
            &format!("cmd={cmd}&w=loadbalancer&sw=*&mime=txt"),
        );
        assert!(
            r.body
                .contains("wildcard not allowed in sub worker for this command"),
            "{cmd}"
        );
    }
}

#[test]
fn att_val_form() {
    let (r, rec) = run(
        &cfg(),
        &fresh(),
        "cmd=update&w=loadbalancer&att=vwf&val0=2&val1=3&mime=txt",
    );
    assert!(r.body.contains("type=OK"));
    assert_eq!(rec.calls.len(), 2);
    assert!(
        rec.calls[0].starts_with("member loadbalancer/tomcat1 ")
            && rec.calls[0].contains("lbfactor: Some(2)")
    );
    assert!(
        rec.calls[1].starts_with("member loadbalancer/tomcat2 ")
            && rec.calls[1].contains("lbfactor: Some(3)")
    );
    let (_, rec) = run(
        &cfg(),
        &fresh(),
        "cmd=update&w=loadbalancer&att=vwa&val1=s&mime=txt",
    );
    assert_eq!(rec.calls.len(), 1);
    assert!(rec.calls[0].contains("tomcat2") && rec.calls[0].contains("Stopped"));
    // Not an att code: nothing happens, OK (as Debian).
    let (r, rec) = run(
        &cfg(),
        &fresh(),
        "cmd=update&w=loadbalancer&att=vlr&val0=2&mime=txt",
    );
    assert!(r.body.contains("type=OK") && rec.calls.is_empty());
    // val for route too long.
    let (r, _) = run(
        &cfg(),
        &fresh(),
        &format!(
            "cmd=update&w=loadbalancer&att=vwn&val0={}&mime=txt",
            "x".repeat(61)
        ),
    );
    assert!(r
        .body
        .contains("Update failed (at least partially): new route"));
}

#[test]
fn too_long_still_applies_the_rest() {
    let (r, rec) = run(
        &cfg(),
        &fresh(),
        &format!(
            "cmd=update&w=loadbalancer&sw=tomcat1&vwd=4&vwn={}&mime=txt",
            "r".repeat(61)
        ),
    );
    assert!(r.body.contains("too long for sub worker 'tomcat1'"));
    assert_eq!(rec.calls.len(), 1);
    assert!(rec.calls[0].contains("distance: Some(4)") && rec.calls[0].contains("route: None"));
    let (r, rec) = run(
        &cfg(),
        &fresh(),
        &format!(
            "cmd=update&w=loadbalancer&sw=tomcat1&vwr={}&mime=txt",
            "r".repeat(60)
        ),
    );
    assert!(r.body.contains("type=OK") && rec.calls.len() == 1);
}

#[test]
fn update_ajp_and_status_worker() {
    let (r, rec) = run(
        &cfg(),
        &fresh(),
        "cmd=update&w=tomcat1&vahst=db&vaprt=8019&vart=5000&mime=txt",
    );
    assert!(r.body.contains("type=OK"));
    assert_eq!(rec.calls.len(), 1);
    assert!(rec.calls[0].starts_with("ajp tomcat1 ") && rec.calls[0].contains("port: Some(8019)"));
    let (r, _) = run(&cfg(), &fresh(), "cmd=update&w=jkstatus&mime=txt");
    assert_eq!(r.body, "Result: type=ERROR message=\"Update failed\"\n");
    let (r, _) = run(&cfg(), &fresh(), "cmd=update&w=tomcat1&sw=x&mime=txt");
    assert!(r.body.contains("worker type has no sub workers"));
}

#[test]
fn reset_and_recover() {
    let (r, rec) = run(&cfg(), &fresh(), "cmd=reset&w=loadbalancer&mime=txt");
    assert_eq!(r.body, "Result: type=OK message=\"Action finished\"\n");
    assert_eq!(rec.calls, vec!["reset loadbalancer None"]);
    let (_, rec) = run(
        &cfg(),
        &fresh(),
        "cmd=reset&w=loadbalancer&sw=tomcat2&mime=txt",
    );
    assert_eq!(rec.calls, vec!["reset loadbalancer Some(\"tomcat2\")"]);
    let (_, rec) = run(&cfg(), &fresh(), "cmd=reset&w=tomcat1&mime=txt");
    assert_eq!(rec.calls, vec!["reset tomcat1 None"]);
    let (r, rec) = run(
        &cfg(),
        &errored(),
        "cmd=recover&w=loadbalancer&sw=tomcat2&mime=txt",
    );
    assert!(r.body.contains("type=OK"));
    assert_eq!(rec.calls, vec!["recover loadbalancer/tomcat2"]);
    for q in [
        "cmd=recover&w=loadbalancer&sw=tomcat1",
        "cmd=recover&w=loadbalancer",
        "cmd=recover&w=tomcat1",
    ] {
        let (r, rec) = run(&cfg(), &errored(), &format!("{q}&mime=txt"));
        assert!(r.body.contains("Marking worker for recovery failed"), "{q}");
        assert!(rec.calls.is_empty());
    }
    let (r, _) = run(&cfg(), &fresh(), "cmd=recover&w=loadbalancer&sw=&mime=txt");
    assert!(r.body.contains("EMPTY sub worker param"));
    // No header for changing commands.
    let (r, _) = run(&cfg(), &fresh(), "cmd=reset&w=loadbalancer&mime=xml");
    assert!(!r.body.contains("jk:server"));
}

// ---------- rating, opt, config ----------

#[test]
fn rating_defaults_and_custom() {
    let c = cfg();
    let mut m = member("t", 1);
    assert_eq!(c.rate(&m), Rating::Good);
    m.activation = Activation::Disabled;
    assert_eq!(c.rate(&m), Rating::Degraded);
    m.state = MemberState::Error;
    assert_eq!(c.rate(&m), Rating::Bad);
    m.activation = Activation::Active;
    m.state = MemberState::Probe;
    assert_eq!(c.rate(&m), Rating::Good);
    m.activation = Activation::Stopped;
    m.state = MemberState::Ok;
    assert_eq!(c.rate(&m), Rating::Bad);
    assert!(!c.good_bad_overlap());
    let mut c2 = cfg();
    c2.set("good", "a,d.o");
    c2.set("bad", "e");
    m.activation = Activation::Disabled;
    assert_eq!(c2.rate(&m), Rating::Good);
    m.activation = Activation::Stopped;
    assert_eq!(c2.rate(&m), Rating::Degraded);
    c2.set("bad", "a.e s");
    assert!(c2.good_bad_overlap());
}

#[test]
fn opt_hiding_applies_to_all_formats() {
    let m = fresh();
    let (r, _) = run(&cfg(), &m, "mime=xml&opt=1");
    assert!(!r.body.contains("<jk:member") && r.body.contains("<jk:map"));
    let (r, _) = run(&cfg(), &m, "mime=xml&opt=2");
    assert!(r.body.contains("<jk:member") && !r.body.contains("<jk:map"));
    let (r, _) = run(&cfg(), &m, "mime=txt&opt=8");
    assert!(!r.body.contains("Balancer") && r.body.contains("AJP Workers: count=2"));
    let (r, _) = run(&cfg(), &m, "mime=prop&opt=16");
    assert!(!r.body.contains("ajp_count") && r.body.contains("lb_count=1"));
    let (r, _) = run(&cfg(), &m, "mime=json&opt=24");
    assert!(!r.body.contains("\"balancers\"") && !r.body.contains("\"ajp_workers\""));
    let (r, _) = run(&cfg(), &m, "mime=prometheus&opt=1");
    assert!(!r.body.contains("mod_jk_member_") && r.body.contains("mod_jk_lb_members"));
    let (r, _) = run(&cfg(), &m, "opt=4");
    assert!(!r.body.contains("<h2>Legend"));
}

#[test]
fn ns_xmlns_doctype_prefix() {
    let mut c = cfg();
    c.set("ns", "-");
    c.set("xmlns", "-");
    c.set("doctype", "<!DOCTYPE status>");
    c.set("prefix", "jk");
    let (r, _) = run(&c, &fresh(), "mime=xml&cmd=version");
    assert!(r.body.starts_with(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<!DOCTYPE status>\n<status>\n<server\n"
    ));
    assert!(r.body.ends_with("</status>\n"));
    let (r, _) = run(&c, &fresh(), "mime=prop&cmd=version");
    assert!(r.body.starts_with("jk.server_name=127.0.0.1\n"));
    let mut c = cfg();
    c.set("ns", "x:");
    let (r, _) = run(&c, &fresh(), "mime=xml&cmd=version");
    assert!(r.body.contains("<x:status\n  xmlns:jk=") && r.body.contains("<x:result"));
}

// ---------- HTML ----------

#[test]
fn html_list_page() {
    let (r, _) = run(&cfg(), &errored(), "");
    let b = &r.body;
    assert!(b.starts_with("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\""));
    assert!(b.contains("<title>JK Status Manager</title>"));
    assert!(b.contains("<h1>JK Status Manager for 127.0.0.1:56975</h1>"));
    assert!(b.contains("2026-11-25 03:56:44 +0000"));
    // The overview: tomcat1 is Disabled (draining, amber), tomcat2 ERR (down, red).
    let ov = b
        .split("<h2>Overview</h2>")
        .nth(1)
        .unwrap()
        .split("<hr/>")
        .next()
        .unwrap();
    let t1 = ov
        .split("<td>tomcat1</td>")
        .nth(1)
        .unwrap()
        .split("</tr>")
        .next()
        .unwrap();
    assert!(t1.contains("jk-draining") && t1.contains("Disabled"));
    let t2 = ov
        .split("<td>tomcat2</td>")
        .nth(1)
        .unwrap()
        .split("</tr>")
        .next()
        .unwrap();
    assert!(t2.contains("jk-down") && t2.contains("ERR"));
    for v in ["A", "D", "S"] {
        assert!(t1.contains(&format!("name=\"vwa\" value=\"{v}\"")));
    }
    assert!(
        t1.contains("name=\"sw\" value=\"tomcat1\"")
            && t1.contains("name=\"cmd\" value=\"update\"")
    );
    assert!(t1.contains("value=\"Disabled\" disabled=\"disabled\""));
    // mod_jk's links: [S|E|R] and T only for the ERR member; E, R and T change something,
    // so they are POST forms (mod_jk-rs), S stays a link.
    assert!(b.contains("/jkmanager?cmd=show&amp;w=loadbalancer&amp;sw=tomcat1\">S</a>"));
    let t_form = |sw: &str| {
        format!(
            "<form class=\"jk-act\" method=\"post\" action=\"/jkmanager\">\
             <input type=\"hidden\" name=\"cmd\" value=\"recover\"/>\
             <input type=\"hidden\" name=\"from\" value=\"list\"/>\
             <input type=\"hidden\" name=\"w\" value=\"loadbalancer\"/>\
             <input type=\"hidden\" name=\"sw\" value=\"{sw}\"/>\
             <input type=\"submit\" class=\"jk-link\" value=\"T\"/></form>"
        )
    };
    assert!(b.contains(&t_form("tomcat2")), "{b}");
    assert!(!b.contains(&t_form("tomcat1")));
    for col in [
        "<th>Act</th>",
        "<th>MaxCon</th>",
        "<th>LE</th>",
        "Bad/Stopped",
    ] {
        assert!(b.contains(col), "{col}");
    }
    assert!(b.contains("[<a href=\"/jkmanager?opt=32\">Read Only</a>]"));
}

#[test]
fn html_refresh_css_and_escaping() {
    let mut c = cfg();
    c.set("css", "/s.css");
    let mut m = fresh();
    m.lbs[0].members[0].last_error = Some("<boom & bust>".into());
    let (r, _) = run(&c, &m, "re=5&opt=0");
    assert!(r
        .body
        .contains("<meta http-equiv=\"Refresh\" content=\"5;url=/jkmanager?re=5&amp;opt=0\" />"));
    assert!(r
        .body
        .contains("<link rel=\"stylesheet\" type=\"text/css\" href=\"/s.css\" />"));
    assert!(r.body.contains("<div class=\"footer\">"));
    assert!(r.body.contains("&lt;boom &amp; bust&gt;"));
    let (r, _) = run(&c, &m, "cmd=update&w=loadbalancer&sw=tomcat1&vwa=1&re=5");
    assert!(!r.body.contains("content=\"5;"));
}

// ---------- JSON ----------

mod json {
    //! A tiny strict JSON parser for validation.
    #[derive(Debug, Clone, PartialEq)]
    pub enum J {
        Null,
        B(bool),
        N(f64),
        S(String),
        A(Vec<J>),
        O(Vec<(String, J)>),
    }

    impl J {
        pub fn get(&self, k: &str) -> Option<&J> {
            match self {
                J::O(v) => v.iter().find(|(n, _)| n == k).map(|(_, v)| v),
                _ => None,
            }
        }
    }

    pub fn parse(s: &str) -> Result<J, String> {
        let b: Vec<char> = s.chars().collect();
        let mut i = 0;
        let v = value(&b, &mut i)?;
        ws(&b, &mut i);
        if i != b.len() {
            return Err(format!("trailing data at {i}"));
        }
        Ok(v)
    }

    fn ws(b: &[char], i: &mut usize) {
        while *i < b.len() && b[*i].is_whitespace() {
            *i += 1;
        }
    }

    fn value(b: &[char], i: &mut usize) -> Result<J, String> {
        ws(b, i);
        match b.get(*i) {
            Some('{') => {
                *i += 1;
                let mut v = Vec::new();
                ws(b, i);
                if b.get(*i) == Some(&'}') {
                    *i += 1;
                    return Ok(J::O(v));
                }
                loop {
                    ws(b, i);
                    let J::S(k) = string(b, i)? else {
                        unreachable!()
                    };
                    ws(b, i);
                    if b.get(*i) != Some(&':') {
                        return Err(format!("expected : at {i}"));
                    }
                    *i += 1;
                    v.push((k, value(b, i)?));
                    ws(b, i);
                    match b.get(*i) {
                        Some(',') => *i += 1,
                        Some('}') => {
                            *i += 1;
                            return Ok(J::O(v));
                        }
                        _ => return Err(format!("expected , or }} at {i}")),
                    }
                }
            }
            Some('[') => {
                *i += 1;
                let mut v = Vec::new();
                ws(b, i);
                if b.get(*i) == Some(&']') {
                    *i += 1;
                    return Ok(J::A(v));
                }
                loop {
                    v.push(value(b, i)?);
                    ws(b, i);
                    match b.get(*i) {
                        Some(',') => *i += 1,
                        Some(']') => {
                            *i += 1;
                            return Ok(J::A(v));
                        }
                        _ => return Err(format!("expected , or ] at {i}")),
                    }
                }
            }
            Some('"') => string(b, i),
            Some('t') => lit(b, i, "true", J::B(true)),
            Some('f') => lit(b, i, "false", J::B(false)),
            Some('n') => lit(b, i, "null", J::Null),
            Some(c) if *c == '-' || c.is_ascii_digit() => {
                let st = *i;
                while *i < b.len() && (b[*i] == '-' || b[*i] == '.' || b[*i].is_ascii_digit()) {
                    *i += 1;
                }
                let t: String = b[st..*i].iter().collect();
                t.parse().map(J::N).map_err(|e| format!("{t}: {e}"))
            }
            other => Err(format!("unexpected {other:?} at {i}")),
        }
    }

    fn lit(b: &[char], i: &mut usize, w: &str, v: J) -> Result<J, String> {
        let t: String = b.iter().skip(*i).take(w.len()).collect();
        if t != w {
            return Err(format!("bad literal at {i}"));
        }
        *i += w.len();
        Ok(v)
    }

    fn string(b: &[char], i: &mut usize) -> Result<J, String> {
        if b.get(*i) != Some(&'"') {
            return Err(format!("expected string at {i}"));
        }
        *i += 1;
        let mut s = String::new();
        loop {
            match b.get(*i) {
                None => return Err("unterminated string".into()),
                Some('"') => {
                    *i += 1;
                    return Ok(J::S(s));
                }
                Some('\\') => {
                    *i += 1;
                    match b.get(*i) {
                        Some('"') => s.push('"'),
                        Some('\\') => s.push('\\'),
                        Some('/') => s.push('/'),
                        Some('n') => s.push('\n'),
                        Some('r') => s.push('\r'),
                        Some('t') => s.push('\t'),
                        Some('b') => s.push('\u{8}'),
                        Some('f') => s.push('\u{c}'),
                        Some('u') => {
                            let h: String = b.iter().skip(*i + 1).take(4).collect();
                            let c = u32::from_str_radix(&h, 16).map_err(|e| e.to_string())?;
                            s.push(char::from_u32(c).ok_or("bad escape")?);
                            *i += 4;
                        }
                        _ => return Err(format!("bad escape at {i}")),
                    }
                    *i += 1;
                }
                Some(c) if (*c as u32) < 0x20 => return Err(format!("control char at {i}")),
                Some(c) => {
                    s.push(*c);
                    *i += 1;
                }
            }
        }
    }
}

#[test]
fn json_is_valid_and_typed() {
    use json::J;
    let mut m = errored();
    m.lbs[0].members[0].last_error = Some("quote \" backslash \\ nl \n tab \t ctl \u{1}".into());
    m.lbs[0].members[0].in_flight = Some(4);
    let (r, _) = run(&cfg(), &m, "mime=json");
    assert_eq!(r.content_type, "application/json");
    let v = json::parse(&r.body).unwrap();
    assert_eq!(v.get("server").unwrap().get("port"), Some(&J::N(56975.0)));
    assert_eq!(
        v.get("software").unwrap().get("jk_version"),
        Some(&J::S("mod_jk/1.2.48".into()))
    );
    let J::A(lbs) = v.get("balancers").unwrap() else {
        panic!()
    };
    let lb = &lbs[0];
    assert_eq!(lb.get("sticky_session"), Some(&J::B(true)));
    assert_eq!(lb.get("good"), Some(&J::N(0.0)));
    assert_eq!(lb.get("degraded"), Some(&J::N(1.0)));
    assert_eq!(lb.get("bad"), Some(&J::N(1.0)));
    let J::A(members) = lb.get("members").unwrap() else {
        panic!()
    };
    assert_eq!(members[0].get("activation"), Some(&J::S("DIS".into())));
    assert_eq!(members[0].get("in_flight"), Some(&J::N(4.0)));
    assert_eq!(
        members[0].get("last_error"),
        Some(&J::S("quote \" backslash \\ nl \n tab \t ctl \u{1}".into()))
    );
    assert_eq!(members[0].get("restarting"), Some(&J::Null));
    assert_eq!(members[1].get("state"), Some(&J::S("ERR".into())));
    assert_eq!(
        members[1].get("error_time_unix_seconds"),
        Some(&J::N(1795579031.0))
    );
    assert_eq!(members[0].get("error_time_unix_seconds"), None);
    let J::A(maps) = lb.get("maps").unwrap() else {
        panic!()
    };
    assert_eq!(maps[0].get("id"), Some(&J::N(1.0)));
    assert_eq!(maps[0].get("reply_timeout"), Some(&J::N(-1.0)));
    let J::A(ajps) = v.get("ajp_workers").unwrap() else {
        panic!()
    };
    assert_eq!(ajps.len(), 2);
    assert_eq!(ajps[1].get("used"), Some(&J::N(3.0)));
    let res = v.get("result").unwrap();
    assert_eq!(res.get("type"), Some(&J::S("OK".into())));
    assert_eq!(res.get("message"), Some(&J::S("Action finished".into())));
    // Key names equal the XML attribute names (member).
    let (x, _) = run(&cfg(), &m, "mime=xml&cmd=show&w=loadbalancer&sw=tomcat2");
    let J::O(pairs) = &members[1] else { panic!() };
    let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    let member_xml = x
        .body
        .split("<jk:member\n")
        .nth(1)
        .unwrap()
        .split("/>")
        .next()
        .unwrap();
    let xml_keys: Vec<&str> = member_xml
        .lines()
        .filter_map(|l| l.trim().split_once('='))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(&keys[..xml_keys.len()], &xml_keys[..]);
    // Errors and other commands are valid JSON too.
    for q in [
        "mime=json&cmd=nope",
        "mime=json&cmd=dump",
        "mime=json&cmd=show&w=tomcat2",
        "mime=json&cmd=update&w=loadbalancer&sw=tomcat1&vwa=0",
    ] {
        let (r, _) = run(&cfg(), &m, q);
        json::parse(&r.body).unwrap_or_else(|e| panic!("{q}: {e}\n{}", r.body));
    }
    let (r, _) = run(&cfg(), &m, "mime=json&cmd=nope");
    assert_eq!(
        r.body,
        "{\"result\":{\"type\":\"ERROR\",\"message\":\"Invalid command.\"}}\n"
    );
}

// ---------- Prometheus ----------

fn check_prometheus(body: &str) -> Vec<(String, String, f64)> {
    let mut typed: std::collections::HashMap<String, String> = Default::default();
    let mut helped = std::collections::HashSet::new();
    let mut seen_families: Vec<String> = Vec::new();
    let mut samples = Vec::new();
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap();
            assert!(helped.insert(name.to_string()), "duplicate HELP {name}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, t) = rest.split_once(' ').unwrap();
            assert!(helped.contains(name), "TYPE before HELP for {name}");
            assert!(["counter", "gauge", "histogram"].contains(&t));
            assert!(
                typed.insert(name.into(), t.into()).is_none(),
                "duplicate TYPE {name}"
            );
            seen_families.push(name.into());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        // name{labels} value
        let name_end = line.find(['{', ' ']).unwrap();
        let name = &line[..name_end];
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{line}"
        );
        let family = seen_families.last().map(String::as_str).unwrap_or("");
        let in_family = name == family
            || (typed.get(family).map(String::as_str) == Some("histogram")
                && ["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|s| name.strip_suffix(s) == Some(family)));
        assert!(in_family, "sample outside its family: {line}");
        let rest = &line[name_end..];
        let (labels, value) = if let Some(r) = rest.strip_prefix('{') {
            // parse labels with escapes
            let mut chars = r.char_indices().peekable();
            let mut in_str = false;
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match (in_str, c) {
                    (true, '\\') => {
                        let (_, e) = chars.next().unwrap();
                        assert!(['\\', '"', 'n'].contains(&e), "bad escape in {line}");
                    }
                    (true, '"') => in_str = false,
                    (false, '"') => in_str = true,
                    (false, '}') => {
                        end = Some(i);
                        break;
                    }
                    _ => {}
                }
            }
            let end = end.unwrap();
            (r[..end].to_string(), r[end + 1..].trim_start())
        } else {
            (String::new(), rest.trim_start())
        };
        let v: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line}"));
        if typed.get(name).map(String::as_str) == Some("counter") {
            assert!(name.ends_with("_total"), "{name}");
        }
        samples.push((name.to_string(), labels, v));
    }
    samples
}

#[test]
fn prometheus_is_valid_exposition_format() {
    let mut m = errored();
    m.lbs[0].name = "lb \"q\" \\ x".into();
    m.lbs[0].members[0].in_flight = Some(2);
    let (r, _) = run(&cfg(), &m, "mime=prometheus");
    assert_eq!(r.content_type, "text/plain; version=0.0.4");
    let s = check_prometheus(&r.body);
    let find = |name: &str, label: &str| {
        s.iter()
            .find(|(n, l, _)| n == name && l.contains(label))
            .map(|x| x.2)
    };
    let lbl = "balancer=\"lb \\\"q\\\" \\\\ x\",member=\"tomcat2\"";
    assert_eq!(find("mod_jk_member_requests_total", lbl), Some(3.0));
    assert_eq!(find("mod_jk_member_errors_total", lbl), Some(3.0));
    assert_eq!(
        find("mod_jk_member_state", &format!("{lbl},state=\"ERR\"")),
        Some(1.0)
    );
    assert_eq!(
        find("mod_jk_member_state", &format!("{lbl},state=\"OK\"")),
        Some(0.0)
    );
    assert_eq!(
        find(
            "mod_jk_member_activation",
            "member=\"tomcat1\",activation=\"DIS\""
        ),
        Some(1.0)
    );
    assert_eq!(
        find("mod_jk_member_in_flight", "member=\"tomcat1\""),
        Some(2.0)
    );
    assert_eq!(find("mod_jk_member_in_flight", "member=\"tomcat2\""), None);
    assert_eq!(
        find("mod_jk_ajp_requests_total", "worker=\"tomcat2\""),
        Some(3.0)
    );
    assert_eq!(find("mod_jk_lb_bad", ""), Some(1.0));
    for fam in [
        "mod_jk_member_client_errors_total",
        "mod_jk_member_busy",
        "mod_jk_member_bytes_read_total",
        "mod_jk_member_bytes_transferred_total",
        "mod_jk_member_sessions_total",
    ] {
        assert!(r.body.contains(&format!("# TYPE {fam} ")), "{fam}");
    }
    assert_eq!(
        s.iter()
            .filter(|(n, _, _)| n == "mod_jk_member_state")
            .count(),
        14
    );
    let (r, _) = run(&cfg(), &m, "mime=prometheus&cmd=show&w=nope");
    check_prometheus(&r.body);
    assert!(r.body.starts_with("# ERROR Could not find given worker\n"));
    assert!(r.body.contains("mod_jk_status_result{type=\"ERROR\"} 1"));
}

fn latency(reply_us: &[u64], hold_us: &[u64], replies: [u64; 5]) -> LatencyView {
    let hist = |bounds: &[u64], obs: &[u64]| {
        let mut counts = vec![0; bounds.len() + 1];
        for &o in obs {
            counts[bounds.iter().position(|&b| o <= b).unwrap_or(bounds.len())] += 1;
        }
        HistogramView {
            bounds_us: bounds.to_vec(),
            counts,
            sum_us: obs.iter().sum(),
        }
    };
    LatencyView {
        reply: hist(&[500, 1_000, 2_500_000], reply_us),
        hold: hist(&[100_000, 10_000_000], hold_us),
        replies,
    }
}

#[test]
fn latency_is_exposed_as_prometheus_histograms_and_in_json() {
    let mut m = errored();
    m.lbs[0].members[0].latency = Some(latency(&[400, 700, 3_000_000], &[], [0, 2, 0, 1, 0]));
    m.lbs[0].members[1].latency = Some(latency(&[900], &[250_000], [0, 0, 0, 0, 1]));
    m.lbs[0].latency = Some(latency(
        &[400, 700, 3_000_000, 900],
        &[250_000],
        [0, 2, 0, 1, 1],
    ));
    let (r, _) = run(&cfg(), &m, "mime=prometheus");
    let s = check_prometheus(&r.body);
    let find = |name: &str, label: &str| {
        s.iter()
            .find(|(n, l, _)| n == name && l.ends_with(label))
            .map(|x| x.2)
    };
    let t1 = "member=\"tomcat1\"";
    let b = "mod_jk_member_reply_duration_seconds_bucket";
    assert_eq!(find(b, &format!("{t1},le=\"0.0005\"")), Some(1.0));
    assert_eq!(find(b, &format!("{t1},le=\"0.001\"")), Some(2.0));
    assert_eq!(find(b, &format!("{t1},le=\"2.5\"")), Some(2.0));
    assert_eq!(find(b, &format!("{t1},le=\"+Inf\"")), Some(3.0));
    assert_eq!(
        find("mod_jk_member_reply_duration_seconds_count", t1),
        Some(3.0)
    );
    assert_eq!(
        find("mod_jk_member_reply_duration_seconds_sum", t1),
        Some(3.0011)
    );
    assert_eq!(
        find("mod_jk_member_replies_total", &format!("{t1},code=\"2xx\"")),
        Some(2.0)
    );
    assert_eq!(
        find(
            "mod_jk_member_hold_duration_seconds_bucket",
            "member=\"tomcat2\",le=\"0.1\""
        ),
        Some(0.0)
    );
    assert_eq!(
        find(
            "mod_jk_member_hold_duration_seconds_sum",
            "member=\"tomcat2\""
        ),
        Some(0.25)
    );
    assert_eq!(
        find(
            "mod_jk_lb_reply_duration_seconds_count",
            "balancer=\"loadbalancer\""
        ),
        Some(4.0)
    );
    assert_eq!(
        find(
            "mod_jk_lb_replies_total",
            "balancer=\"loadbalancer\",code=\"5xx\""
        ),
        Some(1.0)
    );
    for fam in [
        "mod_jk_lb_reply_duration_seconds histogram",
        "mod_jk_lb_hold_duration_seconds histogram",
        "mod_jk_member_reply_duration_seconds histogram",
        "mod_jk_member_hold_duration_seconds histogram",
        "mod_jk_lb_replies_total counter",
    ] {
        assert!(r.body.contains(&format!("# TYPE {fam}\n")), "{fam}");
    }
    let (r, _) = run(&cfg(), &m, "mime=json");
    let j: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let lat = &j["balancers"][0]["members"][0]["latency"];
    assert_eq!(lat["reply"]["le"][1], serde_json::json!(0.001));
    assert_eq!(lat["reply"]["buckets"], serde_json::json!([1, 2, 2, 3]));
    assert_eq!(lat["reply"]["count"], 3);
    assert_eq!(lat["reply"]["sum_seconds"], serde_json::json!(3.0011));
    assert_eq!(lat["replies"]["4xx"], 1);
    assert_eq!(j["balancers"][0]["latency"]["reply"]["count"], 4);
    assert_eq!(
        j["balancers"][0]["latency"]["hold"]["buckets"],
        serde_json::json!([0, 1, 1])
    );
}

// ---------- byte counts in HTML, as mod_jk's status_strfsize writes them ----------

#[test]
fn byte_sizes_like_mod_jk() {
    for (v, want) in [
        (0, "0 "),
        (202, "202 "),
        (972, "972 "),
        (973, "1.0K"),
        (1536, "1.5K"),
        (9 * 1024 + 972, "9.9K"),
        (9 * 1024 + 973, "10K"),
        (10 * 1024, "10K"),
        (10 * 1024 + 512, "11K"),
        (973 * 1024, "1.0M"),
        (5 * 1024 * 1024 * 1024, "5.0G"),
    ] {
        assert_eq!(human_size(v), want, "{v}");
    }
}

#[test]
fn html_shows_bytes_with_their_rate_since_the_reset() {
    let mut m = fresh();
    let t1 = &mut m.lbs[0].members[0];
    (t1.transferred, t1.read, t1.elected, t1.last_reset_ago) = (2020, 610, 10, 10);
    let t2 = &mut m.lbs[0].members[1];
    (t2.transferred, t2.read, t2.last_reset_ago) = (202, 61, 0);
    let a = &mut m.ajps[0];
    (
        a.transferred,
        a.read,
        a.connected,
        a.max_connected,
        a.last_reset_ago,
    ) = (4096, 5, 2, 3, 4);
    let (r, _) = run(&cfg(), &m, "");
    let b = &r.body;
    // Member rows: Acc, Wr and Rd cells (mod_jk: "%s (%s/sec)", "-" in the first second).
    assert!(
        b.contains("<td>10 (1/sec)</td><td>0 (0/sec)</td>"),
        "Acc/Sess of tomcat1"
    );
    assert!(
        b.contains("<td>2.0K (202 /sec)</td><td>610  (61 /sec)</td>"),
        "{b}"
    );
    assert!(
        b.contains("<td>202  (-/sec)</td><td>61  (-/sec)</td>"),
        "{b}"
    );
    assert!(
        b.contains("<td>0 (-1/sec)</td>"),
        "Acc of tomcat2 in its first second"
    );
    // The ajp worker row, with its connections.
    assert!(
        b.contains(
            "<td>4.0K (1.0K/sec)</td><td>5  (1 /sec)</td><td>0</td><td>0</td><td>2</td><td>3</td>"
        ),
        "{b}"
    );
}

#[test]
fn the_live_script_hash_in_the_csp_is_the_scripts() {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(LIVE_SCRIPT.as_bytes());
    let want = format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    );
    assert_eq!(
        LIVE_SCRIPT_HASH, want,
        "live.js changed: put the new hash in LIVE_SCRIPT_HASH and HTML_CSP"
    );
    assert!(HTML_CSP.contains(&format!("'{want}'")), "{HTML_CSP}");
}

#[test]
fn the_list_page_has_the_live_charts_polling_its_own_json() {
    let (r, _) = run(&cfg(), &errored(), "");
    let b = &r.body;
    let at = b.find("<div id=\"jk-live\"").expect("the live charts' box");
    assert!(
        b[at..].starts_with(
            "<div id=\"jk-live\" data-src=\"/jkmanager?cmd=list&amp;mime=json&amp;opt=50\">"
        ),
        "{}",
        &b[at..at + 80]
    );
    assert!(at > b.find("table class=\"jk-overview\"").unwrap());
    // No external script, font or image: the page works offline.
    for ext in ["src=\"http", "url(", "@import", "<link"] {
        assert!(!b.contains(ext), "{ext}");
    }
    // Other pages have no charts.
    let (r, _) = run(&cfg(), &errored(), "cmd=show&w=loadbalancer");
    assert!(!r.body.contains("jk-live"));
}

// ---------- writes a browser cannot be tricked into (mod_jk-rs) ----------

fn with_token() -> StatusConfig {
    let mut c = cfg();
    c.write_token = "0123456789abcdef0123456789abcdef".into();
    c
}

#[test]
fn a_refused_write_is_an_error_in_the_requested_format_and_changes_nothing() {
    let why = "a change sent by a browser from another site (Sec-Fetch-Site: cross-site)";
    let refusing = || Rec {
        refuse_write: Some(why.into()),
        ..Rec::default()
    };
    let run_refused = |q: &str| {
        let mut rec = refusing();
        let r = handle_query(&cfg(), q, None, &errored(), &mut rec);
        (r, rec)
    };
    for cmd in [
        "update&w=loadbalancer&sw=tomcat1&vwa=S",
        "reset&w=loadbalancer",
        "recover&w=loadbalancer&sw=tomcat2",
        "edit&w=loadbalancer&sw=tomcat1",
    ] {
        let (r, rec) = run_refused(&format!("cmd={cmd}&mime=txt"));
        assert_eq!(
            r.body,
            format!("Result: type=ERROR message=\"Change refused: {why}\"\n"),
            "{cmd}"
        );
        assert!(rec.calls.is_empty(), "{cmd}: {:?}", rec.calls);
        assert_eq!(
            r.error.as_deref(),
            Some(&*format!("{}{why}", msg::WRITE_REFUSED))
        );
        let (r, _) = run_refused(&format!("cmd={cmd}&mime=xml"));
        assert!(
            r.body.contains("type=\"ERROR\"") && r.body.contains("Change refused: "),
            "{cmd}: {}",
            r.body
        );
        let (r, _) = run_refused(&format!("cmd={cmd}"));
        assert!(
            r.body
                .contains("Result: ERROR - Change refused: a change sent by a browser"),
            "{cmd}: {}",
            r.body
        );
    }
    // Reading is never refused.
    for cmd in ["list", "show&w=loadbalancer", "version", "dump"] {
        let (r, _) = run_refused(&format!("cmd={cmd}&mime=txt"));
        assert!(r.error.is_none(), "{cmd}: {}", r.body);
    }
    // mod_jk's own refusals come first: read-only, unknown command, unknown mime.
    let c = StatusConfig {
        read_only: true,
        ..cfg()
    };
    let r = handle_query(&c, "cmd=update&mime=txt", None, &errored(), &mut refusing());
    assert!(r.body.contains("read only mode"), "{}", r.body);
    // Allowed: the change is made.
    let (r, rec) = run(
        &cfg(),
        &errored(),
        "cmd=update&w=loadbalancer&sw=tomcat1&vwa=S&mime=txt",
    );
    assert!(r.body.contains("type=OK"), "{}", r.body);
    assert_eq!(rec.calls.len(), 1);
}

#[test]
fn html_answers_forbid_framing() {
    for q in [
        "",
        "cmd=show&w=loadbalancer",
        "cmd=bogus&mime=html",
        "cmd=show&w=nope",
    ] {
        let (r, _) = run(&cfg(), &errored(), q);
        assert_eq!(r.content_type, "text/html", "{q}");
        let h = |k: &str| {
            r.headers
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(h("X-Frame-Options").as_deref(), Some("DENY"), "{q}");
        let csp = h("Content-Security-Policy").unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'"), "{q}: {csp}");
        assert!(csp.contains("form-action 'self'"), "{q}: {csp}");
        // The page's inline style must stay allowed.
        assert!(
            !csp.contains("style-src") && !csp.contains("default-src"),
            "{csp}"
        );
        // The only script is the live charts' (list page), allowed by its hash; any other
        // inline script would be blocked.
        let scripts: Vec<&str> = r.body.split("<script").skip(1).collect();
        assert_eq!(scripts.len(), usize::from(q.is_empty()), "{q}");
        for s in scripts {
            let body = &s[s.find('>').unwrap() + 1..s.find("</script>").unwrap()];
            assert_eq!(body, LIVE_SCRIPT, "{q}");
        }
        assert!(
            csp.contains(&format!("script-src '{LIVE_SCRIPT_HASH}'")),
            "{csp}"
        );
        assert!(csp.contains("connect-src 'self'"), "{csp}");
    }
    let (r, _) = run(&cfg(), &errored(), "mime=txt");
    assert!(!r.headers.iter().any(|(k, _)| k == "X-Frame-Options"));
}

#[test]
fn html_controls_that_change_something_post_the_token() {
    let c = with_token();
    let token_field =
        "<input type=\"hidden\" name=\"token\" value=\"0123456789abcdef0123456789abcdef\"/>";
    for q in ["", "cmd=show&w=loadbalancer", "opt=4"] {
        let (r, _) = run(&c, &errored(), q);
        let b = &r.body;
        // No GET link or form for a changing command is left.
        for cmd in ["update", "reset", "recover", "edit"] {
            assert!(
                !b.contains(&format!("cmd={cmd}")),
                "{q}: a link to cmd={cmd}"
            );
        }
        for form in b.split("<form").skip(1) {
            let form = form.split("</form>").next().unwrap();
            let changing = ["update", "reset", "recover", "edit"]
                .iter()
                .any(|c| form.contains(&format!("name=\"cmd\" value=\"{c}\"")));
            if changing {
                assert!(form.contains("method=\"post\""), "{q}: {form}");
                assert!(form.contains(token_field), "{q}: {form}");
            } else {
                assert!(form.contains("method=\"get\""), "{q}: {form}");
                assert!(
                    !form.contains("token"),
                    "{q}: a read-only form carries the token"
                );
            }
        }
        // Overview buttons (3 per member: 6), E and R of the lb (2) and of each member (4), T
        // of tomcat2 (1), the lb's edit-attribute form (1); the list adds E and R of the two
        // ajp workers (4).
        let posts = b.matches("method=\"post\"").count();
        let expected = if q.starts_with("cmd=show") { 14 } else { 18 };
        assert_eq!(posts, expected, "{q}");
    }
    let (r, _) = run(&c, &errored(), "opt=4");
    assert!(
        r.body.contains(
            "name=\"sw\" value=\"tomcat1\"/><input type=\"hidden\" name=\"opt\" value=\"4\"/>"
        ),
        "E/R keep opt"
    );
    // The edit pages' forms post the update with the token.
    for q in [
        "cmd=edit&w=loadbalancer&sw=tomcat1",
        "cmd=edit&w=loadbalancer&att=vwa",
        "cmd=edit&w=loadbalancer",
        "cmd=edit&w=tomcat1",
    ] {
        let (r, _) = run(&c, &errored(), q);
        assert!(r.body.contains("<form method=\"post\""), "{q}: {}", r.body);
        assert!(r.body.contains(token_field), "{q}");
        assert!(!r.body.contains("method=\"get\""), "{q}");
    }
    // A read-only page has no token anywhere.
    let (r, _) = run(&c, &errored(), "opt=32");
    assert!(!r.body.contains("token"), "{}", r.body);
    let ro = StatusConfig {
        read_only: true,
        ..with_token()
    };
    let (r, _) = run(&ro, &errored(), "");
    assert!(!r.body.contains("token") && !r.body.contains("method=\"post\""));
}

#[test]
fn json_shows_the_write_token_to_whoever_may_read_the_page() {
    let mut c = with_token();
    let (r, _) = run(&c, &fresh(), "mime=json");
    let v = json::parse(&r.body).unwrap();
    assert_eq!(
        v.get("write_token"),
        Some(&json::J::S("0123456789abcdef0123456789abcdef".into()))
    );
    assert_eq!(v.get("write_requires_token"), Some(&json::J::B(false)));
    assert!(c.set("write_requires_token", "true"));
    let (r, _) = run(&c, &fresh(), "mime=json&cmd=version");
    let v = json::parse(&r.body).unwrap();
    assert_eq!(v.get("write_requires_token"), Some(&json::J::B(true)));
    // Not in the other formats, not for a read-only worker, not to a user the list refuses.
    for m in ["xml", "txt", "prop", "prometheus"] {
        let (r, _) = run(&c, &fresh(), &format!("mime={m}"));
        assert!(!r.body.contains("0123456789abcdef"), "{m}");
    }
    c.read_only = true;
    let (r, _) = run(&c, &fresh(), "mime=json");
    assert!(!r.body.contains("write_token"), "{}", r.body);
    let mut c = with_token();
    c.set("user", "admin");
    let q = parse_query("mime=json").unwrap();
    let r = handle(&c, &q, Some("eve"), &fresh(), &mut NoApply);
    assert!(r.body.contains("Access denied.") && !r.body.contains("write_token"));
    // Without a token (a glue that has none) nothing is shown.
    let (r, _) = run(&cfg(), &fresh(), "mime=json");
    assert!(!r.body.contains("write_token"));
}
