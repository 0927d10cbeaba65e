#![allow(clippy::unwrap_used)]
//! The status page in a real browser: headless Chromium (Debian package `chromium`, which CI
//! installs; the test fails, it does not skip, without it) opens `/jkmanager/` of our httpd
//! with the seed configuration, the overview table must be rendered, then the "Disabled"
//! button of tomcat1 is clicked with a real mouse click (DevTools protocol
//! `Input.dispatchMouseEvent`, over a tiny std-only WebSocket client), after which
//! `?mime=json` must show tomcat1 as DIS and the page (after its redirect back) is saved as
//! target/status-page.png.
//!
//! A page served from another origin (a tiny HTTP server of the test on another port) tries
//! to change members through an `<img>`, a `fetch` and a form POST: nothing changes, and our
//! own page's button still works after it.

mod support;

#[path = "fixtures/status/seed_config.rs"]
mod seed_config;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use seed_config::{ajp_servers, start_seed};
use support::browser::*;
use support::*;

/// tomcat1's activation as our `mime=json` reports it (first member named tomcat1: the
/// balancers come before the ajp workers).
fn json_activation(h: &Httpd, member: &str) -> String {
    let j = h.get("/jkmanager/?mime=json").text();
    let at = j
        .find(&format!("\"name\":\"{member}\""))
        .unwrap_or_else(|| panic!("{member} not in {j}"));
    json_field_str(&j[at..], "activation").unwrap_or_else(|| panic!("no activation in {j}"))
}

/// Finds the submit control (or link) that sets `member` Disabled.
const FIND_DISABLE: &str = r#"(() => {
  const want = (cmd, sw, vwa) => cmd === 'update' && sw === 'tomcat1' && /^(d|1)$/i.test(vwa || '');
  let el = null;
  for (const f of document.querySelectorAll('form')) {
    const g = n => { const i = f.querySelector('input[name="' + n + '"]'); return i ? i.value : null; };
    if (want(g('cmd'), g('sw'), g('vwa'))) { el = f.querySelector('input[type=submit],button'); break; }
  }
  if (!el) {
    for (const a of document.querySelectorAll('a[href]')) {
      const u = new URL(a.href);
      const q = u.searchParams;
      if (want(q.get('cmd'), q.get('sw'), q.get('vwa'))) { el = a; break; }
    }
  }
  if (!el) return JSON.stringify({found: false});
  el.scrollIntoView({block: 'center'});
  const r = el.getBoundingClientRect();
  return JSON.stringify({found: true, x: r.left + r.width / 2, y: r.top + r.height / 2,
    label: el.value || el.textContent, disabled: !!el.disabled, tag: el.tagName});
})()"#;

/// Opens our status page, clicks tomcat1's "Disabled" button with a real mouse click, and
/// checks the result page, the change, and the redirect back to the list.
fn click_disabled_on_our_page(b: &mut Browser, h: &Httpd) {
    let url = format!("http://127.0.0.1:{}/jkmanager/", h.port);
    b.cdp()
        .call("Page.navigate", &format!("{{\"url\":{}}}", json_str(&url)))
        .unwrap();
    b.wait_eval(
        "the status page",
        "document.readyState + ' ' + document.title",
        |v| v == "complete JK Status Manager",
    );
    // The overview table is rendered with both members, Active.
    let overview = b.wait_eval(
        "the overview table",
        "(() => { const t = document.querySelector('table.jk-overview'); \
         return t ? t.innerText : 'none'; })()",
        |v| v != "none",
    );
    for want in ["tomcat1", "tomcat2", "Active"] {
        assert!(overview.contains(want), "overview lacks {want}: {overview}");
    }
    assert_eq!(json_activation(h, "tomcat1"), "ACT");

    // A real click: the mouse is pressed and released at the button's centre.
    let found = b.eval(FIND_DISABLE).unwrap();
    assert!(
        found.contains("\"found\":true"),
        "no Disabled button for tomcat1 on {url}: {found}"
    );
    assert!(!found.contains("\"disabled\":true"), "{found}");
    let x = json_field_num(&found, "x").unwrap();
    let y = json_field_num(&found, "y").unwrap();
    for ty in ["mouseMoved", "mousePressed", "mouseReleased"] {
        b.cdp()
            .call(
                "Input.dispatchMouseEvent",
                &format!(
                    "{{\"type\":\"{ty}\",\"x\":{x},\"y\":{y},\"button\":\"left\",\"clickCount\":1}}"
                ),
            )
            .unwrap();
    }
    // The form's POST (with the page's token) lands on the update, whose page says OK.
    let result = b.wait_eval(
        "the update result page",
        "location.href + '\\n' + document.readyState + '\\n' + \
         (document.body ? document.body.innerText : '')",
        |v| v.contains("\ncomplete\n") && v.contains("Result: "),
    );
    assert!(result.contains("Result: OK"), "{result}");
    assert_eq!(json_activation(h, "tomcat1"), "DIS", "{}", h.error_log());
    assert_eq!(json_activation(h, "tomcat2"), "ACT");

    // The page redirects back to the list, which shows the change.
    let back = b.wait_eval(
        "the redirect back to the list",
        "(() => { if (!location.href.includes('cmd=list') || document.readyState !== 'complete') \
         return 'waiting'; const t = document.querySelector('table.jk-overview'); \
         return t ? t.innerText : 'none'; })()",
        |v| v != "waiting" && v != "none",
    );
    let row = back
        .lines()
        .find(|l| l.starts_with("tomcat1"))
        .unwrap_or_else(|| panic!("{back}"));
    assert!(
        row.contains("Disabled"),
        "tomcat1 row after the click: {row}"
    );
}

#[test]
fn clicking_disabled_in_chromium_disables_the_member() {
    let t0 = Instant::now();
    let servers = ajp_servers();
    let h = start_seed("stb", Mpm::Event, &module_so(), &servers, "");
    let mut b = Browser::launch();
    b.cdp().call("Page.enable", "{}").unwrap();
    click_disabled_on_our_page(&mut b, &h);
    let shot = b
        .cdp()
        .call("Page.captureScreenshot", "{\"format\":\"png\"}")
        .unwrap();
    let png = base64_decode(&json_field_str(&shot, "data").unwrap());
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    let path = repo().join("target/status-page.png");
    std::fs::write(&path, &png).unwrap();
    eprintln!(
        "screenshot: {} ({} bytes); {:.1}s",
        path.display(),
        png.len(),
        t0.elapsed().as_secs_f64()
    );
}

/// Another origin (same host, another port): a tiny HTTP server answering every request with
/// `page`, on a thread of the test.
fn serve_page_elsewhere(page: String) -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                match s.read(&mut byte) {
                    Ok(1) => head.push(byte[0]),
                    _ => break,
                }
            }
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{page}",
                page.len()
            );
        }
    });
    port
}

/// What a page on another origin does to an operator's browser: the status worker's update
/// URL as an image and a `fetch`, and a form POSTed into a hidden frame (it cannot know the
/// token). The title says when all three were sent.
fn attack_page(port: u16) -> String {
    let base = format!("http://127.0.0.1:{port}/jkmanager/");
    format!(
        r#"<!DOCTYPE html><html><head><title>attack</title></head><body>
<img src="{base}?cmd=update&amp;from=list&amp;w=loadbalancer&amp;sw=tomcat1&amp;vwa=S" alt="">
<iframe name="sink" width="10" height="10"></iframe>
<form id="f" method="post" target="sink" action="{base}">
<input type="hidden" name="cmd" value="update"><input type="hidden" name="from" value="list">
<input type="hidden" name="w" value="loadbalancer"><input type="hidden" name="sw" value="tomcat2">
<input type="hidden" name="vwa" value="S"></form>
<script>
document.getElementById('f').submit();
fetch('{base}?cmd=update&from=list&w=loadbalancer&sw=tomcat2&vwa=D&mime=txt',
      {{mode: 'no-cors', credentials: 'include'}})
  .then(() => {{ document.title = 'sent'; }}, e => {{ document.title = 'fetch failed: ' + e; }});
</script></body></html>"#
    )
}

#[test]
fn a_page_on_another_origin_cannot_change_a_member_but_our_page_can() {
    let servers = ajp_servers();
    let h = start_seed("stx", Mpm::Event, &module_so(), &servers, "");
    let evil = serve_page_elsewhere(attack_page(h.port));
    let mut b = Browser::launch();
    b.cdp().call("Page.enable", "{}").unwrap();
    let evil_url = format!("http://127.0.0.1:{evil}/");
    b.cdp()
        .call(
            "Page.navigate",
            &format!("{{\"url\":{}}}", json_str(&evil_url)),
        )
        .unwrap();
    b.wait_eval("the attack page's requests", "document.title", |v| {
        v == "sent" || v.starts_with("fetch failed")
    });
    // All three requests reached httpd (the access log is written after each answer).
    wait_for("the attack's three requests in the access log", 20, || {
        let log = h.access_log();
        log.matches("GET /jkmanager/?cmd=update").count() >= 2
            && log.contains("\"POST /jkmanager/ HTTP/1.1\"")
    });
    assert_eq!(json_activation(&h, "tomcat1"), "ACT", "the <img>");
    assert_eq!(
        json_activation(&h, "tomcat2"),
        "ACT",
        "the form and the fetch"
    );
    let log = h.dir.read("logs/mod_jk.log");
    let refused: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("Status worker 'jkstatus' refused a change (client 127.0.0.1)"))
        .collect();
    assert_eq!(refused.len(), 3, "{log}");
    assert!(
        refused
            .iter()
            .all(|l| l.contains("Sec-Fetch-Site: same-site")),
        "Chromium says where the requests come from: {refused:?}"
    );
    // Our own page, in the same browser, still changes the member.
    click_disabled_on_our_page(&mut b, &h);
}

/// How many of the live charts (canvases of `#jk-live`) draw a requests/s line (the blue of
/// live.js, #1f6fd0) in their upper half: a rate above zero (the line scales to its maximum),
/// not the flat line of an idle member; and how many canvases there are.
const CHARTS_WITH_TRAFFIC: &str = r#"(() => {
  const cs = Array.from(document.querySelectorAll('#jk-live canvas'));
  let drawn = 0;
  const idle = [];
  for (const c of cs) {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height / 2).data;
    let blue = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (Math.abs(d[i] - 0x1f) < 40 && Math.abs(d[i + 1] - 0x6f) < 40 && d[i + 2] > 0xa0) blue++;
    }
    if (blue > 0) drawn++;
    else idle.push((c.closest('[data-member]') || c).getAttribute('data-member'));
  }
  return JSON.stringify({canvases: cs.length, drawn: drawn, idle: idle,
    polls: +(document.getElementById('jk-live').getAttribute('data-polls') || 0)});
})()"#;

/// The overview's live charts with an lb of 64 members under traffic: every member's chart
/// shows requests, a member put in restart maintenance shows its roll step and the page says
/// a roll is in progress, a member added at runtime gets a card and loses it when removed,
/// and the page stays usable (no horizontal scrolling, every member's
/// controls still there). Saves target/status-live-64.png, and docs/status-live.png (README) when
/// UPDATE_DOCS is set.
#[test]
fn the_live_charts_draw_traffic_and_roll_steps_for_64_members() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let t0 = Instant::now();
    let a = member_server("a", "127.0.3.4:0");
    let b2 = member_server("b", "127.0.3.5:0");
    let names: Vec<String> = (0..64).map(|i| format!("m{i:02}")).collect();
    let mut workers = format!(
        "worker.list=lb,jkstatus\nworker.jkstatus.type=status\nworker.lb.type=lb\n\
         worker.lb.balance_workers={}\n",
        names.join(",")
    );
    for (i, n) in names.iter().enumerate() {
        let (host, port) = if i % 2 == 0 {
            ("127.0.3.4", a.port())
        } else {
            ("127.0.3.5", b2.port())
        };
        workers.push_str(&format!(
            "worker.{n}.host={host}\nworker.{n}.port={port}\nworker.{n}.route={n}\n"
        ));
    }
    let h = Httpd::with_workers(
        "st-live",
        Mpm::Event,
        &workers,
        "JkShmFile logs/jk-shm\nJkMount /app/* lb\nJkMount /jkmanager/* jkstatus\n",
    );
    // Traffic from 3 clients until the end of the test (at most 120 s).
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let (stop, port) = (stop.clone(), h.port);
            std::thread::spawn(move || {
                let end = Instant::now() + Duration::from_secs(120);
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) && Instant::now() < end {
                    http_request(port, "GET", "/app/x", &[]);
                    n += 1;
                }
                n
            })
        })
        .collect();

    let mut b = Browser::launch();
    b.cdp().call("Page.enable", "{}").unwrap();
    b.navigate(&format!("http://127.0.0.1:{}/jkmanager/", h.port));
    // Every member's chart draws requests after a few polls.
    let charts = b
        .try_wait_eval(CHARTS_WITH_TRAFFIC, |v| {
            v.contains("\"canvases\":64,\"drawn\":64")
        })
        .unwrap_or_else(|last| {
            // What the balancer says of the members whose chart stayed flat.
            let status = h.get("/jkmanager/?mime=prop").text();
            let said: Vec<&str> = status
                .lines()
                .filter(|l| {
                    ["state=", "activation=", "elected=", "errors=", "busy="]
                        .iter()
                        .any(|k| l.contains(&format!(".{k}")))
                })
                .filter(|l| last.contains(&format!("\"{}\"", l.split('.').nth(1).unwrap_or("?"))))
                .collect();
            panic!(
                "timed out waiting for 64 charts with traffic; last: {last}\n{}\n{}",
                said.join("\n"),
                h.error_log()
            )
        });
    eprintln!("live charts: {charts}");
    let text = b
        .eval("document.querySelector('#jk-live .jk-card[data-member=\"m07\"] .jk-card-text').textContent")
        .unwrap();
    assert!(text.contains(" req/s") && text.contains("p99 "), "{text}");
    assert!(!text.starts_with("0.0 req/s"), "{text}");

    // A roll: m07 in restart maintenance (what `jkctl restart` does first).
    let r = h.get("/jkmanager/?cmd=update&w=lb&sw=m07&vwm=R&mime=txt");
    assert!(r.text().contains("OK"), "{}", r.text());
    let roll = b.wait_eval(
        "the roll banner",
        "document.querySelector('#jk-live .jk-roll').textContent",
        |v| v.contains("lb/m07: step"),
    );
    assert!(
        roll.contains("step 2/6 draining") || roll.contains("step 3/6 command"),
        "{roll}"
    );
    let card = b
        .eval(
            "(() => { const c = document.querySelector('#jk-live .jk-card[data-member=\"m07\"]'); \
             const now = c.querySelector('.jk-step-now'); \
             return c.className + '|' + (now ? now.title : 'none'); })()",
        )
        .unwrap();
    assert!(card.starts_with("jk-card jk-card-roll|"), "{card}");
    assert!(
        card.ends_with("step 2/6: draining") || card.ends_with("step 3/6: command"),
        "{card}"
    );

    // Usable: no horizontal scrolling, every member has its row and controls in the overview.
    let layout = b
        .eval(
            "JSON.stringify({wide: document.documentElement.scrollWidth > window.innerWidth, \
             rows: document.querySelectorAll('table.jk-overview tr').length, \
             forms: document.querySelectorAll('table.jk-overview form').length, \
             status: document.querySelector('#jk-live .jk-live-status').textContent})",
        )
        .unwrap();
    assert!(layout.contains("\"wide\":false"), "{layout}");
    assert!(layout.contains("\"rows\":65"), "{layout}");
    assert!(layout.contains("\"status\":\"Live: updated"), "{layout}");
    let forms = json_field_num(&layout, "forms").unwrap();
    assert!(
        forms >= 64.0 * 3.0,
        "activation controls of every member: {layout}"
    );

    // A member added at runtime gets a card; removed, it loses it.
    let extra = member_server("extra", "127.0.3.7:0");
    let r = h.get(&format!(
        "/jkmanager/?cmd=add&w=lb&host=127.0.3.7&port={}&name=extra&mime=txt",
        extra.port()
    ));
    assert!(r.text().contains("type=OK"), "{}", r.text());
    let has_extra = "String(!!document.querySelector('#jk-live .jk-card[data-member=\"extra\"]'))";
    b.wait_eval("the added member's card", has_extra, |v| v == "true");
    let r = h.get("/jkmanager/?cmd=remove&w=lb&sw=extra&force=1&mime=txt");
    assert!(r.text().contains("type=OK"), "{}", r.text());
    b.wait_eval("the removed member's card to go", has_extra, |v| {
        v == "false"
    });

    // A few more polls, so the picture shows some history.
    b.wait_eval("8 polls", CHARTS_WITH_TRAFFIC, |v| {
        json_field_num(v, "polls").is_some_and(|n| n >= 8.0)
    });
    b.eval("document.getElementById('jk-live').scrollIntoView(), ''")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    b.screenshot(&repo().join("target/status-live-64.png"));
    if std::env::var_os("UPDATE_DOCS").is_some() {
        b.screenshot(&repo().join("docs/status-live.png"));
    }
    h.get("/jkmanager/?cmd=update&w=lb&sw=m07&vwm=0&mime=txt");
    stop.store(true, Ordering::Relaxed);
    let sent: u64 = clients.into_iter().map(|c| c.join().unwrap()).sum();
    eprintln!(
        "{sent} requests during the test; {:.1}s",
        t0.elapsed().as_secs_f64()
    );
}
