//! The runbook keeps up with what it documents: every alert of the Prometheus
//! rules is explained by name, and every drill module is named as the test of
//! a failure.

fn read(path: &str) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    std::fs::read_to_string(format!("{root}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_runbook_explains_every_alert_by_name() {
    let runbook = read("docs/runbook.md");
    let rules = read("deploy/prometheus/alerts.rules.yml");
    let alerts: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .map(str::trim)
        .collect();
    assert!(alerts.len() >= 10, "alerts found: {alerts:?}");
    let missing: Vec<&&str> = alerts
        .iter()
        .filter(|a| !runbook.contains(&format!("`{a}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "alerts the runbook does not name: {missing:?}"
    );
}

#[test]
fn the_runbook_names_every_drill() {
    let runbook = read("docs/runbook.md");
    let dir = format!("{}/tests/it", env!("CARGO_MANIFEST_DIR"));
    let mut drills: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|f| f.strip_suffix(".rs").map(str::to_owned))
        .filter(|f| f.starts_with("drill_"))
        .collect();
    drills.sort();
    assert!(drills.len() >= 7, "{drills:?}");
    let missing: Vec<&String> = drills
        .iter()
        .filter(|d| !runbook.contains(&format!("`{d}::")))
        .collect();
    assert!(
        missing.is_empty(),
        "drills the runbook does not name: {missing:?}"
    );
}
