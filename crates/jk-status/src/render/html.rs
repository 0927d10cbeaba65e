//! `mime=html`: mod_jk's XHTML page (informative layout) plus an at-a-glance overview
//! per balancer with Active/Disabled/Stopped buttons.

use super::Doc;
use crate::changes::ATT_CODES;
use crate::config::StatusConfig;
use crate::handle::Target;
use crate::model::{Activation, AjpSettings, AjpView, LbView, MapView, MemberView, StatusModel};
use crate::query::{opt, Params};

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            c => o.push(c),
        }
    }
    o
}

/// Percent-encodes a query value (unreserved characters stay).
fn enc(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~*".contains(&b) {
            o.push(char::from(b));
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

/// `uri?k=v&amp;…` (HTML-escaped link).
fn link(model: &StatusModel, pairs: &[(&str, &str)]) -> String {
    let q: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    if q.is_empty() {
        esc(&model.request_uri)
    } else {
        esc(&format!("{}?{}", model.request_uri, q.join("&")))
    }
}

const FOOTER: &str = "<hr/><p align=\"center\"><small>Copyright &#169; 1999-2020, The Apache \
Software Foundation<br />Licensed under the <a href=\"http://www.apache.org/licenses/LICENSE-2.0\">\
Apache License, Version 2.0</a>.</small></p>\n</body>\n</html>\n";

const STYLE: &str = "<style type=\"text/css\">\n\
.jk-up{background:#c8e6c9;color:#1b5e20}\n\
.jk-draining{background:#ffe0b2;color:#8a4b00}\n\
.jk-down{background:#ffcdd2;color:#b71c1c}\n\
table.jk-overview td,table.jk-overview th{padding:2px 8px}\n\
form.jk-act{display:inline;margin:0}\n\
form.jk-act input.jk-link{background:none;border:none;padding:0;margin:0;color:#00e;\
text-decoration:underline;cursor:pointer;font:inherit}\n\
</style>\n";

/// The script of the live charts (mod_jk-rs; `live.js`): inline, allowed by its hash in the
/// page's `Content-Security-Policy` ([`LIVE_SCRIPT_HASH`]), no other script runs.
pub const LIVE_SCRIPT: &str = include_str!("live.js");
/// `sha256-` and the base64 SHA-256 of [`LIVE_SCRIPT`] (a test recomputes it).
pub const LIVE_SCRIPT_HASH: &str = "sha256-UWSuRJ5d3EZCm0Lj3H+ZIjMJohQy6FAQ0brMmq2aWKs=";

const LIVE_STYLE: &str = "<style type=\"text/css\">\n\
#jk-live .jk-cards{display:flex;flex-wrap:wrap;gap:6px}\n\
#jk-live .jk-card{border:1px solid #bbb;padding:3px 5px;width:244px;font-size:11px}\n\
#jk-live .jk-card-roll{border-color:#e08a00;background:#fff6e6}\n\
#jk-live .jk-card-name{font-weight:bold;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}\n\
#jk-live .jk-steps{display:flex;gap:1px;margin:2px 0}\n\
#jk-live .jk-step{flex:1;font-size:9px;color:#999;border-top:3px solid #ddd;text-align:center}\n\
#jk-live .jk-step-done{border-top-color:#7bb57b;color:#555}\n\
#jk-live .jk-step-now{border-top-color:#e08a00;color:#000;font-weight:bold}\n\
#jk-live canvas{display:block}\n\
#jk-live .jk-roll{font-weight:bold;color:#a05a00}\n\
</style>\n";

fn head(cfg: &StatusConfig, extra: &str) -> String {
    let mut o = String::from(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<!DOCTYPE html PUBLIC \
         \"-//W3C//DTD XHTML 1.0 Transitional//EN\" \
         \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n<html \
         xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\"><head>\
         <title>JK Status Manager</title>\n",
    );
    if let Some(css) = &cfg.css {
        o.push_str(&format!(
            "<link rel=\"stylesheet\" type=\"text/css\" href=\"{}\" />\n",
            esc(css)
        ));
    }
    o.push_str(STYLE);
    o.push_str(extra);
    o.push_str("</head>\n<body>\n");
    o
}

fn footer(cfg: &StatusConfig, model: &StatusModel) -> String {
    let start = format!(
        "<p><a href=\"{}\">JK Status Manager Start Page</a></p>",
        link(model, &[])
    );
    if cfg.css.is_some() {
        format!("{start}<div class=\"footer\">{FOOTER}").replace("</body>", "</div>\n</body>")
    } else {
        format!("{start}{FOOTER}")
    }
}

/// The error page.
pub(crate) fn error_page(cfg: &StatusConfig, model: &StatusModel, message: &str) -> String {
    format!(
        "{}<p><b>Result: ERROR - {}</b></p>\n{}",
        head(cfg, ""),
        esc(message),
        footer(cfg, model)
    )
}

/// The page after a successful update/reset/recover: back to `from` after 3 seconds.
pub(crate) fn redirect_page(cfg: &StatusConfig, model: &StatusModel, params: &Params) -> String {
    redirect_with(cfg, model, params, None)
}

/// As [`redirect_page`], saying what was done (add/remove of a member).
pub(crate) fn redirect_page_saying(
    cfg: &StatusConfig,
    model: &StatusModel,
    params: &Params,
    message: &str,
) -> String {
    redirect_with(cfg, model, params, Some(message))
}

fn redirect_with(
    cfg: &StatusConfig,
    model: &StatusModel,
    params: &Params,
    message: Option<&str>,
) -> String {
    let from = params.from().filter(|f| !f.is_empty()).unwrap_or("list");
    let mut pairs: Vec<(&str, &str)> = vec![("cmd", from)];
    if let Some(w) = params.w() {
        pairs.push(("w", w));
    }
    if let Some(psw) = params.psw().filter(|p| !p.is_empty()) {
        pairs.push(("sw", psw));
    }
    let o = params.opt().to_string();
    if params.opt() != 0 {
        pairs.push(("opt", &o));
    }
    let url = link(model, &pairs);
    let said = message.map_or_else(String::new, |m| format!("{}. ", esc(m)));
    format!(
        "{}<p><b>Result: OK - {said}You will be redirected in 3 seconds.</b></p>\n{}",
        head(
            cfg,
            &format!("<meta http-equiv=\"Refresh\" content=\"3;url={url}\" />\n")
        ),
        footer(cfg, model)
    )
}

/// The hidden `token` field of a form that changes something (none without a token).
fn token_field(cfg: &StatusConfig) -> String {
    if cfg.write_token.is_empty() {
        String::new()
    } else {
        hidden("token", &cfg.write_token)
    }
}

/// A small form that POSTs `pairs` and the write token to the page's URI, shown inline with
/// one submit control: a button (`class` empty) or a link-styled one (`jk-link`). Every
/// control of the page that changes something is one of these (mod_jk-rs; mod_jk uses GET
/// links, which any other web page can make a logged-in browser follow).
fn post_button(
    cfg: &StatusConfig,
    model: &StatusModel,
    pairs: &[(&str, &str)],
    label: &str,
    class: &str,
    disabled: bool,
) -> String {
    let mut o = format!(
        "<form class=\"jk-act\" method=\"post\" action=\"{}\">",
        esc(&model.request_uri)
    );
    for (k, v) in pairs {
        o.push_str(hidden(k, v).trim_end());
    }
    o.push_str(token_field(cfg).trim_end());
    o.push_str(&format!(
        "<input type=\"submit\"{} value=\"{}\"{}/></form>",
        if class.is_empty() {
            String::new()
        } else {
            format!(" class=\"{class}\"")
        },
        esc(label),
        if disabled {
            " disabled=\"disabled\""
        } else {
            ""
        }
    ));
    o
}

fn row(cells: &[String]) -> String {
    let mut o = String::from("<tr>");
    for c in cells {
        o.push_str(&format!("<td>{c}</td>"));
    }
    o.push_str("</tr>\n");
    o
}

fn header_row(cells: &[&str]) -> String {
    let mut o = String::from("<tr valign=\"bottom\">");
    for c in cells {
        o.push_str(&format!("<th>{c}</th>"));
    }
    o.push_str("</tr>\n");
    o
}

/// A byte count as mod_jk's status worker writes it (`status_strfsize`): below 973 the
/// number and a space (`202 `), else one decimal below 9.5 of a unit (`1.5K`, rounded to
/// the nearest tenth) or a whole number of units (`10K`, `973K` becomes `1.0M`).
pub fn human_size(v: u64) -> String {
    const UNITS: &[u8] = b"KMGTPE";
    if v < 973 {
        return format!("{v} ");
    }
    let mut size = v;
    let mut unit = 0;
    loop {
        let mut remain = size & 0x3ff;
        size >>= 10;
        if size >= 973 {
            unit += 1;
            continue;
        }
        let u = char::from(UNITS[unit.min(UNITS.len() - 1)]);
        let mut siz = size & 0xffff;
        if siz < 9 || (siz == 9 && remain < 973) {
            remain = (remain * 5 + 256) / 512;
            if remain >= 10 {
                siz += 1;
                remain = 0;
            }
            return format!("{siz}.{remain}{u}");
        }
        if remain >= 512 {
            siz += 1;
        }
        return format!("{siz}{u}");
    }
}

/// A count and its rate since the last reset, as mod_jk's `Acc` and `Sess` cells:
/// `5 (1/sec)`, and `-1/sec` in the first second after a reset.
fn rate(v: u64, secs: i64) -> String {
    let per = if secs > 0 {
        (v / secs.unsigned_abs()).to_string()
    } else {
        "-1".into()
    };
    format!("{v} ({per}/sec)")
}

/// A byte count and its rate since the last reset, as mod_jk's `Wr` and `Rd` cells:
/// `202  (202 /sec)`, `-` for the rate in the first second after a reset.
fn bytes_rate(v: u64, secs: i64) -> String {
    let per = if secs > 0 {
        human_size(v / secs.unsigned_abs())
    } else {
        "-".into()
    };
    format!("{} ({per}/sec)", human_size(v))
}

/// `up`, `draining` or `down` of one member.
pub fn member_health(m: &MemberView) -> &'static str {
    if m.activation == Activation::Stopped || m.state.is_error() {
        "down"
    } else if m.activation == Activation::Disabled || m.draining == Some(true) {
        "draining"
    } else {
        "up"
    }
}

struct Page<'a> {
    cfg: &'a StatusConfig,
    model: &'a StatusModel,
    params: &'a Params,
    read_only: bool,
    out: String,
}

impl Page<'_> {
    fn opt(&self) -> u32 {
        self.params.opt()
    }

    /// A link keeping the current `opt`.
    fn l(&self, pairs: &[(&str, &str)]) -> String {
        let o = self.opt().to_string();
        let mut p = pairs.to_vec();
        if self.opt() != 0 && !pairs.iter().any(|(k, _)| *k == "opt") {
            p.push(("opt", &o));
        }
        link(self.model, &p)
    }

    fn hide(&self, bit: u32) -> String {
        let v = (self.opt() | bit).to_string();
        format!(
            "[<a href=\"{}\">Hide</a>]",
            link(self.model, &[("opt", &v)])
        )
    }

    fn top(&mut self) {
        let m = self.model;
        self.out.push_str(&format!(
            "<h1>JK Status Manager for {}:{}{}</h1>\n",
            esc(&m.server_name),
            m.server_port,
            if self.read_only { " (read only)" } else { "" }
        ));
        let t = &m.time.datetime;
        let when = if t.len() == 14 && t.is_ascii() {
            format!(
                "{}-{}-{} {}:{}:{} {}",
                &t[0..4],
                &t[4..6],
                &t[6..8],
                &t[8..10],
                &t[10..12],
                &t[12..14],
                m.time.tz
            )
        } else {
            t.clone()
        };
        self.out.push_str(&format!(
            "<table>\n<tr><td>Server Version:</td><td>{}</td><td>&nbsp;&nbsp;&nbsp;</td>\
             <td>Server Time:</td><td>{}</td></tr>\n<tr><td>JK Version:</td><td>{}</td><td></td>\
             <td>Unix Seconds:</td><td>{}</td></tr></table>\n<hr/>\n",
            esc(&m.web_server),
            esc(&when),
            esc(&m.jk_version),
            m.time.unix
        ));
    }

    fn toolbar(&mut self) {
        let uri = esc(&self.model.request_uri);
        let refresh = if self.params.refresh() > 0 {
            format!(
                "[<a href=\"{}\">Stop auto refresh</a>]",
                self.l(&[("cmd", "list")])
            )
        } else {
            format!(
                "<form method=\"get\" action=\"{uri}\">\n<input type=\"submit\" \
                 value=\"Start auto refresh\"/>\n(every <input name=\"re\" type=\"text\" \
                 size=\"3\" value=\"10\"/> seconds)</form>"
            )
        };
        self.out.push_str(&format!(
            "<table><tbody valign=\"baseline\">\n<tr>\n<td>\n{refresh}\n</td>\
             <td>&nbsp;&nbsp;|&nbsp;&nbsp;</td>\n<td>\n<form method=\"get\" action=\"{uri}\">\n\
             <input type=\"submit\" value=\"Change format\"/>\n<select name=\"mime\" size=\"1\">\
             <option value=\"xml\">XML</option><option value=\"prop\">Properties</option>\
             <option value=\"txt\">Text</option><option value=\"json\">JSON</option>\
             <option value=\"prometheus\">Prometheus</option></select></form>\n</td>\n\
             </tr></tbody></table>\n"
        ));
        self.out
            .push_str("<table><tbody valign=\"baseline\">\n<tr>\n<td>\n");
        if !self.cfg.read_only {
            if self.read_only {
                let v = (self.opt() & !opt::READ_ONLY).to_string();
                self.out.push_str(&format!(
                    "[<a href=\"{}\">Read/Write</a>]&nbsp;&nbsp;\n",
                    link(self.model, &[("opt", &v)])
                ));
            } else {
                let v = (self.opt() | opt::READ_ONLY).to_string();
                self.out.push_str(&format!(
                    "[<a href=\"{}\">Read Only</a>]&nbsp;&nbsp;\n",
                    link(self.model, &[("opt", &v)])
                ));
            }
        }
        self.out.push_str(&format!(
            "</td>\n<td>\n[<a href=\"{}\">Dump</a>]&nbsp;&nbsp;\n</td>\n<td>\n[<b>S</b>=Show only \
             this worker, <b>E</b>=Edit worker, <b>R</b>=Reset worker state, <b>T</b>=Try \
             worker recovery]<br/>\n</td>\n</tr></tbody></table>\n<hr/>\n",
            self.l(&[("cmd", "dump")])
        ));
    }

    fn act_button(&self, lb: &str, m: &MemberView, a: Activation) -> String {
        let code = a.letter();
        post_button(
            self.cfg,
            self.model,
            &[
                ("cmd", "update"),
                ("from", "list"),
                ("w", lb),
                ("sw", &m.name),
                ("vwa", code),
            ],
            a.name(),
            "",
            m.activation == a,
        )
    }

    /// OUR overview: one table per balancer, members coloured up/draining/down.
    /// The live charts under the overview (mod_jk-rs): filled by [`LIVE_SCRIPT`] from this
    /// status worker's JSON (`cmd=list&mime=json`, so the same user check applies; without
    /// maps and ajp workers, and read-only: the charts need the members only).
    fn live(&mut self) {
        let src = format!(
            "{}?cmd=list&mime=json&opt={}",
            self.model.request_uri,
            opt::NO_MAPS | opt::NO_AJP | opt::READ_ONLY
        );
        self.out.push_str(&format!(
            "{LIVE_STYLE}<div id=\"jk-live\" data-src=\"{}\"></div>\n\
             <script type=\"text/javascript\">{LIVE_SCRIPT}</script>\n",
            esc(&src)
        ));
    }

    fn overview(&mut self, lbs: &[&LbView]) {
        if lbs.is_empty() {
            return;
        }
        self.out.push_str("<h2>Overview</h2>\n");
        for lb in lbs {
            self.out.push_str(&format!(
                "<h3>Balancer {}</h3>\n<table class=\"jk-overview\" border=\"1\">\n",
                esc(&lb.name)
            ));
            let mut hdr = vec![
                "Member",
                "Health",
                "Activation",
                "State",
                "In flight",
                "Errors",
                "Sessions",
                "Last error",
            ];
            let membership = lb.member_slots.is_some()
                || lb
                    .members
                    .iter()
                    .any(|m| m.origin.is_some() || m.lifecycle.is_some());
            if membership {
                hdr.extend(["Origin", "Lifecycle"]);
            }
            if !self.read_only {
                hdr.push("Set activation");
            }
            let removable = !self.read_only && lb.members.iter().any(|m| !m.is_configured());
            if removable {
                hdr.push("Remove");
            }
            self.out.push_str(&header_row(&hdr));
            for m in &lb.members {
                let health = member_health(m);
                let mut cells = vec![
                    esc(&m.name),
                    format!("<span class=\"jk-{health}\">{health}</span>"),
                    m.activation.name().to_string(),
                    format!("<span class=\"jk-{health}\">{}</span>", m.state.text()),
                    m.in_flight.unwrap_or(m.busy).to_string(),
                    m.errors.to_string(),
                    m.sessions.to_string(),
                    match (&m.last_error, &m.error_time) {
                        (Some(e), _) => esc(e),
                        (None, Some(t)) => {
                            esc(&format!("{} {} ({}s ago)", t.datetime, t.tz, t.ago))
                        }
                        _ => "&nbsp;".into(),
                    },
                ];
                if membership {
                    cells.push(esc(m.origin.as_deref().unwrap_or("config")));
                    cells.push(m.lifecycle.as_deref().map_or("&nbsp;".into(), esc));
                }
                if !self.read_only {
                    cells.push(
                        Activation::ALL
                            .iter()
                            .map(|a| self.act_button(&lb.name, m, *a))
                            .collect::<Vec<_>>()
                            .join(" "),
                    );
                }
                if removable {
                    cells.push(if m.is_configured() {
                        "&nbsp;".into()
                    } else {
                        self.remove_form(&lb.name, &m.name)
                    });
                }
                self.out.push_str(&row(&cells));
            }
            self.out.push_str("</table>\n");
            if let Some(r) = &lb.registry {
                self.out.push_str(&format!(
                    "<p>Registry {}: <span class=\"jk-{}\">{}</span>, session {}, {} members \
                     listed, last event {} ms ago, lag {} ms{}{}{}</p>\n",
                    esc(&r.source),
                    if r.state == "connected" { "ok" } else { "bad" },
                    esc(&r.state),
                    if r.session_id.is_empty() {
                        "-".to_string()
                    } else {
                        esc(&r.session_id)
                    },
                    r.members,
                    r.last_event_ago_ms,
                    r.lag_ms,
                    if r.world_writable {
                        "; <b>the path may be written by anyone</b>"
                    } else {
                        ""
                    },
                    if r.shrink_held {
                        "; a shrink is held back (discover_hold)"
                    } else {
                        ""
                    },
                    if r.bad_records {
                        "; records refused (see the log)"
                    } else {
                        ""
                    },
                ));
            }
            if let (Some(slots), Some(free)) = (lb.member_slots, lb.members_free()) {
                self.out.push_str(&format!(
                    "<p>Members used/free: {}/{free} ({slots} slots)</p>\n",
                    lb.members.len()
                ));
                if !self.read_only {
                    self.add_form(&lb.name, free);
                }
            }
        }
        self.out.push_str("<hr/>\n");
    }

    /// The Remove button of a runtime member (mod_jk-rs), with a force checkbox.
    fn remove_form(&self, lb: &str, member: &str) -> String {
        let mut o = format!(
            "<form class=\"jk-act\" method=\"post\" action=\"{}\">",
            esc(&self.model.request_uri)
        );
        for (k, v) in [
            ("cmd", "remove"),
            ("from", "list"),
            ("w", lb),
            ("sw", member),
        ] {
            o.push_str(hidden(k, v).trim_end());
        }
        o.push_str(token_field(self.cfg).trim_end());
        o.push_str(
            "<label><input type=\"checkbox\" name=\"force\" value=\"1\"/>force</label> \
             <input type=\"submit\" value=\"Remove\"/></form>",
        );
        o
    }

    /// The Add member form of a balancer with member slots (mod_jk-rs).
    fn add_form(&mut self, lb: &str, free: u64) {
        let mut o = format!(
            "<form method=\"post\" action=\"{}\">\n",
            esc(&self.model.request_uri)
        );
        for (k, v) in [("cmd", "add"), ("from", "list"), ("w", lb)] {
            o.push_str(&hidden(k, v));
        }
        o.push_str(&token_field(self.cfg));
        o.push_str(&format!(
            "<table>\n<tr><td><b>Add member</b> to {}:</td>\
             <td>Host <input name=\"host\" type=\"text\" size=\"20\" maxlength=\"60\"/></td>\
             <td>Port <input name=\"port\" type=\"text\" size=\"5\" value=\"8009\"/></td>\
             <td>Name <input name=\"name\" type=\"text\" size=\"12\" maxlength=\"60\"/></td>\
             <td>Route <input name=\"route\" type=\"text\" size=\"12\" maxlength=\"60\"/></td>\
             <td>Template <input name=\"template\" type=\"text\" size=\"12\" maxlength=\"60\"/></td>\
             <td><input type=\"submit\" value=\"Add member\"{}/></td></tr>\n</table>\n</form>\n",
            esc(lb),
            if free == 0 {
                " disabled=\"disabled\""
            } else {
                ""
            }
        ));
        self.out.push_str(&o);
    }

    fn worker_links(&self, w: &str, sw: Option<&str>, recover: bool) -> String {
        let mut base: Vec<(&str, &str)> = vec![("w", w)];
        if let Some(s) = sw {
            base.push(("sw", s));
        }
        let show: Vec<(&str, &str)> = [("cmd", "show")].into_iter().chain(base.clone()).collect();
        let mut o = format!("[<a href=\"{}\">S</a>", self.l(&show));
        if !self.read_only {
            // Edit, reset and recover are changing commands: POST forms with the token.
            let o_val = self.opt().to_string();
            let button = |cmd: &str, label: &str| {
                let mut p: Vec<(&str, &str)> = vec![("cmd", cmd), ("from", self.params.cmd())];
                p.extend(base.iter().copied());
                if self.opt() != 0 {
                    p.push(("opt", &o_val));
                }
                post_button(self.cfg, self.model, &p, label, "jk-link", false)
            };
            o.push('|');
            o.push_str(&button("edit", "E"));
            o.push('|');
            o.push_str(&button("reset", "R"));
            if recover {
                o.push('|');
                o.push_str(&button("recover", "T"));
            }
        }
        o.push(']');
        o
    }

    fn settings_table(&mut self, rows: &[(String, &AjpSettings)], named: bool) {
        if self.opt() & opt::NO_AJP_CONF != 0 {
            return;
        }
        let mut hdr = vec![];
        if named {
            hdr.push("Name");
        }
        hdr.extend([
            "Type",
            "Hostname",
            "Address:Port",
            "Source",
            "Connection<br/>Pool Timeout",
            "Connect<br/>Timeout",
            "Prepost<br/>Timeout",
            "Reply<br/>Timeout",
            "Retries",
            "Recovery<br/>Options",
            "Busy<br/>Limit",
            "Max Packet<br/>Size",
        ]);
        let h = self.hide(opt::NO_AJP_CONF);
        self.out.push_str("<table>");
        self.out
            .push_str(&header_row(&hdr).replace("</tr>", &format!("<th>\n{h}</th></tr>")));
        for (name, a) in rows {
            let mut c = vec![];
            if named {
                c.push(esc(name));
            }
            c.extend([
                esc(&a.worker_type),
                esc(&a.host),
                esc(&a.address),
                esc(&a.source),
                a.connection_pool_timeout.to_string(),
                a.connect_timeout.to_string(),
                a.prepost_timeout.to_string(),
                a.reply_timeout.to_string(),
                a.retries.to_string(),
                a.recovery_options.to_string(),
                a.busy_limit.to_string(),
                a.max_packet_size.to_string(),
                String::new(),
            ]);
            self.out.push_str(&row(&c));
        }
        self.out.push_str("</table>\n<br/>\n");
    }

    fn maps(&mut self, worker: &str, maps: &[MapView]) {
        if self.opt() & opt::NO_MAPS != 0 {
            return;
        }
        if maps.is_empty() {
            self.out.push_str(&format!(
                "<h3>Warning: No URI Mappings defined for {} !</h3>\n",
                esc(worker)
            ));
            return;
        }
        self.out.push_str(&format!(
            "<h3>URI Mappings for {} ({} maps) {}</h3><table>\n",
            esc(worker),
            maps.len(),
            self.hide(opt::NO_MAPS)
        ));
        self.out.push_str(&header_row(&[
            "Server",
            "URI",
            "Match<br/>Type",
            "Source",
            "Reply<br/>Timeout",
            "Sticky<br/>Ignore",
            "Stateless",
            "Fail on<br/>Status",
            "Active",
            "Disabled",
            "Stopped",
            "Use Server<br/>Errors",
        ]));
        let dash = |s: &str| {
            if s.is_empty() {
                "-".to_string()
            } else {
                esc(s)
            }
        };
        for m in maps {
            self.out.push_str(&row(&[
                esc(&m.server),
                esc(&m.uri),
                esc(&m.map_type),
                esc(&m.source),
                m.reply_timeout.to_string(),
                m.sticky_ignore.to_string(),
                m.stateless.to_string(),
                dash(&m.fail_on_status),
                dash(&m.active),
                dash(&m.disabled),
                dash(&m.stopped),
                m.use_server_errors.to_string(),
            ]));
        }
        self.out.push_str("</table>\n<hr/>\n");
    }

    fn lb(&mut self, lb: &LbView, members: &[&MemberView], maps: &[MapView]) {
        let links = self.worker_links(&lb.name, None, false);
        self.out.push_str(&format!(
            "<h3>{links}&nbsp;&nbsp;Worker Status for {}</h3>\n",
            esc(&lb.name)
        ));
        if self.opt() & opt::NO_LB_CONF == 0 {
            self.out.push_str("<table>");
            self.out.push_str(
                &header_row(&[
                    "Type",
                    "Sticky<br/>Sessions",
                    "Force Sticky<br/>Sessions",
                    "Retries",
                    "LB<br/>Method",
                    "Locking",
                    "Recover<br/>Wait Time",
                    "Error<br/>Escalation Time",
                    "Max Reply<br/>Timeouts",
                ])
                .replace(
                    "</tr>",
                    &format!("<th>\n{}</th></tr>", self.hide(opt::NO_LB_CONF)),
                ),
            );
            let b = |v: bool| if v { "True" } else { "False" }.to_string();
            self.out.push_str(&row(&[
                "lb".into(),
                b(lb.sticky_session),
                b(lb.sticky_session_force),
                lb.retries.to_string(),
                lb.method.text().into(),
                lb.lock.text().into(),
                lb.recover_time.to_string(),
                lb.error_escalation_time.to_string(),
                lb.max_reply_timeouts.to_string(),
                String::new(),
            ]));
            self.out.push_str("</table>\n<br/>\n");
        }
        if self.opt() & opt::NO_LB_SUMMARY == 0 {
            let (g, d, b) = self.cfg.rate_all(&lb.members);
            self.out.push_str("<table>\n");
            self.out.push_str(
                &header_row(&[
                    "Good",
                    "Degraded",
                    "Bad/Stopped",
                    "Busy",
                    "Max Busy",
                    "Next Maintenance",
                    "Last Reset",
                ])
                .replace(
                    "</tr>",
                    &format!("<th>{}</th></tr>", self.hide(opt::NO_LB_SUMMARY)),
                ),
            );
            self.out.push_str(&row(&[
                g.to_string(),
                d.to_string(),
                b.to_string(),
                lb.busy.to_string(),
                lb.max_busy.to_string(),
                format!(
                    "{}/{}",
                    lb.time_to_maintenance_min, lb.time_to_maintenance_max
                ),
                lb.last_reset_ago.to_string(),
                String::new(),
            ]));
            self.out.push_str("</table>\n<br/>\n");
        }
        if !members.is_empty() {
            let hide = self.hide(opt::NO_MEMBERS);
            self.out
                .push_str(&format!("<h4>Balancer Members {hide}</h4>\n"));
            let rows: Vec<(String, &AjpSettings)> = members
                .iter()
                .map(|m| (m.name.clone(), &m.settings))
                .collect();
            self.settings_table(&rows, true);
            self.out.push_str("<table>");
            self.out.push_str(&header_row(&[
                "&nbsp;", "Name", "Act", "State", "D", "F", "M", "V", "Acc", "Sess", "Err", "CE",
                "RE", "Wr", "Rd", "Busy", "MaxBusy", "Con", "MaxCon", "Route", "RR", "Cd", "Rs",
                "LR", "LE",
            ]));
            for m in members {
                let links = self.worker_links(
                    &lb.name,
                    Some(&m.name),
                    m.state == crate::model::MemberState::Error,
                );
                let health = member_health(m);
                let nb = |s: &str| {
                    if s.is_empty() {
                        "&nbsp;".to_string()
                    } else {
                        esc(s)
                    }
                };
                self.out.push_str(&row(&[
                    format!("{links}&nbsp;"),
                    esc(&m.name),
                    m.activation.text().into(),
                    format!("<span class=\"jk-{health}\">{}</span>", m.state.text()),
                    m.distance.to_string(),
                    m.lbfactor.to_string(),
                    m.lbmult.to_string(),
                    m.lbvalue.to_string(),
                    rate(m.elected, m.last_reset_ago),
                    rate(m.sessions, m.last_reset_ago),
                    m.errors.to_string(),
                    m.client_errors.to_string(),
                    m.reply_timeouts.to_string(),
                    bytes_rate(m.transferred, m.last_reset_ago),
                    bytes_rate(m.read, m.last_reset_ago),
                    m.busy.to_string(),
                    m.max_busy.to_string(),
                    m.connected.to_string(),
                    m.max_connected.to_string(),
                    nb(&m.route),
                    nb(&m.redirect),
                    nb(&m.domain),
                    format!("{}/{}", m.time_to_recover_min, m.time_to_recover_max),
                    m.last_reset_ago.to_string(),
                    m.error_time.as_ref().map_or("&nbsp;".into(), |e| {
                        esc(&format!("{} {}", e.datetime, e.tz))
                    }),
                ]));
            }
            self.out.push_str("</table>\n<br/>\n");
            if !self.read_only {
                self.att_form(&lb.name);
            }
        }
        self.out.push_str("<hr/>\n");
        self.maps(&lb.name, maps);
    }

    fn att_form(&mut self, lb: &str) {
        let mut o = format!(
            "<form method=\"post\" action=\"{}\">\n<input type=\"hidden\" name=\"cmd\" \
             value=\"edit\"/>\n<input type=\"hidden\" name=\"w\" value=\"{}\"/>\n{}<table>\n\
             <tr><td><b>E</b>dit this attribute for all members:</td><td><select name=\"att\" \
             size=\"1\">\n",
            esc(&self.model.request_uri),
            esc(lb),
            token_field(self.cfg)
        );
        for code in ATT_CODES {
            o.push_str(&format!(
                "<option value=\"{code}\">{}</option>\n",
                att_label(code)
            ));
        }
        o.push_str(
            "</select></td><td><input type=\"submit\" value=\"Go\"/></td></tr></table>\n</form>\n",
        );
        self.out.push_str(&o);
    }

    fn ajp(&mut self, w: &AjpView, maps: &[MapView]) {
        let links = self.worker_links(&w.name, None, false);
        self.out.push_str(&format!(
            "<h3>{links}&nbsp;&nbsp;Worker Status for {}</h3>\n",
            esc(&w.name)
        ));
        self.settings_table(&[(w.name.clone(), &w.settings)], false);
        self.out.push_str("<table>");
        self.out.push_str(&header_row(&[
            "State", "Acc", "Err", "CE", "RE", "Wr", "Rd", "Busy", "MaxBusy", "Con", "MaxCon",
            "LR", "LE",
        ]));
        self.out.push_str(&row(&[
            w.state.text().into(),
            rate(w.used, w.last_reset_ago),
            w.errors.to_string(),
            w.client_errors.to_string(),
            w.reply_timeouts.to_string(),
            bytes_rate(w.transferred, w.last_reset_ago),
            bytes_rate(w.read, w.last_reset_ago),
            w.busy.to_string(),
            w.max_busy.to_string(),
            w.connected.to_string(),
            w.max_connected.to_string(),
            w.last_reset_ago.to_string(),
            w.error_time.as_ref().map_or("&nbsp;".into(), |e| {
                esc(&format!("{} {}", e.datetime, e.tz))
            }),
        ]));
        self.out.push_str("</table>\n<hr/>\n");
        self.maps(&w.name, maps);
    }

    fn legend(&mut self) {
        if self.opt() & opt::NO_LEGEND != 0 {
            return;
        }
        let entries = [
            ("Name", "Worker name"),
            ("Type", "Worker type"),
            ("Act", "Worker activation configuration<br/>ACT=Active, DIS=Disabled, STP=Stopped"),
            ("State", "Worker error status<br/>OK=OK, ERR=Error with substates<br/>IDLE=No requests handled, BUSY=All connections busy,<br/>REC=Recovering, PRB=Probing, FRC=Forced Recovery"),
            ("D", "Worker distance"),
            ("F", "Load Balancer factor"),
            ("M", "Load Balancer multiplicity"),
            ("V", "Load Balancer value"),
            ("Acc", "Number of requests"),
            ("Sess", "Number of sessions created"),
            ("Err", "Number of failed requests"),
            ("CE", "Number of client errors"),
            ("RE", "Number of reply timeouts (decayed)"),
            ("Wr", "Number of bytes transferred"),
            ("Rd", "Number of bytes read"),
            ("Busy", "Current number of busy connections"),
            ("MaxBusy", "Maximum number of busy connections"),
            ("Con", "Current number of backend connections"),
            ("MaxCon", "Maximum number of backend connections"),
            ("Route", "Worker route"),
            ("RR", "Worker route to redirect to"),
            ("Cd", "Worker cluster domain"),
            ("Rs", "Recovery scheduled in app. min/max seconds"),
            ("LR", "Seconds since last reset of statistics counters"),
            ("LE", "Timestamp of the last error"),
        ];
        self.out.push_str(&format!(
            "<h2>Legend {}</h2>\n<table>\n<tbody valign=\"baseline\">\n",
            self.hide(opt::NO_LEGEND)
        ));
        for (k, v) in entries {
            self.out
                .push_str(&format!("<tr><th>{k}</th><td>{v}</td></tr>\n"));
        }
        self.out.push_str("</tbody>\n</table>\n");
    }
}

fn att_label(code: &str) -> &'static str {
    match code {
        "vwa" => "Activation",
        "vwf" => "LB Factor",
        "vwn" => "Route",
        "vwr" => "Redirect Route",
        "vwc" => "Cluster Domain",
        "vwd" => "Distance",
        "vacpt" => "Connection Pool Timeout",
        "vapng" => "Ping Timeout",
        "vact" => "Connect Timeout",
        "vapt" => "Prepost Timeout",
        "vart" => "Reply Timeout",
        "var" => "Retries",
        "vari" => "Retry Interval",
        "vacpi" => "Connection Ping Interval",
        "varo" => "Recovery Options",
        "vabl" => "Busy Limit",
        "vamps" => "Max Packet Size",
        _ => "",
    }
}

/// list/show/version/dump.
pub(crate) fn page(
    cfg: &StatusConfig,
    model: &StatusModel,
    params: &Params,
    doc: &Doc<'_>,
    read_only: bool,
) -> String {
    let refresh = params.refresh();
    let extra = if refresh > 0 && matches!(params.cmd(), "list" | "show") {
        let url = format!("{}?{}", model.request_uri, params.masked_query());
        format!(
            "<meta http-equiv=\"Refresh\" content=\"{refresh};url={}\" />\n",
            esc(&url)
        )
    } else {
        String::new()
    };
    let mut p = Page {
        cfg,
        model,
        params,
        read_only,
        out: head(cfg, &extra),
    };
    p.top();
    let is_list = params.cmd() == "list";
    if is_list {
        p.toolbar();
    } else {
        p.out.push_str(&format!(
            "<p>[<a href=\"{}\">Back to worker list</a>]</p>\n<hr/>\n",
            p.l(&[("cmd", "list")])
        ));
    }
    if let Some(lbs) = &doc.lbs {
        let views: Vec<&LbView> = lbs.iter().map(|x| x.lb).collect();
        p.overview(&views);
        if is_list && !views.is_empty() {
            p.live();
        }
        if doc.wrapped {
            let n = lbs.len();
            let h = p.hide(opt::NO_LB);
            p.out.push_str(&format!(
                "<h2>Listing Load Balancing Worker{} ({n} Worker{}) {h}</h2>\n<hr/>\n",
                if n == 1 { "" } else { "s" },
                if n == 1 { "" } else { "s" }
            ));
        }
        for part in lbs {
            p.lb(part.lb, &part.members, part.maps);
        }
    }
    if let Some(ajps) = &doc.ajps {
        if doc.wrapped {
            let n = ajps.len();
            let h = p.hide(opt::NO_AJP);
            p.out.push_str(&format!(
                "<h2>Listing AJP Worker{} ({n} Worker{}) {h}</h2>\n<hr/>\n",
                if n == 1 { "" } else { "s" },
                if n == 1 { "" } else { "s" }
            ));
        }
        for (w, maps) in ajps {
            p.ajp(w, maps);
        }
    }
    if let Some(dump) = doc.dump {
        p.out.push_str("<h2>Configuration</h2>\n<pre>\n");
        for (k, v) in dump {
            p.out.push_str(&format!("{}={}\n", esc(k), esc(v)));
        }
        p.out.push_str("</pre>\n");
    }
    if doc.lbs.is_some() || doc.ajps.is_some() {
        p.legend();
    }
    p.out.push_str(&footer(cfg, model));
    p.out
}

fn text_input(label: &str, name: &str, value: &str, maxlen: bool) -> String {
    format!(
        "<tr><td>{label}:</td><td><input name=\"{name}\" type=\"text\" value=\"{}\"{}/></td></tr>\n",
        esc(value),
        if maxlen { " maxlength=\"60\"" } else { "" }
    )
}

fn radio(label: &str, name: &str, value: u8, checked: bool) -> String {
    format!(
        "<tr><td>&nbsp;&nbsp;{label}</td><td><input name=\"{name}\" type=\"radio\" \
         value=\"{value}\"{}/></td></tr>\n",
        if checked { " checked=\"checked\"" } else { "" }
    )
}

fn ajp_inputs(a: &AjpSettings) -> String {
    let mut o = String::from("<table>\n");
    o.push_str(&text_input("Hostname", "vahst", &a.host, true));
    o.push_str(&text_input("Port", "vaprt", &a.port.to_string(), false));
    for (l, n, v) in [
        (
            "Connection Pool Timeout",
            "vacpt",
            a.connection_pool_timeout,
        ),
        ("Ping Timeout", "vapng", a.ping_timeout),
        ("Connect Timeout", "vact", a.connect_timeout),
        ("Prepost Timeout", "vapt", a.prepost_timeout),
        ("Reply Timeout", "vart", a.reply_timeout),
        ("Retries", "var", a.retries),
        ("Retry Interval", "vari", a.retry_interval),
        (
            "Connection Ping Interval",
            "vacpi",
            a.connection_ping_interval,
        ),
    ] {
        o.push_str(&text_input(l, n, &v.to_string(), false));
    }
    o.push_str(&text_input(
        "Recovery Options",
        "varo",
        &a.recovery_options.to_string(),
        false,
    ));
    o.push_str(&text_input(
        "Busy Limit",
        "vabl",
        &a.busy_limit.to_string(),
        false,
    ));
    o.push_str(&text_input(
        "Max Packet Size",
        "vamps",
        &a.max_packet_size.to_string(),
        false,
    ));
    o.push_str("</table>\n");
    o
}

fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{name}\" value=\"{}\"/>\n",
        esc(value)
    )
}

/// `cmd=edit` forms (mod_jk: method="get"; here method="post" with the write token, to the
/// same URI).
pub(crate) fn edit_page(
    cfg: &StatusConfig,
    model: &StatusModel,
    params: &Params,
    target: &Target<'_>,
) -> String {
    let mut o = head(cfg, "");
    o.push_str(&format!(
        "<h1>JK Status Manager for {}:{}</h1>\n<p>[<a href=\"{}\">Back to worker list</a>]</p>\n<hr/>\n",
        esc(&model.server_name),
        model.server_port,
        link(model, &[("cmd", "list")])
    ));
    let form = |o: &mut String, pairs: &[(&str, &str)]| {
        o.push_str(&format!(
            "<form method=\"post\" action=\"{}\">\n",
            esc(&model.request_uri)
        ));
        o.push_str(&token_field(cfg));
        o.push_str(&hidden("cmd", "update"));
        o.push_str(&hidden("from", params.from().unwrap_or("list")));
        for (k, v) in pairs {
            o.push_str(&hidden(k, v));
        }
    };
    match target {
        Target::Lb(lb, None) => {
            match params.att().filter(|a| !a.is_empty()) {
                Some(att) if ATT_CODES.contains(&att) => {
                    o.push_str(&format!(
                        "<h3>Edit attribute '{}' for all members of load balancer {}</h3>\n",
                        att_label(att),
                        esc(&lb.name)
                    ));
                    form(&mut o, &[("w", &lb.name), ("att", att)]);
                    o.push_str(&format!(
                        "<table>\n<tr><th>Balanced Worker</th><th>{}</th></tr>\n",
                        att_label(att)
                    ));
                    for (i, m) in lb.members.iter().enumerate() {
                        let name = format!("val{i}");
                        let cell = if att == "vwa" {
                            Activation::ALL
                            .iter()
                            .map(|a| {
                                format!(
                                    "{}:&nbsp;<input name=\"{name}\" type=\"radio\" value=\"{}\"{}/>",
                                    a.name(),
                                    a.code(),
                                    if *a == m.activation { " checked=\"checked\"" } else { "" }
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("&nbsp;|&nbsp;\n")
                        } else {
                            let v = member_att_value(m, att);
                            let ml = if matches!(att, "vwn" | "vwr" | "vwc") {
                                " maxlength=\"60\""
                            } else {
                                ""
                            };
                            format!(
                                "<input name=\"{name}\" type=\"text\" value=\"{}\"{ml}/>",
                                esc(&v)
                            )
                        };
                        o.push_str(&format!(
                            "<tr><td>{}</td><td>\n{cell}\n</td></tr>\n",
                            esc(&m.name)
                        ));
                    }
                    o.push_str("</table>\n<br/><input type=\"submit\" value=\"Update Balancer\"/></form>\n");
                }
                Some(_) => {}
                None => {
                    o.push_str(&format!(
                        "<h3>Edit load balancer settings for {}</h3>\n",
                        esc(&lb.name)
                    ));
                    form(&mut o, &[("w", &lb.name)]);
                    o.push_str("<table>\n");
                    for (l, n, v) in [
                        ("Retries", "vlr", lb.retries),
                        ("Retry Interval", "vlri", lb.retry_interval),
                        ("Recover Wait Time", "vlt", lb.recover_time),
                        ("Error Escalation Time", "vlee", lb.error_escalation_time),
                        ("Max Reply Timeouts", "vlx", lb.max_reply_timeouts),
                    ] {
                        o.push_str(&text_input(l, n, &v.to_string(), false));
                    }
                    for (l, n, v) in [
                        ("Sticky Sessions", "vls", lb.sticky_session),
                        ("Force Sticky Sessions", "vlf", lb.sticky_session_force),
                    ] {
                        o.push_str(&format!(
                        "<tr><td>{l}:</td><td><input name=\"{n}\" type=\"checkbox\"{}/></td></tr>\n",
                        if v { " checked=\"checked\"" } else { "" }
                    ));
                    }
                    o.push_str("<tr><td>LB Method:</td><td></td></tr>\n");
                    for (l, m) in [
                        ("Requests", crate::model::LbMethod::Request),
                        ("Traffic", crate::model::LbMethod::Traffic),
                        ("Busyness", crate::model::LbMethod::Busyness),
                        ("Sessions", crate::model::LbMethod::Sessions),
                        ("Next", crate::model::LbMethod::Next),
                    ] {
                        o.push_str(&radio(l, "vlm", m.code(), lb.method == m));
                    }
                    o.push_str("<tr><td>Locking:</td><td></td></tr>\n");
                    for (l, k) in [
                        ("Optimistic", crate::model::LbLock::Optimistic),
                        ("Pessimistic", crate::model::LbLock::Pessimistic),
                    ] {
                        o.push_str(&radio(l, "vll", k.code(), lb.lock == k));
                    }
                    o.push_str("</table>\n<br/><input type=\"submit\" value=\"Update Balancer\"/></form>\n");
                }
            }
        }
        Target::Lb(lb, Some(ms)) => {
            for m in ms {
                o.push_str(&format!(
                    "<h3>Edit worker settings for {}</h3>\n",
                    esc(&m.name)
                ));
                form(&mut o, &[("w", &lb.name), ("sw", &m.name)]);
                o.push_str(
                    "<table><tbody valign=\"baseline\">\n<tr><th>Balancing related settings</th>\
                     <th>&nbsp;&nbsp;</th><th>AJP settings</th></tr>\n<tr><td><table>\n\
                     <tr><td>Activation:</td><td></td></tr>\n",
                );
                for a in Activation::ALL {
                    o.push_str(&radio(a.name(), "vwa", a.code(), m.activation == a));
                }
                o.push_str(&text_input(
                    "LB Factor",
                    "vwf",
                    &m.lbfactor.to_string(),
                    false,
                ));
                o.push_str(&text_input("Route", "vwn", &m.route, true));
                o.push_str(&text_input("Redirect Route", "vwr", &m.redirect, true));
                o.push_str(&text_input("Cluster Domain", "vwc", &m.domain, true));
                o.push_str(&text_input(
                    "Distance",
                    "vwd",
                    &m.distance.to_string(),
                    false,
                ));
                o.push_str("</table>\n</td><td></td><td>\n");
                o.push_str(&ajp_inputs(&m.settings));
                o.push_str(
                    "</td></tr></tbody></table>\n<br/><input type=\"submit\" \
                     value=\"Update Worker\"/>\n</form>\n",
                );
            }
        }
        Target::Ajp(a) => {
            o.push_str(&format!(
                "<h3>Edit worker settings for {}</h3>\n",
                esc(&a.name)
            ));
            form(&mut o, &[("w", &a.name)]);
            o.push_str(&ajp_inputs(&a.settings));
            o.push_str("<br/><input type=\"submit\" value=\"Update Worker\"/>\n</form>\n");
        }
        Target::Status => {}
    }
    o.push_str(&footer(cfg, model));
    o
}

fn member_att_value(m: &MemberView, att: &str) -> String {
    let a = &m.settings;
    match att {
        "vwf" => m.lbfactor.to_string(),
        "vwn" => m.route.clone(),
        "vwr" => m.redirect.clone(),
        "vwc" => m.domain.clone(),
        "vwd" => m.distance.to_string(),
        "vacpt" => a.connection_pool_timeout.to_string(),
        "vapng" => a.ping_timeout.to_string(),
        "vact" => a.connect_timeout.to_string(),
        "vapt" => a.prepost_timeout.to_string(),
        "vart" => a.reply_timeout.to_string(),
        "var" => a.retries.to_string(),
        "vari" => a.retry_interval.to_string(),
        "vacpi" => a.connection_ping_interval.to_string(),
        "varo" => a.recovery_options.to_string(),
        "vabl" => a.busy_limit.to_string(),
        "vamps" => a.max_packet_size.to_string(),
        _ => String::new(),
    }
}
