//! Every metric named by the alerting and recording rules (deploy/prometheus)
//! and by the dashboard (deploy/grafana) exists in a live `/metrics` scrape
//! taken after some bookings, on each backend; a recording rule's own name
//! counts as existing. Metrics of one backend only (the SQLite writer's, the
//! Postgres pool's) are required on that backend.

use std::collections::BTreeSet;
use std::path::Path;

use crate::common::booking_flow::book;
use crate::common::db::TestDb;
use crate::common::scrape::{Scrape, scrape};
use crate::common::server::{TestApp, test_config, tiny_trip};
use ticketctl::observe::names::backend_specific;
use ticketctl::store::Backend;

/// PromQL words that are not metric names: operators, modifiers, and the
/// aggregations (which may be followed by `by (…)` rather than `(`).
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "inf",
    "nan",
    "atan2",
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
];
/// Keywords followed by a parenthesised list of label names, not an expression.
const LABEL_LISTS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// Index just past the bracket that closes the one at `open`, skipping quoted strings.
fn skip_group(s: &[u8], open: usize, close: u8) -> usize {
    let mut i = open + 1;
    while i < s.len() && s[i] != close {
        if matches!(s[i], b'"' | b'\'' | b'`') {
            i = skip_string(s, i);
        } else {
            i += 1;
        }
    }
    i + 1
}

/// Index just past the string that starts at `at`.
fn skip_string(s: &[u8], at: usize) -> usize {
    let quote = s[at];
    let mut i = at + 1;
    while i < s.len() && s[i] != quote {
        i += if s[i] == b'\\' { 2 } else { 1 };
    }
    i + 1
}

/// The metric names a PromQL expression selects: identifiers used as
/// selectors (alone, or followed by `{`, `[`), not functions (followed by
/// `(`), keywords, label names in by/on lists, label matchers or durations.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let s = expr.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b':';
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if matches!(c, b'"' | b'\'' | b'`') {
            i = skip_string(s, i);
        } else if c == b'{' {
            i = skip_group(s, i, b'}');
        } else if c == b'[' {
            i = skip_group(s, i, b']');
        } else if c == b'$' || c.is_ascii_digit() || c == b'.' {
            // A template variable ($__rate_interval), a number or a duration.
            i += 1;
            while i < s.len() && (ident(s[i]) || s[i] == b'.') {
                i += 1;
            }
        } else if ident(c) {
            let start = i;
            while i < s.len() && ident(s[i]) {
                i += 1;
            }
            let word = &expr[start..i];
            let mut next = i;
            while next < s.len() && s[next].is_ascii_whitespace() {
                next += 1;
            }
            let lower = word.to_ascii_lowercase();
            if LABEL_LISTS.contains(&lower.as_str()) && s.get(next) == Some(&b'(') {
                i = skip_group(s, next, b')');
            } else if KEYWORDS.contains(&lower.as_str()) || s.get(next) == Some(&b'(') {
                // A keyword or a function / aggregation.
            } else {
                names.insert(word.to_owned());
            }
        } else {
            i += 1;
        }
    }
    names
}

/// The PromQL expressions and recording-rule names of a rules file: `expr:`
/// on one line, or a `|` block of the lines indented below it.
fn rules_of(text: &str) -> (Vec<String>, BTreeSet<String>) {
    let (mut exprs, mut records) = (vec![], BTreeSet::new());
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if let Some(name) = trimmed.strip_prefix("- record:") {
            records.insert(name.trim().to_owned());
        } else if let Some(rest) = trimmed.strip_prefix("expr:") {
            let rest = rest.trim();
            if rest == "|" || rest == ">" {
                let mut block = String::new();
                while i + 1 < lines.len() {
                    let next = lines[i + 1];
                    let next_indent = next.len() - next.trim_start().len();
                    if !next.trim().is_empty() && next_indent <= indent {
                        break;
                    }
                    block.push_str(next.trim());
                    block.push('\n');
                    i += 1;
                }
                exprs.push(block);
            } else {
                exprs.push(rest.trim_matches(['\'', '"']).to_owned());
            }
        }
        i += 1;
    }
    (exprs, records)
}

/// Every `expr` string anywhere in a dashboard's JSON.
fn dashboard_exprs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("expr", serde_json::Value::String(e)) => out.push(e.clone()),
                    _ => dashboard_exprs(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| dashboard_exprs(v, out)),
        _ => {}
    }
}

/// (metric name, where it is used) for every name the rules and dashboard
/// select, and the recording rules' own names.
fn names_used() -> (Vec<(String, String)>, BTreeSet<String>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let mut used = vec![];
    let mut records = BTreeSet::new();
    for file in [
        "prometheus/recording.rules.yml",
        "prometheus/alerts.rules.yml",
    ] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let (exprs, recorded) = rules_of(&text);
        assert!(!exprs.is_empty(), "{file} has rules");
        records.extend(recorded);
        for e in exprs {
            used.extend(metric_names(&e).into_iter().map(|n| (n, file.to_owned())));
        }
    }
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("grafana/dashboard.json")).unwrap(),
    )
    .expect("the dashboard is JSON");
    let mut exprs = vec![];
    dashboard_exprs(&dashboard, &mut exprs);
    assert!(exprs.len() >= 20, "the dashboard has its panels' queries");
    for e in exprs {
        used.extend(
            metric_names(&e)
                .into_iter()
                .map(|n| (n, "grafana/dashboard.json".to_owned())),
        );
    }
    (used, records)
}

/// A scrape after a booking, a settled outbox, a queued sale and a refresh.
async fn busy_scrape(db: TestDb) -> Scrape {
    let t = TestApp::start_with(db, test_config()).await;
    let trip = tiny_trip(&t.app, 4).await;
    book(&t, trip, 1, 2, "4242424242424242").await;
    t.app.settle().await.unwrap();
    t.app
        .waiting_room()
        .create(ticketctl::app::queue::SaleSettings {
            id: "names".into(),
            opens_at: t.app.now() + chrono::Duration::hours(1),
            trip_ids: vec![trip],
            rate_per_sec: 5.0,
            max_active: 10,
            idle_secs: 60,
        })
        .await
        .unwrap();
    t.app.refresh_gauges(true).await.unwrap();
    let s = scrape(&t.client, &format!("http://{}", t.addr)).await;
    t.shutdown().await;
    s
}

fn check(
    scraped: &Scrape,
    backend: Backend,
    used: &[(String, String)],
    records: &BTreeSet<String>,
) {
    let present = scraped.names();
    let missing: Vec<String> = used
        .iter()
        .filter(|(name, _)| !records.contains(name) && !present.contains(name))
        .filter(|(name, _)| backend_specific(name).is_none_or(|b| b == backend))
        .map(|(name, file)| format!("{name} (in {file})"))
        .collect();
    assert!(
        missing.is_empty(),
        "{backend:?}: used but not exposed: {missing:?}\nexposed: {present:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_in_the_rules_and_dashboard_is_exposed_on_sqlite_and_postgres() {
    let (used, records) = names_used();
    let distinct: BTreeSet<&str> = used.iter().map(|(n, _)| n.as_str()).collect();
    assert!(distinct.len() >= 20, "{distinct:?}");
    check(
        &busy_scrape(crate::common::db::sqlite()).await,
        Backend::Sqlite,
        &used,
        &records,
    );
    if let Some(db) = crate::common::db::postgres().await {
        check(&busy_scrape(db).await, Backend::Postgres, &used, &records);
    }
}

#[test]
fn the_promql_reader_finds_selected_metrics_only() {
    let e = r#"histogram_quantile(0.99, sum by (le, route) (rate(http_seconds_bucket{route="/v1/trips/{id}",le=~"0.5|1"}[$__rate_interval])))
        / ignoring(state) pool_max offset 5m > 1e3 and on (sale) ticketctl:ratio_rate5m
        unless absent(up_total) or time() - last_ts > 1800"#;
    let names: Vec<String> = metric_names(e).into_iter().collect();
    assert_eq!(
        names,
        [
            "http_seconds_bucket",
            "last_ts",
            "pool_max",
            "ticketctl:ratio_rate5m",
            "up_total"
        ]
    );
    let (exprs, records) = rules_of(
        "      - record: a:b\n        expr: |\n          sum(x_total)\n            /\n          sum(y_total)\n      - alert: A\n        expr: z > 0\n        for: 5m\n",
    );
    assert_eq!(records.into_iter().collect::<Vec<_>>(), ["a:b"]);
    assert_eq!(exprs.len(), 2);
    assert_eq!(
        metric_names(&exprs[0]).into_iter().collect::<Vec<_>>(),
        ["x_total", "y_total"]
    );
    assert_eq!(exprs[1], "z > 0");
}
