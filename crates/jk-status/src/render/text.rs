//! `mime=txt` (one line per object) and `mime=prop` (one `key=value` per line).

use super::{
    ajp_attrs, error_time_prop, lb_attrs, map_attrs, member_attrs, n, server_attrs, software_attrs,
    time_attrs, Attrs, Doc, Flavor, Header, V,
};
use crate::config::StatusConfig;
use crate::model::{MapView, StatusModel};

fn line(out: &mut String, label: &str, attrs: &Attrs) {
    out.push_str(label);
    out.push(':');
    for (k, v) in attrs {
        match v {
            V::Q(t) => out.push_str(&format!(" {k}=\"{t}\"")),
            other => out.push_str(&format!(" {k}={}", other.text())),
        }
    }
    out.push('\n');
}

fn txt_maps(out: &mut String, maps: &[MapView]) {
    for (i, m) in maps.iter().enumerate() {
        let mut a: Attrs = vec![("id", n(i + 1))];
        a.extend(map_attrs(m));
        line(out, "Map", &a);
    }
}

/// `mime=txt`.
pub(crate) fn render_txt(cfg: &StatusConfig, model: &StatusModel, doc: &Doc<'_>) -> String {
    let mut out = String::new();
    if doc.header != Header::None {
        line(&mut out, "Server", &server_attrs(model));
    }
    if doc.header == Header::Full {
        line(&mut out, "Time", &time_attrs(model));
        line(&mut out, "Software", &software_attrs(model));
    }
    if let Some(lbs) = &doc.lbs {
        if doc.wrapped {
            line(&mut out, "Balancer Workers", &vec![("count", n(lbs.len()))]);
        }
        for p in lbs {
            line(&mut out, "Balancer Worker", &lb_attrs(cfg, p.lb));
            for m in &p.members {
                line(&mut out, "Member", &member_attrs(m, Flavor::Txt));
            }
            txt_maps(&mut out, p.maps);
        }
    }
    if let Some(ajps) = &doc.ajps {
        if doc.wrapped {
            line(&mut out, "AJP Workers", &vec![("count", n(ajps.len()))]);
        }
        for (w, maps) in ajps {
            line(&mut out, "AJP Worker", &ajp_attrs(w, Flavor::Txt));
            txt_maps(&mut out, maps);
        }
    }
    if let Some(dump) = doc.dump {
        out.push_str("Configuration:\n");
        for (k, v) in dump {
            out.push_str(&format!("{k}={v}\n"));
        }
    }
    out.push_str(&format!(
        "Result: type={} message=\"{}\"\n",
        doc.result_type(),
        doc.message
    ));
    out
}

struct Prop<'a> {
    p: &'a str,
    out: String,
}

impl Prop<'_> {
    fn kv(&mut self, key: &str, v: &str) {
        self.out.push_str(&format!("{}.{key}={v}\n", self.p));
    }

    fn attrs(&mut self, obj: &str, attrs: &Attrs) {
        for (k, v) in attrs {
            self.kv(&format!("{obj}.{k}"), &v.text());
        }
    }

    fn maps(&mut self, worker: &str, maps: &[MapView]) {
        for (i, m) in maps.iter().enumerate() {
            self.attrs(&format!("{worker}.map.{}", i + 1), &map_attrs(m));
        }
    }
}

/// `mime=prop`.
pub(crate) fn render_prop(cfg: &StatusConfig, model: &StatusModel, doc: &Doc<'_>) -> String {
    let mut p = Prop {
        p: &cfg.prefix,
        out: String::new(),
    };
    if doc.header != Header::None {
        p.kv("server_name", &model.server_name);
        p.kv("server_port", &model.server_port.to_string());
    }
    if doc.header == Header::Full {
        p.kv("time_datetime", &model.time.datetime);
        p.kv("time_tz", &model.time.tz);
        p.kv("time_unix", &model.time.unix.to_string());
        p.kv("web_server", &model.web_server);
        p.kv("jk_version", &model.jk_version);
    }
    if let Some(lbs) = &doc.lbs {
        if doc.wrapped {
            p.kv("lb_count", &lbs.len().to_string());
        }
        for part in lbs {
            let lb = part.lb;
            p.kv("list", &lb.name);
            // `name` is the key itself.
            let attrs: Attrs = lb_attrs(cfg, lb).into_iter().skip(1).collect();
            p.attrs(&lb.name, &attrs);
            for m in &part.members {
                p.kv(&format!("{}.balance_workers", lb.name), &m.name);
                let attrs: Attrs = member_attrs(m, Flavor::Prop).into_iter().skip(1).collect();
                p.attrs(&m.name, &attrs);
                // mod_jk prints the member's reset/error times keyed by the lb name.
                let mut tail: Attrs = vec![
                    ("last_reset_at", n(m.last_reset_at)),
                    ("last_reset_ago", n(m.last_reset_ago)),
                ];
                tail.extend(error_time_prop(&m.error_time));
                p.attrs(&lb.name, &tail);
            }
            p.maps(&lb.name, part.maps);
        }
    }
    if let Some(ajps) = &doc.ajps {
        if doc.wrapped {
            p.kv("ajp_count", &ajps.len().to_string());
        }
        for (w, maps) in ajps {
            p.kv(&format!("{}.list", w.name), &w.name);
            let attrs: Attrs = ajp_attrs(w, Flavor::Prop).into_iter().skip(1).collect();
            p.attrs(&w.name, &attrs);
            p.maps(&w.name, maps);
        }
    }
    if let Some(dump) = doc.dump {
        for (k, v) in dump {
            p.out.push_str(&format!("{k}={v}\n"));
        }
    }
    p.kv("result.type", doc.result_type());
    p.kv("result.message", &doc.message);
    p.out
}
