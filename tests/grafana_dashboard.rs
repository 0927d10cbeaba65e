#![allow(clippy::unwrap_used)]
//! `contrib/grafana/mod_jk-rs.json`, checked offline for what Grafana's dashboard import
//! needs and what makes the dashboard portable: the dashboard schema Grafana publishes (the
//! dashboard kind, as in grafana-foundation-sdk's JSON schema: which keys each object may
//! have, which it must, the enums and ranges; encoded below for the objects this dashboard
//! uses), the top-level fields (title, uid, schemaVersion, panels, templating, time), the
//! data source as a variable
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
    assert!(d.get("id").is_none(), "an imported dashboard carries no id");
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
            .filter(|v| v["type"] == "query")
            .filter_map(|v| v["query"].as_str().map(String::from)),
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

/// The keys an object may have and those it must (Grafana's dashboard schema, kind
/// "dashboard" v1: every object there is closed, `additionalProperties: false`).
fn check_keys(what: &str, v: &Value, allowed: &[&str], required: &[&str]) {
    let o = v
        .as_object()
        .unwrap_or_else(|| panic!("{what} is not an object"));
    for k in o.keys() {
        assert!(
            allowed.contains(&k.as_str()),
            "{what}: key {k:?} is not in the schema"
        );
    }
    for k in required {
        assert!(o.contains_key(*k), "{what}: required key {k:?} missing");
    }
}

fn int_in(what: &str, v: &Value, range: std::ops::RangeInclusive<i64>) {
    let n = v
        .as_i64()
        .unwrap_or_else(|| panic!("{what}: {v} is not an integer"));
    assert!(range.contains(&n), "{what}: {n} not in {range:?}");
}

fn datasource_ref(what: &str, v: &Value) {
    check_keys(what, v, &["type", "uid"], &[]);
}

#[test]
fn the_dashboard_follows_grafanas_dashboard_schema() {
    let d = dashboard();
    check_keys(
        "dashboard",
        &d,
        &[
            "id",
            "uid",
            "title",
            "description",
            "revision",
            "gnetId",
            "tags",
            "timezone",
            "editable",
            "graphTooltip",
            "time",
            "timepicker",
            "fiscalYearStartMonth",
            "liveNow",
            "weekStart",
            "refresh",
            "schemaVersion",
            "version",
            "panels",
            "templating",
            "annotations",
            "links",
            "snapshot",
        ],
        &["schemaVersion", "templating", "annotations"],
    );
    int_in("graphTooltip", &d["graphTooltip"], 0..=2);
    int_in("fiscalYearStartMonth", &d["fiscalYearStartMonth"], 0..=11);
    check_keys("time", &d["time"], &["from", "to"], &["from", "to"]);
    check_keys("templating", &d["templating"], &["list"], &[]);
    check_keys("annotations", &d["annotations"], &["list"], &[]);
    assert!(d["refresh"].is_string() || d["refresh"] == false);
    assert!(d["tags"].as_array().unwrap().iter().all(Value::is_string));
    for p in d["panels"].as_array().unwrap() {
        let what = format!("panel {}", p["title"]);
        if p["type"] == "row" {
            check_keys(
                &what,
                p,
                &[
                    "type",
                    "collapsed",
                    "title",
                    "datasource",
                    "gridPos",
                    "id",
                    "panels",
                    "repeat",
                ],
                &["type", "collapsed", "id", "panels"],
            );
        } else {
            check_keys(
                &what,
                p,
                &[
                    "type",
                    "id",
                    "pluginVersion",
                    "tags",
                    "targets",
                    "title",
                    "description",
                    "transparent",
                    "datasource",
                    "gridPos",
                    "links",
                    "repeat",
                    "repeatDirection",
                    "maxPerRow",
                    "maxDataPoints",
                    "transformations",
                    "interval",
                    "timeFrom",
                    "timeShift",
                    "hideTimeOverride",
                    "libraryPanel",
                    "options",
                    "fieldConfig",
                ],
                &["type"],
            );
            assert!(p["targets"]
                .as_array()
                .unwrap()
                .iter()
                .all(Value::is_object));
            assert!(p["options"].is_object(), "{what}");
            let fc = &p["fieldConfig"];
            check_keys(
                &what,
                fc,
                &["defaults", "overrides"],
                &["defaults", "overrides"],
            );
            check_keys(
                &format!("{what} fieldConfig.defaults"),
                &fc["defaults"],
                &[
                    "displayName",
                    "displayNameFromDS",
                    "description",
                    "path",
                    "writeable",
                    "filterable",
                    "unit",
                    "decimals",
                    "min",
                    "max",
                    "mappings",
                    "thresholds",
                    "color",
                    "links",
                    "noValue",
                    "custom",
                ],
                &[],
            );
            assert!(fc["overrides"].is_array());
        }
        assert!(p["type"].as_str().is_some_and(|t| !t.is_empty()));
        if let Some(ds) = p.get("datasource") {
            datasource_ref(&what, ds);
        }
        let g = &p["gridPos"];
        check_keys(
            &what,
            g,
            &["h", "w", "x", "y", "static"],
            &["h", "w", "x", "y"],
        );
        int_in("gridPos.h", &g["h"], 1..=i64::MAX);
        int_in("gridPos.w", &g["w"], 1..=24);
        int_in("gridPos.x", &g["x"], 0..=23);
        int_in("gridPos.y", &g["y"], 0..=i64::MAX);
    }
    for v in d["templating"]["list"].as_array().unwrap() {
        let what = format!("variable {}", v["name"]);
        check_keys(
            &what,
            v,
            &[
                "type",
                "name",
                "label",
                "hide",
                "skipUrlSync",
                "description",
                "query",
                "datasource",
                "current",
                "multi",
                "options",
                "refresh",
                "sort",
                "includeAll",
                "allValue",
                "regex",
            ],
            &["type", "name"],
        );
        let types = [
            "query",
            "adhoc",
            "constant",
            "datasource",
            "interval",
            "textbox",
            "custom",
            "system",
        ];
        assert!(types.iter().any(|t| v["type"] == *t), "{what}");
        int_in("hide", &v["hide"], 0..=2);
        int_in("refresh", &v["refresh"], 0..=2);
        if let Some(sort) = v.get("sort") {
            int_in("sort", sort, 0..=8);
        }
        // A query: a string, or an object whose values are objects.
        let q = &v["query"];
        assert!(
            q.is_string()
                || q.as_object()
                    .is_some_and(|o| o.values().all(Value::is_object)),
            "{what}: query {q}"
        );
        if let Some(ds) = v.get("datasource") {
            datasource_ref(&what, ds);
        }
        if let Some(c) = v.get("current") {
            check_keys(&what, c, &["selected", "text", "value"], &["text", "value"]);
        }
    }
}
