//! The `jkctl status` table.

use crate::doc::{Member, StatusDoc, Sticky};

/// Column headers.
pub const HEADERS: [&str; 12] = [
    "BALANCER",
    "MEMBER",
    "ACTIVATION",
    "STATE",
    "IN-FLIGHT",
    "HELD",
    "ERRORS",
    "SESSIONS",
    "LAST-STICKY",
    "RESTARTING",
    "ORIGIN",
    "LIFECYCLE",
];

fn num(v: Option<u64>) -> String {
    v.map_or_else(|| "-".into(), |n| n.to_string())
}

/// The cells of one member's row (`-` for what the status worker does not report; an
/// unreported origin is `config`: a build without runtime membership).
pub fn row(lb: &str, m: &Member, now: u64) -> [String; 12] {
    [
        lb.to_string(),
        m.name.clone(),
        m.activation.clone().unwrap_or_else(|| "-".into()),
        m.state.clone().unwrap_or_else(|| "-".into()),
        num(m.in_flight_or_busy()),
        num(m.held),
        num(m.errors),
        num(m.recent_sessions),
        match m.last_sticky(now) {
            Sticky::Unknown => "-".into(),
            Sticky::Never => "never".into(),
            Sticky::Ago(s) => format!("{s}s ago"),
        },
        match (m.restarting, m.awaiting_readiness) {
            (Some(true), _) => "yes".into(),
            (_, Some(true)) => "not-ready".into(),
            (Some(false), _) => "no".into(),
            (None, _) => "-".into(),
        },
        m.origin.clone().unwrap_or_else(|| "config".into()),
        m.lifecycle.clone().unwrap_or_else(|| "-".into()),
    ]
}

/// The same figures as one JSON document for scripts (`--output json`):
/// `{"server_time": unix|null, "balancers": [{"name", "member_slots", "members_free",
/// "members": [{"name", "activation", "state", "in_flight", "held", "errors", "elected",
/// "recent_sessions", "last_sticky_ago", "restarting", "awaiting_readiness", "origin",
/// "lifecycle"}]}]}`; what the status worker does not report is `null`.
pub fn json(doc: &StatusDoc, only: Option<&str>) -> serde_json::Value {
    let now = doc.now_unix();
    let balancers: Vec<serde_json::Value> = doc
        .balancers
        .iter()
        .filter(|b| only.is_none_or(|o| o == b.name))
        .map(|b| {
            let members: Vec<serde_json::Value> = b
                .members
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "name": m.name,
                        "activation": m.activation,
                        "state": m.state,
                        "in_flight": m.in_flight_or_busy(),
                        "held": m.held,
                        "errors": m.errors,
                        "elected": m.elected,
                        "recent_sessions": m.recent_sessions,
                        "last_sticky_ago": match m.last_sticky(now) {
                            Sticky::Ago(s) => Some(s),
                            _ => None,
                        },
                        "restarting": m.restarting,
                        "awaiting_readiness": m.awaiting_readiness,
                        "origin": m.origin.as_deref().unwrap_or("config"),
                        "lifecycle": m.lifecycle,
                    })
                })
                .collect();
            serde_json::json!({
                "name": b.name,
                "member_slots": b.member_slots,
                "members_free": b.members_free,
                "members": members,
            })
        })
        .collect();
    serde_json::json!({
        "server_time": doc.time.as_ref().and_then(|t| t.unix),
        "balancers": balancers,
    })
}

/// Renders the table of every member (of balancer `only`, when given). Columns are
/// separated by two spaces; numbers are right-aligned.
pub fn render(doc: &StatusDoc, only: Option<&str>) -> String {
    let now = doc.now_unix();
    let rows: Vec<[String; 12]> = doc
        .balancers
        .iter()
        .filter(|b| only.is_none_or(|o| o == b.name))
        .flat_map(|b| b.members.iter().map(move |m| row(&b.name, m, now)))
        .collect();
    let mut width = HEADERS.map(str::len);
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let right = |i: usize| (4..=8).contains(&i);
    let mut out = String::new();
    let header = HEADERS.map(String::from);
    for r in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = width[i].saturating_sub(c.chars().count());
            if right(i) {
                line.push_str(&" ".repeat(pad));
                line.push_str(c);
            } else {
                line.push_str(c);
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_the_tables_figures_with_nulls_for_the_unknown() {
        let doc = StatusDoc::parse(
            r#"{"time":{"unix":1000},"balancers":[{"name":"lb","member_slots":4,"members":[
                {"name":"t1","activation":"ACT","state":"OK","in_flight":2,"errors":3,
                 "last_sticky_time":990,"restarting":false},
                {"name":"t2","busy":1}]},{"name":"other","members":[]}]}"#,
        )
        .expect("doc");
        let v = json(&doc, Some("lb"));
        assert_eq!(v["server_time"], 1000);
        assert_eq!(v["balancers"].as_array().map(Vec::len), Some(1));
        let t1 = &v["balancers"][0]["members"][0];
        assert_eq!(
            (
                &t1["name"],
                &t1["in_flight"],
                &t1["errors"],
                &t1["last_sticky_ago"]
            ),
            (&"t1".into(), &2.into(), &3.into(), &10.into())
        );
        assert_eq!(t1["origin"], "config");
        let t2 = &v["balancers"][0]["members"][1];
        assert_eq!(t2["in_flight"], 1, "busy when in_flight is not reported");
        assert!(t2["state"].is_null() && t2["restarting"].is_null());
        assert_eq!(v["balancers"][0]["member_slots"], 4);
    }

    #[test]
    fn renders_aligned_rows_with_dashes_for_missing_fields() {
        let d = StatusDoc::parse(
            r#"{"time":{"unix":1000},"balancers":[
              {"name":"loadbalancer","members":[
                {"name":"tomcat1","activation":"ACT","state":"OK/IDLE","in_flight":12,"held":3,"errors":0,
                 "recent_sessions":4,"last_sticky_time":997,"restarting":false},
                {"name":"t2","activation":"DIS","state":"ERR","busy":1,"errors":1234}]},
              {"name":"other","members":[{"name":"x","last_sticky_time":0,"restarting":true},
                {"name":"y","restarting":false,"awaiting_readiness":true,"origin":"runtime",
                 "lifecycle":"joining"}]}]}"#,
        )
        .expect("doc");
        let t = render(&d, None);
        let want = "\
BALANCER      MEMBER   ACTIVATION  STATE    IN-FLIGHT  HELD  ERRORS  SESSIONS  LAST-STICKY  RESTARTING  ORIGIN   LIFECYCLE
loadbalancer  tomcat1  ACT         OK/IDLE         12     3       0         4       3s ago  no          config   -
loadbalancer  t2       DIS         ERR              1     -    1234         -            -  -           config   -
other         x        -           -                -     -       -         -        never  yes         config   -
other         y        -           -                -     -       -         -            -  not-ready   runtime  joining
";
        assert_eq!(t, want, "\n{t}");
        let only = render(&d, Some("other"));
        assert_eq!(only.lines().count(), 3);
        assert!(only.lines().nth(1).is_some_and(|l| l.starts_with("other ")));
    }

    #[test]
    fn empty_document_has_only_the_header() {
        let t = render(&StatusDoc::default(), None);
        assert_eq!(t.lines().count(), 1);
        assert!(t.starts_with("BALANCER  MEMBER"));
    }
}
