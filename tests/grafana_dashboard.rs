#![allow(clippy::unwrap_used)]
//! `contrib/grafana/mod_jk-rs.json`, checked offline for what Grafana's dashboard import
//! needs and what makes the dashboard portable: the top-level fields of the dashboard model
//! (title, uid, schemaVersion, panels, templating, time), the data source as a variable
//! (no panel, query or variable names a data source of its own), unique panel ids on a
//! 24-column grid without overlaps, one refId per query of a panel, balanced PromQL and only
//! template variables that exist. That its queries return data from a real run is
//! tests/prometheus.rs (against a real Prometheus scraping a real httpd).

mod support;

use std::collections::{BTreeSet, HashSet};

use serde_json::Value;

fn dashboard() -> Value {
    let path = support::repo().join("contrib/grafana/mod_jk-rs.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Every panel, rows' nested panels included.
fn panels(d: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in d["panels"].as_array().unwrap() {
        out.push(p);
        if let Some(inner) = p["panels"].as_array() {
            out.extend(inner);
        }
    }
    out
}

/// The dashboard's PromQL queries (panel targets).
pub fn queries(d: &Value) -> Vec<String> {
    panels(d)
        .iter()
        .filter_map(|p| p["targets"].as_array())
        .flatten()
        .map(|t| t["expr"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_dashboard_has_what_grafana_imports() {
    let d = dashboard();
    assert!(d["title"].as_str().is_some_and(|t| !t.is_empty()));
    let uid = d["uid"].as_str().unwrap();
    assert!(
        !uid.is_empty()
            && uid.len() <= 40
            && uid
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "uid {uid}"
    );
    assert!(d["schemaVersion"].as_u64().is_some_and(|v| v >= 36));
    assert!(d["id"].is_null(), "an imported dashboard carries no id");
    assert!(d["time"]["from"].is_string() && d["time"]["to"].is_string());
    assert!(d["templating"]["list"].is_array() && d["panels"].is_array());
}

#[test]
fn the_data_source_is_a_variable() {
    let d = dashboard();
    let vars = d["templating"]["list"].as_array().unwrap();
    let ds = vars
        .iter()
        .find(|v| v["type"] == "datasource")
        .expect("a data source variable");
    assert_eq!(
        (&ds["name"], &ds["query"]),
        (&"datasource".into(), &"prometheus".into())
    );
    let want = serde_json::json!({"type": "prometheus", "uid": "${datasource}"});
    // Every place that names a data source names the variable.
    let mut places = 0;
    for p in panels(&d) {
        if p["type"] == "row" {
            continue;
        }
        assert_eq!(p["datasource"], want, "panel {}", p["title"]);
        for t in p["targets"].as_array().unwrap() {
            assert_eq!(t["datasource"], want, "panel {}", p["title"]);
            places += 1;
        }
    }
    for v in vars.iter().filter(|v| v["type"] == "query") {
        assert_eq!(v["datasource"], want, "variable {}", v["name"]);
    }
    assert!(places >= 10, "{places} queries");
    assert!(
        !serde_json::to_string(&d)
            .unwrap()
            .contains("\"uid\":\"prometheus\""),
        "no data source uid is hard-coded"
    );
}

#[test]
fn panels_have_unique_ids_and_share_the_grid_without_overlapping() {
    let d = dashboard();
    let known = [
        "row",
        "timeseries",
        "stat",
        "state-timeline",
        "gauge",
        "bargauge",
        "table",
    ];
    let mut ids = HashSet::new();
    let mut cells: HashSet<(u64, u64)> = HashSet::new();
    for p in panels(&d) {
        let id = p["id"].as_u64().expect("an integer id");
        assert!(ids.insert(id), "duplicate panel id {id}");
        let t = p["type"].as_str().unwrap();
        assert!(known.contains(&t), "panel type {t}");
        assert!(p["title"].as_str().is_some_and(|t| !t.is_empty()));
        let g = &p["gridPos"];
        let (x, y, w, h) = (
            g["x"].as_u64().unwrap(),
            g["y"].as_u64().unwrap(),
            g["w"].as_u64().unwrap(),
            g["h"].as_u64().unwrap(),
        );
        assert!(w >= 1 && h >= 1 && x + w <= 24, "{} at {g}", p["title"]);
        for cx in x..x + w {
            for cy in y..y + h {
                assert!(
                    cells.insert((cx, cy)),
                    "{} overlaps at {cx},{cy}",
                    p["title"]
                );
            }
        }
        if t != "row" {
            let refs: Vec<&str> = p["targets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["refId"].as_str().unwrap())
                .collect();
            let unique: BTreeSet<&&str> = refs.iter().collect();
            assert!(!refs.is_empty() && unique.len() == refs.len(), "{refs:?}");
        }
    }
}

#[test]
fn queries_are_balanced_and_use_only_defined_variables() {
    let d = dashboard();
    let mut defined: HashSet<String> = d["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_string())
        .collect();
    defined.extend(["__rate_interval", "__interval", "__range"].map(String::from));
    let vars = d["templating"]["list"].as_array().unwrap();
    let texts = queries(&d).into_iter().chain(
        vars.iter()
            .filter_map(|v| v["definition"].as_str().map(String::from)),
    );
    for q in texts {
        let mut stack = Vec::new();
        let mut in_str = false;
        for c in q.chars() {
            match (in_str, c) {
                (false, '"') | (true, '"') => in_str = !in_str,
                (false, '(' | '{' | '[') => stack.push(c),
                (false, ')') => assert_eq!(stack.pop(), Some('('), "{q}"),
                (false, '}') => assert_eq!(stack.pop(), Some('{'), "{q}"),
                (false, ']') => assert_eq!(stack.pop(), Some('['), "{q}"),
                _ => {}
            }
        }
        assert!(stack.is_empty() && !in_str, "unbalanced: {q}");
        for (i, _) in q.match_indices('$') {
            let name: String = q[i + 1..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            assert!(defined.contains(&name), "${name} in {q}");
        }
        assert!(q.contains("mod_jk_"), "{q}");
    }
}
