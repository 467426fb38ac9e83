//! The built `ticketctl` binary, run as a user would: migrate, seed twice
//! (the second run changes nothing), catalog commands, users, and CLI errors.

use std::process::{Command, Output};

fn ticketctl(db_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ticketctl"))
        .args(args)
        .env("DATABASE_URL", db_url)
        .env("TICKETCTL_LOG", "warn")
        .output()
        .expect("run ticketctl")
}

fn ok(db_url: &str, args: &[&str]) -> String {
    let out = ticketctl(db_url, args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "ticketctl {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn fails(db_url: &str, args: &[&str]) -> String {
    let out = ticketctl(db_url, args);
    assert!(!out.status.success(), "ticketctl {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn seed_twice_then_use_the_catalog(url: &str) {
    assert!(ok(url, &["migrate"]).contains("migration(s) applied"));
    let first = ok(url, &["seed", "--days", "3", "--json"]);
    let first: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert!(first["trips_created"].as_u64().unwrap() > 300, "{first}");
    assert!(first["stations"]["inserted"].as_u64().unwrap() > 200);
    let second: serde_json::Value =
        serde_json::from_str(&ok(url, &["seed", "--days", "3", "--json"])).unwrap();
    assert_eq!(second["trips_created"], 0, "{second}");
    assert_eq!(second["trains"]["inserted"], 0);
    assert_eq!(second["trains"]["updated"], 0);
    assert_eq!(second["fares_changed"], 0);
    assert_eq!(
        second["stations"]["unchanged"],
        first["stations"]["inserted"]
    );
    assert!(ok(url, &["seed", "--days", "3"]).contains("nothing to change"));

    let stations = ok(url, &["station", "list"]);
    assert!(stations.contains("DHK") && stations.contains("ঢাকা"));
    assert!(ok(url, &["station", "show", "chittagong"]).contains("CTG"));
    let train = ok(url, &["train", "show", "702"]);
    assert!(
        train.contains("16:30") && train.contains("21:25"),
        "{train}"
    );
    let tomorrow =
        ticketctl::domain::ServiceDate::today_at(crate::common::server::suite_clock().now())
            .add_days(1)
            .to_string();
    let search = ok(
        url,
        &[
            "trip",
            "search",
            "--from",
            "Dhaka",
            "--to",
            "Chattogram",
            "--date",
            &tomorrow,
            "--json",
        ],
    );
    let search: serde_json::Value = serde_json::from_str(&search).unwrap();
    assert!(search["trips"].as_array().unwrap().len() >= 5);

    let out = Command::new(env!("CARGO_BIN_EXE_ticketctl"))
        .args([
            "user",
            "add",
            "--name",
            "Counter Clerk",
            "--phone",
            "01799999999",
            "--email",
            "clerk@example.com",
            "--role",
            "clerk",
        ])
        .env("DATABASE_URL", url)
        .env("TICKETCTL_PASSWORD", "a good long password")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(ok(url, &["user", "list"]).contains("clerk"));

    // Errors say what is wrong and exit non-zero.
    assert!(
        fails(
            url,
            &["trip", "search", "--from", "Nowhere", "--to", "Dhaka"]
        )
        .contains("no station is called 'Nowhere'")
    );
    assert!(
        fails(
            url,
            &[
                "trip",
                "search",
                "--from",
                "Dhaka",
                "--to",
                "Feni",
                "--date",
                "25-12-2026"
            ]
        )
        .contains("not a date")
    );
    assert!(fails(url, &["train", "show", "1"]).contains("no train numbered 1"));
    assert!(
        fails(
            url,
            &[
                "user",
                "add",
                "--name",
                "X",
                "--phone",
                "123",
                "--email",
                "x@example.com",
                "--password",
                "long enough pw"
            ]
        )
        .contains("phone")
    );
    assert!(fails(url, &["seed", "--days", "365"]).contains("365"));
    assert!(ok(url, &["audit", "verify"]).contains("OK"));
}

#[test]
fn cli_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/cli.db", dir.path().display());
    seed_twice_then_use_the_catalog(&url);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_on_postgres() {
    let Some(db) = crate::common::db::postgres().await else {
        return;
    };
    let url = db.url().to_owned();
    tokio::task::spawn_blocking(move || seed_twice_then_use_the_catalog(&url))
        .await
        .unwrap();
}

#[test]
fn a_bad_database_url_is_a_clear_error() {
    let err = fails("postgres://nobody@127.0.0.1:1/none", &["migrate"]);
    assert!(
        err.contains("cannot open the database") || err.contains("opening"),
        "{err}"
    );
    let out = ticketctl("sqlite:///proc/no/such/dir/x.db", &["station", "list"]);
    assert!(!out.status.success());
}

/// A small rehearsal through the real binary: every passenger is answered, and
/// the invariants verdict (checked against the database) is OK.
#[test]
fn a_small_rehearsal_keeps_the_invariants() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("chart.svg");
    let metrics = dir.path().join("metrics.prom");
    let out = Command::new(env!("CARGO_BIN_EXE_ticketctl"))
        .arg("rehearse")
        .arg("--metrics-out")
        .arg(&metrics)
        .args([
            "--passengers",
            "150",
            "--concurrency",
            "16",
            "--baseline",
            "--baseline-bookings",
            "300",
            "--json",
            "--chart",
        ])
        .arg(&chart)
        .env("TICKETCTL_LOG", "error")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let report = crate::common::process::rehearsal_report(&out);
    let outcomes: u64 = report["outcomes"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(outcomes, 150, "every passenger got an answer");
    assert_eq!(
        report["outcomes"]["error"],
        serde_json::Value::Null,
        "no errors: {report}"
    );
    assert!(report["bookings"].as_u64().unwrap() > 50);
    assert!(report["baseline_bookings_per_s"].as_f64().unwrap() > 0.0);
    assert!(std::fs::read_to_string(&chart).unwrap().contains("<svg"));
    // Everyone came through the waiting room: joined, waited, was admitted.
    assert_eq!(report["queue_waits"]["admitted"], 150, "{report}");
    let step = |name: &str| {
        report["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["step"] == name)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(step("join")["requests"], 150);
    assert_eq!(step("join")["errors"], 0);
    assert!(report["room_requests_per_s"].as_f64().unwrap() > 0.0);
    // The server's own counters agree with what the passengers saw.
    let scraped = crate::common::scrape::Scrape::parse(&std::fs::read_to_string(&metrics).unwrap());
    assert_eq!(
        scraped.must(r#"ticketctl_orders_total{outcome="confirmed"}"#),
        report["bookings"].as_f64().unwrap(),
        "{}",
        scraped.text
    );
    assert!(scraped.must("ticketctl_tickets_issued_total") >= report["bookings"].as_f64().unwrap());
    let admitted: f64 = scraped
        .samples
        .iter()
        .filter(|(k, _)| k.starts_with("ticketctl_waiting_room_admissions_total{"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(admitted, 150.0, "every passenger was admitted once");
    assert_eq!(
        scraped.must(r#"ticketctl_invariant_violations{kind="double_taken"}"#),
        0.0
    );
    assert!(report["peak_rss_mb"].as_u64().unwrap() > 0);
}

/// The sale window and the refund table are configuration, not code.
#[test]
fn sale_window_and_refund_table_are_configurable() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/sale.db", dir.path().display());
    ok(
        &url,
        &[
            "seed",
            "--days",
            "1",
            "--sale-days-ahead",
            "2",
            "--sale-open-hour",
            "9",
        ],
    );
    let trips: serde_json::Value =
        serde_json::from_str(&ok(&url, &["trip", "list", "--json"])).unwrap();
    let trip = &trips[0];
    let date = ticketctl::domain::ServiceDate::parse(trip["date"].as_str().unwrap()).unwrap();
    assert_eq!(
        trip["sale_opens_at"],
        format!("{}T09:00:00+06:00", date.add_days(-2))
    );
    let err = fails(
        &url,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--refund-tiers",
            "12:50,48:0",
        ],
    );
    assert!(err.contains("refund-tiers"), "{err}");
}

/// Rehearsal flags out of range are refused before anything is seeded or started.
#[test]
fn rehearse_refuses_flags_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/never-created.db", dir.path().display());
    for (args, says) in [
        (
            &["--decline-share", "2"][..],
            "--decline-share must be between 0 and 1",
        ),
        (
            &["--timeout-share=-0.5"][..],
            "--timeout-share must be between 0 and 1",
        ),
        (
            &["--decline-share", "0.7", "--timeout-share", "0.6"][..],
            "add up to more than 1",
        ),
        (&["--passengers", "0"][..], "--passengers must be between 1"),
        (
            &["--concurrency", "0"][..],
            "--concurrency must be between 1",
        ),
        (
            &["--arrival-secs", "1e9"][..],
            "--arrival-secs must be between 0 and 3600",
        ),
        (&["--admit-rate", "0"][..], "--admit-rate must be above 0"),
        (
            &["--server", "ftp://example"][..],
            "--server must be an http://",
        ),
        (
            &[
                "--server",
                "http://127.0.0.1:8080",
                "--server",
                "ftp://example",
            ][..],
            "--server must be an http://",
        ),
        (
            &["--admin-email", "admin@example.org"][..],
            "--admin-email is for running servers",
        ),
        (
            &[
                "--server",
                "http://127.0.0.1:1",
                "--admin-email",
                "a@example.org",
            ][..],
            "--admin-email needs --admin-password",
        ),
    ] {
        let mut full = vec!["rehearse"];
        full.extend_from_slice(args);
        let stderr = fails(&url, &full);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    assert!(
        !dir.path().join("never-created.db").exists(),
        "a refused rehearsal must not create its database"
    );
}

/// A database password never appears in what the CLI prints, on success or failure.
#[test]
fn database_passwords_are_never_printed() {
    let unreachable = "postgres://ticketctl:hunter2-secret@127.0.0.1:1/rail";
    for args in [&["migrate"][..], &["station", "list"][..]] {
        let out = ticketctl(unreachable, args);
        assert!(!out.status.success());
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(printed.contains("ticketctl:***@127.0.0.1:1"), "{printed}");
        assert!(!printed.contains("hunter2"), "{printed}");
    }
}
