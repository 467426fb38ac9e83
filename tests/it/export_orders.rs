//! `ticketctl export orders` on both backends: after some bookings and a
//! refund, the CSV and JSON Lines exports list every order once, and their
//! amounts agree with the payment ledger; bad flags are refused.

use std::process::Command;

use serde_json::{Value, json};

use crate::common::booking_flow::book;
use crate::common::db::TestDb;
use crate::common::gateway::charge;
use crate::common::server::{TestApp, test_config, tiny_trip};
use ticketctl::domain::ServiceDate;

fn export(db: &TestDb, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ticketctl"))
        .arg("export")
        .args(args)
        .env("DATABASE_URL", db.url())
        .env("TICKETCTL_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn exports_agree_with_the_ledger(db: TestDb) {
    let t = TestApp::start_with(db, test_config()).await;
    let trip = tiny_trip(&t.app, 8).await;
    let mut booked = Vec::new();
    for n in 1..=3 {
        booked.push(book(&t, trip, n, 1 + n % 2, "4242424242424242").await);
    }
    let r = t
        .post_as(
            &format!("/v1/orders/{}/cancel", booked[0].order_id),
            &booked[0].token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.body);
    // The ledger: what each charge took and gave back.
    let (mut taken, mut refunded) = (0, 0);
    for b in &booked {
        let c = charge(&t.app, &format!("order-{}", b.order_id))
            .await
            .unwrap();
        taken += c["amount"].as_i64().unwrap();
        refunded += c["refunded"].as_i64().unwrap();
    }
    assert!(refunded > 0);
    let today = ServiceDate::today_at(t.app.now());
    let (from, to) = (
        today.add_days(-1).to_string(),
        today.add_days(1).to_string(),
    );

    let (ok, csv, err) = export(
        &t.db,
        &["orders", "--format", "csv", "--from", &from, "--to", &to],
    );
    assert!(ok, "{err}");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("order_id,user_id,trip_id,status,amount,refunded,created_at,updated_at")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 3, "{csv}");
    let sum = |col: usize| {
        rows.iter()
            .map(|r| r[col].parse::<i64>().unwrap())
            .sum::<i64>()
    };
    assert_eq!((sum(4), sum(5)), (taken, refunded), "{csv}");

    let file = tempfile::NamedTempFile::new().unwrap();
    let path = file.path().to_str().unwrap();
    let (ok, _, err) = export(
        &t.db,
        &[
            "orders", "--format", "jsonl", "--from", &from, "--to", &to, "--output", path,
        ],
    );
    assert!(ok, "{err}");
    assert!(err.contains("3 orders written"), "{err}");
    let rows: Vec<Value> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    let taken_j: i64 = rows.iter().map(|r| r["amount"].as_i64().unwrap()).sum();
    let refunded_j: i64 = rows.iter().map(|r| r["refunded"].as_i64().unwrap()).sum();
    assert_eq!((taken_j, refunded_j), (taken, refunded));
    assert_eq!(rows[0]["status"], "refunded");

    // A range before the bookings exports only the header.
    let (ok, csv, _) = export(
        &t.db,
        &[
            "orders",
            "--format",
            "csv",
            "--from",
            "2026-01-01",
            "--to",
            "2026-01-02",
        ],
    );
    assert!(ok);
    assert_eq!(csv.lines().count(), 1);
    // Bad flags: a CLI error, non-zero exit.
    for bad in [
        vec!["orders", "--format", "xml", "--from", &from, "--to", &to],
        vec![
            "orders",
            "--format",
            "csv",
            "--from",
            "yesterday",
            "--to",
            &to,
        ],
        vec!["orders", "--format", "csv", "--from", &to, "--to", &from],
    ] {
        let (ok, _, err) = export(&t.db, &bad);
        assert!(!ok && err.contains("error"), "{bad:?}: {err}");
    }
}

on_both_databases!(exports_agree_with_the_ledger);
