//! `mime=xml`: one attribute per line, values raw (mod_jk does not escape them).

use super::{
    ajp_attrs, lb_attrs, map_attrs, member_attrs, n, s, server_attrs, software_attrs, time_attrs,
    Attrs, Doc, Flavor, Header,
};
use crate::config::StatusConfig;
use crate::model::{MapView, StatusModel};

struct Xml<'c> {
    ns: &'c str,
    out: String,
}

impl Xml<'_> {
    /// `<ns:name` + attributes + `/>` (or `>` when `open`), at `indent`.
    fn elem(&mut self, indent: &str, name: &str, attrs: &Attrs, open: bool) {
        self.out.push_str(&format!("{indent}<{}{name}\n", self.ns));
        for (k, v) in attrs {
            self.out
                .push_str(&format!("{indent}  {k}=\"{}\"\n", v.text()));
        }
        self.out.push_str(indent);
        self.out.push_str(if open { ">\n" } else { "/>\n" });
    }

    fn close(&mut self, indent: &str, name: &str) {
        self.out
            .push_str(&format!("{indent}</{}{name}>\n", self.ns));
    }

    fn maps(&mut self, maps: &[MapView]) {
        for (i, m) in maps.iter().enumerate() {
            let mut a: Attrs = vec![("id", n(i + 1))];
            a.extend(map_attrs(m));
            self.elem("      ", "map", &a, false);
        }
    }
}

pub(crate) fn render(cfg: &StatusConfig, model: &StatusModel, doc: &Doc<'_>) -> String {
    let mut x = Xml {
        ns: &cfg.ns,
        out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n"),
    };
    if let Some(d) = &cfg.doctype {
        x.out.push_str(d);
        x.out.push('\n');
    }
    if cfg.xmlns.is_empty() {
        x.out.push_str(&format!("<{}status>\n", cfg.ns));
    } else {
        x.out
            .push_str(&format!("<{}status\n  {}>\n", cfg.ns, cfg.xmlns));
    }
    if doc.header != Header::None {
        x.elem("", "server", &server_attrs(model), false);
    }
    if doc.header == Header::Full {
        x.elem("", "time", &time_attrs(model), false);
        x.elem("", "software", &software_attrs(model), false);
    }
    if let Some(lbs) = &doc.lbs {
        if doc.wrapped {
            x.elem("", "balancers", &vec![("count", n(lbs.len()))], true);
        }
        for p in lbs {
            x.elem("  ", "balancer", &lb_attrs(cfg, p.lb), true);
            for m in &p.members {
                x.elem("      ", "member", &member_attrs(m, Flavor::Xml), false);
            }
            x.maps(p.maps);
            x.close("  ", "balancer");
        }
        if doc.wrapped {
            x.close("", "balancers");
        }
    }
    if let Some(ajps) = &doc.ajps {
        if doc.wrapped {
            x.elem("", "ajp_workers", &vec![("count", n(ajps.len()))], true);
        }
        for (w, maps) in ajps {
            x.elem("  ", "ajp", &ajp_attrs(w, Flavor::Xml), false);
            x.maps(maps);
        }
        if doc.wrapped {
            x.close("", "ajp_workers");
        }
    }
    if let Some(dump) = doc.dump {
        x.out.push_str(&format!("  <{}configuration\n", cfg.ns));
        for (k, v) in dump {
            x.out.push_str(&format!("    {k}=\"{v}\"\n"));
        }
        x.out.push_str("  />\n");
    }
    let result = vec![("type", s(doc.result_type())), ("message", s(&doc.message))];
    x.elem("  ", "result", &result, false);
    x.close("", "status");
    x.out
}
